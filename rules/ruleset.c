/*
 * ruleset.c - parse SpamAssassin-language .cf files into a ruleset and
 * compile it (regexes with JIT, ReplaceTags, meta dependency order,
 * evals, prefilter automata).
 *
 * Ownership: a ruleset owns every rule, string, compiled regex and
 * automaton in it; ruleset_free() releases all. Nothing is global.
 *
 * Errors: a problem in a rule file never fails the load: it is logged in
 * rs->log as "file:line: message" and the rule concerned is disabled
 * (unknown directives, bad regexes, unknown evals, broken metas). Only an
 * unreadable file or directory fails.
 *
 * SECURITY: rule files are admin-provided but parsed defensively: line
 * length is bounded by getline (heap), include depth by RS_MAX_INCLUDE,
 * conditional nesting by RS_MAX_IFS, meta expressions and regex
 * literal walks by their own bounds; every regex runs under PCRE2 match
 * limits (rmatch.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/xalloc.h"
#include "rules/ac.h"
#include "rules/metaexpr.h"
#include "rules/ruleset.h"
#include "rules/rx.h"
#include "rules/strmap.h"

#define RS_MAX_INCLUDE	8
#define RS_MAX_IFS	64
#define RS_MAX_EVAL_ARGS 16
#define RS_MAX_USER_PREFS (1024 * 1024)	/* bytes of a user_prefs file */

/* plugins whose rules load: those Debian's spamassassin loads by default */
static const char *const default_plugins[] = {
	"Check", "HTTPSMismatch", "URIDetail", "Bayes", "BodyEval", "DNSEval",
	"HTMLEval", "HeaderEval", "MIMEEval", "RelayEval", "URIEval",
	"WLBLEval", "VBounce", "ImageInfo", "FreeMail", "AskDNS", "HashBL",
	"DMARC", "MIMEHeader", "ReplaceTags", "WelcomeListSubject", "SPF",
	"DKIM", "URIDNSBL", "Pyzor", "Razor2", "SpamCop",
	"AutoLearnThreshold", NULL
};

/* can(...) features of SpamAssassin 4.0.1 that hamlet's parser honours */
static const char *const features[] = {
	"feature_originating_ip_headers", "feature_dns_local_ports_permit_avoid",
	"feature_bayes_auto_learn_on_error", "feature_uri_host_listed",
	"feature_yesno_takes_args", "feature_bug6558_free", "feature_edns",
	"feature_dns_query_restriction", "feature_registryboundaries",
	"feature_geodb", "feature_dns_block_rule", "feature_compile_regexp",
	"feature_meta_rules_matching", "feature_subjprefix",
	"feature_bayes_stopwords", "feature_get_host",
	"feature_blocklist_welcomelist", "feature_welcomelist_blocklist",
	"feature_header_address_parser", "feature_local_tests_only",
	"feature_header_first_last", "feature_header_match_many",
	"feature_capture_rules", "has_tflags_nosubject", "has_tflags_nolog",
	"perl_min_version_5010000", "has_check_body_length",
	"has_plaintext_body_sig_ratio",
	/* plugin capabilities (true only when the plugin is loaded) */
	"has_all_header", "has_arc", "has_asn_geodb", "has_asn_lookup_ipv6",
	"has_autoclean", "has_capture_rules", "has_check_abundant_unicode_ratio",
	"has_check_asn", "has_check_asn_tag", "has_check_for_ascii_text_illegal",
	"has_check_for_spf_errors", "has_check_qp_ratio",
	"has_check_spf_skipped_noenvfrom", "has_clear", "has_fork", "has_get",
	"has_hashbl_attachments", "has_hashbl_bodyre", "has_hashbl_bodyre_num",
	"has_hashbl_email_domain", "has_hashbl_email_domain_alias",
	"has_hashbl_email_regex", "has_hashbl_email_welcomelist",
	"has_hashbl_email_whitelist", "has_hashbl_emails", "has_hashbl_ignore",
	"has_hashbl_sha256", "has_hashbl_tag", "has_hashbl_uris",
	"has_host_key", "has_max_redirections", "has_perl", "has_short_url",
	"has_short_url_code", "has_short_url_redir", "has_subtest_for_ranges",
	"has_tag_header", "has_tflags_concat", "has_tflags_domains_only",
	"has_tflags_ips_only", "has_tflags_multiple", "has_tflags_notrim",
	"has_tflags_range", "has_timeout", "has_uridnsbl_a_ns",
	"has_uridnsbl_for_a", "has_uridnsbl_skip_mailto", "has_user_agent",
	NULL
};

/* SpamAssassin settings that load but change nothing in hamlet */
static const char *const ignored_directives[] = {
	"freemail_whitelist", "freemail_welcomelist",
	"util_rb_tld", "util_rb_2tld", "util_rb_3tld", "clear_util_rb",
	"bayes_ignore_header", "reuse", "url_shortener", "url_shortener_get",
	"enlist_uri_host", "enlist_addrlist", "delist_uri_host",
	"def_whitelist_auth", "def_welcomelist_auth", "def_whitelist_from_dkim",
	"def_welcomelist_from_dkim", "def_whitelist_from_spf",
	"def_welcomelist_from_spf", "whitelist_auth", "welcomelist_auth",
	"whitelist_from_rcvd", "welcomelist_from_rcvd",
	"def_whitelist_from_rcvd", "def_welcomelist_from_rcvd",
	"adsp_override", "uridnsbl_skip_domain", "dns_local_ports_avoid",
	"urirhssub", "urirhsbl", "uridnsbl", "uridnssub", "require_version",
	"report", "redirector_pattern", "askdns", "dns_block_rule",
	"unsafe_report", "originating_ip_headers", "report_contact",
	"ok_locales", "ok_languages", "fns_ignore_headers", "fns_ignore_dkim",
	"fns_check", "clear_unsafe_report_template", "clear_report_template",
	"clear_originating_ip_headers", "clear_headers", "asn_lookup",
	"bayes_auto_learn_threshold_spam", "bayes_auto_learn_threshold_nonspam",
	"bayes_auto_learn", "use_bayes", "bayes_path", "use_auto_whitelist",
	"skip_rbl_checks", "trusted_networks", "internal_networks",
	"lock_method", "dns_available", "shortcircuit", "hashbl_acl",
	"hashbl_ignore", "report_charset", "fold_headers", "remove_header",
	"envelope_sender_header", "normalize_charset", "dns_server",
	"rbl_timeout", "clear_trusted_networks", "clear_internal_networks",
	"add_header", "header_from_different_domains", "whitelist_to",
	"welcomelist_to", "more_spam_to", "all_spam_to", "bayes_min_ham_num",
	"bayes_min_spam_num", "dcc_home", "pyzor_options", "razor_config",
	"use_razor2", "use_pyzor", "use_dcc", "body_part_scan_size",
	"rawbody_part_scan_size", "bayes_token_sources", "mimeheader_max",
	"util_rb_tld_domains", "hashbl_email_domain_alias",
	"uridnsbl_skip_domains", "txrep_factor", "use_txrep", "spamcop_from_address",
	"spamcop_to_address", "blacklist_to", "blocklist_to", "whitelist_from_dkim",
	"welcomelist_from_dkim", "whitelist_from_spf", "welcomelist_from_spf",
	"unwhitelist_from", "unwelcomelist_from", "unblacklist_from",
	"unblocklist_from", "whitelist_subject", "welcomelist_subject",
	"blacklist_subject", "blocklist_subject",
	NULL
};

/*
 * What a user_prefs file may set (SpamAssassin's user-level settings);
 * the rule definitions only with the site's allow_user_rules.
 */
static const char *const user_directives[] = {
	"score", "required_score", "required_hits", "rewrite_header",
	"report_safe", "add_header", "clear_headers", "remove_header",
	"fold_headers", "welcomelist_from", "whitelist_from",
	"blocklist_from", "blacklist_from", "unwelcomelist_from",
	"unwhitelist_from", "unblocklist_from", "unblacklist_from",
	"welcomelist_to", "whitelist_to", "blocklist_to", "blacklist_to",
	"more_spam_to", "all_spam_to", "ok_locales", "ok_languages",
	"use_bayes", "bayes_auto_learn", "bayes_auto_learn_threshold_spam",
	"bayes_auto_learn_threshold_nonspam", "use_razor2", "use_pyzor",
	"use_dcc", "skip_rbl_checks", "report", "clear_report_template",
	"report_contact", "describe", "lang", NULL
};
static const char *const user_rule_directives[] = {
	"header", "body", "rawbody", "uri", "full", "mimeheader", "meta",
	"tflags", "priority", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

struct ruleset *
ruleset_new(void)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));

	rs->rindex = strmap_new();
	rs->mindex = strmap_new();
	rs->rstart = xstrdup("<");
	rs->rend = xstrdup(">");
	for (size_t i = 0; default_plugins[i] != NULL; i++) {
		rs->plugins = xreallocarray(rs->plugins, rs->nplugins + 1,
		    sizeof(char *));
		rs->plugins[rs->nplugins++] = xasprintf(
		    "Mail::SpamAssassin::Plugin::%s", default_plugins[i]);
	}
	rs->match_limit = 100000;
	rs->depth_limit = 10000;
	return rs;
}

