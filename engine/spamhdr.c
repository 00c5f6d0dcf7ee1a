/*
 * spamhdr.c - SpamAssassin's output, byte for byte: the X-Spam-* headers
 * (templates of SpamAssassin 4's 10_default_prefs.cf), its folding
 * (Mail::SpamAssassin::Util::wrap at 79 columns, TAB continuation), its
 * score display rule, the report lines, and the in-place tagging of a
 * message (report_safe 0).
 *
 * Ownership: returned strings live in the scan's pool; tagged messages
 * are appended to the caller's buffer.
 *
 * SECURITY: tagging walks the raw, untrusted header block line by line
 * over its full length; it copies bytes and never interprets them beyond
 * recognising header names.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "av.h"
#include "buf.h"
#include "msg.h"
#include "spamhdr.h"
#include "xalloc.h"

/* ---- SpamAssassin's wrap() -------------------------------------------- */

/* display width: a TAB counts 8 */
static size_t
wlen(const char *s, size_t n)
{
	size_t w = n;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\t')
			w += 7;
	return w;
}

/* the line being built by sa_wrap(), and its output so far */
struct wrap {
	char		*out;
	size_t		 olen, cap;
	size_t		 line0;		/* where the current line starts */
	size_t		 lw;		/* its width */
	int		 pos_mod;	/* a piece joined since it started */
	int		 started;	/* the first piece is in */
	int		 tabs;		/* the input has a TAB (width 8) */
	const char	*prefix;
	size_t		 plen, pw, length;
};

static inline void
wrap_put(struct wrap *w, const char *p, size_t n)
{
	if (w->cap - w->olen <= n) {
		w->cap = (w->olen + n + 1) * 2;
		w->out = xrealloc(w->out, w->cap);
	}
	memcpy(w->out + w->olen, p, n);
	w->olen += n;
}

/*
 * One piece: the first goes in as it is; the others join the line while
 * its width (plus the piece's, except right after a line start) stays
 * within the length, else the line loses its trailing whitespace and a
 * new one starts with the prefix, which the piece then joins.
 */
static inline void
wrap_piece(struct wrap *w, const char *p, size_t n)
{
	size_t pw = w->tabs ? wlen(p, n) : n;

	if (!w->started) {
		wrap_put(w, p, n);
		w->lw = pw;
		w->started = 1;
		return;
	}
	/* a prefix wider than the line would break forever: join */
	if (!(w->lw + (w->pos_mod ? pw : 0) <= w->length ||
	    (!w->pos_mod && w->olen - w->line0 == w->plen && w->line0 > 0))) {
		while (w->olen > w->line0 &&
		    isspace((unsigned char)w->out[w->olen - 1]))
			w->olen--;
		wrap_put(w, "\n", 1);
		w->line0 = w->olen;
		wrap_put(w, w->prefix, w->plen);
		w->lw = w->pw;
		w->pos_mod = 0;
		/* right after a break the piece always joins (line0 > 0) */
	}
	wrap_put(w, p, n);
	w->lw += pw;
	w->pos_mod = 1;
}

/*
 * wrap(string, prefix, first="", length, overflow=0, break) where break
 * is a zero-width split after any char in brk (breaks_after=1, as in
 * '(?<=[\s,])') or the captured char itself (breaks_after=0, as in
 * qr/\s/: the separator becomes its own piece).
 *
 * Perl's algorithm, in one pass over the string: it is split into pieces
 * (empty ones kept, as Perl's split keeps them; trailing empty ones
 * dropped, though never the only one), `first` before them, and each
 * piece goes to wrap_piece() as it is found. Lines are joined with "\n".
 */
