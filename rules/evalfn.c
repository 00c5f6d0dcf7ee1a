/*
 * evalfn.c - native implementations of SpamAssassin eval: functions,
 * chosen by how often the SpamAssassin 4.0 rule set fires them on the
 * SpamAssassin corpus (rules/tools/sa_oracle.pl lists hits per rule).
 * Each follows the Perl function of the same name in
 * Mail::SpamAssassin::Plugin::*Eval; differences are noted inline.
 *
 * An eval returns a hit count (0 = no hit). Network evals (DNS lists,
 * Razor, Pyzor, DCC, SPF/DKIM/DMARC, which hamlet's auth module covers)
 * are known here so lint can count them apart from unknown ones.
 *
 * Thread safety: functions read the message and the shared ruleset
 * only; scratch memory comes from the scan's pool.
 * SECURITY: header values are untrusted; all parsing here is bounded by
 * the string lengths and uses no recursion.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/buf.h"
#include "engine/msg.h"
#include "rules/htmlmeta.h"
#include "rules/relays.h"
#include "rules/rfcdate.h"
#include "rules/rmatch.h"
#include "rules/ruleset.h"
#include "rules/rx.h"
#include "rules/strmap.h"
#include "rules/wlbl.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *
hget(struct rscan *rs, const char *name, unsigned mods)
{
	const char *v = rmatch_header(rs, name, mods,
	    strcasecmp(name, "EnvelopeFrom") == 0 ? HK_ENVFROM : HK_NORMAL);

	return v ? v : "";
}

/* the domain of the last address in v ("" if none), lowercased, in out */
static void
addr_domain(const char *v, char *out, size_t outlen)
{
	const char *at = NULL, *e;
	size_t n;

	out[0] = '\0';
	/* first address line only */
	e = strchr(v, '\n');
	if (e == NULL)
		e = v + strlen(v);
	for (const char *p = v; p < e; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return;
	n = (size_t)(e - at - 1);
	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)at[1 + i]);
	out[n] = '\0';
}

/* s/^.+\.([^\.]+\.[^\.]+)$/$1/ */
static const char *
second_level(const char *d)
{
	const char *last = strrchr(d, '.'), *prev = NULL;

	if (last == NULL || last == d)
		return d;
	for (const char *p = last - 1; p > d; p--)
		if (*p == '.') {
			prev = p;
			break;
		}
	return prev ? prev + 1 : d;
}

/* ---- HeaderEval ------------------------------------------------------- */

static int
check_equal_from_domains(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	char fd[256], ed[256];

	addr_domain(hget(rs, "From", HM_ADDR), fd, sizeof(fd));
	if (fd[0] == '\0')
		return 0;
	addr_domain(hget(rs, "EnvelopeFrom", 0), ed, sizeof(ed));
	if (ed[0] == '\0')
		return 0;
	return strcmp(second_level(fd), second_level(ed)) != 0;
}

static int
check_for_missing_to_header(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv)
{
	const char *to = hget(rs, "To", 0);

	if (*to == '\0')
		to = hget(rs, "Apparently-To", 0);
	return *to == '\0';
}

static int
subject_is_all_caps(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const char *s = hget(rs, "Subject", 0), *raw;
	size_t len, nletters = 0, nupper = 0;
	int sp = 0;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	/* strip reply/forward prefixes (Bug 6805) */
	for (;;) {
		static const char *const pfx[] = { "re", "fwd", "fw", "aw",
		    "antwort", "wg", "sv", "vb", "vs", "vl", NULL };
		int done = 1;

		for (int i = 0; pfx[i]; i++) {
			size_t n = strlen(pfx[i]);

			if (len > n && strncasecmp(s, pfx[i], n) == 0 &&
			    s[n] == ':') {
				s += n + 1;
				len -= n + 1;
				while (len > 0 && isspace((unsigned char)*s))
					s++, len--;
				done = 0;
				break;
			}
		}
		if (done)
			break;
	}
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)s[i]))
			sp = 1;
	if (!sp || len < 10)
		return 0;
	raw = hget(rs, "Subject", HM_RAW);
	if (strcasestr(raw, "=?big5?") || strcasestr(raw, "=?gb2312?") ||
	    strcasestr(raw, "=?iso-2022-jp?") || strcasestr(raw, "=?euc-kr?") ||
	    strcasestr(raw, "=?euc-jp?") || strcasestr(raw, "=?ks_c_5601-1987?") ||
	    strcasestr(raw, "=?shift_jis?") || strcasestr(raw, "=?koi8-r?") ||
	    strcasestr(raw, "=?gbk?") || strcasestr(raw, "=?gb18030?"))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalpha(c) && c < 0x80) {
			nletters++;
			if (isupper(c))
				nupper++;
		}
	}
	return nletters > 0 && nletters == nupper;
}

/* ---- dates ----------------------------------------------------------- */

