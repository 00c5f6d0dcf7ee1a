/*
 * rmatch.c - run a compiled ruleset over one message the way
 * SpamAssassin 4.0 does:
 *   header     get(): every value + "\n", joined; absent -> if-unset or
 *              "" (so !~ hits on an absent header, as in Perl)
 *   body       Subject + "\n", then the visible text with whitespace
 *              collapsed and blank-line runs as paragraph breaks, split
 *              into lines of at most 2048 bytes
 *                (Message::get_body_text_array_common)
 *   rawbody    decoded text parts, in chunks of 2048..4096 bytes
 *                (split_into_array_of_short_paragraphs)
 *   uri        each extracted URI
 *   full       the raw message
 *   mimeheader headers of every MIME part
 * Regex rules of body/rawbody/uri/full pass through the prefilter: one
 * Aho-Corasick pass per text marks the literals present, and a rule runs
 * only when one of its literals was seen (or when it has none).
 *
 * Ownership: everything here is allocated in the scan's pool; the PCRE2
 * match data is released by a pool_defer() hook.
 * Thread safety: reads only the shared, frozen ruleset.
 * SECURITY: message texts are untrusted: every regex runs under the
 * configured PCRE2 match/depth limits; a limit counts as no match.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/buf.h"
#include "engine/pool.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "rules/ac.h"
#include "rules/metaexpr.h"
#include "rules/relays.h"
#include "rules/rmatch.h"
#include "rules/strmap.h"

#define MAX_BODY_LINE	2048
/* a text this long searched without the automaton: no byte classes */
#define SCAN_ALL_NO_CLASSES	2048
/* a header value this long: no byte classes either */
#define HDR_NO_CLASSES		768
/*
 * a header value this long is searched by a rule's split (rx_split),
 * where one search per group costs less than one of the whole pattern
 */
#define HDR_SPLIT_MIN		256

static void
free_md(void *p)
{
	pcre2_match_data_free(p);
}

static void
free_mc(void *p)
{
	pcre2_match_context_free(p);
}

struct rscan *
rmatch_new(struct pool *pool, const struct ruleset *rs, const struct msg *m,
    struct scan *s, int scoreset)
{
	struct rscan *r = pool_alloc(pool, sizeof(*r));

	r->s = s;
	r->rs = rs;
	r->msg = m;
	r->pool = pool;
	r->scoreset = scoreset < 0 || scoreset > 3 ? 0 : scoreset;
	r->md = pcre2_match_data_create(4, NULL);
	pool_defer(pool, free_md, r->md);
	r->mc = pcre2_match_context_create(NULL);
	pool_defer(pool, free_mc, r->mc);
	if (rs->match_limit > 0)
		pcre2_set_match_limit(r->mc, (uint32_t)rs->match_limit);
	if (rs->depth_limit > 0)
		pcre2_set_depth_limit(r->mc, (uint32_t)rs->depth_limit);
	if (s == NULL)
		r->hits = pool_allocarray(pool, rs->nrules + 1, sizeof(int));
	r->lazy = s != NULL && rs->lazy != NULL;
	if (r->lazy)
		r->lazyf = pool_allocarray(pool, rs->nlazyf + 1,
		    sizeof(*r->lazyf));
	return r;
}

/* ---- `rules lint --verify-jit` ---------------------------------------- */

enum jc_mode { JC_GATE, JC_JIT, JC_INTERP };

/* what one way of searching found */
struct jc_res {
	int		n;		/* matches (as match_count() counts) */
	int		limit;		/* stopped by a PCRE2 limit */
	PCRE2_SIZE	so, eo;		/* the first match, when n > 0 */
};

/* match_count()'s loop, one way, into the check's own match data */
static void
jc_search(struct rscan *rs, const struct rule *r, const struct rx_gate *g,
    enum jc_mode mode, const char *text, size_t len, int multiple,
    struct jc_res *out)
{
	pcre2_match_data *md = rs->jitchk->md;
	PCRE2_SIZE start = 0, *ov;
	int rc, cap = r->maxhits > 0 ? r->maxhits : 1000;

	memset(out, 0, sizeof(*out));
	for (;;) {
		if (mode == JC_GATE)
			rc = rx_gate_match(g, text, len, start, md, rs->mc);
		else if (mode == JC_JIT)
			rc = pcre2_jit_match(r->re, (PCRE2_SPTR)text, len,
			    start, 0, md, rs->mc);
		else
			rc = pcre2_match(r->re, (PCRE2_SPTR)text, len, start,
			    PCRE2_NO_JIT, md, rs->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			out->limit = 1;
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		if (out->n++ == 0) {
			out->so = ov[0];
			out->eo = ov[1];
		}
		if (!multiple || out->n >= cap)
			break;
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (start > len)
			break;
	}
}

/* a short printable view of text around [so, eo) */
static void
jc_excerpt(FILE *fp, const char *text, size_t len, PCRE2_SIZE so,
    PCRE2_SIZE eo)
{
	size_t a = so > 30 ? so - 30 : 0, b = eo + 30 < len ? eo + 30 : len;

	fputs("    near: \"", fp);
	for (size_t i = a; i < b && i < a + 120; i++) {
		unsigned char c = (unsigned char)text[i];

		if (i == so)
			fputs("[[", fp);
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			fputc(c, fp);
		else
			fprintf(fp, "\\x%02x", c);
		if (i + 1 == eo)
			fputs("]]", fp);
	}
	fputs("\"\n", fp);
}

static void
jc_report(struct rscan *rs, const struct rule *r, const char *what,
    const struct jc_res *x, const struct jc_res *ref, const char *text,
    size_t len)
{
	FILE *fp = rs->jitchk->fp;
	const struct jc_res *at = ref->n > 0 ? ref : x;

	if (fp == NULL)
		return;
	fprintf(fp, "jit mismatch: %s %s (%s) /%s/ in %s: %s %d match(es)",
	    ruleset_type_name(r->type), r->name, what, r->pat,
	    rs->jitchk->label ? rs->jitchk->label : "-", what, x->n);
	if (x->n > 0)
		fprintf(fp, " first [%zu,%zu)", (size_t)x->so, (size_t)x->eo);
	fprintf(fp, ", interpreter %d", ref->n);
	if (ref->n > 0)
		fprintf(fp, " first [%zu,%zu)", (size_t)ref->so,
		    (size_t)ref->eo);
	fprintf(fp, "; text of %zu bytes\n", len);
	if (at->n > 0)
		jc_excerpt(fp, text, len, at->so, at->eo);
}

/*
 * The search match_count() just made on text, redone JIT (and through
 * r's start gate when g) and with the interpreter, compared: number of
 * matches and the first one's span. A limit on either side is counted
 * apart, not as a difference (JIT and interpreter count "match limit"
 * steps differently, and the JIT has no depth limit).
 */
static void
jit_cross(struct rscan *rs, const struct rule *r, const char *text,
    size_t len, int multiple, const struct rx_gate *g)
{
	struct rmatch_jitchk *jc = rs->jitchk;
	struct jc_res ref, x;

	if (!r->jit && g == NULL)
		return;		/* no JIT code: the interpreter ran already */
	jc->compared++;
	jc_search(rs, r, NULL, JC_INTERP, text, len, multiple, &ref);
	for (int pass = 0; pass < 2; pass++) {
		enum jc_mode mode = pass == 0 ? JC_JIT : JC_GATE;

		if (mode == JC_JIT && !r->jit)
			continue;
		if (mode == JC_GATE && g == NULL)
			continue;
		jc_search(rs, r, g, mode, text, len, multiple, &x);
		if (x.limit || ref.limit) {
			if (x.limit && ref.limit)
				jc->limit_both++;
			else if (x.limit)
				jc->limit_jit++;
			else
				jc->limit_interp++;
			if (jc->fp != NULL)
				fprintf(jc->fp, "jit limit: %s %s (%s) in %s: "
				    "%s side\n", ruleset_type_name(r->type),
				    r->name, mode == JC_JIT ? "jit" : "gate",
				    jc->label ? jc->label : "-",
				    x.limit && ref.limit ? "both" : x.limit ?
				    "JIT" : "interpreter");
			continue;
		}
		if (x.n == ref.n && (x.n == 0 || (x.so == ref.so &&
		    x.eo == ref.eo)))
			continue;
		if (mode == JC_JIT)
			jc->bad++;
		else
			jc->gate_bad++;
		jc_report(rs, r, mode == JC_JIT ? "jit" : "gate", &x, &ref,
		    text, len);
	}
}

/*
 * rmatch_regex(), searching with r's start gate when gated (the
 * prefiltered paths; rmatch_regex() itself is the reference that
 * `rules lint --verify` compares them with).
 */
static int
match_count(struct rscan *rs, const struct rule *r, const char *text,
    size_t len, int multiple, int gated)
{
	PCRE2_SIZE start = 0, *ov;
	int n = 0, rc, cap = r->maxhits > 0 ? r->maxhits : 1000;
	const struct rx_gate *g = gated ? r->gate : NULL;

	uint64_t t0 = 0;

	if (r->re == NULL || text == NULL)
		return 0;
	if (rs->prof != NULL)
		t0 = clock_ns();
	if (gated && !multiple && r->split != NULL) {
		/* whether there is a match, not where: by parts */
		n = rx_split_match(r->split, text, len, rs->md, rs->mc);
		if (n < 0)
			rs->re_limit++;
		if (rs->prof != NULL)
			rs->prof[r->idx] += clock_ns() - t0;
		if (rs->jitchk != NULL)
			jit_cross(rs, r, text, len, multiple, g);
		return n;
	}
	for (;;) {
		rc = g != NULL ? rx_gate_match(g, text, len, start, rs->md,
		    rs->mc) : r->jit ? pcre2_jit_match(r->re,
		    (PCRE2_SPTR)text, len, start, 0, rs->md, rs->mc) :
		    pcre2_match(r->re, (PCRE2_SPTR)text, len, start, 0, rs->md,
		    rs->mc);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			rs->re_limit++;
			if (rs->prof != NULL)
				rs->prof[r->idx] += clock_ns() - t0;
			if (rs->jitchk != NULL)
				jit_cross(rs, r, text, len, multiple, g);
			return n > 0 ? n : -1;
		}
		n++;
		if (!multiple || n >= cap)
			break;
		ov = pcre2_get_ovector_pointer(rs->md);
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (start > len)
			break;
	}
	if (rs->prof != NULL)
		rs->prof[r->idx] += clock_ns() - t0;
	if (rs->jitchk != NULL)
		jit_cross(rs, r, text, len, multiple, g);
	return n;
}

