/*
 * test_auth.c - SPF, DKIM, DMARC, ARC and upstream Authentication-Results
 * through the real STAGE_AUTH check, against the zone resolver loaded
 * from tests/data/auth/auth.zone (no DNS server needed).
 *
 * The DKIM and ARC fixtures were signed by tests/data/auth/mkfixtures.sh
 * (python3-dkim) with the keys in tests/data/auth/keys.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/auth.h"
#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/resolver.h"
#include "engine/scan.h"
#include "testhelp.h"

#define DATA "tests/data/auth/"
#define OURS "192.0.2.10"		/* example.test's server */
#define STRANGER "198.51.100.7"

struct opt {
	const char	*key, *val;
};

static struct engine *
mk_engine(const struct opt *opts)
{
	struct cfg *c = cfg_new();
	struct resolver *r = resolver_zone_new();
	struct engine *e;
	char err[512];

	cfg_set(c, "hostname", "mx.hamlet.test", err, sizeof(err));
	cfg_set(c, "use_network", "yes", err, sizeof(err));
	for (; opts && opts->key; opts++)
		if (cfg_set(c, opts->key, opts->val, err, sizeof(err)) != ST_OK)
			printf("cfg %s: %s\n", opts->key, err);
	if (resolver_zone_load(r, DATA "auth.zone", err, sizeof(err)) != ST_OK)
		printf("zone: %s\n", err);
	resolver_zone_add(r, "temp.test SERVFAIL", err, sizeof(err));
	resolver_zone_add(r, "slow.test TIMEOUT", err, sizeof(err));
	resolver_zone_add(r, "tempdmarc.test TXT \"v=spf1 +all\"", err,
	    sizeof(err));
	resolver_zone_add(r, "_dmarc.tempdmarc.test SERVFAIL", err,
	    sizeof(err));
	e = engine_new(c);
	if (auth_attach_resolver(e, r, err, sizeof(err)) != ST_OK)
		printf("auth_attach: %s\n", err);
	engine_freeze(e);
	return e;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *b;
	long n;

	if (fp == NULL) {
		printf("cannot open %s\n", path);
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	b = malloc((size_t)n + 1);
	if (fread(b, 1, (size_t)n, fp) != (size_t)n)
		n = 0;
	b[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return b;
}

static struct scan *
run(struct engine *e, const char *ip, const char *helo, const char *mfrom,
    const char *raw, size_t len, enum status *stp)
{
	struct envelope env;
	struct scan *s;
	enum status st;

	memset(&env, 0, sizeof(env));
	env.ip = ip;
	env.helo = helo;
	env.mail_from = mfrom;
	s = scan_new(e, &env, raw, len);
	st = scan_run(s);
	if (stp)
		*stp = st;
	return s;
}

static struct scan *
run_file(struct engine *e, const char *ip, const char *mfrom,
    const char *file)
{
	size_t len;
	char *raw = slurp(file, &len);
	struct scan *s = run(e, ip, "mail.sender.test", mfrom, raw, len, NULL);

	/* raw must outlive the scan: keep it with the pool */
	pool_defer(s->pool, free, raw);
	return s;
}

static struct scan *
run_from(struct engine *e, const char *ip, const char *helo,
    const char *mfrom, const char *from, enum status *st)
{
	char *raw = malloc(512);
	struct scan *s;

	snprintf(raw, 512, "From: Someone <%s>\nTo: bob@recipient.test\n"
	    "Subject: hello\nMessage-ID: <%s-t@x>\n\nplain body\n", from, from);
	s = run(e, ip, helo, mfrom, raw, strlen(raw), st);
	pool_defer(s->pool, free, raw);
	return s;
}

static int
has(struct scan *s, const char *name)
{
	return result_get(&s->res, name, engine_symbols(s->eng)) != NULL;
}

static const char *
detail(struct scan *s, const char *name)
{
	const struct hit *h = result_get(&s->res, name,
	    engine_symbols(s->eng));

	return h && h->detail ? h->detail : "";
}

static void
test_spf(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct scan *s;
	enum status st;

	s = run_from(e, OURS, NULL, "a@pass.test", "a@pass.test", NULL);
	test_cond("spf pass", has(s, "SPF_PASS") && !has(s, "SPF_FAIL"));
	test_cond("spf pass detail is the domain",
	    strcmp(detail(s, "SPF_PASS"), "pass.test") == 0);
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@fail.test", "a@fail.test", NULL);
	test_cond("spf fail", has(s, "SPF_FAIL") && !has(s, "SPF_PASS"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@softfail.test", "a@softfail.test", NULL);
	test_cond("spf softfail", has(s, "SPF_SOFTFAIL"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@neutral.test", "a@neutral.test", NULL);
	test_cond("spf neutral", has(s, "SPF_NEUTRAL"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@none.test", "a@none.test", NULL);
	test_cond("spf none (no record)", has(s, "SPF_NONE"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@nxdomain.test", "a@nxdomain.test", NULL);
	test_cond("spf none (no domain)", has(s, "SPF_NONE"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@loop.test", "a@loop.test", NULL);
	test_cond("spf permerror: include loop", has(s, "SPF_PERMERROR"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@many.test", "a@many.test", NULL);
	test_cond("spf permerror: more than 10 lookups",
	    has(s, "SPF_PERMERROR") && !has(s, "SPF_PASS"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@temp.test", "a@temp.test", &st);
	test_cond("spf temperror on SERVFAIL", has(s, "SPF_TEMPERROR"));
	test_cond("a DNS failure does not fail the scan", st == ST_OK);
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@pass.test", "a@pass.test", NULL);
	test_cond("spf fail for another address", has(s, "SPF_FAIL"));
	scan_free(s);
	s = run_from(e, "2001:db8::5", NULL, "a@pass.test", "a@pass.test",
	    NULL);
	test_cond("spf fail for an IPv6 client", has(s, "SPF_FAIL"));
	scan_free(s);

	/* HELO identity */
	s = run_from(e, OURS, "mx.example.test", "a@pass.test", "a@pass.test",
	    NULL);
	test_cond("spf helo pass", has(s, "SPF_HELO_PASS") &&
	    has(s, "SPF_PASS"));
	scan_free(s);
	s = run_from(e, OURS, "fail.test", "a@pass.test", "a@pass.test", NULL);
	test_cond("spf helo fail", has(s, "SPF_HELO_FAIL"));
	scan_free(s);
	s = run_from(e, OURS, "mx.example.test", "", "a@example.test", NULL);
	test_cond("null sender: helo identity used for SPF",
	    has(s, "SPF_PASS") && has(s, "SPF_HELO_PASS"));
	scan_free(s);
	s = run_from(e, NULL, NULL, "a@pass.test", "a@pass.test", NULL);
	test_cond("no client address: no SPF verdict", !has(s, "SPF_PASS") &&
	    !has(s, "SPF_NONE") && !has(s, "SPF_TEMPERROR"));
	test_cond("no envelope, unsigned: no DMARC verdict either",
	    !has(s, "DMARC_MISSING") && !has(s, "DMARC_REJECT"));
	scan_free(s);
	engine_unref(e);

	/* use_network off: no verification, no DNS */
	{
		static const struct opt on[] = { { "auth_mode", "verify" },
		    { "use_network", "no" }, { 0, 0 } };

		e = mk_engine(on);
		s = run_from(e, OURS, NULL, "a@fail.test", "a@fail.test", NULL);
		test_cond("use_network no: nothing verified",
		    !has(s, "SPF_FAIL") && auth_results_header(s) == NULL);
		scan_free(s);
		engine_unref(e);
	}

	/* the per-message budget: one simulated timeout spends it all */
	{
		static const struct opt ob[] = { { "auth_mode", "verify" },
		    { "dns_timeout", "3s" }, { "dns_budget", "2s" }, { 0, 0 } };

		e = mk_engine(ob);
		s = run_from(e, OURS, NULL, "a@slow.test", "a@example.test",
		    &st);
		test_cond("timeout: SPF_TEMPERROR", has(s, "SPF_TEMPERROR"));
		test_cond("budget spent: DMARC temperror, scan still ok",
		    has(s, "DMARC_TEMPERROR") && st == ST_OK);
		scan_free(s);
		engine_unref(e);
	}
}

static void
test_dkim(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct scan *s;

	s = run_file(e, OURS, "alice@example.test", DATA "dkim-valid.eml");
	test_cond("dkim valid: signed", has(s, "DKIM_SIGNED"));
	test_cond("dkim valid: valid", has(s, "DKIM_VALID"));
	test_cond("dkim valid: author domain", has(s, "DKIM_VALID_AU"));
	test_cond("dkim valid: envelope domain", has(s, "DKIM_VALID_EF"));
	test_cond("dkim valid: not invalid", !has(s, "DKIM_INVALID"));
	test_cond("dkim valid: spf and dmarc pass", has(s, "SPF_PASS") &&
	    has(s, "DMARC_PASS"));
	test_cond("dkim valid: signing domains listed",
	    strcmp(detail(s, "__AUTH_DKIM_DOMAINS"), "example.test") == 0);
	{
		const char *ar = auth_results_header(s);

		test_cond("A-R header from our verification", ar != NULL);
		if (ar) {
			test_cond("A-R authserv-id is the hostname",
			    strncmp(ar, "mx.hamlet.test; ", 16) == 0);
			test_cond("A-R spf", strstr(ar,
			    "spf=pass smtp.mailfrom=example.test") != NULL);
			test_cond("A-R dkim", strstr(ar,
			    "dkim=pass header.d=example.test header.s=sel1")
			    != NULL);
			test_cond("A-R dmarc", strstr(ar,
			    "dmarc=pass header.from=example.test") != NULL);
		}
	}
	scan_free(s);

	s = run_file(e, OURS, "alice@example.test",
	    DATA "dkim-body-changed.eml");
	test_cond("dkim body changed: invalid", has(s, "DKIM_INVALID") &&
	    has(s, "DKIM_SIGNED") && !has(s, "DKIM_VALID"));
	test_cond("dkim body changed: reason", strstr(detail(s,
	    "DKIM_INVALID"), "body hash") != NULL);
	scan_free(s);
	s = run_file(e, OURS, "alice@example.test",
	    DATA "dkim-header-changed.eml");
	test_cond("dkim signed header changed: invalid",
	    has(s, "DKIM_INVALID") && !has(s, "DKIM_VALID"));
	scan_free(s);
	s = run_file(e, OURS, "alice@example.test", DATA "dkim-nokey.eml");
	test_cond("dkim key missing: invalid", has(s, "DKIM_INVALID") &&
	    !has(s, "DKIM_VALID"));
	scan_free(s);
	s = run_file(e, OURS, "alice@example.test", DATA "dkim-revoked.eml");
	test_cond("dkim key revoked: invalid", has(s, "DKIM_INVALID") &&
	    !has(s, "DKIM_VALID"));
	test_cond("dkim key revoked: reason", strstr(detail(s,
	    "DKIM_INVALID"), "revoked") != NULL);
	scan_free(s);
	s = run_file(e, STRANGER, "x@other.test", DATA "dkim-subdomain.eml");
	test_cond("dkim parent-domain signature counts for the author",
	    has(s, "DKIM_VALID") && has(s, "DKIM_VALID_AU") &&
	    !has(s, "DKIM_VALID_EF"));
	test_cond("... and aligns for DMARC (relaxed)", has(s, "DMARC_PASS"));
	scan_free(s);
	{
		/* 17 bogus signatures above the good one: only the first
		   AUTH_MAX_SIGS (16) are verified, so the good one is not */
		size_t len;
		char *good = slurp(DATA "dkim-valid.eml", &len);
		struct buf b = BUF_INIT;

		for (int i = 0; i < 17; i++)
			buf_printf(&b, "DKIM-Signature: v=1; a=rsa-sha256; "
			    "d=example.test; s=sel1; h=from; bh=%dAAA=; "
			    "b=AAAA\n", i);
		buf_adds(&b, good);
		s = run(e, OURS, NULL, "alice@example.test", b.p, b.len, NULL);
		test_cond("signatures past the cap are not verified",
		    has(s, "DKIM_INVALID") && !has(s, "DKIM_VALID"));
		scan_free(s);
		buf_free(&b);
		b = (struct buf)BUF_INIT;
		for (int i = 0; i < 5; i++)
			buf_printf(&b, "DKIM-Signature: v=1; a=rsa-sha256; "
			    "d=example.test; s=sel1; h=from; bh=%dAAA=; "
			    "b=AAAA\n", i);
		buf_adds(&b, good);
		s = run(e, OURS, NULL, "alice@example.test", b.p, b.len, NULL);
		test_cond("a good signature among bad ones counts",
		    has(s, "DKIM_VALID") && has(s, "DKIM_VALID_AU") &&
		    !has(s, "DKIM_INVALID"));
		scan_free(s);
		buf_free(&b);
		free(good);
	}
	s = run_from(e, OURS, NULL, "a@pass.test", "a@pass.test", NULL);
	test_cond("unsigned: no DKIM symbols", !has(s, "DKIM_SIGNED") &&
	    !has(s, "DKIM_INVALID"));
	scan_free(s);
	engine_unref(e);
}

static void
test_dmarc(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" }, { 0, 0 } };
	static const struct opt orej[] = { { "auth_mode", "verify" },
	    { "dmarc_reject", "yes" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct scan *s;
	const char *why = NULL;

	s = run_file(e, STRANGER, "alice@example.test", DATA "dkim-valid.eml");
	test_cond("dmarc pass by aligned DKIM despite SPF fail",
	    has(s, "SPF_FAIL") && has(s, "DMARC_PASS"));
	scan_free(s);
	s = run_file(e, STRANGER, "alice@example.test",
	    DATA "dkim-body-changed.eml");
	test_cond("dmarc fail under p=reject", has(s, "DMARC_REJECT") &&
	    !has(s, "DMARC_PASS"));
	test_cond("dmarc_reject off by default", !auth_dmarc_reject(s, &why));
	{
		const char *ar = auth_results_header(s);

		test_cond("A-R shows dmarc fail and policy", ar && strstr(ar,
		    "dmarc=fail (p=reject dis=reject) header.from=example.test"));
	}
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@quar.test", "a@quar.test", NULL);
	test_cond("dmarc fail under p=quarantine", has(s, "DMARC_QUARANTINE"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@quar.test", "a@quar.test", NULL);
	test_cond("dmarc pass by aligned SPF", has(s, "DMARC_PASS"));
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@nopolicy.test", "a@nopolicy.test",
	    NULL);
	test_cond("dmarc fail under p=none", has(s, "DMARC_NONE"));
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@sub.parent.test",
	    "a@sub.parent.test", NULL);
	test_cond("dmarc subdomain policy (sp=reject)",
	    has(s, "DMARC_REJECT"));
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@parent.test", "a@parent.test", NULL);
	test_cond("dmarc organizational domain keeps p=none",
	    has(s, "DMARC_NONE") && !has(s, "DMARC_REJECT"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@sub.parent.test", "a@sub.parent.test",
	    NULL);
	test_cond("dmarc subdomain pass", has(s, "DMARC_PASS"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@fail.test", "a@fail.test", NULL);
	test_cond("no dmarc record: DMARC_MISSING", has(s, "DMARC_MISSING") &&
	    !has(s, "DMARC_PASS"));
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@pct.test", "a@pct.test", NULL);
	test_cond("pct=0: reject downgraded to quarantine",
	    has(s, "DMARC_QUARANTINE") && !has(s, "DMARC_REJECT"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@mail.strict.test", "a@strict.test",
	    NULL);
	test_cond("aspf=s: subdomain SPF pass does not align",
	    has(s, "SPF_PASS") && has(s, "DMARC_REJECT"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@mail.strict.test", "a@parent.test",
	    NULL);
	test_cond("unrelated SPF domain does not align", has(s, "SPF_PASS") &&
	    has(s, "DMARC_NONE"));
	scan_free(s);
	s = run_from(e, OURS, NULL, "a@tempdmarc.test", "a@tempdmarc.test",
	    NULL);
	test_cond("dmarc temperror", has(s, "DMARC_TEMPERROR"));
	scan_free(s);
	engine_unref(e);

	e = mk_engine(orej);
	s = run_file(e, STRANGER, "alice@example.test",
	    DATA "dkim-body-changed.eml");
	test_cond("dmarc_reject on: reject", auth_dmarc_reject(s, &why) == 1 &&
	    why && strstr(why, "example.test"));
	scan_free(s);
	s = run_from(e, STRANGER, NULL, "a@quar.test", "a@quar.test", NULL);
	test_cond("dmarc_reject on: quarantine is not rejected",
	    auth_dmarc_reject(s, NULL) == 0);
	scan_free(s);
	engine_unref(e);
}

static void
test_arc(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct scan *s;

	s = run_file(e, "203.0.113.5", "list@forwarder.test",
	    DATA "arc-forward.eml");
	test_cond("arc forward: chain valid", has(s, "ARC_VALID") &&
	    has(s, "ARC_SIGNED") && !has(s, "ARC_INVALID"));
	test_cond("arc forward: the original DKIM broke",
	    has(s, "DKIM_INVALID"));
	test_cond("arc forward: the forwarder's A-R is not trusted",
	    !has(s, "DKIM_VALID"));
	scan_free(s);
	s = run_file(e, "192.0.2.99", "list@forwarder.test",
	    DATA "arc-2hops.eml");
	test_cond("arc two hops (i=2, cv=pass): chain valid",
	    has(s, "ARC_VALID") && !has(s, "ARC_INVALID"));
	scan_free(s);
	{
		/* cut the newest set's seal out: the chain is incomplete */
		size_t len;
		char *raw = slurp(DATA "arc-2hops.eml", &len);
		char *p = strstr(raw, "ARC-Seal: i=2"), *q;

		if (p && (q = strstr(p, "\nARC-")) != NULL)
			memmove(p, q + 1, strlen(q + 1) + 1);
		s = run(e, "192.0.2.99", NULL, "list@forwarder.test", raw,
		    strlen(raw), NULL);
		test_cond("arc set without its seal: invalid",
		    has(s, "ARC_INVALID"));
		scan_free(s);
		free(raw);
	}
	s = run_file(e, "203.0.113.5", "list@forwarder.test",
	    DATA "arc-tampered.eml");
	test_cond("arc tampered after sealing: invalid",
	    has(s, "ARC_INVALID") && !has(s, "ARC_VALID"));
	scan_free(s);
	s = run_file(e, OURS, "alice@example.test", DATA "dkim-valid.eml");
	test_cond("no ARC headers: no ARC symbols", !has(s, "ARC_SIGNED") &&
	    !has(s, "ARC_VALID") && !has(s, "ARC_INVALID"));
	scan_free(s);
	engine_unref(e);
}

static struct scan *
run_hdr(struct engine *e, const char *hdrs, const char *ip)
{
	char *raw = malloc(4096);
	struct scan *s;

	snprintf(raw, 4096, "%sFrom: Alice <alice@example.test>\n"
	    "To: bob@recipient.test\nSubject: hi\n\nbody\n", hdrs);
	s = run(e, ip, NULL, "alice@example.test", raw, strlen(raw), NULL);
	pool_defer(s->pool, free, raw);
	return s;
}

static void
test_upstream(void)
{
	static const struct opt up[] = { { "auth_mode", "upstream" },
	    { 0, 0 } };
	static const struct opt both[] = { { "auth_mode", "both" },
	    { "trusted_authserv_ids", "border.test, mx2.test" }, { 0, 0 } };
	struct engine *e = mk_engine(up);
	struct scan *s;

	s = run_hdr(e, "Authentication-Results: mx.hamlet.test;\n"
	    "\tspf=pass (sender ok) smtp.mailfrom=example.test;\n"
	    "\tdkim=pass header.d=example.test header.s=sel1;\n"
	    "\tdmarc=pass header.from=example.test;\n\tarc=pass\n", OURS);
	test_cond("trusted A-R: spf", has(s, "SPF_PASS"));
	test_cond("trusted A-R: dkim", has(s, "DKIM_SIGNED") &&
	    has(s, "DKIM_VALID") && has(s, "DKIM_VALID_AU"));
	test_cond("trusted A-R: dmarc", has(s, "DMARC_PASS"));
	test_cond("trusted A-R: arc", has(s, "ARC_VALID"));
	test_cond("upstream only: no own A-R header",
	    auth_results_header(s) == NULL);
	scan_free(s);

	s = run_hdr(e, "Authentication-Results: evil.test; spf=pass "
	    "smtp.mailfrom=example.test; dkim=pass header.d=example.test;"
	    " dmarc=pass header.from=example.test\n", STRANGER);
	test_cond("forged A-R from an untrusted authserv-id ignored",
	    !has(s, "SPF_PASS") && !has(s, "DKIM_VALID") &&
	    !has(s, "DMARC_PASS") && !has(s, "DKIM_SIGNED"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx.hamlet.test.evil.test; "
	    "spf=pass smtp.mailfrom=example.test\n", STRANGER);
	test_cond("authserv-id must match exactly", !has(s, "SPF_PASS"));
	scan_free(s);

	s = run_hdr(e, "Authentication-Results: mx.hamlet.test; dkim=fail "
	    "reason=\"bad signature\" header.d=example.test; dmarc=fail "
	    "(p=reject dis=reject) header.from=example.test; spf=softfail "
	    "smtp.mailfrom=example.test; spf=none smtp.helo=h.example.test\n",
	    STRANGER);
	test_cond("trusted A-R: dkim fail", has(s, "DKIM_INVALID") &&
	    !has(s, "DKIM_VALID"));
	test_cond("trusted A-R: dmarc reject", has(s, "DMARC_REJECT"));
	test_cond("trusted A-R: spf softfail and helo none",
	    has(s, "SPF_SOFTFAIL") && has(s, "SPF_HELO_NONE"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx.hamlet.test; dmarc=fail "
	    "(p=REJECT sp=REJECT dis=QUARANTINE) header.from=example.test\n",
	    STRANGER);
	test_cond("trusted A-R: dmarc disposition wins",
	    has(s, "DMARC_QUARANTINE") && !has(s, "DMARC_REJECT"));
	scan_free(s);

	s = run_hdr(e, "Received-SPF: softfail (mx.hamlet.test: domain does "
	    "not designate) client-ip=198.51.100.7; envelope-from="
	    "\"alice@example.test\"; helo=x.test; receiver=mx.hamlet.test; "
	    "identity=mailfrom\n", STRANGER);
	test_cond("trusted Received-SPF", has(s, "SPF_SOFTFAIL"));
	scan_free(s);
	s = run_hdr(e, "Received-SPF: pass (evil) client-ip=198.51.100.7; "
	    "receiver=evil.test; identity=mailfrom\n", STRANGER);
	test_cond("untrusted Received-SPF ignored", !has(s, "SPF_PASS"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx.hamlet.test; spf=pass "
	    "smtp.mailfrom=example.test\nAuthentication-Results: "
	    "mx.hamlet.test; spf=fail smtp.mailfrom=example.test\n", OURS);
	test_cond("topmost trusted A-R wins", has(s, "SPF_PASS") &&
	    !has(s, "SPF_FAIL"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx.hamlet.test; (((((((((("
	    "((((( deep\n", OURS);
	test_cond("malformed A-R: no crash, nothing taken",
	    !has(s, "SPF_PASS"));
	scan_free(s);
	engine_unref(e);

	/* both: trusted list from cfg; verification fills what is missing,
	   forged claims change nothing */
	e = mk_engine(both);
	s = run_hdr(e, "Authentication-Results: evil.test; spf=pass "
	    "smtp.mailfrom=example.test\n", STRANGER);
	test_cond("both: forged pass replaced by verified fail",
	    has(s, "SPF_FAIL") && !has(s, "SPF_PASS"));
	test_cond("both: we verified, so we stamp", auth_results_header(s) &&
	    strstr(auth_results_header(s), "spf=fail"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx2.test; spf=temperror "
	    "smtp.mailfrom=example.test\n", STRANGER);
	test_cond("both: an upstream temperror is verified again",
	    has(s, "SPF_FAIL") && !has(s, "SPF_TEMPERROR"));
	scan_free(s);
	s = run_hdr(e, "Authentication-Results: mx2.test; spf=pass "
	    "smtp.mailfrom=example.test\n", STRANGER);
	test_cond("both: trusted upstream result used as is",
	    has(s, "SPF_PASS") && !has(s, "SPF_FAIL"));
	test_cond("both: upstream SPF counts for DMARC", has(s, "DMARC_PASS"));
	scan_free(s);
	engine_unref(e);
}

static void
test_authserv_id(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" },
	    { "authserv_id", "auth.hamlet.test" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct scan *s;

	s = run_from(e, OURS, NULL, "a@pass.test", "a@pass.test", NULL);
	test_cond("authserv_id configurable", auth_results_header(s) &&
	    strncmp(auth_results_header(s), "auth.hamlet.test; spf=pass", 26)
	    == 0);
	scan_free(s);
	engine_unref(e);
}

/* the engine is shared by milter threads: scans in parallel must agree */
struct thr {
	struct engine	*e;
	const char	*raw;
	size_t		 len;
	int		 good;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 40; i++) {
		struct scan *s = run(t->e, i % 2 ? OURS : STRANGER, NULL,
		    "alice@example.test", t->raw, t->len, NULL);

		if (has(s, "DKIM_VALID_AU") && has(s, "DMARC_PASS") &&
		    has(s, i % 2 ? "SPF_PASS" : "SPF_FAIL") &&
		    auth_results_header(s) != NULL)
			t->good++;
		scan_free(s);
	}
	return NULL;
}

static void
test_threads(void)
{
	static const struct opt o[] = { { "auth_mode", "verify" }, { 0, 0 } };
	struct engine *e = mk_engine(o);
	struct thr t[4];
	pthread_t tid[4];
	size_t len;
	char *raw = slurp(DATA "dkim-valid.eml", &len);
	int good = 0;

	for (int i = 0; i < 4; i++) {
		t[i].e = e;
		t[i].raw = raw;
		t[i].len = len;
		t[i].good = 0;
		pthread_create(&tid[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		good += t[i].good;
	}
	test_cond("4 threads x 40 scans: every verdict right", good == 160);
	free(raw);
	engine_unref(e);
}

int
main(void)
{
	msg_global_init();
	test_spf();
	test_dkim();
	test_dmarc();
	test_arc();
	test_upstream();
	test_authserv_id();
	test_threads();
	return test_report();
}
