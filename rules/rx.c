/*
 * rx.c - Perl regexes of SpamAssassin rules on PCRE2, and the literal
 * extraction behind the prefilter.
 *
 * Ownership: rx_parse() returns a malloc'd pattern the caller frees;
 * rx_compile() returns a pcre2_code the caller frees with
 * pcre2_code_free(). rx_literals() fills a caller-owned struct.
 *
 * Delimiters follow SpamAssassin's Util::compile_regexp(): the pattern
 * runs from the opening delimiter to the LAST closing delimiter of the
 * string, followed only by modifier letters.
 *
 * The literal walk is deliberately conservative: any construct it does
 * not fully understand (x flag, conditionals, verbs, recursion, \x{..})
 * makes it give up, so a regex without literals simply always runs. What
 * it returns must be a superset condition: "no literal present" must
 * imply "no match". Case is folded (ASCII) on both sides, which only
 * widens the condition.
 *
 * SECURITY: patterns come from rule files (trusted by the admin, but
 * still bounded): recursion depth and literal counts are capped.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/xalloc.h"
#include "rules/rx.h"

#define RX_MAX_DEPTH	64

enum status
rx_parse(const char *src, char **pat, unsigned *flags, const char **end)
{
	const char *p = src, *q, *e;
	char open, close;
	unsigned fl = 0;

	*pat = NULL;
	*flags = 0;
	if (*p == '/') {
		open = close = '/';
		p++;
	} else if (*p == 'm' && p[1] != '\0' && !isalnum((unsigned char)p[1]) &&
	    !isspace((unsigned char)p[1]) && p[1] != '\\' && p[1] != '_') {
		open = p[1];
		switch (open) {
		case '{': close = '}'; break;
		case '(': close = ')'; break;
		case '<': close = '>'; break;
		case '[': close = ']'; break;
		default: close = open; break;
		}
		p += 2;
	} else
		return ST_ERR_PARSE;
	(void)open;
	/* the end: last close delimiter followed only by modifier letters */
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	q = e;
	while (q > p && isalpha((unsigned char)q[-1]))
		q--;
	if (q <= p || q[-1] != close)
		return ST_ERR_PARSE;
	for (const char *f = q; f < e; f++) {
		switch (*f) {
		case 'i': fl |= PCRE2_CASELESS; break;
		case 'm': fl |= PCRE2_MULTILINE; break;
		case 's': fl |= PCRE2_DOTALL; break;
		case 'x': fl |= PCRE2_EXTENDED; break;
		case 'g': case 'o': case 'a': case 'u': case 'l': case 'd':
		case 'n': case 'p': case 'c':
			break;
		default:
			return ST_ERR_PARSE;	/* e (eval) and unknown */
		}
	}
	*pat = xstrndup(p, (size_t)(q - 1 - p));
	*flags = fl;
	if (end)
		*end = e;
	return ST_OK;
}

pcre2_code *
rx_compile(const char *pat, unsigned flags, char *err, size_t errlen)
{
	return rx_compile_jit(pat, flags, 1, err, errlen);
}

int
rx_has_jit(const pcre2_code *re)
{
	size_t sz = 0;

	return re != NULL && pcre2_pattern_info(re, PCRE2_INFO_JITSIZE,
	    &sz) == 0 && sz > 0;
}

pcre2_code *
rx_compile_jit(const char *pat, unsigned flags, int jit, char *err,
    size_t errlen)
{
	pcre2_compile_context *cc;
	pcre2_code *re;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int ec;

	if (strstr(pat, "(?{") != NULL || strstr(pat, "(??{") != NULL) {
		snprintf(err, errlen, "Perl code in regex");
		return NULL;
	}
	cc = pcre2_compile_context_create(NULL);
	/* Perl reads an unknown escape such as \y as the letter */
	pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_BAD_ESCAPE_IS_LITERAL);
	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, flags, &ec,
	    &off, cc);
	pcre2_compile_context_free(cc);
	if (re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "%s at offset %zu", (char *)msg,
		    (size_t)off);
		return NULL;
	}
	/* JIT failure is not fatal: the interpreter still works */
	if (jit)
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

/* ---- literal extraction ------------------------------------------------ */

/* a requirement: any match contains one of s[]; n == 0 means "none known" */
struct req {
	size_t	 n;
	char	 s[RX_MAX_LITERALS][RX_MAX_LITLEN + 1];
	size_t	 len[RX_MAX_LITERALS];
};

struct walk {
	const char	*p;
	const char	*end;
	int		 giveup;
	int		 depth;
};

static size_t
req_minlen(const struct req *r)
{
	size_t m = (size_t)-1;

	for (size_t i = 0; i < r->n; i++)
		if (r->len[i] < m)
			m = r->len[i];
	return r->n ? m : 0;
}

/*
 * Strings whose parts make weak literals for the walk under way
 * (rx_literals_avoid()), or NULL. Set only for the length of one walk,
 * by the thread making it.
 */
static _Thread_local const char *const *lit_avoid;

/* r holds a literal that is part of a string to avoid */
static int
req_weak(const struct req *r)
{
	if (lit_avoid == NULL)
		return 0;
	for (size_t i = 0; i < r->n; i++)
		for (const char *const *a = lit_avoid; *a != NULL; a++)
			if (strstr(*a, r->s[i]) != NULL)
				return 1;
	return 0;
}

/*
 * keep the better of best and cand (not weak, then longer shortest
 * literal, then fewer)
 */
static void
req_consider(struct req *best, const struct req *cand)
{
	size_t a, b;
	int wa, wb;

	if (cand->n == 0)
		return;
	wa = best->n > 0 && req_weak(best);
	wb = req_weak(cand);
	if (best->n > 0 && wa != wb) {
		if (wa)
			*best = *cand;
		return;
	}
	a = req_minlen(best);
	b = req_minlen(cand);
	if (best->n == 0 || b > a || (b == a && cand->n < best->n))
		*best = *cand;
}

static void
run_flush(struct req *best, const char *run, size_t rlen)
{
	struct req r;

	if (rlen < RX_MIN_LITERAL)
		return;
	r.n = 1;
	if (rlen > RX_MAX_LITLEN)
		rlen = RX_MAX_LITLEN;
	memcpy(r.s[0], run, rlen);
	r.s[0][rlen] = '\0';
	r.len[0] = rlen;
	req_consider(best, &r);
}

/*
 * Parse a quantifier at w->p if any. Returns 0 none, 1 one-or-more (or
 * {n,..} n >= 1, not exactly once), 2 zero minimum, 3 exactly once ({1}).
 */
static int
quantifier(struct walk *w)
{
	const char *p = w->p;
	int kind = 0;

	if (p >= w->end)
		return 0;
	if (*p == '*' || *p == '?') {
		kind = 2;
		p++;
	} else if (*p == '+') {
		kind = 1;
		p++;
	} else if (*p == '{') {
		const char *q = p + 1;
		long lo = 0, hi = -1;
		int ndig = 0;

		while (q < w->end && isdigit((unsigned char)*q) && ndig < 9) {
			lo = lo * 10 + (*q - '0');
			q++;
			ndig++;
		}
		if (ndig == 0 || q >= w->end)
			return 0;	/* not a quantifier: literal '{' */
		if (*q == '}') {
			hi = lo;
			q++;
		} else if (*q == ',') {
			q++;
			while (q < w->end && isdigit((unsigned char)*q))
				q++;
			if (q >= w->end || *q != '}')
				return 0;
			q++;
		} else
			return 0;
		kind = lo == 0 ? 2 : (lo == 1 && hi == 1) ? 3 : 1;
		p = q;
	} else
		return 0;
	if (p < w->end && (*p == '?' || *p == '+'))
		p++;	/* lazy / possessive */
	w->p = p;
	return kind;
}

/*
 * The end of an inline option run starting at p ("i", "s-i", "^m" in
 * "(?s-i)", "(?^m:"): letters, '-' and '^', never past end. One reading
 * of option groups for the literal walk, the class walk, the probe
 * builder and the gates (caseless_off()).
 */
static const char *
opt_run(const char *p, const char *end)
{
	while (p < end && (isalpha((unsigned char)*p) || *p == '-' ||
	    *p == '^'))
		p++;
	return p;
}

static void parse_alt(struct walk *w, struct req *out);

/*
 * Just past the character class starting at p ('['): a leading ']' (after
 * any '^') and escaped bytes are in it, [:name:] inside; NULL when it
 * does not end before end.
 */
static const char *
class_end(const char *p, const char *end)
{
	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')
		p++;
	while (p < end && *p != ']') {
		if (*p == '\\' && p + 1 < end)
			p += 2;
		else if (*p == '[' && p + 1 < end && p[1] == ':') {
			const char *c = strstr(p + 2, ":]");

			if (c == NULL || c >= end)
				return NULL;
			p = c + 2;
		} else
			p++;
	}
	return p < end ? p + 1 : NULL;
}