static size_t
digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* \d+ \S\S\S \d+ \d+:\d+:\d+ \S+ at s; the end offset or 0 */
static size_t
date_tail(const char *s)
{
	size_t i = digits(s), n;

	if (i == 0 || s[i] != ' ')
		return 0;
	i++;
	for (int k = 0; k < 3; k++, i++)
		if (s[i] == '\0' || isspace((unsigned char)s[i]))
			return 0;
	if (s[i++] != ' ' || (n = digits(s + i)) == 0)
		return 0;
	i += n;
	if (s[i++] != ' ')
		return 0;
	for (int k = 0; k < 3; k++) {
		if ((n = digits(s + i)) == 0)
			return 0;
		i += n;
		if (k < 2 && s[i++] != ':')
			return 0;
	}
	if (s[i++] != ' ' || s[i] == '\0' || isspace((unsigned char)s[i]))
		return 0;
	while (s[i] && !isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* the leftmost (\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+) in s, into out */
static int
received_date(const char *s, char *out, size_t outlen)
{
	for (size_t i = 0; s[i]; i++) {
		size_t e;

		if (!isspace((unsigned char)s[i]))
			continue;
		if (s[i + 1] && s[i + 1] != '\n' &&
		    (e = date_tail(s + i + 2)) > 0)
			e += i + 2;
		else if ((e = date_tail(s + i + 1)) > 0)
			e += i + 1;
		else
			continue;
		if (e - i >= outlen)
			return 0;
		memcpy(out, s + i, e - i);
		out[e - i] = '\0';
		return 1;
	}
	return 0;
}

/* \bfrom (?:localhost\s|(?:\S+ ){1,2}\S*\b127\.0\.0\.1\b), or qmail */
static int
received_local(const char *v)
{
	const char *f;

	if (strstr(v, "qmail ") && strstr(v, " invoked by uid "))
		return 1;
	for (f = strstr(v, "from "); f != NULL; f = strstr(f + 1, "from ")) {
		const char *q = f + 5;
		int sp = 0;

		if (f > v && isalnum((unsigned char)f[-1]))
			continue;
		if (strncmp(q, "localhost", 9) == 0 &&
		    isspace((unsigned char)q[9]))
			return 1;
		for (; *q && *q != '\n' && sp <= 2; q++) {
			if (*q == ' ') {
				sp++;
				continue;
			}
			if (sp >= 1 && strncmp(q, "127.0.0.1", 9) == 0 &&
			    !isalnum((unsigned char)q[-1]) &&
			    !isdigit((unsigned char)q[9]))
				return 1;
		}
	}
	return 0;
}

static const struct msg_header *
nth_received(const struct msg *m, size_t k)
{
	return msg_header(m, "Received", k);
}

/* HeaderEval::_check_date_diff: Date minus the closest Received time */
static int
date_diff(struct rscan *rs, long long *diff)
{
	const struct msg *m = rs->msg;
	long long dt = 0, best = 0, t;
	const struct msg_header *h;
	size_t first = 0, nr = msg_header_count(m, "Received");
	long long times[64];
	size_t nt = 0;
	char d[128];
	int have = 0;

	*diff = 0;
	for (int k = 0; k < 2 && !have; k++) {
		const char *name = k == 0 ? "Resent-Date" : "Date";

		for (size_t i = 0; (h = msg_header(m, name, i)) != NULL; i++)
			if (h->value && h->value[0] &&
			    rfcdate_parse(h->value, &dt)) {
				have = 1;
				break;
			}
	}
	if (!have || nr == 0)
		return 0;
	/* a local delivery, then fetchmail, are not the sender's relays */
	h = nth_received(m, 0);
	if (h && h->value && received_local(h->value))
		first = 1;
	h = nth_received(m, first);
	if (h && h->value && strstr(h->value, "by localhost with ") &&
	    strstr(h->value, "(fetchmail-"))
		first++;
	else if (first == 1)
		first = 0;	/* SpamAssassin puts the local one back */
	for (size_t i = first; i < nr && nt < 64; i++) {
		h = nth_received(m, i);
		if (h && h->value && received_date(h->value, d, sizeof(d)) &&
		    rfcdate_parse(d, &t))
			times[nt++] = t;
	}
	if (nt == 0)
		return 0;
	if (nt > 1 && dt - times[nt - 1] == 0)
		nt--;
	best = dt - times[0];
	for (size_t i = 1; i < nt; i++) {
		long long x = dt - times[i];

		if ((x < 0 ? -x : x) < (best < 0 ? -best : best))
			best = x;
	}
	*diff = best;
	return 1;
}

static int
check_for_shifted_date(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	long long diff;

	if (argc < 2)
		return 0;
	/* a dozen DATE_IN_PAST/FUTURE rules ask: parse the dates once */
	if (!rs->date_diff_done) {
		(void)date_diff(rs, &rs->date_diff);
		rs->date_diff_done = 1;
	}
	diff = rs->date_diff;
	return (strcmp(argv[0], "undef") == 0 ||
	    diff >= 3600LL * atoll(argv[0])) &&
	    (strcmp(argv[1], "undef") == 0 || diff < 3600LL * atoll(argv[1]));
}

/* Outlook Express ids encode the send time; forged ones do not match */
static int
check_outlook_message_id(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const char *id = rmatch_header(rs, "MESSAGEID", 0, HK_MESSAGEID);
	const char *date;
	const struct msg_header *last;
	char hex[9], d[128];
	long long t = 0, tok, expected;
	size_t nr;

	if (id == NULL || id[0] != '<')
		return 0;
	for (int i = 1; i <= 30; i++) {
		int want_dollar = i == 13 || i == 22;

		if (want_dollar ? id[i] != '$' :
		    !(isdigit((unsigned char)id[i]) ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	}
	if (id[31] != '@')
		return 0;
	memcpy(hex, id + 5, 8);
	hex[8] = '\0';
	tok = strtoll(hex, NULL, 16);
	date = rmatch_header(rs, "Date", 0, HK_NORMAL);
	if (date == NULL || !rfcdate_parse(date, &t))
		t = 0;
	expected = (long long)((double)t * 0.0023283064365387 +
	    27111902.8329849);
	if (llabs(tok - expected) < 250)
		return 0;
	/* the last Received header's date; none: 0 (as SpamAssassin) */
	t = 0;
	nr = msg_header_count(rs->msg, "Received");
	last = nr ? msg_header(rs->msg, "Received", nr - 1) : NULL;
	if (last && last->value && received_date(last->value, d, sizeof(d)))
		(void)rfcdate_parse(d, &t);
	expected = (long long)((double)t * 0.0023283064365387 +
	    27111902.8329849);
	return llabs(tok - expected) >= 250;
}

/* ---- MIMEEval --------------------------------------------------------- */

static void
count_text_parts(const struct msg *m, int *html, int *text)
{
	*html = *text = 0;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->ctype == NULL || (p->flags & PART_ATTACHMENT))
			continue;
		if (strcmp(p->ctype, "text/html") == 0)
			(*html)++;
		else if (strncmp(p->ctype, "text/", 5) == 0)
			(*text)++;
	}
}

static int
check_for_mime_html(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	int html, text;

	if (strncasecmp(hget(rs, "Content-Type", 0), "text/html", 9) == 0)
		return 1;
	count_text_parts(rs->msg, &html, &text);
	return html > 0;
}

static int
check_for_mime_html_only(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	int html, text;

	if (strncasecmp(hget(rs, "Content-Type", 0), "text/html", 9) == 0)
		return 1;
	count_text_parts(rs->msg, &html, &text);
	return html > 0 && text == 0;
}

static int
check_mime_multipart_ratio(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv)
{
	const struct msg *m = rs->msg;
	size_t tl = 0, hl = 0;
	double lo, hi, ratio;

	if (argc < 2)
		return 0;
	lo = atof(argv[0]);
	hi = atof(argv[1]);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->ctype == NULL || p->text == NULL)
			continue;
		if (strcmp(p->ctype, "text/html") == 0)
			hl += p->rendered_len;
		else if (strcmp(p->ctype, "text/plain") == 0)
			tl += p->text_len;
	}
	if (hl == 0 || tl == 0)
		return 0;
	ratio = (double)tl / (double)hl;
	return ratio >= lo && ratio < hi;
}

/*
 * check_for_ascii_text_illegal: a text/plain part declared us-ascii (or
 * without charset) sent as 7bit/8bit whose bytes include NUL, a lone CR
 * or 8-bit bytes. SpamAssassin reads the encoded lines; for 7bit/8bit
 * parts those are the decoded bytes, and QP/base64 lines are ASCII.
 */
static int
check_for_ascii_text_illegal(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv)
{
	const struct msg *m = rs->msg;

	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->ctype == NULL || strcmp(p->ctype, "text/plain") != 0 ||
		    (p->charset != NULL && strcmp(p->charset, "us-ascii") != 0) ||
		    p->data == NULL || (p->flags & PART_MULTIPART))
			continue;
		if (p->encoding != NULL &&
		    (strcmp(p->encoding, "quoted-printable") == 0 ||
		    strcmp(p->encoding, "base64") == 0))
			continue;
		for (size_t k = 0; k < p->size; k++) {
			unsigned char c = p->data[k];

			if (c == 0 || c >= 0x80 || (c == '\r' &&
			    (k + 1 >= p->size || p->data[k + 1] != '\n')))
				return 1;
		}
	}
	return 0;
}

/* ---- HTMLEval (the part the message model carries) -------------------- */

/* HTML.pm's facts for each HTML part, parsed once per scan */
static size_t
html_parts(struct rscan *rs, struct htmlmeta ***out)
{
	const struct msg *m = rs->msg;

	if (!rs->html_built) {
		rs->html_built = 1;
		rs->html = pool_allocarray(rs->pool, m->nparts + 1,
		    sizeof(*rs->html));
		for (size_t i = 0; i < m->nparts; i++) {
			const struct msg_part *p = &m->parts[i];

			if (!(p->flags & PART_HTML) || p->text == NULL)
				continue;
			rs->html[rs->nhtml++] = htmlmeta_parse(rs->pool, p->text,
			    p->text_len, p->rendered ? p->rendered : "",
			    p->rendered ? p->rendered_len : 0);
		}
	}
	*out = rs->html;
	return rs->nhtml;
}

