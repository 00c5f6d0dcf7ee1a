/*
 * setup.h - build a ready engine from the command line / daemon options:
 * load the configuration, then attach every module (rules, Bayes, AV,
 * auth) onto one engine and freeze it. Shared by the hamlet CLI and
 * hamlet-milter, which both call it from main() (and the milter again on
 * SIGHUP); it is the only place that knows every module.
 */
#ifndef HAMLET_SETUP_H
#define HAMLET_SETUP_H

#include <stddef.h>

#include "engine/cfg.h"
#include "engine/scan.h"

#define SETUP_MAX_RULES_DIRS 32

struct setup {
	const char	*config;	/* -c FILE, or NULL: the site default if present */
	const char	*db;		/* --db DIR, or NULL */
	const char	*rules[SETUP_MAX_RULES_DIRS];	/* --rules DIR (repeatable) */
	size_t		 nrules;
	const char	*av_db;		/* --av-db DIR, or NULL */
	const char	*sets[16];	/* --set KEY=VALUE overrides */
	size_t		 nsets;
	int		 no_bayes;	/* do not open the Bayes store */
	int		 no_rules;	/* load no rules (GTUBE only) */
	const char	*prefs;		/* user_prefs over the site config, or NULL */
	int		 oneshot;	/* one small message: pcre_jit auto = no */
};

/* Default site configuration file. */
const char *setup_default_config(void);

/*
 * Load the configuration only (for `hamlet config`): defaults, then the
 * config file, then --set overrides. On error returns NULL with a
 * message naming file:line in err.
 */
struct cfg *setup_config(const struct setup *o, char *err, size_t errlen);

/*
 * A frozen engine ready to scan, or NULL with a message in err. The
 * returned engine has one reference.
 */
struct engine *setup_engine(const struct setup *o, char *err, size_t errlen);

#endif
