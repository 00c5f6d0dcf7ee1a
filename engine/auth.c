/*
 * auth.c - the STAGE_AUTH check: gathers SPF, DKIM, DMARC and ARC
 * verdicts (trusted upstream headers, own verification, or both as cfg
 * auth_mode says) and turns them into SpamAssassin-named symbols.
 *
 * Order per message: upstream headers (auth_ar.c) unless mode is
 * "verify"; then, unless mode is "upstream" or use_network is off (DNS
 * tests are network tests, as in SpamAssassin), every method upstream
 * did not answer is verified here: SPF, DKIM, ARC, then DMARC (which
 * needs the SPF and DKIM results). All DNS goes through one resolver session
 * per message (per-query timeout dns_timeout, budget dns_budget).
 *
 * What the milter needs later is recorded as hidden (SYM_SUB) hits, so
 * no per-scan state outlives the check: __AUTH_AR carries our own
 * Authentication-Results resinfo text, __AUTH_DMARC_REJECT the domain
 * whose reject policy applies, __AUTH_DKIM_DOMAINS the space-separated
 * list of every domain with a valid DKIM signature (for
 * welcomelist_auth; DKIM_VALID's detail names only the first).
 *
 * Ownership: the shared context (resolver, DKIM library handle) belongs
 * to the engine and is freed with it. Per-message data lives in the
 * scan's pool or on the stack of auth_check().
 *
 * Errors: none escape; DNS failures become *_TEMPERROR symbols.
 *
 * SECURITY: reads untrusted headers and envelope values; see the
 * per-method files for their bounds.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "auth_int.h"
#include "log.h"
#include "resolver.h"
#include "scan.h"
#include "xalloc.h"

struct symspec {
	const char	*name;
	double		 score;
	const char	*desc;
	unsigned	 flags;
};

/*
 * Defaults; rules/default/50_auth.cf repeats them so a site can see and
 * override them with ordinary score lines. One score for all four
 * score sets: the check runs whenever auth is attached.
 */
static const struct symspec syms[] = {
	{ "SPF_PASS", -0.001, "SPF: sender matches SPF record", SYM_NICE },
	{ "SPF_FAIL", 0.919, "SPF: sender does not match SPF record (fail)", 0 },
	{ "SPF_SOFTFAIL", 0.972, "SPF: sender does not match SPF record (softfail)", 0 },
	{ "SPF_NEUTRAL", 0.652, "SPF: sender does not match SPF record (neutral)", 0 },
	{ "SPF_NONE", 0.001, "SPF: sender does not publish an SPF Record", 0 },
	{ "SPF_PERMERROR", 0.01, "SPF: test of record failed (permerror)", 0 },
	{ "SPF_TEMPERROR", 0.01, "SPF: test of record failed (temperror)", 0 },
	{ "SPF_HELO_PASS", -0.001, "SPF: HELO matches SPF record", SYM_NICE },
	{ "SPF_HELO_FAIL", 0.001, "SPF: HELO does not match SPF record (fail)", 0 },
	{ "SPF_HELO_SOFTFAIL", 0.896, "SPF: HELO does not match SPF record (softfail)", 0 },
	{ "SPF_HELO_NEUTRAL", 0.001, "SPF: HELO does not match SPF record (neutral)", 0 },
	{ "SPF_HELO_NONE", 0.001, "SPF: HELO does not publish an SPF Record", 0 },
	{ "SPF_HELO_PERMERROR", 0.01, "SPF: test of HELO record failed (permerror)", 0 },
	{ "SPF_HELO_TEMPERROR", 0.01, "SPF: test of HELO record failed (temperror)", 0 },
	{ "DKIM_SIGNED", 0.1, "Message has a DKIM or DK signature, not necessarily valid", 0 },
	{ "DKIM_VALID", -0.1, "Message has at least one valid DKIM or DK signature", SYM_NICE },
	{ "DKIM_VALID_AU", -0.1, "Message has a valid DKIM or DK signature from author's domain", SYM_NICE },
	{ "DKIM_VALID_EF", -0.1, "Message has a valid DKIM or DK signature from envelope-from domain", SYM_NICE },
	{ "DKIM_INVALID", 0.1, "DKIM or DK signature exists, but is not valid", 0 },
	{ "DKIM_TEMPERROR", 0.01, "DKIM key lookup failed temporarily", 0 },
	{ "DMARC_PASS", -0.1, "DMARC pass policy", SYM_NICE },
	{ "DMARC_REJECT", 2.0, "DMARC reject policy", 0 },
	{ "DMARC_QUARANTINE", 1.5, "DMARC quarantine policy", 0 },
	{ "DMARC_NONE", 0.1, "DMARC none policy", 0 },
	{ "DMARC_MISSING", 0.001, "Missing DMARC policy", 0 },
	{ "DMARC_PERMERROR", 0.001, "DMARC record could not be parsed", 0 },
	{ "DMARC_TEMPERROR", 0.001, "DMARC record lookup failed temporarily", 0 },
	{ "ARC_SIGNED", 0.001, "Message has an ARC signature", 0 },
	{ "ARC_VALID", -0.1, "Message has a valid ARC signature", SYM_NICE },
	{ "ARC_INVALID", 0.1, "Message has an invalid ARC signature", 0 },
	{ "ARC_TEMPERROR", 0.001, "ARC key lookup failed temporarily", 0 },
	{ "__AUTH_AR", 0, NULL, SYM_SUB | SYM_NOLOG },
	{ "__AUTH_DMARC_REJECT", 0, NULL, SYM_SUB | SYM_NOLOG },
	{ "__AUTH_DKIM_DOMAINS", 0, NULL, SYM_SUB | SYM_NOLOG },
};