static char *
sa_wrap(const char *str, const char *prefix, const char *first, size_t length,
    const char *brk, int breaks_after)
{
	size_t flen = first ? strlen(first) : 0, slen = strlen(str);
	const char *p, *seg = str, *end = str + slen;
	struct wrap w = { NULL, 0, 0, 0, 0, 0, 0, 0, prefix, 0, 0, length };
	unsigned char isbrk[256] = { 0 };

	/*
	 * All of it fits on the first line: every piece joins it, and the
	 * pieces are the whole string (dropped trailing ones are empty).
	 */
	if (wlen(first ? first : "", flen) + wlen(str, slen) <= length) {
		char *out = xmalloc(flen + slen + 1);

		if (flen)
			memcpy(out, first, flen);
		memcpy(out + flen, str, slen + 1);
		return out;
	}
	w.tabs = memchr(str, '\t', slen) != NULL ||
	    (flen && memchr(first, '\t', flen) != NULL);
	w.plen = strlen(prefix);
	w.pw = wlen(prefix, w.plen);
	w.cap = flen + slen + 64;
	w.out = xmalloc(w.cap);
	for (p = brk; *p; p++)
		isbrk[(unsigned char)*p] = 1;
	if (flen)
		wrap_piece(&w, first, flen);
	for (p = str; p < end; p++) {
		if (!isbrk[(unsigned char)*p])
			continue;
		if (breaks_after) {
			wrap_piece(&w, seg, (size_t)(p + 1 - seg));
			/* the empty capture: trailing (dropped) at the end */
			if (p + 1 < end)
				wrap_piece(&w, p + 1, 0);
		} else {
			wrap_piece(&w, seg, (size_t)(p - seg));
			wrap_piece(&w, p, 1);
		}
		seg = p + 1;
	}
	/* the rest: an empty one is trailing, unless it is the only piece */
	if (seg < end || seg == str)
		wrap_piece(&w, seg, (size_t)(end - seg));
	wrap_put(&w, "", 0);
	w.out[w.olen] = '\0';
	return w.out;
}

/* s/^\s*\n//gm : drop lines that hold only whitespace */
static void
drop_blank_lines(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		char *nl = strchr(r, '\n');
		char *q = r;
		if (nl == NULL) {
			size_t n = strlen(r);
			memmove(w, r, n);
			w += n;
			break;
		}
		while (q < nl && isspace((unsigned char)*q))
			q++;
		if (q == nl) {
			r = nl + 1;	/* blank line: gone */
			continue;
		}
		memmove(w, r, (size_t)(nl + 1 - r));
		w += nl + 1 - r;
		r = nl + 1;
	}
	*w = '\0';
}

const char *
spamhdr_fold(struct pool *p, const char *name, const char *value)
{
	char *joined, *wrapped, *data;
	const char *r;

	if (strchr(value, '\n')) {
		/* multi-line values: s/\s*\n\s*\/\n\t/g */
		struct buf b = BUF_INIT;
		const char *v = value;
		/*
		 * Line by line: a line goes in whole, then loses its trailing
		 * blanks; what follows the newline loses every blank, newlines
		 * too, as Perl's greedy \s* does: blank lines fold away.
		 */
		while (*v) {
			const char *nl = strchr(v, '\n');

			if (nl == NULL) {
				buf_adds(&b, v);
				break;
			}
			buf_add(&b, v, (size_t)(nl - v));
			while (b.len && isspace((unsigned char)b.p[b.len - 1]) &&
			    b.p[b.len - 1] != '\n')
				buf_truncate(&b, b.len - 1);
			buf_adds(&b, "\n\t");
			v = nl + 1;
			while (*v && isspace((unsigned char)*v))
				v++;
		}
		r = pool_strdup(p, buf_str(&b));
		buf_free(&b);
		return r;
	}
	{
		size_t nl = strlen(name), vl = strlen(value);

		joined = xmalloc(nl + vl + 3);
		memcpy(joined, name, nl);
		memcpy(joined + nl, "!!", 2);
		memcpy(joined + nl + 2, value, vl + 1);
	}
	wrapped = sa_wrap(joined, "\t", "", 79, " \t\r\n\f\v,", 1);
	drop_blank_lines(wrapped);
	data = strstr(wrapped, "!!");
	r = pool_strdup(p, data ? data + 2 : wrapped);
	free(joined);
	free(wrapped);
	return r;
}

/* ---- the headers -------------------------------------------------------- */

static const char *
checker_host(struct scan *s)
{
	char h[256];

	if (s->cfg->hostname && *s->cfg->hostname)
		return s->cfg->hostname;
	if (gethostname(h, sizeof(h)) != 0)
		return "localhost";
	h[sizeof(h) - 1] = '\0';
	return pool_strdup(s->pool, h);
}