static int
html_test(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);

	if (argc < 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[0], "html") == 0)
			return 1;
		if (strcmp(argv[0], "font_face_bad") == 0 && h[i]->font_face_bad)
			return 1;
		if (strcmp(argv[0], "embeds") == 0 && h[i]->embeds)
			return 1;
		if (strcmp(argv[0], "form_action_mailto") == 0 &&
		    h[i]->form_action_mailto)
			return 1;
		if (strcmp(argv[0], "font_low_contrast") == 0 &&
		    h[i]->font_low_contrast)
			return 1;
		if (strcmp(argv[0], "font_invalid_color") == 0 &&
		    h[i]->font_invalid_color)
			return 1;
	}
	return 0;
}

/* the results html_range() can read, or -1 when not computed */
static int
html_value(const struct htmlmeta *h, const char *test, double *v)
{
	if (strcmp(test, "max_size") == 0)
		*v = (double)h->max_size;
	else if (strcmp(test, "min_size") == 0)
		*v = (double)h->min_size;
	else if (strcmp(test, "image_area") == 0)
		*v = h->image_area;
	else if (strcmp(test, "length") == 0)
		*v = h->length;
	else if (strcmp(test, "non_space_len") == 0)
		*v = h->non_space_len;
	else if (strcmp(test, "closed_extra_ratio") == 0) {
		if (h->tags == 0)
			return 0;
		*v = (double)h->closed_extra / (double)h->tags;
	} else if (strcmp(test, "bad_tag_ratio") == 0) {
		if (h->tags == 0)
			return 0;
		*v = (double)(h->tags - h->elements) / (double)h->tags;
	} else if (strcmp(test, "non_element_ratio") == 0) {
		if (h->tags_seen == 0)
			return 0;
		*v = (double)(h->tags_seen - h->elements_seen) /
		    (double)h->tags_seen;
	} else
		return -1;
	return 1;
}

static int
html_range(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);
	double min, v;

	if (argc < 2)
		return 0;
	min = atof(argv[1]);
	for (size_t i = 0; i < n; i++) {
		if (html_value(h[i], argv[0], &v) != 1)
			continue;
		if (argc < 3 || strcmp(argv[2], "inf") == 0) {
			if (v > min)
				return 1;
		} else if (v > min && v <= atof(argv[2]))
			return 1;
	}
	return 0;
}

static int
supports_html_range(int argc, char *const *argv)
{
	struct htmlmeta h;
	double v;

	memset(&h, 0, sizeof(h));
	h.tags = h.tags_seen = 1;
	return argc >= 2 && html_value(&h, argv[0], &v) == 1;
}

static int
html_image_only(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);
	long dummy;

	if (argc < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (htmlmeta_inside(h[i], "img", &dummy) &&
		    h[i]->length > atof(argv[0]) && h[i]->length <= atof(argv[1]))
			return 1;
	return 0;
}

static int
html_image_ratio(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);

	if (argc < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		double ratio;

		if (h[i]->image_area <= 0)
			continue;
		ratio = h[i]->non_space_len / h[i]->image_area;
		if (ratio > atof(argv[0]) && ratio <= atof(argv[1]))
			return 1;
	}
	return 0;
}

/* html_tag_balance(tag, "OP N") with OP one of == != < > <= >= */
static int
html_tag_balance(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);
	const char *e;
	char op[3] = "";
	long want, val;
	size_t k = 0;

	if (argc < 2)
		return 0;
	e = argv[1];
	while (isspace((unsigned char)*e))
		e++;
	while (k < 2 && strchr("<>=!", *e))
		op[k++] = *e++;
	op[k] = '\0';
	want = atol(e);
	for (size_t i = 0; i < n; i++) {
		int hit;

		if (!htmlmeta_inside(h[i], argv[0], &val))
			continue;
		if (strcmp(op, "==") == 0) hit = val == want;
		else if (strcmp(op, "!=") == 0) hit = val != want;
		else if (strcmp(op, "<") == 0) hit = val < want;
		else if (strcmp(op, ">") == 0) hit = val > want;
		else if (strcmp(op, "<=") == 0) hit = val <= want;
		else if (strcmp(op, ">=") == 0) hit = val >= want;
		else hit = 0;
		if (hit)
			return 1;
	}
	return 0;
}

static int
supports_html_tag_balance(int argc, char *const *argv)
{
	const char *e;

	if (argc < 2)
		return 0;
	for (e = argv[1]; *e; e++)
		if (!strchr("<>=!-+ 0123456789", *e))
			return 0;
	return 1;
}

/* html_text_match(field, regex) over comments, titles, anchors, scripts */
static int
html_text_match(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct htmlmeta **h;
	size_t n = html_parts(rs, &h);
	pcre2_code *re;
	pcre2_match_data *md;
	int ec, hit = 0;
	PCRE2_SIZE off;

	if (argc < 2 || n == 0)
		return 0;
	re = pcre2_compile((PCRE2_SPTR)argv[1], PCRE2_ZERO_TERMINATED, 0, &ec,
	    &off, NULL);
	if (re == NULL)
		return 0;
	md = pcre2_match_data_create(1, NULL);
	for (size_t i = 0; i < n && !hit; i++) {
		const struct htmlmeta_list *l =
		    strcmp(argv[0], "comment") == 0 ? &h[i]->comment :
		    strcmp(argv[0], "title") == 0 ? &h[i]->title :
		    strcmp(argv[0], "anchor") == 0 ? &h[i]->anchor :
		    &h[i]->script;

		for (size_t k = 0; k < l->n && !hit; k++)
			hit = pcre2_match(re, (PCRE2_SPTR)l->s[k],
			    strlen(l->s[k]), 0, 0, md, rs->mc) > 0;
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return hit;
}

static int
supports_html_text_match(int argc, char *const *argv)
{
	return argc >= 2 && (strcmp(argv[0], "comment") == 0 ||
	    strcmp(argv[0], "title") == 0 || strcmp(argv[0], "anchor") == 0 ||
	    strcmp(argv[0], "script") == 0);
}

/* html_tag_exists(tag): an opening <tag in any HTML part's source */
static int
html_tag_exists(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct msg *m = rs->msg;
	size_t tl;

	if (argc < 1 || (tl = strlen(argv[0])) == 0)
		return 0;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		const char *t = p->text, *end;

		if (!(p->flags & PART_HTML) || t == NULL)
			continue;
		end = t + p->text_len;
		for (const char *q = t; q + tl + 1 < end; q++) {
			q = memchr(q, '<', (size_t)(end - q));
			if (q == NULL || q + tl + 1 >= end)
				break;
			if (strncasecmp(q + 1, argv[0], tl) == 0 &&
			    !isalnum((unsigned char)q[1 + tl]))
				return 1;
		}
	}
	return 0;
}

/* the HTML facts htmlmeta.c computes */
static int
supports_html_test(int argc, char *const *argv)
{
	return argc >= 1 && (strcmp(argv[0], "html") == 0 ||
	    strcmp(argv[0], "font_face_bad") == 0 ||
	    strcmp(argv[0], "embeds") == 0 ||
	    strcmp(argv[0], "form_action_mailto") == 0 ||
	    strcmp(argv[0], "font_low_contrast") == 0 ||
	    strcmp(argv[0], "font_invalid_color") == 0);
}

/* ---- FreeMail --------------------------------------------------------- */

