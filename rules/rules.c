/*
 * rules.c - the rules module's entry points: attach a compiled ruleset
 * to an engine (symbols, checks, rule-file settings), lint output,
 * regression tests and prefilter statistics.
 *
 * Ownership: the engine owns the ruleset once attached (freed through
 * the check's ctx_free when the engine dies). rules_load() hands the
 * caller a ruleset to free with rules_free().
 *
 * Thread safety: after attach the ruleset is read-only; per-scan state
 * lives in the scan's pool (rmatch.c). The prefilter counters are C11
 * atomics.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/cfg.h"
#include "engine/log.h"
#include "engine/pool.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/symbols.h"
#include "engine/xalloc.h"
#include "rules/ac.h"
#include "rules/metaexpr.h"
#include "rules/rmatch.h"
#include "rules/rules.h"
#include "rules/ruleset.h"

struct rules_ctx {
	struct ruleset	*rs;
	atomic_ulong	 run;
	atomic_ulong	 skipped;
	atomic_ulong	 limited;
};

static void
ctx_free(void *p)
{
	struct rules_ctx *c = p;

	if (c == NULL)
		return;
	ruleset_free(c->rs);
	free(c);
}

static void
check_content(struct scan *s, void *arg)
{
	struct rules_ctx *c = arg;
	struct rscan *r;

	if (s->msg == NULL)
		return;
	r = rmatch_new(s->pool, c->rs, s->msg, s, s->res.scoreset);
	rmatch_content(r);
	/* the meta stage runs lazy rules over the same texts */
	s->slots[SCAN_SLOT_RULES] = r;
	atomic_fetch_add(&c->run, r->re_run);
	atomic_fetch_add(&c->skipped, r->re_skipped);
	if (r->re_limit) {
		atomic_fetch_add(&c->limited, r->re_limit);
		log_debug("rules: %zu regex(es) stopped by the match limit",
		    r->re_limit);
	}
}

static void
check_meta(struct scan *s, void *arg)
{
	struct rules_ctx *c = arg;
	struct rscan *r;
	size_t run, skipped, limited;

	if (s->msg == NULL)
		return;
	r = s->slots[SCAN_SLOT_RULES];
	if (r == NULL || r->rs != c->rs)
		r = rmatch_new(s->pool, c->rs, s->msg, s, s->res.scoreset);
	run = r->re_run;
	skipped = r->re_skipped;
	limited = r->re_limit;
	rmatch_meta(r);
	/* lazy rules run here */
	atomic_fetch_add(&c->run, r->re_run - run);
	atomic_fetch_add(&c->skipped, r->re_skipped - skipped);
	atomic_fetch_add(&c->limited, r->re_limit - limited);
}

static enum status
load_all(const char *const *dirs, size_t ndirs, const char *prefs,
    int allow_rules, const struct cfg *c, struct ruleset **out, char *err,
    size_t errlen)
{
	struct ruleset *rs = ruleset_new();
	const char *def[1];

	*out = NULL;
	if (ndirs == 0) {
		struct stat sb;

		def[0] = c && c->rules_dir ? c->rules_dir : HAMLET_RULES_DIR;
		/* no installed default set (a build tree): run without rules */
		if (stat(def[0], &sb) != 0) {
			log_debug("rules: %s: not found; no rules loaded",
			    def[0]);
			ruleset_compile(rs);
			*out = rs;
			return ST_OK;
		}
		dirs = def;
		ndirs = 1;
	}
	for (size_t i = 0; i < ndirs; i++) {
		enum status st = ruleset_load_path(rs, dirs[i], err, errlen);

		if (st != ST_OK) {
			ruleset_free(rs);
			return st;
		}
	}
	if (prefs != NULL) {
		size_t at = ruleset_load_user(rs, prefs, allow_rules);
		const char *w = buf_str(&rs->log) + at;

		/* stderr: procmail writes it to the user's log */
		while (*w != '\0') {
			size_t n = strcspn(w, "\n");

			log_warnx("user_prefs: %.*s", (int)n, w);
			w += n + (w[n] == '\n');
		}
	}
	if (c != NULL) {
		rs->match_limit = c->pcre_match_limit;
		rs->depth_limit = c->pcre_depth_limit;
		rs->no_jit = c->pcre_jit == PCRE_JIT_NO;
	}
	ruleset_compile(rs);
	*out = rs;
	return ST_OK;
}

