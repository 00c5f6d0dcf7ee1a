/*
 * cmd_rules.c - `hamlet rules`: lint and test rule files.
 *
 *   hamlet rules lint [--rules DIR]... [-v] [--verify] [--verify-jit] [MSG...]
 *       counts (rules by type, non-eval rules compiled and active, metas,
 *       evals: active, network, unknown), unknown directives, failed
 *       patterns; with messages, the share of regex executions the
 *       prefilter avoided on them (and with --verify, a check that the
 *       prefilter changes no hit; with --verify-jit, a check that PCRE2's
 *       JIT finds what its interpreter finds, for every regex rule on
 *       every text of its type: some PCRE2 releases' JIT misses matches).
 *       Exit 1 when a verify check found a difference.
 *   hamlet rules test [--rules DIR]... [-v] FILE
 *       runs FILE's `test NAME ok|fail STRING` lines (SpamAssassin's
 *       regression_tests.cf) against the loaded rules and FILE; prints
 *       "N passed, N failed, N skipped"; exit 1 when one failed.
 *
 * Without --rules the configured rules_dir is used, as for `check`.
 * SECURITY: messages given to lint are untrusted and go through the
 * normal parser limits.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "engine/buf.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "engine/xalloc.h"
#include "rules/rules.h"
#include "rules/ruleset.h"
#include "train/cli.h"

static void
usage(void)
{
	fprintf(stderr,
"usage: hamlet rules lint [options] [-v] [--verify] [--verify-jit]\n"
"                        [--profile] [MSG...]\n"
"       hamlet rules test [options] [-v] FILE\n"
"       hamlet rules hits [options] MSG...\n"
"  lint       load the rules and print counts, unknown directives and\n"
"             evals, failed patterns; with MSG files, the share of regex\n"
"             executions the prefilter avoided on them\n"
"  --verify   (lint) check on each MSG that the prefilter changes no hit\n"
"  --verify-jit (lint) check on each MSG that every regex rule's JIT\n"
"             search finds what PCRE2's interpreter finds\n"
"  --profile  (lint) regex time per message and the 20 costliest rules\n"
"  test       run FILE's `test NAME ok|fail STRING` lines\n"
"  hits       every rule a message hits, __sub-rules included (all\n"
"             score sets; no Bayes, auth or AV symbols)\n"
"  -v         list every warning / every test\n");
	cli_common_usage(stderr);
}

/* the state lint's per-message work adds to */
struct lint_run {
	struct ruleset		*rs;
	unsigned long long	*prof;
	int			 verify;
	int			 verify_jit;
	size_t			 run, skipped, bad;
	struct rules_jitcheck	 jc;
};

/* the state hits prints from */
struct hits_run {
	struct ruleset	*rs;
	char		*out;
};

/*
 * Read and parse each MSG argument and hand it to fn; a file that cannot
 * be read is reported and skipped. Returns how many messages fn saw.
 */
static size_t
each_msg(struct cli *c, const struct cfg *cfg,
    void (*fn)(void *, const char *, struct msg *), void *arg)
{
	struct msg_limits lim;
	size_t nmsg = 0;

	msg_global_init();
	msg_limits_from_cfg(&lim, cfg);
	for (int i = 0; i < c->nargs; i++) {
		struct buf b = BUF_INIT;
		struct pool *p;
		struct msg *m;

		if (cli_read_file(c->args[i], &b, cfg->scan_max_size * 4 + 1) !=
		    ST_OK) {
			fprintf(stderr, "hamlet: cannot read %s\n", c->args[i]);
			buf_free(&b);
			continue;
		}
		p = pool_new();
		if (msg_parse(p, buf_str(&b), b.len, NULL, &lim, &m) == ST_OK) {
			fn(arg, c->args[i], m);
			nmsg++;
		}
		pool_free(p);
		buf_free(&b);
	}
	return nmsg;
}

static void
lint_msg(void *arg, const char *path, struct msg *m)
{
	struct lint_run *lr = arg;

	rules_prefilter_sample(lr->rs, m, &lr->run, &lr->skipped);
	if (lr->prof != NULL)
		rules_profile(lr->rs, m, lr->prof);
	if (lr->verify)
		lr->bad += rules_prefilter_verify(lr->rs, m, stdout);
	if (lr->verify_jit)
		rules_jit_verify(lr->rs, m, path, stdout, &lr->jc);
}

