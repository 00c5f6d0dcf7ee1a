/*
 * uri.c - find URIs in text, normalize URIs and hosts.
 *
 * No allocation except through the caller's struct buf. Linear in the
 * input; URIs longer than URI_MAX_LEN are cut.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "uri.h"

static const struct {
	const char *s;
	size_t n;
} schemes[] = {
	{ "http://", 7 }, { "https://", 8 }, { "ftp://", 6 }, { "mailto:", 7 },
};

/* characters that end a URI in running text */
static int
uri_stop(unsigned char c)
{
	return c <= ' ' || c == '<' || c == '>' || c == '"' || c == '`' ||
	    c == '{' || c == '}' || c == '|' || c == '\\' || c == '^' ||
	    c >= 0x7f;
}

static size_t
uri_end(const char *t, size_t i, size_t len)
{
	size_t j = i;

	while (j < len && j - i < URI_MAX_LEN && !uri_stop((unsigned char)t[j]))
		j++;
	/* trailing punctuation belongs to the sentence, not the URI */
	while (j > i && strchr(".,;:!?)]'*", t[j - 1]))
		j--;
	return j;
}

/* bytes that can start a URI in running text: a scheme's or "www."'s first */
static const unsigned char uri_first[256] = {
	['h'] = 1, ['H'] = 1, ['f'] = 1, ['F'] = 1,
	['m'] = 1, ['M'] = 1, ['w'] = 1, ['W'] = 1,
};

/* t starts with lower (lowercase ASCII), ignoring the case of letters */
static int
prefix_ci(const char *t, const char *lower, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)t[k];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (c != (unsigned char)lower[k])
			return 0;
	}
	return 1;
}

/*
 * The entry of schemes[] that t (rest bytes, more than the scheme's
 * length) starts with, or -1. Only one can match: they differ in the
 * first letter or, for http/https, the fifth.
 */
static int
scheme_at(const char *t, size_t rest)
{
	switch (t[0]) {
	case 'h': case 'H':
		if (rest > 7 && prefix_ci(t, "http://", 7))
			return 0;
		if (rest > 8 && prefix_ci(t, "https://", 8))
			return 1;
		return -1;
	case 'f': case 'F':
		return rest > 6 && prefix_ci(t, "ftp://", 6) ? 2 : -1;
	case 'm': case 'M':
		return rest > 7 && prefix_ci(t, "mailto:", 7) ? 3 : -1;
	default:
		return -1;
	}
}

/* the offset of the first c in t[from..len), or len */
static size_t
next_byte(const char *t, size_t from, size_t len, int c)
{
	const char *p;

	if (from >= len)
		return len;
	p = memchr(t + from, c, len - from);
	return p ? (size_t)(p - t) : len;
}

/*
 * A URI starts only where a scheme's ':' follows 3 to 6 bytes on (ftp,
 * http, https, mailto) or "www."'s '.' 3 bytes on: the positions looked
 * at are those before the next ':' and '.', found with memchr(), not
 * every byte. Each is tested as a byte-by-byte walk would test it, in
 * the same order, so the URIs found are the same.
 */
