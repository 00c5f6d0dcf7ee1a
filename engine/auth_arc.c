/*
 * auth_arc.c - ARC chain validation (RFC 8617 5.2): the cv= of the
 * chain that arrived with the message.
 *
 * Why hand-written on OpenSSL: libopenarc is not packaged in Debian and
 * libopendkim has no ARC support (its verifier only handles
 * DKIM-Signature; the ARC-Message-Signature covers its own header name
 * and ARC-Seal uses a different hash input). The pieces are small and
 * all specified by RFC 6376/8617: relaxed/simple canonicalization, the
 * body hash, the h= header selection, and the RSA-SHA256 / Ed25519
 * verification, which OpenSSL's EVP does.
 *
 * Validation: collect the ARC sets (ARC-Seal, ARC-Message-Signature,
 * ARC-Authentication-Results, each with i=); instances must run 1..N
 * (N <= 50) with exactly one header of each kind; the latest ARC-Seal
 * must not say cv=fail, instance 1 must say cv=none and later ones
 * cv=pass; the latest AMS must verify over header and body; every
 * ARC-Seal i=k must verify over the sets 1..k. Any failure: ARC fail; a
 * key lookup that failed temporarily: temperror.
 *
 * Ownership: everything allocated lives in the scan's pool or is freed
 * here (OpenSSL objects).
 *
 * SECURITY: all input (headers, body, key records) is untrusted. Header
 * fields are taken from the raw header block with explicit lengths, at
 * most MAX_FIELDS of them; tag lists are parsed with bounds; base64 is
 * decoded by OpenSSL into buffers sized from the input; at most
 * AUTH_MAX_ARC instances are considered.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth_int.h"
#include "log.h"
#include "xalloc.h"

#define MAX_FIELDS	1000
#define MAX_TAGS	32

struct field {
	const char	*p;		/* "Name: value" as in the message */
	size_t		 len;		/* without the final line ending */
	size_t		 namelen;
};

struct tag {
	const char	*name;		/* into a pool copy */
	const char	*val;
};

struct tags {
	struct tag	 t[MAX_TAGS];
	size_t		 n;
};

struct arcset {
	const struct field *as, *ams, *aar;
	struct tags	 ast, amst;
};

/* Split the raw header block into fields. */
static size_t
split_fields(struct pool *pool, const char *hdr, size_t hlen,
    struct field **out)
{
	struct field *f = pool_allocarray(pool, MAX_FIELDS, sizeof(*f));
	const char *p = hdr, *end = hdr + hlen;
	size_t n = 0;

	while (p < end && n < MAX_FIELDS) {
		const char *s = p, *q = p, *fe, *colon;

		if (*p == '\r' || *p == '\n')
			break;
		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		fe = q;
		if (fe > s && fe[-1] == '\n')
			fe--;
		if (fe > s && fe[-1] == '\r')
			fe--;
		colon = memchr(s, ':', (size_t)(fe - s));
		if (colon != NULL) {
			f[n].p = s;
			f[n].len = (size_t)(fe - s);
			f[n].namelen = (size_t)(colon - s);
			while (f[n].namelen > 0 && (s[f[n].namelen - 1] == ' ' ||
			    s[f[n].namelen - 1] == '\t'))
				f[n].namelen--;
			n++;
		}
		p = q;
	}
	*out = f;
	return n;
}

static int
field_is(const struct field *f, const char *name)
{
	return f->namelen == strlen(name) &&
	    strncasecmp(f->p, name, f->namelen) == 0;
}

/* Parse "a=b; c=d" tag-list of a field value (whitespace removed from
   values, as base64 and h= lists may be folded). */
static void
parse_tags(struct pool *pool, const struct field *f, struct tags *t)
{
	const char *p = f->p + f->namelen + 1, *end = f->p + f->len;

	t->n = 0;
	while (p < end && t->n < MAX_TAGS) {
		const char *ns, *ne, *vs, *ve;
		char *v, *o;

		while (p < end && (isspace((unsigned char)*p) || *p == ';'))
			p++;
		ns = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		ne = p;
		while (ne > ns && isspace((unsigned char)ne[-1]))
			ne--;
		if (p >= end || *p != '=') {
			continue;
		}
		vs = ++p;
		while (p < end && *p != ';')
			p++;
		ve = p;
		v = o = pool_alloc(pool, (size_t)(ve - vs) + 1);
		for (const char *c = vs; c < ve; c++)
			if (!isspace((unsigned char)*c))
				*o++ = *c;
		*o = '\0';
		if (ne > ns) {
			t->t[t->n].name = pool_strndup(pool, ns,
			    (size_t)(ne - ns));
			t->t[t->n].val = v;
			t->n++;
		}
	}
}