enum status
rules_load(const char *const *dirs, size_t ndirs, const struct cfg *c,
    struct ruleset **out, char *err, size_t errlen)
{
	return load_all(dirs, ndirs, NULL, 0, c, out, err, errlen);
}

void
rules_free(struct ruleset *rs)
{
	ruleset_free(rs);
}

static const char *
area_of(const struct rule *r)
{
	switch (r->type) {
	case RT_BODY: return "BODY: ";
	case RT_RAWBODY: return "RAW: ";
	case RT_URI: return "URI: ";
	case RT_FULL: return "FULL: ";
	default: return "";
	}
}

static unsigned
symflags(unsigned tf)
{
	unsigned f = 0;

	if (tf & TF_NOAUTOLEARN) f |= SYM_NOAUTOLEARN;
	if (tf & TF_AUTOLEARN_FORCE) f |= SYM_AUTOLEARN_FORCE;
	if (tf & TF_NICE) f |= SYM_NICE;
	if (tf & TF_NET) f |= SYM_NET;
	if (tf & TF_LEARN) f |= SYM_LEARN;
	if (tf & TF_USERCONF) f |= SYM_USERCONF;
	if (tf & TF_MULTIPLE) f |= SYM_MULTIPLE;
	if (tf & TF_NOLOG) f |= SYM_NOLOG;
	return f;
}

/*
 * What a scan in score set `set` does with each header and text rule,
 * decided once here (rmatch_content(), run_texts()): the scan then
 * touches only the rules it runs.
 */
static void
eager_lists(struct ruleset *rs, int set)
{
	static const enum rule_type ht[2] = { RT_HEADER, RT_MIMEHEADER };

	free(rs->hdr_eager[set]);
	rs->hdr_eager[set] = xcalloc(rs->nby_type[RT_HEADER] +
	    rs->nby_type[RT_MIMEHEADER] + 1, sizeof(struct rule *));
	rs->nhdr_eager[set] = 0;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < rs->nby_type[ht[k]]; i++) {
			struct rule *r = rs->by_type[ht[k]][i];

			if (!rs->off[set][r->idx] && !rs->lazy[r->idx])
				rs->hdr_eager[set][rs->nhdr_eager[set]++] = r;
		}
	for (int t = 0; t < TXT_NTEXTS; t++) {
		size_t na = rs->nalways[t], n = na + rs->nfiltered[t];

		free(rs->text_init[set][t]);
		rs->text_init[set][t] = xcalloc(n + 1, 1);
		for (size_t k = 0; k < n; k++) {
			const struct rule *r = k < na ? rs->always[t][k] :
			    rs->filtered[t][k - na];

			if (rs->off[set][r->idx])
				rs->text_init[set][t][k] = 1;
			else if (rs->lazy[r->idx])
				rs->text_init[set][t][k] = k < na ? 1 : 2;
			if (r->negate)
				rs->text_init[set][t][k] |= TEXT_NEGATE;
		}
	}
}

struct boundctx {
	const struct ruleset	*rs;
	const struct symreg	*reg;
};

/*
 * The largest count a rule's hit can have in a scan: result_add_id()
 * keeps a symbol without tflags multiple at 1, a multiple one at its
 * maxhits; metas and other modules' symbols have no bound here.
 */
static double
rule_max(int var, void *arg)
{
	const struct boundctx *c = arg;
	const struct rule *r = c->rs->rules[var];
	const struct symdef *d;

	if (r->type == RT_META || r->line < 0 || r->symid < 0)
		return -1;
	d = symreg_at(c->reg, (size_t)r->symid);
	if (d == NULL)
		return -1;
	if (d->flags & SYM_MULTIPLE)
		return d->maxhits > 0 ? d->maxhits : -1;
	return 1;
}

