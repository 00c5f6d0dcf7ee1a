/*
 * htmlmeta.h - the facts SpamAssassin's HTML.pm records while parsing an
 * HTML part, for the HTMLEval functions: tag balance ("inside"), tag and
 * element counts, largest font size, image area, embeds, forms posting
 * to mailto:, bad font faces, text in colours too close to the background
 * (or invalid ones), comments, titles, anchor texts, scripts.
 */
#ifndef HAMLET_HTMLMETA_H
#define HAMLET_HTMLMETA_H

#include <stddef.h>

#include "engine/pool.h"

#define HTMLMETA_MAX_TAGS	128	/* distinct tag names tracked */
#define HTMLMETA_MAX_TEXTS	64	/* comments, titles ... kept */

struct htmlmeta_list {
	const char	*s[HTMLMETA_MAX_TEXTS];
	size_t		 n;
};

struct htmlmeta {
	const char	*tag[HTMLMETA_MAX_TAGS];	/* lowercase */
	long		 inside[HTMLMETA_MAX_TAGS];
	size_t		 ntags_distinct;
	long		 tags, elements, tags_seen, elements_seen;
	long		 closed_extra;
	long		 max_size, min_size;
	double		 image_area;
	double		 length;		/* source length */
	double		 non_space_len;		/* rendered, not spaces */
	int		 font_face_bad, embeds, form_action_mailto;
	int		 font_low_contrast, font_invalid_color;
	struct htmlmeta_list comment, title, anchor, script;
};

/*
 * Parse one HTML part's source (len bytes); rendered is its rendered
 * text (for non_space_len). Everything is allocated in pool.
 */
struct htmlmeta *htmlmeta_parse(struct pool *pool, const char *src,
    size_t len, const char *rendered, size_t rendered_len);

/* inside{tag}: 1 and *val when the tag was seen, else 0 */
int htmlmeta_inside(const struct htmlmeta *h, const char *tag,
    long *val /* OUT */);

#endif
