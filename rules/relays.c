/*
 * relays.c - Received headers to relays (see relays.h).
 *
 * A generic reading of "from X (COMMENT) by Y ... id Z" that covers the
 * formats of the MTAs seen in practice, not SpamAssassin's 1,000 lines of
 * special cases: lines it cannot place are counted as unparseable, as
 * SpamAssassin does, and skipped.
 *
 * Ownership: all strings are allocated in the given pool.
 * SECURITY: Received headers are attacker-controlled. Parsing is a
 * bounded left-to-right scan of NUL-terminated strings with no
 * recursion; output strings are copies with the characters SpamAssassin
 * strips replaced by '!'.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/buf.h"
#include "rules/relays.h"

#define MAX_RECEIVED	64
#define MAX_LINE	4096

/* dotted quad at s (exactly), written to out; length consumed or 0 */
static size_t
ipv4_at(const char *s, char out[16])
{
	int parts = 0;
	size_t i = 0;

	for (;;) {
		int n = 0, digits = 0;

		while (isdigit((unsigned char)s[i]) && digits < 3) {
			n = n * 10 + (s[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0 || n > 255 || isdigit((unsigned char)s[i]))
			return 0;
		if (++parts == 4)
			break;
		if (s[i] != '.')
			return 0;
		i++;
	}
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1]))
		return 0;
	if (i >= 16)
		return 0;
	memcpy(out, s, i);
	out[i] = '\0';
	return i;
}

/* 1 for 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, 0/8 */
static int
private_ab(int a, int b)
{
	return a == 10 || a == 127 || a == 0 || (a == 169 && b == 254) ||
	    (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168);
}

int
relays_private_ip(const char *ip)
{
	int a, b;

	if (sscanf(ip, "%d.%d", &a, &b) != 2)
		return 0;
	return private_ab(a, b);
}

/* relays_private_ip() of a dotted quad ipv4_at() wrote, without sscanf */
static int
private_quad(const char *ip)
{
	int a = 0, b = 0;

	while (*ip != '.')
		a = a * 10 + (*ip++ - '0');
	for (ip++; *ip != '.'; ip++)
		b = b * 10 + (*ip - '0');
	return private_ab(a, b);
}

/* isspace() in the C locale, for the strcspn() sets below */
#define WS	" \t\n\v\f\r"

/* SpamAssassin replaces [\s\0#[]()<>|] by '!' in relay fields */
static const char *
clean(struct pool *p, const char *s, size_t n)
{
	char *o;

	if (n == 0)
		return "";	/* most idents and envelope senders */
	o = pool_strndup(p, s, n);

	for (char *c = o + strcspn(o, WS "#[]()<>|"); *c;
	    c += 1 + strcspn(c + 1, WS "#[]()<>|"))
		*c = '!';
	return o;
}

/* the token at s up to whitespace or a byte of delims (given with WS) */
static size_t
toklen(const char *s, const char *delims)
{
	return strcspn(s, delims);
}

/*
 * strcasestr(s, needle) for a lowercase needle, its byte k found first
 * with strpbrk() in either case: far fewer candidates to compare than
 * strcasestr() steps (lines are short, that byte rare).
 */
static const char *
ci_find(const char *s, const char *needle, size_t k)
{
	char set[3] = { needle[k], (char)toupper((unsigned char)needle[k]),
	    '\0' };
	size_t n = strlen(needle);

	for (const char *c = strpbrk(s, set); c != NULL;
	    c = strpbrk(c + 1, set))
		if ((size_t)(c - s) >= k && strncasecmp(c - k, needle, n) == 0)
			return c - k;
	return NULL;
}

/*
 * strcasestr() of "envelope-from ", else of "envelope-from=", else of
 * "envelope-sender ", in one pass over s for their common prefix.
 */
