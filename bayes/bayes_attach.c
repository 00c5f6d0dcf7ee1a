/*
 * bayes_attach.c - Bayes as engine checks: symbol definitions, the
 * BAYES stage check (probability -> SpamAssassin band symbol) and the
 * LEARN stage check (auto-learn with SpamAssassin's AutoLearnThreshold
 * rules).
 *
 * Ownership: struct bayes_ctx is created by bayes_attach() and freed
 * with the engine (engine_on_free); it owns the store once opened.
 *
 * Threads: checks run concurrently in milter threads. The store is
 * opened lazily under ctx->mu and published with an atomic store; after
 * that only thread-safe store calls are made.
 *
 * Errors: never fail a scan. A store error adds BAYES_ERROR with the
 * message as detail; auto-learn errors set autolearn=failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bayes/bayes.h"
#include "engine/log.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/symbols.h"
#include "engine/xalloc.h"

#define REOPEN_SECONDS	60	/* look for a missing store this often */

struct bayes_ctx {
	char		*path;
	unsigned	 flags;		/* store open flags */
	const struct cfg *cfg;
	pthread_mutex_t	 mu;
	struct bayes	*b;		/* NULL until opened; atomic */
	time_t		 next_try;	/* under mu */
	char		 err[256];	/* last open error, under mu */
	int		 has_err;	/* atomic */
};

/* SpamAssassin 23_bayes.cf bands and 50_scores.cf scores (sets 2, 3) */
static const struct band {
	const char	*name;
	double		 lo, hi;	/* hit when lo < p <= hi (lo 0: p >= 0) */
	double		 s2, s3;
	const char	*desc;
	unsigned	 flags;
} bands[] = {
	{ "BAYES_00", 0.00, 0.01, -1.5, -1.9,
	  "Bayes spam probability is 0 to 1%", SYM_LEARN | SYM_NICE },
	{ "BAYES_05", 0.01, 0.05, -0.3, -0.5,
	  "Bayes spam probability is 1 to 5%", SYM_LEARN | SYM_NICE },
	{ "BAYES_20", 0.05, 0.20, -0.001, -0.001,
	  "Bayes spam probability is 5 to 20%", SYM_LEARN | SYM_NICE },
	{ "BAYES_40", 0.20, 0.40, -0.001, -0.001,
	  "Bayes spam probability is 20 to 40%", SYM_LEARN | SYM_NICE },
	{ "BAYES_50", 0.40, 0.60, 2.0, 0.8,
	  "Bayes spam probability is 40 to 60%", SYM_LEARN },
	{ "BAYES_60", 0.60, 0.80, 2.5, 1.5,
	  "Bayes spam probability is 60 to 80%", SYM_LEARN },
	{ "BAYES_80", 0.80, 0.95, 2.7, 2.0,
	  "Bayes spam probability is 80 to 95%", SYM_LEARN },
	{ "BAYES_95", 0.95, 0.99, 3.2, 3.0,
	  "Bayes spam probability is 95 to 99%", SYM_LEARN },
	{ "BAYES_99", 0.99, 1.00, 3.8, 3.5,
	  "Bayes spam probability is 99 to 100%", SYM_LEARN },
	{ "BAYES_999", 0.999, 1.00, 0.2, 0.2,
	  "Bayes spam probability is 99.9 to 100%", SYM_LEARN },
};
#define NBANDS	(sizeof(bands) / sizeof(bands[0]))

static void
ctx_free(void *arg)
{
	struct bayes_ctx *c = arg;

	if (c == NULL)
		return;
	bayes_close(c->b);
	pthread_mutex_destroy(&c->mu);
	free(c->path);
	free(c);
}

/*
 * The store, opening it on first use. NULL when missing (silently) or
 * broken (*err set to a message).
 */