int
rmatch_regex(struct rscan *rs, const struct rule *r, const char *text,
    size_t len, int multiple)
{
	return match_count(rs, r, text, len, multiple, 0);
}

void
rmatch_hit(struct rscan *rs, const struct rule *r, int count)
{
	if (count <= 0)
		return;
	if (rs->s == NULL) {
		rs->hits[r->idx] += count;
		return;
	}
	if (r->symid < 0)
		return;
	for (int i = 0; i < count; i++)
		if (result_add_id(rs->s, r->symid, NULL) == NULL)
			break;
}

int
rmatch_count(const struct rscan *rs, const struct rule *r)
{
	const struct hit *h;

	if (rs->s == NULL)
		return rs->hits[r->idx];
	if (r->symid < 0)
		return 0;
	h = result_get_id(&rs->s->res, r->symid);
	return h ? (h->count > 0 ? h->count : 1) : 0;
}

/* ---- texts ------------------------------------------------------------ */

static void
push_text(struct pool *p, struct rtext **v, size_t *n, size_t *cap,
    const char *s, size_t len)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct rtext *nv = pool_allocarray(p, nc, sizeof(*nv));

		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
		*cap = nc;
	}
	(*v)[*n].p = s;
	(*v)[*n].len = len;
	(*n)++;
}

/* \s of SpamAssassin's Perl: space, \t, \n, \r, \f, \v (one load a byte) */
static const unsigned char ws_byte[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1
};

#define WORD_ONES	0x0101010101010101ULL
#define WORD_HIGHS	0x8080808080808080ULL

/*
 * 1 when collapse() leaves the eight bytes of wd as they are: no byte
 * below 14 (so no whitespace but the space) and no two spaces in a row.
 * The space test marks each space byte exactly (no borrow between bytes).
 */
static int
word_plain(uint64_t wd)
{
	uint64_t x = wd ^ (WORD_ONES * ' ');
	uint64_t sp = ~(((x & ~WORD_HIGHS) + ~WORD_HIGHS) | x | ~WORD_HIGHS);

	if (((wd - WORD_ONES * 14) & ~wd & WORD_HIGHS) != 0)
		return 0;
	return (sp & (sp >> 8)) == 0;
}

/* SpamAssassin's whitespace handling of rendered text */
static char *
collapse(struct pool *pool, const char *t, size_t len, size_t *outlen)
{
	char *o = pool_alloc(pool, len + 2), *w = o;
	const unsigned char *u = (const unsigned char *)t;
	size_t i = 0;

	while (i < len) {
		size_t j, first_nl = (size_t)-1, last_nl = 0, nnl = 0;
		uint64_t wd;

		/*
		 * Most text is words and single spaces, which stay as they
		 * are: eight bytes at once, unless the last is a space that
		 * starts a longer run. (What precedes i is never whitespace
		 * still to collapse: runs are consumed whole.)
		 */
		if (len - i >= 8) {
			memcpy(&wd, t + i, sizeof(wd));
			if (word_plain(wd) && !(t[i + 7] == ' ' &&
			    i + 8 < len && ws_byte[u[i + 8]])) {
				memcpy(w, &wd, sizeof(wd));
				w += 8;
				i += 8;
				continue;
			}
		}
		if (!ws_byte[u[i]]) {
#if defined(__SSE2__)
			/*
			 * Sixteen bytes at a time, stored whole, then the
			 * output moved on past those before the first
			 * whitespace: the output never runs ahead of the
			 * input (a run of whitespace gives at most as many
			 * bytes), so a store at w of bytes read at i < len -
			 * 15 stays inside o's len + 2 bytes.
			 */
			while (i + 16 <= len) {
				__m128i x = _mm_loadu_si128((const __m128i *)
				    (const void *)(t + i));
				__m128i y = _mm_sub_epi8(x, _mm_set1_epi8(9));
				unsigned m = (unsigned)_mm_movemask_epi8(
				    _mm_or_si128(_mm_cmpeq_epi8(x,
				    _mm_set1_epi8(' ')), _mm_cmpeq_epi8(
				    _mm_min_epu8(y, _mm_set1_epi8(4)), y)));

				_mm_storeu_si128((__m128i *)(void *)w, x);
				if (m != 0) {
					unsigned k = (unsigned)__builtin_ctz(m);

					w += k;
					i += k;
					break;
				}
				w += 16;
				i += 16;
			}
			if (i + 16 <= len)
				continue;	/* at a whitespace byte */
#endif
			/* the run up to the next whitespace, as it is */
			while (i < len && !ws_byte[u[i]])
				*w++ = t[i++];
			continue;
		}
		for (j = i; j < len && ws_byte[u[j]]; j++)
			if (t[j] == '\n') {
				if (first_nl == (size_t)-1)
					first_nl = j;
				last_nl = j;
				nnl++;
			}
		if (nnl >= 2) {
			if (first_nl > i)
				*w++ = ' ';
			*w++ = '\n';
			if (last_nl + 1 < j)
				*w++ = ' ';
		} else
			*w++ = ' ';
		i = j;
	}
	*w = '\0';
	*outlen = (size_t)(w - o);
	return o;
}

/* split at line starts; lines over 2048 bytes break at a space */
static void
split_lines(struct rscan *rs, const char *t, size_t len, size_t *cap)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - t) + 1 : len;

		while (end - i > MAX_BODY_LINE) {
			size_t k = MAX_BODY_LINE, cut = 0;

			/* rindex(line, ' ', 2048) + 1 */
			for (size_t q = i + k + 1; q-- > i;)
				if (t[q] == ' ') {
					cut = q - i + 1;
					break;
				}
			if (cut == 0)
				cut = MAX_BODY_LINE;
			push_text(rs->pool, &rs->body, &rs->nbody, cap, t + i,
			    cut);
			i += cut;
		}
		push_text(rs->pool, &rs->body, &rs->nbody, cap, t + i, end - i);
		i = end;
	}
}

/* split_into_array_of_short_paragraphs */
static void
split_paragraphs(struct rscan *rs, const char *t, size_t len, size_t *cap)
{
	size_t ofs = 0;

	if (len <= MAX_BODY_LINE) {
		push_text(rs->pool, &rs->raw, &rs->nraw, cap, t, len);
		return;
	}
	while (len - ofs > 2 * MAX_BODY_LINE) {
		const char *seps = "\n> ";
		size_t j = (size_t)-1;

		for (int k = 0; k < 3; k++) {
			const char *f = memchr(t + ofs + MAX_BODY_LINE, seps[k],
			    len - ofs - MAX_BODY_LINE);

			if (f != NULL && (size_t)(f - t) - ofs + 1 <=
			    2 * MAX_BODY_LINE) {
				j = (size_t)(f - t);
				break;
			}
		}
		if (j == (size_t)-1)
			j = ofs + MAX_BODY_LINE;
		push_text(rs->pool, &rs->raw, &rs->nraw, cap, t + ofs,
		    j - ofs + 1);
		ofs = j + 1;
	}
	if (ofs < len)
		push_text(rs->pool, &rs->raw, &rs->nraw, cap, t + ofs,
		    len - ofs);
}