/* define symbols for rules and every scored/described name */
static void
define_symbols(struct ruleset *rs, struct symreg *reg)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i];
		struct rule_meta *m = ruleset_meta(rs, r->name);
		struct symdef *d;
		double def = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;

		if (r->line < 0 && (m == NULL || !m->has_score)) {
			/* referenced by a meta only: another module's symbol */
			d = symreg_add(reg, r->name);
			r->symid = d->id;
			continue;
		}
		if (r->tflags & TF_NICE)
			def = -def;
		d = symreg_define(reg, r->name, def, NULL, symflags(r->tflags));
		r->symid = d->id;
		free(d->area);
		d->area = xstrdup(area_of(r));
		if (r->maxhits > 0)
			d->maxhits = r->maxhits;
	}
	/* what a hit count can reach: 1, or maxhits (bounded sums) */
	{
		struct boundctx bc = { rs, reg };

		for (size_t i = 0; i < rs->nmetaorder; i++)
			metaexpr_set_bounds(rs->metaorder[i]->meta, rule_max,
			    &bc);
	}
	/* the meta stage reads rule hit counts from the result by symbol */
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i]->symid >= 0 &&
		    (size_t)rs->rules[i]->symid >= rs->nsym_rule)
			rs->nsym_rule = (size_t)rs->rules[i]->symid + 1;
	rs->sym_rule = xcalloc(rs->nsym_rule + 1, sizeof(int));
	for (size_t i = 0; i < rs->nsym_rule; i++)
		rs->sym_rule[i] = -1;
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i]->symid >= 0)
			rs->sym_rule[rs->rules[i]->symid] = (int)i;
	for (size_t i = 0; i < rs->nmetas; i++) {
		struct rule_meta *m = rs->metas[i];
		struct symdef *d;

		if (!m->has_score && m->desc == NULL && !m->has_tflags)
			continue;
		d = symreg_add(reg, m->name);
		if (m->has_score)
			symdef_set_scores(d, m->score, 4);
		if (m->desc != NULL)
			symdef_set_desc(d, m->desc);
		d->flags |= symflags(m->tflags);
	}
	/*
	 * A rule runs in a score set when it scores there, or when a meta
	 * that runs depends on it: a score of 0 disables a rule (as in
	 * SpamAssassin), and a __rule nothing scoring depends on cannot
	 * change a result, so it is not run either.
	 */
	{
		size_t *stack = xcalloc(rs->nrules + 1, sizeof(size_t));

		for (int set = 0; set < 4; set++) {
			unsigned char *need = xcalloc(rs->nrules + 1, 1);
			size_t sp = 0;

			for (size_t i = 0; i < rs->nrules; i++) {
				const struct rule *r = rs->rules[i];
				const struct symdef *d;

				if (r->symid < 0 ||
				    strncmp(r->name, "__", 2) == 0)
					continue;
				d = symreg_at(reg, (size_t)r->symid);
				if (d != NULL && d->score[set] != 0) {
					need[i] = 1;
					stack[sp++] = i;
				}
			}
			while (sp > 0) {
				const struct rule *r = rs->rules[stack[--sp]];
				const int *vars;
				size_t nv;

				if (r->type != RT_META || r->meta == NULL)
					continue;
				nv = metaexpr_vars(r->meta, &vars);
				for (size_t k = 0; k < nv; k++)
					if (!need[vars[k]]) {
						need[vars[k]] = 1;
						stack[sp++] = (size_t)vars[k];
					}
			}
			rs->off[set] = xcalloc(rs->nrules + 1, 1);
			for (size_t i = 0; i < rs->nrules; i++)
				rs->off[set][i] = !need[i];
			free(need);
			/* the metas a scan evaluates in order (rmatch_meta) */
			free(rs->meta_eager[set]);
			rs->meta_eager[set] = xcalloc(rs->nmetaorder + 1,
			    sizeof(struct rule *));
			free(rs->meta_eager_m[set]);
			rs->meta_eager_m[set] = xcalloc(rs->nmetaorder + 1,
			    sizeof(struct metaexpr *));
			free(rs->meta_eager_i[set]);
			rs->meta_eager_i[set] = xcalloc(rs->nmetaorder + 1,
			    sizeof(int));
			rs->nmeta_eager[set] = 0;
			for (size_t i = 0; i < rs->nmetaorder; i++) {
				struct rule *r = rs->metaorder[i];
				size_t n = rs->nmeta_eager[set];

				if (rs->off[set][r->idx] || rs->lazy[r->idx])
					continue;
				rs->meta_eager[set][n] = r;
				rs->meta_eager_m[set][n] = r->meta;
				rs->meta_eager_i[set][n] = r->idx;
				rs->nmeta_eager[set]++;
			}
			eager_lists(rs, set);
		}
		free(stack);
	}
}

enum status
rules_attach(struct engine *e, const char *const *dirs, size_t ndirs,
    char *err, size_t errlen)
{
	return rules_attach_user(e, dirs, ndirs, NULL, 0, err, errlen);
}