const char *
auth_res_str(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:		return "pass";
	case AUTH_FAIL:		return "fail";
	case AUTH_SOFTFAIL:	return "softfail";
	case AUTH_NEUTRAL:	return "neutral";
	case AUTH_NONE:		return "none";
	case AUTH_PERMERROR:	return "permerror";
	case AUTH_TEMPERROR:	return "temperror";
	case AUTH_POLICY:	return "policy";
	default:		return "unset";
	}
}

enum auth_res
auth_res_parse(const char *s, size_t len)
{
	static const struct { const char *w; enum auth_res r; } t[] = {
		{ "pass", AUTH_PASS }, { "fail", AUTH_FAIL },
		{ "softfail", AUTH_SOFTFAIL }, { "neutral", AUTH_NEUTRAL },
		{ "none", AUTH_NONE }, { "permerror", AUTH_PERMERROR },
		{ "temperror", AUTH_TEMPERROR }, { "policy", AUTH_POLICY },
		/* RFC 4408 / older RFC 5451 spellings */
		{ "hardfail", AUTH_FAIL }, { "error", AUTH_TEMPERROR },
		{ "unknown", AUTH_PERMERROR },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i].w) == len && strncasecmp(t[i].w, s, len) == 0)
			return t[i].r;
	return AUTH_UNSET;
}

const char *
auth_addr_domain(struct pool *p, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *d = at ? at + 1 : addr;
	size_t n = strcspn(d, "> \t\r\n;");
	char *out;

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > RESOLVER_MAX_NAME)
		return NULL;
	out = pool_strndup(p, d, n);
	for (char *c = out; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' &&
		    *c != '_')
			return NULL;
		*c = (char)tolower((unsigned char)*c);
	}
	return out;
}