static void
rule_clear(struct rule *r)
{
	free(r->src);
	free(r->pat);
	if (r->re != NULL)
		pcre2_code_free(r->re);
	free(r->lits);
	free(r->litids);
	free(r->cls);
	if (r->probe != NULL)
		pcre2_code_free(r->probe);
	rx_gate_free(r->gate);
	rx_split_free(r->split);
	free(r->count);
	free(r->comb);
	free(r->hdr);
	free(r->unset);
	metaexpr_free(r->meta);
	free(r->evname);
	for (int i = 0; i < r->evargc; i++)
		free(r->evargv[i]);
	free(r->evargv);
	free(r->file);
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		rule_clear(rs->rules[i]);
		free(rs->rules[i]->name);
		free(rs->rules[i]);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->nmetas; i++) {
		free(rs->metas[i]->name);
		free(rs->metas[i]->desc);
		free(rs->metas[i]);
	}
	free(rs->metas);
	strmap_free(rs->rindex);
	strmap_free(rs->mindex);
	free_strv(rs->tag_name, rs->ntags);
	free_strv(rs->tag_val, rs->ntags);
	free_strv(rs->pre_name, rs->npre);
	free_strv(rs->pre_val, rs->npre);
	free_strv(rs->post_name, rs->npost);
	free_strv(rs->post_val, rs->npost);
	free_strv(rs->inter_name, rs->ninter);
	free_strv(rs->inter_val, rs->ninter);
	free(rs->rstart);
	free(rs->rend);
	free_strv(rs->replace_rules, rs->nreplace);
	free_strv(rs->plugins, rs->nplugins);
	free(rs->rewrite_subject);
	free_strv(rs->add_hdr, rs->nadd_hdr);
	free_strv(rs->ucfg_key, rs->nucfg);
	free_strv(rs->ucfg_val, rs->nucfg);
	free_strv(rs->freemail, rs->nfreemail);
	if (rs->freemail_map != NULL)
		strmap_free(rs->freemail_map);
	free(rs->freemail_globs);
	free_strv(rs->welcome, rs->nwelcome);
	free_strv(rs->block, rs->nblock);
	for (size_t i = 0; i < rs->ntests; i++) {
		free(rs->tests[i].rule);
		free(rs->tests[i].text);
		free(rs->tests[i].file);
	}
	free(rs->tests);
	for (int t = 0; t < RT_NTYPES; t++)
		free(rs->by_type[t]);
	free(rs->evals);
	free(rs->metaorder);
	for (int t = 0; t < TXT_NTEXTS; t++) {
		free(rs->lit_off[t]);
		free(rs->lit_rules[t]);
	}
	free(rs->lazy);
	free(rs->meta_block);	/* after the rules' metaexpr_free() */
	free(rs->sym_rule);
	free(rs->known_lazy);
	free(rs->known_all);
	free(rs->meta_of);
	for (int i = 0; i < 4; i++) {
		free(rs->meta_eager[i]);
		free(rs->meta_eager_m[i]);
		free(rs->meta_eager_i[i]);
		free(rs->hdr_eager[i]);
		for (int t = 0; t < TXT_NTEXTS; t++)
			free(rs->text_init[i][t]);
	}
	for (int i = 0; i < 4; i++)
		free(rs->off[i]);
	for (int t = 0; t < TXT_NTEXTS; t++) {
		ac_free(rs->ac[t]);
		free(rs->always[t]);
		free(rs->filtered[t]);
	}
	buf_free(&rs->log);
	free_strv(rs->unknown_evals, rs->nunknown_evals);
	free(rs->unknown_eval_count);
	free_strv(rs->unknown_dirs, rs->nunknown_dirs);
	free(rs->unknown_dir_count);
	free(rs);
}

struct rule *
ruleset_rule(const struct ruleset *rs, const char *name)
{
	return strmap_get(rs->rindex, name);
}

struct rule_meta *
ruleset_meta(const struct ruleset *rs, const char *name)
{
	return strmap_get(rs->mindex, name);
}

int
ruleset_text_of(enum rule_type t)
{
	switch (t) {
	case RT_BODY: return TXT_BODY;
	case RT_RAWBODY: return TXT_RAWBODY;
	case RT_URI: return TXT_URI;
	case RT_FULL: return TXT_FULL;
	default: return -1;
	}
}

const char *
ruleset_type_name(enum rule_type t)
{
	static const char *const names[] = {
		"header", "body", "rawbody", "uri", "full", "mimeheader", "meta"
	};

	return t < RT_NTYPES ? names[t] : "?";
}

static void
warnf(struct ruleset *rs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
warnf(struct ruleset *rs, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_printf(&rs->log, "%s:%d: %s\n", file, line, msg);
	rs->st.warnings++;
}

static void
count_name(char ***names, size_t **counts, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0) {
			(*counts)[i]++;
			return;
		}
	*names = xreallocarray(*names, *n + 1, sizeof(char *));
	*counts = xreallocarray(*counts, *n + 1, sizeof(size_t));
	(*names)[*n] = xstrdup(name);
	(*counts)[*n] = 1;
	(*n)++;
}

static struct rule_meta *
meta_get(struct ruleset *rs, const char *name)
{
	struct rule_meta *m = strmap_get(rs->mindex, name);

	if (m != NULL)
		return m;
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	m->priority = 0;
	if (rs->nmetas == rs->capmetas) {
		rs->capmetas = rs->capmetas ? rs->capmetas * 2 : 256;
		rs->metas = xreallocarray(rs->metas, rs->capmetas,
		    sizeof(*rs->metas));
	}
	rs->metas[rs->nmetas++] = m;
	strmap_put(rs->mindex, name, m);
	return m;
}

static int
valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* the rule named name, reset for a new definition (last one wins) */
static struct rule *
rule_define(struct ruleset *rs, const char *name, enum rule_type t,
    const char *file, int line, const char *src)
{
	struct rule *r = strmap_get(rs->rindex, name);

	if (r != NULL) {
		char *keepname = r->name;
		int idx = r->idx;

		rule_clear(r);
		memset(r, 0, sizeof(*r));
		r->name = keepname;
		r->idx = idx;
	} else {
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(name);
		if (rs->nrules == rs->caprules) {
			rs->caprules = rs->caprules ? rs->caprules * 2 : 512;
			rs->rules = xreallocarray(rs->rules, rs->caprules,
			    sizeof(*rs->rules));
		}
		r->idx = (int)rs->nrules;
		rs->rules[rs->nrules++] = r;
		strmap_put(rs->rindex, name, r);
	}
	r->type = t;
	r->file = xstrdup(file);
	r->line = line;
	r->src = xstrdup(src);
	r->symid = -1;
	return r;
}

/* parse "fn(arg, 'arg', "arg")" into r->evname/evargv */
static int
parse_eval(struct rule *r, const char *s)
{
	const char *p = s, *b;

	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == s)
		return 0;
	r->evname = xstrndup(s, (size_t)(p - s));
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 1;
	if (*p != '(')
		return 0;
	p++;
	for (;;) {
		struct buf a = BUF_INIT;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == ')')
			break;
		if (*p == '\'' || *p == '"') {
			char q = *p++;

			while (*p && *p != q) {
				if (*p == '\\' && p[1] == q)
					p++;
				buf_addc(&a, *p++);
			}
			if (*p != q) {
				buf_free(&a);
				return 0;
			}
			p++;
		} else {
			b = p;
			while (*p && *p != ',' && *p != ')')
				p++;
			while (p > b && isspace((unsigned char)p[-1]))
				p--;
			buf_add(&a, b, (size_t)(p - b));
		}
		while (isspace((unsigned char)*p))
			p++;
		if (r->evargc >= RS_MAX_EVAL_ARGS) {
			buf_free(&a);
			return 0;
		}
		r->evargv = xreallocarray(r->evargv, (size_t)r->evargc + 1,
		    sizeof(char *));
		r->evargv[r->evargc++] = buf_detach(&a);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == ')')
			break;
		return 0;
	}
	return 1;
}

