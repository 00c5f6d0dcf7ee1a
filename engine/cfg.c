/*
 * cfg.c - the configuration table and its parser.
 *
 * Every key is one row: name, type, offset into struct cfg, bounds,
 * default and a help line. cfg_new() applies the defaults, cfg_set()
 * validates one value, cfg_load() reads a file. Strings are owned by the
 * struct cfg and freed by cfg_free().
 *
 * SECURITY: config files are trusted for content but not for form: every
 * line is length-checked and every value is range-checked.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "xalloc.h"

#ifndef HAMLET_RULES_DIR
#define HAMLET_RULES_DIR "/usr/local/share/hamlet/rules"
#endif

enum cfg_type { T_BOOL, T_INT, T_LONG, T_DOUBLE, T_OPTDOUBLE, T_SIZE, T_MS,
    T_STRING, T_ENUM, T_MODE };

struct cfg_key {
	const char	*name;
	enum cfg_type	 type;
	size_t		 off;
	double		 min, max;
	const char	*def;
	const char	*enums;		/* T_ENUM: "a|b|c", index = value */
	const char	*help;
};

#define O(f) offsetof(struct cfg, f)
#define BIG 1e18

static const struct cfg_key keys[] = {
	/* scoring and output */
	{ "required_score", T_DOUBLE, O(required_score), -1000, 100000, "5.0", NULL,
	  "score at or above which a message is spam" },
	{ "rewrite_subject", T_STRING, O(rewrite_subject), 0, 0, "", NULL,
	  "tag put before the Subject of spam (empty: no rewrite)" },
	{ "spam_report", T_BOOL, O(spam_report), 0, 1, "yes", NULL,
	  "add X-Spam-Report listing the rules hit to spam" },
	{ "add_headers", T_STRING, O(add_headers), 0, 0, "", NULL,
	  "extra X-Spam-* headers, 'spam|ham|all Name template' lines (add_header in rule files and user_prefs)" },
	{ "report_safe", T_INT, O(report_safe), 0, 0, "0", NULL,
	  "0: tag the message in place (the only mode)" },
	{ "hostname", T_STRING, O(hostname), 0, 0, "", NULL,
	  "name in X-Spam-Checker-Version (empty: this host's name)" },
	{ "use_bayes", T_BOOL, O(use_bayes), 0, 1, "yes", NULL,
	  "use the Bayes classifier when its store is trained" },
	{ "use_network", T_BOOL, O(use_network), 0, 1, "no", NULL,
	  "network tests are on (selects SpamAssassin score sets 1 and 3)" },
	/* parser bounds */
	{ "scan_max_size", T_SIZE, O(scan_max_size), 1024, 1e9, "4M", NULL,
	  "bytes of a message that are parsed; the rest passes unscanned" },
	{ "max_mime_parts", T_INT, O(max_mime_parts), 1, 100000, "1000", NULL,
	  "MIME parts looked at per message" },
	{ "max_mime_depth", T_INT, O(max_mime_depth), 1, 1000, "20", NULL,
	  "MIME nesting depth looked at" },
	{ "max_decoded_bytes", T_SIZE, O(max_decoded_bytes), 1024, 1e10, "32M", NULL,
	  "decoded MIME content per message" },
	{ "max_text_bytes", T_SIZE, O(max_text_bytes), 1024, 1e9, "1M", NULL,
	  "rendered text kept per message (visible and invisible each)" },
	{ "max_html_tags", T_INT, O(max_html_tags), 10, 10000000, "20000", NULL,
	  "HTML tags parsed per message (all parts); the rest is stripped of tags" },
	{ "max_uris", T_INT, O(max_uris), 1, 1000000, "1000", NULL,
	  "URIs collected per message" },
	/* rules */
	{ "rules_dir", T_STRING, O(rules_dir), 0, 0, HAMLET_RULES_DIR, NULL,
	  "rule directory loaded when no --rules is given" },
	{ "pcre_match_limit", T_INT, O(pcre_match_limit), 1000, 100000000, "200000", NULL,
	  "PCRE2 match limit per regex execution" },
	{ "pcre_depth_limit", T_INT, O(pcre_depth_limit), 100, 10000000, "10000", NULL,
	  "PCRE2 backtracking depth limit per regex execution" },
	{ "allow_user_rules", T_BOOL, O(allow_user_rules), 0, 1, "no", NULL,
	  "users' ~/.hamlet/user_prefs may define rules, not only scores and settings" },
	{ "pcre_jit", T_ENUM, O(pcre_jit), 0, 0, "auto", "auto|yes|no",
	  "JIT-compile rule regexes (auto: yes, except when hamlet check scans one message under 32 KB)" },
	/* bayes */
	{ "bayes_path", T_STRING, O(bayes_path), 0, 0, "", NULL,
	  "Bayes store directory (empty: ~/.hamlet/bayes, or /var/lib/hamlet/bayes for root)" },
	{ "bayes_min_spam", T_INT, O(bayes_min_spam), 0, 1000000, "200", NULL,
	  "spam messages learned before Bayes contributes" },
	{ "bayes_min_ham", T_INT, O(bayes_min_ham), 0, 1000000, "200", NULL,
	  "ham messages learned before Bayes contributes" },
	{ "bayes_max_tokens", T_INT, O(bayes_max_tokens), 1, 10000, "15", NULL,
	  "most significant tokens combined per message (text, URIs, MIME parts; all tokens when bayes_max_header_tokens is 0)" },
	{ "bayes_max_header_tokens", T_INT, O(bayes_max_header_tokens), 0, 10000, "15", NULL,
	  "most significant header tokens combined besides (0: headers compete for bayes_max_tokens)" },
	{ "bayes_min_tokens", T_INT, O(bayes_min_tokens), 0, 10000, "15", NULL,
	  "when fewer tokens pass bayes_min_dev, the strongest others fill up to this many (0: off)" },
	{ "bayes_min_dev", T_DOUBLE, O(bayes_min_dev), 0, 0.5, "0.45", NULL,
	  "tokens with |p-0.5| below this are ignored" },
	{ "bayes_robinson_s", T_DOUBLE, O(bayes_robinson_s), 0.001, 100, "0.1", NULL,
	  "Robinson strength of the prior" },
	{ "bayes_robinson_x", T_DOUBLE, O(bayes_robinson_x), 0, 1, "0.5", NULL,
	  "Robinson prior probability for unknown tokens" },
	{ "bayes_auto_learn", T_BOOL, O(bayes_auto_learn), 0, 1, "no", NULL,
	  "learn from scanned mail whose score is clear" },
	{ "bayes_auto_learn_spam", T_DOUBLE, O(bayes_auto_learn_spam), -1000, 1000, "12.0", NULL,
	  "auto-learn as spam at or above this non-Bayes score" },
	{ "bayes_auto_learn_ham", T_DOUBLE, O(bayes_auto_learn_ham), -1000, 1000, "0.1", NULL,
	  "auto-learn as ham below this non-Bayes score" },
	{ "bayes_expire_max_tokens", T_LONG, O(bayes_expire_max_tokens), 1000, 1e10, "1000000", NULL,
	  "token count past which automatic expiry runs" },
	{ "bayes_ignore_headers", T_STRING, O(bayes_ignore_headers), 0, 0,
	  "X-Spam- X-Bogosity X-Virus- X-DSPAM- X-Rspamd- X-Hamlet- X-CRM114-", NULL,
	  "header name prefixes the tokenizer ignores" },
	/* milter */
	{ "milter_socket", T_STRING, O(milter_socket), 0, 0, "unix:/run/hamlet/milter.sock", NULL,
	  "libmilter socket: unix:PATH or inet:PORT@ADDR" },
	{ "milter_user", T_STRING, O(milter_user), 0, 0, "", NULL,
	  "user to run as after opening the socket (empty: stay)" },
	{ "milter_socket_mode", T_MODE, O(milter_socket_mode), 0, 0777, "0660", NULL,
	  "permissions of a unix milter socket" },
	{ "milter_pidfile", T_STRING, O(milter_pidfile), 0, 0, "", NULL,
	  "pid file of the milter daemon (empty: none)" },
	{ "quarantine_score", T_OPTDOUBLE, O(quarantine_score), -1000, 100000, "none", NULL,
	  "quarantine at or above this score (none: never)" },
	{ "reject_score", T_OPTDOUBLE, O(reject_score), -1000, 100000, "none", NULL,
	  "reject with 550 at or above this score (none: never)" },
	{ "discard_score", T_OPTDOUBLE, O(discard_score), -1000, 100000, "none", NULL,
	  "silently discard at or above this score (none: never)" },
	{ "reject_text", T_STRING, O(reject_text), 0, 0, "Message rejected as spam", NULL,
	  "text of the 550 5.7.1 reply" },
	{ "on_error", T_ENUM, O(on_error), 0, 0, "tempfail", "tempfail|accept",
	  "milter answer on an internal error or timeout" },
	{ "scan_timeout", T_MS, O(scan_timeout_ms), 10, 3600000, "30s", NULL,
	  "time budget of one scan" },
	{ "trusted_networks", T_STRING, O(trusted_networks), 0, 0, "127.0.0.0/8 ::1", NULL,
	  "clients whose mail is not scanned by the milter" },
	{ "skip_authenticated", T_BOOL, O(skip_authenticated), 0, 1, "yes", NULL,
	  "do not scan mail from SMTP-authenticated senders" },
	/* antivirus */
	{ "av_db_dir", T_STRING, O(av_db_dir), 0, 0, "", NULL,
	  "ClamAV database directory (empty: no virus scanning)" },
	{ "av_action", T_ENUM, O(av_action), 0, 0, "reject", "reject|quarantine|tag",
	  "what the milter does with infected mail" },
	{ "av_score", T_DOUBLE, O(av_score), -1000, 100000, "100", NULL,
	  "score of AV_VIRUS" },
	{ "av_max_filesize", T_SIZE, O(av_max_filesize), 1024, 4e9, "25M", NULL,
	  "largest file ClamAV scans" },
	{ "av_max_scansize", T_SIZE, O(av_max_scansize), 1024, 4e9, "100M", NULL,
	  "data ClamAV scans per file, archives included" },
	{ "av_max_recursion", T_INT, O(av_max_recursion), 1, 100, "16", NULL,
	  "archive nesting ClamAV follows" },
	{ "av_max_files", T_INT, O(av_max_files), 1, 1000000, "10000", NULL,
	  "files in an archive ClamAV scans" },
	{ "av_max_scantime", T_MS, O(av_max_scantime_ms), 100, 3600000, "20s", NULL,
	  "ClamAV time per file" },
	/* authentication */
	{ "auth_mode", T_ENUM, O(auth_mode), 0, 0, "both", "upstream|verify|both",
	  "trust upstream Authentication-Results, verify ourselves, or both" },
	{ "authserv_id", T_STRING, O(authserv_id), 0, 0, "", NULL,
	  "authserv-id of our Authentication-Results (empty: hostname)" },
	{ "trusted_authserv_ids", T_STRING, O(trusted_authserv_ids), 0, 0, "", NULL,
	  "authserv-ids whose results are trusted (empty: hostname)" },
	{ "dmarc_reject", T_BOOL, O(dmarc_reject), 0, 1, "no", NULL,
	  "milter rejects DMARC failures under p=reject" },
	{ "dns_timeout", T_MS, O(dns_timeout_ms), 10, 60000, "3s", NULL,
	  "timeout of one DNS query" },
	{ "dns_budget", T_MS, O(dns_budget_ms), 10, 600000, "10s", NULL,
	  "DNS time per message" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct cfg_key *
key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

enum status
cfg_parse_size(const char *s, size_t *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return ST_ERR_PARSE;
	switch (tolower((unsigned char)*end)) {
	case 'k': v *= 1024; end++; break;
	case 'm': v *= 1024 * 1024; end++; break;
	case 'g': v *= 1024.0 * 1024 * 1024; end++; break;
	default: break;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end != '\0' || v > (double)SIZE_MAX / 2)
		return ST_ERR_PARSE;
	*out = (size_t)v;
	return ST_OK;
}

enum status
cfg_parse_ms(const char *s, long *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0)
		return ST_ERR_PARSE;
	if (strcmp(end, "ms") == 0)
		;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		v *= 60000;
	else
		return ST_ERR_PARSE;
	if (v > 1e12)
		return ST_ERR_PARSE;
	*out = (long)v;
	return ST_OK;
}

static int
parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static enum status
set_key(struct cfg *c, const struct cfg_key *k, const char *v, char *err,
    size_t errlen)
{
	void *f = (char *)c + k->off;
	char *end;
	double d;
	long l;
	size_t sz;
	int b;

#define RANGE(x) do { if ((x) < k->min || (x) > k->max) { \
	snprintf(err, errlen, "%s: value '%s' out of range [%g, %g]", \
	    k->name, v, k->min, k->max); return ST_ERR_CONFIG; } } while (0)
