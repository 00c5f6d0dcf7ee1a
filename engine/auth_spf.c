/*
 * auth_spf.c - SPF (RFC 7208) for MAIL FROM and HELO with libspf2, its
 * DNS routed through the hamlet resolver.
 *
 * libspf2 lets a caller supply its own DNS layer (SPF_dns_server_t with
 * a lookup callback); ours answers from the scan's resolver session, so
 * SPF lookups share the per-query timeout, the per-message budget and
 * the cache with DKIM and DMARC, and tests use the zone resolver.
 * libspf2 enforces the RFC 7208 limits itself (10 DNS mechanisms, MX
 * and PTR limits, recursion), which gives permerror on include loops.
 *
 * Ownership: an SPF_server_t is made per evaluation (cheap; its DNS
 * layer, on our stack, points at the per-message session, so nothing is
 * shared between threads) and freed before spf_check() returns.
 *
 * Errors: a DNS failure becomes TRY_AGAIN for libspf2, which reports
 * temperror. A library failure leaves the result AUTH_TEMPERROR.
 *
 * SECURITY: envelope values come from the SMTP client; libspf2 parses
 * the SPF records (untrusted DNS data). We pass only checked addresses
 * and bounded strings.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "auth_int.h"
#include "log.h"
#include "xalloc.h"

struct auth_spf_ctx {
	int	 unused;
};

/* what our DNS layer carries for one SPF evaluation */
struct spf_hook {
	struct resolver_session *dns;
	int	 tempfail;	/* a lookup failed temporarily */
};

static pthread_once_t spf_once = PTHREAD_ONCE_INIT;

static void
spf_log_warning(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_debug("spf: %s", msg);
}

static void
spf_global(void)
{
	/* libspf2 prints warnings to stderr by default; route them to the
	   debug log, and drop info/debug chatter */
	SPF_warning_handler = spf_log_warning;
	SPF_info_handler = NULL;
	SPF_debug_handler = NULL;
}

struct auth_spf_ctx *
auth_spf_new(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	pthread_once(&spf_once, spf_global);
	return xcalloc(1, sizeof(struct auth_spf_ctx));
}

void
auth_spf_free(struct auth_spf_ctx *c)
{
	free(c);
}

static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_hook *hook = srv->hook;
	const struct resolver_reply *rep;
	enum resolver_type rt;
	SPF_dns_rr_t *rr;
	int cnt = 0;

	(void)should_cache;
	switch (type) {
	case ns_t_a:	rt = RESOLVER_A; break;
	case ns_t_aaaa:	rt = RESOLVER_AAAA; break;
	case ns_t_txt:	rt = RESOLVER_TXT; break;
	case ns_t_mx:	rt = RESOLVER_MX; break;
	case ns_t_ptr:	rt = RESOLVER_PTR; break;
	default:
		/* the obsolete SPF RR type (99) and anything else */
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	}
	switch (resolver_query(hook->dns, domain, rt, &rep)) {
	case ST_OK:
		break;
	case ST_NOTFOUND:
		return SPF_dns_rr_new_init(srv, domain, type, 0,
		    rep->nxdomain ? HOST_NOT_FOUND : NO_DATA);
	default:
		hook->tempfail = 1;
		return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
	}
	rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS);
	if (rr == NULL)
		return NULL;
	for (size_t i = 0; i < rep->n; i++) {
		const struct resolver_rr *r = &rep->rr[i];
		size_t need;

		switch (type) {
		case ns_t_a:	need = sizeof(struct in_addr); break;
		case ns_t_aaaa:	need = sizeof(struct in6_addr); break;
		default:	need = r->len + 1; break;
		}
		if (SPF_dns_rr_buf_realloc(rr, cnt, need) != SPF_E_SUCCESS)
			break;
		switch (type) {
		case ns_t_a:
			memcpy(&rr->rr[cnt]->a, r->addr, 4);
			break;
		case ns_t_aaaa:
			memcpy(&rr->rr[cnt]->aaaa, r->addr, 16);
			break;
		default:
			/* txt, mx and ptr share the char array member */
			memcpy(rr->rr[cnt]->txt, r->data, r->len + 1);
			break;
		}
		cnt++;
	}
	rr->num_rr = cnt;
	if (cnt == 0)
		rr->herrno = NO_DATA;
	return rr;
}

static enum auth_res
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:		return AUTH_PASS;
	case SPF_RESULT_FAIL:		return AUTH_FAIL;
	case SPF_RESULT_SOFTFAIL:	return AUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return AUTH_NEUTRAL;
	case SPF_RESULT_NONE:		return AUTH_NONE;
	case SPF_RESULT_TEMPERROR:	return AUTH_TEMPERROR;
	case SPF_RESULT_PERMERROR:	return AUTH_PERMERROR;
	default:			return AUTH_PERMERROR;
	}
}