static const char *
envelope_at(const char *s)
{
	static const char *const tail[] = { "from ", "from=", "sender " };
	const char *first[3] = { NULL, NULL, NULL }, *e;

	for (e = ci_find(s, "envelope-", 8); e != NULL;
	    e = ci_find(e + 1, "envelope-", 8))
		for (int k = 0; k < 3; k++)
			if (first[k] == NULL && strncasecmp(e + 9, tail[k],
			    strlen(tail[k])) == 0)
				first[k] = e;
	for (int k = 0; k < 3; k++)
		if (first[k] != NULL)
			return first[k];
	return NULL;
}

/* isspace() in the C locale, as a table for the collapsing loop */
static const unsigned char ws[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
};

/*
 * 1 when s holds " with local for " (a local delivery), else 2 when it
 * holds "with POP3" or "with IMAP" (a fetcher), else 0: one pass over
 * the "with " in s, where three strstr() calls each read all of it.
 */
static int
with_kind(const char *s)
{
	int fetch = 0;

	for (const char *w = strstr(s, "with "); w != NULL;
	    w = strstr(w + 5, "with ")) {
		if (w > s && w[-1] == ' ' && strncmp(w + 5, "local for ",
		    10) == 0)
			return 1;
		if (strncmp(w + 5, "POP3", 4) == 0 ||
		    strncmp(w + 5, "IMAP", 4) == 0)
			fetch = 1;
	}
	return fetch ? 2 : 0;
}

/*
 * raw into line (size bytes) with each run of whitespace as one space
 * and none leading: the length written (no NUL yet). Values come
 * unfolded, their only whitespace spaces, mostly single: then the runs
 * between double spaces are found by vector searches and copied whole.
 */
static size_t
collapse_ws(const char *raw, char *line, size_t size)
{
	size_t n = strlen(raw), i = 0;

	if (n < size && !ws[(unsigned char)raw[0]] &&
	    raw[strcspn(raw, "\t\n\v\f\r")] == '\0') {
		const char *r = raw, *dd;

		while ((dd = strstr(r, "  ")) != NULL) {
			memcpy(line + i, r, (size_t)(dd + 1 - r));
			i += (size_t)(dd + 1 - r);
			for (r = dd + 2; *r == ' '; r++)
				;
		}
		memcpy(line + i, r, (size_t)(raw + n - r));
		return i + (size_t)(raw + n - r);
	}
	for (const unsigned char *r = (const unsigned char *)raw; *r &&
	    i + 1 < size; r++) {
		if (ws[*r]) {
			if (i > 0 && line[i - 1] != ' ')
				line[i++] = ' ';
			continue;
		}
		line[i++] = (char)*r;
	}
	return i;
}