enum status
rules_attach_user(struct engine *e, const char *const *dirs, size_t ndirs,
    const char *prefs, int allow_rules, char *err, size_t errlen)
{
	struct ruleset *rs;
	struct rules_ctx *c;
	struct cfg *cfg = engine_cfg_mut(e);
	enum status st;
	char msg[256];

	st = load_all(dirs, ndirs, prefs, allow_rules, engine_cfg(e), &rs,
	    err, errlen);
	if (st != ST_OK)
		return st;
	if (rs->st.warnings > 0)
		log_debug("rules: %zu warning(s); see `hamlet rules lint`",
		    rs->st.warnings);
	define_symbols(rs, engine_symbols(e));
	if (cfg != NULL) {
		/*
		 * required_score of rule directories is a default (SA's
		 * 10_default_prefs.cf says 5): it yields to a value the
		 * site configuration set; a user_prefs value wins.
		 */
		struct cfg *def = cfg_new();
		int site_set = cfg->required_score != def->required_score;

		cfg_free(def);
		if (rs->has_required == 2 || (rs->has_required && !site_set)) {
			snprintf(msg, sizeof(msg), "%g", rs->required_score);
			if (cfg_set(cfg, "required_score", msg, err, errlen) !=
			    ST_OK)
				log_warnx("rules: required_score: %s", err);
		}
		if (rs->rewrite_subject != NULL &&
		    cfg_set(cfg, "rewrite_subject", rs->rewrite_subject, err,
		    errlen) != ST_OK)
			log_warnx("rules: rewrite_header: %s", err);
		/* user_prefs Bayes settings, checked when read */
		for (size_t i = 0; i < rs->nucfg; i++)
			if (cfg_set(cfg, rs->ucfg_key[i], rs->ucfg_val[i], err,
			    errlen) != ST_OK)
				log_warnx("user_prefs: %s", err);
		if (rs->has_add_hdr) {
			struct buf b = BUF_INIT;

			for (size_t i = 0; i < rs->nadd_hdr; i++) {
				buf_adds(&b, rs->add_hdr[i]);
				buf_addc(&b, '\n');
			}
			if (cfg_set(cfg, "add_headers", buf_str(&b), err,
			    errlen) != ST_OK)
				log_warnx("rules: add_header: %s", err);
			buf_free(&b);
		}
		if (rs->has_report_safe && rs->report_safe != 0)
			log_debug("rules: report_safe %d is not supported; "
			    "hamlet tags in place (report_safe 0)",
			    rs->report_safe);
	}
	c = xcalloc(1, sizeof(*c));
	c->rs = rs;
	engine_add_check(e, STAGE_CONTENT, "rules", check_content, c,
	    ctx_free);
	engine_add_check(e, STAGE_META, "rules_meta", check_meta, c, NULL);
	return ST_OK;
}

/* ---- lint ------------------------------------------------------------- */

static double
pct(size_t a, size_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

void
rules_lint_print(const struct ruleset *rs, FILE *fp, int verbose)
{
	const struct rs_stats *st = &rs->st;
	size_t ntests = 0;

	fprintf(fp, "files: %zu (%zu lines)\n", st->files, st->lines);
	fprintf(fp, "rules: %zu (header %zu, body %zu, rawbody %zu, uri %zu, "
	    "full %zu, mimeheader %zu, meta %zu)\n", st->rules_total,
	    st->by_type[RT_HEADER], st->by_type[RT_BODY],
	    st->by_type[RT_RAWBODY], st->by_type[RT_URI], st->by_type[RT_FULL],
	    st->by_type[RT_MIMEHEADER], st->by_type[RT_META]);
	fprintf(fp, "non-eval rules: %zu, compiled and active: %zu (%.1f%%), "
	    "failed: %zu\n", st->regex_total, st->regex_active,
	    pct(st->regex_active, st->regex_total), st->regex_failed);
	fprintf(fp, "meta rules: %zu, active: %zu, failed: %zu\n",
	    st->meta_total, st->meta_active, st->meta_failed);
	fprintf(fp, "eval rules: %zu, active: %zu, network (not run): %zu, "
	    "unknown eval: %zu\n", st->evals, st->evals_active, st->evals_net,
	    st->evals_unknown);
	fprintf(fp, "prefilter: %zu of %zu text regexes have required "
	    "literals (%.1f%%); literals body %zu, rawbody %zu, uri %zu, "
	    "full %zu\n", st->regex_prefiltered,
	    st->regex_prefiltered + rs->nalways[TXT_BODY] +
	    rs->nalways[TXT_RAWBODY] + rs->nalways[TXT_URI] +
	    rs->nalways[TXT_FULL],
	    pct(st->regex_prefiltered, st->regex_prefiltered +
	    rs->nalways[TXT_BODY] + rs->nalways[TXT_RAWBODY] +
	    rs->nalways[TXT_URI] + rs->nalways[TXT_FULL]),
	    st->literals[TXT_BODY], st->literals[TXT_RAWBODY],
	    st->literals[TXT_URI], st->literals[TXT_FULL]);
	fprintf(fp, "prefilter: %zu regexes with required byte classes, "
	    "%zu without literals run behind a faster probe, %zu searched "
	    "alternative by alternative, %zu behind a comb of one byte\n",
	    st->regex_classes, st->regex_probes, st->regex_split,
	    st->regex_combs);
	for (size_t i = 0; i < rs->ntests; i++)
		ntests++;
	fprintf(fp, "unknown directives: %zu, warnings: %zu, test lines: "
	    "%zu\n", st->unknown_directives, st->warnings, ntests);
	if (rs->nunknown_dirs > 0) {
		fprintf(fp, "unknown directive names:");
		for (size_t i = 0; i < rs->nunknown_dirs; i++)
			fprintf(fp, " %s(%zu)", rs->unknown_dirs[i],
			    rs->unknown_dir_count[i]);
		fprintf(fp, "\n");
	}
	if (rs->nunknown_evals > 0) {
		fprintf(fp, "unknown evals (rules disabled):");
		for (size_t i = 0; i < rs->nunknown_evals; i++)
			fprintf(fp, " %s(%zu)", rs->unknown_evals[i],
			    rs->unknown_eval_count[i]);
		fprintf(fp, "\n");
	}
	/* failed patterns are always listed: the admin must see them */
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = rs->rules[i];

		if (r->disabled != NULL && (strstr(r->disabled, "regex") ||
		    strstr(r->disabled, "meta")))
			fprintf(fp, "disabled: %s (%s:%d): %s\n", r->name,
			    r->file, r->line, r->disabled);
	}
	if (verbose && rs->log.len > 0)
		fputs(buf_str(&rs->log), fp);
}

