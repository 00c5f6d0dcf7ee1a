/*
 * auth.h - sender authentication in the score: SPF, DKIM, DMARC and ARC,
 * taken from trusted upstream Authentication-Results / Received-SPF
 * headers, verified here, or both (cfg auth_mode).
 *
 * auth_attach() registers one STAGE_AUTH check. Its verdicts are result
 * symbols named as SpamAssassin names them (SPF_PASS ... SPF_HELO_*,
 * DKIM_SIGNED, DKIM_VALID, DKIM_VALID_AU, DKIM_VALID_EF, DKIM_INVALID,
 * DMARC_PASS, DMARC_REJECT, DMARC_QUARANTINE, DMARC_NONE, ARC_VALID,
 * ARC_INVALID ...), so rule files, metas and welcomelist_auth can test
 * them with the usual hit lookups. A DNS failure is a TEMPERROR symbol,
 * never a failed scan. Own verification (DNS) runs only when cfg
 * use_network is on, like every network test; trusted upstream headers
 * are read regardless.
 *
 * The milter asks auth_results_header() for the Authentication-Results
 * value to add, and auth_dmarc_reject() whether to reject.
 */
#ifndef HAMLET_AUTH_H
#define HAMLET_AUTH_H

#include <stddef.h>

#include "status.h"

struct cfg;
struct engine;
struct resolver;
struct scan;

/*
 * Register the auth check and its symbols on e, using the system
 * resolver (c-ares, /etc/resolv.conf). ST_ERR_CONFIG with a message in
 * err when a library cannot be initialized.
 */
enum status auth_attach(struct engine *e, char *err, size_t errlen);

/*
 * The same with a given resolver (a zone resolver in tests); the engine
 * takes ownership of r (freed with the engine, also on error).
 */
enum status auth_attach_resolver(struct engine *e, struct resolver *r,
    char *err, size_t errlen);

/*
 * The value of our own Authentication-Results header for this scan
 * ("authserv-id; spf=pass smtp.mailfrom=...; dkim=..."), or NULL when
 * hamlet verified nothing itself (upstream-only results are not
 * re-stamped). The string lives in the scan's pool.
 */
const char *auth_results_header(struct scan *s);

/*
 * Our authserv-id: cfg authserv_id, else cfg hostname, else this host's
 * name, written into buf (size len). Returns buf.
 */
const char *auth_servid(const struct cfg *c, char *buf, size_t len);

/* 1 when an Authentication-Results value carries authserv-id id. */
int auth_results_is_ours(const char *value, const char *id);

/*
 * 1 when cfg dmarc_reject is on and DMARC evaluation of this message
 * ended in the domain's reject policy (after pct sampling); *why (may be
 * NULL) then points at a reply text in the scan's pool. 0 otherwise.
 */
int auth_dmarc_reject(struct scan *s, const char **why);

#endif