static struct bayes *
ctx_bayes(struct bayes_ctx *c, const char **err)
{
	struct bayes *b;
	char msg[256];
	enum status rc;
	time_t now;

	*err = NULL;
	b = __atomic_load_n(&c->b, __ATOMIC_ACQUIRE);
	if (b != NULL)
		return b;
	pthread_mutex_lock(&c->mu);
	b = c->b;
	now = time(NULL);
	if (b == NULL && now >= c->next_try) {
		rc = bayes_open(c->path, c->cfg, c->flags, &b, msg,
		    sizeof(msg));
		if (rc == ST_OK) {
			__atomic_store_n(&c->b, b, __ATOMIC_RELEASE);
			__atomic_store_n(&c->has_err, 0, __ATOMIC_RELEASE);
		} else {
			b = NULL;
			c->next_try = now + REOPEN_SECONDS;
			if (rc == ST_NOTFOUND) {
				c->has_err = 0;
			} else {
				if (!c->has_err || strcmp(c->err, msg) != 0)
					log_warnx("bayes: %s", msg);
				snprintf(c->err, sizeof(c->err), "%s", msg);
				c->has_err = 1;
			}
		}
	}
	if (b == NULL && c->has_err)
		*err = c->err;	/* stable: only rewritten on a later retry */
	pthread_mutex_unlock(&c->mu);
	return b;
}

static void
check_bayes(struct scan *s, void *arg)
{
	struct bayes_ctx *c = arg;
	struct bayes_score sc;
	struct bayes *b;
	const char *err;
	char detail[64];
	enum status rc;
	size_t i;

	if (!s->cfg->use_bayes || s->msg == NULL)
		return;
	b = ctx_bayes(c, &err);
	if (b == NULL) {
		if (err != NULL)
			result_add(s, "BAYES_ERROR", err);
		return;
	}
	rc = bayes_classify(b, s->msg, &sc);
	if (rc != ST_OK) {
		result_add(s, "BAYES_ERROR", store_errmsg(bayes_store(b))[0] ?
		    store_errmsg(bayes_store(b)) : status_str(rc));
		return;
	}
	if (!sc.usable)
		return;		/* too little learned: no contribution */
	s->bayes_prob = sc.prob;
	snprintf(detail, sizeof(detail), "score: %.4f", sc.prob);
	for (i = 0; i < NBANDS; i++) {
		if ((bands[i].lo == 0 || sc.prob > bands[i].lo) &&
		    sc.prob <= bands[i].hi)
			result_add(s, bands[i].name, detail);
	}
}

/* SpamAssassin's test types, from the report area of a symbol */
static int
area_is(const struct symdef *d, const char *what)
{
	return d->area != NULL && strstr(d->area, what) != NULL;
}

/*
 * SpamAssassin's AutoLearnThreshold: the score without Bayes (score set
 * with the Bayes bit cleared), leaving out noautolearn, userconf and
 * Bayes rules; spam needs 3 header and 3 body points unless a rule is
 * autolearn_force, and Bayes must not disagree by more than a point.
 * Returns STORE_SPAM, STORE_HAM or -1 (do not learn).
 */
static int
autolearn_decide(struct scan *s)
{
	const struct result *r = &s->res;
	double pts = 0, head = 0, body = 0, learned = 0, sc;
	int set = r->scoreset & ~2, force = 0, n;
	size_t i;

	if (set < 0 || set > 3)
		set = 0;
	for (i = 0; i < r->nhits; i++) {
		const struct hit *h = &r->hits[i];
		const struct symdef *d = h->sym;

		if (d == NULL || (d->flags & (SYM_NOAUTOLEARN | SYM_USERCONF |
		    SYM_SUB)))
			continue;
		n = h->count > 0 ? h->count : 1;
		if (d->flags & SYM_LEARN) {
			learned += h->score;
			continue;
		}
		if (d->flags & SYM_AUTOLEARN_FORCE)
			force = 1;
		sc = d->score[set] * n;
		if (sc == 0)
			continue;
		pts += sc;
		if (area_is(d, "BODY") || area_is(d, "URI") ||
		    area_is(d, "RAW") || area_is(d, "FULL"))
			body += sc;
		else if (area_is(d, "HEADER") || area_is(d, "RBL"))
			head += sc;
	}
	if (pts < s->cfg->bayes_auto_learn_ham) {
		if (learned > 1.0 || r->is_spam)
			return -1;
		return STORE_HAM;
	}
	if (pts >= s->cfg->bayes_auto_learn_spam) {
		if (!force && (body < 3 || head < 3))
			return -1;
		if (learned < -1.0 || !r->is_spam)
			return -1;
		return STORE_SPAM;
	}
	return -1;
}