/* "Hdr:mod:mod" -> r->hdr, r->hmods, r->hkind */
static void
parse_hdrname(struct rule *r, const char *s, size_t n)
{
	char *h = xstrndup(s, n), *c;

	while ((c = strrchr(h, ':')) != NULL) {
		const char *m = c + 1;

		if (strcmp(m, "raw") == 0) r->hmods |= HM_RAW;
		else if (strcmp(m, "addr") == 0) r->hmods |= HM_ADDR;
		else if (strcmp(m, "name") == 0) r->hmods |= HM_NAME;
		else if (strcmp(m, "first") == 0) r->hmods |= HM_FIRST;
		else if (strcmp(m, "last") == 0) r->hmods |= HM_LAST;
		else if (strcmp(m, "host") == 0) r->hmods |= HM_HOST;
		else if (strcmp(m, "domain") == 0) r->hmods |= HM_DOMAIN;
		else if (strcmp(m, "ip") == 0 || strcmp(m, "revip") == 0)
			r->hkind = HK_UNSUPPORTED;
		else
			break;
		*c = '\0';
	}
	if (strcmp(h, "ALL") == 0)
		r->hkind = HK_ALL;
	else if (strcasecmp(h, "ToCc") == 0)
		r->hkind = HK_TOCC;
	else if (strcasecmp(h, "EnvelopeFrom") == 0)
		r->hkind = HK_ENVFROM;
	else if (strcmp(h, "MESSAGEID") == 0)
		r->hkind = HK_MESSAGEID;
	else if (strcasecmp(h, "X-Spam-Relays-Untrusted") == 0 ||
	    strcasecmp(h, "X-Spam-Relays-External") == 0)
		r->hkind = HK_RELAYS_UNTRUSTED;
	else if (strcasecmp(h, "X-Spam-Relays-Trusted") == 0 ||
	    strcasecmp(h, "X-Spam-Relays-Internal") == 0)
		r->hkind = HK_RELAYS_TRUSTED;
	else if (strcmp(h, "ALL-TRUSTED") == 0 || strcmp(h, "ALL-INTERNAL") == 0)
		r->hkind = HK_ALL_TRUSTED;
	else if (strcmp(h, "ALL-UNTRUSTED") == 0 ||
	    strcmp(h, "ALL-EXTERNAL") == 0)
		r->hkind = HK_ALL_UNTRUSTED;
	else if (strncmp(h, "ALL-", 4) == 0 ||
	    strncasecmp(h, "X-Spam-Relays-", 14) == 0)
		r->hkind = HK_UNSUPPORTED;
	if (r->hmods & (HM_HOST | HM_DOMAIN))
		r->hkind = HK_UNSUPPORTED;
	r->hdr = h;
}

static void
add_regex_rule(struct ruleset *rs, struct rule *r, const char *re,
    const char *file, int line)
{
	const char *end;

	if (rx_parse(re, &r->pat, &r->reflags, &end) != ST_OK) {
		warnf(rs, file, line, "%s: bad regex syntax: %s", r->name, re);
		r->disabled = "bad regex syntax";
	}
}

static void
parse_rule(struct ruleset *rs, enum rule_type t, const char *args,
    const char *file, int line)
{
	char name[256];
	const char *p = args, *rest;
	size_t n;
	struct rule *r;

	while (*p && !isspace((unsigned char)*p))
		p++;
	n = (size_t)(p - args);
	if (n == 0 || n >= sizeof(name)) {
		warnf(rs, file, line, "%s: missing or long rule name",
		    ruleset_type_name(t));
		return;
	}
	memcpy(name, args, n);
	name[n] = '\0';
	if (!valid_name(name)) {
		warnf(rs, file, line, "invalid rule name '%s'", name);
		return;
	}
	while (isspace((unsigned char)*p))
		p++;
	rest = p;
	if (*rest == '\0') {
		warnf(rs, file, line, "%s: rule without a test", name);
		return;
	}
	r = rule_define(rs, name, t, file, line, rest);
	if (t == RT_META) {
		return;		/* compiled once all rules are known */
	}
	if (strncmp(rest, "eval:", 5) == 0) {
		if (!parse_eval(r, rest + 5)) {
			warnf(rs, file, line, "%s: bad eval call", name);
			r->disabled = "bad eval call";
		}
		return;
	}
	if (t == RT_HEADER || t == RT_MIMEHEADER) {
		const char *h = rest, *op;
		char *re;
		size_t relen;

		if (strncmp(h, "exists:", 7) == 0) {
			h += 7;
			n = strcspn(h, " \t");
			parse_hdrname(r, h, n);
			r->exists = 1;
			return;
		}
		n = strcspn(h, " \t");
		parse_hdrname(r, h, n);
		op = h + n;
		while (isspace((unsigned char)*op))
			op++;
		if (strncmp(op, "=~", 2) == 0)
			r->negate = 0;
		else if (strncmp(op, "!~", 2) == 0)
			r->negate = 1;
		else {
			warnf(rs, file, line, "%s: expected =~ or !~", name);
			r->disabled = "bad header rule";
			return;
		}
		op += 2;
		while (isspace((unsigned char)*op))
			op++;
		re = xstrdup(op);
		relen = strlen(re);
		/* [if-unset: X] at the end */
		if (relen > 0 && re[relen - 1] == ']') {
			char *u = strstr(re, "[if-unset:");

			if (u != NULL) {
				char *v = u + 10;

				re[relen - 1] = '\0';
				while (isspace((unsigned char)*v))
					v++;
				r->unset = xstrdup(v);
				while (u > re && isspace((unsigned char)u[-1]))
					u--;
				*u = '\0';
			}
		}
		add_regex_rule(rs, r, re, file, line);
		free(re);
		return;
	}
	add_regex_rule(rs, r, rest, file, line);
}

static void
add_pair(char ***names, char ***vals, size_t *n, const char *name,
    const char *val)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0) {
			free((*vals)[i]);
			(*vals)[i] = xstrdup(val);
			return;
		}
	*names = xreallocarray(*names, *n + 1, sizeof(char *));
	*vals = xreallocarray(*vals, *n + 1, sizeof(char *));
	(*names)[*n] = xstrdup(name);
	(*vals)[*n] = xstrdup(val);
	(*n)++;
}

static const char *
find_pair(char **names, char **vals, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return vals[i];
	return NULL;
}

static int
has_plugin(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nplugins; i++)
		if (strcmp(rs->plugins[i], name) == 0)
			return 1;
	return 0;
}

static int
if_resolve(const char *name, size_t len, void *arg)
{
	(void)arg;
	if (len == 7 && memcmp(name, "version", 7) == 0)
		return 0;
	if (len == 12 && memcmp(name, "perl_version", 12) == 0)
		return 1;
	if (len == 16 && memcmp(name, "local_tests_only", 16) == 0)
		return 2;
	return -1;
}

/* evaluate an "if" condition; -1 when it cannot be understood */
static int
eval_if(const struct ruleset *rs, const char *expr)
{
	struct buf b = BUF_INIT;
	const char *p = expr;
	struct metaexpr *m;
	char err[128];
	static const double vals[] = { 4.000001, 5.036, 1 };
	int res;

	/* replace plugin(X) and can(X) by 1 or 0 */
	while (*p) {
		const char *fn = NULL;
		int kind = 0;

		if (strncmp(p, "plugin(", 7) == 0)
			fn = p + 7, kind = 1;
		else if (strncmp(p, "can(", 4) == 0)
			fn = p + 4, kind = 2;
		if (fn != NULL && (p == expr || !isalnum((unsigned char)p[-1]))) {
			const char *cl = strchr(fn, ')');
			char *arg, *sep;
			int v;

			if (cl == NULL) {
				buf_free(&b);
				return -1;
			}
			arg = xstrndup(fn, (size_t)(cl - fn));
			for (char *s = arg; *s; s++)
				if (isspace((unsigned char)*s))
					memmove(s, s + 1, strlen(s));
			if (kind == 1)
				v = has_plugin(rs, arg);
			else {
				/* Plugin::P::f needs P loaded, as Perl's can() */
				sep = strrchr(arg, ':');
				v = in_list(features, sep ? sep + 1 : arg);
				if (v && sep != NULL &&
				    strstr(arg, "::Plugin::") != NULL) {
					sep[-1] = '\0';
					v = has_plugin(rs, arg);
				}
			}
			free(arg);
			buf_adds(&b, v ? "1" : "0");
			p = cl + 1;
			continue;
		}
		buf_addc(&b, *p++);
	}
	if (metaexpr_compile(buf_str(&b), if_resolve, NULL, &m, err,
	    sizeof(err)) != ST_OK) {
		buf_free(&b);
		return -1;
	}
	res = metaexpr_eval(m, vals) != 0;
	metaexpr_free(m);
	buf_free(&b);
	return res;
}

static enum status load_file(struct ruleset *rs, const char *path,
    int depth, char *err, size_t errlen);