/* FreeMail wildcards: '*' is [^.]*, '?' one character, whole domain */
static int
glob_domain(const char *g, const char *d)
{
	const char *star = NULL, *mark = NULL;

	while (*d) {
		if (*g == '?' || (*g != '*' && *g == *d)) {
			g++;
			d++;
		} else if (*g == '*') {
			star = g++;
			mark = d;
		} else if (star != NULL && *mark != '.') {
			g = star + 1;
			d = ++mark;
		} else
			return 0;
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

static int
is_freemail(const struct ruleset *set, const char *dom)
{
	size_t start = 0;

	if (set->freemail_map != NULL) {
		if (strmap_get(set->freemail_map, dom) != NULL)
			return 1;
		for (size_t k = 0; k < set->nfreemail_globs; k++)
			if (glob_domain(set->freemail[set->freemail_globs[k]],
			    dom))
				return 1;
		start = set->nfreemail_mapped;	/* added by user_prefs */
	}
	for (size_t i = start; i < set->nfreemail; i++) {
		const char *f = set->freemail[i];

		if (strchr(f, '*') || strchr(f, '?')) {
			if (glob_domain(f, dom))
				return 1;
		} else if (strcmp(f, dom) == 0)
			return 1;
	}
	return 0;
}

static int
freemail_in(struct rscan *rs, const char *hdr, const char *re)
{
	const char *v = hget(rs, hdr, strcasecmp(hdr, "EnvelopeFrom") == 0 ?
	    0 : HM_ADDR);
	char dom[256];

	while (*v) {
		const char *nl = strchr(v, '\n');
		size_t n = nl ? (size_t)(nl - v) : strlen(v);
		char line[512];

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, v, n);
		line[n] = '\0';
		addr_domain(line, dom, sizeof(dom));
		if (dom[0] && is_freemail(rs->rs, dom)) {
			if (re == NULL)
				return 1;
			/* the only pattern SpamAssassin uses: \d@ */
			if (strcmp(re, "\\d@") == 0) {
				const char *at = strchr(line, '@');

				if (at > line && isdigit((unsigned char)at[-1]))
					return 1;
			} else
				return 1;
		}
		v += n;
		if (*v == '\n')
			v++;
	}
	return 0;
}

/* the addresses of a header (":addr"), lowercased, one per line */
static char *
addrs_lc(struct rscan *rs, const char *hdr)
{
	const char *v = rmatch_header(rs, hdr, HM_ADDR, HK_NORMAL);
	char *c;

	if (v == NULL)
		return NULL;
	c = pool_strdup(rs->pool, v);
	for (char *q = c; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return c;
}

static int
any_freemail(const struct ruleset *set, const char *list)
{
	char dom[256];

	while (list && *list) {
		const char *nl = strchr(list, '\n');
		size_t n = nl ? (size_t)(nl - list) : strlen(list);
		char one[512];

		if (n < sizeof(one)) {
			memcpy(one, list, n);
			one[n] = '\0';
			addr_domain(one, dom, sizeof(dom));
			if (dom[0] && is_freemail(set, dom))
				return 1;
		}
		list += n;
		if (*list == '\n')
			list++;
	}
	return 0;
}

static int
in_list_lines(const char *list, const char *a, size_t alen)
{
	while (list && *list) {
		const char *nl = strchr(list, '\n');
		size_t n = nl ? (size_t)(nl - list) : strlen(list);

		if (n == alen && memcmp(list, a, n) == 0)
			return 1;
		list += n;
		if (*list == '\n')
			list++;
	}
	return 0;
}

/*
 * FreeMail::check_freemail_replyto: From and Reply-To are different
 * freemail addresses, or (in 'reply' mode / with a freemail Reply-To) a
 * freemail mailto: link of the body differs from them. Body addresses
 * are taken from mailto: links only (SpamAssassin also scans the text).
 */
static int
check_freemail_replyto(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const char *what = argc > 0 ? argv[0] : "replyto";
	char *from = addrs_lc(rs, "From"), *rt = addrs_lc(rs, "Reply-To");
	int from_fm = any_freemail(rs->rs, from), rt_fm = any_freemail(rs->rs,
	    rt), not_in = 1;
	const char *reply;
	const struct msg *m = rs->msg;

	for (const char *f = from; f && *f;) {
		size_t n = strcspn(f, "\n");

		if (in_list_lines(rt, f, n))
			not_in = 0;
		f += n;
		if (*f == '\n')
			f++;
	}
	if (from_fm && rt_fm && not_in)
		return 1;
	if (strcmp(what, "replyto") == 0) {
		if (!rt_fm)
			return 0;
	} else if (strcmp(what, "reply") == 0) {
		if (rt != NULL && !rt_fm)
			return 0;
		if (!from_fm)
			return 0;
	} else
		return 0;
	reply = strcmp(what, "replyto") == 0 || rt_fm ? rt : from;
	for (size_t i = 0; i < m->nuris && i < 200; i++) {
		const char *u = m->uris[i].uri, *a;
		char dom[256];

		if (strncasecmp(u, "mailto:", 7) != 0 || m->uris[i].source !=
		    URI_HREF)
			continue;
		a = u + 7;
		addr_domain(a, dom, sizeof(dom));
		if (dom[0] == '\0' || !is_freemail(rs->rs, dom))
			continue;
		{
			size_t n = strcspn(a, "?");
			char *lc = pool_strndup(rs->pool, a, n);

			for (char *q = lc; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			for (const char *x = reply; x && *x;) {
				size_t xl = strcspn(x, "\n");

				if (xl != strlen(lc) || memcmp(x, lc, xl) != 0)
					return 1;
				x += xl;
				if (*x == '\n')
					x++;
			}
		}
	}
	return 0;
}

static int
check_freemail_from(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	return freemail_in(rs, "From", argc > 0 ? argv[0] : NULL);
}

static int
check_freemail_header(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	if (argc < 1)
		return 0;
	return freemail_in(rs, argv[0], argc > 1 ? argv[1] : NULL);
}

/* ---- RelayEval ------------------------------------------------------- */

static int
check_no_relays(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct relays *rl = rmatch_relays(rs);

	return rl->n == 0 && rl->unparseable == 0;
}

static int
check_all_trusted(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct relays *rl = rmatch_relays(rs);

	return rl->ntrusted > 0 && rl->n == rl->ntrusted &&
	    rl->unparseable == 0;
}

static int
check_relays_unparseable(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	return rmatch_relays(rs)->unparseable > 0;
}

/* an untrusted relay's HELO is a public IP other than its own /24 */
static int
helo_ip_mismatch(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct relays *rl = rmatch_relays(rs);

	for (size_t i = rl->ntrusted; i < rl->n; i++) {
		const struct relay *x = &rl->r[i];
		unsigned a, b, c, d;
		char pfx[16];
		int n = 0;

		if (sscanf(x->helo, "%u.%u.%u.%u%n", &a, &b, &c, &d, &n) != 4 ||
		    x->helo[n] != '\0' || relays_private_ip(x->helo))
			continue;
		if (x->private_ip || strcmp(x->helo, x->ip) == 0)
			continue;
		snprintf(pfx, sizeof(pfx), "%u.%u.%u.", a, b, c);
		if (strncmp(x->ip, pfx, strlen(pfx)) != 0)
			return 1;
	}
	return 0;
}

/* ---- recipients (HeaderEval::_check_recipients) ----------------------- */

struct recips {
	int	 sorted;
	double	 similar;
};

static int
cmp_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
check_recipients(struct rscan *rs, struct recips *out)
{
	const char *lists[2];
	const char *addr[256];
	size_t n = 0, ninputs = 0;
	const char *prev = "";
	char joined1[8192], joined2[8192];
	const char *sorted[256];

	out->sorted = 0;
	out->similar = 0;
	lists[0] = rmatch_header(rs, "ToCc", HM_ADDR, HK_TOCC);
	lists[1] = rmatch_header(rs, "Bcc", HM_ADDR, HK_NORMAL);
	for (int k = 0; k < 2; k++) {
		const char *v = lists[k];

		if (k == 1 && ninputs >= 5)
			break;
		while (v && *v && n < 256) {
			size_t l = strcspn(v, "\n");
			char *a = pool_strndup(rs->pool, v, l);

			ninputs++;
			if (strcasecmp(a, prev) != 0)
				addr[n++] = prev = a;
			v += l;
			if (*v == '\n')
				v++;
		}
	}
	if (n >= 7) {
		size_t u = 0, w = 0;

		memcpy(sorted, addr, n * sizeof(*addr));
		qsort(sorted, n, sizeof(*sorted), cmp_bytes);
		joined1[0] = joined2[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			u += (size_t)snprintf(joined1 + u, u < sizeof(joined1) ?
			    sizeof(joined1) - u : 0, "%s,", addr[i]);
			w += (size_t)snprintf(joined2 + w, w < sizeof(joined2) ?
			    sizeof(joined2) - w : 0, "%s,", sorted[i]);
		}
		out->sorted = strcmp(joined1, joined2) == 0;
	}
	if (n >= 5) {
		size_t hits = 0, comb = 0;

		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				const char *hi = strchr(addr[i], '@');
				const char *hj = strchr(addr[j], '@');

				if (strncmp(addr[i], addr[j], 2) == 0)
					hits++;	/* substr($_, 0, 2) equal */
				if (hi && hj && strncmp(hi + 1, hj + 1, 2) == 0 &&
				    strcmp(hi + 1, hj + 1) != 0)
					hits++;
				comb++;
			}
		out->similar = comb ? (double)hits / (double)comb : 0;
	}
}

static int
sorted_recipients(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct recips rc;

	check_recipients(rs, &rc);
	return rc.sorted;
}

static int
similar_recipients(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	struct recips rc;

	if (argc < 2)
		return 0;
	check_recipients(rs, &rc);
	return (strcmp(argv[0], "undef") == 0 || rc.similar >= atof(argv[0])) &&
	    (strcmp(argv[1], "undef") == 0 || rc.similar < atof(argv[1]));
}

/* distinct values of a header within [min, max] */
static int
check_header_count_range(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct msg *m = rs->msg;
	const char *seen[64];
	size_t n = 0;

	if (argc < 3)
		return 0;
	for (size_t i = 0; i < m->nmsg_hdrs && n < 64; i++) {
		const char *v = m->hdrs[i].value ? m->hdrs[i].value : "";
		size_t k;

		if (strcasecmp(m->hdrs[i].name, argv[0]) != 0)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp(seen[k], v) == 0)
				break;
		if (k == n)
			seen[n++] = v;
	}
	return (long)n >= atol(argv[1]) && (long)n <= atol(argv[2]);
}

/* check_for_to_in_subject('user'|'address') */
static int
check_for_to_in_subject(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const char *to = rmatch_header(rs, "To", HM_ADDR, HK_NORMAL);
	const char *subj = rmatch_header(rs, "Subject", 0, HK_NORMAL);
	struct buf q = BUF_INIT, pat = BUF_INIT;
	pcre2_code *re;
	pcre2_match_data *md;
	int ec, hit = 0;
	PCRE2_SIZE off;
	size_t tl;

	if (argc < 1 || to == NULL || *to == '\0')
		return 0;
	if (subj == NULL)
		subj = "";
	tl = strcspn(to, "\n");	/* the first address (scalar get) */
	if (strcmp(argv[0], "user") == 0)
		tl = strcspn(to, "@\n");
	else if (strcmp(argv[0], "address") != 0)
		return 0;
	/* \Q...\E quoting, with any \E inside split out */
	buf_adds(&q, "\\Q");
	for (size_t i = 0; i < tl; i++) {
		if (to[i] == '\\' && i + 1 < tl && to[i + 1] == 'E') {
			buf_adds(&q, "\\E\\\\E\\Q");
			i++;
			continue;
		}
		buf_addc(&q, to[i]);
	}
	buf_adds(&q, "\\E");
	if (strcmp(argv[0], "address") == 0)
		buf_printf(&pat, "\\b%s\\b", buf_str(&q));
	else
		buf_printf(&pat, "^(?:(?:re|fw):\\s*(?:\\w+\\s+)?%s$|(?-i:%s)"
		    "\\s*[,:;!?-](?:$|\\s)|%s$|,\\s*%s[,:;!?-]$)", buf_str(&q),
		    buf_str(&q), buf_str(&q), buf_str(&q));
	re = pcre2_compile((PCRE2_SPTR)buf_str(&pat), PCRE2_ZERO_TERMINATED,
	    PCRE2_CASELESS, &ec, &off, NULL);
	if (re != NULL) {
		md = pcre2_match_data_create(1, NULL);
		hit = pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, md,
		    rs->mc) > 0;
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	buf_free(&q);
	buf_free(&pat);
	return hit;
}

/* ---- forged Received headers (HeaderEval) ------------------------------ */

#define IPV4 "\\d{1,3}(?:\\.\\d{1,3}){3}"

enum {
	SRX_EZMLM, SRX_MLIST, SRX_QMAIL, SRX_MSNGROUPS, SRX_PICKUP_HOTMAIL,
	SRX_MSN_PICKUP, SRX_HM1, SRX_HM2, SRX_HM3, SRX_HM4, SRX_HM5, SRX_HM6,
	SRX_HM_FORGED, SRX_ORIGINATOR, SRX_YAHOO_FROM, SRX_YRDNS_T,
	SRX_YRDNS_U, SRX_Y1, SRX_Y2, SRX_Y3, SRX_Y4, SRX_Y5, SRX_Y6,
	SRX_YREPLY, SRX_IP, SRX_HOTMAIL_FROM, SRX_COUNT
};

static const struct { const char *re; unsigned fl; } srx_src[SRX_COUNT] = {
	[SRX_EZMLM] = { "^contact \\S+\\@\\S+\\; run by ezmlm$", PCRE2_MULTILINE },
	[SRX_MLIST] = { "^mailing list \\S+\\@\\S+", PCRE2_MULTILINE },
	[SRX_QMAIL] = { "qmail \\d+ invoked (?:from network|by .{3,20})\\); "
	    "\\d+ ... \\d+", 0 },
	[SRX_MSNGROUPS] = { "from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", 0 },
	[SRX_PICKUP_HOTMAIL] = { "from mail pickup service by hotmail\\.com "
	    "with Microsoft SMTPSVC;", 0 },
	[SRX_MSN_PICKUP] = { "from mail pickup service by ((?:p\\d\\d\\.)"
	    "groups\\.msn\\.com)\\b", 0 },
	[SRX_HM1] = { "from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail"
	    "(?:\\.msn)?\\.com[ \\)]", 0 },
	[SRX_HM2] = { "from \\S*\\.outbound\\.protection\\.outlook\\.com "
	    "\\(\\S+\\.outbound\\.protection\\.outlook\\.com[ \\)]", 0 },
	[SRX_HM3] = { "from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook\\.com "
	    "\\(" IPV4 "\\)", 0 },
	[SRX_HM4] = { "from \\S*\\.hotmail.com \\(\\[" IPV4 "\\][ \\):]", 0 },
	[SRX_HM5] = { "from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with "
	    "HTTP\\;", 0 },
	[SRX_HM6] = { "from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com", 0 },
	[SRX_HM_FORGED] = { "(?:from |HELO |helo=)\\S*hotmail\\.com\\b", 0 },
	[SRX_ORIGINATOR] = { "hotmail\\.com|msonline\\-outlook", 0 },
	[SRX_YAHOO_FROM] = { "\\byahoo\\.com$", PCRE2_CASELESS },
	[SRX_YRDNS_T] = { " rdns=\\S+\\.yahoo\\.com ", 0 },
	[SRX_YRDNS_U] = { "^[^\\]]+ rdns=\\S+\\.yahoo\\.com ", 0 },
	[SRX_Y1] = { "by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP", 0 },
	[SRX_Y2] = { "by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\.com with "
	    "HTTP", 0 },
	[SRX_Y3] = { "by smtp\\S+\\.yahoo\\.com with SMTP", 0 },
	[SRX_Y4] = { "from \\[" IPV4 "\\] by \\S+\\.(?:groups|scd|dcn)\\."
	    "yahoo\\.com with NNFMP", 0 },
	[SRX_Y5] = { "\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b", 0 },
	[SRX_Y6] = { "by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+\\/"
	    "\\d+\\.\\d+\\.\\d+\\)(?: with ESMTP)? id \\w+", 0 },
	[SRX_YREPLY] = { "\\@reply\\.yahoo\\.com$", PCRE2_CASELESS },
	[SRX_IP] = { IPV4, 0 },
	[SRX_HOTMAIL_FROM] = { "\\bhotmail\\.com$", PCRE2_CASELESS },
};

static pcre2_code *srx[SRX_COUNT];
static pthread_once_t srx_once = PTHREAD_ONCE_INIT;

/* compiled once per process, then read-only (thread-safe) */
static void
srx_init(void)
{
	char err[256];

	for (int i = 0; i < SRX_COUNT; i++)
		srx[i] = rx_compile(srx_src[i].re, srx_src[i].fl, err,
		    sizeof(err));
}

static int
sm(struct rscan *rs, int which, const char *subject)
{
	pthread_once(&srx_once, srx_init);
	if (srx[which] == NULL || subject == NULL)
		return 0;
	return pcre2_match(srx[which], (PCRE2_SPTR)subject, strlen(subject),
	    0, 0, rs->md, rs->mc) > 0;
}

/* get('Received') with runs of whitespace as one space */
static const char *
received_flat(struct rscan *rs, const char *name)
{
	const char *v = rmatch_header(rs, name, 0, HK_NORMAL);
	char *o, *w;

	if (v == NULL)
		return NULL;
	o = w = pool_strdup(rs->pool, v);
	for (const char *c = v; *c; c++) {
		if (isspace((unsigned char)*c)) {
			if (w == o || w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *c;
	}
	*w = '\0';
	return o;
}

static int
gated_through_received_hdr_remover(struct rscan *rs)
{
	const char *ml = rmatch_header(rs, "Mailing-List", 0, HK_NORMAL);
	const char *rcvd = rmatch_header(rs, "Received", 0, HK_NORMAL);

	if (ml != NULL && sm(rs, SRX_EZMLM, ml) &&
	    sm(rs, SRX_MLIST, rmatch_header(rs, "Delivered-To", 0,
	    HK_NORMAL)) && sm(rs, SRX_QMAIL, rcvd))
		return 1;
	if (rcvd == NULL)
		return 1;
	return sm(rs, SRX_MSNGROUPS, rcvd);
}

/* the first address of From (scalar get('From:addr')) */
static const char *
from_addr(struct rscan *rs)
{
	const char *v = rmatch_header(rs, "From", HM_ADDR, HK_NORMAL);

	return v ? pool_strndup(rs->pool, v, strcspn(v, "\n")) : "";
}

static int
check_for_msn_groups_headers(struct rscan *rs)
{
	const char *to = rmatch_header(rs, "To", 0, HK_NORMAL);
	const char *rcvd = rmatch_header(rs, "Received", 0, HK_NORMAL);
	const char *mid = rmatch_header(rs, "Message-Id", 0, HK_NORMAL);
	const char *p, *at;
	char list[128], server[128], want[300];
	PCRE2_SIZE *ov;

	if (to == NULL || (at = strcasestr(to, "@groups.msn.com>")) == NULL)
		return 0;
	for (p = at; p > to && p[-1] != '<' && !isspace((unsigned char)p[-1]);)
		p--;
	if (p == to || p[-1] != '<' || (size_t)(at - p) >= sizeof(list) ||
	    at == p)
		return 0;
	memcpy(list, p, (size_t)(at - p));
	list[at - p] = '\0';
	if (!sm(rs, SRX_MSN_PICKUP, rcvd))
		return 0;
	ov = pcre2_get_ovector_pointer(rs->md);
	if (ov[3] - ov[2] >= sizeof(server))
		return 0;
	memcpy(server, rcvd + ov[2], ov[3] - ov[2]);
	server[ov[3] - ov[2]] = '\0';
	if (mid == NULL || mid[0] != '<')
		return 0;
	if (strcmp(list, "notifications") == 0) {
		snprintf(want, sizeof(want), "@%s>", server);
		return strstr(mid, want) != NULL;
	}
	snprintf(want, sizeof(want), "<%s-", list);
	if (strncmp(mid, want, strlen(want)) != 0 ||
	    strstr(mid, "@groups.msn.com>") == NULL)
		return 0;
	snprintf(want, sizeof(want), "%s-bounce@groups.msn.com", list);
	p = rmatch_header(rs, "EnvelopeFrom", 0, HK_ENVFROM);
	return p != NULL && strstr(p, want) != NULL;
}

/* 1 forged hotmail Received, 2 hotmail From but no hotmail Received */
static int
forged_hotmail(struct rscan *rs)
{
	const char *rcvd = received_flat(rs, "Received");
	const char *ipv = rmatch_header(rs, "X-Originating-Ip", 0, HK_NORMAL);
	const char *orig = rmatch_header(rs, "X-OriginatorOrg", 0, HK_NORMAL);
	int ip, org;

	if (rcvd == NULL)
		rcvd = "";
	if (sm(rs, SRX_PICKUP_HOTMAIL, rcvd))
		return 0;
	if (check_for_msn_groups_headers(rs))
		return 0;
	ip = ipv != NULL && sm(rs, SRX_IP, ipv);
	org = orig != NULL && sm(rs, SRX_ORIGINATOR, orig);
	if (gated_through_received_hdr_remover(rs))
		return 0;
	if ((ip && (sm(rs, SRX_HM1, rcvd) || sm(rs, SRX_HM4, rcvd) ||
	    sm(rs, SRX_HM5, rcvd) || sm(rs, SRX_HM6, rcvd))) ||
	    (org && (sm(rs, SRX_HM2, rcvd) || sm(rs, SRX_HM3, rcvd))))
		return 0;
	if (sm(rs, SRX_HM_FORGED, rcvd))
		return 1;
	return sm(rs, SRX_HOTMAIL_FROM, from_addr(rs)) ? 2 : 0;
}

static int
check_for_forged_hotmail_received_headers(struct rscan *rs,
    const struct rule *r, int argc, char *const *argv)
{
	return forged_hotmail(rs) == 1;
}

static int
check_for_no_hotmail_received_headers(struct rscan *rs,
    const struct rule *r, int argc, char *const *argv)
{
	return forged_hotmail(rs) == 2;
}

static int
check_for_forged_yahoo_received_headers(struct rscan *rs,
    const struct rule *r, int argc, char *const *argv)
{
	const char *from = from_addr(rs), *rcvd, *rf, *rt;
	const struct relays *rl;

	if (!sm(rs, SRX_YAHOO_FROM, from))
		return 0;
	rcvd = received_flat(rs, "Received");
	rf = rmatch_header(rs, "Resent-From", 0, HK_NORMAL);
	rt = rmatch_header(rs, "Resent-To", 0, HK_NORMAL);
	if (rf && *rf && rt && *rt) {
		const char *x = received_flat(rs, "X-Received");

		if (x != NULL && *x)
			rcvd = x;
	}
	if (rcvd == NULL)
		rcvd = "";
	if (gated_through_received_hdr_remover(rs))
		return 0;
	rl = rmatch_relays(rs);
	if (sm(rs, SRX_YRDNS_T, rl->trusted_str) ||
	    sm(rs, SRX_YRDNS_U, rl->untrusted_str))
		return 0;
	if (sm(rs, SRX_Y1, rcvd) || sm(rs, SRX_Y2, rcvd) ||
	    sm(rs, SRX_Y3, rcvd) || sm(rs, SRX_Y4, rcvd))
		return 0;
	if (sm(rs, SRX_Y5, rcvd) && sm(rs, SRX_YREPLY, from))
		return 0;
	if (sm(rs, SRX_Y6, rcvd))
		return 0;
	return 1;
}

/* ---- MIME structure (MIMEEval::_check_mime_header, ImageInfo) --------- */

static int
is_ascii_charset(const char *c)
{
	static const char *const names[] = { "us-ascii", "ansi_x3.4-1968",
	    "iso-ir-6", "ansi_x3.4-1986", "iso_646.irv:1991", "ascii",
	    "iso646-us", "us", "ibm367", "cp367", "csascii", NULL };

	/* SpamAssassin matches these as substrings of the charset */
	for (int i = 0; names[i]; i++)
		if (strstr(c, names[i]) != NULL)
			return 1;
	return 0;
}

/* the MIME facts check_for_mime() reads, over every part */
static const char *const mime_tests[] = {
	"mime_base64_count", "mime_qp_count", "mime_base64_encoded_text",
	"mime_attachment", "mime_body_html_count", "mime_body_text_count",
	"mime_bad_iso_charset", "mime_multipart_alternative", NULL
};

static int
check_for_mime(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct msg *m = rs->msg;
	int b64 = 0, qp = 0, b64text = 0, att = 0, html = 0, text = 0;
	int badiso = 0, alt = 0;

	if (argc < 1)
		return 0;
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		const char *ct = p->ctype ? p->ctype : "";
		const char *cte = p->encoding ? p->encoding : "";
		const char *cs = p->charset ? p->charset : "";
		const char *cd = p->disposition ? p->disposition : "";

		if (strcmp(ct, "text/html") == 0)
			html++;
		else if (strncmp(ct, "text", 4) == 0)
			text++;
		if (strstr(cte, "base64"))
			b64++;
		else if (strstr(cte, "quoted-printable"))
			qp++;
		if (strstr(cd, "attachment"))
			att++;
		if (strncmp(ct, "text", 4) == 0 && strstr(cte, "base64") &&
		    (!*cs || is_ascii_charset(cs)) &&
		    strncmp(cd, "attachment", 10) != 0 &&
		    strncmp(cd, "inline", 6) != 0)
			b64text = 1;
		if (strncmp(cs, "iso-", 4) == 0 && strchr(cs + 4, '-') &&
		    strncmp(cs, "iso-8859-", 9) != 0 &&
		    strncmp(cs, "iso-2022-jp", 11) != 0 &&
		    strncmp(cs, "iso-2022-kr", 11) != 0)
			badiso = 1;
		if (strcmp(ct, "multipart/alternative") == 0)
			alt = 1;
	}
	if (strcmp(argv[0], "mime_base64_count") == 0) return b64 > 0;
	if (strcmp(argv[0], "mime_qp_count") == 0) return qp > 0;
	if (strcmp(argv[0], "mime_base64_encoded_text") == 0) return b64text;
	if (strcmp(argv[0], "mime_attachment") == 0) return att > 0;
	if (strcmp(argv[0], "mime_body_html_count") == 0) return html > 0;
	if (strcmp(argv[0], "mime_body_text_count") == 0) return text > 0;
	if (strcmp(argv[0], "mime_bad_iso_charset") == 0) return badiso;
	if (strcmp(argv[0], "mime_multipart_alternative") == 0) return alt;
	return 0;
}

static int
supports_check_for_mime(int argc, char *const *argv)
{
	if (argc < 1)
		return 0;
	for (int i = 0; mime_tests[i]; i++)
		if (strcmp(argv[0], mime_tests[i]) == 0)
			return 1;
	return 0;	/* QP line lengths etc. need the encoded lines */
}

/* ImageInfo::image_count(type, min[, max]): base64 gif/png/jpeg parts */
static int
image_count(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct msg *m = rs->msg;
	long n = 0, min, max = -1;

	if (argc < 2)
		return 0;
	min = atol(argv[1]);
	if (argc > 2)
		max = atol(argv[2]);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		const char *sub;

		if (p->ctype == NULL || strncmp(p->ctype, "image/", 6) != 0 ||
		    p->encoding == NULL || strcmp(p->encoding, "base64") != 0)
			continue;
		sub = p->ctype + 6;
		if (strcmp(sub, "jpg") == 0)
			sub = "jpeg";
		if (strcmp(sub, "gif") != 0 && strcmp(sub, "png") != 0 &&
		    strcmp(sub, "jpeg") != 0)
			continue;
		if (strcmp(argv[0], "all") == 0 || strcmp(argv[0], sub) == 0)
			n++;
	}
	return n >= min && (max < 0 || n <= max);
}

static int
supports_image_count(int argc, char *const *argv)
{
	return argc >= 2 && (strcmp(argv[0], "gif") == 0 ||
	    strcmp(argv[0], "png") == 0 || strcmp(argv[0], "jpeg") == 0 ||
	    strcmp(argv[0], "all") == 0);
}

/* BodyEval::check_body_length: the raw body is at most N bytes */
static int
check_body_length(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const struct msg *m = rs->msg;
	size_t body;

	if (argc < 1 || m->raw == NULL)
		return 0;
	body = m->raw_len > m->body_off ? m->raw_len - m->body_off : 0;
	return (long long)body <= atoll(argv[0]);
}

/* HeaderEval::check_for_matching_env_and_hdr_from (two blanks match) */
static int
check_for_matching_env_and_hdr_from(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv)
{
	const char *e = rmatch_header(rs, "EnvelopeFrom", 0, HK_ENVFROM);
	const char *f = rmatch_header(rs, "From", HM_ADDR, HK_NORMAL);
	size_t el = e ? strcspn(e, "\n") : 0, fl = f ? strcspn(f, "\n") : 0;

	return el == fl && (el == 0 || strncasecmp(e, f, el) == 0);
}

static int
gated_through_received_hdr_remover_eval(struct rscan *rs,
    const struct rule *r, int argc, char *const *argv)
{
	return gated_through_received_hdr_remover(rs);
}

/* ---- message parse flags (Message.pm) ------------------------------ */

/*
 * mime_epilogue_exists: after a multipart's closing boundary, text other
 * than whitespace and dots before the enclosing boundary or the end.
 */
static int
epilogue_exists(const struct msg *m)
{
	const char *raw = m->raw, *end;

	if (raw == NULL)
		return 0;
	end = raw + (m->scan_len ? m->scan_len : m->raw_len);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		char delim[256];
		const char *q, *f;
		size_t dl;

		if (!(p->flags & PART_MULTIPART) || p->boundary == NULL)
			continue;
		dl = (size_t)snprintf(delim, sizeof(delim), "\n--%s--",
		    p->boundary);
		if (dl >= sizeof(delim))
			continue;
		f = memmem(raw, (size_t)(end - raw), delim, dl);
		if (f == NULL)
			continue;
		q = memchr(f + 1, '\n', (size_t)(end - f - 1));
		while (q != NULL && q < end) {
			const char *ls = q + 1, *le = memchr(ls, '\n',
			    (size_t)(end - ls));

			if (le == NULL)
				le = end;
			if (le - ls >= 2 && ls[0] == '-' && ls[1] == '-')
				break;	/* the enclosing multipart goes on */
			for (const char *c = ls; c < le; c++)
				if (!isspace((unsigned char)*c) && *c != '.')
					return 1;
			q = le < end ? le : NULL;
		}
	}
	return 0;
}