void
rmatch_build_texts(struct rscan *rs)
{
	const struct msg *m = rs->msg;
	size_t cap = 0, rcap = 0, tlen, slen;
	char *subj, *text;

	if (rs->built)
		return;
	rs->built = 1;
	/* Subject line first (with its newline; "\n" when absent) */
	if (m->subject && m->subject[0] != '\0') {
		slen = strlen(m->subject);
		subj = pool_alloc(rs->pool, slen + 2);
		memcpy(subj, m->subject, slen);
		subj[slen] = '\n';
		subj[slen + 1] = '\0';
		split_lines(rs, subj, slen + 1, &cap);
	} else
		push_text(rs->pool, &rs->body, &rs->nbody, &cap, "\n", 1);
	text = collapse(rs->pool, m->visible ? m->visible : "",
	    m->visible ? m->visible_len : 0, &tlen);
	split_lines(rs, text, tlen, &cap);

	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *pt = &m->parts[i];

		if (pt->text == NULL || (pt->flags & PART_MULTIPART))
			continue;
		if (pt->ctype && strcmp(pt->ctype, "text/calendar") == 0)
			continue;
		split_paragraphs(rs, pt->text, pt->text_len, &rcap);
	}
}

/* ---- headers ---------------------------------------------------------- */

struct relays *
rmatch_relays(struct rscan *rs)
{
	if (rs->relays == NULL)
		rs->relays = relays_parse(rs->pool, rs->msg);
	return rs->relays;
}

/* unfold: CRLF/LF followed by whitespace becomes one space */
static void
add_unfolded(struct buf *b, const char *s)
{
	while (*s) {
		size_t run = strcspn(s, "\r\n");

		/* what is not a line break, copied as a run */
		if (run > 0) {
			buf_add(b, s, run);
			s += run;
			continue;
		}
		if ((*s == '\r' && s[1] == '\n' && (s[2] == ' ' ||
		    s[2] == '\t')) || (*s == '\n' && (s[1] == ' ' ||
		    s[1] == '\t'))) {
			s += *s == '\r' ? 2 : 1;
			while (*s == ' ' || *s == '\t')
				s++;
			buf_addc(b, ' ');
			continue;
		}
		buf_addc(b, *s++);
	}
}

/*
 * One byte of a display name into out, whitespace runs as one space and
 * none before the first byte (before: out's length at the name's start)
 * or after the last.
 */
static void
name_byte(struct buf *out, size_t before, int *sp, char c)
{
	if (isspace((unsigned char)c)) {
		*sp = 1;
		return;
	}
	if (*sp && out->len > before)
		buf_addc(out, ' ');
	*sp = 0;
	buf_addc(out, c);
}

/* the bytes addr_parts()'s first loop acts on, in some state, and NUL */
static const unsigned char addr_special[256] = {
	['\0'] = 1, ['\\'] = 1, ['"'] = 1, ['('] = 1, [')'] = 1, ['<'] = 1,
	['>'] = 1, [','] = 1
};

/*
 * Addresses or display names of one header value, each + "\n". Built
 * in out itself: an address that turns out malformed is cut off again.
 */
static void
addr_parts(struct buf *out, const char *v, int want_name)
{
	const char *p = v;

	while (*p) {
		const char *start = p, *lt = NULL, *gt = NULL, *at;
		int inq = 0, depth = 0, sp = 0, have_addr = 0;
		size_t before = out->len;

		/* one address: up to a comma outside quotes, <> and () */
		for (; *p; p++) {
			/* the bytes no state looks at, passed over at once */
			while (!addr_special[(unsigned char)*p])
				p++;
			if (*p == '\0')
				break;
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '"' && depth == 0)
				inq = !inq;
			else if (inq)
				continue;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && depth > 0)
				depth--;
			else if (depth > 0)
				continue;
			else if (*p == '<' && lt == NULL)
				lt = p;
			else if (*p == '>' && lt != NULL && gt == NULL)
				gt = p;
			else if (*p == ',' && (lt == NULL || gt != NULL))
				break;
		}
		if (lt != NULL && gt != NULL) {
			/* name <addr>: the name is what precedes, unquoted */
			for (const char *q = lt + 1; q < gt; q++)
				if (!isspace((unsigned char)*q)) {
					have_addr = 1;
					if (!want_name)
						buf_addc(out, *q);
				}
			if (want_name)
				for (const char *q = start; q < lt; q++)
					if (*q != '"')
						name_byte(out, before, &sp, *q);
		} else {
			/* addr (comment): the name is the comment */
			int d = 0;

			for (const char *q = start; q < p; q++) {
				if (*q == '(') {
					d++;
					continue;
				}
				if (*q == ')' && d > 0) {
					d--;
					continue;
				}
				if (d > 0) {
					if (want_name)
						name_byte(out, before, &sp, *q);
				} else if (!isspace((unsigned char)*q) &&
				    *q != '"') {
					have_addr = 1;
					if (!want_name)
						buf_addc(out, *q);
				}
			}
		}
		if (want_name) {
			if (out->len > before || have_addr)
				buf_addc(out, '\n');
		} else if (have_addr && (at = memchr(out->p + before, '@',
		    out->len - before)) != NULL && at > out->p + before &&
		    at + 1 < out->p + out->len) {
			/* only well-formed local@domain, as SA's parser */
			buf_addc(out, '\n');
		} else
			buf_truncate(out, before);
		if (*p == ',')
			p++;
	}
}

/* the hashes of every header's name, the parts' too (once per scan) */
static const uint32_t *
hdr_hashes(struct rscan *rs)
{
	const struct msg *m = rs->msg;

	if (rs->hhash == NULL) {
		rs->hhash = pool_allocarray(rs->pool, m->nhdrs + 1,
		    sizeof(*rs->hhash));
		for (size_t i = 0; i < m->nhdrs; i++) {
			uint32_t h = ruleset_name_hash(m->hdrs[i].name);

			rs->hhash[i] = h;
			if (i < m->nmsg_hdrs)
				rs->hbloom[(h % RSCAN_HBLOOM) / 64] |=
				    (uint64_t)1 << (h % 64);
		}
	}
	return rs->hhash;
}

/*
 * Hundreds of distinct header names are asked for and most are absent:
 * compare hashes of the names first.
 */
static void
add_values(struct rscan *rs, const char *name, unsigned hmods,
    struct buf *b, int *found)
{
	const struct msg *m = rs->msg;
	size_t n = 0, first = (size_t)-1, last = 0;
	uint32_t want = ruleset_name_hash(name);

	(void)hdr_hashes(rs);
	/* most names asked for are absent: one bit says so */
	if (!(rs->hbloom[(want % RSCAN_HBLOOM) / 64] >> (want % 64) & 1))
		return;
	for (size_t i = 0; i < m->nmsg_hdrs; i++)
		if (rs->hhash[i] == want &&
		    strcasecmp(m->hdrs[i].name, name) == 0) {
			if (first == (size_t)-1)
				first = i;
			last = i;
			n++;
		}
	if (n == 0)
		return;
	for (size_t i = first; i <= last; i++) {
		const struct msg_header *h = &m->hdrs[i];

		if (rs->hhash[i] != want || strcasecmp(h->name, name) != 0)
			continue;
		if ((hmods & HM_FIRST) && i != first)
			continue;
		if ((hmods & HM_LAST) && i != last)
			continue;
		*found = 1;
		if (!(hmods & (HM_ADDR | HM_NAME))) {
			/* the value itself: straight into b */
			if (hmods & HM_RAW)
				add_unfolded(b, h->raw ? h->raw : "");
			else
				buf_adds(b, h->value ? h->value : "");
			buf_addc(b, '\n');
			continue;
		}
		/* :addr parses the unfolded raw value, :name the decoded one */
		if (hmods & HM_ADDR) {
			struct buf one = BUF_INIT;

			add_unfolded(&one, h->raw ? h->raw : "");
			addr_parts(b, buf_str(&one), (hmods & HM_NAME) != 0);
			buf_free(&one);
		} else
			addr_parts(b, h->value ? h->value : "", 1);
	}
}

/* index of the first (last) top-level header named name, or -1 */
static long
hdr_index(struct rscan *rs, const char *name, int last)
{
	const struct msg *m = rs->msg;
	const uint32_t *hh = hdr_hashes(rs);
	uint32_t want = ruleset_name_hash(name);
	long r = -1;

	for (size_t i = 0; i < m->nmsg_hdrs; i++)
		if (hh[i] == want && strcasecmp(m->hdrs[i].name, name) == 0) {
			r = (long)i;
			if (!last)
				break;
		}
	return r;
}

/* the first address of header name (":first:addr"), or NULL */
static const char *
first_addr(struct rscan *rs, const char *name)
{
	struct buf b = BUF_INIT;
	int found = 0;
	const char *res = NULL;

	add_values(rs, name, HM_FIRST | HM_ADDR, &b, &found);
	if (found && b.len > 0) {
		size_t n = strcspn(buf_str(&b), "\n");

		res = pool_strndup(rs->pool, buf_str(&b), n);
	}
	buf_free(&b);
	return res;
}