/* skip a character class starting at '['; 0 on malformed */
static int
skip_class(struct walk *w)
{
	const char *p = class_end(w->p, w->end);

	if (p == NULL)
		return 0;
	w->p = p;
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * One branch: a sequence of atoms. Returns the best requirement found in
 * it (n == 0: none). Stops at '|' or ')' (not consumed).
 */
static void
parse_seq(struct walk *w, struct req *best)
{
	char run[RX_MAX_LITLEN + 1];
	size_t rlen = 0;

	best->n = 0;
	while (w->p < w->end && !w->giveup) {
		int c = (unsigned char)*w->p, lit = -1, q;

		if (c == '|' || c == ')')
			break;
		if (c == '\\') {
			int e;

			if (w->p + 1 >= w->end) {
				w->giveup = 1;
				break;
			}
			e = (unsigned char)w->p[1];
			w->p += 2;
			if (e == 'Q') {
				/* quoted run: every byte literal up to \E */
				while (w->p < w->end && !(w->p[0] == '\\' &&
				    w->p + 1 < w->end && w->p[1] == 'E')) {
					int ch = tolower((unsigned char)*w->p++);

					/* a quantifier may follow the last byte */
					if (w->p < w->end && !(w->p[0] == '\\' &&
					    w->p + 1 < w->end && w->p[1] == 'E')) {
						if (rlen < RX_MAX_LITLEN)
							run[rlen++] = (char)ch;
						continue;
					}
					lit = ch;
				}
				if (w->p < w->end)
					w->p += 2;
				if (lit < 0)
					continue;
				goto literal;
			}
			if (e == 'E')
				continue;
			if (strchr("bBAzZGK", e) != NULL && e != 0)
				continue;	/* zero-width: run goes on */
			if (e == 't') lit = '\t';
			else if (e == 'n') lit = '\n';
			else if (e == 'r') lit = '\r';
			else if (e == 'f') lit = '\f';
			else if (e == 'e') lit = 0x1b;
			else if (e == 'a') lit = 0x07;
			else if (e == 'x') {
				int h1, h2;

				if (w->p + 1 < w->end &&
				    (h1 = hexval((unsigned char)w->p[0])) >= 0 &&
				    (h2 = hexval((unsigned char)w->p[1])) >= 0) {
					lit = tolower(h1 * 16 + h2);
					w->p += 2;
				} else {
					w->giveup = 1;
					break;
				}
			} else if (strchr("dDwWsShHvVRNXC", e) != NULL) {
				lit = -1;	/* a class: breaks the run */
			} else if (e == 'p' || e == 'P' || e == 'g' ||
			    e == 'k' || e == 'c' || e == 'o' ||
			    isdigit(e)) {
				w->giveup = 1;
				break;
			} else if (isalnum(e)) {
				w->giveup = 1;	/* unknown escape */
				break;
			} else
				lit = tolower(e);
		} else if (c == '.') {
			w->p++;
			lit = -1;
		} else if (c == '^' || c == '$') {
			w->p++;
			continue;
		} else if (c == '[') {
			if (!skip_class(w)) {
				w->giveup = 1;
				break;
			}
			lit = -1;
		} else if (c == '(') {
			struct req inner;
			int zerowidth = 0;

			w->p++;
			if (w->p < w->end && *w->p == '*') {
				w->giveup = 1;	/* (*VERB) */
				break;
			}
			if (w->p < w->end && *w->p == '?') {
				const char *g = w->p + 1;

				if (g >= w->end) {
					w->giveup = 1;
					break;
				}
				if (*g == '#') {
					const char *cl = memchr(g, ')',
					    (size_t)(w->end - g));

					if (cl == NULL) {
						w->giveup = 1;
						break;
					}
					w->p = cl + 1;
					continue;
				} else if (*g == ':' || *g == '>' || *g == '|') {
					w->p = g + 1;
				} else if (*g == '=' || *g == '!') {
					zerowidth = 1;
					w->p = g + 1;
				} else if (*g == '<' && g + 1 < w->end &&
				    (g[1] == '=' || g[1] == '!')) {
					zerowidth = 1;
					w->p = g + 2;
				} else if (*g == '<' || *g == '\'' ||
				    (*g == 'P' && g + 1 < w->end && g[1] == '<')) {
					const char *nm = g + (*g == 'P' ? 2 : 1);
					char cl = *g == '\'' ? '\'' : '>';

					while (nm < w->end && *nm != cl)
						nm++;
					if (nm >= w->end) {
						w->giveup = 1;
						break;
					}
					w->p = nm + 1;
				} else if (isalpha((unsigned char)*g) ||
				    *g == '-' || *g == '^') {
					/* inline flags: (?i) or (?i:...) */
					const char *f = opt_run(g, w->end);

					if (memchr(g, 'x', (size_t)(f - g))) {
						w->giveup = 1;
						break;
					}
					if (f >= w->end)
						break;
					if (*f == ')') {
						w->p = f + 1;
						continue;
					}
					if (*f != ':') {
						w->giveup = 1;
						break;
					}
					w->p = f + 1;
				} else {
					w->giveup = 1;	/* (?( (?R) (?1) ... */
					break;
				}
			}
			if (++w->depth > RX_MAX_DEPTH) {
				w->giveup = 1;
				break;
			}
			parse_alt(w, &inner);
			w->depth--;
			if (w->giveup)
				break;
			if (w->p >= w->end || *w->p != ')') {
				w->giveup = 1;
				break;
			}
			w->p++;
			q = quantifier(w);
			if (zerowidth)
				continue;	/* lookaround: run goes on */
			run_flush(best, run, rlen);
			rlen = 0;
			if (q != 2)
				req_consider(best, &inner);
			continue;
		} else if (c == '*' || c == '+' || c == '?') {
			w->giveup = 1;	/* quantifier with nothing before it */
			break;
		} else {
			w->p++;
			lit = tolower(c);
		}
literal:
		q = quantifier(w);
		if (lit < 0) {
			run_flush(best, run, rlen);
			rlen = 0;
			continue;
		}
		if (q == 2) {		/* optional: not required */
			run_flush(best, run, rlen);
			rlen = 0;
			continue;
		}
		if (rlen < RX_MAX_LITLEN)
			run[rlen++] = (char)lit;
		if (q == 1) {		/* repeated: run ends after it */
			run_flush(best, run, rlen);
			rlen = 0;
		}
	}
	run_flush(best, run, rlen);
}

static void
parse_alt(struct walk *w, struct req *out)
{
	struct req br;
	int first = 1, none = 0;

	out->n = 0;
	for (;;) {
		parse_seq(w, &br);
		if (w->giveup)
			return;
		if (br.n == 0)
			none = 1;
		else if (!none) {
			if (first)
				*out = br;
			else {
				for (size_t i = 0; i < br.n; i++) {
					size_t j;

					for (j = 0; j < out->n; j++)
						if (out->len[j] == br.len[i] &&
						    memcmp(out->s[j], br.s[i],
						    br.len[i]) == 0)
							break;
					if (j < out->n)
						continue;
					if (out->n == RX_MAX_LITERALS) {
						none = 1;
						break;
					}
					memcpy(out->s[out->n], br.s[i],
					    br.len[i] + 1);
					out->len[out->n++] = br.len[i];
				}
			}
		}
		first = 0;
		if (w->p < w->end && *w->p == '|') {
			w->p++;
			continue;
		}
		break;
	}
	if (none)
		out->n = 0;
}

int
rx_literals(const char *pat, unsigned flags, struct rx_lits *out)
{
	struct walk w;
	struct req r;

	memset(out, 0, sizeof(*out));
	if (flags & PCRE2_EXTENDED)
		return 0;
	w.p = pat;
	w.end = pat + strlen(pat);
	w.giveup = 0;
	w.depth = 0;
	parse_alt(&w, &r);
	if (w.giveup || w.p != w.end || r.n == 0)
		return 0;
	out->n = r.n;
	for (size_t i = 0; i < r.n; i++) {
		memcpy(out->s[i], r.s[i], r.len[i] + 1);
		out->len[i] = r.len[i];
	}
	return 1;
}

int
rx_literals_avoid(const char *pat, unsigned flags, const char *const *avoid,
    struct rx_lits *out)
{
	int ok;

	lit_avoid = avoid;
	ok = rx_literals(pat, flags, out);
	lit_avoid = NULL;
	return ok;
}

/* ---- required byte classes --------------------------------------------- */

/*
 * A second, independent walk: instead of literal strings it collects
 * byte classes, one of whose bytes any match must contain (an atom that
 * must occur at least once: a literal byte, a class, or a group whose
 * every branch requires some class). It catches the obfuscation
 * patterns (FUZZY_*, __DRUGS_*) that have no literal at all: their
 * letters are classes like [i1!|l], which a short paragraph often lacks.
 * Lookarounds, anchors and optional atoms require nothing; anything
 * not understood makes the walk give up.
 */

struct cset {
	uint64_t	 b[4];
};

struct cwalk {
	const char	*p;
	const char	*end;
	int		 giveup;
	int		 depth;
};

/* a branch's requirements (bounded: further classes are dropped) */
struct creq {
	size_t		 n;
	struct cset	 c[RX_MAX_CLASSES];
};

static void
cset_add(struct cset *s, int c)
{
	s->b[(c >> 6) & 3] |= (uint64_t)1 << (c & 63);
}

/*
 * Bits set in a word, without the POPCNT instruction (not in the
 * baseline x86-64 we build for: __builtin_popcountll() then calls
 * libgcc's table-less loop).
 */
static int
popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (int)((x * 0x0101010101010101ULL) >> 56);
}

static int
cset_count(const struct cset *s)
{
	return popcount64(s->b[0]) + popcount64(s->b[1]) +
	    popcount64(s->b[2]) + popcount64(s->b[3]);
}

/*
 * Add the other ASCII case of every letter (a superset either way): in
 * word 1 (bytes 64..127) 'A'..'Z' are bits 1..26 and 'a'..'z' bits
 * 33..58.
 */
static void
cset_fold(struct cset *s)
{
	const uint64_t letters = 0x07fffffeULL;
	uint64_t both = (s->b[1] | (s->b[1] >> 32)) & letters;

	s->b[1] |= both | (both << 32);
}

static void
cset_union(struct cset *a, const struct cset *b)
{
	for (int i = 0; i < 4; i++)
		a->b[i] |= b->b[i];
}

/* the byte set of \d \w \s and their negations; 0 for other letters */
static int
cset_escape(int e, struct cset *s)
{
	int neg = isupper(e);

	memset(s, 0, sizeof(*s));
	switch (tolower(e)) {
	case 'd':
		for (int c = '0'; c <= '9'; c++)
			cset_add(s, c);
		break;
	case 'w':
		for (int c = 0; c < 256; c++)
			if (isascii(c) && (isalnum(c) || c == '_'))
				cset_add(s, c);
		break;
	case 's':
		/* Perl/PCRE2 \s: space \t \n \v \f \r (not 0x85/0xa0 in C tables) */
		cset_add(s, ' ');
		cset_add(s, '\t');
		cset_add(s, '\n');
		cset_add(s, 0x0b);
		cset_add(s, '\f');
		cset_add(s, '\r');
		break;
	default:
		return 0;
	}
	if (neg)
		for (int i = 0; i < 4; i++)
			s->b[i] = ~s->b[i];
	return 1;
}