static const char *
tag(const struct tags *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->t[i].name, name) == 0)
			return t->t[i].val;
	return NULL;
}

/* RFC 6376 3.4.2 relaxed header canonicalization of one field; with
   crlf the line end is appended. */
static void
canon_relaxed(struct buf *b, const char *p, size_t len, size_t namelen,
    int crlf)
{
	size_t i, start;
	int sp = 0;

	for (i = 0; i < namelen; i++)
		buf_addc(b, (char)tolower((unsigned char)p[i]));
	buf_addc(b, ':');
	i = namelen;
	while (i < len && p[i] != ':')
		i++;
	i++;
	/* skip leading WSP of the value */
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	start = b->len;
	for (; i < len; i++) {
		char c = p[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			sp = 1;
			continue;
		}
		if (sp && b->len > start)
			buf_addc(b, ' ');
		sp = 0;
		buf_addc(b, c);
	}
	if (crlf)
		buf_add(b, "\r\n", 2);
}

/* simple header canonicalization: the field as is, LF made CRLF */
static void
canon_simple(struct buf *b, const char *p, size_t len, int crlf)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_addc(b, '\r');
		buf_addc(b, p[i]);
	}
	if (crlf)
		buf_add(b, "\r\n", 2);
}

/* A copy of field f with the value of its b= tag removed. */
static struct field
strip_b(struct pool *pool, const struct field *f)
{
	struct field o = *f;
	const char *p = f->p + f->namelen + 1, *end = f->p + f->len;
	char *copy;

	while (p < end) {
		const char *ts = p, *eq;

		while (ts < end && isspace((unsigned char)*ts))
			ts++;
		eq = ts;
		while (eq < end && *eq != '=' && *eq != ';')
			eq++;
		if (eq < end && *eq == '=') {
			const char *ne = eq;

			while (ne > ts && isspace((unsigned char)ne[-1]))
				ne--;
			if (ne - ts == 1 && *ts == 'b') {
				const char *ve = eq + 1;
				size_t pre = (size_t)(eq + 1 - f->p);

				while (ve < end && *ve != ';')
					ve++;
				copy = pool_alloc(pool, f->len + 1);
				memcpy(copy, f->p, pre);
				memcpy(copy + pre, ve, (size_t)(end - ve));
				o.p = copy;
				o.len = pre + (size_t)(end - ve);
				return o;
			}
		}
		while (p < end && *p != ';')
			p++;
		if (p < end)
			p++;
	}
	return o;
}