static void
parse_score(struct ruleset *rs, const char *args, const char *file,
    int line)
{
	char name[256];
	double s[4];
	int n = 0;
	const char *p = args;
	size_t len;
	struct rule_meta *m;

	len = strcspn(p, " \t");
	if (len == 0 || len >= sizeof(name)) {
		warnf(rs, file, line, "score: missing rule name");
		return;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	p += len;
	while (n < 4) {
		char *end;

		while (isspace((unsigned char)*p) || *p == '(' || *p == ')')
			p++;
		if (*p == '\0')
			break;
		s[n] = strtod(p, &end);
		if (end == p) {
			warnf(rs, file, line, "score %s: bad number", name);
			return;
		}
		p = end;
		n++;
	}
	if (n == 0) {
		warnf(rs, file, line, "score %s: no score", name);
		return;
	}
	if (n != 1 && n != 4) {
		warnf(rs, file, line, "score %s: need 1 or 4 scores", name);
		return;
	}
	m = meta_get(rs, name);
	for (int i = 0; i < 4; i++)
		m->score[i] = n == 1 ? s[0] : s[i];
	m->has_score = 1;
}

static void
parse_tflags(struct ruleset *rs, const char *args, const char *file,
    int line)
{
	char *dup = xstrdup(args), *save = NULL, *tok, *name;
	struct rule_meta *m;

	name = strtok_r(dup, " \t", &save);
	if (name == NULL) {
		warnf(rs, file, line, "tflags: missing rule name");
		free(dup);
		return;
	}
	m = meta_get(rs, name);
	m->tflags = 0;
	m->maxhits = 0;
	m->has_tflags = 1;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (strcmp(tok, "multiple") == 0)
			m->tflags |= TF_MULTIPLE;
		else if (strcmp(tok, "nice") == 0)
			m->tflags |= TF_NICE;
		else if (strcmp(tok, "net") == 0)
			m->tflags |= TF_NET;
		else if (strcmp(tok, "learn") == 0)
			m->tflags |= TF_LEARN;
		else if (strcmp(tok, "userconf") == 0)
			m->tflags |= TF_USERCONF;
		else if (strcmp(tok, "noautolearn") == 0)
			m->tflags |= TF_NOAUTOLEARN;
		else if (strcmp(tok, "autolearn_force") == 0)
			m->tflags |= TF_AUTOLEARN_FORCE;
		else if (strcmp(tok, "nosubject") == 0)
			m->tflags |= TF_NOSUBJECT;
		else if (strcmp(tok, "nolog") == 0)
			m->tflags |= TF_NOLOG;
		else if (strncmp(tok, "maxhits=", 8) == 0) {
			m->maxhits = atoi(tok + 8);
			m->tflags |= TF_MULTIPLE;
		}
		/* a, publish, domains_only, ips_only, ...: no effect here */
	}
	free(dup);
}

static void
parse_test(struct ruleset *rs, const char *args, const char *file, int line)
{
	char *dup = xstrdup(args), *p = dup, *name, *kind;
	struct rs_test *t;

	name = p;
	p += strcspn(p, " \t");
	if (*p)
		*p++ = '\0';
	p += strspn(p, " \t");
	kind = p;
	p += strcspn(p, " \t");
	if (*p)
		*p++ = '\0';
	p += strspn(p, " \t");
	if (strcmp(kind, "ok") != 0 && strcmp(kind, "fail") != 0) {
		warnf(rs, file, line, "test %s: expected ok or fail", name);
		free(dup);
		return;
	}
	rs->tests = xreallocarray(rs->tests, rs->ntests + 1,
	    sizeof(*rs->tests));
	t = &rs->tests[rs->ntests++];
	t->rule = xstrdup(name);
	t->ok = strcmp(kind, "ok") == 0;
	t->text = xstrdup(p);
	t->file = xstrdup(file);
	t->line = line;
	free(dup);
}

#define RS_MAX_ADD_HEADERS 32

/*
 * The Bayes settings a user_prefs may make, as hamlet config keys. Only
 * from user_prefs: SpamAssassin's own 10_default_prefs.cf turns
 * auto-learn on, which loading its rule set must not do behind the
 * site's back.
 */
static const char *
user_cfg_key(const char *sa)
{
	static const char *const map[][2] = {
		{ "use_bayes", "use_bayes" },
		{ "bayes_auto_learn", "bayes_auto_learn" },
		{ "bayes_auto_learn_threshold_spam", "bayes_auto_learn_spam" },
		{ "bayes_auto_learn_threshold_nonspam", "bayes_auto_learn_ham" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], sa) == 0)
			return map[i][1];
	return NULL;
}

static void
parse_user_cfg(struct ruleset *rs, const char *key, const char *args,
    const char *file, int line)
{
	struct cfg *c = cfg_new();
	const char *hk = user_cfg_key(key);
	char msg[256];

	if (cfg_set(c, hk, args, msg, sizeof(msg)) != ST_OK)
		warnf(rs, file, line, "%s %s: %s", key, args, msg);
	else
		add_pair(&rs->ucfg_key, &rs->ucfg_val, &rs->nucfg, hk, args);
	cfg_free(c);
}

/* add_header spam|ham|all Name template: a later one for a name wins */
static void
parse_add_header(struct ruleset *rs, const char *args, const char *file,
    int line)
{
	size_t cl = strcspn(args, " \t"), hl, k = 0;
	const char *h = args + cl, *t;
	int all = cl == 3 && strncmp(args, "all", 3) == 0;

	h += strspn(h, " \t");
	hl = strcspn(h, " \t");
	t = h + hl + strspn(h + hl, " \t");
	if (!all && !(cl == 3 && strncmp(args, "ham", 3) == 0) &&
	    !(cl == 4 && strncmp(args, "spam", 4) == 0)) {
		warnf(rs, file, line, "add_header: expected spam, ham or all");
		return;
	}
	if (hl == 0) {
		warnf(rs, file, line, "add_header: missing header name");
		return;
	}
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '_') {
			warnf(rs, file, line, "add_header: bad header name");
			return;
		}
	for (size_t i = 0; i < rs->nadd_hdr; i++) {
		char *e = rs->add_hdr[i];
		size_t ecl = strcspn(e, " ");
		const char *eh = e + ecl + 1;

		if (strcspn(eh, " ") == hl && strncasecmp(eh, h, hl) == 0 &&
		    (all || (ecl == 3 && strncmp(e, "all", 3) == 0) ||
		    (ecl == cl && strncmp(e, args, cl) == 0))) {
			free(e);
			continue;
		}
		rs->add_hdr[k++] = e;
	}
	rs->nadd_hdr = k;
	if (k >= RS_MAX_ADD_HEADERS) {
		warnf(rs, file, line, "add_header: more than %d headers",
		    RS_MAX_ADD_HEADERS);
		return;
	}
	rs->add_hdr = xreallocarray(rs->add_hdr, k + 1, sizeof(char *));
	rs->add_hdr[rs->nadd_hdr++] = xasprintf("%.*s %.*s %s", (int)cl,
	    args, (int)hl, h, t);
	rs->has_add_hdr = 1;
}

