/*
 * auth_dkim.c - DKIM (RFC 6376) verification of every signature with
 * libopendkim, keys fetched through the hamlet resolver.
 *
 * Why libopendkim and not OpenSSL by hand: it does canonicalization,
 * tag parsing, l=, key record checks (revoked, hash, key type, size)
 * and Ed25519, all well tested; OpenSSL alone would mean rewriting that.
 * Its dkim_set_key_lookup() hook hands us the selector and domain and
 * takes the key record text, so DNS goes through our resolver session
 * (timeouts, budget, cache, zone backend in tests) without wire-format
 * games.
 *
 * Ownership: one DKIM_LIB per engine (thread-safe for verify handles,
 * as the opendkim milter uses it); one DKIM handle per message, freed
 * here. Signature results are copied into the auth_state (pool).
 *
 * Errors: a key lookup that fails temporarily makes that signature
 * AUTH_TEMPERROR; a missing or revoked key, a bad signature or a body
 * hash mismatch is AUTH_FAIL / AUTH_PERMERROR with a reason.
 *
 * SECURITY: headers and body are untrusted mail bytes handed to
 * libopendkim with explicit lengths (never a header block holding a
 * NUL, which libopendkim mishandles); only the first AUTH_MAX_SIGS
 * DKIM-Signature fields are given to it, so at most that many keys are
 * fetched and body canonicalizations run per message; key records are
 * untrusted DNS data bounded by the resolver and by the buffer
 * libopendkim gives us.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "auth_int.h"
#include "log.h"
#include "xalloc.h"

struct auth_dkim_ctx {
	DKIM_LIB	*lib;
};

struct dkim_run {
	struct auth_state *st;
	int		 lookups;
};

static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkim_run *run = dkim_get_user_context(dkim);
	const struct resolver_reply *rep;
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	char name[RESOLVER_MAX_NAME + 2];
	int n;

	if (run == NULL || sel == NULL || dom == NULL || buflen == 0)
		return DKIM_CBSTAT_ERROR;
	if (++run->lookups > AUTH_MAX_SIGS)
		return DKIM_CBSTAT_TRYAGAIN;
	n = snprintf(name, sizeof(name), "%s._domainkey.%s", sel, dom);
	if (n < 0 || (size_t)n >= sizeof(name))
		return DKIM_CBSTAT_NOTFOUND;
	switch (resolver_query(run->st->dns, name, RESOLVER_TXT, &rep)) {
	case ST_OK:
		break;
	case ST_NOTFOUND:
		return DKIM_CBSTAT_NOTFOUND;
	default:
		return DKIM_CBSTAT_TRYAGAIN;
	}
	/* RFC 6376 3.6.2.2: several records make the result undefined;
	   take the first, as libopendkim's own resolver does */
	if (rep->rr[0].len >= buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, rep->rr[0].data, rep->rr[0].len + 1);
	return DKIM_CBSTAT_CONTINUE;
}

struct auth_dkim_ctx *
auth_dkim_new(char *err, size_t errlen)
{
	struct auth_dkim_ctx *c = xcalloc(1, sizeof(*c));
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;

	if ((c->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "libopendkim: dkim_init failed");
		free(c);
		return NULL;
	}
	if (dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(c->lib, key_lookup) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim: cannot set options");
		dkim_close(c->lib);
		free(c);
		return NULL;
	}
	return c;
}

void
auth_dkim_free(struct auth_dkim_ctx *c)
{
	if (c == NULL)
		return;
	dkim_close(c->lib);
	free(c);
}

static const char *
sig_reason(DKIM_SIGINFO *sig, int bh)
{
	int e = dkim_sig_geterror(sig);

	/* libopendkim sets BADSIG for a body hash mismatch too; the
	   body hash is the more useful reason */
	if (bh == DKIM_SIGBH_MISMATCH)
		return "body hash did not verify";
	if (e == DKIM_SIGERROR_OK)
		return "signature verification failed";
	return dkim_sig_geterrorstr(e);
}

static enum auth_res
sig_result(DKIM_SIGINFO *sig)
{
	unsigned int fl = dkim_sig_getflags(sig);
	int bh = dkim_sig_getbh(sig);

	if ((fl & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH)
		return AUTH_PASS;
	switch (dkim_sig_geterror(sig)) {
	case DKIM_SIGERROR_KEYFAIL:
	case DKIM_SIGERROR_MULTIREPLY:
		return AUTH_TEMPERROR;
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
	case DKIM_SIGERROR_KEYREVOKED:
	case DKIM_SIGERROR_NOKEY:
		return AUTH_FAIL;
	default:
		return AUTH_PERMERROR;	/* malformed signature or key */
	}
}

/*
 * Mail stored with bare LF (mbox, Maildir, the CLI) is canonicalized as
 * if it had CRLF line ends, as on the wire; libopendkim's FIXCRLF flag
 * does not cover folded header lines, so we convert here.
 */
static void
feed_header(DKIM *d, const char *f, size_t len)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r'))
			buf_addc(&b, '\r');
		buf_addc(&b, f[i]);
	}
	(void)dkim_header(d, (u_char *)b.p, b.len);
	buf_free(&b);
}

