/*
 * auth_dmarc.c - DMARC (RFC 7489) with libopendmarc: policy record
 * parsing, identifier alignment (relaxed/strict, adkim/aspf), p/sp
 * choice, organizational domains from Debian's public suffix list.
 *
 * We fetch the _dmarc record ourselves through the hamlet resolver (the
 * library's own lookup uses libresolv directly, bypassing our timeouts,
 * budget and test zones) and hand it to opendmarc_policy_store_dmarc(),
 * which parses it; we read p, sp, adkim, aspf and pct back. Alignment
 * and the verdict are computed here (a few lines of RFC 7489 3.1/6.6)
 * because libopendmarc's alignment check and organizational domain
 * lookup fail for domains under TLDs missing from the public suffix
 * list, where the list's default rule "*" must apply. pct is applied
 * here too (libopendmarc leaves it to the caller): the sample is a hash
 * of the message's header bytes, so the same message always gets the
 * same verdict.
 *
 * Ownership: the public suffix list is loaded once per process, on
 * first use (libopendmarc keeps it globally, read-only after load). One policy
 * context per message, freed here.
 *
 * Errors: a DNS failure gives AUTH_TEMPERROR; an unparseable record
 * AUTH_PERMERROR; no record AUTH_NONE.
 *
 * SECURITY: records are untrusted DNS data; libopendmarc copies them
 * into bounded buffers. We cap what we pass at 2048 bytes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <opendmarc/dmarc.h>

#include "auth_int.h"
#include "log.h"
#include "xalloc.h"

#define PSL_PATH	"/usr/share/publicsuffix/public_suffix_list.dat"
#define MAX_RECORD	2048

/* exported by libopendmarc but missing from its header */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

static pthread_once_t dmarc_once = PTHREAD_ONCE_INIT;
static int dmarc_init_ok;
static OPENDMARC_LIB_T dmarc_lib;

static void
dmarc_global(void)
{
	memset(&dmarc_lib, 0, sizeof(dmarc_lib));
	dmarc_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)dmarc_lib.tld_source_file,
	    sizeof(dmarc_lib.tld_source_file), "%s", PSL_PATH);
	dmarc_init_ok = opendmarc_policy_library_init(&dmarc_lib) ==
	    DMARC_PARSE_OKAY;
}

/*
 * At attach time only check that the list is there: loading it costs a
 * few milliseconds, which a one-shot `hamlet check` that never reaches
 * DMARC (no use_network) should not pay. It is loaded on first use.
 */
enum status
auth_dmarc_init(char *err, size_t errlen)
{
	if (access(PSL_PATH, R_OK) != 0) {
		snprintf(err, errlen, "libopendmarc: cannot read %s "
		    "(package publicsuffix)", PSL_PATH);
		return ST_ERR_CONFIG;
	}
	return ST_OK;
}

static int
dmarc_ready(void)
{
	pthread_once(&dmarc_once, dmarc_global);
	return dmarc_init_ok;
}

enum status
auth_dmarc_orgdomain(const char *d, char *buf, size_t len)
{
	u_char in[RESOLVER_MAX_NAME + 1];

	if (!dmarc_ready() || strlen(d) > RESOLVER_MAX_NAME)
		return ST_ERR_INTERNAL;
	memcpy(in, d, strlen(d) + 1);
	buf[0] = '\0';
	if (opendmarc_get_tld(in, (u_char *)buf, len) == 0 && buf[0] != '\0')
		return ST_OK;
	/*
	 * No rule matched (a TLD missing from the list, like .test or a
	 * private one): the list's default rule "*" makes the last label
	 * the suffix, so the organizational domain is the last two labels.
	 * libopendmarc leaves the result empty instead.
	 */
	{
		const char *last = strrchr(d, '.'), *p = NULL;

		if (last == NULL || last == d)
			return ST_NOTFOUND;
		for (const char *q = last - 1; q >= d; q--)
			if (*q == '.') {
				p = q + 1;
				break;
			}
		if (p == NULL)
			p = d;
		if (strlen(p) >= len)
			return ST_ERR_LIMIT;
		memcpy(buf, p, strlen(p) + 1);
	}
	return ST_OK;
}

/*
 * The one DMARC record at _dmarc.domain: ST_OK with *rec, ST_NOTFOUND
 * (none, or several: RFC 7489 6.6.3), or a temporary error.
 */
static enum status
fetch_record(struct auth_state *st, const char *domain, const char **rec)
{
	const struct resolver_reply *rep;
	char name[RESOLVER_MAX_NAME + 16];
	enum status rc;
	int found = 0;

	*rec = NULL;
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	rc = resolver_query(st->dns, name, RESOLVER_TXT, &rep);
	if (rc != ST_OK)
		return rc;
	for (size_t i = 0; i < rep->n; i++) {
		const char *t = rep->rr[i].data;

		while (*t == ' ' || *t == '\t')
			t++;
		if (strncasecmp(t, "v=DMARC1", 8) != 0 ||
		    (t[8] != ';' && t[8] != ' ' && t[8] != '\t' &&
		    t[8] != '\0'))
			continue;
		found++;
		*rec = rep->rr[i].data;
	}
	if (found != 1) {
		*rec = NULL;
		return ST_NOTFOUND;
	}
	return ST_OK;
}

/* 0..99 from the header bytes: the pct sample for this message */
static unsigned
message_sample(const struct msg *m)
{
	const char *hdr;
	size_t len;
	uint32_t h = 2166136261u;

	auth_raw_headers(m, &hdr, &len);
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)hdr[i];
		h *= 16777619u;
	}
	return h % 100;
}

