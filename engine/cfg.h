/*
 * cfg.h - hamlet's configuration: one struct, one table (cfg.c) giving
 * every key its type, bounds, default and help line (Redis config.c,
 * Postfix postconf).
 *
 * A struct cfg is built at start or reload, then read-only and shared by
 * all scans through the engine snapshot. Keys of later modules (bayes,
 * milter, av, auth) live here too so that `hamlet config` shows them all.
 */
#ifndef HAMLET_CFG_H
#define HAMLET_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

enum on_error { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT };
enum av_action { AV_ACTION_REJECT, AV_ACTION_QUARANTINE, AV_ACTION_TAG };
enum auth_mode { AUTH_MODE_UPSTREAM, AUTH_MODE_VERIFY, AUTH_MODE_BOTH };
enum pcre_jit { PCRE_JIT_AUTO, PCRE_JIT_YES, PCRE_JIT_NO };

struct cfg {
	/* scoring and output */
	double	 required_score;
	char	*rewrite_subject;	/* "" = off, else the tag */
	int	 spam_report;		/* X-Spam-Report on spam (SA default) */
	char	*add_headers;		/* "spam|ham|all Name template" lines */
	int	 report_safe;		/* only 0 (tag in place) is supported */
	char	*hostname;		/* for X-Spam-Checker-Version */
	int	 use_bayes;
	int	 use_network;		/* network tests (DNS); picks score set */

	/* parser bounds */
	size_t	 scan_max_size;		/* bytes of a message that are parsed */
	int	 max_mime_parts;
	int	 max_mime_depth;
	size_t	 max_decoded_bytes;	/* decoded MIME content, whole message */
	size_t	 max_text_bytes;	/* rendered text kept per message */
	int	 max_html_tags;		/* HTML tags rendered per message */
	int	 max_uris;

	/* rules */
	char	*rules_dir;		/* default rule directory */
	int	 pcre_match_limit;
	int	 pcre_depth_limit;
	int	 allow_user_rules;	/* user_prefs may define rules */
	enum pcre_jit pcre_jit;		/* setup resolves auto to yes or no */

	/* bayes */
	char	*bayes_path;		/* "" = ~/.hamlet/bayes or global */
	int	 bayes_min_spam;
	int	 bayes_min_ham;
	int	 bayes_max_tokens;	/* most significant tokens used */
	int	 bayes_max_header_tokens; /* and header tokens besides */
	int	 bayes_min_tokens;	/* fill up to this many below min_dev */
	double	 bayes_min_dev;		/* |p - 0.5| below this is ignored */
	double	 bayes_robinson_s;
	double	 bayes_robinson_x;
	int	 bayes_auto_learn;
	double	 bayes_auto_learn_spam;
	double	 bayes_auto_learn_ham;
	long	 bayes_expire_max_tokens;
	char	*bayes_ignore_headers;	/* space-separated header prefixes */

	/* milter */
	char	*milter_socket;
	char	*milter_user;
	int	 milter_socket_mode;
	char	*milter_pidfile;
	double	 quarantine_score;	/* NAN = never */
	double	 reject_score;		/* NAN = never */
	double	 discard_score;		/* NAN = never */
	char	*reject_text;
	enum on_error on_error;
	long	 scan_timeout_ms;
	char	*trusted_networks;
	int	 skip_authenticated;

	/* antivirus */
	char	*av_db_dir;
	enum av_action av_action;
	double	 av_score;
	size_t	 av_max_filesize;
	size_t	 av_max_scansize;
	int	 av_max_recursion;
	int	 av_max_files;
	long	 av_max_scantime_ms;

	/* authentication */
	enum auth_mode auth_mode;
	char	*authserv_id;		/* "" = hostname */
	char	*trusted_authserv_ids;	/* "" = hostname */
	int	 dmarc_reject;
	long	 dns_timeout_ms;
	long	 dns_budget_ms;
};

/* A config holding every default. */
struct cfg *cfg_new(void);
struct cfg *cfg_dup(const struct cfg *c);
void cfg_free(struct cfg *c);

/*
 * Set one key. On error writes a message (without file:line) to err and
 * returns ST_NOTFOUND for an unknown key or ST_ERR_CONFIG for a bad value.
 */
enum status cfg_set(struct cfg *c, const char *key, const char *value,
    char *err, size_t errlen);

/*
 * Load a file of "key value" lines. Stops at the first error and writes
 * "file:line: message" to err. A missing file is ST_ERR_IO.
 */
enum status cfg_load(struct cfg *c, const char *path, char *err,
    size_t errlen);

/* Print the effective configuration, one "key value" per line. */
void cfg_print(const struct cfg *c, FILE *fp, int with_help);

/* Parse helpers other modules use for their own files. */
enum status cfg_parse_size(const char *s, size_t *out);
enum status cfg_parse_ms(const char *s, long *out);

#endif
