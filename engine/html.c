/*
 * html.c - HTML to visible and invisible text with gumbo.
 *
 * Ownership: output goes into the caller's buffers; gumbo's tree is freed
 * before returning. Gumbo allocates from a per-call arena (struct arena)
 * released whole after the walk, instead of a malloc and a free for each
 * node, attribute and string and a recursive gumbo_destroy_output().
 * Before gumbo, runs of blanks in text are cut to one byte where that
 * cannot change the rendering (ws_collapse()). Visibility is inherited
 * down the tree from inline styles and legacy attributes (font color,
 * bgcolor, hidden); CSS from <style> blocks is not evaluated (spammers
 * mostly hide text inline).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>

#include "html.h"
#include "xalloc.h"

#define MAX_DEPTH 4096		/* walk stack; deeper content is skipped */

struct frame {
	GumboNode	*node;
	unsigned	 next;		/* next child to visit */
	int		 hidden;
	unsigned	 fg, bg;	/* 0xRRGGBB, or NOCOLOR */
	int		 pre;
	size_t		 anchor_start;	/* visible offset at <a> */
	const char	*href;
};

#define NOCOLOR 0x1000000u

static int
is_block(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_BR:
	case GUMBO_TAG_LI: case GUMBO_TAG_TR: case GUMBO_TAG_H1:
	case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
	case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_TABLE:
	case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE: case GUMBO_TAG_HR:
	case GUMBO_TAG_UL: case GUMBO_TAG_OL: case GUMBO_TAG_DL:
	case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_SECTION:
	case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER:
	case GUMBO_TAG_FORM: case GUMBO_TAG_CENTER: case GUMBO_TAG_ADDRESS:
	case GUMBO_TAG_BODY: case GUMBO_TAG_TITLE:
		return 1;
	default:
		return 0;
	}
}

static const struct {
	const char *name;
	unsigned rgb;
} named_colors[] = {
	{ "white", 0xffffff }, { "black", 0x000000 }, { "red", 0xff0000 },
	{ "green", 0x008000 }, { "blue", 0x0000ff }, { "yellow", 0xffff00 },
	{ "gray", 0x808080 }, { "grey", 0x808080 }, { "silver", 0xc0c0c0 },
	{ "navy", 0x000080 }, { "maroon", 0x800000 }, { "lime", 0x00ff00 },
	{ "aqua", 0x00ffff }, { "fuchsia", 0xff00ff }, { "orange", 0xffa500 },
	{ "purple", 0x800080 }, { "teal", 0x008080 }, { "olive", 0x808000 },
	{ "snow", 0xfffafa }, { "whitesmoke", 0xf5f5f5 },
};

/* parse a CSS / HTML colour; NOCOLOR when not understood */
static unsigned
parse_color(const char *s, size_t n)
{
	char tmp[32];
	size_t i = 0;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == ';'))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return NOCOLOR;
	for (i = 0; i < n; i++)
		tmp[i] = (char)tolower((unsigned char)s[i]);
	tmp[n] = '\0';
	if (tmp[0] == '#' || (n == 6 && strspn(tmp, "0123456789abcdef") == 6)) {
		const char *h = tmp[0] == '#' ? tmp + 1 : tmp;
		size_t hl = strlen(h);
		char *end;
		unsigned long v;

		if (strspn(h, "0123456789abcdef") != hl)
			return NOCOLOR;
		v = strtoul(h, &end, 16);
		if (hl == 3)
			return (unsigned)(((v >> 8) & 0xf) * 0x110000 +
			    ((v >> 4) & 0xf) * 0x1100 + (v & 0xf) * 0x11);
		if (hl == 6)
			return (unsigned)v;
		return NOCOLOR;
	}
	if (strncmp(tmp, "rgb(", 4) == 0) {
		unsigned r, g, b;
		if (sscanf(tmp + 4, "%u , %u , %u", &r, &g, &b) == 3 &&
		    r < 256 && g < 256 && b < 256)
			return r << 16 | g << 8 | b;
		return NOCOLOR;
	}
	for (i = 0; i < sizeof(named_colors) / sizeof(named_colors[0]); i++)
		if (strcmp(tmp, named_colors[i].name) == 0)
			return named_colors[i].rgb;
	return NOCOLOR;
}

/* colours a reader cannot tell apart */
static int
same_color(unsigned a, unsigned b)
{
	int dr, dg, db;

	if (a == NOCOLOR || b == NOCOLOR)
		return 0;
	dr = (int)((a >> 16) & 0xff) - (int)((b >> 16) & 0xff);
	dg = (int)((a >> 8) & 0xff) - (int)((b >> 8) & 0xff);
	db = (int)(a & 0xff) - (int)(b & 0xff);
	return abs(dr) + abs(dg) + abs(db) < 24;
}

/*
 * Byte classes for the hot loops, a table lookup where isspace() and
 * tolower() cost a call each: CH_SPACE is isspace() in the C locale
 * (hamlet never sets another); '/', '>' and '=' end names in tags.
 */
enum { CH_SPACE = 1, CH_SLASH = 2, CH_GT = 4, CH_EQ = 8 };
static const unsigned char ch_class[256] = {
	[' '] = CH_SPACE, ['\t'] = CH_SPACE, ['\n'] = CH_SPACE,
	['\v'] = CH_SPACE, ['\f'] = CH_SPACE, ['\r'] = CH_SPACE,
	['/'] = CH_SLASH, ['>'] = CH_GT, ['='] = CH_EQ,
};
#define IS_SPACE(c)	(ch_class[(unsigned char)(c)] & CH_SPACE)

/* the style properties apply_style() reads */
enum { SP_DISPLAY, SP_VISIBILITY, SP_FONT_SIZE, SP_COLOR, SP_BG_COLOR,
    SP_BACKGROUND, SP_OPACITY, SP_N };

static const struct {
	const char	*name;
	size_t		 len;
} style_names[SP_N] = {
	{ "display", 7 }, { "visibility", 10 }, { "font-size", 9 },
	{ "color", 5 }, { "background-color", 16 }, { "background", 10 },
	{ "opacity", 7 },
};

/*
 * The value of each "prop:" in a style attribute (v[k] NULL when
 * absent; vlen[k] its span up to ';' or '"'): the first place, in one
 * pass, where the name starts (any case) at the start or after ';', '"',
 * '{' or a space and is followed by blanks and ':'. A search per name
 * (strcasestr() from each miss on) finds the same place: no name can
 * overlap itself.
 */
static void
style_props(const char *style, const char *v[SP_N], size_t vlen[SP_N])
{
	int left = SP_N;

	for (int k = 0; k < SP_N; k++)
		v[k] = NULL;
	for (const char *p = style; *p && left > 0; p++) {
		unsigned char c;

		if (p != style && p[-1] != ';' && p[-1] != '"' &&
		    !IS_SPACE(p[-1]) && p[-1] != '{')
			continue;
		c = (unsigned char)(*p | 0x20);
		if (c != 'd' && c != 'v' && c != 'f' && c != 'c' && c != 'b' &&
		    c != 'o')
			continue;
		for (int k = 0; k < SP_N; k++) {
			const char *q = p + style_names[k].len;

			if (v[k] != NULL ||
			    strncasecmp(p, style_names[k].name,
			    style_names[k].len) != 0)
				continue;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == ':') {
				q++;
				v[k] = q;
				vlen[k] = strcspn(q, ";\"");
				left--;
			}
		}
	}
}