static void
hits_msg(void *arg, const char *path, struct msg *m)
{
	struct hits_run *hr = arg;

	rules_hits(hr->rs, m, hr->out, 1 << 20);
	printf("%s\t%s\n", path, hr->out);
}

static int
lint(struct cli *c, int verbose, int verify, int verify_jit, int profile)
{
	unsigned long long *prof = NULL;
	struct cfg *cfg;
	struct ruleset *rs;
	char err[1024];
	struct lint_run lr;
	size_t run, skipped, bad, nmsg;

	cfg = setup_config(&c->setup, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "hamlet: %s\n", err);
		return EX_CONFIG;
	}
	if (rules_load(c->setup.rules, c->setup.nrules, cfg, &rs, err,
	    sizeof(err)) != ST_OK) {
		fprintf(stderr, "hamlet: rules: %s\n", err);
		cfg_free(cfg);
		return EX_CONFIG;
	}
	rules_lint_print(rs, stdout, verbose);
	if (profile)
		prof = xcalloc(rules_count(rs) + 1, sizeof(*prof));
	memset(&lr, 0, sizeof(lr));
	lr.rs = rs;
	lr.prof = prof;
	lr.verify = verify;
	lr.verify_jit = verify_jit;
	nmsg = each_msg(c, cfg, lint_msg, &lr);
	run = lr.run;
	skipped = lr.skipped;
	bad = lr.bad;
	if (nmsg > 0) {
		printf("prefilter on %zu message(s): %zu regex executions, "
		    "%zu avoided (%.1f%% of %zu)\n", nmsg, run, skipped,
		    run + skipped ? 100.0 * (double)skipped /
		    (double)(run + skipped) : 0.0, run + skipped);
		if (verify)
			printf("prefilter verify: %zu mismatch(es)\n", bad);
		if (verify_jit)
			printf("jit verify: %zu search(es) compared, %zu JIT "
			    "mismatch(es), %zu start-gate mismatch(es); match "
			    "limits: %zu JIT only, %zu interpreter only, %zu "
			    "both\n", lr.jc.compared, lr.jc.mismatch,
			    lr.jc.gate_mismatch, lr.jc.limit_jit,
			    lr.jc.limit_interp, lr.jc.limit_both);
	}
	if (prof != NULL && nmsg > 0) {
		/* the 20 costliest rules: selection, n is small */
		unsigned long long total = 0;

		for (size_t i = 0; i < rules_count(rs); i++)
			total += prof[i];
		printf("regex time: %.3f ms/message", (double)total / 1e6 /
		    (double)nmsg);
		{
			static const char *const types[] = { "header", "body",
			    "rawbody", "uri", "full", "mimeheader" };

			for (size_t t = 0; t < 6; t++) {
				unsigned long long sum = 0;

				for (size_t i = 0; i < rules_count(rs); i++)
					if (strcmp(rules_type(rs, i), types[t]) ==
					    0)
						sum += prof[i];
				printf("%s %s %.3f", t ? "," : ":", types[t],
				    (double)sum / 1e6 / (double)nmsg);
			}
		}
		printf("\ncostliest rules:\n");
		for (int k = 0; k < 20; k++) {
			size_t best = 0;

			for (size_t i = 1; i < rules_count(rs); i++)
				if (prof[i] > prof[best])
					best = i;
			if (prof[best] == 0)
				break;
			printf("  %8.1f us/msg %5.1f%%  %s\n", (double)prof[best] /
			    1e3 / (double)nmsg, 100.0 * (double)prof[best] /
			    (double)(total ? total : 1), rules_name(rs, best));
			prof[best] = 0;
		}
	}
	free(prof);
	rules_free(rs);
	cfg_free(cfg);
	return bad || lr.jc.mismatch || lr.jc.gate_mismatch ? 1 : 0;
}