int
relays_parse_line(struct pool *p, const char *raw, struct relay *out)
{
	char line[MAX_LINE], ip[16] = "", *s;
	const char *from, *by, *id, *q, *c, *cend = NULL, *w;
	size_t n, i;
	const char *helo = "", *rdns = "", *ident = "", *envfrom = "";
	size_t helo_n = 0, rdns_n = 0, ident_n = 0, envfrom_n = 0;
	const char *auth = "";

	memset(out, 0, sizeof(*out));
	/* whitespace collapsed, trimmed */
	i = collapse_ws(raw, line, sizeof(line));
	while (i > 0 && (line[i - 1] == ' ' || line[i - 1] == ';'))
		i--;
	line[i] = '\0';
	s = line;
	if (*s == '(')
		s++;
	if (strncasecmp(s, "from ", 5) != 0)
		return 0;
	switch (with_kind(s)) {
	case 1:
		return 0;
	case 2:
		/* a mail fetcher's handover (fetchmail, getmail): not a relay */
		return 2;
	}
	from = s + 5;
	by = strstr(from, " by ");
	if (by == NULL)
		return 0;
	by += 4;
	n = toklen(by, ";()" WS);
	out->by = clean(p, by, n);
	if ((id = strstr(s, " id ")) != NULL) {
		id += 4;
		if (*id == '<')
			id++;
		n = toklen(id, "<>;" WS);
		if (n >= 3)
			out->id = clean(p, id, n);
	}
	if ((w = ci_find(s, " with ", 1)) != NULL) {
		static const char *const am[] = { "ESMTPSA", "ESMTPA",
		    "LMTPSA", "LMTPA", "ASMTP", "UTF8SMTPSA", "UTF8SMTPA",
		    NULL };
		/* the protocol: up to the end, a space or ';' */
		size_t pl = strcspn(w + 6, " ;");

		for (int k = 0; am[k]; k++)
			if (strlen(am[k]) == pl &&
			    strncasecmp(w + 6, am[k], pl) == 0) {
				auth = am[k];
				break;
			}
	}
	if ((w = envelope_at(s)) != NULL) {
		w = strpbrk(w, " =") + 1;
		while (*w == '<')
			w++;
		envfrom = w;
		envfrom_n = toklen(w, "<>();" WS);
	}

	/* first token after "from", then an optional (comment) */
	n = toklen(from, "(" WS);
	if (n > 0 && from[0] == '[')
		(void)ipv4_at(from + 1, ip);	/* from [1.2.3.4] (...) */
	q = from + n;
	while (*q == ' ')
		q++;
	if (*q == '(') {
		int depth = 0;

		c = q + 1;
		for (const char *e = q; *e && e < by - 4; e++) {
			if (*e == '(')
				depth++;
			else if (*e == ')' && --depth == 0) {
				cend = e;
				break;
			}
		}
		if (cend == NULL)
			cend = by - 4;
	} else
		c = NULL;

	if (c != NULL && (strncasecmp(c, "HELO ", 5) == 0 ||
	    strncasecmp(c, "EHLO ", 5) == 0)) {
		/* qmail: from RDNS (HELO helo) (ip) */
		rdns = from;
		rdns_n = n;
		helo = c + 5;
		helo_n = toklen(helo, ")" WS);
	} else if (c != NULL && (w = strstr(c, "helo=")) != NULL && w < cend) {
		/* Exim: from RDNS ([ip] helo=HELO) or from [ip] (helo=HELO) */
		if (from[0] != '[') {
			rdns = from;
			rdns_n = n;
		}
		helo = w + 5;
		helo_n = toklen(helo, ")" WS);
	} else if (c != NULL) {
		/* sendmail/Postfix: from HELO ([ident@]RDNS [ip]) */
		const char *t = c, *at;
		size_t tl = toklen(t, ")[" WS);

		helo = from;
		helo_n = n;
		if (tl > 0 && *t != '[' && t[tl] == ' ' && t[tl + 1] == '[') {
			at = memchr(t, '@', tl);
			if (at != NULL) {
				ident = t;
				ident_n = (size_t)(at - t);
				rdns = at + 1;
				rdns_n = tl - ident_n - 1;
			} else {
				rdns = t;
				rdns_n = tl;
			}
		} else if (*t == '[' && strstr(s, "(Exim") != NULL) {
			/* Exim, HELO equal to the verified name */
			rdns = from;
			rdns_n = n;
		} else if (tl > 0 && *t != '[' && ipv4_at(t, ip) == tl) {
			/* from RDNS (1.2.3.4) */
			rdns = from;
			rdns_n = n;
			helo = "";
			helo_n = 0;
		}
	} else {
		helo = from;
		helo_n = n;
	}
	/* the IP: the first [a.b.c.d] of the from-part, else (a.b.c.d) */
	if (ip[0] == '\0')
		for (const char *e = from; e < by - 4 && *e; e++) {
			if ((*e == '[' || *e == '(') && ipv4_at(e + 1, ip) > 0)
				break;
			ip[0] = '\0';
		}
	if (ip[0] == '\0')
		return 0;
	/* "unknown" or bracketed: no reverse DNS in the header */
	while (rdns_n > 0 && rdns[rdns_n - 1] == '.')
		rdns_n--;
	if ((rdns_n == 7 && strncasecmp(rdns, "unknown", 7) == 0) ||
	    (rdns_n > 0 && rdns[0] == '['))
		rdns_n = 0;
	out->ip = pool_strdup(p, ip);
	out->rdns = clean(p, rdns, rdns_n);
	out->helo = clean(p, helo, helo_n);
	out->ident = clean(p, ident, ident_n);
	out->envfrom = clean(p, envfrom, envfrom_n);
	if (out->id == NULL)
		out->id = "";
	out->auth = auth;
	out->private_ip = private_quad(ip);
	return 1;
}