/* a simple escape's byte after the backslash at p (p[0] is the letter): -1 none */
static int
escape_byte(const char **pp, const char *end)
{
	const char *p = *pp;
	int e = (unsigned char)*p, v;

	switch (e) {
	case 't': *pp = p + 1; return '\t';
	case 'n': *pp = p + 1; return '\n';
	case 'r': *pp = p + 1; return '\r';
	case 'f': *pp = p + 1; return '\f';
	case 'e': *pp = p + 1; return 0x1b;
	case 'a': *pp = p + 1; return 0x07;
	case 'x': {
		int h1, h2;

		if (p + 1 < end && (h1 = hexval((unsigned char)p[1])) >= 0) {
			if (p + 2 < end && (h2 = hexval((unsigned char)p[2])) >= 0) {
				*pp = p + 3;
				return h1 * 16 + h2;
			}
			*pp = p + 2;
			return h1;
		}
		return -1;	/* \x{...} or bare \x: give up */
	}
	case '0':
		v = 0;
		p++;
		for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++)
			v = v * 8 + (*p++ - '0');
		*pp = p;
		return v & 0xff;
	default:
		if (!isalnum(e)) {
			*pp = p + 1;
			return e;
		}
		return -1;
	}
}

/* parse [...] at w->p into s (folded); 0 on anything not understood */
static int
parse_cclass(struct cwalk *w, struct cset *s)
{
	const char *p = w->p + 1;
	int neg = 0, prev = -1;

	memset(s, 0, sizeof(*s));
	if (p < w->end && *p == '^') {
		neg = 1;
		p++;
	}
	if (p < w->end && *p == ']') {
		cset_add(s, ']');
		prev = ']';
		p++;
	}
	while (p < w->end && *p != ']') {
		int c;

		if (*p == '[' && p + 1 < w->end && (p[1] == ':' || p[1] == '.' ||
		    p[1] == '='))
			return 0;	/* POSIX classes: not handled */
		if (*p == '-' && prev >= 0 && p + 1 < w->end && p[1] != ']') {
			int hi;

			p++;
			if (*p == '\\') {
				p++;
				if (p >= w->end)
					return 0;
				if (*p == 'b') {
					hi = 0x08;
					p++;
				} else if ((hi = escape_byte(&p, w->end)) < 0)
					return 0;
			} else if (*p == '[')
				return 0;
			else
				hi = (unsigned char)*p++;
			if (hi < prev)
				return 0;
			for (int k = prev; k <= hi; k++)
				cset_add(s, k);
			prev = -1;
			continue;
		}
		if (*p == '\\') {
			struct cset e;

			p++;
			if (p >= w->end)
				return 0;
			if (cset_escape((unsigned char)*p, &e)) {
				cset_union(s, &e);
				p++;
				prev = -1;
				continue;
			}
			if (*p == 'b') {
				c = 0x08;
				p++;
			} else if ((c = escape_byte(&p, w->end)) < 0)
				return 0;	/* \h \v \p \Q ... */
		} else
			c = (unsigned char)*p++;
		cset_add(s, c);
		prev = c;
	}
	if (p >= w->end)
		return 0;
	w->p = p + 1;
	if (neg)
		for (int i = 0; i < 4; i++)
			s->b[i] = ~s->b[i];
	cset_fold(s);
	return 1;
}

/* minimum repeat of a quantifier at w->p (consumed), 1 when none */
static int
cquant_min(struct cwalk *w)
{
	struct walk q;
	int kind;

	q.p = w->p;
	q.end = w->end;
	q.giveup = 0;
	q.depth = 0;
	kind = quantifier(&q);
	w->p = q.p;
	return kind == 2 ? 0 : 1;
}

static void
creq_add(struct creq *r, const struct cset *s)
{
	if (cset_count(s) > 200)
		return;		/* (nearly) any byte: useless */
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(&r->c[i], s, sizeof(*s)) == 0)
			return;
	if (r->n < RX_MAX_CLASSES) {
		r->c[r->n++] = *s;
		return;
	}
	/* full: keep the narrower classes */
	for (size_t i = 0; i < r->n; i++)
		if (cset_count(&r->c[i]) > cset_count(s)) {
			r->c[i] = *s;
			return;
		}
}

static void calt(struct cwalk *w, struct creq *out);

static void
cseq(struct cwalk *w, struct creq *out)
{
	out->n = 0;
	while (w->p < w->end && !w->giveup) {
		int c = (unsigned char)*w->p, have = 0, min;
		struct cset s;
		struct creq inner;

		if (c == '|' || c == ')')
			break;
		if (c == '{' && w->p + 1 < w->end && w->p[1] == ',') {
			w->giveup = 1;	/* {,n}: a quantifier in newer PCRE2 */
			break;
		}
		if (c == '\\') {
			int e;

			if (w->p + 1 >= w->end) {
				w->giveup = 1;
				break;
			}
			e = (unsigned char)w->p[1];
			w->p++;
			if (strchr("bBAzZGK", e) != NULL) {
				w->p++;
				continue;	/* zero-width */
			}
			if (cset_escape(e, &s)) {
				w->p++;
				have = 1;
			} else if (strchr("hHvVRNXC", e) != NULL) {
				w->p++;		/* some byte: no class */
			} else {
				int b = escape_byte(&w->p, w->end);

				if (b < 0) {
					w->giveup = 1;	/* backrefs, \p, \Q ... */
					break;
				}
				memset(&s, 0, sizeof(s));
				cset_add(&s, b);
				cset_fold(&s);
				have = 1;
			}
		} else if (c == '.') {
			w->p++;
		} else if (c == '^' || c == '$') {
			w->p++;
			continue;
		} else if (c == '[') {
			if (!parse_cclass(w, &s)) {
				w->giveup = 1;
				break;
			}
			have = 1;
		} else if (c == '(') {
			int look = 0;
			const char *g;

			w->p++;
			if (w->p < w->end && *w->p == '*') {
				w->giveup = 1;
				break;
			}
			if (w->p < w->end && *w->p == '?') {
				g = w->p + 1;
				if (g >= w->end) {
					w->giveup = 1;
					break;
				}
				if (*g == ':' || *g == '>')
					w->p = g + 1;
				else if (*g == '=' || *g == '!') {
					look = 1;
					w->p = g + 1;
				} else if (*g == '<' && g + 1 < w->end &&
				    (g[1] == '=' || g[1] == '!')) {
					look = 1;
					w->p = g + 2;
				} else if (*g == '<' || *g == '\'' ||
				    (*g == 'P' && g + 1 < w->end && g[1] == '<')) {
					const char *nm = g + (*g == 'P' ? 2 : 1);
					char cl = *g == '\'' ? '\'' : '>';

					while (nm < w->end && *nm != cl)
						nm++;
					if (nm >= w->end) {
						w->giveup = 1;
						break;
					}
					w->p = nm + 1;
				} else if (isalpha((unsigned char)*g) ||
				    *g == '-' || *g == '^') {
					const char *f = opt_run(g, w->end);

					if (memchr(g, 'x', (size_t)(f - g)) ||
					    memchr(g, 'n', (size_t)(f - g)) ||
					    f >= w->end) {
						w->giveup = 1;
						break;
					}
					if (*f == ')') {
						w->p = f + 1;
						continue;
					}
					if (*f != ':') {
						w->giveup = 1;
						break;
					}
					w->p = f + 1;
				} else {
					w->giveup = 1;	/* (?| (?# (?( (?R) ... */
					break;
				}
			}
			if (++w->depth > RX_MAX_DEPTH) {
				w->giveup = 1;
				break;
			}
			/* a capture could be backreferenced: that gives up anyway */
			calt(w, &inner);
			w->depth--;
			if (w->giveup)
				break;
			if (w->p >= w->end || *w->p != ')') {
				w->giveup = 1;
				break;
			}
			w->p++;
			min = cquant_min(w);
			if (look || min == 0)
				continue;
			for (size_t i = 0; i < inner.n; i++)
				creq_add(out, &inner.c[i]);
			continue;
		} else if (c == '*' || c == '+' || c == '?') {
			w->giveup = 1;
			break;
		} else {
			w->p++;
			memset(&s, 0, sizeof(s));
			cset_add(&s, c);
			cset_fold(&s);
			have = 1;
		}
		min = cquant_min(w);
		if (have && min > 0)
			creq_add(out, &s);
	}
}

/*
 * Alternation: one branch: all its classes; several: each branch gives
 * its narrowest class and the group requires their union (a branch
 * requiring nothing makes the group require nothing).
 */
static void
calt(struct cwalk *w, struct creq *out)
{
	struct creq br;
	struct cset u;
	int nbr = 0, none = 0;

	out->n = 0;
	memset(&u, 0, sizeof(u));
	for (;;) {
		cseq(w, &br);
		if (w->giveup)
			return;
		if (nbr == 0)
			*out = br;
		if (br.n == 0)
			none = 1;
		else {
			size_t best = 0;

			for (size_t i = 1; i < br.n; i++)
				if (cset_count(&br.c[i]) < cset_count(&br.c[best]))
					best = i;
			cset_union(&u, &br.c[best]);
		}
		nbr++;
		if (w->p < w->end && *w->p == '|') {
			w->p++;
			continue;
		}
		break;
	}
	if (nbr == 1)
		return;
	out->n = 0;
	if (!none)
		creq_add(out, &u);
}

size_t
rx_classes(const char *pat, unsigned flags, struct rx_classes *out)
{
	struct cwalk w;
	struct creq r;

	memset(out, 0, sizeof(*out));
	if (flags & PCRE2_EXTENDED)
		return 0;
	w.p = pat;
	w.end = pat + strlen(pat);
	w.giveup = 0;
	w.depth = 0;
	calt(&w, &r);
	if (w.giveup || w.p != w.end)
		return 0;
	out->n = r.n;
	for (size_t i = 0; i < r.n; i++)
		memcpy(out->c[i], r.c[i].b, sizeof(out->c[i]));
	return out->n;
}