/* ---- prefilter statistics and verification ---------------------------- */

void
rules_prefilter_sample(const struct ruleset *rs, const struct msg *m,
    size_t *run, size_t *skipped)
{
	struct pool *p = pool_new();
	struct rscan *r = rmatch_new(p, rs, m, NULL, 0);

	rmatch_content(r);
	*run += r->re_run;
	*skipped += r->re_skipped;
	pool_free(p);
}

void
rules_profile(const struct ruleset *rs, const struct msg *m,
    unsigned long long *ns)
{
	struct pool *p = pool_new();
	struct rscan *r = rmatch_new(p, rs, m, NULL, 0);

	r->prof = ns;
	rmatch_content(r);
	pool_free(p);
}

size_t
rules_count(const struct ruleset *rs)
{
	return rs->nrules;
}

const char *
rules_name(const struct ruleset *rs, size_t i)
{
	return i < rs->nrules ? rs->rules[i]->name : NULL;
}

const char *
rules_type(const struct ruleset *rs, size_t i)
{
	return i < rs->nrules ? ruleset_type_name(rs->rules[i]->type) : "?";
}

/* text rule k of type t: the filtered ones (literals), then the rest */
static const struct rule *
text_rule(const struct ruleset *rs, int t, size_t k)
{
	return k < rs->nfiltered[t] ? rs->filtered[t][k] :
	    rs->always[t][k - rs->nfiltered[t]];
}

size_t
rules_prefilter_verify(const struct ruleset *rs, const struct msg *m,
    FILE *fp)
{
	struct pool *p = pool_new();
	struct rscan *a = rmatch_new(p, rs, m, NULL, 0);
	size_t bad = 0;

	rmatch_content(a);
	for (int t = 0; t < TXT_NTEXTS; t++) {
		size_t nt;
		const struct rtext *tx = rmatch_texts(a, t, &nt);

		for (size_t k = 0; k < rs->nfiltered[t] + rs->nalways[t]; k++) {
			const struct rule *r = text_rule(rs, t, k);
			int any = 0;

			/* run the regex on every text, no prefilter */
			for (size_t i = 0; i < nt && !any; i++)
				any = rmatch_regex(a, r, tx[i].p, tx[i].len,
				    0) > 0;
			if (r->negate)
				any = !any;	/* !~ hits when nothing matched */
			if (any != (a->hits[r->idx] > 0)) {
				bad++;
				if (fp)
					fprintf(fp, "prefilter mismatch: %s "
					    "(%s)\n", r->name, r->pat);
			}
		}
	}
	/* header rules: their gates and split searches, against one search */
	for (size_t k = 0; k < rs->nby_type[RT_HEADER]; k++) {
		const struct rule *r = rs->by_type[RT_HEADER][k];
		const char *v;
		int any;

		if (r->exists || r->re == NULL)
			continue;
		v = rmatch_header(a, r->hdr, r->hmods, r->hkind);
		if (v == NULL)
			v = r->unset ? r->unset : "";
		any = rmatch_regex(a, r, v, strlen(v), 0) > 0;
		if (r->negate)
			any = !any;
		if (any != (a->hits[r->idx] > 0)) {
			bad++;
			if (fp)
				fprintf(fp, "prefilter mismatch: %s (%s)\n",
				    r->name, r->pat);
		}
	}
	pool_free(p);
	return bad;
}