/*
 * PerMsgStatus::get_envelope_from(): the MTA's envelope when known, else
 * the envelope-from of the last untrusted (or first trusted) relay, else
 * X-Envelope-From / Envelope-Sender / Return-Path unless a Received
 * header precedes them (then they were added upstream and are not ours).
 */
static const char *
envelope_from(struct rscan *rs)
{
	const struct msg *m = rs->msg;
	const struct relays *rl;
	const struct relay *hop = NULL;
	static const char *const hdrs[] = { "X-Envelope-From",
	    "Envelope-Sender", "Return-Path" };
	long firstrcvd;

	/* the MTA's (a milter's case): no Received header parsed for it */
	if (m->env.mail_from != NULL)
		return m->env.mail_from;
	rl = rmatch_relays(rs);
	firstrcvd = hdr_index(rs, "Received", 0);
	if (rl->n > rl->ntrusted)
		hop = &rl->r[rl->ntrusted];
	else if (rl->ntrusted > 0)
		hop = &rl->r[rl->ntrusted - 1];
	if (hop != NULL && hop->envfrom[0] != '\0' &&
	    strchr(hop->envfrom + 1, '@') != NULL)
		return hop->envfrom;
	{
		const char *xs = first_addr(rs, "X-Sender");

		if (xs != NULL && strchr(xs, '@') != NULL)
			for (size_t i = 0; i < m->nmsg_hdrs; i++)
				if (strcasecmp(m->hdrs[i].name, "Received") ==
				    0 && m->hdrs[i].value &&
				    strstr(m->hdrs[i].value, "(fetchmail"))
					return NULL;
	}
	for (int k = 0; k < 3; k++) {
		const char *a = first_addr(rs, hdrs[k]);

		if (a == NULL)
			continue;
		if (firstrcvd >= 0 && firstrcvd < hdr_index(rs, hdrs[k], 1)) {
			if (k == 0)
				return NULL;
			continue;
		}
		return a;
	}
	return NULL;
}

static char *all_headers(struct rscan *rs, enum hdr_kind kind,
    unsigned hmods, size_t *lenp);
static char *header_value(struct rscan *rs, const char *name,
    const uint32_t *hash, unsigned hmods, enum hdr_kind kind, size_t *lenp);

static void
free_cache(void *p)
{
	strmap_free(p);
}

/* a value that stands for "header absent" in the cache */
static char absent_mark;

/*
 * The cache key "kind:hmods:name" in lower case, cut at size as
 * snprintf() would cut it: written by hand, as snprintf() cost more
 * than most lookups it keyed.
 */
static void
cache_key(char *key, size_t size, enum hdr_kind kind, unsigned hmods,
    const char *name)
{
	unsigned num[2] = { (unsigned)kind, hmods };
	char dig[16];
	size_t o = 0, k;

	for (int f = 0; f < 2; f++) {
		k = 0;
		do
			dig[k++] = (char)('0' + num[f] % 10);
		while ((num[f] /= 10) != 0);
		while (k > 0 && o + 1 < size)
			key[o++] = dig[--k];
		if (o + 1 < size)
			key[o++] = ':';
	}
	for (; *name != '\0' && o + 1 < size; name++)
		key[o++] = (char)tolower((unsigned char)*name);
	key[o] = '\0';
}

/*
 * Header values are cached per scan: hundreds of rules read the same
 * few headers (Subject, From, ALL, the relays ...).
 */
char *
rmatch_header(struct rscan *rs, const char *name, unsigned hmods,
    enum hdr_kind kind)
{
	char key[300];
	char *v;
	size_t len;

	if (rs->hcache == NULL) {
		rs->hcache = strmap_new();
		pool_defer(rs->pool, free_cache, rs->hcache);
	}
	cache_key(key, sizeof(key), kind, hmods, name ? name : "");
	v = strmap_get(rs->hcache, key);
	if (v != NULL)
		return v == &absent_mark ? NULL : v;
	v = header_value(rs, name, NULL, hmods, kind, &len);
	strmap_put(rs->hcache, key, v ? v : &absent_mark);
	return v;
}

/*
 * The values of top-level headers name, each + "\n", joined (:first and
 * :last pick one), straight into the pool: most rules read one plain
 * value, and a growing buffer copied again cost more than the match.
 */
static char *
plain_values(struct rscan *rs, const char *name, uint32_t want,
    unsigned hmods, size_t *lenp /* OUT */)
{
	const struct msg *m = rs->msg;
	size_t n = 0, first = 0, last = 0, len = 0, flen = 0, llen = 0, vl;
	char *res, *o;

	(void)hdr_hashes(rs);
	if (!(rs->hbloom[(want % RSCAN_HBLOOM) / 64] >> (want % 64) & 1))
		return NULL;
	for (size_t i = 0; i < m->nmsg_hdrs; i++)
		if (rs->hhash[i] == want &&
		    strcasecmp(m->hdrs[i].name, name) == 0) {
			vl = m->hdrs[i].value ? strlen(m->hdrs[i].value) : 0;
			if (n++ == 0) {
				first = i;
				flen = vl;
			}
			last = i;
			llen = vl;
			len += vl + 1;
		}
	if (n == 0 || ((hmods & HM_FIRST) && (hmods & HM_LAST) && n > 1))
		return NULL;
	if (n > 1 && (hmods & (HM_FIRST | HM_LAST))) {
		/* one value: :first's, or :last's */
		n = 1;
		if (hmods & HM_FIRST) {
			last = first;
			len = flen + 1;
		} else {
			first = last;
			flen = llen;
			len = llen + 1;
		}
	}
	o = res = pool_alloc(rs->pool, len + 1);
	for (size_t i = first; i <= last; i++) {
		const struct msg_header *h = &m->hdrs[i];

		if (n > 1 && (rs->hhash[i] != want ||
		    strcasecmp(h->name, name) != 0))
			continue;
		vl = i == first ? flen : i == last ? llen :
		    h->value ? strlen(h->value) : 0;
		if (vl > 0)
			memcpy(o, h->value, vl);
		o += vl;
		*o++ = '\n';
	}
	*o = '\0';
	*lenp = len;
	return res;
}

/* hash: ruleset_name_hash(name) when the caller has it, or NULL */
static char *
header_value(struct rscan *rs, const char *name, const uint32_t *hash,
    unsigned hmods, enum hdr_kind kind, size_t *lenp /* OUT */)
{
	struct buf b = BUF_INIT;
	int found = 0;
	char *res;

	switch (kind) {
	case HK_ALL:
	case HK_ALL_TRUSTED:
	case HK_ALL_UNTRUSTED:
		res = all_headers(rs, kind, hmods, lenp);
		/* with :addr or :name, no final newline (as below) */
		if (res != NULL && (hmods & (HM_ADDR | HM_NAME)))
			while (*lenp > 0 && res[*lenp - 1] == '\n')
				res[--*lenp] = '\0';
		return res;
	case HK_TOCC:
		add_values(rs, "To", hmods, &b, &found);
		add_values(rs, "Cc", hmods, &b, &found);
		break;
	case HK_ENVFROM: {
		const char *ef = envelope_from(rs);

		if (ef != NULL) {
			buf_adds(&b, ef);
			found = 1;
		}
		break;
	}
	case HK_MESSAGEID:
		add_values(rs, "X-Message-Id", hmods, &b, &found);
		add_values(rs, "Resent-Message-Id", hmods, &b, &found);
		add_values(rs, "X-Original-Message-ID", hmods, &b, &found);
		add_values(rs, "Message-Id", hmods, &b, &found);
		break;
	case HK_RELAYS_UNTRUSTED:
	case HK_RELAYS_TRUSTED:
		/* always defined, possibly empty, no newline (as in SA) */
		res = (char *)(kind == HK_RELAYS_TRUSTED ?
		    rmatch_relays(rs)->trusted_str :
		    rmatch_relays(rs)->untrusted_str);
		*lenp = strlen(res);
		return res;
	case HK_UNSUPPORTED:
		break;
	default:
		if (!(hmods & (HM_ADDR | HM_NAME | HM_RAW)))
			return plain_values(rs, name, hash != NULL ? *hash :
			    ruleset_name_hash(name), hmods, lenp);
		add_values(rs, name, hmods, &b, &found);
		break;
	}
	if (!found) {
		buf_free(&b);
		return NULL;
	}
	/*
	 * get() in list context: :addr, :name and EnvelopeFrom values carry
	 * no newline, and a rule sees them joined by "\n"
	 */
	if ((hmods & (HM_ADDR | HM_NAME)) || kind == HK_ENVFROM)
		while (b.len > 0 && b.p[b.len - 1] == '\n')
			buf_truncate(&b, b.len - 1);
	res = pool_strndup(rs->pool, buf_str(&b), b.len);
	*lenp = b.len;
	buf_free(&b);
	return res;
}