/* one directive line (comments and whitespace already stripped) */
static void
directive(struct ruleset *rs, const char *key, const char *args,
    const char *file, int line, int depth)
{
	char err[256];

	if (strcmp(key, "header") == 0)
		parse_rule(rs, RT_HEADER, args, file, line);
	else if (strcmp(key, "body") == 0)
		parse_rule(rs, RT_BODY, args, file, line);
	else if (strcmp(key, "rawbody") == 0)
		parse_rule(rs, RT_RAWBODY, args, file, line);
	else if (strcmp(key, "uri") == 0)
		parse_rule(rs, RT_URI, args, file, line);
	else if (strcmp(key, "full") == 0)
		parse_rule(rs, RT_FULL, args, file, line);
	else if (strcmp(key, "mimeheader") == 0)
		parse_rule(rs, RT_MIMEHEADER, args, file, line);
	else if (strcmp(key, "meta") == 0)
		parse_rule(rs, RT_META, args, file, line);
	else if (strcmp(key, "score") == 0)
		parse_score(rs, args, file, line);
	else if (strcmp(key, "describe") == 0) {
		size_t n = strcspn(args, " \t");
		char *name = xstrndup(args, n);
		const char *d = args + n;
		struct rule_meta *m;

		while (isspace((unsigned char)*d))
			d++;
		m = meta_get(rs, name);
		free(m->desc);
		m->desc = xstrdup(d);
		free(name);
	} else if (strcmp(key, "tflags") == 0)
		parse_tflags(rs, args, file, line);
	else if (strcmp(key, "priority") == 0) {
		size_t n = strcspn(args, " \t");
		char *name = xstrndup(args, n);

		meta_get(rs, name)->priority = atoi(args + n);
		free(name);
	} else if (strcmp(key, "include") == 0) {
		char *dir = xstrdup(file), *sl = strrchr(dir, '/'), *path;

		if (sl != NULL)
			*sl = '\0';
		path = args[0] == '/' ? xstrdup(args) :
		    xasprintf("%s/%s", sl ? dir : ".", args);
		if (depth >= RS_MAX_INCLUDE)
			warnf(rs, file, line, "include nested too deeply");
		else if (load_file(rs, path, depth + 1, err, sizeof(err)) !=
		    ST_OK)
			warnf(rs, file, line, "include: %s", err);
		free(path);
		free(dir);
	} else if (strcmp(key, "loadplugin") == 0 ||
	    strcmp(key, "tryplugin") == 0) {
		size_t n = strcspn(args, " \t");
		char *name = xstrndup(args, n);

		if (!has_plugin(rs, name)) {
			rs->plugins = xreallocarray(rs->plugins,
			    rs->nplugins + 1, sizeof(char *));
			rs->plugins[rs->nplugins++] = name;
		} else
			free(name);
	} else if (strcmp(key, "required_score") == 0 ||
	    strcmp(key, "required_hits") == 0) {
		char *end;
		double v = strtod(args, &end);

		if (end == args)
			warnf(rs, file, line, "%s: bad number", key);
		else {
			/* 2: from a user_prefs file, which beats the site config */
			rs->has_required = rs->user ? 2 : 1;
			rs->required_score = v;
		}
	} else if (strcmp(key, "rewrite_header") == 0) {
		size_t n = strcspn(args, " \t");
		const char *v = args + n;

		while (isspace((unsigned char)*v))
			v++;
		if (n == 7 && strncasecmp(args, "subject", 7) == 0) {
			free(rs->rewrite_subject);
			rs->rewrite_subject = xstrdup(v);
		}
	} else if (rs->user && user_cfg_key(key) != NULL) {
		parse_user_cfg(rs, key, args, file, line);
	} else if (strcmp(key, "add_header") == 0) {
		parse_add_header(rs, args, file, line);
	} else if (strcmp(key, "clear_headers") == 0) {
		free_strv(rs->add_hdr, rs->nadd_hdr);
		rs->add_hdr = NULL;
		rs->nadd_hdr = 0;
		rs->has_add_hdr = 1;
	} else if (strcmp(key, "report_safe") == 0) {
		rs->has_report_safe = 1;
		rs->report_safe = atoi(args);
		if (rs->user && rs->report_safe != 0)
			warnf(rs, file, line, "report_safe %d: hamlet tags "
			    "the message in place (report_safe 0)",
			    rs->report_safe);
	} else if (strcmp(key, "whitelist_from") == 0 ||
	    strcmp(key, "welcomelist_from") == 0 ||
	    strcmp(key, "blacklist_from") == 0 ||
	    strcmp(key, "blocklist_from") == 0) {
		int wl = key[0] == 'w';
		char *dup = xstrdup(args), *save = NULL, *tok;

		for (tok = strtok_r(dup, " \t,", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t,", &save)) {
			char ***v = wl ? &rs->welcome : &rs->block;
			size_t *n = wl ? &rs->nwelcome : &rs->nblock;

			for (char *c = tok; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			*v = xreallocarray(*v, *n + 1, sizeof(char *));
			(*v)[(*n)++] = xstrdup(tok);
		}
		free(dup);
	} else if (strcmp(key, "unwhitelist_from") == 0 ||
	    strcmp(key, "unwelcomelist_from") == 0 ||
	    strcmp(key, "unblacklist_from") == 0 ||
	    strcmp(key, "unblocklist_from") == 0) {
		/* drop entries written the same way (a user undoing the site's) */
		int wl = key[2] == 'w';
		char *dup = xstrdup(args), *save = NULL, *tok;
		char **v = wl ? rs->welcome : rs->block;
		size_t *n = wl ? &rs->nwelcome : &rs->nblock;

		for (tok = strtok_r(dup, " \t,", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t,", &save)) {
			size_t k = 0;

			for (char *c = tok; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			for (size_t i = 0; i < *n; i++) {
				if (strcmp(v[i], tok) == 0)
					free(v[i]);
				else
					v[k++] = v[i];
			}
			*n = k;
		}
		free(dup);
	} else if (strcmp(key, "freemail_domains") == 0) {
		char *dup = xstrdup(args), *save = NULL, *tok;

		for (tok = strtok_r(dup, " \t", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t", &save)) {
			for (char *c = tok; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			rs->freemail = xreallocarray(rs->freemail,
			    rs->nfreemail + 1, sizeof(char *));
			rs->freemail[rs->nfreemail++] = xstrdup(tok);
		}
		free(dup);
	} else if (strcmp(key, "test") == 0)
		parse_test(rs, args, file, line);
	else if (strcmp(key, "replace_tag") == 0 ||
	    strcmp(key, "replace_pre") == 0 ||
	    strcmp(key, "replace_post") == 0 ||
	    strcmp(key, "replace_inter") == 0) {
		size_t n = strcspn(args, " \t");
		char *name = xstrndup(args, n);
		const char *v = args + n;

		while (isspace((unsigned char)*v))
			v++;
		if (key[8] == 't')
			add_pair(&rs->tag_name, &rs->tag_val, &rs->ntags,
			    name, v);
		else if (key[9] == 'r')
			add_pair(&rs->pre_name, &rs->pre_val, &rs->npre,
			    name, v);
		else if (key[9] == 'o')
			add_pair(&rs->post_name, &rs->post_val, &rs->npost,
			    name, v);
		else
			add_pair(&rs->inter_name, &rs->inter_val,
			    &rs->ninter, name, v);
		free(name);
	} else if (strcmp(key, "replace_rules") == 0) {
		char *dup = xstrdup(args), *save = NULL, *tok;

		for (tok = strtok_r(dup, " \t", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t", &save)) {
			rs->replace_rules = xreallocarray(rs->replace_rules,
			    rs->nreplace + 1, sizeof(char *));
			rs->replace_rules[rs->nreplace++] = xstrdup(tok);
		}
		free(dup);
	} else if (strcmp(key, "replace_start") == 0) {
		free(rs->rstart);
		rs->rstart = xstrdup(args);
	} else if (strcmp(key, "replace_end") == 0) {
		free(rs->rend);
		rs->rend = xstrdup(args);
	} else if (in_list(ignored_directives, key) ||
	    strncmp(key, "bayes_stopword", 14) == 0) {
		/* a SpamAssassin setting with no effect in hamlet */
	} else {
		rs->st.unknown_directives++;
		count_name(&rs->unknown_dirs, &rs->unknown_dir_count,
		    &rs->nunknown_dirs, key);
		warnf(rs, file, line, "unknown directive '%s'", key);
	}
}

static enum status
load_file(struct ruleset *rs, const char *path, int depth, char *err,
    size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;
	/* conditional stack: 1 = this level is active */
	int active[RS_MAX_IFS + 1], nif = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_ERR_IO;
	}
	rs->st.files++;
	active[0] = 1;
	while ((len = getline(&line, &cap, fp)) != -1) {
		char *p = line, *key, *args, *w, *r;
		int on = active[nif];

		lineno++;
		rs->st.lines++;
		/* comments: '#' unless escaped as '\#' */
		for (w = r = line; *r; r++) {
			if (*r == '#' && (r == line || r[-1] != '\\'))
				break;
			*w++ = *r;
		}
		*w = '\0';
		for (w = r = line; *r; r++) {
			if (*r == '\\' && r[1] == '#')
				continue;
			*w++ = *r;
		}
		*w = '\0';
		while (isspace((unsigned char)*p))
			p++;
		len = (ssize_t)strlen(p);
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			p[--len] = '\0';
		if (*p == '\0')
			continue;
		key = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		args = p;
		if (strcmp(key, "ifplugin") == 0 || strcmp(key, "if") == 0) {
			int v;

			if (nif >= RS_MAX_IFS) {
				warnf(rs, path, lineno, "conditionals nested "
				    "too deeply");
				break;
			}
			if (key[2] == 'p')
				v = has_plugin(rs, args);
			else {
				v = eval_if(rs, args);
				if (v < 0) {
					if (on)
						warnf(rs, path, lineno,
						    "cannot evaluate 'if %s'",
						    args);
					v = 0;
				}
			}
			nif++;
			active[nif] = on && v;
			continue;
		}
		if (strcmp(key, "else") == 0) {
			if (nif == 0)
				warnf(rs, path, lineno, "else without if");
			else
				active[nif] = active[nif - 1] && !active[nif];
			continue;
		}
		if (strcmp(key, "endif") == 0) {
			if (nif == 0)
				warnf(rs, path, lineno, "endif without if");
			else
				nif--;
			continue;
		}
		if (!on)
			continue;
		if (strcmp(key, "lang") == 0)
			continue;	/* translations: hamlet reports in English */
		if (rs->user && !in_list(user_directives, key) &&
		    (rs->user < 2 || !in_list(user_rule_directives, key))) {
			warnf(rs, path, lineno, "'%s' is not allowed in user "
			    "preferences%s", key, in_list(user_rule_directives,
			    key) ? " (the site has not set allow_user_rules)" :
			    "");
			continue;
		}
		directive(rs, key, args, path, lineno, depth);
	}
	if (nif != 0)
		warnf(rs, path, lineno, "missing endif");
	free(line);
	fclose(fp);
	return ST_OK;
}

size_t
ruleset_load_user(struct ruleset *rs, const char *path, int allow_rules)
{
	size_t mark = rs->log.len;
	char err[512];
	struct stat sb;

	/* a FIFO or device would block or never end: regular files only */
	if (stat(path, &sb) != 0) {
		warnf(rs, path, 0, "not read: %s", strerror(errno));
		return mark;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > RS_MAX_USER_PREFS) {
		warnf(rs, path, 0, "not read: %s", S_ISREG(sb.st_mode) ?
		    "larger than 1 MB" : "not a regular file");
		return mark;
	}
	rs->user = allow_rules ? 2 : 1;
	if (load_file(rs, path, 0, err, sizeof(err)) != ST_OK)
		warnf(rs, path, 0, "not read: %s", err);
	rs->user = 0;
	return mark;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum status
ruleset_load_path(struct ruleset *rs, const char *path, char *err,
    size_t errlen)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	enum status st = ST_OK;

	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_ERR_IO;
	}
	if (!S_ISDIR(sb.st_mode))
		return load_file(rs, path, 0, err, errlen);
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 4 || strcmp(de->d_name + l - 3, ".cf") != 0 ||
		    de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(char *));
		names[n++] = xasprintf("%s/%s", path, de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), cmpstr);
	for (size_t i = 0; i < n; i++) {
		if (st == ST_OK)
			st = load_file(rs, names[i], 0, err, errlen);
		free(names[i]);
	}
	free(names);
	return st;
}

/* ---- compile ---------------------------------------------------------- */

/* SpamAssassin's ReplaceTags on one pattern; returns a new string */
static char *
replace_tags(const struct ruleset *rs, const char *pat)
{
	char *re = xstrdup(pat);
	size_t sl = strlen(rs->rstart), el = strlen(rs->rend);

	for (int pass = 0; pass <= 5; pass++) {
		const char *mod[3] = { "pre ", "post ", "inter " };
		const char *modval[3] = { NULL, NULL, NULL };
		struct buf out = BUF_INIT;
		int again = 0;
		char **pieces = NULL;
		size_t np = 0;
		const char *p, *s;

		for (int k = 0; k < 3; k++) {
			struct buf tag = BUF_INIT;
			char *hit, *close;

			buf_adds(&tag, rs->rstart);
			buf_adds(&tag, mod[k]);
			hit = strstr(re, buf_str(&tag));
			buf_free(&tag);
			if (hit == NULL)
				continue;
			close = strstr(hit + sl + strlen(mod[k]), rs->rend);
			if (close == NULL)
				continue;
			{
				char *nm = xstrndup(hit + sl + strlen(mod[k]),
				    (size_t)(close - hit - sl - strlen(mod[k])));

				if (k == 0)
					modval[0] = find_pair(rs->pre_name,
					    rs->pre_val, rs->npre, nm);
				else if (k == 1)
					modval[1] = find_pair(rs->post_name,
					    rs->post_val, rs->npost, nm);
				else
					modval[2] = find_pair(rs->inter_name,
					    rs->inter_val, rs->ninter, nm);
				free(nm);
			}
			memmove(hit, close + el, strlen(close + el) + 1);
		}
		/* split into text and <tag> pieces (Perl split keeps "") */
		p = s = re;
		while (*p) {
			const char *e;

			if (strncmp(p, rs->rstart, sl) == 0 &&
			    (e = strstr(p + sl, rs->rend)) != NULL &&
			    e > p + sl && memchr(p + sl, '<', (size_t)(e - p -
			    sl)) == NULL) {
				pieces = xreallocarray(pieces, np + 2,
				    sizeof(char *));
				pieces[np++] = xstrndup(s, (size_t)(p - s));
				pieces[np++] = xstrndup(p, (size_t)(e + el - p));
				p = s = e + el;
				continue;
			}
			p++;
		}
		if (*s) {
			pieces = xreallocarray(pieces, np + 1, sizeof(char *));
			pieces[np++] = xstrdup(s);
		}
		for (size_t i = 0; i < np; i++) {
			int istag = strncmp(pieces[i], rs->rstart, sl) == 0 &&
			    strlen(pieces[i]) > sl + el;

			if (istag) {
				char *nm = xstrndup(pieces[i] + sl,
				    strlen(pieces[i]) - sl - el);
				const char *v = find_pair(rs->tag_name,
				    rs->tag_val, rs->ntags, nm);

				if (modval[0])
					buf_adds(&out, modval[0]);
				if (v != NULL) {
					buf_adds(&out, v);
					if (strchr(v, '<') && strchr(v, '>'))
						again = 1;
				} else
					buf_adds(&out, pieces[i]);
				if (modval[1])
					buf_adds(&out, modval[1]);
				free(nm);
			} else if (pieces[i][0] == '\0' && modval[2])
				buf_adds(&out, modval[2]);
			else
				buf_adds(&out, pieces[i]);
			free(pieces[i]);
		}
		free(pieces);
		free(re);
		re = buf_detach(&out);
		if (!again)
			break;
	}
	return re;
}

/* meta identifier -> variable (symbol id assigned in rules.c order) */
struct metactx {
	struct ruleset	*rs;
	struct rule	*r;
};

static int
meta_resolve(const char *name, size_t len, void *arg)
{
	struct metactx *mc = arg;
	char buf[256];
	struct rule *dep;
	struct rule_meta *m;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	dep = strmap_get(mc->rs->rindex, buf);
	if (dep != NULL)
		return dep->idx;
	/*
	 * Not a rule of this set: a symbol of another module (BAYES_99,
	 * SPF_PASS ...) or undefined (then 0, as in SpamAssassin). Give it
	 * a placeholder rule entry of its own, never run.
	 */
	m = meta_get(mc->rs, buf);
	(void)m;
	dep = rule_define(mc->rs, buf, RT_HEADER, "(external)", 0, "");
	dep->disabled = "external";
	free(dep->file);
	dep->file = xstrdup("(external)");
	dep->line = -1;
	return dep->idx;
}

static void
compile_meta(struct ruleset *rs, struct rule *r)
{
	struct metactx mc = { rs, r };
	char err[256];

	if (metaexpr_compile(r->src, meta_resolve, &mc, &r->meta, err,
	    sizeof(err)) != ST_OK) {
		warnf(rs, r->file, r->line, "%s: bad meta expression: %s",
		    r->name, err);
		r->disabled = "bad meta expression";
		rs->st.meta_failed++;
	}
}

/* topological order of active metas; cycles disable the metas in them */
static void
order_metas(struct ruleset *rs)
{
	unsigned char *state = xcalloc(rs->nrules, 1);	/* 0 new 1 visiting 2 done */
	struct rule **stack = xcalloc(rs->nrules + 1, sizeof(*stack));
	size_t *pos = xcalloc(rs->nrules + 1, sizeof(*pos));

	rs->metaorder = xcalloc(rs->nrules + 1, sizeof(*rs->metaorder));
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *root = rs->rules[i];
		size_t sp = 0;

		if (root->type != RT_META || root->disabled != NULL ||
		    state[root->idx])
			continue;
		stack[sp] = root;
		pos[sp++] = 0;
		state[root->idx] = 1;
		while (sp > 0) {
			struct rule *r = stack[sp - 1];
			const int *vars;
			size_t nv = metaexpr_vars(r->meta, &vars);

			if (pos[sp - 1] < nv) {
				struct rule *d = rs->rules[vars[pos[sp - 1]++]];

				if (d->type != RT_META || d->meta == NULL ||
				    state[d->idx] == 2)
					continue;
				if (state[d->idx] == 1) {
					warnf(rs, r->file, r->line,
					    "%s: meta dependency loop via %s",
					    r->name, d->name);
					r->disabled = "meta loop";
					continue;
				}
				state[d->idx] = 1;
				stack[sp] = d;
				pos[sp++] = 0;
				continue;
			}
			state[r->idx] = 2;
			if (r->disabled == NULL)
				rs->metaorder[rs->nmetaorder++] = r;
			sp--;
		}
	}
	free(state);
	free(stack);
	free(pos);
}

/*
 * Header rules reading the same value (same name, modifiers and kind)
 * share a slot: a scan builds each value once and finds it by index.
 */
static void
header_slots(struct ruleset *rs)
{
	struct strmap *seen = strmap_new();
	size_t *ids = xcalloc(rs->nrules + 1, sizeof(size_t));

	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i];
		char key[300];
		size_t *id;

		r->hslot = -1;
		if (r->hdr != NULL)
			r->hdrhash = ruleset_name_hash(r->hdr);
		if (r->type != RT_HEADER || r->hdr == NULL)
			continue;
		snprintf(key, sizeof(key), "%d:%u:%s", (int)r->hkind, r->hmods,
		    r->hdr);
		for (char *c = key; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		id = strmap_get(seen, key);
		if (id == NULL) {
			id = &ids[i];
			*id = rs->nhslots++;
			strmap_put(seen, key, id);
		}
		r->hslot = (int)*id;
	}
	strmap_free(seen);
	free(ids);
}

struct lazyctx {
	const struct ruleset	*rs;
	double			*cost;
	int			*users;		/* metas using each rule */
};

/* a value many metas use is likely computed anyway: share its cost */
static double
lazy_cost(int var, void *arg)
{
	const struct lazyctx *c = arg;

	return c->rs->lazy[var] ? c->cost[var] / (c->users[var] > 0 ?
	    c->users[var] : 1) : 0;
}

/*
 * Choose the lazy rules (see ruleset.h) and plan every meta's operand
 * order. A lazy text rule costs 1 plus its compiled size in 4 KB units,
 * a lazy meta the sum of its operands; eager values cost nothing, and
 * the cost of a value n metas use counts 1/n in each.
 */
static void
plan_lazy(struct ruleset *rs)
{
	struct lazyctx c = { rs, xcalloc(rs->nrules + 1, sizeof(double)),
	    xcalloc(rs->nrules + 1, sizeof(int)) };
	int *depth = xcalloc(rs->nrules + 1, sizeof(int));
	unsigned char *numeric = xcalloc(rs->nrules + 1, 1);

	for (size_t i = 0; i < rs->nmetaorder; i++) {
		const int *vars;
		size_t nv = metaexpr_vars(rs->metaorder[i]->meta, &vars);

		for (size_t k = 0; k < nv; k++)
			c.users[vars[k]]++;
	}

	rs->lazy = xcalloc(rs->nrules + 1, 1);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = rs->rules[i];
		size_t sz = 0;

		rs->rules[i]->lazyid = -1;
		if (strncmp(r->name, "__", 2) != 0 || r->disabled != NULL ||
		    r->re == NULL)
			continue;
		/* a bigger program tends to try more per position */
		(void)pcre2_pattern_info(r->re, PCRE2_INFO_SIZE, &sz);
		if (ruleset_text_of(r->type) >= 0) {
			rs->lazy[i] = 1;
			if (r->lits != NULL)
				rs->rules[i]->lazyid = (int)rs->nlazyf++;
			c.cost[i] = 1 + (double)sz / 4096;
		} else if (r->type == RT_HEADER || r->type == RT_MIMEHEADER) {
			/* one short value, but ALL is a whole header block */
			rs->lazy[i] = 1;
			c.cost[i] = (r->hkind == HK_ALL ||
			    r->hkind == HK_ALL_TRUSTED ||
			    r->hkind == HK_ALL_UNTRUSTED ||
			    r->type == RT_MIMEHEADER ? 1 : 0.25) +
			    (double)sz / 4096;
		}
	}
	/*
	 * A meta hits when its value is not 0; its value itself matters
	 * only where another meta uses it as a number (consumers first).
	 */
	for (size_t i = rs->nmetaorder; i-- > 0;) {
		const struct rule *r = rs->metaorder[i];

		metaexpr_numeric_uses(r->meta, !numeric[r->idx], numeric);
	}
	for (size_t i = 0; i < rs->nmetaorder; i++) {
		struct rule *r = rs->metaorder[i];
		const int *vars;
		size_t nv = metaexpr_vars(r->meta, &vars);
		double cost = metaexpr_plan(r->meta, !numeric[r->idx],
		    lazy_cost, &c);
		int d = 1;

		if (strncmp(r->name, "__", 2) != 0)
			continue;
		for (size_t k = 0; k < nv; k++)
			if (rs->rules[vars[k]]->type == RT_META &&
			    rs->lazy[vars[k]] && depth[vars[k]] + 1 > d)
				d = depth[vars[k]] + 1;
		if (d > RULESET_LAZY_DEPTH)
			continue;
		rs->lazy[r->idx] = 1;
		depth[r->idx] = d;
		c.cost[r->idx] = cost;
	}
	rs->known_lazy = xcalloc(rs->nrules + 1, 1);
	rs->known_all = xcalloc(rs->nrules + 1, 1);
	for (size_t i = 0; i < rs->nrules; i++) {
		rs->known_all[i] = rs->rules[i]->type != RT_META;
		rs->known_lazy[i] = rs->known_all[i] && !rs->lazy[i];
	}
	free(c.cost);
	free(c.users);
	free(depth);
	free(numeric);
}