static int
check_msg_parse_flags(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	if (argc < 1)
		return 0;
	if (strcmp(argv[0], "missing_head_body_separator") == 0)
		return (rs->msg->anomalies & MSG_NO_HEADER_END) != 0;
	if (strcmp(argv[0], "mime_epilogue_exists") == 0)
		return epilogue_exists(rs->msg);
	return 0;
}

static int
supports_msg_parse_flags(int argc, char *const *argv)
{
	return argc >= 1 && (strcmp(argv[0], "missing_head_body_separator") ==
	    0 || strcmp(argv[0], "mime_epilogue_exists") == 0);
}

/* ---- illegal characters (HeaderEval::check_illegal_chars) ----------- */

static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

static int
check_illegal_chars(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	const unsigned char *str;
	size_t len, illegal = 0, ctl = 0, high = 0, exempt = 0;
	int all;

	if (argc < 3)
		return 0;
	all = strcmp(argv[0], "ALL") == 0;
	str = (const unsigned char *)rmatch_header(rs, argv[0], HM_RAW,
	    all ? HK_ALL : HK_NORMAL);
	if (str == NULL)
		return 0;
	len = strlen((const char *)str);
	{
		size_t i;

		for (i = 0; i < len && isspace(str[i]); i++)
			;
		if (i == len)
			return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = str[i];

		if (c >= 0x80)
			high++;
		if (c <= 0x08 || c == 0x0b || c == 0x0c ||
		    (c >= 0x0e && c <= 0x1f)) {
			ctl++;
			illegal++;
		} else if (c >= 0x7f)
			illegal++;
		if (c == 0xa2 || c == 0xa3 || c == 0xae)
			exempt++;
	}
	if (high > 0 && valid_utf8(str, len) && ctl == 0)
		return 0;
	if (illegal > 0 && strcasecmp(argv[0], "Subject") == 0 && exempt == 1)
		illegal--;
	return (double)illegal / (double)len >= atof(argv[1]) &&
	    (double)illegal >= atof(argv[2]);
}