/*
 * get('ALL') is Message::get_all_headers(): every header as "Name: value"
 * in message order. ALL-TRUSTED and ALL-UNTRUSTED (ALL-INTERNAL,
 * ALL-EXTERNAL) cut that list at the first untrusted Received header,
 * which both include (PerMsgStatus::get_all_hdrs_in_rcvd_index_range).
 * Either part is a run of headers [lo, hi): measured, then copied into
 * the pool once (the unfolded :raw form goes through a buffer).
 */
static char *
all_headers(struct rscan *rs, enum hdr_kind kind, unsigned hmods,
    size_t *lenp /* OUT */)
{
	const struct msg *m = rs->msg;
	size_t lo = 0, hi = m->nmsg_hdrs, len = 0;
	char *res, *o;

	if (kind != HK_ALL) {
		long rcvd = -1, cut = rmatch_relays(rs)->last_trusted_rcvd + 1;
		uint32_t rh = ruleset_name_hash("Received");
		const uint32_t *hh = hdr_hashes(rs);

		lo = kind == HK_ALL_UNTRUSTED ? hi : 0;
		for (size_t i = 0; i < m->nmsg_hdrs; i++) {
			if (hh[i] != rh ||
			    strcasecmp(m->hdrs[i].name, "Received") != 0)
				continue;
			/* the first untrusted Received: in both parts */
			if (++rcvd == cut) {
				if (kind == HK_ALL_TRUSTED)
					hi = i + 1;
				else
					lo = i;
				break;
			}
		}
	}
	if (lo >= hi)
		return NULL;
	if (hmods & HM_RAW) {
		struct buf b = BUF_INIT;

		for (size_t i = lo; i < hi; i++) {
			const struct msg_header *h = &m->hdrs[i];

			buf_adds(&b, h->name);
			buf_add(&b, ": ", 2);
			add_unfolded(&b, h->raw ? h->raw : "");
			buf_addc(&b, '\n');
		}
		res = pool_strndup(rs->pool, buf_str(&b), b.len);
		*lenp = b.len;
		buf_free(&b);
		return res;
	}
	for (size_t i = lo; i < hi; i++) {
		const struct msg_header *h = &m->hdrs[i];

		len += strlen(h->name) + 3 + (h->value ? strlen(h->value) : 0);
	}
	o = res = pool_alloc(rs->pool, len + 1);
	for (size_t i = lo; i < hi; i++) {
		const struct msg_header *h = &m->hdrs[i];
		size_t nl = strlen(h->name), vl = h->value ?
		    strlen(h->value) : 0;

		memcpy(o, h->name, nl);
		o += nl;
		*o++ = ':';
		*o++ = ' ';
		if (vl > 0)
			memcpy(o, h->value, vl);
		o += vl;
		*o++ = '\n';
	}
	*o = '\0';
	*lenp = len;
	return res;
}

/* ---- running rules ---------------------------------------------------- */

static int
rule_off(const struct rscan *rs, const struct rule *r)
{
	const unsigned char *off = rs->rs->off[rs->scoreset];

	return rs->s != NULL && off != NULL && off[r->idx];
}

/* r runs only when a meta asks for it (rmatch_meta) */
static int
is_lazy(const struct rscan *rs, const struct rule *r)
{
	return rs->lazy && rs->rs->lazy[r->idx];
}

/*
 * Does header value p hold a byte of each class rule r needs? The
 * "bytes present" sets of values are cached by address (values come
 * from the per-scan header cache, so one value is seen by many rules).
 */
static int
classes_met(struct rscan *rs, const struct rule *r, const char *p,
    size_t len)
{
	size_t h = ((uintptr_t)p >> 3) % RSCAN_HCLS;

	/* a long value (ALL, Received) holds the classes: not marked */
	if (len >= HDR_NO_CLASSES)
		return 1;
	if (rs->hcls_key[h] != p) {
		rx_bytes_present(p, len, rs->hcls[h]);
		rs->hcls_key[h] = p;
	}
	return rx_classes_met(r->cls, rs->hcls[h]);
}

/*
 * classes_met() of the value in r's slot: its set is kept beside it
 * (bit 1 of hslot_done), where the cache above, shared by a hundred
 * values with SpamAssassin's rules, would lose and rebuild it.
 */
static int
slot_classes_met(struct rscan *rs, const struct rule *r, size_t len)
{
	int sl = r->hslot;

	if (len >= HDR_NO_CLASSES)
		return 1;
	if (!(rs->hslot_done[sl] & 2)) {
		rx_bytes_present(rs->hslot_v[sl], len, rs->hslot_have[sl]);
		rs->hslot_done[sl] |= 2;
	}
	return rx_classes_met(r->cls, rs->hslot_have[sl]);
}

/*
 * Header i of any part as a mimeheader rule reads it: the value (or the
 * unfolded raw value) + "\n". The plain form is kept per header, as
 * several rules read the same Content-Type.
 */
static char *
mime_value(struct rscan *rs, size_t i, int raw, size_t *lenp /* OUT */)
{
	const struct msg_header *h = &rs->msg->hdrs[i];
	struct buf b = BUF_INIT;
	char *v;

	if (!raw && rs->mhv != NULL && rs->mhv[i] != NULL) {
		*lenp = rs->mhv_len[i];
		return rs->mhv[i];
	}
	if (raw)
		add_unfolded(&b, h->raw ? h->raw : "");
	else
		buf_adds(&b, h->value ? h->value : "");
	buf_addc(&b, '\n');
	v = pool_strndup(rs->pool, b.p, b.len);
	*lenp = b.len;
	buf_free(&b);
	if (!raw) {
		if (rs->mhv == NULL) {
			rs->mhv = pool_allocarray(rs->pool, rs->msg->nhdrs + 1,
			    sizeof(*rs->mhv));
			rs->mhv_len = pool_allocarray(rs->pool,
			    rs->msg->nhdrs + 1, sizeof(*rs->mhv_len));
		}
		rs->mhv[i] = v;
		rs->mhv_len[i] = *lenp;
	}
	return v;
}

static void
run_header_rule(struct rscan *rs, const struct rule *r)
{
	char *v;
	size_t len = 0;
	int n, slotted = 0;

	if (r->type == RT_MIMEHEADER) {
		/* every part's headers, including the message's */
		const uint32_t *hh = hdr_hashes(rs);
		uint32_t want = r->hdrhash;
		int hits = 0;

		for (size_t i = 0; i < rs->msg->nhdrs && hits == 0; i++) {
			if (hh[i] != want ||
			    strcasecmp(rs->msg->hdrs[i].name, r->hdr) != 0)
				continue;
			if (r->exists) {
				hits = 1;
				break;
			}
			v = mime_value(rs, i, r->hmods & HM_RAW, &len);
			if ((len < r->minlen || (r->cls != NULL &&
			    !classes_met(rs, r, v, len))) && !rs->noskip) {
				rs->re_skipped++;	/* as below */
				n = 0;
			} else {
				n = rmatch_regex(rs, r, v, len, 0);
				rs->re_run++;
			}
			if (r->negate ? n == 0 : n > 0)
				hits = 1;
		}
		rmatch_hit(rs, r, hits);
		return;
	}
	if (r->hslot >= 0) {
		/* the value by slot, built once (evals use the keyed cache) */
		if (rs->hslot_v == NULL) {
			rs->hslot_v = pool_allocarray(rs->pool,
			    rs->rs->nhslots + 1, sizeof(*rs->hslot_v));
			rs->hslot_len = pool_allocarray(rs->pool,
			    rs->rs->nhslots + 1, sizeof(*rs->hslot_len));
			rs->hslot_done = pool_alloc(rs->pool,
			    rs->rs->nhslots + 1);
			rs->hslot_have = pool_allocarray(rs->pool,
			    rs->rs->nhslots + 1, sizeof(*rs->hslot_have));
		}
		if (!(rs->hslot_done[r->hslot] & 1)) {
			v = header_value(rs, r->hdr, &r->hdrhash, r->hmods,
			    r->hkind, &len);
			rs->hslot_v[r->hslot] = v;
			rs->hslot_len[r->hslot] = v != NULL ? len : 0;
			rs->hslot_done[r->hslot] = 1;
		}
		v = rs->hslot_v[r->hslot];
		len = rs->hslot_len[r->hslot];
		slotted = v != NULL;
	} else
		v = rmatch_header(rs, r->hdr, r->hmods, r->hkind);
	if (r->exists) {
		rmatch_hit(rs, r, v != NULL);
		return;
	}
	/* a slot's value has its length; others are measured */
	if (v == NULL) {
		v = r->unset ? r->unset : "";
		len = strlen(v);
	} else if (r->hslot < 0)
		len = strlen(v);
	if ((len < r->minlen || (r->cls != NULL && !(slotted ?
	    slot_classes_met(rs, r, len) : classes_met(rs, r, v, len))) ||
	    (r->count != NULL && !rx_count_in(r->count, v, len))) &&
	    !rs->noskip) {
		/* bytes every match needs are absent, or a literal's count */
		rs->re_skipped++;
		n = 0;
	} else {
		rs->re_run++;
		/* a long value searched by parts (r has one: no multiple) */
		n = match_count(rs, r, v, len, (r->tflags & TF_MULTIPLE) &&
		    !r->negate, r->split != NULL && len >= HDR_SPLIT_MIN);
	}
	if (r->negate)
		rmatch_hit(rs, r, n == 0);
	else
		rmatch_hit(rs, r, n > 0 ? n : 0);
}