static void
add_str(struct buf *b, const struct relay *r)
{
	/* buf_printf()'s formatting cost more than the parse */
	const char *part[] = { "[ ip=", r->ip, " rdns=", r->rdns, " helo=",
	    r->helo, " by=", r->by, " ident=", r->ident, " envfrom=",
	    r->envfrom, r->trusted ? " intl=1 id=" : " intl=0 id=", r->id,
	    " auth=", r->auth, " msa=0 ]" };
	size_t n = sizeof(part) / sizeof(part[0]), len[sizeof(part) /
	    sizeof(part[0])], total = 1;
	char *o;

	for (size_t k = 0; k < n; k++)
		total += len[k] = strlen(part[k]);
	/* the pieces straight into room reserved once */
	buf_reserve(b, total);
	o = b->p + b->len;
	if (b->len)
		*o++ = ' ';
	for (size_t k = 0; k < n; k++) {
		memcpy(o, part[k], len[k]);
		o += len[k];
	}
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

struct relays *
relays_parse(struct pool *p, const struct msg *m)
{
	struct relays *rl = pool_alloc(p, sizeof(*rl));
	struct buf tb = BUF_INIT, ub = BUF_INIT;
	int in_trusted = 1;

	/* no more relays than headers */
	rl->r = pool_allocarray(p, m->nmsg_hdrs < MAX_RECEIVED ?
	    m->nmsg_hdrs + 1 : MAX_RECEIVED, sizeof(*rl->r));
	rl->last_trusted_rcvd = -1;
	for (size_t i = 0; i < m->nmsg_hdrs && rl->nreceived < MAX_RECEIVED;
	    i++) {
		const struct msg_header *h = &m->hdrs[i];
		struct relay r;

		if ((h->name[0] | 0x20) != 'r' ||
		    strcasecmp(h->name, "Received") != 0)
			continue;
		rl->nreceived++;
		switch (relays_parse_line(p, h->value ? h->value : "", &r)) {
		case 1:
			break;
		case 2:
			if (in_trusted)
				rl->last_trusted_rcvd++;
			/* inside the trusted area a fetcher restarts the chain */
			if (in_trusted) {
				rl->n = rl->ntrusted = 0;
				buf_truncate(&tb, 0);
			}
			continue;
		default: {
			const char *v = h->value ? h->value : "";

			while (isspace((unsigned char)*v) || *v == '(')
				v++;
			/*
			 * SpamAssassin knows many more IP-less formats than
			 * this reader and skips them silently; only a "from"
			 * line without any "by" part counts as unparseable.
			 */
			if (strncasecmp(v, "from ", 5) == 0 &&
			    strstr(v, " by ") == NULL)
				rl->unparseable++;
			if (in_trusted)
				rl->last_trusted_rcvd++;
			continue;
		}
		}
		if (in_trusted && !r.private_ip && r.auth[0] == '\0')
			in_trusted = 0;
		r.trusted = in_trusted;
		if (in_trusted) {
			rl->ntrusted++;
			rl->last_trusted_rcvd++;
		}
		rl->r[rl->n++] = r;
		add_str(r.trusted ? &tb : &ub, &r);
	}
	rl->trusted_str = pool_strndup(p, buf_str(&tb), tb.len);
	rl->untrusted_str = pool_strndup(p, buf_str(&ub), ub.len);
	buf_free(&tb);
	buf_free(&ub);
	return rl;
}
