/*
 * tok.c - the Bayes tokenizer (see tok.h for what is produced).
 *
 * Ownership: a toklist owns its arrays; tok_msg() only reads the msg.
 * Errors: none; bad bytes are just bytes.
 * SECURITY: all input is untrusted mail. Scans are bounded by the given
 * lengths, header values by TOK_HDR_MAX, token counts by TOK_MAX_TOKENS;
 * case folding of non-ASCII words only runs on valid UTF-8 of bounded
 * length.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "bayes/tok.h"
#include "engine/xalloc.h"

#define TOK_MIN		3	/* shorter words are noise */
#define TOK_MAXLEN	24	/* longer words become a skip token */
#define TOK_SKIPLEN	10	/* bytes kept of a long word */
#define TOK_HDR_MAX	4096	/* bytes of one header value tokenized */
#define TOK_HDRS_MAX	256	/* headers looked at */
#define TOK_BUF		96	/* prefix + folded word */
#define OSB_WINDOW	4	/* pairs with the previous 1..4 words */

struct tokctx {
	const struct tok_opts *o;
	struct toklist	*l;
	uint64_t	 mark;		/* TOK_HDR_BIT while in the headers */
	uint64_t	 ring[OSB_WINDOW];	/* previous word hashes (OSB) */
	size_t		 nring;
};

/* character classes */
#define C_WORD	1	/* letter, digit, UTF-8 byte */
#define C_JOIN	2	/* may join two word runs: . - ' , _ */
#define C_START	4	/* may start a word: $ */

static unsigned char cls[256];
static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

/* the class table, filled once (milter threads tokenize concurrently) */
static void
cls_fill(void)
{
	int c;

	for (c = 0; c < 256; c++) {
		if (isalnum(c) || c >= 0x80)
			cls[c] |= C_WORD;
	}
	cls['.'] |= C_JOIN;
	cls['-'] |= C_JOIN;
	cls['\''] |= C_JOIN;
	cls[','] |= C_JOIN;
	cls['_'] |= C_JOIN;
	cls['$'] |= C_START;
}

static void
cls_init(void)
{
	pthread_once(&cls_once, cls_fill);
}

/*
 * FNV-1a, 64 bit: short keys, good enough spread for a 64-bit key. It
 * streams, so a prefix and a word are hashed without joining them.
 */
#define FNV_INIT	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

