/*
 * resolver.h - the one DNS interface of hamlet: TXT, A, AAAA, MX and PTR
 * lookups with a per-query timeout and a per-message time budget.
 *
 * Two backends behind one API:
 *   - system: c-ares over the servers of /etc/resolv.conf (millisecond
 *     timeouts, EDNS0, TCP fallback on truncation, no global state);
 *   - zone: an in-memory table loaded from a small zone file, for tests
 *     (no DNS server needed; can simulate SERVFAIL and timeouts).
 *
 * A struct resolver is long-lived, built at setup and read-only while
 * scanning, so threads share it. Each scan opens a struct
 * resolver_session: it owns every reply it hands out (freed with the
 * session), caches answers for the message, and enforces the budget:
 * once budget_ms is spent every further query fails with ST_ERR_TIMEOUT
 * at once. Callers turn such failures into TEMPERROR symbols.
 */
#ifndef HAMLET_RESOLVER_H
#define HAMLET_RESOLVER_H

#include <stddef.h>

#include "status.h"

/* values are the DNS RR type numbers */
enum resolver_type {
	RESOLVER_A = 1,
	RESOLVER_PTR = 12,
	RESOLVER_MX = 15,
	RESOLVER_TXT = 16,
	RESOLVER_AAAA = 28
};

struct resolver_rr {
	char		*data;		/* TXT: strings joined; MX/PTR: name without
					   final dot; A/AAAA: presentation form */
	size_t		 len;		/* strlen(data) */
	unsigned char	 addr[16];	/* A: 4 bytes, AAAA: 16 bytes */
	int		 pref;		/* MX preference */
};

struct resolver_reply {
	enum status	 st;		/* ST_OK (n >= 1), ST_NOTFOUND,
					   ST_ERR_TEMP, ST_ERR_TIMEOUT */
	int		 nxdomain;	/* ST_NOTFOUND because the name does not exist */
	struct resolver_rr *rr;
	size_t		 n;
};

/* bounds applied to every answer (SECURITY: DNS answers are untrusted) */
#define RESOLVER_MAX_RR		64	/* records kept per answer */
#define RESOLVER_MAX_TXT	8192	/* bytes kept per TXT record */
#define RESOLVER_MAX_NAME	255	/* query name length */
#define RESOLVER_CACHE		128	/* answers cached per session */

struct resolver;
struct resolver_session;

/*
 * The system backend. Reads /etc/resolv.conf at session start (so a
 * changed resolv.conf is seen without a restart). servers may be NULL or
 * a c-ares CSV list ("127.0.0.1:5353,[::1]:53") overriding resolv.conf.
 * Returns NULL with a message in err when c-ares cannot initialize.
 */
struct resolver *resolver_system_new(const char *servers, char *err,
    size_t errlen);

/* An empty zone backend. */
struct resolver *resolver_zone_new(void);

/*
 * Add one zone line to a zone backend:
 *	name [ttl] [IN] TYPE rdata
 * TYPE is A, AAAA, TXT (one or more "quoted" strings, joined), MX (pref
 * name), PTR (name), or the test pseudo-types SERVFAIL (every query for
 * the name fails temporarily) and TIMEOUT (every query for the name times
 * out, charging the session its per-query timeout without sleeping).
 * Names are case-insensitive; a final dot is optional. Blank lines and
 * lines starting with ';' or '#' are ignored.
 */
enum status resolver_zone_add(struct resolver *r, const char *line,
    char *err, size_t errlen);
/* Load a file of zone lines; errors name file:line. */
enum status resolver_zone_load(struct resolver *r, const char *path,
    char *err, size_t errlen);

/* Accepts NULL. Sessions must be closed first. */
void resolver_free(struct resolver *r);

/*
 * A session for one message. timeout_ms bounds each query, budget_ms
 * the sum of time spent in all queries of the session (<= 0: no bound).
 * Never fails.
 */
struct resolver_session *resolver_session_new(struct resolver *r,
    long timeout_ms, long budget_ms);

/*
 * Look name up. Returns reply->st and sets *out to the reply, which the
 * session owns (valid until resolver_session_free). Never NULL.
 * A name longer than RESOLVER_MAX_NAME or with bad characters gives
 * ST_NOTFOUND with nxdomain set, without a query.
 */
enum status resolver_query(struct resolver_session *s, const char *name,
    enum resolver_type type, const struct resolver_reply **out /* OUT */);

/* Queries sent (cache hits excluded) and milliseconds charged so far. */
unsigned resolver_session_queries(const struct resolver_session *s);
double resolver_session_spent_ms(const struct resolver_session *s);
/* 1 once the budget is spent. */
int resolver_session_exhausted(const struct resolver_session *s);

void resolver_session_free(struct resolver_session *s);

/* Reverse name of an address string: "4.3.2.1.in-addr.arpa" / ip6.arpa. */
enum status resolver_ptr_name(const char *ip, char *buf, size_t len);

#endif