/*
 * snprintf(buf, sz, "%*.*f", width, prec, x) for prec 0 or 1, without
 * printf's cost (a report writes one per rule hit). The rounding is
 * decided from the exact remainder: fma() gives a * 10^prec - q with a
 * single rounding, which cannot carry a value below one half over it,
 * and an exact tie (or what may have rounded to one), NaN, infinity and
 * large values go to snprintf itself, as does a buffer too small.
 */
static void
fmt_fixed(char *buf, size_t sz, double x, int width, int prec)
{
	double a = fabs(x), m = prec ? 10.0 : 1.0, r;
	long long q;
	char tmp[32], *t = tmp + sizeof(tmp);
	size_t n;

	if (!(a < 1e14) || sz < 24)
		goto slow;
	q = (long long)(a * m);
	r = fma(a, m, -(double)q);
	if (r < 0) {
		q--;
		r = fma(a, m, -(double)q);
	} else if (r >= 1) {
		q++;
		r = fma(a, m, -(double)q);
	}
	if (r < 0 || r >= 1 || r == 0.5)
		goto slow;
	if (r > 0.5)
		q++;
	*--t = '\0';
	if (prec) {
		*--t = (char)('0' + q % 10);
		*--t = '.';
		q /= 10;
	}
	do {
		*--t = (char)('0' + q % 10);
		q /= 10;
	} while (q > 0);
	if (signbit(x))
		*--t = '-';
	n = (size_t)(tmp + sizeof(tmp) - 1 - t);
	while (n < (size_t)width) {
		*--t = ' ';
		n++;
	}
	memcpy(buf, t, n + 1);
	return;
slow:
	snprintf(buf, sz, "%*.*f", width, prec, x);
}

/* Util::get_tag_value_for_score: a ham never shows the required score */
static const char *
score_tag(struct scan *s)
{
	char sc[64], rq[64];
	double r;

	fmt_fixed(sc, sizeof(sc), s->res.score, 2, 1);
	fmt_fixed(rq, sizeof(rq), s->res.required, 2, 1);
	if (s->res.is_spam || strtod(sc, NULL) < strtod(rq, NULL))
		return pool_strdup(s->pool, sc);
	/* Perl prints $rscore - 0.1 with %.15g */
	r = strtod(rq, NULL) - 0.1;
	snprintf(sc, sizeof(sc), "%.15g", r);
	return pool_strdup(s->pool, sc);
}

/* names of the scored tests hit, sorted as Perl's sort does */
static const char *
tests_tag(struct scan *s)
{
	const char **names = pool_allocarray(s->pool, s->res.nhits + 1,
	    sizeof(char *));
	size_t n = 0, len = 0;
	char *r, *w;

	/* binary insertion: a verdict has a few dozen names at most */
	for (size_t i = 0; i < s->res.nhits; i++) {
		const char *nm = s->res.hits[i].sym->name;
		size_t lo = 0, hi = n;

		if (s->res.hits[i].sym->flags & SYM_SUB)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(names[mid], nm) > 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		memmove(names + lo + 1, names + lo, (n - lo) * sizeof(*names));
		names[lo] = nm;
		n++;
		len += strlen(nm) + 1;
	}
	if (n == 0)
		return "none";
	w = r = pool_alloc(s->pool, len);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (i)
			*w++ = ',';
		memcpy(w, names[i], l);
		w += l;
	}
	*w = '\0';
	return r;
}