static void
classes_push(struct rx_classes *out, const struct cset *s)
{
	struct creq r;

	r.n = out->n;
	for (size_t i = 0; i < out->n; i++)
		memcpy(r.c[i].b, out->c[i], sizeof(r.c[i].b));
	creq_add(&r, s);
	out->n = r.n;
	for (size_t i = 0; i < r.n; i++)
		memcpy(out->c[i], r.c[i].b, sizeof(out->c[i]));
}

size_t
rx_info_classes(const pcre2_code *re, struct rx_classes *out)
{
	uint32_t minlen = 0, type = 0, cu = 0;
	const uint8_t *bm = NULL;
	struct cset s;

	if (re == NULL)
		return 0;
	if (pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &minlen) != 0)
		minlen = 0;
	/* a first byte only when no match can be empty */
	if (minlen > 0 &&
	    pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 &&
	    type == 1 &&
	    pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODEUNIT, &cu) == 0) {
		memset(&s, 0, sizeof(s));
		cset_add(&s, (int)(cu & 0xff));
		cset_fold(&s);
		classes_push(out, &s);
	} else if (minlen > 0 &&
	    pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &bm) == 0 &&
	    bm != NULL) {
		memset(&s, 0, sizeof(s));
		for (int c = 0; c < 256; c++)
			if ((bm[c / 8] >> (c % 8)) & 1)
				cset_add(&s, c);
		cset_fold(&s);
		classes_push(out, &s);
	}
	if (pcre2_pattern_info(re, PCRE2_INFO_LASTCODETYPE, &type) == 0 &&
	    type == 1 &&
	    pcre2_pattern_info(re, PCRE2_INFO_LASTCODEUNIT, &cu) == 0) {
		memset(&s, 0, sizeof(s));
		cset_add(&s, (int)(cu & 0xff));
		cset_fold(&s);
		classes_push(out, &s);
	}
	return minlen;
}

void
rx_bytes_present(const char *p, size_t len, uint64_t have[4])
{
	const unsigned char *u = (const unsigned char *)p;

	unsigned char flags[256];

	if (len >= RX_BYTES_PACK_MIN) {
		size_t i = 0;

		memset(flags, 0, sizeof(flags));
		/* eight bytes a round: the loop's own cost is most of it */
		for (; i + 8 <= len; i += 8) {
			flags[u[i]] = 1;
			flags[u[i + 1]] = 1;
			flags[u[i + 2]] = 1;
			flags[u[i + 3]] = 1;
			flags[u[i + 4]] = 1;
			flags[u[i + 5]] = 1;
			flags[u[i + 6]] = 1;
			flags[u[i + 7]] = 1;
		}
		for (; i < len; i++)
			flags[u[i]] = 1;
		rx_bytes_pack(flags, have);
		return;
	}
	have[0] = have[1] = have[2] = have[3] = 0;
	for (size_t i = 0; i < len; i++)
		have[u[i] >> 6] |= (uint64_t)1 << (u[i] & 63);
}

/* ---- within one line ------------------------------------------------- */

/*
 * A class "[...]" at p (p after the '['): its end in *end and whether it
 * can match '\n'. A negated class that lists \n, \s or \v cannot; a
 * positive one cannot unless it lists them, or \W, \D, \H, a range
 * not between two plain bytes above '\n', a POSIX class or an escape not
 * understood (then "can" is assumed).
 */
static int
class_takes_nl(const char *p, const char **end)
{
	int neg = 0, nl_listed = 0, unsure = 0, prev = -1;

	if (*p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {
		unsure = 1;		/* a literal ']' first: not followed */
		p++;
	}
	for (; *p && *p != ']'; p++) {
		int lit = prev;

		prev = -1;
		if (*p == '\\') {
			p++;
			if (*p == 'n' || *p == 's' || *p == 'v')
				nl_listed = 1;
			else if (*p == '\0')
				return *end = NULL, 1;
			else if (!(strchr("dwhSV", *p) != NULL ||
			    (!isalnum((unsigned char)*p) &&
			    (unsigned char)*p > ' ')))
				unsure = 1;	/* a control byte may start a range */
			continue;
		}
		if (*p == '\n')
			nl_listed = 1;
		else if (*p == '-' && p[1] != ']' && lit > '\n' &&
		    p[1] != '\\' && p[1] != '[' && (unsigned char)p[1] > '\n')
			p++;	/* a range of two plain bytes above '\n' */
		else if (*p == '[' || (*p == '-' && p[1] != ']' && lit >= 0))
			unsure = 1;	/* POSIX classes, other ranges */
		else
			prev = (unsigned char)*p;
	}
	if (*p != ']')
		return *end = NULL, 1;
	*end = p + 1;
	if (neg)
		return !nl_listed;
	return nl_listed || unsure;
}

int
rx_within_line(const char *pat, unsigned flags)
{
	const char *p = pat, *e;

	if (flags & PCRE2_EXTENDED)
		return 0;
	while (*p) {
		switch (*p) {
		case '\\':
			p++;
			/* escapes of a byte class or position none of \n */
			if (*p == '\0' || !(strchr("dwbBAzZfrteahSV", *p) !=
			    NULL || !isalnum((unsigned char)*p)) || *p == '\n')
				return 0;
			p++;
			break;
		case '[':
			if (class_takes_nl(p + 1, &e) || e == NULL)
				return 0;
			p = e;
			break;
		case '.':
			return 0;	/* '\n' or not: the newline convention */
		case '(':
			if (p[1] == '*')
				return 0;	/* verbs */
			if (p[1] == '?') {
				/* groups and lookarounds, no options */
				if (strchr(":=!>", p[2]) != NULL && p[2] != '\0')
					p += 3;
				else if (p[2] == '<' && (p[3] == '=' ||
				    p[3] == '!'))
					p += 4;
				else
					return 0;
				break;
			}
			p++;
			break;
		case '\n':
			return 0;
		default:
			p++;	/* a literal byte, ^ $ | ) or a quantifier */
			break;
		}
	}
	return 1;
}

int
rx_has_anchor(const char *pat)
{
	const char *p = pat, *pe = pat + strlen(pat);

	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0' || strchr("AzZG", p[1]) != NULL)
				return 1;
			p += 2;
			continue;
		}
		if (*p == '[') {
			if ((p = class_end(p, pe)) == NULL)
				return 1;
			continue;
		}
		if (*p == '^' || *p == '$')
			return 1;
		p++;
	}
	return 0;
}

enum run_kind { RUN_LETTERS, RUN_UPPER, RUN_DIGITS };

/*
 * 1 when q opens a quantifier {n}, {n,} or {n,m}, with n in *min. PCRE2
 * (10.42) reads anything else after '{', as "{3," or "{3,x}", as literal
 * text: then the atom before it is not repeated at all.
 */
static int
quant_min(const char *q, size_t *min)
{
	char *e;
	unsigned long n;

	if (*q != '{' || !isdigit((unsigned char)q[1]))
		return 0;
	n = strtoul(q + 1, &e, 10);
	if (*e == ',')
		for (e++; isdigit((unsigned char)*e); e++)
			;
	if (*e != '}')
		return 0;
	*min = n;
	return 1;
}

/*
 * rx_letter_run(); with RUN_UPPER rx_upper_run(): then only "[A-Z]"
 * counts, in a pattern without the i flag (an inline (?i) makes the walk
 * give up, as every option setting does); with RUN_DIGITS
 * rx_digit_run(): "[0-9]" and \d count
 */
static size_t
class_run(const char *pat, unsigned flags, enum run_kind kind)
{
	static const char *const letters[] = { "[A-Z]", "[a-z]", "[a-zA-Z]",
	    "[A-Za-z]" };
	static const char *const digits[] = { "[0-9]" };
	const char *const *cls = kind == RUN_DIGITS ? digits : letters;
	const char *p = pat, *pe = pat + strlen(pat);
	int depth = 0;
	size_t best = 0, n, nlet = kind == RUN_LETTERS ? 4 : 1;

	if ((flags & PCRE2_EXTENDED) || (kind == RUN_UPPER &&
	    (flags & PCRE2_CASELESS)))
		return 0;
	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0' || p[1] == 'Q' || p[1] == 'E')
				return 0;	/* quoted text not followed */
			if (kind == RUN_DIGITS && p[1] == 'd' && depth == 0 &&
			    quant_min(p + 2, &n) && n > best)
				best = n;
			p += 2;
			continue;
		}
		if (*p == '[') {
			size_t k, kl = 0;
			const char *q;

			for (k = 0; k < nlet; k++) {
				kl = strlen(cls[k]);
				if (strncmp(p, cls[k], kl) == 0)
					break;
			}
			if ((q = class_end(p, pe)) == NULL)
				return 0;
			/* {n} {n,} {n,m}: at least n letters in a row */
			if (k < nlet && depth == 0 && q == p + kl &&
			    quant_min(q, &n) && n > best)
				best = n;
			p = q;
			continue;
		}
		if (*p == '(') {
			/* groups and lookarounds; options, verbs ... give up */
			if (p[1] == '*' || (p[1] == '?' && !(p[2] != '\0' &&
			    strchr(":=!>", p[2]) != NULL) && !(p[2] == '<' &&
			    (p[3] == '=' || p[3] == '!'))))
				return 0;
			depth++;
		} else if (*p == ')')
			depth--;
		else if (*p == '|' && depth == 0)
			return 0;
		p++;
	}
	return depth == 0 ? best : 0;
}

size_t
rx_letter_run(const char *pat, unsigned flags)
{
	return class_run(pat, flags, RUN_LETTERS);
}

size_t
rx_upper_run(const char *pat, unsigned flags)
{
	return class_run(pat, flags, RUN_UPPER);
}

size_t
rx_digit_run(const char *pat, unsigned flags)
{
	return class_run(pat, flags, RUN_DIGITS);
}

/* ---- probes: a cheaper necessary regex ---------------------------------- */