static void
feed_body(DKIM *d, const char *p, size_t len)
{
	unsigned char chunk[8192 + 2];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			chunk[n++] = '\r';
		chunk[n++] = (unsigned char)p[i];
		if (n >= 8192) {
			(void)dkim_body(d, chunk, n);
			n = 0;
		}
	}
	if (n > 0)
		(void)dkim_body(d, chunk, n);
}

void
auth_dkim_verify(struct auth_state *st)
{
	const struct auth_dkim_ctx *c = st->sh->dkim;
	const struct msg *m = st->msg;
	struct dkim_run run = { st, 0 };
	DKIM_SIGINFO **sigs = NULL;
	const char *hdr, *p, *end;
	DKIM_STAT stat;
	size_t hlen;
	int nsigs = 0, nsig = 0;
	DKIM *d;

	if (c == NULL || st->dkim_src != SRC_NONE)
		return;
	auth_raw_headers(m, &hdr, &hlen);
	/* anything to verify? (cheap test before setting up a handle) */
	if (msg_header(m, "DKIM-Signature", 0) == NULL)
		return;
	st->dkim_signed = 1;
	st->dkim_src = SRC_VERIFIED;
	/*
	 * libopendkim mixes explicit lengths and strlen() on header fields:
	 * a NUL inside one makes it read past its copy (found by
	 * fuzz_auth). RFC 5322 forbids NUL in headers, so such a message
	 * cannot carry a valid signature: permerror without the library.
	 */
	if (memchr(hdr, '\0', hlen) != NULL) {
		st->sigs[0].res = AUTH_PERMERROR;
		st->sigs[0].reason = "NUL byte in the header";
		st->nsigs = 1;
		return;
	}
	d = dkim_verify(c->lib, (const unsigned char *)"hamlet", NULL, &stat);
	if (d == NULL)
		return;
	dkim_set_user_context(d, &run);

	/* header fields, each with its folded continuation lines */
	p = hdr;
	end = hdr + hlen;
	while (p < end) {
		const char *f = p, *q = p;

		if (*p == '\r' || *p == '\n')
			break;		/* the empty line */
		for (;;) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));

			q = nl ? nl + 1 : end;
			if (q >= end || (*q != ' ' && *q != '\t'))
				break;
		}
		/* strip the final line ending */
		{
			const char *fe = q;

			if (fe > f && fe[-1] == '\n')
				fe--;
			if (fe > f && fe[-1] == '\r')
				fe--;
			/* each signature costs a key lookup and possibly its
			   own body canonicalization (l=, c=): the first
			   AUTH_MAX_SIGS are verified, later ones not seen */
			if (fe - f > 15 && strncasecmp(f, "DKIM-Signature",
			    14) == 0 && (f[14] == ':' || f[14] == ' ' ||
			    f[14] == '\t') && ++nsig > AUTH_MAX_SIGS)
				fe = f;
			if (fe > f && memchr(f, ':', (size_t)(fe - f)) != NULL)
				feed_header(d, f, (size_t)(fe - f));
		}
		p = q;
	}
	stat = dkim_eoh(d);
	if (stat == DKIM_STAT_OK && m->body_off <= m->raw_len)
		feed_body(d, m->raw + m->body_off, m->raw_len - m->body_off);
	if (stat == DKIM_STAT_OK)
		(void)dkim_eom(d, NULL);

	if (dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK) {
		for (int i = 0; i < nsigs && st->nsigs < AUTH_MAX_SIGS; i++) {
			struct auth_sig *as = &st->sigs[st->nsigs];
			const char *dom, *sel;

			if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE)
				continue;
			dom = (const char *)dkim_sig_getdomain(sigs[i]);
			sel = (const char *)dkim_sig_getselector(sigs[i]);
			as->domain = dom ? auth_addr_domain(st->pool, dom) :
			    NULL;
			as->selector = sel ? pool_strdup(st->pool, sel) : NULL;
			as->res = sig_result(sigs[i]);
			as->reason = as->res == AUTH_PASS ? NULL :
			    pool_strdup(st->pool, sig_reason(sigs[i],
			    dkim_sig_getbh(sigs[i])));
			st->nsigs++;
		}
	}
	if (st->nsigs == 0) {
		/* signature headers libopendkim could not even parse */
		st->sigs[0].res = AUTH_PERMERROR;
		st->sigs[0].reason = "unparseable signature";
		st->nsigs = 1;
	}
	dkim_free(d);
}