static const char *
report_tag(struct scan *s)
{
	/* the blank `first` of a report line: a tail of this, or the heap */
	static const char blanks[] =
	    "                                                                "
	    "                                                                ";
	struct buf b = BUF_INIT;
	const char *r;

	for (size_t i = 0; i < s->res.nhits; i++) {
		const struct hit *h = &s->res.hits[i];
		const struct symdef *d = h->sym;
		char sc[32];
		char *wrapped, *w, *heap = NULL;
		const char *first;
		const char *area = d->area ? d->area : "";
		const char *desc = d->desc ? d->desc : "No description available.";
		size_t fl;

		if (d->flags & SYM_SUB)
			continue;
		if (h->score >= 10 || h->score <= -10)
			fmt_fixed(sc, sizeof(sc), h->score, 4, 0);
		else
			fmt_fixed(sc, sizeof(sc), h->score, 4, 1);
		fl = 4 + strlen(d->name) + strlen(sc) + strlen(area);
		first = fl < sizeof(blanks) ? blanks + sizeof(blanks) - 1 - fl :
		    (heap = xmalloc(fl + 1));
		if (heap) {
			memset(heap, ' ', fl);
			heap[fl] = '\0';
		}
		wrapped = sa_wrap(desc, "*      ", first, 75, " \t\r\n\f\v", 0);
		w = wrapped;
		while (isspace((unsigned char)*w))
			w++;
		/* "\n* %s %s %s%s", sc, name, area, w */
		buf_adds(&b, "\n* ");
		buf_adds(&b, sc);
		buf_addc(&b, ' ');
		buf_adds(&b, d->name);
		buf_addc(&b, ' ');
		buf_adds(&b, area);
		buf_adds(&b, w);
		if (h->detail && *h->detail && !(d->flags & SYM_NOLOG)) {
			buf_adds(&b, "\n*      [");
			buf_adds(&b, h->detail);
			buf_addc(&b, ']');
		}
		free(heap);
		heap = NULL;
		free(wrapped);
	}
	r = pool_strdup(s->pool, buf_str(&b));
	buf_free(&b);
	return r;
}

/* ---- add_header (SpamAssassin's template tags) ------------------------- */

/* names hamlet always builds itself: an add_header for one is ignored */
static int
builtin_header(const char *name, size_t n)
{
	static const char *const b[] = { "Checker-Version", "Flag", "Level",
	    "Status", "Report", NULL };

	for (size_t i = 0; b[i] != NULL; i++)
		if (strlen(b[i]) == n && strncasecmp(b[i], name, n) == 0)
			return 1;
	return 0;
}

/*
 * The tag _NAME_ or _NAME(arg)_ starting at p: appends its value to b
 * and returns its length, or 0 when p starts no known tag (then it is
 * copied as written, as SpamAssassin does).
 */
static size_t
expand_tag(struct scan *s, const char *p, struct buf *b)
{
	const char *q = p + 1, *arg = "", *end;
	char name[32], abuf[16];
	size_t nl;

	while (isupper((unsigned char)*q) || isdigit((unsigned char)*q))
		q++;
	nl = (size_t)(q - p - 1);
	if (nl == 0 || nl >= sizeof(name))
		return 0;
	memcpy(name, p + 1, nl);
	name[nl] = '\0';
	if (*q == '(') {
		end = strchr(q, ')');
		if (end == NULL || (size_t)(end - q - 1) >= sizeof(abuf))
			return 0;
		memcpy(abuf, q + 1, (size_t)(end - q - 1));
		abuf[end - q - 1] = '\0';
		arg = abuf;
		q = end + 1;
	}
	if (*q != '_')
		return 0;
	if (strcmp(name, "YESNO") == 0)
		buf_adds(b, s->res.is_spam ? "Yes" : "No");
	else if (strcmp(name, "YESNOCAPS") == 0)
		buf_adds(b, s->res.is_spam ? "YES" : "NO");
	else if (strcmp(name, "SCORE") == 0) {
		/* _SCORE(0)_: 2.4 -> 02.4, _SCORE(00)_ -> 002.4 ("0" or " ") */
		const char *sc = score_tag(s);
		size_t pad = strspn(arg, "0") == strlen(arg) ||
		    strspn(arg, " ") == strlen(arg) ? strlen(arg) : 0;
		size_t ip = strcspn(sc + (*sc == '-'), ".");

		for (size_t i = ip; i < pad + 1; i++)
			buf_addc(b, *arg);
		buf_adds(b, sc);
	} else if (strcmp(name, "REQD") == 0)
		buf_printf(b, "%2.1f", s->res.required);
	else if (strcmp(name, "TESTS") == 0 ||
	    strcmp(name, "TESTSSCORES") == 0) {
		int first = 1, scores = name[5] == 'S';
		const char *names = tests_tag(s);

		if (strcmp(names, "none") == 0) {
			buf_adds(b, "none");
			return (size_t)(q + 1 - p);
		}
		/* tests_tag() sorted them; walk its list */
		for (const char *t = names; *t; ) {
			size_t tl = strcspn(t, ",");
			char nm[256];

			if (tl < sizeof(nm)) {
				const struct hit *h;

				memcpy(nm, t, tl);
				nm[tl] = '\0';
				buf_adds(b, first ? "" : (*arg ? arg : ","));
				buf_adds(b, nm);
				h = result_get(&s->res, nm, engine_symbols(s->eng));
				if (scores && h != NULL)
					buf_printf(b, "=%g", h->score);
				first = 0;
			}
			t += tl + (t[tl] == ',');
		}
	} else if (strcmp(name, "STARS") == 0) {
		int n = (int)s->res.score;

		n = n < 0 ? 0 : n > 50 ? 50 : n;
		for (int i = 0; i < n; i++)
			buf_addc(b, *arg ? *arg : '*');
	} else if (strcmp(name, "VERSION") == 0)
		buf_adds(b, HAMLET_VERSION);
	else if (strcmp(name, "SUBVERSION") == 0)
		buf_adds(b, HAMLET_DATE);
	else if (strcmp(name, "HOSTNAME") == 0)
		buf_adds(b, checker_host(s));
	else if (strcmp(name, "AUTOLEARN") == 0)
		buf_adds(b, s->res.autolearn ? s->res.autolearn : "no");
	else
		return 0;
	return (size_t)(q + 1 - p);
}

