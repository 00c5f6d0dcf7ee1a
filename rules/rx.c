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

/* keep the better of best and cand (longer shortest literal, fewer) */
static void
req_consider(struct req *best, const struct req *cand)
{
	size_t a, b;

	if (cand->n == 0)
		return;
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

static void parse_alt(struct walk *w, struct req *out);

/* skip a character class starting at '['; 0 on malformed */
static int
skip_class(struct walk *w)
{
	const char *p = w->p + 1;

	if (p < w->end && *p == '^')
		p++;
	if (p < w->end && *p == ']')
		p++;
	while (p < w->end && *p != ']') {
		if (*p == '\\' && p + 1 < w->end)
			p += 2;
		else if (*p == '[' && p + 1 < w->end && p[1] == ':') {
			const char *c = strstr(p + 2, ":]");

			if (c == NULL || c >= w->end)
				return 0;
			p = c + 2;
		} else
			p++;
	}
	if (p >= w->end)
		return 0;
	w->p = p + 1;
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
					const char *f = g;

					while (f < w->end && (isalpha(
					    (unsigned char)*f) || *f == '-' ||
					    *f == '^')) {
						if (*f == 'x') {
							w->giveup = 1;
							break;
						}
						f++;
					}
					if (w->giveup || f >= w->end)
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