static void
check_autolearn(struct scan *s, void *arg)
{
	struct bayes_ctx *c = arg;
	enum bayes_learn_result lr;
	struct bayes_batch *bb;
	struct store_txn *t;
	uint32_t nspam, nham;
	struct bayes *b;
	const char *err;
	enum status rc;
	int cls;

	if (!s->cfg->bayes_auto_learn || !s->cfg->use_bayes ||
	    s->msg == NULL) {
		s->res.autolearn = "disabled";
		return;
	}
	cls = autolearn_decide(s);
	if (cls < 0) {
		s->res.autolearn = "no";
		return;
	}
	if ((b = ctx_bayes(c, &err)) == NULL) {
		s->res.autolearn = "failed";
		return;
	}
	/* keep the balance: no class may run away from the other */
	if (store_begin(bayes_store(b), 0, &t) == ST_OK) {
		rc = store_totals(t, &nspam, &nham);
		store_abort(t);
		if (rc == ST_OK &&
		    ((cls == STORE_SPAM && nspam > 4 * (nham + 50)) ||
		    (cls == STORE_HAM && nham > 4 * (nspam + 50)))) {
			s->res.autolearn = "no";
			return;
		}
	}
	rc = bayes_batch_begin(b, &bb);
	if (rc == ST_OK)
		rc = bayes_batch_learn(bb, s->msg, cls, &lr);
	if (rc == ST_OK) {
		rc = bayes_batch_commit(bb);
	} else {
		bayes_batch_abort(bb);
	}
	if (rc != ST_OK) {
		log_warnx("bayes: auto-learn: %s", store_errmsg(bayes_store(b)));
		s->res.autolearn = "failed";
		return;
	}
	if (lr == LEARN_ALREADY) {
		s->res.autolearn = "no";
		return;
	}
	s->res.autolearn = cls == STORE_SPAM ? "spam" : "ham";
	s->learn_class = cls;
}

enum status
bayes_attach(struct engine *e, const char *db_path, char *err, size_t errlen)
{
	const struct cfg *cfg = engine_cfg(e);
	struct symreg *r = engine_symbols(e);
	struct bayes_ctx *c;
	struct symdef *d;
	size_t i;

	(void)err;
	(void)errlen;
	for (i = 0; i < NBANDS; i++) {
		d = symreg_define(r, bands[i].name, bands[i].s3, bands[i].desc,
		    bands[i].flags);
		if (!(d->flags & SYM_SCORE_SET)) {
			/* no Bayes in sets 0 and 1, as in SpamAssassin */
			d->score[0] = 0;
			d->score[1] = 0;
			d->score[2] = bands[i].s2;
			d->score[3] = bands[i].s3;
		}
		if (d->area == NULL || d->area[0] == '\0') {
			free(d->area);
			d->area = xstrdup("BODY: ");
		}
	}
	symreg_define(r, "BAYES_ERROR", 0, "Bayes store could not be read",
	    0);

	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	c->cfg = cfg;
	c->path = bayes_default_path(cfg, db_path);
	/* only auto-learn writes; readers never take the writer lock */
	c->flags = cfg->bayes_auto_learn ? STORE_CREATE : STORE_RDONLY;
	engine_on_free(e, ctx_free, c);
	engine_add_check(e, STAGE_BAYES, "bayes", check_bayes, c, NULL);
	engine_add_check(e, STAGE_LEARN, "bayes_autolearn", check_autolearn,
	    c, NULL);
	return ST_OK;
}
