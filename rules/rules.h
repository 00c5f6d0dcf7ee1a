/*
 * rules.h - the rules module: SpamAssassin-language rule files on PCRE2
 * (JIT) with a literal prefilter, meta rules and native eval functions.
 *
 * rules_attach() is what setup.c calls: it loads and compiles the rule
 * directories, defines every rule as a symbol (scores, describe, tflags)
 * and registers two checks: "rules" at STAGE_CONTENT and "rules_meta" at
 * STAGE_META (after Bayes, so metas see BAYES_*, auth and AV symbols).
 * The other functions serve `hamlet rules lint|test`.
 */
#ifndef HAMLET_RULES_H
#define HAMLET_RULES_H

#include <stddef.h>
#include <stdio.h>

#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/scan.h"
#include "engine/status.h"

struct ruleset;

/*
 * Load every .cf file of each dir (name order; dirs in the order given;
 * ndirs == 0: cfg rules_dir), attach to e (before engine_freeze()).
 * Rule-file problems are warnings (see `hamlet rules lint`); only an
 * unreadable directory fails, with the reason in err.
 */
enum status rules_attach(struct engine *e, const char *const *dirs,
    size_t ndirs, char *err, size_t errlen);

/*
 * rules_attach() with a user_prefs file (may be NULL) loaded over the
 * rule dirs: user-safe directives only, rule definitions too when
 * allow_rules (the site's allow_user_rules). Problems in the prefs file,
 * an unreadable one included, are warnings on stderr ("file:line: ..."),
 * never an error: mail must flow.
 */
enum status rules_attach_user(struct engine *e, const char *const *dirs,
    size_t ndirs, const char *prefs, int allow_rules, char *err,
    size_t errlen);

/* Load and compile without an engine (lint, test). */
enum status rules_load(const char *const *dirs, size_t ndirs,
    const struct cfg *c, struct ruleset **out /* OUT */, char *err,
    size_t errlen);
void rules_free(struct ruleset *rs);

/* Print counts, unknown directives/evals and failed patterns. */
void rules_lint_print(const struct ruleset *rs, FILE *fp, int verbose);

/*
 * Prefilter statistics over messages: scans m with every content rule
 * and adds to *run (regex executions) and *skipped (avoided).
 */
void rules_prefilter_sample(const struct ruleset *rs, const struct msg *m,
    size_t *run, size_t *skipped);

/*
 * Add the regex time (ns) each rule spent on m to ns[rule index]
 * (ns has rules_count() entries); the names come from rules_name().
 */
void rules_profile(const struct ruleset *rs, const struct msg *m,
    unsigned long long *ns);
size_t rules_count(const struct ruleset *rs);
const char *rules_name(const struct ruleset *rs, size_t i);
/* "header", "body", ... of rule i */
const char *rules_type(const struct ruleset *rs, size_t i);

/*
 * Check the prefilter against running every regex on m (and header
 * rules' gates and split searches against one search of the value):
 * returns the number of rules whose hit differs (must be 0).
 */
size_t rules_prefilter_verify(const struct ruleset *rs, const struct msg *m,
    FILE *fp);

/* what rules_jit_verify() found, summed over messages */
struct rules_jitcheck {
	size_t	compared;	/* searches done JIT and interpreted */
	size_t	mismatch;	/* JIT and interpreter differ (must be 0) */
	size_t	gate_mismatch;	/* a start gate and the interpreter differ */
	size_t	limit_jit;	/* a match limit on the JIT side only */
	size_t	limit_interp;	/* on the interpreter side only */
	size_t	limit_both;
};

/*
 * Check PCRE2's JIT against its interpreter on m: every regex rule
 * (header, mimeheader, body, rawbody, uri, full) is searched on every
 * text of its type both ways (the interpreter with PCRE2_NO_JIT, under
 * the same limits), as are the searches a scan makes through start
 * gates; the number of matches and the first match's span must agree.
 * A limit on either side is counted apart, not as a difference. Each
 * difference is printed to fp (when not NULL) with label (the message).
 */
void rules_jit_verify(const struct ruleset *rs, const struct msg *m,
    const char *label, FILE *fp, struct rules_jitcheck *st /* IN/OUT */);

/*
 * Run the file's `test NAME ok|fail STRING` lines (SpamAssassin's
 * regression_tests.cf) against the loaded rules. Tests whose rule is not
 * loaded, or is not a regex rule, are skipped.
 */
void rules_run_tests(const struct ruleset *rs, FILE *fp, int verbose,
    int *passed, int *failed, int *skipped);

/* Names of rules hit on m, space separated, into out (for tests). */
void rules_hits(const struct ruleset *rs, const struct msg *m,
    char *out, size_t outlen);

#endif