void
uri_scan_text(const char *text, size_t len,
    int (*fn)(void *arg, const char *uri, size_t ulen, int bare), void *arg)
{
	char tmp[URI_MAX_LEN + 16];
	size_t colon = 0, dot = 0;	/* next ':' and '.' at i + 3 or on */

	for (size_t i = 0; i + 3 < len;) {
		unsigned char c;
		size_t end, j;
		int k;

		if (colon < i + 3)
			colon = next_byte(text, i + 3, len, ':');
		if (dot < i + 3)
			dot = next_byte(text, i + 3, len, '.');
		/* the first position that may start a URI */
		j = colon < len ? (colon >= i + 6 ? colon - 6 : i) : len;
		if (dot < len && dot - 3 < j)
			j = dot - 3;
		if (j >= len)
			break;
		i = j;
		c = (unsigned char)text[i];
		if (!uri_first[c] || (i > 0 && (isalnum((unsigned char)text[i - 1]) ||
		    text[i - 1] == '.' || text[i - 1] == '-' ||
		    text[i - 1] == '/'))) {
			i++;
			continue;
		}
		if ((k = scheme_at(text + i, len - i)) >= 0) {
			end = uri_end(text, i, len);
			if (end > i + schemes[k].n) {
				memcpy(tmp, text + i, end - i);
				tmp[end - i] = '\0';
				if (fn(arg, tmp, end - i, 0))
					return;
			}
			i = end > i ? end : i + 1;
			continue;
		}
		if ((c == 'w' || c == 'W') && len - i > 5 &&
		    prefix_ci(text + i, "www.", 4) &&
		    isalnum((unsigned char)text[i + 4])) {
			end = uri_end(text, i, len);
			/* a host needs at least one more dot: www.example.com */
			if (memchr(text + i + 4, '.', end - i - 4)) {
				memcpy(tmp, "http://", 7);
				memcpy(tmp + 7, text + i, end - i);
				tmp[7 + end - i] = '\0';
				if (fn(arg, tmp, 7 + end - i, 1))
					return;
			}
			i = end > i ? end : i + 1;
			continue;
		}
		i++;
	}
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

int
uri_normalize(const char *uri, size_t len, struct buf *out, size_t *host_off,
    size_t *host_len)
{
	size_t i = 0, j, slen;
	const char *colon;

	while (len && isspace((unsigned char)uri[len - 1]))
		len--;
	while (i < len && isspace((unsigned char)uri[i]))
		i++;
	uri += i;
	len -= i;
	if (len > URI_MAX_LEN)
		len = URI_MAX_LEN;
	if (len == 0 || uri[0] == '#')
		return -1;
	switch (uri[0]) {
	case 'j': case 'J':
		if (len >= 11 && strncasecmp(uri, "javascript:", 11) == 0)
			return -1;
		break;
	case 'd': case 'D':
		if (len >= 5 && strncasecmp(uri, "data:", 5) == 0)
			return -1;
		break;
	case 'c': case 'C':
		if (len >= 4 && strncasecmp(uri, "cid:", 4) == 0)
			return -1;
		break;
	default:
		break;
	}
	/* protocol-relative //host/path */
	if (len > 2 && uri[0] == '/' && uri[1] == '/') {
		buf_adds(out, "http:");
		slen = 0;
	} else {
		colon = memchr(uri, ':', len);
		slen = 0;
		if (colon) {
			size_t n = (size_t)(colon - uri);
			int ok = n > 0 && isalpha((unsigned char)uri[0]);
			for (size_t k = 0; ok && k < n; k++)
				if (!isalnum((unsigned char)uri[k]) && uri[k] != '+' &&
				    uri[k] != '-' && uri[k] != '.')
					ok = 0;
			if (ok)
				slen = n + 1;
		}
		if (slen == 0) {
			/* bare "www.host" in an href */
			if (len > 4 && strncasecmp(uri, "www.", 4) == 0) {
				char tmp[URI_MAX_LEN + 8];
				memcpy(tmp, "http://", 7);
				memcpy(tmp + 7, uri, len);
				return uri_normalize(tmp, len + 7, out, host_off,
				    host_len);
			}
			buf_add(out, uri, len);
			return 1;	/* relative: no host */
		}
		for (size_t k = 0; k < slen; k++)
			buf_addc(out, (char)tolower((unsigned char)uri[k]));
	}
	uri += slen;
	len -= slen;
	if (len < 2 || uri[0] != '/' || uri[1] != '/') {
		/* mailto:, news: ... */
		buf_add(out, uri, len);
		return 1;
	} else {
		buf_add(out, "//", 2);
		uri += 2;
		len -= 2;
	}
	/* authority: [userinfo@]host[:port] */
	j = 0;
	while (j < len && uri[j] != '/' && uri[j] != '?' && uri[j] != '#' &&
	    uri[j] != '\\')
		j++;
	{
		const char *auth = uri, *at = NULL, *h, *port = NULL;
		size_t alen = j;

		for (size_t k = 0; k < alen; k++)
			if (auth[k] == '@')
				at = auth + k;
		h = at ? at + 1 : auth;
		for (const char *p = auth + alen; p > h; p--)
			if (p[-1] == ':') {
				port = p - 1;
				break;
			}
		if (port && memchr(h, ']', (size_t)(auth + alen - h)) &&
		    port < (const char *)memchr(h, ']', (size_t)(auth + alen - h)))
			port = NULL;	/* colon inside [ipv6] */
		*host_off = out->len;
		for (const char *p = h; p < (port ? port : auth + alen); p++) {
			int c = (unsigned char)*p;
			if (c == '%' && p + 2 < auth + alen && hexval(p[1]) >= 0 &&
			    hexval(p[2]) >= 0) {
				c = hexval(p[1]) * 16 + hexval(p[2]);
				p += 2;
			}
			buf_addc(out, (char)tolower(c));
		}
		/* a trailing dot in a host is the same host */
		while (out->len > *host_off && out->p[out->len - 1] == '.')
			buf_truncate(out, out->len - 1);
		*host_len = out->len - *host_off;
		if (port && !(strncmp(out->p, "http:", 5) == 0 &&
		    auth + alen - port == 3 && strncmp(port, ":80", 3) == 0) &&
		    !(strncmp(out->p, "https:", 6) == 0 && auth + alen - port == 4 &&
		    strncmp(port, ":443", 4) == 0) && auth + alen - port > 1)
			buf_add(out, port, (size_t)(auth + alen - port));
	}
	buf_add(out, uri + j, len - j);
	return *host_len ? 0 : 1;
}
