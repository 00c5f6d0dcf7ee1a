/*
 * auth_int.h - shared state of the auth modules (auth.c drives, auth_ar.c
 * parses upstream headers, auth_spf.c, auth_dkim.c, auth_dmarc.c and
 * auth_arc.c verify). Not a public interface: only engine/auth*.c
 * include it.
 *
 * One struct auth_state lives on the stack of the STAGE_AUTH check for
 * one message; strings in it point into the scan's pool or the message.
 */
#ifndef HAMLET_AUTH_INT_H
#define HAMLET_AUTH_INT_H

#include <stddef.h>

#include "buf.h"
#include "cfg.h"
#include "msg.h"
#include "pool.h"
#include "resolver.h"

enum auth_res {
	AUTH_UNSET = 0,		/* method not evaluated */
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_NONE,
	AUTH_PERMERROR,
	AUTH_TEMPERROR,
	AUTH_POLICY		/* RFC 8601 "policy" (dkim) */
};

enum auth_src { SRC_NONE = 0, SRC_UPSTREAM, SRC_VERIFIED };

#define AUTH_MAX_SIGS	16	/* DKIM signatures evaluated per message */
#define AUTH_MAX_ARC	50	/* RFC 8617: instances 1..50 */

struct auth_sig {
	const char	*domain;	/* d=, lowercase */
	const char	*selector;	/* s= or NULL */
	enum auth_res	 res;
	const char	*reason;	/* why it failed, or NULL */
};

struct auth_shared;

struct auth_state {
	const struct auth_shared *sh;
	const struct cfg *cfg;
	struct pool	*pool;
	const struct msg *msg;
	struct resolver_session *dns;

	const char	*from_domain;	/* RFC5322.From domain, lowercase, or NULL */
	const char	*mfrom_domain;	/* envelope sender domain or NULL */

	/* SPF */
	enum auth_res	 spf, spf_helo;
	enum auth_src	 spf_src, helo_src;
	const char	*spf_domain;	/* domain SPF checked (mfrom, or helo for <>) */
	const char	*spf_reason;

	/* DKIM */
	struct auth_sig	 sigs[AUTH_MAX_SIGS];
	size_t		 nsigs;
	int		 dkim_signed;	/* a DKIM-Signature (or upstream dkim=) seen */
	enum auth_src	 dkim_src;

	/* DMARC */
	enum auth_res	 dmarc;		/* PASS, FAIL, NONE (no record), TEMPERROR, PERMERROR */
	int		 dmarc_policy;	/* 'n', 'q', 'r' applied (after pct), 0 unknown */
	int		 dmarc_p;	/* policy published (p or sp) */
	enum auth_src	 dmarc_src;

	/* ARC */
	enum auth_res	 arc;		/* PASS, FAIL, NONE, TEMPERROR */
	int		 arc_instances;
	enum auth_src	 arc_src;
	const char	*arc_reason;
};

/* auth_ar.c: take results from trusted Authentication-Results and
   Received-SPF headers; methods found are marked SRC_UPSTREAM. */
void auth_ar_parse(struct auth_state *st);
/* 1 when id is in the trusted authserv-id list (cfg or hostname) */
int auth_ar_trusted(const struct auth_state *st, const char *id, size_t len);

/* auth_spf.c */
struct auth_spf_ctx;
struct auth_spf_ctx *auth_spf_new(char *err, size_t errlen);
void auth_spf_free(struct auth_spf_ctx *c);
void auth_spf_verify(struct auth_state *st);

/* auth_dkim.c */
struct auth_dkim_ctx;
struct auth_dkim_ctx *auth_dkim_new(char *err, size_t errlen);
void auth_dkim_free(struct auth_dkim_ctx *c);
void auth_dkim_verify(struct auth_state *st);

/* auth_dmarc.c */
enum status auth_dmarc_init(char *err, size_t errlen);
void auth_dmarc_verify(struct auth_state *st);
/* organizational domain of d into buf (public suffix list) */
enum status auth_dmarc_orgdomain(const char *d, char *buf, size_t len);

/* auth_arc.c */
void auth_arc_verify(struct auth_state *st);

/* auth.c helpers */
const char *auth_res_str(enum auth_res r);		/* "pass", "fail", ... */
enum auth_res auth_res_parse(const char *s, size_t len);
/* domain of an address (after the last '@'), lowercase, in pool; NULL if none */
const char *auth_addr_domain(struct pool *p, const char *addr);
/* domain of the (first) address in a From header value */
const char *auth_from_domain(struct pool *p, const char *value);

/* The raw header block of the message (mbox "From " line skipped). */
void auth_raw_headers(const struct msg *m, const char **hdr, size_t *len);

struct auth_shared {
	struct resolver		*resolver;
	struct auth_spf_ctx	*spf;
	struct auth_dkim_ctx	*dkim;
	int			 dmarc_ok;
	char			 hostname[256];
};

#endif