const char *
auth_from_domain(struct pool *p, const char *value)
{
	const char *lt, *gt, *s = value;
	size_t n;
	char *addr;

	if (value == NULL)
		return NULL;
	/* "Name" <addr>: the angle address; else the bare addr-spec */
	if ((lt = strchr(value, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL) {
		s = lt + 1;
		n = (size_t)(gt - s);
	} else {
		while (*s == ' ' || *s == '\t')
			s++;
		n = strcspn(s, " \t,;(");
	}
	addr = pool_strndup(p, s, n);
	if (strchr(addr, '@') == NULL)
		return NULL;
	return auth_addr_domain(p, addr);
}

void
auth_raw_headers(const struct msg *m, const char **hdr, size_t *len)
{
	const char *p = m->raw;
	size_t end = m->body_off <= m->raw_len ? m->body_off : m->raw_len;

	/* an mbox "From " separator line is not part of the message */
	if (end >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', end);

		if (nl != NULL)
			p = nl + 1;
	}
	*hdr = p;
	*len = end - (size_t)(p - m->raw);
}

static const char *
sym_suffix(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:		return "PASS";
	case AUTH_FAIL:		return "FAIL";
	case AUTH_SOFTFAIL:	return "SOFTFAIL";
	case AUTH_NEUTRAL:	return "NEUTRAL";
	case AUTH_NONE:		return "NONE";
	case AUTH_PERMERROR:	return "PERMERROR";
	case AUTH_TEMPERROR:	return "TEMPERROR";
	default:		return NULL;
	}
}

/* d is the author domain or a subdomain of it (DKIM_VALID_AU) */
static int
domain_covers(const char *d, const char *author)
{
	size_t dl, al;

	if (d == NULL || author == NULL)
		return 0;
	dl = strlen(d);
	al = strlen(author);
	if (dl == al)
		return strcasecmp(d, author) == 0;
	return al > dl && author[al - dl - 1] == '.' &&
	    strcasecmp(author + al - dl, d) == 0;
}

static void ar_add(struct buf *ar, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ar_add(struct buf *ar, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (ar->len)
		buf_adds(ar, "; ");
	buf_adds(ar, tmp);
}

static const char *
policy_word(int p)
{
	return p == 'r' ? "reject" : p == 'q' ? "quarantine" :
	    p == 'n' ? "none" : "unknown";
}

/* RFC 8601 value: quoted when not a plain token */
static const char *
ar_value(struct pool *p, const char *v)
{
	struct buf b = BUF_INIT;
	const char *out;
	int plain = *v != '\0';

	for (const char *c = v; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_@+", *c))
			plain = 0;
	if (plain)
		return v;
	buf_addc(&b, '"');
	for (const char *c = v; *c && b.len < 200; c++) {
		if (*c == '"' || *c == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, (unsigned char)*c < 0x20 ? ' ' : *c);
	}
	buf_addc(&b, '"');
	out = pool_strdup(p, buf_str(&b));
	buf_free(&b);
	return out;
}

static void
emit(struct scan *s, struct auth_state *st)
{
	struct buf ar = BUF_INIT;
	char name[64];
	const char *suf;
	int valid = 0, invalid = 0, temp = 0;

	/* SPF */
	if ((suf = sym_suffix(st->spf)) != NULL) {
		snprintf(name, sizeof(name), "SPF_%s", suf);
		result_add(s, name, st->spf_domain);
		if (st->spf_src == SRC_VERIFIED)
			ar_add(&ar, "spf=%s smtp.mailfrom=%s",
			    auth_res_str(st->spf),
			    ar_value(st->pool, st->spf_domain ?
			    st->spf_domain : ""));
	}
	if ((suf = sym_suffix(st->spf_helo)) != NULL) {
		snprintf(name, sizeof(name), "SPF_HELO_%s", suf);
		result_add(s, name, st->msg->env.helo);
		if (st->helo_src == SRC_VERIFIED && st->msg->env.helo)
			ar_add(&ar, "spf=%s smtp.helo=%s",
			    auth_res_str(st->spf_helo),
			    ar_value(st->pool, st->msg->env.helo));
	}

	/* DKIM */
	for (size_t i = 0; i < st->nsigs; i++) {
		const struct auth_sig *g = &st->sigs[i];

		if (g->res == AUTH_PASS) {
			if (!valid)
				result_add(s, "DKIM_VALID", g->domain);
			valid = 1;
			if (domain_covers(g->domain, st->from_domain))
				result_add(s, "DKIM_VALID_AU", g->domain);
			if (domain_covers(g->domain, st->mfrom_domain))
				result_add(s, "DKIM_VALID_EF", g->domain);
		} else if (g->res == AUTH_TEMPERROR)
			temp = 1;
		else
			invalid = 1;
		if (st->dkim_src == SRC_VERIFIED) {
			if (ar.len)
				buf_adds(&ar, "; ");
			buf_printf(&ar, "dkim=%s", auth_res_str(g->res));
			if (g->reason)
				buf_printf(&ar, " reason=%s",
				    ar_value(st->pool, g->reason));
			if (g->domain)
				buf_printf(&ar, " header.d=%s", g->domain);
			if (g->selector)
				buf_printf(&ar, " header.s=%s",
				    ar_value(st->pool, g->selector));
		}
	}
	/* every valid signing domain, for welcomelist_auth-style checks */
	if (valid) {
		struct buf dl = BUF_INIT;

		for (size_t i = 0; i < st->nsigs; i++)
			if (st->sigs[i].res == AUTH_PASS && st->sigs[i].domain) {
				if (dl.len)
					buf_addc(&dl, ' ');
				buf_adds(&dl, st->sigs[i].domain);
			}
		if (dl.len)
			result_add(s, "__AUTH_DKIM_DOMAINS", buf_str(&dl));
		buf_free(&dl);
	}
	if (st->dkim_signed || st->nsigs > 0) {
		result_add(s, "DKIM_SIGNED", NULL);
		if (!valid && invalid)
			result_add(s, "DKIM_INVALID", st->nsigs ?
			    st->sigs[0].reason : NULL);
		else if (!valid && temp)
			result_add(s, "DKIM_TEMPERROR", NULL);
	}

	/* ARC */
	if (st->arc_src != SRC_NONE && st->arc != AUTH_UNSET &&
	    st->arc != AUTH_NONE) {
		result_add(s, "ARC_SIGNED", NULL);
		if (st->arc == AUTH_PASS)
			result_add(s, "ARC_VALID", NULL);
		else if (st->arc == AUTH_TEMPERROR)
			result_add(s, "ARC_TEMPERROR", NULL);
		else
			result_add(s, "ARC_INVALID", st->arc_reason);
	}
	if (st->arc_src == SRC_VERIFIED && st->arc != AUTH_UNSET)
		ar_add(&ar, "arc=%s", auth_res_str(st->arc));

	/* DMARC */
	if (st->dmarc != AUTH_UNSET) {
		const char *d = st->from_domain;

		switch (st->dmarc) {
		case AUTH_PASS:
			result_add(s, "DMARC_PASS", d);
			break;
		case AUTH_FAIL:
			if (st->dmarc_policy == 'r') {
				result_add(s, "DMARC_REJECT", d);
				result_add(s, "__AUTH_DMARC_REJECT", d);
			} else if (st->dmarc_policy == 'q')
				result_add(s, "DMARC_QUARANTINE", d);
			else if (st->dmarc_policy == 'n')
				result_add(s, "DMARC_NONE", d);
			break;
		case AUTH_NONE:
			result_add(s, "DMARC_MISSING", d);
			break;
		case AUTH_TEMPERROR:
			result_add(s, "DMARC_TEMPERROR", d);
			break;
		default:
			result_add(s, "DMARC_PERMERROR", d);
			break;
		}
		if (st->dmarc_src == SRC_VERIFIED) {
			if (ar.len)
				buf_adds(&ar, "; ");
			buf_printf(&ar, "dmarc=%s", auth_res_str(st->dmarc));
			if (st->dmarc == AUTH_FAIL)
				buf_printf(&ar, " (p=%s dis=%s)",
				    policy_word(st->dmarc_p),
				    policy_word(st->dmarc_policy));
			if (d)
				buf_printf(&ar, " header.from=%s", d);
		}
	}
	if (ar.len)
		result_add(s, "__AUTH_AR", buf_str(&ar));
	buf_free(&ar);
}

static void
auth_check(struct scan *s, void *ctx)
{
	const struct auth_shared *sh = ctx;
	const struct cfg *c = s->cfg;
	struct auth_state st;
	const struct msg_header *from;

	if (s->msg == NULL)
		return;
	memset(&st, 0, sizeof(st));
	st.sh = sh;
	st.cfg = c;
	st.pool = s->pool;
	st.msg = s->msg;
	if ((from = msg_header(s->msg, "From", 0)) != NULL)
		st.from_domain = auth_from_domain(s->pool, from->value);
	if (s->msg->env.mail_from && strchr(s->msg->env.mail_from, '@'))
		st.mfrom_domain = auth_addr_domain(s->pool,
		    s->msg->env.mail_from);

	if (c->auth_mode != AUTH_MODE_VERIFY)
		auth_ar_parse(&st);
	/* verification is a network test: like SpamAssassin's -L, it is
	   off unless use_network is on */
	if (c->auth_mode != AUTH_MODE_UPSTREAM && c->use_network) {
		st.dns = resolver_session_new(sh->resolver, c->dns_timeout_ms,
		    c->dns_budget_ms);
		auth_spf_verify(&st);
		auth_dkim_verify(&st);
		auth_arc_verify(&st);
		auth_dmarc_verify(&st);
		log_debug("auth: %u DNS queries, %.1f ms",
		    resolver_session_queries(st.dns),
		    resolver_session_spent_ms(st.dns));
		resolver_session_free(st.dns);
		st.dns = NULL;
	}
	emit(s, &st);
}

static void
shared_free(void *p)
{
	struct auth_shared *sh = p;

	if (sh == NULL)
		return;
	auth_spf_free(sh->spf);
	auth_dkim_free(sh->dkim);
	resolver_free(sh->resolver);
	free(sh);
}

enum status
auth_attach_resolver(struct engine *e, struct resolver *r, char *err,
    size_t errlen)
{
	const struct cfg *c = engine_cfg(e);
	struct symreg *reg = engine_symbols(e);
	struct auth_shared *sh = xcalloc(1, sizeof(*sh));

	sh->resolver = r;
	if (c->hostname && *c->hostname)
		snprintf(sh->hostname, sizeof(sh->hostname), "%s", c->hostname);
	else if (gethostname(sh->hostname, sizeof(sh->hostname) - 1) != 0)
		snprintf(sh->hostname, sizeof(sh->hostname), "localhost");
	sh->hostname[sizeof(sh->hostname) - 1] = '\0';

	if ((sh->spf = auth_spf_new(err, errlen)) == NULL ||
	    (sh->dkim = auth_dkim_new(err, errlen)) == NULL ||
	    auth_dmarc_init(err, errlen) != ST_OK) {
		shared_free(sh);
		return ST_ERR_CONFIG;
	}
	sh->dmarc_ok = 1;
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		symreg_define(reg, syms[i].name, syms[i].score, syms[i].desc,
		    syms[i].flags | (syms[i].flags & SYM_SUB ? 0 : SYM_NET));
	engine_add_check(e, STAGE_AUTH, "auth", auth_check, sh, shared_free);
	return ST_OK;
}

enum status
auth_attach(struct engine *e, char *err, size_t errlen)
{
	struct resolver *r = resolver_system_new(NULL, err, errlen);

	if (r == NULL)
		return ST_ERR_CONFIG;
	return auth_attach_resolver(e, r, err, errlen);
}

static const char *
hit_detail(struct scan *s, const char *name)
{
	const struct hit *h = result_get(&s->res, name,
	    engine_symbols(s->eng));

	return h ? h->detail : NULL;
}

const char *
auth_servid(const struct cfg *c, char *buf, size_t len)
{
	const char *id = c->authserv_id;

	if (id == NULL || *id == '\0')
		id = c->hostname;
	if (id && *id) {
		snprintf(buf, len, "%s", id);
		return buf;
	}
	if (len == 0 || gethostname(buf, len - 1) != 0)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
	return buf;
}

int
auth_results_is_ours(const char *value, const char *id)
{
	size_t n;

	while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
		value++;
	n = strcspn(value, "; \t\r\n");
	return n == strlen(id) && strncasecmp(value, id, n) == 0;
}

const char *
auth_results_header(struct scan *s)
{
	const char *ar = hit_detail(s, "__AUTH_AR");
	char host[256];

	if (ar == NULL)
		return NULL;
	return pool_printf(s->pool, "%s; %s",
	    auth_servid(s->cfg, host, sizeof(host)), ar);
}

int
auth_dmarc_reject(struct scan *s, const char **why)
{
	const char *d;

	if (!s->cfg->dmarc_reject)
		return 0;
	if (result_get(&s->res, "__AUTH_DMARC_REJECT",
	    engine_symbols(s->eng)) == NULL)
		return 0;
	d = hit_detail(s, "__AUTH_DMARC_REJECT");
	if (why != NULL)
		*why = pool_printf(s->pool, "rejected by DMARC policy for %s",
		    d ? d : "the sender's domain");
	return 1;
}