/* base64 (whitespace already removed) into pool; -1 on error */
static long
b64dec(struct pool *pool, const char *s, unsigned char **out)
{
	size_t len = strlen(s), pad = 0;
	unsigned char *b;
	int n;

	if (len == 0 || len % 4 != 0 || len > 65536)
		return -1;
	b = pool_alloc(pool, len / 4 * 3 + 1);
	n = EVP_DecodeBlock(b, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	if (s[len - 1] == '=')
		pad++;
	if (s[len - 2] == '=')
		pad++;
	*out = b;
	return (long)n - (long)pad;
}

enum keyres { KEY_OK, KEY_FAIL, KEY_TEMP };

/* Fetch and decode the key s._domainkey.d. */
static enum keyres
get_key(struct auth_state *st, const char *s, const char *d, int ed25519,
    EVP_PKEY **out)
{
	const struct resolver_reply *rep;
	char name[RESOLVER_MAX_NAME + 2];
	struct field kf;
	struct tags kt;
	const char *p, *k;
	unsigned char *der;
	const unsigned char *dp;
	long n;
	int w;

	*out = NULL;
	w = snprintf(name, sizeof(name), "%s._domainkey.%s", s, d);
	if (w < 0 || (size_t)w >= sizeof(name))
		return KEY_FAIL;
	switch (resolver_query(st->dns, name, RESOLVER_TXT, &rep)) {
	case ST_OK:
		break;
	case ST_NOTFOUND:
		return KEY_FAIL;
	default:
		return KEY_TEMP;
	}
	/* parse the record as a tag list (give it a fake field name) */
	kf.p = pool_printf(st->pool, "k:%s", rep->rr[0].data);
	kf.len = strlen(kf.p);
	kf.namelen = 1;
	parse_tags(st->pool, &kf, &kt);
	p = tag(&kt, "p");
	k = tag(&kt, "k");
	if (p == NULL || *p == '\0')
		return KEY_FAIL;	/* missing or revoked */
	if ((k != NULL && strcasecmp(k, "ed25519") == 0) != ed25519)
		return KEY_FAIL;
	if ((n = b64dec(st->pool, p, &der)) <= 0)
		return KEY_FAIL;
	if (ed25519) {
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der,
		    (size_t)n);
	} else {
		dp = der;
		*out = d2i_PUBKEY(NULL, &dp, n);
		if (*out == NULL) {
			dp = der;
			*out = d2i_PublicKey(EVP_PKEY_RSA, NULL, &dp, n);
		}
	}
	return *out ? KEY_OK : KEY_FAIL;
}

/* Verify signature b64sig over data with the key of (s, d, a). */
static enum keyres
verify_sig(struct auth_state *st, const struct tags *t, const struct buf *data)
{
	const char *a = tag(t, "a"), *s = tag(t, "s"), *d = tag(t, "d");
	const char *b = tag(t, "b");
	unsigned char *sig, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	EVP_PKEY *key;
	enum keyres kr;
	int ed, ok = 0;
	long siglen;

	if (a == NULL || s == NULL || d == NULL || b == NULL)
		return KEY_FAIL;
	if (strcasecmp(a, "rsa-sha256") == 0)
		ed = 0;
	else if (strcasecmp(a, "ed25519-sha256") == 0)
		ed = 1;
	else
		return KEY_FAIL;
	if ((siglen = b64dec(st->pool, b, &sig)) <= 0)
		return KEY_FAIL;
	if ((kr = get_key(st, s, d, ed, &key)) != KEY_OK)
		return kr;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		EVP_PKEY_free(key);
		return KEY_FAIL;
	}
	if (ed) {
		/* RFC 8463: Ed25519 over the SHA-256 of the data */
		if (EVP_Digest(data->p, data->len, md, &mdlen, EVP_sha256(),
		    NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1)
			ok = EVP_DigestVerify(ctx, sig, (size_t)siglen, md,
			    mdlen) == 1;
	} else if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    key) == 1 && EVP_DigestVerifyUpdate(ctx, data->p, data->len) == 1)
		ok = EVP_DigestVerifyFinal(ctx, sig, (size_t)siglen) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok ? KEY_OK : KEY_FAIL;
}

/* body canonicalization, streamed into a digest (RFC 6376 3.4.3/3.4.4) */
struct bodyc {
	EVP_MD_CTX	*ctx;
	int		 relaxed;
	long		 limit;		/* l=, -1 none */
	long		 done;
	size_t		 empties;	/* pending empty lines */
	int		 any;
};

static void
body_emit(struct bodyc *bc, const char *p, size_t n)
{
	if (bc->limit >= 0) {
		if (bc->done >= bc->limit)
			return;
		if ((long)n > bc->limit - bc->done)
			n = (size_t)(bc->limit - bc->done);
	}
	EVP_DigestUpdate(bc->ctx, p, n);
	bc->done += (long)n;
}

static void
body_line(struct bodyc *bc, const char *p, size_t n, struct buf *tmp)
{
	buf_truncate(tmp, 0);
	if (bc->relaxed) {
		int sp = 0;

		for (size_t i = 0; i < n; i++) {
			if (p[i] == ' ' || p[i] == '\t') {
				sp = 1;
				continue;
			}
			if (sp)
				buf_addc(tmp, ' ');
			sp = 0;
			buf_addc(tmp, p[i]);
		}
	} else
		buf_add(tmp, p, n);
	if (tmp->len == 0) {
		bc->empties++;
		return;
	}
	for (; bc->empties > 0; bc->empties--)
		body_emit(bc, "\r\n", 2);
	body_emit(bc, tmp->p, tmp->len);
	body_emit(bc, "\r\n", 2);
	bc->any = 1;
}