/*
 * Many obfuscation patterns start with something every position
 * satisfies, "(?:\b|\s)[_\W]{0,3}", "(?:^|\W)(?=...)(?!...)", which
 * defeats PCRE2's start-of-match optimisations: it tries the whole
 * pattern at almost every byte. If P is the concatenation A1 .. An (no
 * top-level alternation), a match of P contains a match of the suffix
 * Ak+1 .. An on the same subject (lookarounds and anchors see the same
 * bytes), so when the suffix does not match anywhere P cannot match
 * either. The suffix chosen is the one PCRE2 can search fastest: the
 * set of possible first bytes expected least often in mail text
 * (byte_freq()), when it is a third of the whole pattern's at most. Refused when the prefix could
 * change how the rest matches: backreferences, subroutine calls,
 * conditionals, \G, verbs, an option setting such as "(?i)" in the
 * prefix, the x flag.
 */
#define RX_PROBE_ATOMS	10

/* skip one top-level atom and its quantifier; NULL on anything odd */
static const char *
skip_atom(const char *p, const char *end)
{
	struct walk w;

	if (p >= end)
		return NULL;
	if (*p == '\\') {
		if (p + 1 >= end)
			return NULL;
		switch (p[1]) {
		case 'x':
			if (p + 2 < end && p[2] == '{')
				return NULL;
			p += 2;
			for (int k = 0; k < 2 && p < end && hexval((unsigned char)*p) >= 0; k++)
				p++;
			break;
		case '0':
			p += 2;
			for (int k = 0; k < 2 && p < end && *p >= '0' && *p <= '7'; k++)
				p++;
			break;
		case 'c': case 'p': case 'P': case 'Q': case 'E': case 'g': case 'k':
		case 'o': case 'N': case 'G':
			return NULL;
		default:
			if (isdigit((unsigned char)p[1]))
				return NULL;
			p += 2;
		}
	} else if (*p == '[') {
		w.p = p;
		w.end = end;
		w.giveup = 0;
		w.depth = 0;
		if (!skip_class(&w))
			return NULL;
		p = w.p;
	} else if (*p == '(') {
		int depth = 0;

		if (p + 1 < end && p[1] == '*')
			return NULL;
		while (p < end) {
			if (*p == '\\') {
				p += 2;
				continue;
			}
			if (*p == '[') {
				w.p = p;
				w.end = end;
				w.giveup = 0;
				w.depth = 0;
				if (!skip_class(&w))
					return NULL;
				p = w.p;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
			p++;
		}
		if (p >= end)
			return NULL;
		p++;
	} else if (*p == '|' || *p == ')' || *p == '*' || *p == '+' ||
	    *p == '?')
		return NULL;
	else
		p++;
	if (p > end)
		return NULL;
	w.p = p;
	w.end = end;
	w.giveup = 0;
	w.depth = 0;
	(void)quantifier(&w);
	return w.p;
}

/*
 * Expected frequency of each byte in mail text, in units of 1/10000:
 * English letter frequencies for lower case (upper case a tenth), space
 * and newline, then small flat weights for digits, punctuation and
 * bytes >= 0x80 (UTF-8 text). Only used to rank candidate probes.
 */
static double
byte_freq(int c)
{
	static const unsigned short lower[26] = {
		670, 120, 230, 350, 1040, 180, 170, 500, 570, 10, 60, 330,
		200, 560, 620, 160, 10, 500, 520, 750, 230, 80, 190, 15,
		160, 8
	};

	if (c >= 'a' && c <= 'z')
		return lower[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return lower[c - 'A'] / 10.0 + 5;
	if (c == ' ')
		return 1600;
	if (c == '\n')
		return 200;
	if (c >= '0' && c <= '9')
		return 40;
	if (c >= 0x80)
		return 10;
	if (c > ' ' && c < 0x7f)
		return 30;
	return 2;
}

/*
 * Expected share of text positions (x 10000) where PCRE2 may start a
 * match of re: the weight of its possible first bytes, everything when
 * it knows none.
 */
static double
start_density(const pcre2_code *re)
{
	uint32_t type = 0, unit = 0;
	const uint8_t *bm = NULL;
	double w = 0;

	if (pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 &&
	    type == 1 && pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODEUNIT,
	    &unit) == 0 && unit < 256) {
		/* one code unit, and maybe its other case */
		w = byte_freq((int)unit);
		if (isalpha((int)unit))
			w += byte_freq(isupper((int)unit) ?
			    tolower((int)unit) : toupper((int)unit));
		return w;
	}
	if (pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &bm) != 0 ||
	    bm == NULL)
		return 10000;
	for (int c = 0; c < 256; c++)
		if ((bm[c / 8] >> (c % 8)) & 1)
			w += byte_freq(c);
	return w < 10000 ? w : 10000;
}

/*
 * start_density() of the suffix at p, from its first atom alone when
 * that atom never matches empty (the start bytes are then the atom's):
 * compiling each of ten suffixes of a long pattern was most of the
 * probes' cost at start-up. -1 when the whole suffix must be compiled.
 */
static double
atom_density(const char *p, const char *end, unsigned flags)
{
	const char *a = skip_atom(p, end);
	uint32_t minlen = 0;
	pcre2_code *c;
	double w = -1;
	char err[128], *atom;

	if (a == NULL)
		return -1;
	atom = xstrndup(p, (size_t)(a - p));
	c = rx_compile_jit(atom, flags, 0, err, sizeof(err));
	free(atom);
	if (c == NULL)
		return -1;
	if (pcre2_pattern_info(c, PCRE2_INFO_MINLENGTH, &minlen) == 0 &&
	    minlen > 0)
		w = start_density(c);
	pcre2_code_free(c);
	return w;
}

char *
rx_probe(const char *pat, unsigned flags, const pcre2_code *re)
{
	const char *end = pat + strlen(pat), *p = pat, *best = NULL;
	const char *bad[] = { "\\G", "\\g", "\\k", "(?P=", "(?P>", "(?R",
	    "(?&", "(?(", "(*", "(?|", "\\Q", "{,", NULL };
	double bestw, w;
	char err[128];

	if (re == NULL || (flags & PCRE2_EXTENDED))
		return NULL;
	for (int i = 0; bad[i] != NULL; i++)
		if (strstr(pat, bad[i]) != NULL)
			return NULL;
	for (const char *q = pat; q + 1 < end; q++) {
		if (*q == '\\' && isdigit((unsigned char)q[1]) && q[1] != '0')
			return NULL;	/* backreference (or octal): refuse */
		if (*q == '(' && q[1] == '?' && q + 2 < end &&
		    (isdigit((unsigned char)q[2]) || q[2] == '+' ||
		    q[2] == '-'))
			return NULL;	/* (?1) (?-1) (?+1), or (?-i) */
		if (*q == '\\')
			q++;
	}
	bestw = start_density(re);
	if (bestw < 300)
		return NULL;	/* PCRE2 already searches fast enough */
	/* a top-level sequence (no '|' at the top): its atoms, one by one */
	for (const char *q = pat; q < end; ) {
		const char *n = skip_atom(q, end);

		if (n == NULL)
			return NULL;	/* includes a top-level '|' */
		q = n;
	}
	for (int k = 0; k < RX_PROBE_ATOMS; k++) {
		const char *n = skip_atom(p, end);
		pcre2_code *c;

		if (n == NULL || n >= end)
			break;
		/* an option setting applies to what follows: keep it */
		if (p[0] == '(' && p[1] == '?') {
			const char *f = opt_run(p + 2, n);

			if (f < n && *f == ')')
				break;
		}
		p = n;
		w = atom_density(p, end, flags);
		if (w < 0) {
			c = rx_compile_jit(p, flags, 0, err, sizeof(err));
			if (c == NULL)
				break;
			w = start_density(c);
			pcre2_code_free(c);
		}

		/* half the start positions at most, not most bytes */
		if (w <= 1200 && w * 2 <= bestw) {
			bestw = w;
			best = p;
		}
	}
	return best != NULL ? xstrdup(best) : NULL;
}

/* ---- start gates --------------------------------------------------------- */

/*
 * The gate of a pattern P is derived with PCRE2 itself: P compiled
 * anchored is asked with hard partial matching, for each string s of
 * one byte, then of two ... up to RX_GATE_KMAX, whether a match can
 * start with s: PCRE2_ERROR_NOMATCH means none can (a match, or
 * PCRE2_ERROR_PARTIAL, "the end of s was reached", means one may).
 * Only extensions of strings that may start a match are tried, and the
 * first byte only among those of PCRE2's start bitmap. What comes
 * before the start is supplied for the assertions that look back one
 * byte (\b, \B): s is also tried after "a", and after " " and "\n" for
 * an assertion that ^ or \A do not hold (see gate_may()); longer
 * lookbehinds make the derivation give up. A caseless pattern (the i
 * flag, no option group that could turn it off, see caseless_off(), and
 * no \p or \P, which caseless matching leaves alone) matches the same
 * whatever the ASCII case of the text: its keys are case folded, and
 * upper-case letters are not tried.
 *
 * An unanchored search tries start positions left to right and runs
 * the same backtracking at each as an anchored match there: trying the
 * anchored pattern at the positions whose next k bytes are in the set
 * (and at the last k - 1 positions, too short for a key) finds the same
 * leftmost match. Refused: verbs such as (*COMMIT) and (*SKIP), which
 * act across start positions, \G, conditionals, a pattern that can
 * match the empty string. The match limit applies per start position
 * either way (PCRE2's JIT code reloads it at each one), so a gated
 * search is bounded as the plain one is; a limit still counts as no
 * match.
 *
 * SECURITY: the texts are untrusted; the derivation reads only the
 * pattern (trusted rule files) and is bounded by RX_GATE_BUDGET; a scan
 * is one pass over the text plus anchored matches under the limits.
 */
#define RX_GATE_KMAX	4
#define RX_GATE_MAXSET	8000	/* strings kept per length at most */
#define RX_GATE_BUDGET	60000	/* partial matches tried per pattern */
#define RX_GATE_ENOUGH	0.05	/* a share of positions low enough */
#define RX_GATE_SHARE	0.1	/* the most a gate may let through */
#define RX_GATE_DENSITY	3000	/* start_density() worth a gate */
#define RX_GATE_SIZE	4096	/* compiled size worth a gate */