static inline uint64_t
fnv_add(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

uint64_t
tok_hash(const char *s, size_t n)
{
	uint64_t h = fnv_add(FNV_INIT, s, n);

	return h == 0 ? 1 : h;
}

/* (re)build the duplicate filter for at least twice l->n entries */
static void
set_grow(struct toklist *l)
{
	size_t i, j, cap = l->setcap ? l->setcap * 2 : 2048;
	int bits = 0;

	while (((size_t)1 << bits) < cap)
		bits++;
	free(l->set);
	l->set = xcalloc(cap, sizeof(*l->set));
	l->setcap = cap;
	l->setbits = bits;
	for (i = 0; i < l->n; i++) {
		j = (size_t)((l->h[i] * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
		while (l->set[j] != 0)
			j = (j + 1) & (cap - 1);
		l->set[j] = l->h[i];
	}
}

/* add a token hash once: a token counts once per message */
static void
add_hash(struct tokctx *c, uint64_t h)
{
	struct toklist *l = c->l;
	size_t j, mask;

	if (l->n >= TOK_MAX_TOKENS)
		return;
	h = (h & ~TOK_HDR_BIT) | c->mark;
	if (h == 0)
		h = 1;
	if ((l->n + 1) * 2 > l->setcap)
		set_grow(l);
	mask = l->setcap - 1;
	for (j = (size_t)((h * 0x9E3779B97F4A7C15ULL) >> (64 - l->setbits));
	    l->set[j] != 0; j = (j + 1) & mask)
		if (l->set[j] == h)
			return;
	l->set[j] = h;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 512;
		l->h = xreallocarray(l->h, l->cap, sizeof(*l->h));
	}
	l->h[l->n++] = h;
}

/* emit prefix + word (already folded) */
static uint64_t
emit2(struct tokctx *c, const char *pfx, size_t plen, const char *w,
    size_t wlen)
{
	char b[TOK_BUF];
	uint64_t h;

	if (plen + wlen > sizeof(b))
		wlen = sizeof(b) - plen;
	if (!c->l->keep_text) {
		h = fnv_add(fnv_add(FNV_INIT, pfx, plen), w, wlen);
		h = h == 0 ? 1 : h;
		add_hash(c, h);
		return h;
	}
	memcpy(b, pfx, plen);
	memcpy(b + plen, w, wlen);
	h = tok_hash(b, plen + wlen);
	add_hash(c, h);
	buf_add(&c->l->text, b, plen + wlen);
	buf_addc(&c->l->text, '\n');
	return h;
}

static uint64_t
emit(struct tokctx *c, const char *pfx, const char *w, size_t wlen)
{
	return emit2(c, pfx, strlen(pfx), w, wlen);
}

/* cut s (len bytes) to at most n bytes, on a UTF-8 character boundary */
static size_t
utf8_cut(const char *s, size_t len, size_t n)
{
	if (n >= len)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/*
 * Fold word w (n bytes) into out (size TOK_BUF); returns the length.
 * ASCII is folded inline; other valid UTF-8 through GLib's case folding.
 */
static size_t
fold(const char *w, size_t n, char *out)
{
	size_t i, len;
	int ascii = 1;
	char *f;

	for (i = 0; i < n; i++) {
		if ((unsigned char)w[i] >= 0x80) {
			ascii = 0;
			break;
		}
	}
	if (ascii) {
		for (i = 0; i < n; i++)
			out[i] = (char)tolower((unsigned char)w[i]);
		return n;
	}
	if (!g_utf8_validate(w, (gssize)n, NULL)) {
		memcpy(out, w, n);
		return n;
	}
	f = g_utf8_casefold(w, (gssize)n);
	len = strlen(f);
	if (len > TOK_BUF - 16)
		len = utf8_cut(f, len, TOK_BUF - 16);
	memcpy(out, f, len);
	g_free(f);
	return len;
}

static int
ascii_word(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80)
			return 0;
	return 1;
}

/* word filters */
#define W_HDR	1	/* header word: drop ID-like words */
#define W_PAIRS	2	/* body: emit OSB pairs */
#define W_DOTTED 4	/* only words with a dot (hosts, addresses) */
#define W_NET	8	/* addresses and IPv4: also domain and /24 */

static int
id_like(const char *w, size_t n)
{
	size_t i, digits = 0, alpha = 0;

	for (i = 0; i < n; i++) {
		if (w[i] == '.' || w[i] == '@')
			return 0;	/* host names and addresses stay */
		if (isdigit((unsigned char)w[i]))
			digits++;
		else if (isalpha((unsigned char)w[i]))
			alpha++;
	}
	if (digits > 0 && alpha > 0 && n >= 8)
		return 1;
	if (digits > 6 && alpha == 0)
		return 1;
	return 0;
}

/*
 * What an address or an IPv4 address of a header says beyond itself,
 * under the same prefix: the domain of an address ("a@mx.example.com":
 * mx.example.com; kept whole, where the address itself becomes a skip
 * token past TOK_MAXLEN), the /24 of a dotted quad ("10.1.2."). A
 * sender or relay never seen before often has a known domain or
 * network. Host names give nothing more: their parent domains measured
 * no better (cross-validation on the training part).
 */
static void
net_extra(struct tokctx *c, const char *pfx, size_t plen, const char *w,
    size_t n)
{
	char f[TOK_BUF];
	const char *e = w + n, *at, *p;
	size_t i, len, dots = 0;

	if ((at = memchr(w, '@', n)) != NULL) {
		w = at + 1;
		n = (size_t)(e - w);
		if (n < TOK_MIN || plen + n > TOK_BUF ||
		    memchr(w, '.', n) == NULL)
			return;
		len = fold(w, n, f);
		emit2(c, pfx, plen, f, len);
		return;
	}
	for (i = 0; i < n; i++) {
		if (w[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)w[i]))
			return;		/* a host name (or a version) */
	}
	if (dots != 3 || w[n - 1] == '.')
		return;
	for (p = e; p > w && p[-1] != '.'; p--)
		;
	emit2(c, pfx, plen, w, (size_t)(p - w));
}

static void
word(struct tokctx *c, const char *pfx, size_t plen, const char *w, size_t n,
    unsigned flags)
{
	char f[TOK_BUF];
	size_t len;
	uint64_t h;
	size_t i;

	if (n < TOK_MIN)
		return;
	if ((flags & W_HDR) && id_like(w, n))
		return;
	if ((flags & W_DOTTED) && memchr(w, '.', n) == NULL)
		return;
	if ((flags & W_NET) && memchr(w, '.', n) != NULL)
		net_extra(c, pfx, plen, w, n);
	if (n > TOK_MAXLEN) {
		char b[TOK_BUF];
		size_t bl;

		len = fold(w, utf8_cut(w, n, TOK_SKIPLEN), f);
		memcpy(b, "sk:", 3);
		if (plen + 3 + len > sizeof(b))
			return;
		memcpy(b + 3, pfx, plen);
		memcpy(b + 3 + plen, f, len);
		bl = 3 + plen + len;
		add_hash(c, tok_hash(b, bl));
		if (c->l->keep_text) {
			buf_add(&c->l->text, b, bl);
			buf_addc(&c->l->text, '\n');
		}
		return;
	}
	if (!c->l->keep_text && plen + n <= TOK_BUF && ascii_word(w, n)) {
		/* the common case: fold while hashing, as emit2() would */
		h = fnv_add(FNV_INIT, pfx, plen);
		for (i = 0; i < n; i++) {
			h ^= (unsigned char)tolower((unsigned char)w[i]);
			h *= FNV_PRIME;
		}
		h = h == 0 ? 1 : h;
		add_hash(c, h);
	} else {
		len = fold(w, n, f);
		h = emit2(c, pfx, plen, f, len);
	}
	if (flags & W_PAIRS) {
		for (i = 0; i < c->nring && i < OSB_WINDOW; i++) {
			uint64_t prev = c->ring[(c->nring - 1 - i) % OSB_WINDOW];
			uint64_t p = (prev * 0x9E3779B97F4A7C15ULL) ^
			    (h + (uint64_t)(i + 1) * 0xC2B2AE3D27D4EB4FULL);

			p ^= p >> 29;
			add_hash(c, p == 0 ? 1 : p);
		}
		c->ring[c->nring % OSB_WINDOW] = h;
		c->nring++;
	}
}

/*
 * Split text into words and feed them to word(). With split set, the
 * joiners (and '@') do not join: "a.b@c.d" gives a, b, c, d.
 */
static void
words_max(struct tokctx *c, const char *pfx, const char *s, size_t n,
    unsigned flags, int addr, size_t max)
{
	size_t plen = strlen(pfx), i = 0, st, nw = 0;
	unsigned char ch;

	while (i < n && nw < max) {
		ch = (unsigned char)s[i];
		if (!(cls[ch] & (C_WORD | C_START))) {
			i++;
			continue;
		}
		st = i++;
		while (i < n) {
			ch = (unsigned char)s[i];
			if (cls[ch] & C_WORD) {
				i++;
				continue;
			}
			if (((cls[ch] & C_JOIN) || (addr && ch == '@')) &&
			    i + 1 < n && (cls[(unsigned char)s[i + 1]] & C_WORD)) {
				i++;
				continue;
			}
			break;
		}
		/* a lone '$' or word of joiners only: skip */
		if (i - st == 1 && s[st] == '$')
			continue;
		word(c, pfx, plen, s + st, i - st, flags);
		nw++;
	}
}

static void
words(struct tokctx *c, const char *pfx, const char *s, size_t n,
    unsigned flags, int addr)
{
	words_max(c, pfx, s, n, flags, addr, (size_t)-1);
}

/* plain alphanumeric runs (addresses split into parts) */
static void
parts(struct tokctx *c, const char *pfx, const char *s, size_t n)
{
	size_t plen = strlen(pfx), i = 0, st;

	while (i < n) {
		if (!(cls[(unsigned char)s[i]] & C_WORD)) {
			i++;
			continue;
		}
		st = i;
		while (i < n && (cls[(unsigned char)s[i]] & C_WORD))
			i++;
		word(c, pfx, plen, s + st, i - st, W_HDR);
	}
}

static int
ignored(const struct tok_opts *o, const char *name)
{
	size_t i, n;

	for (i = 0; i < o->nignore; i++) {
		n = strlen(o->ignore[i]);
		if (strncasecmp(name, o->ignore[i], n) == 0)
			return 1;
	}
	return 0;
}

static void
lower_into(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void
hdr_message_id(struct tokctx *c, const char *v, size_t n)
{
	const char *at = memchr(v, '@', n), *e;

	if (at == NULL) {
		emit(c, "MID:", "noat", 4);
		return;
	}
	at++;
	for (e = at; e < v + n && *e != '>' && !isspace((unsigned char)*e); e++)
		;
	if (e > at) {
		char f[TOK_BUF];
		size_t len = (size_t)(e - at);

		if (len > TOK_MAXLEN * 2)
			len = TOK_MAXLEN * 2;
		len = fold(at, len, f);
		emit(c, "MID:", f, len);
	}
}

static void
hdr_date(struct tokctx *c, const char *v, size_t n)
{
	size_t e = n, b;

	/* the zone: "-0700", "(PDT)": a hint of where the sender lives */
	while (e > 0 && isspace((unsigned char)v[e - 1]))
		e--;
	b = e;
	while (b > 0 && !isspace((unsigned char)v[b - 1]))
		b--;
	if (e > b && e - b <= 8) {
		char f[TOK_BUF];
		size_t len = fold(v + b, e - b, f);

		emit(c, "DZ:", f, len);
	}
}

/* the start of a value as one token, blanks squeezed, digits as 0 */
static void
hdr_value(struct tokctx *c, const char *pfx, const char *v, size_t n)
{
	char b[48], f[TOK_BUF];
	size_t i, k = 0, len;

	for (i = 0; i < n && k < sizeof(b); i++) {
		unsigned char ch = (unsigned char)v[i];

		if (isspace(ch)) {
			if (k > 0 && b[k - 1] != ' ')
				b[k++] = ' ';
		} else {
			b[k++] = isdigit(ch) ? '0' : (char)ch;
		}
	}
	while (k > 0 && b[k - 1] == ' ')
		k--;
	if (k == 0)
		return;
	/* b holds at most k bytes: a cut character at its end goes */
	len = fold(b, utf8_cut(b, k, k < sizeof(b) ? k : k - 1), f);
	emit(c, pfx, f, len);
}

static void
hdr_mailer(struct tokctx *c, const char *pfx, const char *v, size_t n)
{
	char f[TOK_BUF];
	size_t len;

	/* the whole product string (first 40 bytes), then its words */
	while (n > 0 && isspace((unsigned char)*v)) {
		v++;
		n--;
	}
	len = utf8_cut(v, n, 40);
	len = fold(v, len, f);
	emit(c, pfx, f, len);
	words(c, pfx, v, n, W_HDR, 0);
}

static void
headers(struct tokctx *c, const struct msg *m)
{
	char pfx[64], lname[48];
	const struct msg_header *h;
	size_t i, n, nh;

	nh = m->nmsg_hdrs < TOK_HDRS_MAX ? m->nmsg_hdrs : TOK_HDRS_MAX;
	for (i = 0; i < nh; i++) {
		h = &m->hdrs[i];
		if (h->name == NULL || h->value == NULL)
			continue;
		if (ignored(c->o, h->name) ||
		    msg_is_spam_header(h->name, strlen(h->name)))
			continue;
		lower_into(lname, sizeof(lname), h->name);
		n = strlen(h->value);
		if (n > TOK_HDR_MAX)
			n = utf8_cut(h->value, n, TOK_HDR_MAX);
		/* list-help, -post, -subscribe ...: List-Id says it all */
		if (strncmp(lname, "list-", 5) == 0 &&
		    strcmp(lname, "list-id") != 0)
			continue;

		if (strcmp(lname, "subject") == 0) {
			words(c, "S:", h->value, n, 0, 0);
		} else if (strcmp(lname, "from") == 0 ||
		    strcmp(lname, "to") == 0 || strcmp(lname, "cc") == 0 ||
		    strcmp(lname, "reply-to") == 0 ||
		    strcmp(lname, "sender") == 0 ||
		    strcmp(lname, "return-path") == 0 ||
		    strcmp(lname, "errors-to") == 0 ||
		    strcmp(lname, "delivered-to") == 0) {
			const char *p;

			p = strcmp(lname, "from") == 0 ? "F:" :
			    strcmp(lname, "reply-to") == 0 ? "R:" :
			    strcmp(lname, "to") == 0 ||
			    strcmp(lname, "cc") == 0 ? "T:" : NULL;
			if (p == NULL) {
				snprintf(pfx, sizeof(pfx), "H%s:", lname);
				p = pfx;
			}
			words(c, p, h->value, n, W_HDR | W_NET, 1);
		} else if (strcmp(lname, "received") == 0) {
			/* relay names and addresses, not dates and ids */
			words(c, "RCV:", h->value, n,
			    W_HDR | W_DOTTED | W_NET, 0);
		} else if (strcmp(lname, "message-id") == 0) {
			hdr_message_id(c, h->value, n);
		} else if (strcmp(lname, "date") == 0) {
			hdr_date(c, h->value, n);
		} else if (strcmp(lname, "x-mailer") == 0 ||
		    strcmp(lname, "user-agent") == 0) {
			hdr_mailer(c, "XM:", h->value, n);
		} else if (strcmp(lname, "content-type") == 0) {
			words(c, "CT:", h->value, n, W_HDR, 0);
		} else if (strcmp(lname, "content-length") == 0 ||
		    strcmp(lname, "lines") == 0 ||
		    strcmp(lname, "status") == 0 ||
		    strcmp(lname, "x-status") == 0 ||
		    strcmp(lname, "x-uid") == 0 ||
		    strcmp(lname, "x-keywords") == 0) {
			/* mailbox bookkeeping, not the sender's doing */
			continue;
		} else {
			/*
			 * Free text: the value's start, and its first words
			 * only, so one long header cannot outvote the body.
			 */
			snprintf(pfx, sizeof(pfx), "H%s=", lname);
			hdr_value(c, pfx, h->value, n);
			snprintf(pfx, sizeof(pfx), "H%s:", lname);
			words_max(c, pfx, h->value, n, W_HDR, 0, 6);
		}
	}
}

static void
uris(struct tokctx *c, const struct msg *m)
{
	const struct msg_uri *u;
	const char *p, *path;
	size_t i, hl;

	for (i = 0; i < m->nuris && i < 1000; i++) {
		u = &m->uris[i];
		if (u->host == NULL || u->host[0] == '\0')
			continue;
		hl = strlen(u->host);
		if (hl > TOK_BUF - 8)
			continue;
		emit(c, "U:", u->host, hl);
		/* each parent domain down to two labels */
		for (p = u->host; (p = strchr(p, '.')) != NULL; ) {
			p++;
			if (strchr(p, '.') == NULL)
				break;
			emit(c, "U:", p, strlen(p));
		}
		/* path pieces, after "scheme://host" */
		path = u->uri != NULL ? strstr(u->uri, u->host) : NULL;
		if (path != NULL) {
			path += hl;
			parts(c, "UP:", path, strnlen(path, 1024));
		}
	}
}

static void
mime_parts(struct tokctx *c, const struct msg *m)
{
	const struct msg_part *pt;
	const char *dot, *as;
	size_t i;

	for (i = 0; i < m->nparts && i < 200; i++) {
		pt = &m->parts[i];
		if (pt->ctype != NULL)
			emit(c, "PT:", pt->ctype, strnlen(pt->ctype, 64));
		if (pt->charset != NULL)
			emit(c, "PC:", pt->charset, strnlen(pt->charset, 64));
		if (pt->encoding != NULL)
			emit(c, "PE:", pt->encoding, strnlen(pt->encoding, 64));
		if (pt->flags & PART_CHARSET_GUESSED)
			emit(c, "PF:", "charset-guessed", 15);
		if (pt->flags & PART_BAD_ENCODING)
			emit(c, "PF:", "bad-encoding", 12);
		if (!(pt->flags & PART_ATTACHMENT))
			continue;
		if (pt->ctype != NULL)
			emit(c, "A:", pt->ctype, strnlen(pt->ctype, 64));
		if ((as = msg_part_sniffed(m, pt)) != NULL)
			emit(c, "AS:", as, strnlen(as, 64));
		if (pt->filename != NULL &&
		    (dot = strrchr(pt->filename, '.')) != NULL &&
		    strlen(dot + 1) <= 8 && dot[1] != '\0') {
			char f[TOK_BUF];
			size_t len = fold(dot + 1, strlen(dot + 1), f);

			emit(c, "AX:", f, len);
		}
	}
}

static void
anomalies(struct tokctx *c, const struct msg *m)
{
	static const char *names[] = { "no-header-end", "nul", "8bit-hdr",
	    "bad-header", "mime-broken", "crlf" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (m->anomalies & (1u << i))
			emit(c, "AN:", names[i], strlen(names[i]));
	if (m->limits != 0)
		emit(c, "AN:", "limit", 5);
}

void
tok_msg(const struct msg *m, const struct tok_opts *o, struct toklist *l)
{
	struct tokctx c;


	cls_init();
	toklist_clear(l);
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.l = l;

	c.mark = TOK_HDR_BIT;
	headers(&c, m);
	c.mark = 0;
	if (m->visible != NULL)
		words(&c, "", m->visible, m->visible_len,
		    o->osb ? W_PAIRS : 0, 0);
	if (m->invisible != NULL)
		words(&c, "I:", m->invisible, m->invisible_len, 0, 0);
	uris(&c, m);
	mime_parts(&c, m);
	anomalies(&c, m);

}

void
tok_opts_init(struct tok_opts *o, const char *list, int osb)
{
	const char *p = list, *e;

	memset(o, 0, sizeof(*o));
	o->osb = osb;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t' &&
		    *e != ','; e++)
			;
		if (e > p) {
			char *s = xstrndup(p, (size_t)(e - p));
			size_t k;

			for (k = 0; s[k] != '\0'; k++)
				s[k] = (char)tolower((unsigned char)s[k]);
			o->ignore = xreallocarray(o->ignore, o->nignore + 1,
			    sizeof(*o->ignore));
			o->ignore[o->nignore++] = s;
		}
		p = e;
	}
}

void
tok_opts_free(struct tok_opts *o)
{
	size_t i;

	for (i = 0; i < o->nignore; i++)
		free(o->ignore[i]);
	free(o->ignore);
	memset(o, 0, sizeof(*o));
}

void
toklist_init(struct toklist *l)
{
	memset(l, 0, sizeof(*l));
}

void
toklist_clear(struct toklist *l)
{
	l->n = 0;
	if (l->set != NULL)
		memset(l->set, 0, l->setcap * sizeof(*l->set));
	buf_truncate(&l->text, 0);
}

void
toklist_free(struct toklist *l)
{
	free(l->h);
	free(l->set);
	buf_free(&l->text);
	memset(l, 0, sizeof(*l));
}