/*
 * The attributes the walk reads, each the first of its name as
 * gumbo_get_attribute() finds it.
 */
struct attrs {
	GumboAttribute	*hidden, *color, *bgcolor, *style;
	GumboAttribute	*href, *src, *action, *background;
};

static void
set_attr(GumboAttribute **slot, GumboAttribute *a, const char *name)
{
	if (*slot == NULL && strcasecmp(a->name, name) == 0)
		*slot = a;
}

/* one pass over the attributes instead of a gumbo_get_attribute() per name */
static void
find_attrs(const GumboElement *el, struct attrs *at)
{
	memset(at, 0, sizeof(*at));
	for (unsigned i = 0; i < el->attributes.length; i++) {
		GumboAttribute *a = el->attributes.data[i];

		/* ASCII letters only: tolower() of the C locale */
		switch (a->name[0] | 0x20) {
		case 'h':
			set_attr(&at->hidden, a, "hidden");
			set_attr(&at->href, a, "href");
			break;
		case 'c':
			set_attr(&at->color, a, "color");
			break;
		case 'b':
			set_attr(&at->bgcolor, a, "bgcolor");
			set_attr(&at->background, a, "background");
			break;
		case 's':
			set_attr(&at->style, a, "style");
			set_attr(&at->src, a, "src");
			break;
		case 'a':
			set_attr(&at->action, a, "action");
			break;
		default:
			break;
		}
	}
}

static void
apply_style(struct frame *f, const struct attrs *at)
{
	GumboAttribute *a;
	const char *v, *sv[SP_N];
	size_t sl[SP_N];
	int k;

	if (at->hidden)
		f->hidden = 1;
	if ((a = at->color) != NULL)
		f->fg = parse_color(a->value, strlen(a->value));
	if ((a = at->bgcolor) != NULL)
		f->bg = parse_color(a->value, strlen(a->value));
	if ((a = at->style) == NULL)
		return;
	style_props(a->value, sv, sl);
	v = sv[SP_DISPLAY];
	if (v && sl[SP_DISPLAY] >= 4 &&
	    strncasecmp(v + strspn(v, " \t"), "none", 4) == 0)
		f->hidden = 1;
	v = sv[SP_VISIBILITY];
	if (v && strncasecmp(v + strspn(v, " \t"), "hidden", 6) == 0)
		f->hidden = 1;
	v = sv[SP_FONT_SIZE];
	if (v) {
		double sz = strtod(v, NULL);
		/* 0, 1px, 2px, 0.1em ... too small to read */
		if (sz <= 0.0001 || (sz <= 2 && strcasestr(v, "px")) ||
		    (sz < 0.3 && (strcasestr(v, "em") || strcasestr(v, "rem"))))
			f->hidden = 1;
	}
	if ((v = sv[SP_COLOR]) != NULL)
		f->fg = parse_color(v, sl[SP_COLOR]);
	k = sv[SP_BG_COLOR] ? SP_BG_COLOR : SP_BACKGROUND;
	if ((v = sv[k]) != NULL) {
		unsigned c = parse_color(v, sl[k]);
		if (c != NOCOLOR)
			f->bg = c;
	}
	v = sv[SP_OPACITY];
	if (v && strtod(v, NULL) < 0.1)
		f->hidden = 1;
}

/*
 * append text collapsing whitespace (unless pre); the runs are written
 * straight into the buffer, reserved once (the text never grows), not
 * appended a word at a time
 */
static void
add_text(struct buf *b, const char *t, int pre, size_t max)
{
	size_t n = strlen(t), len;
	char *p;

	if (b->len >= max)
		return;
	if (pre) {
		buf_add(b, t, n > max - b->len ? max - b->len : n);
		return;
	}
	buf_reserve(b, n + 1);
	p = b->p;
	len = b->len;
	/* runs of non-space bytes are copied whole; space runs become one */
	for (size_t i = 0; i < n && len < max;) {
		size_t j = i;

		if (IS_SPACE(t[i])) {
			while (j < n && IS_SPACE(t[j]))
				j++;
			if (len && !IS_SPACE(p[len - 1]))
				p[len++] = ' ';
		} else {
			size_t k;

			while (j < n && !IS_SPACE(t[j]))
				j++;
			k = j - i > max - len ? max - len : j - i;
			memcpy(p + len, t + i, k);
			len += k;
		}
		i = j;
	}
	b->len = len;
	p[len] = '\0';
}

static void
add_break(struct buf *b)
{
	if (b->len == 0)
		return;
	/* replace a trailing space by the newline */
	while (b->len && b->p[b->len - 1] == ' ')
		buf_truncate(b, b->len - 1);
	if (b->len && b->p[b->len - 1] != '\n')
		buf_addc(b, '\n');
}

/*
 * SpamAssassin's HTML::html_whitespace() at a block tag, opening or
 * closing: <br> and <div> add a newline each (so <br><br> is a blank
 * line), <p>, <hr>, <blockquote> and <pre> a blank line; body rules see
 * blank lines as paragraph breaks. Other block tags end the line.
 */
static void
add_tag_break(struct buf *b, GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_BR: case GUMBO_TAG_DIV:
		if (b->len == 0)
			return;
		while (b->len && b->p[b->len - 1] == ' ')
			buf_truncate(b, b->len - 1);
		buf_addc(b, '\n');
		return;
	case GUMBO_TAG_P: case GUMBO_TAG_HR: case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_PRE:
		add_break(b);
		if (b->len && (b->len < 2 || b->p[b->len - 2] != '\n'))
			buf_addc(b, '\n');
		return;
	default:
		add_break(b);
		return;
	}
}

static void
link_attr(struct html_render *r, const GumboAttribute *a,
    enum html_link_kind kind)
{
	if (a && a->value[0] && r->on_link)
		r->on_link(r->arg, a->value, "", kind);
}

/*
 * Gumbo's allocator. Blocks up to ARENA_SMALL bytes are cut from chunks
 * and never freed one by one; larger ones (growing buffers and vectors,
 * which gumbo frees when it copies them to a bigger block) are malloc'd
 * on a list so they can be freed at once. Every block has a header word
 * in front saying which kind it is. Past ARENA_MAX bytes of chunks all
 * blocks go the large way, so memory stays bounded by what gumbo holds
 * plus ARENA_MAX.
 */
#define ARENA_SMALL	2048
#define ARENA_CHUNK	(64 * 1024)
#define ARENA_CHUNK_MAX	(1024 * 1024)
#define ARENA_MAX	((size_t)32 << 20)
#define ARENA_ALIGN	sizeof(void *)

struct arena_chunk {
	struct arena_chunk *next;
	size_t		 cap;
	unsigned char	*data;
};

struct arena_big {
	struct arena_big *prev, *next;
	size_t		 tag;		/* BIG_TAG, just before the block */
};

#define SMALL_TAG	((size_t)0x5a11)
#define BIG_TAG		((size_t)0xb16)