/* the add_headers lines that apply to this verdict, into out */
static size_t
extra_headers(struct scan *s, struct spamhdr *out, size_t max)
{
	const char *l = s->cfg->add_headers;
	size_t n = 0;

	while (l != NULL && *l != '\0' && n < max) {
		size_t ll = strcspn(l, "\n"), cl, hl;
		const char *c = l, *h, *t, *next = l + ll + (l[ll] == '\n');
		struct buf v = BUF_INIT;

		cl = strcspn(c, " \t\n");
		h = c + cl + strspn(c + cl, " \t");
		hl = strcspn(h, " \t\n");
		t = h + hl + strspn(h + hl, " \t");
		l = next;
		if (hl == 0 || builtin_header(h, hl) ||
		    !((cl == 3 && strncmp(c, "all", 3) == 0) ||
		    (cl == 4 && strncmp(c, "spam", 4) == 0 && s->res.is_spam) ||
		    (cl == 3 && strncmp(c, "ham", 3) == 0 && !s->res.is_spam)))
			continue;
		for (const char *p = t; p < next && *p != '\n'; ) {
			size_t k = *p == '_' ? expand_tag(s, p, &v) : 0;

			if (k == 0)
				buf_addc(&v, *p++);
			else
				p += k;
		}
		out[n].name = pool_printf(s->pool, "X-Spam-%.*s", (int)hl, h);
		out[n].value = spamhdr_fold(s->pool, out[n].name, buf_str(&v));
		buf_free(&v);
		n++;
	}
	return n;
}