/*
 * RFC 7489 3.1: strict alignment is equality, relaxed alignment equal
 * organizational domains. Done here rather than by libopendmarc's
 * opendmarc_policy_check_alignment(), which fails for domains under a
 * TLD missing from the public suffix list (see auth_dmarc_orgdomain).
 */
static int
aligned(const char *from, const char *d, int mode)
{
	char o1[RESOLVER_MAX_NAME + 1], o2[RESOLVER_MAX_NAME + 1];

	if (from == NULL || d == NULL)
		return 0;
	if (strcasecmp(from, d) == 0)
		return 1;
	if (mode == DMARC_RECORD_A_STRICT)
		return 0;
	return auth_dmarc_orgdomain(from, o1, sizeof(o1)) == ST_OK &&
	    auth_dmarc_orgdomain(d, o2, sizeof(o2)) == ST_OK &&
	    strcasecmp(o1, o2) == 0;
}

void
auth_dmarc_verify(struct auth_state *st)
{
	char org[RESOLVER_MAX_NAME + 1], *recbuf;
	const char *rec = NULL, *ip;
	int orgused = 0, pol, pct = 100, pass = 0, p = 0, sp = 0;
	int adkim = DMARC_RECORD_A_RELAXED, aspf = DMARC_RECORD_A_RELAXED;
	DMARC_POLICY_T *pctx;
	enum status rc;

	if (st->dmarc_src != SRC_NONE || st->from_domain == NULL)
		return;
	/* without an SPF verdict and without a DKIM signature (a stored
	   message checked without its envelope) a DMARC verdict would
	   only repeat "nothing was authenticated": skip it */
	if (st->spf == AUTH_UNSET && st->nsigs == 0)
		return;
	if (!dmarc_ready())
		return;
	st->dmarc_src = SRC_VERIFIED;
	rc = fetch_record(st, st->from_domain, &rec);
	if (rc == ST_NOTFOUND &&
	    auth_dmarc_orgdomain(st->from_domain, org, sizeof(org)) == ST_OK &&
	    strcasecmp(org, st->from_domain) != 0) {
		rc = fetch_record(st, org, &rec);
		orgused = 1;
	}
	if (rc == ST_NOTFOUND) {
		st->dmarc = AUTH_NONE;
		return;
	}
	if (rc != ST_OK) {
		st->dmarc = AUTH_TEMPERROR;
		return;
	}

	ip = st->msg->env.ip ? st->msg->env.ip : "0.0.0.0";
	pctx = opendmarc_policy_connect_init((u_char *)(uintptr_t)ip,
	    strchr(ip, ':') != NULL);
	if (pctx == NULL) {
		st->dmarc = AUTH_TEMPERROR;
		return;
	}
	recbuf = pool_strndup(st->pool, rec, strnlen(rec, MAX_RECORD));
	if (opendmarc_policy_store_from_domain(pctx,
	    (u_char *)(uintptr_t)st->from_domain) != DMARC_PARSE_OKAY ||
	    opendmarc_policy_store_dmarc(pctx, (u_char *)recbuf,
	    (u_char *)(uintptr_t)st->from_domain,
	    orgused ? (u_char *)org : NULL) != DMARC_PARSE_OKAY) {
		st->dmarc = AUTH_PERMERROR;
		opendmarc_policy_connect_shutdown(pctx);
		return;
	}
	(void)opendmarc_policy_fetch_adkim(pctx, &adkim);
	(void)opendmarc_policy_fetch_aspf(pctx, &aspf);
	(void)opendmarc_policy_fetch_pct(pctx, &pct);
	(void)opendmarc_policy_fetch_p(pctx, &p);
	(void)opendmarc_policy_fetch_sp(pctx, &sp);
	opendmarc_policy_connect_shutdown(pctx);

	/* SPF: the MAIL FROM identity (HELO only for the null sender) */
	if (st->spf == AUTH_PASS && aligned(st->from_domain, st->spf_domain,
	    aspf))
		pass = 1;
	/* DKIM: any passing signature from an aligned domain */
	for (size_t i = 0; i < st->nsigs && !pass; i++)
		if (st->sigs[i].res == AUTH_PASS &&
		    aligned(st->from_domain, st->sigs[i].domain, adkim))
			pass = 1;
	if (pass) {
		st->dmarc = AUTH_PASS;
		return;
	}
	/* the subdomain policy applies when the record came from the
	   organizational domain; sp defaults to p */
	pol = orgused && sp != DMARC_RECORD_P_UNSPECIFIED ? sp : p;
	if (pol != DMARC_RECORD_P_REJECT && pol != DMARC_RECORD_P_QUARANTINE &&
	    pol != DMARC_RECORD_P_NONE) {
		st->dmarc = AUTH_PERMERROR;
		return;
	}
	st->dmarc = AUTH_FAIL;
	st->dmarc_p = pol;
	st->dmarc_policy = pol;
	/* RFC 7489 6.6.4: outside the pct sample, apply the next less
	   strict policy */
	if (pct >= 0 && pct < 100 && pol != DMARC_RECORD_P_NONE &&
	    message_sample(st->msg) >= (unsigned)pct)
		st->dmarc_policy = pol == DMARC_RECORD_P_REJECT ?
		    DMARC_RECORD_P_QUARANTINE : DMARC_RECORD_P_NONE;
}
