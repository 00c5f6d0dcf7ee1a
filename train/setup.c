/*
 * setup.c - assemble an engine: config, then each module's attach().
 *
 * Ownership: the returned engine owns the config and everything the
 * modules attach; engine_unref() releases it. Errors are returned as
 * text in err (file:line for config errors); nothing is printed here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/cfg.h"
#include "engine/log.h"
#include "engine/scan.h"
#include "engine/xalloc.h"
#include "train/setup.h"
/* module headers: one include per attached module */
#include "bayes/bayes.h"
#include "engine/auth.h"
#include "engine/av.h"
#include "rules/rules.h"

#ifndef HAMLET_SRC_RULES
#define HAMLET_SRC_RULES "rules/default"
#endif
#ifndef HAMLET_SYSCONF
#define HAMLET_SYSCONF "/usr/local/etc/hamlet"
#endif

const char *
setup_default_config(void)
{
	return HAMLET_SYSCONF "/hamlet.conf";
}

struct cfg *
setup_config(const struct setup *o, char *err, size_t errlen)
{
	struct cfg *c = cfg_new();
	char msg[512];

	if (o->config) {
		if (cfg_load(c, o->config, err, errlen) != ST_OK)
			goto fail;
	} else if (access(setup_default_config(), F_OK) == 0) {
		if (cfg_load(c, setup_default_config(), err, errlen) != ST_OK)
			goto fail;
	}
	for (size_t i = 0; i < o->nsets; i++) {
		char *kv = xstrdup(o->sets[i]), *eq = strchr(kv, '=');
		enum status st;

		if (eq == NULL) {
			snprintf(err, errlen, "--set %s: expected KEY=VALUE", kv);
			free(kv);
			goto fail;
		}
		*eq = '\0';
		st = cfg_set(c, kv, eq + 1, msg, sizeof(msg));
		free(kv);
		if (st != ST_OK) {
			snprintf(err, errlen, "--set: %s", msg);
			goto fail;
		}
	}
	return c;
fail:
	cfg_free(c);
	return NULL;
}

struct engine *
setup_engine(const struct setup *o, char *err, size_t errlen)
{
	struct cfg *c = setup_config(o, err, errlen);
	struct engine *e;

	if (c == NULL)
		return NULL;
	/* one message per process: the JIT costs more than it saves */
	if (c->pcre_jit == PCRE_JIT_AUTO)
		c->pcre_jit = o->oneshot ? PCRE_JIT_NO : PCRE_JIT_YES;
	e = engine_new(c);

	/*
	 * Module attach calls go here, in this order: auth, rules, bayes, av.
	 * Each returns a status and fills err; on failure:
	 *	engine_unref(e); return NULL;
	 */
	const char *const *rdirs = o->rules;
	size_t nrdirs = o->nrules;
	const char *src_rules[1] = { HAMLET_SRC_RULES };

	/*
	 * An uninstalled build (make run, make test) finds the rule set of its
	 * source tree when the installed one is absent.
	 */
	if (nrdirs == 0 && access(c->rules_dir, F_OK) != 0 &&
	    access(HAMLET_SRC_RULES, F_OK) == 0) {
		rdirs = src_rules;
		nrdirs = 1;
	}
	if (auth_attach(e, err, errlen) != ST_OK) {
		engine_unref(e);
		return NULL;
	}
	if (!o->no_rules && rules_attach_user(e, rdirs, nrdirs, o->prefs,
	    c->allow_user_rules, err, errlen) != ST_OK) {
		engine_unref(e);
		return NULL;
	}
	if (!o->no_bayes && bayes_attach(e, o->db, err, errlen) != ST_OK) {
		engine_unref(e);
		return NULL;
	}
	if (av_attach(e, o->av_db, err, errlen) != ST_OK) {
		engine_unref(e);
		return NULL;
	}

	engine_freeze(e);
	return e;
}