#define BAD(what) do { snprintf(err, errlen, "%s: '%s' is not %s", \
	k->name, v, what); return ST_ERR_CONFIG; } while (0)

	switch (k->type) {
	case T_BOOL:
		if (parse_bool(v, &b) < 0)
			BAD("yes or no");
		*(int *)f = b;
		break;
	case T_INT:
	case T_LONG:
	case T_MODE:
		errno = 0;
		l = strtol(v, &end, k->type == T_MODE ? 8 : 10);
		if (end == v || *end || errno)
			BAD(k->type == T_MODE ? "an octal mode" : "an integer");
		RANGE((double)l);
		if (k->type == T_LONG)
			*(long *)f = l;
		else
			*(int *)f = (int)l;
		break;
	case T_OPTDOUBLE:
		if (strcasecmp(v, "none") == 0 || *v == '\0') {
			*(double *)f = NAN;
			break;
		}
		/* FALLTHROUGH */
	case T_DOUBLE:
		errno = 0;
		d = strtod(v, &end);
		if (end == v || *end || errno || !isfinite(d))
			BAD("a number");
		RANGE(d);
		*(double *)f = d;
		break;
	case T_SIZE:
		if (cfg_parse_size(v, &sz) != ST_OK)
			BAD("a size (like 512K, 10M)");
		RANGE((double)sz);
		*(size_t *)f = sz;
		break;
	case T_MS:
		if (cfg_parse_ms(v, &l) != ST_OK)
			BAD("a duration (like 500ms, 30s, 2m)");
		RANGE((double)l);
		*(long *)f = l;
		break;
	case T_STRING:
		free(*(char **)f);
		*(char **)f = xstrdup(v);
		break;
	case T_ENUM: {
		const char *p = k->enums;
		int idx = 0;
		size_t vl = strlen(v);

		while (p) {
			const char *bar = strchr(p, '|');
			size_t n = bar ? (size_t)(bar - p) : strlen(p);
			if (n == vl && strncasecmp(p, v, n) == 0) {
				*(int *)f = idx;
				return ST_OK;
			}
			idx++;
			p = bar ? bar + 1 : NULL;
		}
		snprintf(err, errlen, "%s: '%s' is not one of %s", k->name, v,
		    k->enums);
		return ST_ERR_CONFIG;
	}
	}
	return ST_OK;
