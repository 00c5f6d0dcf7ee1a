/*
 * htmlmeta.c - an HTML tokenizer (HTML::Parser's view: start tags, end
 * tags, text, comments, declarations; <script>/<style> content is text)
 * that records what SpamAssassin's HTML.pm records for HTMLEval.
 *
 * Ownership: results live in the caller's pool.
 * SECURITY: the source is untrusted. One left-to-right pass, no
 * recursion; attribute values and kept texts are length-bounded; the
 * style stack and the tag table have fixed sizes.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "rules/htmlmeta.h"
#include "rules/rx.h"

#define MAX_STYLE	256
#define MAX_KEPT	4096	/* bytes of one comment/title/anchor kept */

/* HTML 4.01 / XHTML 1.0 elements and SpamAssassin's extras (HTML.pm) */
static const char *const elements[] = {
	"a", "abbr", "acronym", "address", "area", "b", "base", "bdo", "big",
	"blockquote", "body", "br", "button", "caption", "cite", "code", "col",
	"colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "fieldset",
	"form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "html", "i",
	"img", "input", "ins", "kbd", "label", "legend", "li", "link", "map",
	"meta", "noscript", "object", "ol", "optgroup", "option", "p", "param",
	"pre", "q", "samp", "script", "select", "small", "span", "strong",
	"style", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot",
	"th", "thead", "title", "tr", "tt", "ul", "var", "applet", "basefont",
	"center", "dir", "font", "frame", "frameset", "iframe", "isindex",
	"menu", "noframes", "s", "strike", "u", "nobr", "x-sigsep", "x-tab",
	NULL
};

static const char *const text_style[] = { "body", "font", "table", "tr",
    "th", "td", "big", "small", "basefont", "marquee", "span", "p", "div",
    "a", NULL };