/* 0 when r's probe finds no match in t (so r cannot match there) */
static int
probe_ok(struct rscan *rs, const struct rule *r, const struct rtext *t)
{
	uint64_t t0 = rs->prof != NULL ? clock_ns() : 0;
	/* probes exist only JIT-compiled (rx_probe) */
	int rc = pcre2_jit_match(r->probe, (PCRE2_SPTR)t->p, t->len, 0, 0,
	    rs->md, rs->mc);

	if (rs->prof != NULL)
		rs->prof[r->idx] += clock_ns() - t0;
	return rc != PCRE2_ERROR_NOMATCH;
}

/* text i holds a literal of lazy rule r (run_lazy() looks only there) */
static void
lazy_note(struct rscan *rs, const struct rule *r, size_t i)
{
	struct rscan_lazy *l = &rs->lazyf[r->lazyid];

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		size_t *nv = pool_allocarray(rs->pool, nc, sizeof(*nv));

		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = i;
}

/* the length of t's longest line (without its newline) */
static size_t
longest_line(const struct rtext *t)
{
	const char *p = t->p, *e = t->p + t->len, *nl;
	size_t best = 0;

	while ((nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		if ((size_t)(nl - p) > best)
			best = (size_t)(nl - p);
		p = nl + 1;
	}
	return (size_t)(e - p) > best ? (size_t)(e - p) : best;
}

#define LETTER(c)	((unsigned)(((c) | 0x20) - 'a') < 26)
#define UPPER(c)	((unsigned)((c) - 'A') < 26)
#define DIGIT(c)	((unsigned)((c) - '0') < 10)
#define RUN_BYTE(c, k)	((k) == 1 ? UPPER(c) : (k) == 2 ? DIGIT(c) : \
			    LETTER(c))

/*
 * 1 when t holds n ASCII letters (k 0), upper-case letters (1) or digits
 * (2) in a row (n >= 1). Looks at every n-th byte: a byte outside the
 * class there rules out a run through it, and only around one inside is
 * the run measured (most texts have words much shorter than n, and then
 * cost about a third of a byte-by-byte walk).
 */
static inline int
has_run(const struct rtext *t, size_t n, int up)
{
	const unsigned char *p = (const unsigned char *)t->p;
	size_t pos = n - 1, lo = 0;	/* no run to find before lo */

	while (pos < t->len) {
		size_t b = pos, e = pos + 1;

		if (!RUN_BYTE(p[pos], up)) {
			lo = pos + 1;
			pos += n;
			continue;
		}
		while (b > lo && RUN_BYTE(p[b - 1], up))
			b--;
		while (e < t->len && RUN_BYTE(p[e], up))
			e++;
		if (e - b >= n)
			return 1;
		/* p[e] is outside the class: a run begins after it */
		lo = e + 1;
		pos = e + n;
	}
	return 0;
}

int
rmatch_has_letters(const struct rtext *t, size_t n)
{
	return has_run(t, n, 0);
}

int
rmatch_has_upper(const struct rtext *t, size_t n)
{
	return has_run(t, n, 1);
}

int
rmatch_has_digits(const struct rtext *t, size_t n)
{
	return has_run(t, n, 2);
}

/* what try_rule() measured of a text for a rule that asked */
struct tmeas {
	size_t	maxline;	/* the longest line, or -1 */
	size_t	letters_n;	/* rmatch_has_letters(t, this), 0: not yet */
	int	letters;
	size_t	upper_n;	/* rmatch_has_upper(t, this), 0: not yet */
	int	upper;
	size_t	digits_n;	/* rmatch_has_digits(t, this), 0: not yet */
	int	digits;
};

/*
 * 0 when t holds no run of need (> 0) bytes of has_run()'s class kind;
 * 1 when need is 0. *n and *have keep the last answer for the next rule.
 */
static inline int
run_gate(const struct rtext *t, size_t need, int kind, size_t *n, int *have)
{
	if (need == 0)
		return 1;
	if (*n != need) {
		*have = has_run(t, need, kind);
		*n = need;
	}
	return *have;
}

/*
 * 0 when a check of rule r rules out a match in text t: its length, the
 * bytes present (have), a line, a run of letters, capitals or digits, a
 * comb; what is measured of t is kept in tm for the next rule
 */
static inline int
gates_pass(const struct rule *r, const struct rtext *t, const uint64_t *have,
    struct tmeas *tm)
{
	/* bytes every match needs, absent from this text */
	if (t->len < r->minlen || (r->cls != NULL &&
	    !rx_classes_met(r->cls, have)))
		return 0;
	/* a match within a line, longer than every line of t */
	if (r->oneline) {
		if (tm->maxline == (size_t)-1)
			tm->maxline = longest_line(t);
		if (tm->maxline < r->minlen)
			return 0;
	}
	/*
	 * a run of letters every match holds, longer than t's longest; the
	 * same with upper-case letters (a case-sensitive [A-Z]{4,}), and
	 * with digits (\d{3,})
	 */
	if (!run_gate(t, r->letrun, 0, &tm->letters_n, &tm->letters) ||
	    !run_gate(t, r->uprun, 1, &tm->upper_n, &tm->upper) ||
	    !run_gate(t, r->digrun, 2, &tm->digits_n, &tm->digits))
		return 0;
	/* a byte it needs at several offsets, nowhere at all of them */
	if (r->comb != NULL && !rx_comb_in(r->comb, t->p, t->len))
		return 0;
	return 1;
}

/* rule r on text t, whose checks passed: its probe, then the search */
static inline void
try_match(struct rscan *rs, const struct rule *r, const struct rtext *t,
    int *count, int *done, unsigned char *ran)
{
	int n, cap;

	/* its probe (a suffix PCRE2 searches faster) fails */
	if (r->probe != NULL && !probe_ok(rs, r, t))
		return;
	*ran = 1;
	n = match_count(rs, r, t->p, t->len, (r->tflags & TF_MULTIPLE) &&
	    !r->negate, 1);
	if (n <= 0)
		return;
	*count += n;
	cap = r->maxhits > 0 ? r->maxhits : 1000;
	if (r->negate || !(r->tflags & TF_MULTIPLE) || *count >= cap)
		*done = 1;
}

/* rule r (index k of its type) on text t, unless a prefilter rules it out */
static void
try_rule(struct rscan *rs, const struct rule *r, const struct rtext *t,
    const uint64_t *have, int *count, int *done, unsigned char *ran,
    struct tmeas *tm)
{
	if (gates_pass(r, t, have, tm))
		try_match(rs, r, t, count, done, ran);
}

/*
 * Body lines follow one another in memory (split_lines()), each ending
 * with its newline; the Subject line and a line cut at 2048 bytes end a
 * run of them. Does text i end its run?
 */
static int
run_ends(const struct rtext *texts, size_t ntexts, size_t i)
{
	const struct rtext *t = &texts[i];

	return i + 1 == ntexts || t->len == 0 || t->p[t->len - 1] != '\n' ||
	    texts[i + 1].p != t->p + t->len;
}

/*
 * The joinable always-run rules (ruleset.c) over texts [a, b), one run
 * of lines: the texts that pass a rule's checks (gates_pass(), haves[i]
 * the bytes present in text i) and follow one another are searched as
 * one subject. A match of such a rule lies inside one line and sees only
 * its bytes (no anchor, no atom that takes a newline, not even a
 * lookaround's): the line's own text would show it the same bytes, and a
 * subject's end where the run shows a newline, which no atom of it can
 * take. So the subject holds a match exactly when one of its texts does,
 * one search instead of one a text. A subject stopped by a match limit
 * (it is longer) is searched again text by text.
 */
static void
run_joined(struct rscan *rs, struct rule *const *always, size_t na,
    const struct rtext *texts, size_t a, size_t b, uint64_t (*haves)[4],
    int *count, int *done, unsigned char *ran)
{
	for (size_t k = 0; k < na; k++) {
		const struct rule *r = always[k];
		size_t i = a;

		if (done[k] || !r->joinable)
			continue;
		while (i < b && !done[k]) {
			struct rtext sub;
			size_t j, limits = rs->re_limit;

			for (j = i; j < b; j++) {
				struct tmeas tm = { (size_t)-1, 0, 0, 0, 0, 0,
				    0 };

				if (!gates_pass(r, &texts[j], haves[j], &tm))
					break;
			}
			if (j == i) {
				i++;
				continue;
			}
			sub.p = texts[i].p;
			sub.len = (size_t)(texts[j - 1].p + texts[j - 1].len -
			    texts[i].p);
			try_match(rs, r, &sub, &count[k], &done[k], &ran[k]);
			if (rs->re_limit != limits && j - i > 1) {
				rs->re_limit = limits;
				for (; i < j && !done[k]; i++)
					try_match(rs, r, &texts[i], &count[k],
					    &done[k], &ran[k]);
			}
			i = j;
		}
	}
}