size_t
spamhdr_build(struct scan *s, struct spamhdr out[SPAMHDR_MAX])
{
	size_t n = 0;
	int stars = (int)s->res.score;
	char level[51], rq[64];
	struct buf st = BUF_INIT;

	out[n].name = "X-Spam-Checker-Version";
	out[n].value = spamhdr_fold(s->pool, out[n].name, pool_printf(s->pool,
	    "hamlet %s (%s) on %s", HAMLET_VERSION, HAMLET_DATE, checker_host(s)));
	n++;
	if (s->res.is_spam) {
		out[n].name = "X-Spam-Flag";
		out[n].value = "YES";
		n++;
	}
	if (stars > 50)
		stars = 50;
	if (stars < 0)
		stars = 0;
	memset(level, '*', (size_t)stars);
	level[stars] = '\0';
	out[n].name = "X-Spam-Level";
	out[n].value = pool_strdup(s->pool, level);
	n++;
	/*
	 * "%s, score=%s required=%2.1f tests=%s autolearn=%s
	 * autolearn_force=%s version=%s", put together piece by piece: the
	 * tests list makes it too long for one cheap printf
	 */
	fmt_fixed(rq, sizeof(rq), s->res.required, 2, 1);
	buf_adds(&st, s->res.is_spam ? "Yes, score=" : "No, score=");
	buf_adds(&st, score_tag(s));
	buf_adds(&st, " required=");
	buf_adds(&st, rq);
	buf_adds(&st, " tests=");
	buf_adds(&st, tests_tag(s));
	buf_adds(&st, " autolearn=");
	buf_adds(&st, s->res.autolearn ? s->res.autolearn : "no");
	buf_adds(&st, s->res.autolearn_force ? " autolearn_force=yes" :
	    " autolearn_force=no");
	buf_adds(&st, " version=" HAMLET_VERSION);
	out[n].name = "X-Spam-Status";
	out[n].value = spamhdr_fold(s->pool, out[n].name, buf_str(&st));
	buf_free(&st);
	n++;
	if (s->res.is_spam && s->cfg->spam_report) {
		out[n].name = "X-Spam-Report";
		out[n].value = spamhdr_fold(s->pool, out[n].name, report_tag(s));
		n++;
	}
	/* X-Virus-Scanned, X-Virus-Status when ClamAV ran */
	n += av_headers(s, out + n);
	n += extra_headers(s, out + n, SPAMHDR_MAX - n);
	return n;
}

/* ---- subject rewrite ---------------------------------------------------- */

const char *
spamhdr_subject(struct scan *s, const char *old_raw)
{
	const char *tag = s->cfg->rewrite_subject;
	const char *v;
	char *enc = NULL;
	const char *r;
	size_t tl;

	if (!s->res.is_spam || tag == NULL || *tag == '\0')
		return NULL;
	/* a non-ASCII tag must itself be an encoded word */
	for (const char *p = tag; *p; p++)
		if ((unsigned char)*p >= 0x80) {
			enc = g_mime_utils_header_encode_text(NULL, tag, "utf-8");
			tag = enc;
			break;
		}
	tl = strlen(tag);
	v = old_raw ? old_raw : "";
	while (*v == ' ' || *v == '\t')
		v++;
	/* already tagged: SpamAssassin does not tag twice */
	if (strncmp(v, tag, tl) == 0 && v[tl] == ' ')
		v += tl + 1;
	r = pool_printf(s->pool, "%s %s", tag, v);
	g_free(enc);
	return r;
}

/* ---- tagging the message ------------------------------------------------ */

/* end of the line starting at i (index after its '\n', or len) */
static size_t
line_end(const char *raw, size_t i, size_t len)
{
	const char *nl = memchr(raw + i, '\n', len - i);

	return nl ? (size_t)(nl - raw) + 1 : len;
}

static int
is_cont(const char *raw, size_t i, size_t len)
{
	return i < len && (raw[i] == ' ' || raw[i] == '\t');
}

/* header name length when raw+i starts a header line, else 0 */
static size_t
header_name(const char *raw, size_t i, size_t len)
{
	return i < len ? msg_header_name_len(raw + i, len - i, NULL) : 0;
}

/* append one header, folding "\n" to the message's line ending */
static void
put_header(struct buf *out, const char *name, const char *value, int crlf)
{
	buf_adds(out, name);
	buf_adds(out, ": ");
	for (const char *p = value; *p; p++) {
		if (*p == '\n' && crlf)
			buf_addc(out, '\r');
		buf_addc(out, *p);
	}
	buf_adds(out, crlf ? "\r\n" : "\n");
}

static int
detect_crlf(const char *raw, size_t len)
{
	const char *nl = memchr(raw, '\n', len > 4096 ? 4096 : len);

	return nl && nl > raw && nl[-1] == '\r';
}

/*
 * Copy the header block, dropping X-Spam-* and inserting the given
 * headers after From_ and a leading Return-Path. subj (may be NULL) is a
 * new Subject value. Returns the offset in raw where the unchanged rest
 * (the empty line and the body) begins; the caller copies it.
 */