static inline uint32_t
gate_hash(uint32_t key)
{
	return (key * 2654435761u) >> (32 - RX_GATE_BITS);
}

static pcre2_code *
gate_compile(const char *pat, unsigned flags)
{
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	PCRE2_SIZE off;
	pcre2_code *re;
	int ec;

	pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_BAD_ESCAPE_IS_LITERAL);
	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
	    flags | PCRE2_ANCHORED, &ec, &off, cc);
	pcre2_compile_context_free(cc);
	return re;
}

/* d's hard partial match of s[off..n), JIT or not */
static int
gate_try(const pcre2_code *d, int jit, pcre2_match_data *md,
    pcre2_match_context *mc, const unsigned char *s, size_t n, size_t off)
{
	return jit ? pcre2_jit_match(d, s, n, off, PCRE2_PARTIAL_HARD, md, mc) :
	    pcre2_match(d, s, n, off, PCRE2_PARTIAL_HARD, md, mc);
}

/*
 * May a match of d (anchored) start with s[0..n)? At the start of the
 * subject the byte before counts as a non-word byte, and ^ and \A
 * hold. behind: also after a word byte ("a"); nl: also after a space
 * and after "\n", which differ from the start only for an assertion
 * that ^ or \A do not hold (a pattern need not look behind for that:
 * "(?!^)x"). circm: a multiline ^ may be tested; PCRE2 fails it after
 * a "\n" that ends the subject instead of reporting a partial match,
 * so an s ending in "\n" always may.
 */
static int
gate_may(const pcre2_code *d, int jit, pcre2_match_data *md,
    pcre2_match_context *mc, const unsigned char *s, size_t n, int behind,
    int nl, int circm)
{
	unsigned char b[1 + RX_GATE_KMAX];

	if (circm && s[n - 1] == '\n')
		return 1;
	if (gate_try(d, jit, md, mc, s, n, 0) != PCRE2_ERROR_NOMATCH)
		return 1;
	memcpy(b + 1, s, n);
	if (behind) {
		b[0] = 'a';
		if (gate_try(d, jit, md, mc, b, n + 1, 1) !=
		    PCRE2_ERROR_NOMATCH)
			return 1;
	}
	if (!nl)
		return 0;
	b[0] = ' ';
	if (gate_try(d, jit, md, mc, b, n + 1, 1) != PCRE2_ERROR_NOMATCH)
		return 1;
	b[0] = '\n';
	return gate_try(d, jit, md, mc, b, n + 1, 1) != PCRE2_ERROR_NOMATCH;
}

/* expected share of text positions a set of k-byte keys lets through */
static double
gate_share(const uint32_t *keys, size_t n, unsigned k, int fold)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 1;

		for (unsigned j = 0; j < k; j++) {
			int c = (int)((keys[i] >> (8 * j)) & 0xff);

			w *= (byte_freq(c) + (fold && c >= 'a' && c <= 'z' ?
			    byte_freq(c - 32) : 0)) / 10000.0;
		}
		sum += w;
	}
	return sum;
}

/* first[c] = 1 for each (mapped) byte c a match of re may start with */
static void
first_bytes(const pcre2_code *re, const unsigned char *map,
    unsigned char first[256])
{
	uint32_t type = 0, unit = 0;
	const uint8_t *bm = NULL;

	memset(first, 0, 256);
	if (pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 &&
	    type == 1 && pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODEUNIT,
	    &unit) == 0 && unit < 256) {
		/* which may stand for both cases (it does not say) */
		first[map[unit]] = 1;
		if (isalpha((int)unit))
			first[map[unit ^ 0x20]] = 1;
		return;
	}
	if (pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &bm) != 0 ||
	    bm == NULL) {
		memset(first, 1, 256);
		return;
	}
	for (unsigned c = 0; c < 256; c++)
		if ((bm[c / 8] >> (c % 8)) & 1)
			first[map[c]] = 1;
}

/* is the gate worth deriving: PCRE2 tries most positions, at length */
static int
gate_worth(const pcre2_code *re)
{
	uint32_t type = 0;
	size_t size = 0;

	/* a first byte, a sparse start bitmap, or line starts only */
	if (start_density(re) < RX_GATE_DENSITY ||
	    (pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) == 0 &&
	    type == 2))
		return 0;
	/* a small program fails fast at each position */
	return pcre2_pattern_info(re, PCRE2_INFO_SIZE, &size) == 0 &&
	    size >= RX_GATE_SIZE;
}

/*
 * Can an inline option group turn caseless matching off: "(?" then
 * option letters, then '-' (as "(?-i)", "(?s-i)", "(?m-i:") or '^'?
 * Conservative: any such group counts.
 */
static int
caseless_off(const char *pat)
{
	const char *end = pat + strlen(pat);

	for (const char *p = pat; (p = strstr(p, "(?")) != NULL; ) {
		const char *f = opt_run(p + 2, end);

		if (memchr(p + 2, '-', (size_t)(f - p - 2)) ||
		    memchr(p + 2, '^', (size_t)(f - p - 2)))
			return 1;
		p = f;
	}
	return 0;
}

/*
 * Can multiline matching be on: the m flag, or an inline option group
 * with an 'm' ("(?m)", "(?im:", "(?^m)"). Conservative: any such group.
 */
static int
multiline_on(const char *pat, unsigned flags)
{
	const char *end = pat + strlen(pat);

	if (flags & PCRE2_MULTILINE)
		return 1;
	for (const char *p = pat; (p = strstr(p, "(?")) != NULL; ) {
		const char *f = opt_run(p + 2, end);

		if (memchr(p + 2, 'm', (size_t)(f - p - 2)))
			return 1;
		p = f;
	}
	return 0;
}

struct rx_gate *
rx_gate_new(const char *pat, unsigned flags, const pcre2_code *re,
    int always)
{
	const char *bad[] = { "(*", "\\G", "(?<=", "(?<!", "(?(", NULL };
	uint32_t *cur, *next, *tmp, minlen = 0, behind = 0;
	size_t ncur = 1, nnext, tests = 0;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_code *d;
	struct rx_gate *g = NULL;
	unsigned char map[256], first[256];
	double share = 1;
	unsigned k = 0;
	int full = 0, fold, jit, nl, circm;

	if (re == NULL || (flags & PCRE2_EXTENDED))
		return NULL;
	for (int i = 0; bad[i] != NULL; i++)
		if (strstr(pat, bad[i]) != NULL)
			return NULL;
	if (pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &minlen) != 0 ||
	    minlen == 0 ||
	    pcre2_pattern_info(re, PCRE2_INFO_MAXLOOKBEHIND, &behind) != 0 ||
	    behind > 1 || (!always && !gate_worth(re)))
		return NULL;
	/*
	 * Caseless matching does not touch \p and \P: /\p{Lu}/i matches
	 * "A" but not "a", so folded keys would lose "A..."
	 */
	fold = (flags & PCRE2_CASELESS) && !caseless_off(pat) &&
	    strstr(pat, "\\p") == NULL && strstr(pat, "\\P") == NULL;
	for (unsigned c = 0; c < 256; c++)
		map[c] = (unsigned char)(fold && c - 'A' < 26u ? c + 32 : c);
	d = gate_compile(pat, flags);
	if (d == NULL)
		return NULL;
	jit = pcre2_jit_compile(d, PCRE2_JIT_PARTIAL_HARD) == 0;
	/* (?! with a ^ or \A somewhere: try after a line break too */
	nl = strstr(pat, "(?!") != NULL && (strchr(pat, '^') != NULL ||
	    strstr(pat, "\\A") != NULL);
	circm = strchr(pat, '^') != NULL && multiline_on(pat, flags);
	md = pcre2_match_data_create(4, NULL);
	mc = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(mc, 10000);
	first_bytes(re, map, first);
	cur = xcalloc(RX_GATE_MAXSET, sizeof(*cur));
	next = xcalloc(RX_GATE_MAXSET, sizeof(*next));
	/* here keys hold the first byte in the low bits */
	cur[0] = 0;
	for (unsigned len = 1; len <= RX_GATE_KMAX && !full; len++) {
		nnext = 0;
		for (size_t i = 0; i < ncur && !full; i++) {
			unsigned char s[RX_GATE_KMAX];

			for (unsigned j = 0; j + 1 < len; j++)
				s[j] = (unsigned char)(cur[i] >> (8 * j));
			for (unsigned c = 0; c < 256; c++) {
				if (map[c] != c || (len == 1 && !first[c]))
					continue;
				if (++tests > RX_GATE_BUDGET) {
					full = 1;
					break;
				}
				s[len - 1] = (unsigned char)c;
				if (!gate_may(d, jit, md, mc, s, len, behind > 0,
				    nl, circm))
					continue;
				if (nnext == RX_GATE_MAXSET) {
					full = 1;
					break;
				}
				next[nnext++] = cur[i] | (uint32_t)c << (8 *
				    (len - 1));
			}
		}
		if (full)
			break;
		tmp = cur;
		cur = next;
		next = tmp;
		ncur = nnext;
		k = len;
		/*
		 * narrow enough, hopeless (most positions pass with two
		 * bytes), or the next length would not fit in the budget
		 */
		share = gate_share(cur, ncur, k, fold);
		if (share < RX_GATE_ENOUGH || (k >= 2 && share > 0.5) ||
		    tests + ncur * 230 > RX_GATE_BUDGET)
			break;
	}
	if (k > 0 && (always || share < RX_GATE_SHARE)) {
		g = xcalloc(1, sizeof(*g));
		g->k = k;
		memcpy(g->map, map, sizeof(g->map));
		for (size_t i = 0; i < ncur; i++) {
			/* a scan builds keys with the first byte high */
			uint32_t key = 0, h;

			for (unsigned j = 0; j < k; j++)
				key = key << 8 | ((cur[i] >> (8 * j)) & 0xff);
			h = gate_hash(key);
			g->bits[h >> 6] |= (uint64_t)1 << (h & 63);
		}
		g->anch = gate_compile(pat, flags);
		if (g->anch == NULL || pcre2_jit_compile(g->anch,
		    PCRE2_JIT_COMPLETE) != 0) {
			rx_gate_free(g);
			g = NULL;
		}
	}
	free(cur);
	free(next);
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(d);
	return g;
}