/*
 * Run one text-type's rules over a list of texts (body lines, rawbody
 * chunks, URIs, the full message). The automaton runs once per text; a
 * rule with literals runs on a text only when one of its literals occurs
 * in that very text (a match cannot span two texts).
 */
static void
run_texts(struct rscan *rs, int txt, const struct rtext *texts,
    size_t ntexts)
{
	const struct ruleset *set = rs->rs;
	size_t nlits = ac_count(set->ac[txt]), na = set->nalways[txt];
	unsigned char *seen = pool_alloc(rs->pool, nlits + 1);
	int *found = pool_allocarray(rs->pool, nlits + 1, sizeof(int));
	size_t nrules = na + set->nfiltered[txt];
	const size_t *off = set->lit_off[txt], *lr = set->lit_rules[txt];
	int *count, *done;
	size_t *mark, run0 = 0;		/* the first text of this run */
	unsigned char *ran;
	const unsigned char *ti = NULL;
	uint64_t (*haves)[4] = NULL;
	int join = txt == TXT_BODY && set->njoinable > 0;

	if (nrules == 0)
		return;
	count = pool_allocarray(rs->pool, nrules, sizeof(int));
	done = pool_allocarray(rs->pool, nrules, sizeof(int));
	mark = pool_allocarray(rs->pool, nrules, sizeof(size_t));
	ran = pool_alloc(rs->pool, nrules);
	if (rs->lazy && set->text_init[rs->scoreset][txt] != NULL) {
		/* decided at load for this score set (rules.c) */
		ti = set->text_init[rs->scoreset][txt];
		for (size_t k = 0; k < nrules; k++)
			done[k] = ti[k] & 3;
	} else
		for (size_t k = 0; k < nrules; k++) {
			const struct rule *r = k < na ? set->always[txt][k] :
			    set->filtered[txt][k - na];

			if (rule_off(rs, r))
				done[k] = 1;
			else if (is_lazy(rs, r))
				done[k] = k < na ? 1 : 2;
		}
	/* kept for the lazy rules of this type (run_lazy()) */
	if (rs->lazy)
		rs->have[txt] = pool_allocarray(rs->pool, ntexts ? ntexts : 1,
		    sizeof(*rs->have[txt]));
	/* the bytes present in each text, for a run of joined lines */
	if (join && !rs->lazy)
		haves = pool_allocarray(rs->pool, ntexts ? ntexts : 1,
		    sizeof(*haves));
	else if (join)
		haves = rs->have[txt];
	for (size_t i = 0; i < ntexts; i++) {
		uint64_t hbuf[4], *have = join ? haves[i] : rs->lazy ?
		    rs->have[txt][i] : hbuf;
		size_t nf;
		/* not measured yet */
		struct tmeas tm = { (size_t)-1, 0, 0, 0, 0, 0, 0 };

		/* the literals present (and the bytes present), one pass */
		if (set->scan_all[txt]) {
			/*
			 * a few rules, no automaton: on a long text (the
			 * whole message) every byte class is as good as
			 * present, and marking them costs more than the
			 * searches the classes could avoid
			 */
			if (texts[i].len >= SCAN_ALL_NO_CLASSES)
				have[0] = have[1] = have[2] = have[3] =
				    ~(uint64_t)0;
			else
				rx_bytes_present(texts[i].p, texts[i].len,
				    have);
			nf = 0;
		} else
			nf = ac_scan_found(set->ac[txt], texts[i].p,
			    texts[i].len, seen, found, have);
		for (size_t k = 0; k < na; k++)
			if (!done[k] && !(join && set->always[txt][k]->joinable))
				try_rule(rs, set->always[txt][k], &texts[i],
				    have, &count[k], &done[k], &ran[k],
				    &tm);
		/* no automaton: every filtered rule, as if its literal were here */
		for (size_t k = na; set->scan_all[txt] && k < nrules; k++) {
			const struct rule *r = set->filtered[txt][k - na];

			if (done[k] == 2)
				lazy_note(rs, r, i);
			else if (!done[k])
				try_rule(rs, r, &texts[i], have, &count[k],
				    &done[k], &ran[k], &tm);
		}
		/* each rule one of whose literals is here, once */
		for (size_t f = 0; f < nf; f++) {
			size_t l = (size_t)found[f];

			seen[l] = 0;
			for (size_t o = off[l]; o < off[l + 1]; o++) {
				size_t k = na + lr[o];
				const struct rule *r = set->filtered[txt][lr[o]];

				if (mark[k] == i + 1 || done[k] == 1)
					continue;
				mark[k] = i + 1;
				if (done[k] == 2) {
					/* lazy: where its literals are */
					lazy_note(rs, r, i);
					continue;
				}
				try_rule(rs, r, &texts[i], have, &count[k],
				    &done[k], &ran[k], &tm);
			}
		}
		if (join && run_ends(texts, ntexts, i)) {
			run_joined(rs, set->always[txt], na, texts, run0, i + 1,
			    haves, count, done, ran);
			run0 = i + 1;
		}
	}
	for (size_t k = 0; k < nrules; k++) {
		const struct rule *r;
		int cap;

		if (ti != NULL) {
			/* off, lazy, or no hit to record: r not touched */
			if ((ti[k] & 3) != 0)
				continue;
			rs->re_run += ran[k];
			rs->re_skipped += !ran[k];
			if (count[k] == 0 && !(ti[k] & TEXT_NEGATE))
				continue;
		}
		r = k < na ? set->always[txt][k] : set->filtered[txt][k - na];
		cap = r->maxhits > 0 ? r->maxhits : 1000;
		if (ti == NULL) {
			if (rule_off(rs, r) || is_lazy(rs, r))
				continue;
			rs->re_run += ran[k];
			rs->re_skipped += !ran[k];
		}
		if (r->negate)
			rmatch_hit(rs, r, count[k] == 0);	/* !~ : no text matched */
		else
			rmatch_hit(rs, r, count[k] > cap ? cap : count[k]);
	}
}

#define MAX_TEXT_MAILTO	64

static int
email_char(int c)
{
	return c > ' ' && c < 0x7f && !strchr("<>\"'(),;:@[]\\`{|}", c);
}

/*
 * The URIs uri rules see: the message's, plus "mailto:" for e-mail
 * addresses written in the body text, which SpamAssassin's text URI
 * parser (PerMsgStatus::_process_text_uri_list) adds as MUAs linkify
 * them: a dot after the @, an alphabetic TLD, trailing punctuation cut.
 */
struct rtext *
rmatch_uris(struct rscan *rs, size_t *n)
{
	const struct msg *m = rs->msg;
	size_t cap = m->nuris + MAX_TEXT_MAILTO + 1, nu = 0, extra = 0;
	struct rtext *u = pool_allocarray(rs->pool, cap, sizeof(*u));

	for (size_t i = 0; i < m->nuris; i++) {
		u[nu].p = m->uris[i].uri;
		u[nu++].len = strlen(m->uris[i].uri);
	}
	for (size_t l = 0; l < rs->nbody && extra < MAX_TEXT_MAILTO; l++) {
		const char *t = rs->body[l].p, *e = t + rs->body[l].len;

		/* from one '@' to the next (most lines have none) */
		for (const char *at = memchr(t, '@', (size_t)(e - t));
		    at != NULL && extra < MAX_TEXT_MAILTO;
		    at = memchr(at + 1, '@', (size_t)(e - at - 1))) {
			const char *b, *f, *lastdot = NULL;
			char *uri;
			size_t k, len;

			for (b = at; b > t && email_char((unsigned char)b[-1]) &&
			    at - b < 251; b--)
				;
			for (f = at + 1; f < e && email_char((unsigned char)*f) &&
			    f - at < 251; f++)
				;
			/* TBird ignores trailing punctuation */
			while (f > at + 1 && strchr("-~!#^&*_+=?.", f[-1]))
				f--;
			if (b == at || f <= at + 1)
				continue;
			for (const char *c = at + 1; c < f; c++)
				if (*c == '.')
					lastdot = c;
			if (lastdot == NULL || f - lastdot < 3 || memchr(b, '/',
			    (size_t)(at - b)) != NULL)
				continue;
			for (const char *c = lastdot + 1; c < f; c++)
				if (!isalpha((unsigned char)*c))
					lastdot = NULL;
			if (lastdot == NULL)
				continue;
			if ((size_t)(f - b) > 7 && strncasecmp(b, "mailto:", 7) == 0)
				b += 7;
			len = (size_t)(f - b) + 7;
			uri = pool_alloc(rs->pool, len + 1);
			memcpy(uri, "mailto:", 7);
			memcpy(uri + 7, b, (size_t)(f - b));
			for (k = 0; k < nu; k++)
				if (u[k].len == len && strncasecmp(u[k].p, uri,
				    len) == 0)
					break;
			if (k < nu)
				continue;
			u[nu].p = uri;
			u[nu++].len = len;
			extra++;
		}
	}
	*n = nu;
	return u;
}