/* which filtered rules each literal of text type t belongs to */
static void
index_literals(struct ruleset *rs, int t)
{
	size_t nl = ac_count(rs->ac[t]), *fill;

	rs->lit_off[t] = xcalloc(nl + 2, sizeof(size_t));
	for (size_t k = 0; k < rs->nfiltered[t]; k++) {
		const struct rule *r = rs->filtered[t][k];

		for (size_t j = 0; j < r->lits->n; j++)
			rs->lit_off[t][r->litids[j] + 1]++;
	}
	for (size_t l = 0; l < nl; l++)
		rs->lit_off[t][l + 1] += rs->lit_off[t][l];
	rs->lit_rules[t] = xcalloc(rs->lit_off[t][nl] + 1, sizeof(size_t));
	fill = xcalloc(nl + 1, sizeof(size_t));
	for (size_t k = 0; k < rs->nfiltered[t]; k++) {
		const struct rule *r = rs->filtered[t][k];

		for (size_t j = 0; j < r->lits->n; j++) {
			size_t l = (size_t)r->litids[j];

			rs->lit_rules[t][rs->lit_off[t][l] + fill[l]++] = k;
		}
	}
	free(fill);
}

/*
 * Whether type t's few filtered rules are better each searched on every
 * text than run behind the automaton: the walk costs some 10
 * instructions per byte, a search for a first byte (or line start)
 * about one. Measured on the full message (5 KB a message): the default
 * set's 3 rules and SpamAssassin's 1 cost less searched.
 */