static int
test(struct cli *c, int verbose)
{
	struct cfg *cfg;
	struct ruleset *rs;
	char err[1024];
	const char *dirs[SETUP_MAX_RULES_DIRS + 1];
	size_t nd = 0;
	int passed, failed, skipped;
	char want[PATH_MAX], have[PATH_MAX];
	int loaded = 0;

	if (c->nargs != 1) {
		usage();
		return EX_USAGE;
	}
	cfg = setup_config(&c->setup, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "hamlet: %s\n", err);
		return EX_CONFIG;
	}
	if (realpath(c->args[0], want) == NULL) {
		fprintf(stderr, "hamlet: %s: cannot open\n", c->args[0]);
		cfg_free(cfg);
		return EX_NOINPUT;
	}
	for (size_t i = 0; i < c->setup.nrules; i++)
		dirs[nd++] = c->setup.rules[i];
	if (nd == 0)
		dirs[nd++] = cfg->rules_dir;
	/* FILE is loaded too unless one of the directories holds it */
	for (size_t i = 0; i < nd; i++) {
		char *slash, dirbuf[PATH_MAX];

		snprintf(dirbuf, sizeof(dirbuf), "%s", want);
		slash = strrchr(dirbuf, '/');
		if (slash != NULL)
			*slash = '\0';
		if (realpath(dirs[i], have) != NULL && (strcmp(have, want) ==
		    0 || strcmp(have, dirbuf) == 0))
			loaded = 1;
	}
	if (!loaded)
		dirs[nd++] = c->args[0];
	if (rules_load(dirs, nd, cfg, &rs, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "hamlet: rules: %s\n", err);
		cfg_free(cfg);
		return EX_CONFIG;
	}
	/* only FILE's test lines */
	{
		size_t k = 0;

		for (size_t i = 0; i < rs->ntests; i++) {
			if (realpath(rs->tests[i].file, have) != NULL &&
			    strcmp(have, want) == 0) {
				struct rs_test t = rs->tests[k];

				rs->tests[k] = rs->tests[i];
				rs->tests[i] = t;
				k++;
			}
		}
		for (size_t i = k; i < rs->ntests; i++) {
			free(rs->tests[i].rule);
			free(rs->tests[i].text);
			free(rs->tests[i].file);
		}
		rs->ntests = k;
	}
	rules_run_tests(rs, stdout, verbose, &passed, &failed, &skipped);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	rules_free(rs);
	cfg_free(cfg);
	return failed ? 1 : 0;
}

/* every rule hit on each message, __sub-rules included (debugging) */
static int
hits(struct cli *c)
{
	struct cfg *cfg;
	struct ruleset *rs;
	char err[1024];
	struct hits_run hr;
	char *out = xmalloc(1 << 20);

	cfg = setup_config(&c->setup, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "hamlet: %s\n", err);
		free(out);
		return EX_CONFIG;
	}
	if (rules_load(c->setup.rules, c->setup.nrules, cfg, &rs, err,
	    sizeof(err)) != ST_OK) {
		fprintf(stderr, "hamlet: rules: %s\n", err);
		cfg_free(cfg);
		free(out);
		return EX_CONFIG;
	}
	hr.rs = rs;
	hr.out = out;
	each_msg(c, cfg, hits_msg, &hr);
	free(out);
	rules_free(rs);
	cfg_free(cfg);
	return 0;
}

int
cmd_rules(int argc, char **argv)
{
	struct cli c;
	int verify = 0, verify_jit = 0, profile = 0, rc;
	const struct cli_opt opts[] = {
		{ "--verify", NULL, &verify, NULL },
		{ "--verify-jit", NULL, &verify_jit, NULL },
		{ "--profile", NULL, &profile, NULL },
		{ NULL, NULL, NULL, NULL }
	};
	const char *sub;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage();
		return argc < 2 ? EX_USAGE : 0;
	}
	sub = argv[1];
	memset(&c, 0, sizeof(c));
	rc = cli_parse(&c, argc - 1, argv + 1, opts);
	if (rc < 0) {
		cli_free(&c);
		usage();
		return 0;
	}
	if (rc != 0) {
		cli_free(&c);
		return rc;
	}
	if (strcmp(sub, "lint") == 0)
		rc = lint(&c, c.verbose, verify, verify_jit, profile);
	else if (strcmp(sub, "test") == 0)
		rc = test(&c, c.verbose);
	else if (strcmp(sub, "hits") == 0)
		rc = hits(&c);
	else {
		fprintf(stderr, "hamlet: rules: unknown subcommand '%s'\n",
		    sub);
		usage();
		rc = EX_USAGE;
	}
	cli_free(&c);
	return rc;
}