void
rmatch_content(struct rscan *rs)
{
	const struct ruleset *set = rs->rs;
	const struct msg *m = rs->msg;
	struct rtext *uris, full;

	rmatch_build_texts(rs);
	if (rs->lazy && set->hdr_eager[rs->scoreset] != NULL) {
		/* the list of this score set's (rules.c eager_lists()) */
		for (size_t i = 0; i < set->nhdr_eager[rs->scoreset]; i++)
			run_header_rule(rs, set->hdr_eager[rs->scoreset][i]);
	} else {
		for (size_t i = 0; i < set->nby_type[RT_HEADER]; i++)
			if (!rule_off(rs, set->by_type[RT_HEADER][i]) &&
			    !is_lazy(rs, set->by_type[RT_HEADER][i]))
				run_header_rule(rs, set->by_type[RT_HEADER][i]);
		for (size_t i = 0; i < set->nby_type[RT_MIMEHEADER]; i++)
			if (!rule_off(rs, set->by_type[RT_MIMEHEADER][i]) &&
			    !is_lazy(rs, set->by_type[RT_MIMEHEADER][i]))
				run_header_rule(rs,
				    set->by_type[RT_MIMEHEADER][i]);
	}
	run_texts(rs, TXT_BODY, rs->body, rs->nbody);
	run_texts(rs, TXT_RAWBODY, rs->raw, rs->nraw);
	{
		size_t nu = 0;

		uris = rmatch_uris(rs, &nu);
		run_texts(rs, TXT_URI, uris, nu);
		rs->uris = uris;
		rs->nuris = nu;
	}
	full.p = m->raw;
	full.len = m->scan_len ? m->scan_len : m->raw_len;
	rs->full = full;
	run_texts(rs, TXT_FULL, &rs->full, m->raw ? 1 : 0);
	for (size_t i = 0; i < set->nevals; i++) {
		const struct rule *r = set->evals[i];

		if (rule_off(rs, r))
			continue;
		rmatch_hit(rs, r, r->ev(rs, r, r->evargc, r->evargv));
	}
	rs->content_ran = 1;
}

const struct rtext *
rmatch_texts(const struct rscan *rs, int txt, size_t *n)
{
	switch (txt) {
	case TXT_BODY:
		*n = rs->nbody;
		return rs->body;
	case TXT_RAWBODY:
		*n = rs->nraw;
		return rs->raw;
	case TXT_URI:
		*n = rs->nuris;
		return rs->uris;
	case TXT_FULL:
		*n = rs->msg->raw ? 1 : 0;
		return &rs->full;
	default:
		*n = 0;
		return NULL;
	}
}

/*
 * A lazy text rule, now that a meta needs it: the same checks and count
 * as run_texts(), rule by rule instead of text by text.
 */
static void
run_lazy(struct rscan *rs, const struct rule *r)
{
	int txt = ruleset_text_of(r->type), count = 0, n, ran = 0;
	int cap = r->maxhits > 0 ? r->maxhits : 1000;
	int multiple = (r->tflags & TF_MULTIPLE) && !r->negate;
	const struct rtext *texts;
	size_t ntexts, *at = NULL;

	if ((texts = rmatch_texts(rs, txt, &ntexts)) == NULL)
		return;
	if (rs->have[txt] == NULL)
		ntexts = 0;
	if (r->lits != NULL) {
		/* only the texts where one of its literals is */
		at = rs->lazyf[r->lazyid].v;
		ntexts = rs->lazyf[r->lazyid].n;
	}
	for (size_t j = 0; j < ntexts; j++) {
		size_t i = at != NULL ? at[j] : j;

		if (texts[i].len < r->minlen || (r->cls != NULL &&
		    !rx_classes_met(r->cls, rs->have[txt][i])))
			continue;
		if (r->comb != NULL && !rx_comb_in(r->comb, texts[i].p,
		    texts[i].len))
			continue;
		if (r->probe != NULL && !probe_ok(rs, r, &texts[i]))
			continue;
		ran = 1;
		n = match_count(rs, r, texts[i].p, texts[i].len, multiple, 1);
		if (n <= 0)
			continue;
		count += n;
		if (!multiple || count >= cap)
			break;
	}
	if (ran)
		rs->re_run++;
	else
		rs->re_skipped++;
	if (r->negate)
		rmatch_hit(rs, r, count == 0);
	else
		rmatch_hit(rs, r, count > cap ? cap : count);
}

/*
 * The value of rule idx var for a meta: a hit count, or a meta's value.
 * Lazy rules are run here on first use; a lazy meta recurses through
 * its own variables, to a depth ruleset_compile() bounded.
 */
static double
meta_fetch(int var, void *arg)
{
	struct rscan *rs = arg;
	const struct ruleset *set = rs->rs;
	const unsigned char *off = set->off[rs->scoreset];
	const struct rule *r;
	double v = 0;

	if (rs->known[var])
		return rs->vals[var];
	rs->known[var] = 1;
	/* by index first: the rule itself is read only when it must run */
	if (rs->s != NULL && off != NULL && off[var])
		v = 0;
	else if (!set->known_all[var]) {
		/* a meta; one not in the order (disabled) or eager is 0 */
		struct metaexpr *m = set->meta_of != NULL ?
		    set->meta_of[var] : NULL;

		if (rs->lazy && set->lazy[var] && m != NULL &&
		    rs->lazy_depth < RULESET_LAZY_DEPTH + 1) {
			rs->lazy_depth++;
			v = metaexpr_eval_bounded(m, rs->vals, rs->known,
			    rs->s != NULL, meta_fetch, rs);
			rs->lazy_depth--;
			if (v != 0)
				rmatch_hit(rs, set->rules[var], 1);
		}
	} else {
		r = set->rules[var];
		if (is_lazy(rs, r) && rs->content_ran) {
			if (r->type == RT_HEADER || r->type == RT_MIMEHEADER)
				run_header_rule(rs, r);
			else
				run_lazy(rs, r);
		}
		v = rmatch_count(rs, r);
	}
	rs->vals[var] = v;
	return v;
}

void
rmatch_meta(struct rscan *rs)
{
	const struct ruleset *set = rs->rs;
	struct rule *const *metas = NULL;
	size_t nmetas = 0;

	rs->vals = pool_allocarray(rs->pool, set->nrules + 1, sizeof(double));
	/*
	 * Hit counts of the rules that ran (0 for the others): from the
	 * result's hit list, not one lookup per rule. Metas and lazy rules
	 * are left to meta_fetch().
	 */
	rs->known = pool_memdup(rs->pool, rs->lazy ? set->known_lazy :
	    set->known_all, set->nrules + 1);
	if (rs->s == NULL) {
		for (size_t i = 0; i < set->nrules; i++)
			if (rs->known[i])
				rs->vals[i] = rs->hits[i];
	} else {
		const struct result *res = &rs->s->res;

		for (size_t h = 0; h < res->nhits; h++) {
			int id = res->hits[h].sym ? res->hits[h].sym->id : -1;
			int i = id >= 0 && (size_t)id < set->nsym_rule ?
			    set->sym_rule[id] : -1;

			if (i < 0 || !rs->known[i] || rule_off(rs,
			    set->rules[i]))
				continue;
			rs->vals[i] = res->hits[h].count > 0 ?
			    res->hits[h].count : 1;
		}
	}
	if (rs->lazy && set->meta_eager_m[rs->scoreset] != NULL) {
		/*
		 * this score set's list (rules.c): expressions and indexes,
		 * so that a meta that does not hit leaves its rule unread
		 */
		struct metaexpr *const *em = set->meta_eager_m[rs->scoreset];
		const int *ei = set->meta_eager_i[rs->scoreset];

		for (size_t i = 0; i < set->nmeta_eager[rs->scoreset]; i++) {
			double v = metaexpr_eval_bounded(em[i], rs->vals,
			    rs->known, 1, meta_fetch, rs);

			rs->vals[ei[i]] = v;
			rs->known[ei[i]] = 1;
			if (v != 0)
				rmatch_hit(rs, set->rules[ei[i]], 1);
		}
		return;
	}
	if (metas == NULL) {
		metas = set->metaorder;
		nmetas = set->nmetaorder;
	}
	for (size_t i = 0; i < nmetas; i++) {
		const struct rule *r = metas[i];
		double v;

		if (rule_off(rs, r) || is_lazy(rs, r))
			continue;
		v = metaexpr_eval_bounded(r->meta, rs->vals, rs->known,
		    rs->s != NULL, meta_fetch, rs);
		rs->vals[r->idx] = v;
		rs->known[r->idx] = 1;
		if (v != 0)
			rmatch_hit(rs, r, 1);
	}
}