static int
scan_all_pays(const struct ruleset *rs, int t)
{
	if (rs->nfiltered[t] == 0 || rs->nfiltered[t] > RULESET_SCAN_ALL_MAX)
		return 0;
	for (size_t k = 0; k < rs->nfiltered[t]; k++) {
		uint32_t type = 0;

		if (!rs->filtered[t][k]->jit || pcre2_pattern_info(
		    rs->filtered[t][k]->re, PCRE2_INFO_FIRSTCODETYPE, &type) !=
		    0 || type == 0)
			return 0;
	}
	return 1;
}

static void
push_rule(struct rule ***v, size_t *n, struct rule *r)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = r;
}

void
ruleset_compile(struct ruleset *rs)
{
	char err[256];
	size_t nr;

	if (rs->compiled)
		return;
	rs->compiled = 1;
	for (size_t i = 0; i < rs->nreplace; i++) {
		struct rule *r = strmap_get(rs->rindex, rs->replace_rules[i]);

		if (r != NULL)
			r->replace = 1;
	}
	/* per-name settings onto rules */
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i];
		struct rule_meta *m = strmap_get(rs->mindex, r->name);

		if (m != NULL) {
			r->tflags = m->tflags;
			r->maxhits = m->maxhits;
			r->priority = m->priority;
		}
	}
	for (int t = 0; t < TXT_NTEXTS; t++)
		rs->ac[t] = ac_new();
	nr = rs->nrules;	/* metas may add external placeholders */
	for (size_t i = 0; i < nr; i++) {
		struct rule *r = rs->rules[i];
		int txt;

		rs->st.rules_total++;
		rs->st.by_type[r->type]++;
		if (r->type == RT_META) {
			rs->st.meta_total++;
			if (r->disabled == NULL)
				compile_meta(rs, r);
			if (r->disabled == NULL)
				rs->st.meta_active++;
			continue;
		}
		if (r->evname != NULL) {
			int net = 0;

			rs->st.evals++;
			r->ev = evalfn_lookup(r->evname, &net);
			/* e.g. check_for_mime('mime_qp_long_line') */
			if (r->ev != NULL && !evalfn_supports(r->evname,
			    r->evargc, r->evargv))
				r->ev = NULL;
			if (net || (r->tflags & TF_NET)) {
				rs->st.evals_net++;
				r->disabled = "network test";
			} else if (r->ev == NULL) {
				rs->st.evals_unknown++;
				count_name(&rs->unknown_evals,
				    &rs->unknown_eval_count,
				    &rs->nunknown_evals, r->evname);
				r->disabled = "unknown eval";
			} else if (r->disabled == NULL) {
				rs->st.evals_active++;
				push_rule(&rs->evals, &rs->nevals, r);
			}
			continue;
		}
		rs->st.regex_total++;
		if (r->exists) {
			if (r->disabled == NULL && r->hkind != HK_UNSUPPORTED) {
				rs->st.regex_active++;
				push_rule(&rs->by_type[r->type],
				    &rs->nby_type[r->type], r);
			} else if (r->disabled == NULL)
				r->disabled = "unsupported pseudo-header";
			continue;
		}
		if (r->pat == NULL) {
			rs->st.regex_failed++;
			continue;
		}
		if (r->replace) {
			char *np = replace_tags(rs, r->pat);

			free(r->pat);
			r->pat = np;
		}
		r->re = rx_compile_jit(r->pat, r->reflags, !rs->no_jit, err,
		    sizeof(err));
		if (r->re == NULL) {
			warnf(rs, r->file, r->line, "%s: regex does not "
			    "compile: %s", r->name, err);
			r->disabled = "regex does not compile";
			rs->st.regex_failed++;
			continue;
		}
		if (r->hkind == HK_UNSUPPORTED) {
			r->disabled = "unsupported pseudo-header";
			continue;
		}
		rs->st.regex_active++;
		push_rule(&rs->by_type[r->type], &rs->nby_type[r->type], r);
		/* the fast path skips pcre2_match()'s argument checks */
		r->jit = rx_has_jit(r->re);
		/*
		 * The byte-class prefilter: classes a match needs (our walk
		 * and PCRE2's own first/last code units) and its minimum
		 * length, checked against each text's (or header value's)
		 * "bytes present" set.
		 */
		r->cls = xcalloc(1, sizeof(*r->cls));
		(void)rx_classes(r->pat, r->reflags, r->cls);
		r->minlen = rx_info_classes(r->re, r->cls);
		r->oneline = r->minlen >= RX_LINE_GATE_MIN &&
		    rx_within_line(r->pat, r->reflags);
		r->letrun = rx_letter_run(r->pat, r->reflags);
		if (r->letrun < RX_RUN_GATE_MIN)
			r->letrun = 0;
		r->uprun = rx_upper_run(r->pat, r->reflags);
		if (r->uprun < RX_UPPER_GATE_MIN)
			r->uprun = 0;
		r->digrun = rx_digit_run(r->pat, r->reflags);
		if (r->digrun < RX_DIGIT_GATE_MIN)
			r->digrun = 0;
		if (r->cls->n == 0) {
			free(r->cls);
			r->cls = NULL;
		} else
			rs->st.regex_classes++;
		/*
		 * A header rule asks only whether its value holds a match
		 * (unless tflags multiple): a long value (the Received
		 * headers, ALL) is searched by parts (run_header_rule())
		 */
		if (r->type == RT_HEADER && r->jit &&
		    !(r->tflags & TF_MULTIPLE) && (r->split =
		    rx_split_new(r->pat, r->reflags, r->re)) != NULL)
			rs->st.regex_split++;
		/* ... and skips a value without a literal it needs n times */
		if (r->type == RT_HEADER)
			r->count = rx_count_new(r->pat, r->reflags);
		txt = ruleset_text_of(r->type);
		if (txt < 0)
			continue;
		r->lits = xcalloc(1, sizeof(*r->lits));
		if (!r->negate && rx_literals(r->pat, r->reflags, r->lits)) {
			/*
			 * Nearly every URI holds "http" and "://": a URI
			 * rule prefers other literals when the pattern has
			 * some (only when it has literals at all, so it stays
			 * in the same group, and the order of hits with it)
			 */
			static const char *const uri_weak[] = { "https://",
			    "http://", NULL };
			struct rx_lits alt;

			if (txt == TXT_URI && rx_literals_avoid(r->pat,
			    r->reflags, uri_weak, &alt))
				*r->lits = alt;
			r->litids = xcalloc(r->lits->n, sizeof(int));
			for (size_t k = 0; k < r->lits->n; k++)
				r->litids[k] = ac_add(rs->ac[txt],
				    r->lits->s[k], r->lits->len[k]);
			push_rule(&rs->filtered[txt], &rs->nfiltered[txt], r);
			rs->st.regex_prefiltered++;
		} else {
			free(r->lits);
			r->lits = NULL;
			push_rule(&rs->always[txt], &rs->nalways[txt], r);
		}
		/*
		 * A body rule without literals that only asks whether some
		 * text holds a match, of at least one byte within a line and
		 * with no anchor: every match lies inside one of the lines
		 * and sees only its bytes, so run_texts() may search the
		 * lines that follow one another in memory as one subject.
		 */
		r->joinable = txt == TXT_BODY && r->lits == NULL &&
		    !(r->tflags & TF_MULTIPLE) && r->minlen >= 1 &&
		    rx_within_line(r->pat, r->reflags) &&
		    !rx_has_anchor(r->pat);
		rs->njoinable += (size_t)r->joinable;
		/* no literal prefilters it: a comb may (rx_comb_new()) */
		if (r->lits == NULL && (r->comb = rx_comb_new(r->pat,
		    r->reflags)) != NULL)
			rs->st.regex_combs++;
		/* ... and a probe (rx_probe()) */
		if (r->lits == NULL && !rs->no_jit) {
			char *pp = rx_probe(r->pat, r->reflags, r->re);

			if (pp != NULL) {
				r->probe = rx_compile_jit(pp, r->reflags, 1,
				    err, sizeof(err));
				if (r->probe != NULL && !rx_has_jit(r->probe)) {
					pcre2_code_free(r->probe);
					r->probe = NULL;
				}
				if (r->probe != NULL)
					rs->st.regex_probes++;
				free(pp);
			}
			/* PCRE2 would try most positions, each at length */
			if (r->jit && r->probe == NULL)
				r->gate = rx_gate_new(r->pat, r->reflags, r->re,
				    0);
		}
		/* alternatives PCRE2 finds faster one by one (rx_split_new()) */
		if (r->jit && r->gate == NULL && !(r->tflags & TF_MULTIPLE) &&
		    (r->split = rx_split_new(r->pat, r->reflags, r->re)) !=
		    NULL)
			rs->st.regex_split++;
	}
	for (int t = 0; t < TXT_NTEXTS; t++) {
		ac_build(rs->ac[t]);
		rs->st.literals[t] = ac_count(rs->ac[t]);
		rs->st.ac_states[t] = ac_states(rs->ac[t]);
		index_literals(rs, t);
		rs->scan_all[t] = scan_all_pays(rs, t);
	}
	order_metas(rs);
	plan_lazy(rs);
	{
		struct metaexpr **ms = xcalloc(rs->nmetaorder + 1,
		    sizeof(*ms));

		/* evaluated in this order: one block, in this order */
		for (size_t i = 0; i < rs->nmetaorder; i++)
			ms[i] = rs->metaorder[i]->meta;
		rs->meta_block = metaexpr_pack(ms, rs->nmetaorder);
		rs->meta_of = xcalloc(rs->nrules + 1, sizeof(*rs->meta_of));
		for (size_t i = 0; i < rs->nmetaorder; i++) {
			rs->metaorder[i]->meta = ms[i];
			rs->meta_of[rs->metaorder[i]->idx] = ms[i];
		}
		free(ms);
	}
	header_slots(rs);
	rs->nvars = (int)rs->nrules;
	/* freemail_domains: ~2,000 names looked up per address */
	rs->freemail_map = strmap_new();
	for (size_t i = 0; i < rs->nfreemail; i++) {
		const char *f = rs->freemail[i];

		if (strchr(f, '*') != NULL || strchr(f, '?') != NULL) {
			rs->freemail_globs = xreallocarray(rs->freemail_globs,
			    rs->nfreemail_globs + 1, sizeof(size_t));
			rs->freemail_globs[rs->nfreemail_globs++] = i;
		} else
			strmap_put(rs->freemail_map, f, rs->freemail[i]);
	}
	rs->nfreemail_mapped = rs->nfreemail;
}