/*
 * One SPF evaluation. from is the envelope sender (or NULL to check the
 * HELO identity). Returns the result and a short reason in *why.
 */
static enum auth_res
spf_check(struct auth_state *st, const char *ip, const char *helo,
    const char *from, const char **why)
{
	SPF_dns_server_t dns;
	SPF_server_t *srv;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	struct spf_hook hook = { st->dns, 0 };
	enum auth_res res = AUTH_TEMPERROR;
	struct in6_addr a6;
	struct in_addr a4;

	*why = NULL;
	/* a server made with SPF_server_new_dns() does not own its DNS
	   layer: it can live on our stack */
	memset(&dns, 0, sizeof(dns));
	dns.lookup = spf_dns_lookup;
	dns.name = "hamlet";
	dns.hook = &hook;
	if ((srv = SPF_server_new_dns(&dns, 0)) == NULL)
		return AUTH_TEMPERROR;
	if (st->sh->hostname[0] != '\0')
		SPF_server_set_rec_dom(srv, st->sh->hostname);
	req = SPF_request_new(srv);
	if (inet_pton(AF_INET, ip, &a4) == 1)
		SPF_request_set_ipv4(req, a4);
	else if (inet_pton(AF_INET6, ip, &a6) == 1)
		SPF_request_set_ipv6(req, a6);
	else {
		*why = "bad client address";
		res = AUTH_PERMERROR;
		goto out;
	}
	if (helo != NULL && *helo != '\0')
		SPF_request_set_helo_dom(req, helo);
	if (from != NULL && SPF_request_set_env_from(req, from) != 0) {
		*why = "bad envelope sender";
		res = AUTH_PERMERROR;
		goto out;
	}
	SPF_request_query_mailfrom(req, &resp);
	if (resp != NULL) {
		res = map_result(SPF_response_result(resp));
		/* Debian's libspf2 1.2.10 answers a TRY_AGAIN on the record
		   lookup with an "invalid" result, mapped to permerror
		   above: when a lookup of ours failed temporarily, it is a
		   temperror (RFC 7208 4.4) */
		if (res == AUTH_PERMERROR && hook.tempfail)
			res = AUTH_TEMPERROR;
		if (res != AUTH_PASS && SPF_response_errcode(resp) !=
		    SPF_E_SUCCESS)
			*why = pool_strdup(st->pool,
			    SPF_strerror(SPF_response_errcode(resp)));
	}
out:
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(srv);
	return res;
}

/* A usable HELO name: a dotted domain, not an address literal. */
static int
helo_is_domain(const char *h)
{
	if (h == NULL || *h == '\0' || *h == '[' || strchr(h, '.') == NULL ||
	    strlen(h) > RESOLVER_MAX_NAME)
		return 0;
	for (const char *p = h; *p; p++)
		if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_'))
			return 0;
	return 1;
}

void
auth_spf_verify(struct auth_state *st)
{
	const struct envelope *env = &st->msg->env;
	const char *ip = env->ip, *helo = env->helo, *from = env->mail_from;
	const char *why;
	char ipbuf[64];

	if (ip == NULL || *ip == '\0')
		return;		/* nothing to check against */
	/* sendmail writes IPv6 clients as "IPv6:addr" */
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		ip += 5;
	if (*ip == '[') {
		size_t n = strcspn(ip + 1, "]");

		if (n >= sizeof(ipbuf))
			return;
		memcpy(ipbuf, ip + 1, n);
		ipbuf[n] = '\0';
		ip = ipbuf;
	}
	if (!helo_is_domain(helo))
		helo = NULL;

	if (st->helo_src == SRC_NONE && helo != NULL) {
		st->spf_helo = spf_check(st, ip, helo, NULL, &why);
		st->helo_src = SRC_VERIFIED;
	}
	if (st->spf_src == SRC_NONE) {
		if (from != NULL && strchr(from, '@') != NULL) {
			st->spf = spf_check(st, ip, helo, from, &why);
			st->spf_domain = st->mfrom_domain;
		} else if (helo != NULL) {
			/* null sender: RFC 7208 2.4 checks postmaster@helo */
			st->spf = st->helo_src == SRC_VERIFIED ? st->spf_helo :
			    spf_check(st, ip, helo, NULL, &why);
			why = NULL;
			st->spf_domain = pool_strdup(st->pool, helo);
		} else
			return;
		st->spf_reason = why;
		st->spf_src = SRC_VERIFIED;
	}
}