void
rx_gate_free(struct rx_gate *g)
{
	if (g == NULL)
		return;
	pcre2_code_free(g->anch);
	free(g);
}

int
rx_gate_match(const struct rx_gate *g, const char *text, size_t len,
    size_t start, pcre2_match_data *md, pcre2_match_context *mc)
{
	const unsigned char *t = (const unsigned char *)text;
	const unsigned char *map = g->map;
	unsigned k = g->k;
	uint32_t key = 0, mask = k >= 4 ? 0xffffffffu :
	    ((uint32_t)1 << (8 * k)) - 1, h;
	size_t p = start, end = len >= k ? len - k + 1 : 0;
	int rc;

	if (p < end) {
		for (size_t i = p; i + 1 < p + k; i++)
			key = key << 8 | map[t[i]];
		for (; p < end; p++) {
			key = ((key << 8) | map[t[p + k - 1]]) & mask;
			h = gate_hash(key);
			if (((g->bits[h >> 6] >> (h & 63)) & 1) == 0)
				continue;
			rc = pcre2_jit_match(g->anch, t, len, p, 0, md, mc);
			if (rc != PCRE2_ERROR_NOMATCH)
				return rc;
		}
	}
	/* the last k - 1 positions, too short for a key */
	for (; p < len; p++) {
		rc = pcre2_jit_match(g->anch, t, len, p, 0, md, mc);
		if (rc != PCRE2_ERROR_NOMATCH)
			return rc;
	}
	return PCRE2_ERROR_NOMATCH;
}

/* ---- split searches ---------------------------------------------------- */

/*
 * The top-level '|' of pat: their offsets in bars[], at most max - 1 of
 * them. Returns the number of alternatives, 0 to give up (see
 * rx_split_new()).
 */
static size_t
split_bars(const char *pat, size_t *bars, size_t max)
{
	const char *p = pat, *pe = pat + strlen(pat);
	size_t n = 0;
	int depth = 0;

	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0' || isdigit((unsigned char)p[1]) ||
			    strchr("gkKGc", p[1]) != NULL)
				return 0;	/* references, \K, \G, \cX */
			if (p[1] == 'Q') {
				/* quoted up to \E */
				const char *e = strstr(p + 2, "\\E");

				if (e == NULL)
					return 0;
				p = e + 2;
				continue;
			}
			p += 2;
			continue;
		}
		if (*p == '[') {
			if ((p = class_end(p, pe)) == NULL)
				return 0;
			continue;
		}
		if (*p == '(') {
			if (p[1] == '*')
				return 0;	/* verbs */
			if (p[1] == '?') {
				const char *g = p + 2;

				if (*g == '#') {
					/* a comment */
					const char *e = strchr(g, ')');

					if (e == NULL)
						return 0;
					p = e + 1;
					continue;
				}
				/*
				 * Groups and lookarounds only: option
				 * settings, branch resets, conditionals,
				 * recursion and references give up.
				 */
				if (!(*g == ':' || *g == '>' || *g == '=' ||
				    *g == '!' || *g == '<' || *g == '\'' ||
				    (*g == 'P' && g[1] == '<')))
					return 0;
			}
			depth++;
			p++;
			continue;
		}
		if (*p == ')') {
			if (--depth < 0)
				return 0;
		} else if (*p == '|' && depth == 0) {
			if (n + 1 >= max)
				return 0;
			bars[n++] = (size_t)(p - pat);
		}
		p++;
	}
	return depth == 0 ? n + 1 : 0;
}

/* rx_split_new()'s key of an anchored alternative (no byte is -2 or -1) */
#define SPLIT_ANCHORED	(-2)

/* the first byte every match of re begins with, or -1 */
static int
first_unit(const pcre2_code *re)
{
	uint32_t type = 0, unit = 0;

	if (pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) != 0 ||
	    type != 1 || pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODEUNIT,
	    &unit) != 0 || unit > 255)
		return -1;
	return (int)unit;
}

#define RX_SPLIT_ALTS	32	/* alternatives looked at, at most */

struct rx_split *
rx_split_new(const char *pat, unsigned flags, const pcre2_code *re)
{
	size_t bars[RX_SPLIT_ALTS], nalt, ngroups = 0;
	int key[RX_SPLIT_ALTS], group[RX_SPLIT_ALTS];
	int gkey[RX_SPLIT_MAX][2], gw[RX_SPLIT_MAX];
	struct rx_split *s;
	char err[128];
	uint32_t opts = 0;

	if ((flags & PCRE2_EXTENDED) || first_unit(re) >= 0 ||
	    (nalt = split_bars(pat, bars, RX_SPLIT_ALTS)) < 2)
		return NULL;
	/* each alternative's first byte (case folded when caseless) */
	for (size_t i = 0; i < nalt; i++) {
		size_t a = i == 0 ? 0 : bars[i - 1] + 1;
		size_t b = i + 1 < nalt ? bars[i] : strlen(pat);
		char *alt = xstrndup(pat + a, b - a);
		pcre2_code *c = rx_compile_jit(alt, flags, 0, err, sizeof(err));

		free(alt);
		key[i] = c != NULL ? first_unit(c) : -1;
		/* anchored (\A ...): tried at the start only, a group apart */
		if (c != NULL && pcre2_pattern_info(c, PCRE2_INFO_ALLOPTIONS,
		    &opts) == 0 && (opts & PCRE2_ANCHORED))
			key[i] = SPLIT_ANCHORED;
		pcre2_code_free(c);
		if (key[i] == -1)
			return NULL;
		if ((flags & PCRE2_CASELESS) && key[i] >= 0 &&
		    isalpha(key[i]))
			key[i] = tolower(key[i]);
	}
	/*
	 * groups of at most two bytes, a caseless letter being two (and
	 * the anchored alternatives, as two)
	 */
	for (size_t i = 0; i < nalt; i++) {
		int w = key[i] == SPLIT_ANCHORED || ((flags & PCRE2_CASELESS) &&
		    key[i] >= 0 && isalpha(key[i])) ? 2 : 1;
		size_t g;

		for (g = 0; g < ngroups; g++)
			if (gkey[g][0] == key[i] || gkey[g][1] == key[i])
				break;
		if (g == ngroups)
			for (g = 0; g < ngroups; g++)
				if (gw[g] + w <= 2)
					break;
		if (g == ngroups) {
			if (ngroups == RX_SPLIT_MAX)
				return NULL;
			gkey[g][0] = gkey[g][1] = -1;
			gw[g] = 0;
			ngroups++;
		}
		if (gkey[g][0] != key[i] && gkey[g][1] != key[i]) {
			gkey[g][gkey[g][0] < 0 ? 0 : 1] = key[i];
			gw[g] += w;
		}
		group[i] = (int)g;
	}
	if (ngroups == 1)
		return NULL;	/* PCRE2 searches pat as fast itself */
	s = xcalloc(1, sizeof(*s));
	for (size_t g = 0; g < ngroups; g++) {
		char *gp = xcalloc(strlen(pat) + 1, 1);
		size_t gl = 0;

		/* the group's alternatives, in pat's order */
		for (size_t i = 0; i < nalt; i++) {
			size_t a = i == 0 ? 0 : bars[i - 1] + 1;
			size_t b = i + 1 < nalt ? bars[i] : strlen(pat);

			if (group[i] != (int)g)
				continue;
			if (gl > 0)
				gp[gl++] = '|';
			memcpy(gp + gl, pat + a, b - a);
			gl += b - a;
		}
		gp[gl] = '\0';
		s->re[s->n] = rx_compile_jit(gp, flags, 1, err, sizeof(err));
		free(gp);
		if (s->re[s->n] == NULL || !rx_has_jit(s->re[s->n])) {
			pcre2_code_free(s->re[s->n]);
			rx_split_free(s);
			return NULL;
		}
		s->n++;
	}
	return s;
}

void
rx_split_free(struct rx_split *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		pcre2_code_free(s->re[i]);
	free(s);
}

int
rx_split_match(const struct rx_split *s, const char *text, size_t len,
    pcre2_match_data *md, pcre2_match_context *mc)
{
	int limit = 0;

	for (size_t i = 0; i < s->n; i++) {
		int rc = pcre2_jit_match(s->re[i], (PCRE2_SPTR)text, len, 0,
		    0, md, mc);

		if (rc >= 0)
			return 1;	/* 0: a match with more groups than md */
		if (rc != PCRE2_ERROR_NOMATCH)
			limit = 1;
	}
	return limit ? -1 : 0;
}

/* ---- combs ------------------------------------------------------------- */