/* ---- registry --------------------------------------------------------- */

struct evalent {
	const char	*name;
	evalfn		*fn;
	int		(*supports)(int argc, char *const *argv);	/* or NULL */
};

static const struct evalent table[] = {
	{ "check_equal_from_domains", check_equal_from_domains, NULL },
	{ "check_for_shifted_date", check_for_shifted_date, NULL },
	{ "check_outlook_message_id", check_outlook_message_id, NULL },
	{ "check_for_missing_to_header", check_for_missing_to_header, NULL },
	{ "subject_is_all_caps", subject_is_all_caps, NULL },
	{ "check_for_mime_html", check_for_mime_html, NULL },
	{ "check_for_mime_html_only", check_for_mime_html_only, NULL },
	{ "check_mime_multipart_ratio", check_mime_multipart_ratio, NULL },
	{ "check_for_ascii_text_illegal", check_for_ascii_text_illegal, NULL },
	{ "html_test", html_test, supports_html_test },
	{ "html_tag_exists", html_tag_exists, NULL },
	{ "html_range", html_range, supports_html_range },
	{ "html_image_only", html_image_only, NULL },
	{ "html_image_ratio", html_image_ratio, NULL },
	{ "html_tag_balance", html_tag_balance, supports_html_tag_balance },
	{ "html_text_match", html_text_match, supports_html_text_match },
	{ "check_freemail_from", check_freemail_from, NULL },
	{ "check_freemail_header", check_freemail_header, NULL },
	{ "check_freemail_replyto", check_freemail_replyto, NULL },
	{ "check_no_relays", check_no_relays, NULL },
	{ "check_all_trusted", check_all_trusted, NULL },
	{ "check_relays_unparseable", check_relays_unparseable, NULL },
	{ "helo_ip_mismatch", helo_ip_mismatch, NULL },
	{ "sorted_recipients", sorted_recipients, NULL },
	{ "similar_recipients", similar_recipients, NULL },
	{ "check_header_count_range", check_header_count_range, NULL },
	{ "check_for_to_in_subject", check_for_to_in_subject, NULL },
	{ "check_for_forged_hotmail_received_headers",
	    check_for_forged_hotmail_received_headers, NULL },
	{ "check_for_no_hotmail_received_headers",
	    check_for_no_hotmail_received_headers, NULL },
	{ "check_for_forged_yahoo_received_headers",
	    check_for_forged_yahoo_received_headers, NULL },
	{ "check_from_in_welcomelist", wlbl_from_in_welcomelist, NULL },
	{ "check_from_in_whitelist", wlbl_from_in_welcomelist, NULL },
	{ "check_from_in_blocklist", wlbl_from_in_blocklist, NULL },
	{ "check_from_in_blacklist", wlbl_from_in_blocklist, NULL },
	{ "check_for_mime", check_for_mime, supports_check_for_mime },
	{ "image_count", image_count, supports_image_count },
	{ "check_body_length", check_body_length, NULL },
	{ "check_for_matching_env_and_hdr_from",
	    check_for_matching_env_and_hdr_from, NULL },
	{ "gated_through_received_hdr_remover",
	    gated_through_received_hdr_remover_eval, NULL },
	{ "check_illegal_chars", check_illegal_chars, NULL },
	{ "check_msg_parse_flags", check_msg_parse_flags,
	    supports_msg_parse_flags },
	{ NULL, NULL, NULL }
};

/* network evals: DNS lists, digests, and what hamlet's auth module does */
static const char *const net_prefixes[] = {
	"check_rbl", "check_dns", "check_uridnsbl", "check_razor",
	"check_pyzor", "check_dcc", "check_spf", "check_for_spf",
	"check_dkim", "check_arc", "check_dmarc", "check_hashbl",
	"check_askdns", "check_uri_host_listed", "check_rbl_", "check_asn",
	"check_rcvd_", "check_for_def_dkim", "check_for_dkim",
	"check_adsp", "check_uridnsbl", "check_senders_reputation",
	"check_txrep", "check_in_", "check_from_in_auto", "check_microsoft",
	NULL
};

int
evalfn_supports(const char *name, int argc, char *const *argv)
{
	for (size_t i = 0; table[i].name != NULL; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].supports == NULL ||
			    table[i].supports(argc, argv);
	return 0;
}

evalfn *
evalfn_lookup(const char *name, int *is_net)
{
	*is_net = 0;
	for (size_t i = 0; table[i].name != NULL; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].fn;
	for (size_t i = 0; net_prefixes[i] != NULL; i++)
		if (strncmp(name, net_prefixes[i], strlen(net_prefixes[i])) == 0)
			*is_net = 1;
	return NULL;
}