struct arena {
	struct arena_chunk *chunks;
	size_t		 total;		/* bytes of chunks */
	struct arena_big *big;
	unsigned char	*cur;		/* the free end of chunks[0] */
	size_t		 left;		/* and its bytes */
};

static void * __attribute__((noinline))
arena_big_alloc(struct arena *a, size_t n)
{
	struct arena_big *h;

	if (n > SIZE_MAX - sizeof(*h))
		return NULL;
	h = xmalloc(sizeof(*h) + n);
	h->prev = NULL;
	h->next = a->big;
	h->tag = BIG_TAG;
	if (a->big)
		a->big->prev = h;
	a->big = h;
	return h + 1;
}

/* a small block of need bytes (header included) from a new chunk */
static void * __attribute__((noinline))
arena_grow(struct arena *a, size_t n, size_t need)
{
	struct arena_chunk *c = a->chunks;
	size_t cap = c ? c->cap * 2 : ARENA_CHUNK;
	size_t tag = SMALL_TAG;
	unsigned char *p;

	if (cap > ARENA_CHUNK_MAX)
		cap = ARENA_CHUNK_MAX;
	if (a->total + cap > ARENA_MAX)
		return arena_big_alloc(a, n);
	c = xmalloc(sizeof(*c) + cap);
	c->data = (unsigned char *)(c + 1);
	c->cap = cap;
	c->next = a->chunks;
	a->chunks = c;
	a->total += cap;
	p = c->data;
	a->cur = p + need;
	a->left = cap - need;
	memcpy(p, &tag, sizeof(tag));
	return p + sizeof(size_t);
}

/*
 * Called for every node, attribute and string gumbo makes (about 570 a
 * message): the common case is a bump of cur, all else is out of line.
 */