static int
body_hash(const struct msg *m, int relaxed, long limit, unsigned char *md,
    unsigned int *mdlen)
{
	struct bodyc bc;
	struct buf tmp = BUF_INIT;
	const char *p, *end;
	int ok;

	memset(&bc, 0, sizeof(bc));
	bc.relaxed = relaxed;
	bc.limit = limit;
	if ((bc.ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	EVP_DigestInit_ex(bc.ctx, EVP_sha256(), NULL);
	p = m->body_off <= m->raw_len ? m->raw + m->body_off :
	    m->raw + m->raw_len;
	end = m->raw + m->raw_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		body_line(&bc, p, n, &tmp);
		p = nl ? nl + 1 : end;
	}
	if (!bc.any && !relaxed)
		body_emit(&bc, "\r\n", 2);	/* simple: empty body is CRLF */
	ok = EVP_DigestFinal_ex(bc.ctx, md, mdlen) == 1;
	EVP_MD_CTX_free(bc.ctx);
	buf_free(&tmp);
	return ok;
}

/* Verify the ARC-Message-Signature of one set. */
static enum keyres
verify_ams(struct auth_state *st, const struct arcset *set,
    const struct field *fl, size_t nf, const char **why)
{
	const struct tags *t = &set->amst;
	const char *c = tag(t, "c"), *h = tag(t, "h"), *bh = tag(t, "bh");
	const char *l = tag(t, "l");
	int hrelaxed = 0, brelaxed = 0;
	unsigned char md[EVP_MAX_MD_SIZE], *want;
	unsigned int mdlen = 0;
	char *used;
	struct buf data = BUF_INIT;
	struct field self;
	enum keyres kr;
	long wl;

	if (h == NULL || bh == NULL) {
		*why = "AMS lacks h= or bh=";
		return KEY_FAIL;
	}
	if (c != NULL) {
		const char *slash = strchr(c, '/');

		hrelaxed = strncasecmp(c, "relaxed", 7) == 0;
		brelaxed = slash != NULL && strcasecmp(slash + 1, "relaxed")
		    == 0;
	}
	if (!body_hash(st->msg, brelaxed, l ? atol(l) : -1, md, &mdlen) ||
	    (wl = b64dec(st->pool, bh, &want)) != (long)mdlen ||
	    memcmp(md, want, mdlen) != 0) {
		*why = "AMS body hash did not verify";
		return KEY_FAIL;
	}
	/* h=: each name picks the next instance from the bottom up */
	used = pool_alloc(st->pool, nf + 1);
	for (const char *p = h; *p; ) {
		size_t n = strcspn(p, ":");
		char *name = pool_strndup(st->pool, p, n);

		for (size_t i = nf; i-- > 0; ) {
			if (used[i] || !field_is(&fl[i], name))
				continue;
			used[i] = 1;
			if (hrelaxed)
				canon_relaxed(&data, fl[i].p, fl[i].len,
				    fl[i].namelen, 1);
			else
				canon_simple(&data, fl[i].p, fl[i].len, 1);
			break;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	self = strip_b(st->pool, set->ams);
	if (hrelaxed)
		canon_relaxed(&data, self.p, self.len, self.namelen, 0);
	else
		canon_simple(&data, self.p, self.len, 0);
	kr = verify_sig(st, t, &data);
	buf_free(&data);
	if (kr == KEY_FAIL)
		*why = "AMS signature did not verify";
	return kr;
}

/* Verify the ARC-Seal of instance k over sets 1..k. */
static enum keyres
verify_as(struct auth_state *st, const struct arcset *sets, int k)
{
	struct buf data = BUF_INIT;
	struct field self;
	enum keyres kr;

	for (int i = 1; i <= k; i++) {
		const struct arcset *s = &sets[i];

		canon_relaxed(&data, s->aar->p, s->aar->len, s->aar->namelen, 1);
		canon_relaxed(&data, s->ams->p, s->ams->len, s->ams->namelen, 1);
		if (i < k)
			canon_relaxed(&data, s->as->p, s->as->len,
			    s->as->namelen, 1);
	}
	self = strip_b(st->pool, sets[k].as);
	canon_relaxed(&data, self.p, self.len, self.namelen, 0);
	kr = verify_sig(st, &sets[k].ast, &data);
	buf_free(&data);
	return kr;
}

/* i= of an ARC header: the AAR has it as its first "i=N;" */
static int
instance_of(struct pool *pool, const struct field *f)
{
	struct tags t;
	const char *i;
	char *end;
	long n;

	parse_tags(pool, f, &t);
	if ((i = tag(&t, "i")) == NULL)
		return -1;
	n = strtol(i, &end, 10);
	if (*end != '\0' || n < 1 || n > AUTH_MAX_ARC)
		return -1;
	return (int)n;
}

static void
arc_fail(struct auth_state *st, const char *why)
{
	st->arc = AUTH_FAIL;
	st->arc_reason = why;
}

void
auth_arc_verify(struct auth_state *st)
{
	struct arcset sets[AUTH_MAX_ARC + 1];
	struct field *fl;
	const char *hdr, *cv;
	size_t hlen, nf;
	int n = 0;
	enum keyres kr;

	if (st->arc_src != SRC_NONE)
		return;
	if (msg_header(st->msg, "ARC-Seal", 0) == NULL &&
	    msg_header(st->msg, "ARC-Message-Signature", 0) == NULL &&
	    msg_header(st->msg, "ARC-Authentication-Results", 0) == NULL)
		return;		/* no chain: cv=none, nothing to say */
	st->arc_src = SRC_VERIFIED;
	auth_raw_headers(st->msg, &hdr, &hlen);
	nf = split_fields(st->pool, hdr, hlen, &fl);
	memset(sets, 0, sizeof(sets));
	for (size_t i = 0; i < nf; i++) {
		const struct field **slot;
		int k;

		if (field_is(&fl[i], "ARC-Seal"))
			k = 0;
		else if (field_is(&fl[i], "ARC-Message-Signature"))
			k = 1;
		else if (field_is(&fl[i], "ARC-Authentication-Results"))
			k = 2;
		else
			continue;
		{
			int inst = instance_of(st->pool, &fl[i]);

			if (inst < 0) {
				arc_fail(st, "ARC header without a valid i=");
				return;
			}
			slot = k == 0 ? &sets[inst].as : k == 1 ?
			    &sets[inst].ams : &sets[inst].aar;
			if (*slot != NULL) {
				arc_fail(st, "duplicate ARC header");
				return;
			}
			*slot = &fl[i];
			if (inst > n)
				n = inst;
		}
	}
	st->arc_instances = n;
	for (int i = 1; i <= n; i++) {
		if (sets[i].as == NULL || sets[i].ams == NULL ||
		    sets[i].aar == NULL) {
			arc_fail(st, "incomplete ARC set");
			return;
		}
		parse_tags(st->pool, sets[i].as, &sets[i].ast);
		parse_tags(st->pool, sets[i].ams, &sets[i].amst);
		cv = tag(&sets[i].ast, "cv");
		if (cv == NULL || (i == 1 && strcasecmp(cv, "none") != 0) ||
		    (i > 1 && strcasecmp(cv, "pass") != 0)) {
			arc_fail(st, i == n && cv && strcasecmp(cv, "fail")
			    == 0 ? "chain already failed" : "wrong cv= in chain");
			return;
		}
	}
	/* the latest AMS must verify */
	{
		const char *why = NULL;

		kr = verify_ams(st, &sets[n], fl, nf, &why);
		if (kr == KEY_TEMP) {
			st->arc = AUTH_TEMPERROR;
			return;
		}
		if (kr != KEY_OK) {
			arc_fail(st, why);
			return;
		}
	}
	/* every seal, newest first */
	for (int i = n; i >= 1; i--) {
		kr = verify_as(st, sets, i);
		if (kr == KEY_TEMP) {
			st->arc = AUTH_TEMPERROR;
			return;
		}
		if (kr != KEY_OK) {
			arc_fail(st, "ARC-Seal did not verify");
			return;
		}
	}
	st->arc = AUTH_PASS;
}