/* just past the group opening at p ('('), or NULL */
static const char *
group_end(const char *p, const char *pe)
{
	int depth = 0;

	while (*p) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return NULL;
			p += 2;
			continue;
		}
		if (*p == '[') {
			if ((p = class_end(p, pe)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

struct rx_comb *
rx_comb_new(const char *pat, unsigned flags)
{
	const char *p = pat, *pe = pat + strlen(pat);
	unsigned off = 0;
	unsigned char at[RX_COMB_SPAN];	/* the byte at each offset, or 0 */
	size_t bars[2];
	struct rx_comb *c;
	int best = -1, bestn = 0;

	if ((flags & PCRE2_EXTENDED) || split_bars(pat, bars, 2) != 1)
		return NULL;
	memset(at, 0, sizeof(at));
	while (*p && off < RX_COMB_SPAN) {
		const char *q;
		int byte = 0, width = 1;

		if (*p == '(') {
			/* lookarounds take no byte; other groups end the walk */
			if (p[1] != '?' || !(p[2] == '=' || p[2] == '!' ||
			    (p[2] == '<' && (p[3] == '=' || p[3] == '!'))))
				break;
			if ((q = group_end(p, pe)) == NULL)
				break;
			width = 0;
		} else if (*p == '[') {
			if ((q = class_end(p, pe)) == NULL)
				break;
		} else if (*p == '\\') {
			if (p[1] == 'b' || p[1] == 'B')
				width = 0;
			else if (p[1] == '\0' || (isalnum((unsigned char)p[1]) &&
			    strchr("dDwWsShHvVN", p[1]) == NULL))
				break;	/* \x, \0, \R, \p, \Q, \A, ... */
			else if (!isalnum((unsigned char)p[1]))
				byte = (unsigned char)p[1];
			q = p + 2;
		} else if (*p == '.')
			q = p + 1;
		else if (strchr("^$|)*+?{", *p) != NULL)
			break;
		else {
			byte = (unsigned char)*p;
			q = p + 1;
		}
		/* a quantified atom takes a varying number of bytes */
		if (*q == '*' || *q == '+' || *q == '?' || *q == '{')
			break;
		/* letters may fold to another case; controls and 8-bit: left */
		if (width == 1 && byte >= ' ' && byte < 0x7f &&
		    !isalpha(byte))
			at[off] = (unsigned char)byte;
		off += (unsigned)width;
		p = q;
	}
	/* the byte found at the most offsets */
	for (unsigned i = 0; i < off && i < RX_COMB_SPAN; i++) {
		int n = 0;

		if (at[i] == 0)
			continue;
		for (unsigned j = i; j < off && j < RX_COMB_SPAN; j++)
			n += at[j] == at[i];
		if (n > bestn) {
			bestn = n;
			best = (int)i;
		}
	}
	if (bestn < RX_COMB_MIN)
		return NULL;
	/*
	 * Offsets from the first: a start there holding the comb is what
	 * is looked for (a weaker condition near the text's start, as
	 * good a one)
	 */
	c = xcalloc(1, sizeof(*c));
	c->b = at[best];
	for (unsigned i = (unsigned)best; i < off && c->n < RX_COMB_MAX; i++)
		if (at[i] == c->b)
			c->off[c->n++] = i - (unsigned)best;
	return c;
}

/*
 * Bit j of the result: p[j] == b, for the n <= 64 bytes at p (bits from
 * n on are 0); a part word is read from a copy padded with zero bytes
 * (b is never 0). With SSE2, sixteen bytes a compare and a mask; without,
 * eight at a time: a byte equal to b is a zero byte of x, whose high bit
 * alone survives in z (an exact test, no carry between bytes), and the
 * eight high bits are gathered into one byte by a multiplication (as
 * rx_bytes_pack()).
 */
static uint64_t
comb_word(const unsigned char *p, size_t n, unsigned char b)
{
	unsigned char pad[64];
	uint64_t w = 0;

	if (n < 64) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, p, n);
		p = pad;
	}
#if defined(__SSE2__)
	{
		__m128i bb = _mm_set1_epi8((char)b);

		for (int k = 0; k < 4; k++) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)
			    (p + 16 * k));

			w |= (uint64_t)(uint32_t)_mm_movemask_epi8(
			    _mm_cmpeq_epi8(x, bb)) << (16 * k);
		}
	}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
		const uint64_t bb = 0x0101010101010101ULL * b;

		for (int k = 0; k < 8; k++) {
			uint64_t x, z;

			memcpy(&x, p + 8 * k, 8);
			x ^= bb;
			z = ~(((x & lo7) + lo7) | x | lo7);
			w |= (((z >> 7) * 0x0102040810204080ULL) >> 56) <<
			    (8 * k);
		}
	}
#else
	for (int j = 0; j < 64; j++)
		w |= (uint64_t)(p[j] == b) << j;
#endif
	return w;
}

/*
 * Words of "p[j] == b" bits, 64 positions each: a start j holds the
 * comb when bit j + off is set for every off (the first is 0), the bits
 * of its word shifted down and the next word's in above them
 * (0 < off < 64). Bits past the text are 0: no start there holds it.
 */
int
rx_comb_in(const struct rx_comb *c, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t nw = (len + 63) / 64;
	uint64_t cur, nxt;

	if (len <= c->off[c->n - 1])
		return 0;
	cur = comb_word(p, len < 64 ? len : 64, c->b);
	for (size_t i = 0; i < nw; i++) {
		uint64_t all = cur;

		if (i + 1 < nw) {
			size_t at = 64 * (i + 1);

			nxt = comb_word(p + at, len - at < 64 ? len - at : 64,
			    c->b);
		} else
			nxt = 0;
		for (unsigned k = 1; k < c->n && all != 0; k++)
			all &= cur >> c->off[k] | nxt << (64 - c->off[k]);
		if (all != 0)
			return 1;
		cur = nxt;
	}
	return 0;
}

/* ---- literal counts ----------------------------------------------------- */

/*
 * 0 when s (of n bytes) holds a construct that lets a group's match
 * depend on text outside it, or that this reader does not follow:
 * lookarounds and other "(?" groups but "(?:" and "(?>", verbs, back
 * references, \K, \G, \Q, \c.
 */
static int
count_plain(const char *s, size_t n)
{
	const char *p = s, *pe = s + n;

	while (p < pe) {
		if (*p == '\\') {
			if (p + 1 >= pe || isdigit((unsigned char)p[1]) ||
			    strchr("gkKGQc", p[1]) != NULL)
				return 0;
			p += 2;
			continue;
		}
		if (*p == '[') {
			if ((p = class_end(p, pe)) == NULL)
				return 0;
			continue;
		}
		if (*p == '(' && p + 1 < pe && (p[1] == '*' || (p[1] == '?' &&
		    (p + 2 >= pe || (p[2] != ':' && p[2] != '>')))))
			return 0;
		p++;
	}
	return 1;
}

struct rx_count *
rx_count_new(const char *pat, unsigned flags)
{
	const char *p = pat, *pe = pat + strlen(pat);
	struct rx_count *best = NULL;

	if ((flags & PCRE2_EXTENDED) || !count_plain(pat, strlen(pat)))
		return NULL;
	while (p < pe) {
		const char *b, *e;
		unsigned long n;
		size_t nq;
		struct rx_lits l;
		char *body;
		int ok;

		if (*p == '\\') {
			p += 2;
			continue;
		}
		if (*p == '[') {
			p = class_end(p, pe);
			continue;
		}
		if (*p == '|') {
			free(best);	/* a top-level alternative needs none */
			return NULL;
		}
		if (*p != '(') {
			p++;
			continue;
		}
		/* a group "(", "(?:" or "(?>" (count_plain() allows no other) */
		b = p[1] == '?' ? p + 3 : p + 1;
		if ((e = group_end(p, pe)) == NULL) {
			free(best);
			return NULL;
		}
		p = e;
		/*
		 * repeated at least n >= 2 times: {n}, {n,}, {n,m}, whole
		 * (PCRE2 reads "{3," with no brace as literal text)
		 */
		if (!quant_min(e, &nq))
			continue;
		n = nq;
		if (n < 2 || n > 65535 || (best != NULL && n <= best->n))
			continue;
		body = xstrndup(b, (size_t)(e - 1 - b));
		ok = rx_literals(body, flags, &l) && l.n == 1;
		free(body);
		if (!ok)
			continue;
		/* the byte searched for: the rarest one that is no letter */
		for (size_t i = 0, a = (size_t)-1; i < l.len[0]; i++) {
			int c = (unsigned char)l.s[0][i];

			if (isalpha(c) || (a != (size_t)-1 &&
			    byte_freq(c) >= byte_freq((unsigned char)
			    l.s[0][a])))
				continue;
			a = i;
			if (best == NULL)
				best = xcalloc(1, sizeof(*best));
			best->n = n;
			best->len = l.len[0];
			best->anchor = a;
			memcpy(best->s, l.s[0], l.len[0] + 1);
		}
	}
	return best;
}

/* 1 when c->s occurs (ASCII case folded) at t[st...] */
static int
count_at(const struct rx_count *c, const unsigned char *t, size_t len,
    size_t st)
{
	if (st + c->len > len)
		return 0;
	for (size_t i = 0; i < c->len; i++) {
		unsigned char x = t[st + i];

		if ((x >= 'A' && x <= 'Z' ? x + 32 : x) !=
		    (unsigned char)c->s[i])
			return 0;
	}
	return 1;
}

/*
 * The leftmost occurrences that do not overlap are the most there are:
 * counted from the left, each from the end of the one before. Starts
 * below st were looked at; next is where an occurrence may begin.
 */
int
rx_count_in(const struct rx_count *c, const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text, *at;
	unsigned char ab = (unsigned char)c->s[c->anchor];
	size_t found = 0, st = 0, next = 0, from;

#if defined(__SSE2__)
	if (c->len >= 2) {
		/* the anchor byte and its neighbour, 16 starts a step */
		size_t o2 = c->anchor > 0 ? c->anchor - 1 : c->anchor + 1;
		size_t hi = c->anchor > o2 ? c->anchor : o2;
		unsigned char b2 = (unsigned char)c->s[o2];
		const __m128i va = _mm_set1_epi8((char)ab);
		const __m128i vb = _mm_set1_epi8((char)b2);
		/* a letter of s is lowercase: bit 5 set folds the byte */
		const __m128i vf = _mm_set1_epi8(isalpha(b2) ? 0x20 : 0);

		for (; st + hi + 16 <= len; st += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const
			    void *)(t + st + c->anchor));
			__m128i y = _mm_loadu_si128((const __m128i *)(const
			    void *)(t + st + o2));
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(
			    _mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(
			    _mm_or_si128(y, vf), vb)));

			while (m != 0) {
				size_t s0 = st + (size_t)__builtin_ctz(m);

				m &= m - 1;
				if (s0 < next || !count_at(c, t, len, s0))
					continue;
				if (++found >= c->n)
					return 1;
				next = s0 + c->len;
			}
		}
	}
#endif
	from = (st > next ? st : next) + c->anchor;
	while (from < len && (at = memchr(t + from, ab, len - from)) !=
	    NULL) {
		st = (size_t)(at - t) - c->anchor;
		if (!count_at(c, t, len, st)) {
			from = (size_t)(at - t) + 1;
			continue;
		}
		if (++found >= c->n)
			return 1;
		from = st + c->len + c->anchor;
	}
	return 0;
}