void
rules_jit_verify(const struct ruleset *rs, const struct msg *m,
    const char *label, FILE *fp, struct rules_jitcheck *st)
{
	struct pool *p = pool_new();
	struct rscan *a = rmatch_new(p, rs, m, NULL, 0);
	struct rmatch_jitchk jc;

	memset(&jc, 0, sizeof(jc));
	jc.fp = fp;
	jc.label = label;
	jc.md = pcre2_match_data_create(4, NULL);
	a->jitchk = &jc;
	a->noskip = 1;	/* every header rule on every value */
	/* the real paths: headers, mimeheaders, prefilter, gates, probes */
	rmatch_content(a);
	/* and every text rule on every text of its type, prefilter or not */
	for (int t = 0; t < TXT_NTEXTS; t++) {
		size_t nt;
		const struct rtext *tx = rmatch_texts(a, t, &nt);

		for (size_t k = 0; k < rs->nfiltered[t] + rs->nalways[t]; k++) {
			const struct rule *r = text_rule(rs, t, k);
			int multiple = (r->tflags & TF_MULTIPLE) && !r->negate;

			for (size_t i = 0; i < nt; i++)
				(void)rmatch_regex(a, r, tx[i].p, tx[i].len,
				    multiple);
		}
	}
	pcre2_match_data_free(jc.md);
	st->compared += jc.compared;
	st->mismatch += jc.bad;
	st->gate_mismatch += jc.gate_bad;
	st->limit_jit += jc.limit_jit;
	st->limit_interp += jc.limit_interp;
	st->limit_both += jc.limit_both;
	pool_free(p);
}

void
rules_hits(const struct ruleset *rs, const struct msg *m, char *out,
    size_t outlen)
{
	struct pool *p = pool_new();
	struct rscan *r = rmatch_new(p, rs, m, NULL, 0);
	size_t used = 0;

	out[0] = '\0';
	rmatch_content(r);
	rmatch_meta(r);
	for (size_t i = 0; i < rs->nrules; i++) {
		int n;

		if (r->hits[i] <= 0)
			continue;
		n = snprintf(out + used, outlen - used, "%s%s",
		    used ? " " : "", rs->rules[i]->name);
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
	pool_free(p);
}

/* ---- regression tests ------------------------------------------------- */

void
rules_run_tests(const struct ruleset *rs, FILE *fp, int verbose,
    int *passed, int *failed, int *skipped)
{
	struct pool *p = pool_new();
	struct msg dummy;
	struct rscan *r;

	memset(&dummy, 0, sizeof(dummy));
	r = rmatch_new(p, rs, &dummy, NULL, 0);
	*passed = *failed = *skipped = 0;
	for (size_t i = 0; i < rs->ntests; i++) {
		const struct rs_test *t = &rs->tests[i];
		const struct rule *rule = ruleset_rule(rs, t->rule);
		int n, hit;

		if (rule == NULL || rule->re == NULL || rule->disabled) {
			(*skipped)++;
			if (verbose)
				fprintf(fp, "skip %s:%d: %s (not loaded)\n",
				    t->file, t->line, t->rule);
			continue;
		}
		n = rmatch_regex(r, rule, t->text, strlen(t->text), 0);
		hit = rule->negate ? n == 0 : n > 0;
		if (hit == t->ok) {
			(*passed)++;
			if (verbose)
				fprintf(fp, "ok %s %s %s\n", t->rule,
				    t->ok ? "ok" : "fail", t->text);
		} else {
			(*failed)++;
			fprintf(fp, "FAIL %s:%d: %s expected %s on: %s\n",
			    t->file, t->line, t->rule,
			    t->ok ? "a hit" : "no hit", t->text);
		}
	}
	pool_free(p);
}
