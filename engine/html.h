/*
 * html.h - render HTML to text with gumbo (an HTML5 parser), keeping what
 * a reader sees apart from what is hidden (display:none, visibility
 * hidden, tiny fonts, text the colour of its background, comments), and
 * reporting links.
 *
 * SECURITY: input is untrusted. The number of tags given to gumbo is
 * bounded because gumbo frees its tree recursively, and the input is cut
 * where unclosed elements or attributes would make gumbo's time quadratic
 * (html.c says how); r->truncated is then set and the rest of the part
 * is only stripped of its tags, in linear time, its links still
 * reported through on_link. The tags and the
 * attribute work come from a struct html_budget that the caller keeps
 * for a whole message, so many HTML parts cost no more than one. The
 * tree walk is iterative with an explicit, bounded stack.
 */
#ifndef HAMLET_HTML_H
#define HAMLET_HTML_H

#include <stddef.h>

#include "buf.h"

enum html_link_kind { HTML_LINK_HREF, HTML_LINK_SRC, HTML_LINK_FORM };

struct html_render {
	struct buf	 visible;
	struct buf	 invisible;
	int		 truncated;	/* input cut (see html.c) */
	/* called for each link; text is the anchor text (may be "") */
	void		(*on_link)(void *arg, const char *url,
			    const char *text, enum html_link_kind kind);
	void		*arg;
};

/* what gumbo may still be given, for all the HTML parts of a message */
struct html_budget {
	long	 tags;
	long	 attr_work;	/* attributes squared, summed over tags */
	long	 merged;	/* attributes of <html> and <body> tags */
};

/* a message's budget: max_tags tags, the attribute caps of html.c */
void html_budget_init(struct html_budget *hb, int max_tags);

/*
 * Render UTF-8 html into r->visible / r->invisible (appended), drawing
 * from hb.
 */
void html_render(struct html_render *r, const char *html, size_t len,
    struct html_budget *hb, size_t max_text);

#endif