/* inbound headers of the names we add are removed: X-Spam-* always,
 * X-Virus-* when we add X-Virus-* ourselves */
static int
replaced_header(const char *name, size_t nl, const struct spamhdr *add,
    size_t nadd)
{
	if (msg_is_spam_header(name, nl))
		return 1;
	if (nl >= 8 && strncasecmp(name, "X-Virus-", 8) == 0)
		for (size_t k = 0; k < nadd; k++)
			if (strncasecmp(add[k].name, "X-Virus-", 8) == 0)
				return 1;
	return 0;
}

static size_t
rewrite(const char *raw, size_t len, const struct spamhdr *add, size_t nadd,
    const char *subj, struct buf *out)
{
	int crlf = detect_crlf(raw, len);
	size_t i = 0, e;
	int subject_done = subj == NULL;

	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		e = line_end(raw, 0, len);
		buf_add(out, raw, e);
		i = e;
	}
	if (header_name(raw, i, len) == 11 && strncasecmp(raw + i, "Return-Path", 11) == 0) {
		e = line_end(raw, i, len);
		while (is_cont(raw, e, len))
			e = line_end(raw, e, len);
		buf_add(out, raw + i, e - i);
		i = e;
	}
	for (size_t k = 0; k < nadd; k++)
		put_header(out, add[k].name, add[k].value, crlf);
	if (header_name(raw, i, len) == 0 && i < len && raw[i] != '\n' &&
	    !(raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')) {
		/* no header at all: keep our headers out of the first line */
		if (!subject_done)
			put_header(out, "Subject", subj, crlf);
		buf_adds(out, crlf ? "\r\n" : "\n");
		return i;
	}
	while (i < len) {
		size_t nl = header_name(raw, i, len);

		if (nl == 0) {
			/* empty line or body start: end of headers */
			break;
		}
		e = line_end(raw, i, len);
		while (is_cont(raw, e, len))
			e = line_end(raw, e, len);
		if (replaced_header(raw + i, nl, add, nadd)) {
			i = e;		/* inbound X-Spam-* (X-Virus-*): removed */
			continue;
		}
		if (!subject_done && nl == 7 && strncasecmp(raw + i, "Subject", 7) == 0) {
			buf_add(out, raw + i, 8);	/* "Subject:" as written */
			buf_addc(out, ' ');
			for (const char *p = subj; *p; p++) {
				if (*p == '\r')
					continue;
				if (*p == '\n' && crlf)
					buf_addc(out, '\r');
				buf_addc(out, *p);
			}
			/* keep the original line ending */
			buf_adds(out, crlf ? "\r\n" : "\n");
			subject_done = 1;
			i = e;
			continue;
		}
		buf_add(out, raw + i, e - i);
		i = e;
	}
	if (!subject_done)
		put_header(out, "Subject", subj, crlf);
	return i;
}

size_t
spamhdr_tag_header(struct scan *s, const char *raw, size_t len,
    struct buf *out)
{
	struct spamhdr h[SPAMHDR_MAX];
	size_t n = spamhdr_build(s, h);
	const struct msg_header *sh = msg_header(s->msg, "Subject", 0);
	const char *subj = spamhdr_subject(s, sh ? sh->raw : NULL);

	return rewrite(raw, len, h, n, subj, out);
}

void
spamhdr_tag_message(struct scan *s, const char *raw, size_t len,
    struct buf *out)
{
	size_t off = spamhdr_tag_header(s, raw, len, out);

	buf_add(out, raw + off, len - off);
}

void
spamhdr_error_message(const char *raw, size_t len, const char *why,
    struct buf *out)
{
	char clean[512];
	struct spamhdr h = { "X-Hamlet-Error", clean };
	size_t i;

	/* one header line: no control characters from error texts */
	for (i = 0; why[i] && i < sizeof(clean) - 1; i++)
		clean[i] = (unsigned char)why[i] < 32 ? ' ' : why[i];
	clean[i] = '\0';
	size_t off = rewrite(raw, len, &h, 1, NULL, out);

	buf_add(out, raw + off, len - off);
}
