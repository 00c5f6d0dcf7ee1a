/*
 * fuzz_auth.c - the auth check on arbitrary messages: the
 * Authentication-Results and Received-SPF parsers (trusted authserv-id
 * "fuzz"), DKIM header/body feeding and key lookups, ARC set collection,
 * tag-list parsing and canonicalization, DMARC, and our own
 * Authentication-Results value. DNS answers come from a zone resolver
 * (tests/data/auth/auth.zone when present, so the seeds' signatures
 * verify; a few built-in records otherwise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/auth.h"
#include "engine/cfg.h"
#include "engine/resolver.h"
#include "engine/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct engine *e;
	struct envelope env;
	struct scan *s;
	const char *why;

	if (e == NULL) {
		struct cfg *c = cfg_new();
		struct resolver *r = resolver_zone_new();
		char err[256];

		cfg_set(c, "hostname", "fuzz", err, sizeof(err));
		cfg_set(c, "use_network", "yes", err, sizeof(err));
		cfg_set(c, "auth_mode", "both", err, sizeof(err));
		cfg_set(c, "dmarc_reject", "yes", err, sizeof(err));
		(void)resolver_zone_load(r, "tests/data/auth/auth.zone", err,
		    sizeof(err));
		resolver_zone_add(r, "example.test TXT \"v=spf1 ip4:192.0.2.10 "
		    "include:x.test -all\"", err, sizeof(err));
		resolver_zone_add(r, "_dmarc.example.test TXT \"v=DMARC1; "
		    "p=reject; pct=50\"", err, sizeof(err));
		resolver_zone_add(r, "temp.test SERVFAIL", err, sizeof(err));
		e = engine_new(c);
		if (auth_attach_resolver(e, r, err, sizeof(err)) != ST_OK)
			abort();
		engine_freeze(e);
	}
	memset(&env, 0, sizeof(env));
	env.ip = "192.0.2.10";
	env.helo = "mx.example.test";
	env.mail_from = "alice@example.test";
	s = scan_new(e, &env, (const char *)data, size);
	scan_run(s);
	(void)auth_results_header(s);
	(void)auth_dmarc_reject(s, &why);
	scan_free(s);
	return 0;
}