#undef RANGE
#undef BAD
}

struct cfg *
cfg_new(void)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	char err[256];

	for (size_t i = 0; i < NKEYS; i++)
		if (set_key(c, &keys[i], keys[i].def, err, sizeof(err)) != ST_OK) {
			fprintf(stderr, "hamlet: bad built-in default: %s\n", err);
			abort();
		}
	return c;
}

struct cfg *
cfg_dup(const struct cfg *src)
{
	struct cfg *c = xmalloc(sizeof(*c));

	memcpy(c, src, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == T_STRING) {
			char **f = (char **)((char *)c + keys[i].off);
			*f = xstrdup(*f);
		}
	return c;
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == T_STRING)
			free(*(char **)((char *)c + keys[i].off));
	free(c);
}

enum status
cfg_set(struct cfg *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct cfg_key *k = key_find(key);

	if (k == NULL) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return ST_NOTFOUND;
	}
	return set_key(c, k, value, err, errlen);
}

enum status
cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[4096], msg[512];
	unsigned lineno = 0;
	enum status st = ST_OK;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_ERR_IO;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *p = line, *key, *val, *e;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			st = ST_ERR_CONFIG;
			break;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		key = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		val = p;
		/* strip trailing whitespace; '#' inside values is kept */
		e = val + strlen(val);
		while (e > val && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (val[0] == '"' && e - val >= 2 && e[-1] == '"') {
			e[-1] = '\0';
			val++;
		}
		st = cfg_set(c, key, val, msg, sizeof(msg));
		if (st != ST_OK) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			st = ST_ERR_CONFIG;
			break;
		}
	}
	if (st == ST_OK && ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		st = ST_ERR_IO;
	}
	fclose(fp);
	return st;
}