static int
in(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* HTML.pm's font face check (Bugs 5956, 7312) */
static pcre2_code *face_re;
static pthread_once_t face_once = PTHREAD_ONCE_INIT;

static void
face_init(void)
{
	char err[128];

	face_re = rx_compile("^\\s*[\"'.]?[a-z ][a-z -]*[a-z]\\d?[\"']?"
	    "(?:,\\s*[\"']?[a-z][a-z -]*[a-z]\\d?[\"']?)*;?$", PCRE2_CASELESS,
	    err, sizeof(err));
}

static int
face_ok(const char *face)
{
	pcre2_match_data *md;
	int ok;

	pthread_once(&face_once, face_init);
	if (face_re == NULL)
		return 1;
	md = pcre2_match_data_create(1, NULL);
	ok = pcre2_match(face_re, (PCRE2_SPTR)face, strlen(face), 0, 0, md,
	    NULL) > 0;
	pcre2_match_data_free(md);
	return ok;
}

static long *
inside_slot(struct htmlmeta *h, const char *tag, int *seen, struct pool *p)
{
	/* first byte first: a message has dozens of distinct tags */
	for (size_t i = 0; i < h->ntags_distinct; i++)
		if (h->tag[i][0] == tag[0] && strcmp(h->tag[i], tag) == 0) {
			*seen = 1;
			return &h->inside[i];
		}
	*seen = 0;
	if (h->ntags_distinct == HTMLMETA_MAX_TAGS)
		return NULL;
	h->tag[h->ntags_distinct] = pool_strdup(p, tag);
	h->inside[h->ntags_distinct] = 0;
	return &h->inside[h->ntags_distinct++];
}

int
htmlmeta_inside(const struct htmlmeta *h, const char *tag, long *val)
{
	for (size_t i = 0; i < h->ntags_distinct; i++)
		if (h->tag[i][0] == tag[0] && strcmp(h->tag[i], tag) == 0) {
			*val = h->inside[i];
			return 1;
		}
	return 0;
}

static void
keep(struct pool *p, struct htmlmeta_list *l, const char *s, size_t n)
{
	if (l->n >= HTMLMETA_MAX_TEXTS)
		return;
	if (n > MAX_KEPT)
		n = MAX_KEPT;
	l->s[l->n++] = pool_strndup(p, s, n);
}

/* append text to the last kept string (anchor and title texts) */
static void
extend(struct pool *p, struct htmlmeta_list *l, const char *s, size_t n)
{
	const char *old;
	size_t ol;
	char *c;

	if (l->n == 0)
		return;
	old = l->s[l->n - 1];
	ol = strlen(old);
	if (ol >= MAX_KEPT)
		return;
	if (ol + n > MAX_KEPT)
		n = MAX_KEPT - ol;
	c = pool_alloc(p, ol + n + 1);
	memcpy(c, old, ol);
	memcpy(c + ol, s, n);
	c[ol + n] = '\0';
	l->s[l->n - 1] = c;
}

/* one attribute value of a tag (lowercased name match), or NULL */
static const char *
attr(struct pool *p, const char *a, const char *end, const char *name)
{
	size_t nl = strlen(name);

	while (a < end) {
		const char *ns, *ne, *vs = NULL, *ve = NULL;

		while (a < end && (isspace((unsigned char)*a) || *a == '/'))
			a++;
		ns = a;
		while (a < end && !isspace((unsigned char)*a) && *a != '=' &&
		    *a != '>' && *a != '/')
			a++;
		ne = a;
		while (a < end && isspace((unsigned char)*a))
			a++;
		if (a < end && *a == '=') {
			a++;
			while (a < end && isspace((unsigned char)*a))
				a++;
			if (a < end && (*a == '"' || *a == '\'')) {
				char q = *a++;

				vs = a;
				while (a < end && *a != q)
					a++;
				ve = a;
				if (a < end)
					a++;
			} else {
				vs = a;
				while (a < end && !isspace((unsigned char)*a) &&
				    *a != '>')
					a++;
				ve = a;
			}
		}
		if (ne == ns) {
			if (a < end)
				a++;
			continue;
		}
		if ((size_t)(ne - ns) == nl && strncasecmp(ns, name, nl) == 0)
			return vs ? pool_strndup(p, vs, (size_t)(ve - vs) > 1024 ?
			    1024 : (size_t)(ve - vs)) : "";
	}
	return NULL;
}

struct style {
	char	 tag[32];
	long	 size;
	char	 fg[12];	/* "#rrggbb", "invalid", "transparent", "?" */
	char	 bg[12];
};

/* CSS colour names ("?" for a name not in this table: no verdict) */
static const struct { const char *name; const char *hex; } colors[] = {
	{ "black", "000000" }, { "white", "ffffff" }, { "red", "ff0000" },
	{ "green", "008000" }, { "blue", "0000ff" }, { "yellow", "ffff00" },
	{ "gray", "808080" }, { "grey", "808080" }, { "silver", "c0c0c0" },
	{ "maroon", "800000" }, { "purple", "800080" }, { "fuchsia", "ff00ff" },
	{ "lime", "00ff00" }, { "olive", "808000" }, { "navy", "000080" },
	{ "teal", "008080" }, { "aqua", "00ffff" }, { "orange", "ffa500" },
	{ "magenta", "ff00ff" }, { "cyan", "00ffff" }, { "pink", "ffc0cb" },
	{ "brown", "a52a2a" }, { "gold", "ffd700" }, { "ivory", "fffff0" },
	{ "beige", "f5f5dc" }, { "snow", "fffafa" }, { "azure", "f0ffff" },
	{ "linen", "faf0e6" }, { "whitesmoke", "f5f5f5" },
	{ "ghostwhite", "f8f8ff" }, { "floralwhite", "fffaf0" },
	{ "darkgray", "a9a9a9" }, { "darkgrey", "a9a9a9" },
	{ "lightgray", "d3d3d3" }, { "lightgrey", "d3d3d3" },
	{ "dimgray", "696969" }, { "dimgrey", "696969" },
	{ "darkblue", "00008b" }, { "darkred", "8b0000" },
	{ "darkgreen", "006400" }, { "lightblue", "add8e6" },
	{ "lightyellow", "ffffe0" }, { "lavender", "e6e6fa" },
	{ "mintcream", "f5fffa" }, { "honeydew", "f0fff0" },
	{ "aliceblue", "f0f8ff" }, { "seashell", "fff5ee" },
	{ "oldlace", "fdf5e6" }, { "cornsilk", "fff8dc" },
	{ NULL, NULL }
};

static int
hexdig(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* HTML.pm::name_to_rgb into out (12 bytes) */
static void
name_to_rgb(const char *in, char *out)
{
	char c[64], hex[8];
	size_t n = 0, h = 0;

	while (isspace((unsigned char)*in))
		in++;
	while (*in && n + 1 < sizeof(c))
		c[n++] = (char)tolower((unsigned char)*in++);
	while (n > 0 && isspace((unsigned char)c[n - 1]))
		n--;
	c[n] = '\0';
	for (size_t i = 0; colors[i].name; i++)
		if (strcmp(colors[i].name, c) == 0) {
			snprintf(out, 12, "#%s", colors[i].hex);
			return;
		}
	if (strncmp(c, "rgb(", 4) == 0) {
		int r = 0, g = 0, b = 0, pct = strchr(c, '%') != NULL;

		if (sscanf(c + 4, "%d%%, %d%%, %d", &r, &g, &b) == 3 ||
		    sscanf(c + 4, "%d , %d , %d", &r, &g, &b) == 3) {
			if (pct) {
				r = r * 255 / 100;
				g = g * 255 / 100;
				b = b * 255 / 100;
			}
			snprintf(out, 12, "#%02x%02x%02x", r & 0xff, g & 0xff,
			    b & 0xff);
		} else
			snprintf(out, 12, "invalid");
		return;
	}
	if (c[0] != '#') {
		int alpha = 1;

		for (size_t i = 0; i < n; i++)
			if (!isalpha((unsigned char)c[i]))
				alpha = 0;
		/* a name this table lacks: no verdict; other text invalid */
		snprintf(out, 12, "%s", alpha && n > 2 ? "?" : "invalid");
		return;
	}
	/* any non-hex after '#' is stripped (s/[^a-f0-9]//g) */
	for (size_t i = 1; i < n; i++)
		if (hexdig((unsigned char)c[i]) && h < 7)
			hex[h++] = c[i];
	if (h > 6)
		h = 6;
	if (h > 3 && h < 6)
		h = 3;
	while (h % 3)
		hex[h++] = '0';
	if (h == 0) {
		snprintf(out, 12, "#000000");
		return;
	}
	if (h == 3)
		snprintf(out, 12, "#%c%c%c%c%c%c", hex[0], hex[0], hex[1], hex[1],
		    hex[2], hex[2]);
	else
		snprintf(out, 12, "#%.6s", hex);
}

/* HTML.pm::html_font_invisible's colour tests */
static void
check_colors(struct htmlmeta *h, const struct style *s)
{
	size_t fl = strlen(s->fg), bl = strlen(s->bg);

	if (s->fg[0] == '?' || s->bg[0] == '?')
		return;
	if (strcmp(s->fg + (fl > 6 ? fl - 6 : 0),
	    s->bg + (bl > 6 ? bl - 6 : 0)) == 0) {
		h->font_low_contrast = 1;
		return;
	}
	if (s->fg[0] == '#' && s->bg[0] == '#' && fl == 7 && bl == 7) {
		unsigned r1, g1, b1, r2, g2, b2;
		double r, g, b;

		if (sscanf(s->fg + 1, "%2x%2x%2x", &r1, &g1, &b1) == 3 &&
		    sscanf(s->bg + 1, "%2x%2x%2x", &r2, &g2, &b2) == 3) {
			r = 0.2126 * ((double)r1 - r2);
			g = 0.7152 * ((double)g1 - g2);
			b = 0.0722 * ((double)b1 - b2);
			if (r * r + g * g + b * b < 144.0) {
				h->font_low_contrast = 1;
				return;
			}
		}
	}
	if (strcmp(s->fg, "invalid") == 0 || strcmp(s->bg, "invalid") == 0)
		h->font_invalid_color = 1;
}

/* the colour properties of a style="" attribute */
static void
style_colors(const char *style, struct style *ns)
{
	char part[256];

	while (*style) {
		size_t n = strcspn(style, ";");
		const char *p = part, *v;

		if (n >= sizeof(part))
			n = sizeof(part) - 1;
		memcpy(part, style, n);
		part[n] = '\0';
		style += strcspn(style, ";");
		if (*style == ';')
			style++;
		while (isspace((unsigned char)*p))
			p++;
		if (strncasecmp(p, "color", 5) == 0 ||
		    strncasecmp(p, "background-color", 16) == 0) {
			int bg = tolower((unsigned char)*p) == 'b';
			char val[128], *e;

			v = strchr(p, ':');
			if (v == NULL)
				continue;
			v++;
			while (isspace((unsigned char)*v))
				v++;
			snprintf(val, sizeof(val), "%s", v);
			for (e = val; *e; e++)
				*e = (char)tolower((unsigned char)*e);
			if ((e = strstr(val, "!important")) != NULL)
				*e = '\0';
			e = val + strlen(val);
			while (e > val && isspace((unsigned char)e[-1]))
				*--e = '\0';
			if (strcmp(val, "inherit") == 0)
				continue;
			if (strcmp(val, "transparent") == 0)
				snprintf(bg ? ns->bg : ns->fg, 12, "transparent");
			else
				name_to_rgb(val, bg ? ns->bg : ns->fg);
		}
	}
}

struct htmlmeta *
htmlmeta_parse(struct pool *pool, const char *src, size_t len,
    const char *rendered, size_t rendered_len)
{
	struct htmlmeta *h = pool_alloc(pool, sizeof(*h));
	struct style *st = pool_allocarray(pool, MAX_STYLE, sizeof(*st));
	size_t nst = 1, i = 0;
	long basefont = 3;
	const char *end = src + len;
	int in_a = 0, in_title = 0;

	h->max_size = h->min_size = 3;
	h->length = (double)len;
	for (size_t k = 0; k < rendered_len; k++)
		if (!(rendered[k] == ' ' || rendered[k] == '\t' ||
		    rendered[k] == '\n' || rendered[k] == '\r' ||
		    rendered[k] == 0x0b))
			h->non_space_len++;
	strcpy(st[0].tag, "default");
	st[0].size = 3;
	strcpy(st[0].fg, "#000000");
	strcpy(st[0].bg, "#ffffff");
	while (i < len) {
		const char *p = src + i, *gt;
		char name[32];
		size_t nl = 0;
		int close = 0, seen;
		long *slot;

		if (*p != '<') {
			const char *lt = memchr(p, '<', (size_t)(end - p));
			size_t n = lt ? (size_t)(lt - p) : (size_t)(end - p);

			if (in_a)
				extend(pool, &h->anchor, p, n);
			if (in_title)
				extend(pool, &h->title, p, n);
			for (size_t k = 0; k < n; k++) {
				unsigned char c = (unsigned char)p[k];

				if (c == 0xc2 && k + 1 < n &&
				    (unsigned char)p[k + 1] == 0xa0) {
					k++;
					continue;
				}
				if (!(c == ' ' || c == '\t' || c == '\n' ||
				    c == '\r' || c == '\f' || c == 0x0b)) {
					check_colors(h, &st[nst - 1]);
					break;
				}
			}
			i += n;
			continue;
		}
		if (p + 4 <= end && strncmp(p, "<!--", 4) == 0) {
			const char *e = memmem(p + 4, (size_t)(end - p - 4), "-->",
			    3);
			size_t n = e ? (size_t)(e + 3 - p) : (size_t)(end - p);

			keep(pool, &h->comment, p, n);
			i += n;
			continue;
		}
		if (p + 1 < end && (p[1] == '!' || p[1] == '?')) {
			gt = memchr(p, '>', (size_t)(end - p));
			i += gt ? (size_t)(gt + 1 - p) : (size_t)(end - p);
			continue;
		}
		if (p + 1 < end && p[1] == '/') {
			close = 1;
			p++;
		}
		if (p + 1 >= end || !isalpha((unsigned char)p[1])) {
			/* a lone '<' is text */
			if (in_a)
				extend(pool, &h->anchor, p, 1);
			i = (size_t)(p - src) + 1;
			continue;
		}
		p++;
		while (p < end && (isalnum((unsigned char)*p) || *p == ':' ||
		    *p == '-' || *p == '_') && nl + 1 < sizeof(name))
			name[nl++] = (char)tolower((unsigned char)*p++);
		name[nl] = '\0';
		gt = p;
		{
			char q = 0;

			while (gt < end && (q || *gt != '>')) {
				if (q && *gt == q)
					q = 0;
				else if (!q && (*gt == '"' || *gt == '\''))
					q = *gt;
				gt++;
			}
		}
		i = gt < end ? (size_t)(gt + 1 - src) : len;
		/* HTML.pm::html_tag */
		if (in(elements, name) || (strncmp(name, "o:", 2) == 0) ||
		    (strncmp(name, "st", 2) == 0 && isdigit((unsigned char)
		    name[2]) && strchr(name, ':'))) {
			h->elements++;
			slot = inside_slot(h, name, &seen, pool);
			if (!seen)
				h->elements_seen++;
		} else
			slot = inside_slot(h, name, &seen, pool);
		h->tags++;
		if (!seen)
			h->tags_seen++;
		if (slot != NULL) {
			*slot += close ? -1 : 1;
			if (*slot < 0) {
				*slot = 0;
				h->closed_extra++;
			}
		}
		if (strcmp(name, "a") == 0) {
			in_a = slot ? *slot > 0 : 0;
			if (!close)
				keep(pool, &h->anchor, "", 0);
		}
		if (strcmp(name, "title") == 0) {
			in_title = slot ? *slot > 0 : 0;
			if (!close)
				keep(pool, &h->title, "", 0);
		}
		/* <script> and <style> content is text up to their end tag */
		if (!close && (strcmp(name, "script") == 0 ||
		    strcmp(name, "style") == 0)) {
			char endtag[16];
			const char *e;
			size_t el = (size_t)snprintf(endtag, sizeof(endtag),
			    "</%s", name), body = i;

			e = NULL;
			for (const char *s = src + body; s + el <= end; s++)
				if (strncasecmp(s, endtag, el) == 0) {
					e = s;
					break;
				}
			if (name[1] == 'c')
				keep(pool, &h->script, src + body, (size_t)((e ? e :
				    end) - (src + body)));
			i = e ? (size_t)(e - src) : len;
		}
		/* text styles: only sizes matter here (HTML.pm::text_style) */
		if (in(text_style, name) || strcmp(name, "th") == 0) {
			const char *tn = strcmp(name, "th") == 0 ? "td" : name;

			if (close) {
				size_t k;

				for (k = nst; k > 1; k--)
					if (strcmp(st[k - 1].tag, tn) == 0)
						break;
				if (k > 1)
					nst = k - 1;
			} else if (strcmp(name, "basefont") == 0) {
				const char *v = attr(pool, p, gt, "size");

				if (v && isdigit((unsigned char)*v))
					basefont = atol(v);
			} else if (nst < MAX_STYLE) {
				long size;
				const char *av;

				/* <td>/<tr> close open cells and fonts first */
				if (strcmp(tn, "td") == 0 || strcmp(tn, "tr") == 0) {
					size_t k;

					for (k = nst; k > 1; k--)
						if (strcmp(st[k - 1].tag, tn) == 0)
							break;
					while (k > 1 && nst > 1 &&
					    (strcmp(st[nst - 1].tag, "font") == 0 ||
					    strcmp(st[nst - 1].tag, "td") == 0 ||
					    (strcmp(tn, "tr") == 0 &&
					    strcmp(st[nst - 1].tag, "tr") == 0)))
						nst--;
				}
				size = st[nst - 1].size;
				memcpy(st[nst].fg, st[nst - 1].fg, 12);
				memcpy(st[nst].bg, st[nst - 1].bg, 12);
				if ((strcmp(name, "font") == 0 ||
				    strcmp(name, "body") == 0) &&
				    ((av = attr(pool, p, gt, name[0] == 'b' ?
				    "text" : "color")) != NULL))
					name_to_rgb(av, st[nst].fg);
				if ((strcmp(name, "body") == 0 ||
				    strcmp(name, "marquee") == 0 ||
				    strcmp(tn, "td") == 0 ||
				    strcmp(name, "tr") == 0 ||
				    strcmp(name, "table") == 0) &&
				    (av = attr(pool, p, gt, "bgcolor")) != NULL)
					name_to_rgb(av, st[nst].bg);
				if (strcmp(name, "font") != 0 &&
				    strcmp(name, "body") != 0 &&
				    strcmp(name, "marquee") != 0 &&
				    strcmp(name, "big") != 0 &&
				    strcmp(name, "small") != 0 &&
				    (av = attr(pool, p, gt, "style")) != NULL)
					style_colors(av, &st[nst]);
				if (strcmp(st[nst].bg, "transparent") == 0)
					memcpy(st[nst].bg, st[nst - 1].bg, 12);
				if (strcmp(st[nst].fg, "transparent") == 0)
					memcpy(st[nst].fg, st[nst].bg, 12);

				if (strcmp(name, "big") == 0)
					size++;
				else if (strcmp(name, "small") == 0)
					size--;
				else if (strcmp(name, "font") == 0) {
					const char *v = attr(pool, p, gt, "size");

					while (v && isspace((unsigned char)*v))
						v++;
					if (v && (*v == '+' || *v == '-') &&
					    isdigit((unsigned char)v[1]))
						size = basefont + atol(v);
					else if (v && isdigit((unsigned char)*v))
						size = atol(v);
				}
				snprintf(st[nst].tag, sizeof(st[nst].tag), "%s",
				    tn);
				st[nst++].size = size;
				if (size > h->max_size)
					h->max_size = size;
				else if (size < h->min_size)
					h->min_size = size;
			}
		}
		if (close)
			continue;
		/* HTML.pm::html_tests */
		if (strcmp(name, "font") == 0) {
			const char *face = attr(pool, p, gt, "face");

			if (face != NULL && !face_ok(face))
				h->font_face_bad = 1;
		} else if (strcmp(name, "img") == 0) {
			const char *w = attr(pool, p, gt, "width");
			const char *ht = attr(pool, p, gt, "height");

			if (in_a)
				extend(pool, &h->anchor, "<img>\n", 6);
			if (w != NULL && ht != NULL) {
				double wv = 0, hv = 0;
				char *e;

				if (isdigit((unsigned char)*w)) {
					wv = strtod(w, &e);
					if (*e == '%' && e[1] == '\0')
						wv *= 8;
					else if (*e != '\0')
						wv = 0;
				}
				if (isdigit((unsigned char)*ht)) {
					hv = strtod(ht, &e);
					if (*e == '%' && e[1] == '\0')
						hv *= 6;
					else if (*e != '\0')
						hv = 0;
				}
				if (wv <= 0)
					wv = 200;
				if (hv <= 0)
					hv = 200;
				h->image_area += wv * hv;
			}
		} else if (strcmp(name, "form") == 0) {
			const char *a = attr(pool, p, gt, "action");

			if (a != NULL && strcasestr(a, "mailto:") != NULL)
				h->form_action_mailto = 1;
		} else if (strcmp(name, "object") == 0 ||
		    strcmp(name, "embed") == 0)
			h->embeds = 1;
	}
	return h;
}