static void *
arena_alloc(void *ud, size_t n)
{
	struct arena *a = ud;
	size_t need, tag = SMALL_TAG;
	unsigned char *p;

	if (n > ARENA_SMALL)
		return arena_big_alloc(a, n);
	need = (sizeof(size_t) + n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (need > a->left)
		return arena_grow(a, n, need);
	p = a->cur;
	a->cur = p + need;
	a->left -= need;
	memcpy(p, &tag, sizeof(tag));
	return p + sizeof(size_t);
}

static void
arena_dealloc(void *ud, void *ptr)
{
	struct arena *a = ud;
	size_t tag;

	if (ptr == NULL)
		return;
	memcpy(&tag, (unsigned char *)ptr - sizeof(size_t), sizeof(tag));
	if (tag == BIG_TAG) {
		struct arena_big *h = (struct arena_big *)ptr - 1;

		if (h->prev)
			h->prev->next = h->next;
		else
			a->big = h->next;
		if (h->next)
			h->next->prev = h->prev;
		free(h);
	}
	/* small blocks go with their chunk */
}

static void
arena_free(struct arena *a)
{
	while (a->chunks) {
		struct arena_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	while (a->big) {
		struct arena_big *h = a->big;

		a->big = h->next;
		free(h);
	}
}

/*
 * Bounding gumbo's input. The number of tags is capped (max_tags) because
 * gumbo frees its tree recursively. That alone does not bound its time:
 * gumbo 0.10 does work proportional to the open elements for many tags
 * (scope checks down the stack of open elements), to the active
 * formatting elements for each formatting tag (the "Noah's Ark"
 * attribute comparison), and to a tag's attributes for each attribute
 * (the duplicate check, also when a later <body> adds its attributes to
 * the first). So unclosed tags and long attribute lists cost quadratic
 * time: 20,000 unclosed "<b id=N>x" (250 KB) cost gumbo 29 billion
 * instructions, 20,000 "<div>" 4.6 billion, one tag with 40,000
 * attributes 33 billion, against about 400 per byte for mail. The input
 * is therefore also cut at the tag where a rough count passes MAX_OPEN
 * unclosed elements (browsers cap tree depth at about as many), MAX_FMT
 * unclosed formatting elements, MAX_ATTR_WORK (attributes squared, summed
 * over tags) or MAX_MERGED attributes of <html> and <body> tags; the
 * worst inputs found then cost about 0.3 billion per part.
 *
 * The count is a scan, not a parser, and errs high: it skips comments,
 * attribute values and <script>/<style> content, ignores void elements
 * and those whose end tag is optional (p, li, td ...: a new one closes
 * the old), and lets an end tag close only an element of its name. Mail
 * stays far below the caps: over the test corpus's 1,210 HTML parts at
 * most 39 unclosed elements, 39 formatting ones, attribute work 4,759
 * and 15 merged attributes.
 *
 * The tags, the attribute work and the merged attributes are drawn from
 * a budget kept per message (struct html_budget), not per part: with
 * caps per part, a 4 MB message of 562 parts, each one tag with 1,023
 * attributes, cost 14.6 billion instructions to check, against 2.6
 * billion for 4 MB of ordinary HTML; with the budget 0.37 billion, and
 * the worst many-part message found (127 open <b>, then closed tags)
 * 1.1 billion. The
 * open and formatting elements stay per part (each part is its own
 * tree): what they cost is bounded by the tags. Once a part is cut, the
 * rest of it, and every later HTML part of the message once the budget
 * is spent, is not given to gumbo but stripped of tags (strip_tags()),
 * so its text and its links still reach the rules: no hidden-text
 * analysis there, but nothing vanishes, and the cut is reported as
 * before.
 */
#define MAX_OPEN	512
#define MAX_FMT		128
#define MAX_ATTR_WORK	((long)1 << 20)	/* sum of attrs squared */
#define MAX_MERGED	1024		/* of <html> and <body> tags */
#define TAG_NAME_MAX	16

enum tag_class { TC_OTHER, TC_VOID, TC_OPTIONAL, TC_RAW, TC_FMT };

#define NFMT	14	/* gumbo's formatting elements, a to u below */
#define FMT_A	0
#define FMT_NOBR 7

/*
 * Sorted by name (see by_letter). Void elements have no end tag; a new
 * element of an "optional" kind closes the old one; formatting elements
 * are counted each on its own (fmt, 0 to NFMT - 1).
 */
static const struct tag_kind {
	const char	*name;
	enum tag_class	 cls;
	int		 fmt;
} tag_kinds[] = {
	{ "a", TC_FMT, 0 },
	{ "area", TC_VOID, 0 },
	{ "b", TC_FMT, 1 },
	{ "base", TC_VOID, 0 },
	{ "basefont", TC_VOID, 0 },
	{ "bgsound", TC_VOID, 0 },
	{ "big", TC_FMT, 2 },
	{ "body", TC_OPTIONAL, 0 },
	{ "br", TC_VOID, 0 },
	{ "code", TC_FMT, 3 },
	{ "col", TC_VOID, 0 },
	{ "colgroup", TC_OPTIONAL, 0 },
	{ "dd", TC_OPTIONAL, 0 },
	{ "dt", TC_OPTIONAL, 0 },
	{ "em", TC_FMT, 4 },
	{ "embed", TC_VOID, 0 },
	{ "font", TC_FMT, 5 },
	{ "frame", TC_VOID, 0 },
	{ "head", TC_OPTIONAL, 0 },
	{ "hr", TC_VOID, 0 },
	{ "html", TC_OPTIONAL, 0 },
	{ "i", TC_FMT, 6 },
	{ "img", TC_VOID, 0 },
	{ "input", TC_VOID, 0 },
	{ "keygen", TC_VOID, 0 },
	{ "li", TC_OPTIONAL, 0 },
	{ "link", TC_VOID, 0 },
	{ "menuitem", TC_VOID, 0 },
	{ "meta", TC_VOID, 0 },
	{ "nobr", TC_FMT, 7 },
	{ "optgroup", TC_OPTIONAL, 0 },
	{ "option", TC_OPTIONAL, 0 },
	{ "p", TC_OPTIONAL, 0 },
	{ "param", TC_VOID, 0 },
	{ "rb", TC_OPTIONAL, 0 },
	{ "rp", TC_OPTIONAL, 0 },
	{ "rt", TC_OPTIONAL, 0 },
	{ "rtc", TC_OPTIONAL, 0 },
	{ "s", TC_FMT, 8 },
	{ "script", TC_RAW, 0 },
	{ "small", TC_FMT, 9 },
	{ "source", TC_VOID, 0 },
	{ "strike", TC_FMT, 10 },
	{ "strong", TC_FMT, 11 },
	{ "style", TC_RAW, 0 },
	{ "tbody", TC_OPTIONAL, 0 },
	{ "td", TC_OPTIONAL, 0 },
	{ "tfoot", TC_OPTIONAL, 0 },
	{ "th", TC_OPTIONAL, 0 },
	{ "thead", TC_OPTIONAL, 0 },
	{ "tr", TC_OPTIONAL, 0 },
	{ "track", TC_VOID, 0 },
	{ "tt", TC_FMT, 12 },
	{ "u", TC_FMT, 13 },
	{ "wbr", TC_VOID, 0 },
};

/* tag_kinds[by_letter[c - 'a']] is the first name starting with c or later */
static const unsigned char by_letter[27] = {
	0, 2, 9, 12, 14, 16, 18, 18, 21, 24, 24, 25, 27, 29, 30, 32, 34, 34,
	38, 45, 53, 54, 54, 55, 55, 55, 55
};

/* strcmp() == 0 for the short names here, without a call */
static int
same_name(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
		a++, b++;
	return *a == *b;
}

static enum tag_class
tag_class(const char *name, int *fmt)
{
	*fmt = 0;
	if (name[0] < 'a' || name[0] > 'z')
		return TC_OTHER;
	for (int i = by_letter[name[0] - 'a']; i < by_letter[name[0] - 'a' + 1];
	    i++)
		if (tag_kinds[i].name[1] == name[1] &&
		    same_name(tag_kinds[i].name + 1, name + 1)) {
			*fmt = tag_kinds[i].fmt;
			return tag_kinds[i].cls;
		}
	return TC_OTHER;
}

struct open {
	uint32_t	 stack[MAX_OPEN + 1];	/* name hashes */
	int		 depth;
	int		 fmt[NFMT];
	int		 nfmt;
	long		 attr_work;	/* left of the message's budget */
	long		 merged;	/* the same */
};

/*
 * The lower-cased tag name at s (ASCII letter first), truncated to
 * TAG_NAME_MAX - 1 bytes; its full length goes to *len.
 */
static uint32_t
tag_name(const char *s, const char *end, char *name, size_t *len)
{
	uint32_t h = 2166136261u;
	size_t n = 0;

	while (s + n < end &&
	    !(ch_class[(unsigned char)s[n]] & (CH_SPACE | CH_SLASH | CH_GT))) {
		unsigned char u = (unsigned char)s[n];
		/* tolower() in the C locale */
		char c = (char)((unsigned)(u - 'A') < 26u ? u + ('a' - 'A') : u);

		if (n < TAG_NAME_MAX - 1)
			name[n] = c;
		h = (h ^ (unsigned char)c) * 16777619u;
		n++;
	}
	name[n < TAG_NAME_MAX - 1 ? n : TAG_NAME_MAX - 1] = '\0';
	*len = n;
	return h;
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* the attributes strip_tags() reads, the first of each name */
enum { SA_HREF, SA_SRC, SA_ACTION, SA_BACKGROUND, SA_N };

static const struct {
	const char	*name;
	size_t		 len;
} sattr_names[SA_N] = {
	{ "href", 4 }, { "src", 3 }, { "action", 6 }, { "background", 10 },
};

struct sattrs {
	const char	*v[SA_N];	/* raw value, NULL when absent */
	size_t		 n[SA_N];
	int		 whole;		/* 0: the input ended inside the tag */
};

/*
 * The attributes of the tag whose name ends at s, as the HTML5 tokenizer
 * splits them (quotes open a value only after '=', and a value in quotes
 * may hold '>'): their number. *tag_end is just past the '>' that ends
 * the tag, or end. With at, the raw values of sattr_names are kept there
 * and at->whole says whether the tag ended before the input did (gumbo
 * drops a tag that did not).
 */
static long
split_attrs(const char *s, const char *end, struct sattrs *at,
    const char **tag_end)
{
	long n = 0;

	if (at != NULL)
		memset(at, 0, sizeof(*at));
	for (;;) {
		const char *nm, *v = "";
		size_t nn, vn = 0;

		while (s < end &&
		    (ch_class[(unsigned char)*s] & (CH_SPACE | CH_SLASH)))
			s++;
		if (s >= end || *s == '>')
			break;
		n++;
		nm = s;
		/* a name may start with '=' */
		for (s++; s < end && !(ch_class[(unsigned char)*s] &
		    (CH_SPACE | CH_SLASH | CH_GT | CH_EQ)); s++)
			;
		nn = (size_t)(s - nm);
		while (s < end && IS_SPACE(*s))
			s++;
		if (s < end && *s == '=') {
			for (s++; s < end && IS_SPACE(*s); s++)
				;
			if (s < end && (*s == '"' || *s == '\'')) {
				const char *q = memchr(s + 1, *s,
				    (size_t)(end - s - 1));

				if (q == NULL) {
					s = end;
					break;
				}
				v = s + 1;
				vn = (size_t)(q - v);
				s = q + 1;
			} else {
				for (v = s; s < end && !(ch_class[
				    (unsigned char)*s] & (CH_SPACE | CH_GT)); s++)
					;
				vn = (size_t)(s - v);
			}
		}
		for (int k = 0; at != NULL && k < SA_N; k++)
			if (at->v[k] == NULL && nn == sattr_names[k].len &&
			    strncasecmp(nm, sattr_names[k].name, nn) == 0) {
				at->v[k] = v;
				at->n[k] = vn;
			}
	}
	if (at != NULL)
		at->whole = s < end;
	*tag_end = s < end ? s + 1 : end;
	return n;
}

/* just past the "-->" that ends the comment at p ("<!--"), or end */
static const char *
comment_end(const char *p, const char *end)
{
	const char *e = memmem(p + 4, (size_t)(end - p - 4), "-->", 3);

	return e ? e + 3 : end;
}

/*
 * Where the raw text from p (<script> or <style> content) ends: at the
 * "</" + name (nl bytes, any case) after it, or end.
 */
static const char *
raw_end(const char *p, const char *end, const char *name, size_t nl)
{
	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if (end - p > (long)nl + 2 && p[1] == '/' &&
		    strncasecmp(p + 2, name, nl) == 0)
			return p;
		p++;
	}
	return end;
}

/* close the innermost open element named h, if any */
static void
pop_to(struct open *o, uint32_t h)
{
	for (int d = o->depth - 1; d >= 0; d--)
		if (o->stack[d] == h) {
			o->depth = d;
			return;
		}
}

/*
 * The tag at html[i] (a '<'): counts it into o; *skip_to is where the
 * tags that follow count again (after a comment, or at the end tag of
 * script or style). 0 when the caps are passed.
 */
static int
count_open(struct open *o, const char *html, size_t i, size_t len,
    size_t *skip_to)
{
	const char *end = html + len;
	char name[TAG_NAME_MAX];
	const char *tag_end;
	size_t nl;
	uint32_t h;
	long na;
	int f;

	if (len - i >= 4 && memcmp(html + i, "<!--", 4) == 0) {
		*skip_to = (size_t)(comment_end(html + i, end) - html);
		return 1;
	}
	if (len - i >= 3 && html[i + 1] == '/' && is_alpha(html[i + 2])) {
		h = tag_name(html + i + 2, end, name, &nl);
		/* gumbo checks end tags' attributes for duplicates too */
		na = split_attrs(html + i + 2 + nl, end, NULL, &tag_end);
		*skip_to = (size_t)(tag_end - html);
		if (na * na > o->attr_work)
			return 0;
		o->attr_work -= na * na;
		if (nl < TAG_NAME_MAX - 1 && tag_class(name, &f) == TC_FMT &&
		    o->fmt[f] > 0)
			o->fmt[f]--, o->nfmt--;
		pop_to(o, h);
		return 1;
	}
	if (len - i < 2 || !is_alpha(html[i + 1]))
		return 1;
	h = tag_name(html + i + 1, end, name, &nl);
	/* '<' inside the tag (in attribute values) only count as tags */
	na = split_attrs(html + i + 1 + nl, end, NULL, &tag_end);
	*skip_to = (size_t)(tag_end - html);
	if (na * na > o->attr_work)
		return 0;
	o->attr_work -= na * na;
	/* a later <html> or <body> adds its attributes to the first one */
	if (strcmp(name, "html") == 0 || strcmp(name, "body") == 0) {
		if (na > o->merged)
			return 0;
		o->merged -= na;
	}
	switch (nl < TAG_NAME_MAX - 1 ? tag_class(name, &f) : TC_OTHER) {
	case TC_VOID:
	case TC_OPTIONAL:
		return 1;
	case TC_FMT:
		/* a new <a> or <nobr> closes the open one (adoption agency) */
		if ((f == FMT_A || f == FMT_NOBR) && o->fmt[f] > 0) {
			pop_to(o, h);
			break;
		}
		if (++o->nfmt > MAX_FMT)
			return 0;
		o->fmt[f]++;
		break;
	case TC_RAW:
		/* its content is text up to "</script" or "</style" */
		*skip_to = (size_t)(raw_end(html + *skip_to, end, name, nl) -
		    html);
		break;
	default:
		break;
	}
	if (o->depth >= MAX_OPEN)
		return 0;
	o->stack[o->depth++] = h;
	return 1;
}

void
html_budget_init(struct html_budget *hb, int max_tags)
{
	hb->tags = max_tags;
	hb->attr_work = MAX_ATTR_WORK;
	hb->merged = MAX_MERGED;
}

/*
 * The length of html given to gumbo: up to the tag that passes the
 * budget hb, MAX_OPEN or MAX_FMT (see above), setting *truncated.
 * *resume is where the rest is read again without gumbo: past the
 * comment, <script>/<style> content or tag the cut fell in, if any.
 */
static size_t
bound_tags(const char *html, size_t len, struct html_budget *hb,
    int *truncated, size_t *resume)
{
	struct open ob, *o = &ob;	/* 2 KB; only stack[0..depth) is read */
	size_t i = 0, skip_to = 0, cut = len;
	const char *p;
	long tags = hb->tags;

	*resume = len;
	if ((p = memchr(html, '<', len)) == NULL)
		return len;
	if (tags <= 0) {
		*truncated = 1;
		return *resume = (size_t)(p - html);
	}
	o->depth = 0;
	memset(o->fmt, 0, sizeof(o->fmt));
	o->nfmt = 0;
	o->attr_work = hb->attr_work;
	o->merged = hb->merged;
	while (i < len && (p = memchr(html + i, '<', len - i)) != NULL) {
		i = (size_t)(p - html);
		if (tags-- <= 0) {
			*resume = i < skip_to ? skip_to : i;
			cut = i;
			break;
		}
		/* a tag past an attribute cap is not charged for it */
		if (i >= skip_to && !count_open(o, html, i, len, &skip_to)) {
			*resume = cut = i;
			break;
		}
		i++;
	}
	if (cut < len)
		*truncated = 1;
	hb->attr_work = o->attr_work;
	hb->merged = o->merged;
	hb->tags = tags > 0 ? tags : 0;
	return cut;
}

/*
 * Character references in stripped HTML, decoded as gumbo decodes them
 * for the common cases: numeric ones (&#NN; &#xNN;, the ';' optional),
 * with gumbo's replacements (0, surrogates and past U+10FFFF become
 * U+FFFD, 0x80-0x9F are read as windows-1252), and the named ones mail
 * uses for markup and spaces. Other names are left as they are; so is a
 * name without its ';' when a letter, digit or '=' follows (gumbo would
 * match a longer name there, or, in an attribute, leave it).
 */
static const struct {
	const char	*name;
	size_t		 len;
	const char	*utf8;
} char_refs[] = {
	{ "amp", 3, "&" }, { "lt", 2, "<" }, { "gt", 2, ">" },
	{ "quot", 4, "\"" }, { "nbsp", 4, "\xc2\xa0" },
	{ "AMP", 3, "&" }, { "LT", 2, "<" }, { "GT", 2, ">" },
	{ "QUOT", 4, "\"" },
	{ "apos", 4, "'" },		/* only with its ';' */
};
#define NLEGACY	9	/* the first ones may go without ';' */

static const uint16_t cp1252[32] = {
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178
};

static void
add_codepoint(struct buf *b, unsigned long c)
{
	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	else if (c >= 0x80 && c <= 0x9f)
		c = cp1252[c - 0x80];
	if (c < 0x80)
		buf_addc(b, (char)c);
	else if (c < 0x800) {
		buf_addc(b, (char)(0xc0 | c >> 6));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_addc(b, (char)(0xe0 | c >> 12));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | c >> 18));
		buf_addc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_addc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* s[0..n) with its character references decoded, appended to b; linear */
static void
add_decoded(struct buf *b, const char *s, size_t n)
{
	const char *end = s + n;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		size_t k;

		if (amp == NULL) {
			buf_add(b, s, (size_t)(end - s));
			return;
		}
		buf_add(b, s, (size_t)(amp - s));
		s = amp + 1;
		if (s < end && *s == '#') {
			const char *d = s + 1, *digits;
			int hex = d < end && (*d == 'x' || *d == 'X');
			unsigned long c = 0;

			d += hex;
			for (digits = d; d < end && (hex ?
			    isxdigit((unsigned char)*d) :
			    isdigit((unsigned char)*d)); d++)
				if (c <= 0x10ffff)
					c = c * (hex ? 16 : 10) + (unsigned long)
					    (isdigit((unsigned char)*d) ? *d - '0' :
					    (tolower((unsigned char)*d) - 'a' + 10));
			if (d == digits) {
				buf_addc(b, '&');	/* not a reference */
				continue;
			}
			if (d < end && *d == ';')
				d++;
			add_codepoint(b, c);
			s = d;
			continue;
		}
		for (k = 0; k < sizeof(char_refs) / sizeof(char_refs[0]); k++) {
			size_t l = char_refs[k].len;

			if ((size_t)(end - s) < l ||
			    memcmp(s, char_refs[k].name, l) != 0)
				continue;
			if (s + l < end && s[l] == ';')
				l++;
			else if (k >= NLEGACY || (s + l < end &&
			    (isalnum((unsigned char)s[l]) || s[l] == '=')))
				continue;
			buf_adds(b, char_refs[k].utf8);
			s += l;
			break;
		}
		if (k == sizeof(char_refs) / sizeof(char_refs[0]))
			buf_addc(b, '&');
	}
}

/* report attribute k of at, decoded, if present and not empty */
static void
strip_link(struct html_render *r, const struct sattrs *at, int k,
    enum html_link_kind kind, struct buf *tmp)
{
	if (at->v[k] == NULL || at->n[k] == 0 || r->on_link == NULL)
		return;
	buf_truncate(tmp, 0);
	add_decoded(tmp, at->v[k], at->n[k]);
	r->on_link(r->arg, buf_str(tmp), "", kind);
}

/* the open <a> of strip_tags(), reported with its text (as at </a>) */
struct strip_anchor {
	struct buf	 href;
	size_t		 start;		/* visible offset at <a> */
	int		 open;
};

static void
anchor_end(struct html_render *r, struct strip_anchor *a)
{
	size_t s, n;
	char *text;

	if (!a->open)
		return;
	a->open = 0;
	if (r->on_link == NULL)
		return;
	s = a->start < r->visible.len ? a->start : r->visible.len;
	n = r->visible.len - s > 512 ? 512 : r->visible.len - s;
	text = xstrndup(r->visible.p ? r->visible.p + s : "", n);
	r->on_link(r->arg, buf_str(&a->href), text, HTML_LINK_HREF);
	free(text);
}

/*
 * The links of a stripped tag, as the tree walk of render_tree()
 * reports them: href of <a> (with its text, at </a>, the next <a> or
 * the end) and of <area>, <link> and <base>; src of <img>, <iframe>,
 * <frame>, <embed> and <input>; action of <form>; background of <body>,
 * <table>, <td> and <tr>.
 */
static void
strip_tag_links(struct html_render *r, GumboTag gt, int close,
    const struct sattrs *at, struct strip_anchor *a, struct buf *tmp)
{
	if (gt == GUMBO_TAG_A) {
		anchor_end(r, a);
		if (close || at->v[SA_HREF] == NULL || at->n[SA_HREF] == 0)
			return;
		buf_truncate(&a->href, 0);
		add_decoded(&a->href, at->v[SA_HREF], at->n[SA_HREF]);
		a->start = r->visible.len;
		a->open = 1;
		return;
	}
	if (close)
		return;
	switch (gt) {
	case GUMBO_TAG_AREA: case GUMBO_TAG_LINK: case GUMBO_TAG_BASE:
		strip_link(r, at, SA_HREF, HTML_LINK_HREF, tmp);
		break;
	case GUMBO_TAG_IMG: case GUMBO_TAG_IFRAME: case GUMBO_TAG_FRAME:
	case GUMBO_TAG_EMBED: case GUMBO_TAG_INPUT:
		strip_link(r, at, SA_SRC, HTML_LINK_SRC, tmp);
		break;
	case GUMBO_TAG_FORM:
		strip_link(r, at, SA_ACTION, HTML_LINK_FORM, tmp);
		break;
	case GUMBO_TAG_BODY: case GUMBO_TAG_TABLE: case GUMBO_TAG_TD:
	case GUMBO_TAG_TR:
		strip_link(r, at, SA_BACKGROUND, HTML_LINK_SRC, tmp);
		break;
	default:
		break;
	}
}

/*
 * The text of html (the part after a cut) without its tags, comments
 * and <script>/<style> content, appended to r->visible with the line
 * breaks of block tags and the common character references decoded
 * (add_decoded()); its links go to r->on_link as strip_tag_links()
 * says. Linear in len: nothing here depends on what came before, each
 * byte is read a bounded number of times, and a link costs the length
 * of its value. The whole input is read for links even once max_text
 * is reached, as the tree walk does; the engine bounds the URIs it
 * keeps (max_uris). Not inlined: it is the rare path, and inlined into
 * html_render() it made gcc allocate the tree walk's registers worse
 * (60,000 more instructions on the 302-message sample).
 */
static void __attribute__((noinline))
strip_tags(struct html_render *r, const char *html, size_t len,
    size_t max_text)
{
	const char *end = html + len, *s = html;
	char name[TAG_NAME_MAX];
	struct buf t = BUF_INIT;
	struct strip_anchor a = { BUF_INIT, 0, 0 };
	struct sattrs at;
	size_t nl;

	while (s < end) {
		const char *lt = memchr(s, '<', (size_t)(end - s));
		const char *e, *q;
		int close;

		if (lt == NULL)
			lt = end;
		/* the text up to lt; a '<' that opens no tag is text */
		while (lt < end && lt + 1 < end && !is_alpha(lt[1]) &&
		    lt[1] != '/' && lt[1] != '!' && lt[1] != '?')
			if ((lt = memchr(lt + 1, '<', (size_t)(end - lt - 1))) ==
			    NULL)
				lt = end;
		if (lt > s && r->visible.len < max_text) {
			buf_truncate(&t, 0);
			add_decoded(&t, s, (size_t)(lt - s));
			add_text(&r->visible, buf_str(&t), 0, max_text);
		}
		if (lt >= end)
			break;
		if (end - lt >= 4 && memcmp(lt, "<!--", 4) == 0) {
			s = comment_end(lt, end);
			continue;
		}
		close = lt + 1 < end && lt[1] == '/';
		q = lt + 1 + close;
		(void)tag_name(q, end, name, &nl);
		(void)split_attrs(q + nl, end, &at, &e);
		s = e;
		if (nl == 0 || nl >= TAG_NAME_MAX - 1)
			continue;
		if (!close && (strcmp(name, "script") == 0 ||
		    strcmp(name, "style") == 0)) {
			s = raw_end(e, end, name, nl);	/* to its end tag */
			continue;
		}
		GumboTag gt = gumbo_tag_enum(name);
		if (is_block(gt) && !(close && gt == GUMBO_TAG_BR) &&
		    r->visible.len < max_text)
			add_tag_break(&r->visible, gt);
		if (at.whole && is_alpha(q[0]))
			strip_tag_links(r, gt, close, &at, &a, &t);
	}
	anchor_end(r, &a);
	buf_free(&a.href);
	buf_free(&t);
}

static void render_tree(struct html_render *, const char *, size_t, size_t);

/*
 * Whitespace runs collapsed before gumbo sees them.
 *
 * gumbo makes every text character a token of its own and runs the tree
 * builder on it: about 700 instructions a character, and runs of blanks
 * between tags are a fifth of the text of HTML mail. Outside <pre> and
 * <textarea> the walk writes any run of blanks as one space, and the tree
 * builder only asks of a character whether it is whitespace, so a run of
 * HTML whitespace (TAB, LF, FF, CR, space) in text can be cut to its
 * first byte without changing the tree's shape or the rendered text.
 *
 * Only text is touched, so the scan follows the HTML5 tokenizer wherever
 * the two could disagree: tags to their '>' with the attribute-value
 * quotes of the attribute states, comments ("<!-->", "<!--->", "-->",
 * "--!>"), doctypes and bogus comments (to the first '>'), and the raw
 * text of style, title, iframe, noembed, noframes and xmp up to their
 * own end tag, which it copies as is. Where it could not follow (script
 * and its escapes, plaintext, CDATA) or where the rendering keeps blanks
 * or the tokenizer's mode depends on the tree (pre, listing, textarea,
 * noscript, select, frameset, svg, math, template: in a template's column
 * group a <style> or <title> is ignored, not raw text), the rest of the
 * part is copied unchanged. Returns a malloc'd copy, or NULL when nothing
 * would change.
 */
enum { WS_W = 1, WS_LT = 2, WS_END = 4 };	/* blank; '<'; ends a name */
static const unsigned char ws_class[256] = {
	[' '] = WS_W | WS_END, ['\n'] = WS_W | WS_END, ['\t'] = WS_W | WS_END,
	['\r'] = WS_W | WS_END, ['\f'] = WS_W | WS_END, ['<'] = WS_LT,
	['/'] = WS_END, ['>'] = WS_END, ['='] = WS_END,
};
#define WS_HTML(c)	(ws_class[(unsigned char)(c)] & WS_W)

/* the tag from in[i] ('<' + letter, or "</" + letter): one past its '>' */
static size_t
ws_tag_end(const char *in, size_t i, size_t len, char *name, size_t *nl)
{
	size_t n = 0;

	i += in[i + 1] == '/' ? 2 : 1;
	int plain = 1;		/* ASCII letters and digits only */

	while (i < len && !WS_HTML(in[i]) && in[i] != '/' && in[i] != '>') {
		if (!is_alpha(in[i]) && (unsigned)(in[i] - '0') >= 10)
			plain = 0;
		if (n < 15)
			name[n] = (char)(in[i] | (is_alpha(in[i]) ? 0x20 : 0));
		n++;
		i++;
	}
	/* a name that is no list's (too long, or a NUL, an 8-bit byte...) */
	if (n >= 16 || !plain)
		n = 0;
	*nl = n;
	name[n] = '\0';
	/* the attribute states: quotes open a value only after '=' */
	while (i < len) {
		char c = in[i];

		if (WS_HTML(c) || c == '/') {
			i++;
			continue;
		}
		if (c == '>')
			return i + 1;
		/* a name: its first byte may be '=', then to ws / > = */
		i++;
		while (i < len && !(ws_class[(unsigned char)in[i]] & WS_END))
			i++;
		while (i < len && WS_HTML(in[i]))
			i++;
		if (i >= len || in[i] != '=')
			continue;
		i++;
		while (i < len && WS_HTML(in[i]))
			i++;
		if (i < len && (in[i] == '"' || in[i] == '\'')) {
			const char *q = memchr(in + i + 1, in[i], len - i - 1);

			if (q == NULL)
				return len;
			i = (size_t)(q - in) + 1;
		} else
			while (i < len && !WS_HTML(in[i]) && in[i] != '>')
				i++;
	}
	return len;
}

/* raw text from i: where "</" + name + (ws, '/' or '>') starts, or len */
static size_t
ws_raw_end(const char *in, size_t i, size_t len, const char *name, size_t nl)
{
	while (i < len) {
		const char *p = memchr(in + i, '<', len - i);
		size_t k;

		if (p == NULL)
			return len;
		k = (size_t)(p - in);
		if (len - k > nl + 2 && in[k + 1] == '/' &&
		    strncasecmp(in + k + 2, name, nl) == 0 &&
		    (WS_HTML(in[k + 2 + nl]) || in[k + 2 + nl] == '/' ||
		    in[k + 2 + nl] == '>'))
			return k;
		i = k + 1;
	}
	return len;
}

/*
 * What a start tag's name (lowercase, nl bytes) does to the scan: 0
 * nothing, 1 the rest is copied as is, 2 raw text to its end tag
 */
static int
ws_name_kind(const char *name, size_t nl)
{
#define IS(s)	(memcmp(name, s, nl) == 0)
	switch (nl) {
	case 3:
		return IS("pre") || IS("svg") ? 1 : IS("xmp") ? 2 : 0;
	case 4:
		return IS("math") ? 1 : 0;
	case 5:
		return IS("style") || IS("title") ? 2 : 0;
	case 6:
		return IS("script") || IS("select") ? 1 : IS("iframe") ? 2 : 0;
	case 7:
		return IS("listing") ? 1 : IS("noembed") ? 2 : 0;
	case 8:
		return IS("textarea") || IS("noscript") || IS("frameset") ||
		    IS("template") ? 1 : IS("noframes") ? 2 : 0;
	case 9:
		return IS("plaintext") ? 1 : 0;
	default:
		return 0;
	}
#undef IS
}

static char *
ws_collapse(const char *in, size_t len, size_t *outlen)
{
	char *out = NULL;
	size_t i = 0, o = 0, from = 0;	/* in[from .. i) not yet copied */

	while (i < len) {
		char c;

		/* text bytes that are neither blank nor '<': skipped */
		while (i < len && !ws_class[(unsigned char)in[i]])
			i++;
		if (i >= len)
			break;
		c = in[i];
		if (WS_HTML(c)) {
			size_t j = i + 1;

			while (j < len && WS_HTML(in[j]))
				j++;
			if (j - i > 1) {
				if (out == NULL)
					out = xmalloc(len);
				memcpy(out + o, in + from, i + 1 - from);
				o += i + 1 - from;
				from = j;
			}
			i = j;
			continue;
		}
		if (c != '<') {	/* '/', '>', '=' in text */
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		if (is_alpha(in[i + 1]) ||
		    (in[i + 1] == '/' && i + 2 < len && is_alpha(in[i + 2]))) {
			int start = in[i + 1] != '/', kind;
			char name[16];
			size_t nl;

			i = ws_tag_end(in, i, len, name, &nl);
			if (!start || nl == 0)
				continue;
			kind = ws_name_kind(name, nl);
			if (kind == 1)
				break;
			if (kind == 2)
				i = ws_raw_end(in, i, len, name, nl);
			continue;
		}
		if (in[i + 1] == '!' && len - i >= 4 && in[i + 2] == '-' &&
		    in[i + 3] == '-') {
			if (len - i > 4 && in[i + 4] == '>') {
				i += 5;
				continue;
			}
			if (len - i > 5 && in[i + 4] == '-' && in[i + 5] == '>') {
				i += 6;
				continue;
			}
			/* to the first "-->" or "--!>", in one forward pass */
			for (i += 4; i < len; i++) {
				const char *d = memchr(in + i, '-', len - i);

				if (d == NULL) {
					i = len;
					break;
				}
				i = (size_t)(d - in);
				if (len - i >= 3 && in[i + 1] == '-' &&
				    in[i + 2] == '>') {
					i += 3;
					break;
				}
				if (len - i >= 4 && in[i + 1] == '-' &&
				    in[i + 2] == '!' && in[i + 3] == '>') {
					i += 4;
					break;
				}
			}
			if (i >= len)
				break;
			continue;
		}
		if (in[i + 1] == '!' && len - i >= 9 &&
		    memcmp(in + i + 2, "[CDATA[", 7) == 0)
			break;
		if (in[i + 1] == '!' || in[i + 1] == '?' || in[i + 1] == '/') {
			/* doctype, bogus comment, "</>": to the first '>' */
			const char *gt = memchr(in + i + 2, '>', len - i - 2);

			if (gt == NULL)
				break;
			i = (size_t)(gt - in) + 1;
			continue;
		}
		i++;
	}
	if (out == NULL)
		return NULL;
	memcpy(out + o, in + from, len - from);
	*outlen = o + len - from;
	return out;
}

void
html_render(struct html_render *r, const char *html, size_t len,
    struct html_budget *hb, size_t max_text)
{
	size_t resume;
	size_t cut = bound_tags(html, len, hb, &r->truncated, &resume);

	/* gumbo is not started for nothing once the budget is spent */
	if (cut > 0 || cut == len) {
		size_t clen;
		char *c = ws_collapse(html, cut, &clen);

		render_tree(r, c ? c : html, c ? clen : cut, max_text);
		free(c);
	}
	if (resume < len) {
		add_break(&r->visible);
		strip_tags(r, html + resume, len - resume, max_text);
	}
}

static void
render_tree(struct html_render *r, const char *html, size_t len,
    size_t max_text)
{
	GumboOptions opts = kGumboDefaultOptions;
	GumboOutput *out;
	struct frame first[64], *stack;
	size_t ncap;
	int sp = 0;

	struct arena arena = { NULL, 0, NULL, NULL, 0 };

	opts.allocator = arena_alloc;
	opts.deallocator = arena_dealloc;
	opts.userdata = &arena;
	/* parse errors are not used: do not record any */
	opts.max_errors = 0;
	out = gumbo_parse_with_options(&opts, html, len);
	if (out == NULL) {
		arena_free(&arena);
		return;
	}
	/*
	 * grown on demand from 64 frames on the C stack: the full MAX_DEPTH
	 * (230 KB) zeroed per part cost more than the walk of a small one.
	 * A frame is set whole when pushed (anchor_start is read only with
	 * the href set beside it).
	 */
	ncap = sizeof(first) / sizeof(first[0]);
	stack = first;
	memset(&stack[0], 0, sizeof(stack[0]));
	stack[0].node = out->root;
	stack[0].fg = NOCOLOR;
	stack[0].bg = 0xffffff;	/* a reader's default page */
	while (sp >= 0) {
		struct frame *f = &stack[sp];
		GumboNode *n = f->node;

		if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) {
			/* leaf: text, comment, whitespace, cdata */
			struct frame *pf = sp > 0 ? &stack[sp - 1] : f;
			int hidden = pf->hidden || same_color(pf->fg, pf->bg);

			if (n->type == GUMBO_NODE_COMMENT)
				add_text(&r->invisible, n->v.text.text, 0, max_text),
				    add_break(&r->invisible);
			else if (n->type == GUMBO_NODE_TEXT ||
			    n->type == GUMBO_NODE_CDATA ||
			    n->type == GUMBO_NODE_WHITESPACE)
				add_text(hidden ? &r->invisible : &r->visible,
				    n->v.text.text, pf->pre, max_text);
			sp--;
			continue;
		}
		GumboElement *el = &n->v.element;
		if (f->next == 0) {
			/* entering the element */
			GumboTag t = el->tag;
			if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE ||
			    t == GUMBO_TAG_HEAD || t == GUMBO_TAG_NOSCRIPT ||
			    t == GUMBO_TAG_TEMPLATE) {
				sp--;
				continue;
			}
			struct attrs at;

			find_attrs(el, &at);
			apply_style(f, &at);
			if (t == GUMBO_TAG_PRE || t == GUMBO_TAG_TEXTAREA)
				f->pre = 1;
			if (is_block(t))
				add_tag_break(f->hidden ? &r->invisible :
				    &r->visible, t);
			if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH)
				add_text(&r->visible, " ", 0, max_text);
			if (t == GUMBO_TAG_A || t == GUMBO_TAG_AREA) {
				GumboAttribute *a = at.href;
				f->href = a && a->value[0] ? a->value : NULL;
				f->anchor_start = r->visible.len;
			} else if (t == GUMBO_TAG_IMG || t == GUMBO_TAG_IFRAME ||
			    t == GUMBO_TAG_FRAME || t == GUMBO_TAG_EMBED ||
			    t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_INPUT)
				link_attr(r, at.src, HTML_LINK_SRC);
			else if (t == GUMBO_TAG_FORM)
				link_attr(r, at.action, HTML_LINK_FORM);
			else if (t == GUMBO_TAG_LINK || t == GUMBO_TAG_BASE)
				link_attr(r, at.href, HTML_LINK_HREF);
			if (t == GUMBO_TAG_BODY || t == GUMBO_TAG_TABLE ||
			    t == GUMBO_TAG_TD || t == GUMBO_TAG_TR) {
				GumboAttribute *bg = at.background;
				if (bg && r->on_link)
					r->on_link(r->arg, bg->value, "", HTML_LINK_SRC);
			}
		}
		if (f->next < el->children.length && sp + 1 < MAX_DEPTH) {
			struct frame *c;

			if ((size_t)sp + 1 >= ncap) {
				if (stack == first) {
					stack = xreallocarray(NULL, ncap * 2,
					    sizeof(*stack));
					memcpy(stack, first, sizeof(first));
				} else
					stack = xreallocarray(stack, ncap * 2,
					    sizeof(*stack));
				ncap *= 2;
				f = &stack[sp];
			}
			c = &stack[sp + 1];
			c->node = el->children.data[f->next++];
			c->next = 0;
			c->hidden = f->hidden;
			c->fg = f->fg;
			c->bg = f->bg;
			c->pre = f->pre;
			c->href = NULL;
			sp++;
			continue;
		}
		/* leaving the element */
		if (f->href && r->on_link) {
			size_t a = f->anchor_start < r->visible.len ?
			    f->anchor_start : r->visible.len;
			char *text = xstrndup(r->visible.p ? r->visible.p + a : "",
			    r->visible.len - a > 512 ? 512 : r->visible.len - a);
			r->on_link(r->arg, f->href, text, HTML_LINK_HREF);
			free(text);
		}
		if (is_block(el->tag) && el->tag != GUMBO_TAG_BR)
			add_tag_break(f->hidden ? &r->invisible : &r->visible,
			    el->tag);
		sp--;
	}
	if (stack != first)
		free(stack);
	/* the whole tree lives in the arena: no gumbo_destroy_output() */
	arena_free(&arena);
}