void
cfg_print(const struct cfg *c, FILE *fp, int with_help)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct cfg_key *k = &keys[i];
		const void *f = (const char *)c + k->off;

		if (with_help)
			fprintf(fp, "# %s (default: %s)\n", k->help,
			    *k->def ? k->def : "\"\"");
		fprintf(fp, "%s ", k->name);
		switch (k->type) {
		case T_BOOL:
			fputs(*(const int *)f ? "yes" : "no", fp);
			break;
		case T_INT:
			fprintf(fp, "%d", *(const int *)f);
			break;
		case T_MODE:
			fprintf(fp, "0%o", (unsigned)*(const int *)f);
			break;
		case T_LONG:
			fprintf(fp, "%ld", *(const long *)f);
			break;
		case T_MS:
			fprintf(fp, "%ldms", *(const long *)f);
			break;
		case T_OPTDOUBLE:
			if (isnan(*(const double *)f)) {
				fputs("none", fp);
				break;
			}
			/* FALLTHROUGH */
		case T_DOUBLE:
			fprintf(fp, "%g", *(const double *)f);
			break;
		case T_SIZE:
			fprintf(fp, "%zu", *(const size_t *)f);
			break;
		case T_STRING: {
			const char *s = *(char *const *)f;
			if (*s == '\0' || strpbrk(s, " \t#"))
				fprintf(fp, "\"%s\"", s);
			else
				fputs(s, fp);
			break;
		}
		case T_ENUM: {
			int idx = *(const int *)f;
			const char *p = k->enums;
			while (idx-- > 0 && p)
				p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
			fprintf(fp, "%.*s", p ? (int)strcspn(p, "|") : 1,
			    p ? p : "?");
			break;
		}
		}
		fputc('\n', fp);
	}
}
