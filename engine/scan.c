/*
 * scan.c - the engine (shared, refcounted, read-only once frozen) and the
 * per-message scan pipeline.
 *
 * Ownership: the engine owns its cfg, symbol registry and the contexts
 * modules registered (freed with their ctx_free when the last reference
 * goes). A scan owns a pool holding the parsed message, the result and
 * everything checks allocate; scan_free() releases it at once. The raw
 * message bytes belong to the caller and must outlive the scan.
 *
 * Errors: a check never fails the scan; internal problems are recorded
 * with scan_error() and reported by scan_run()'s status so the front end
 * applies its failure policy in one place.
 */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "scan.h"
#include "xalloc.h"

const char gtube_string[] =
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

struct check {
	const char	*name;
	check_fn	*fn;
	void		*ctx;
	void		(*ctx_free)(void *);
};

struct on_free {
	void	(*fn)(void *);
	void	*ctx;
};

struct engine {
	atomic_int	 refs;
	struct cfg	*cfg;
	struct symreg	*syms;
	struct check	*checks[STAGE_COUNT];
	size_t		 nchecks[STAGE_COUNT];
	struct on_free	*frees;
	size_t		 nfrees;
	int		 scoreset;
	int		 frozen;
	struct msg_limits limits;
};

uint64_t
clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* STAGE_CONTENT: the GTUBE test string in the body text */
static void
check_gtube(struct scan *s, void *ctx)
{
	const struct msg *m = s->msg;
	size_t n = sizeof(gtube_string) - 1;

	if (memmem(m->visible, m->visible_len, gtube_string, n) != NULL)
		result_add(s, "GTUBE", NULL);
}

struct engine *
engine_new(struct cfg *cfg)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct symdef *d;

	atomic_init(&e->refs, 1);
	e->cfg = cfg;
	e->syms = symreg_new();
	e->scoreset = (cfg->use_bayes ? 2 : 0) + (cfg->use_network ? 1 : 0);
	msg_global_init();
	msg_limits_from_cfg(&e->limits, cfg);

	d = symreg_define(e->syms, "GTUBE", 1000.0,
	    "Generic Test for Unsolicited Bulk Email", SYM_NOAUTOLEARN);
	free(d->area);
	d->area = xstrdup("BODY: ");
	engine_add_check(e, STAGE_CONTENT, "gtube", check_gtube, NULL, NULL);
	return e;
}

void
engine_add_check(struct engine *e, enum stage st, const char *name,
    check_fn *fn, void *ctx, void (*ctx_free)(void *))
{
	struct check *c;

	if (e->frozen) {
		fprintf(stderr, "hamlet: BUG: check %s added after freeze\n", name);
		abort();
	}
	e->checks[st] = xreallocarray(e->checks[st], e->nchecks[st] + 1,
	    sizeof(struct check));
	c = &e->checks[st][e->nchecks[st]++];
	c->name = name;
	c->fn = fn;
	c->ctx = ctx;
	c->ctx_free = ctx_free;
}

void
engine_on_free(struct engine *e, void (*fn)(void *), void *ctx)
{
	e->frees = xreallocarray(e->frees, e->nfrees + 1, sizeof(*e->frees));
	e->frees[e->nfrees].fn = fn;
	e->frees[e->nfrees].ctx = ctx;
	e->nfrees++;
}

struct symreg *
engine_symbols(struct engine *e)
{
	return e->syms;
}

const struct cfg *
engine_cfg(const struct engine *e)
{
	return e->cfg;
}

struct cfg *
engine_cfg_mut(struct engine *e)
{
	if (e->frozen) {
		fprintf(stderr, "hamlet: BUG: config changed after freeze\n");
		abort();
	}
	return e->cfg;
}

void
engine_set_scoreset(struct engine *e, int set)
{
	if (set >= 0 && set <= 3)
		e->scoreset = set;
}

int
engine_scoreset(const struct engine *e)
{
	return e->scoreset;
}

void
engine_freeze(struct engine *e)
{
	symreg_freeze(e->syms);
	msg_limits_from_cfg(&e->limits, e->cfg);
	e->frozen = 1;
}

struct engine *
engine_ref(struct engine *e)
{
	atomic_fetch_add(&e->refs, 1);
	return e;
}

void
engine_unref(struct engine *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	for (int st = 0; st < STAGE_COUNT; st++) {
		for (size_t i = 0; i < e->nchecks[st]; i++)
			if (e->checks[st][i].ctx_free)
				e->checks[st][i].ctx_free(e->checks[st][i].ctx);
		free(e->checks[st]);
	}
	for (size_t i = e->nfrees; i-- > 0;)
		e->frees[i].fn(e->frees[i].ctx);
	free(e->frees);
	symreg_free(e->syms);
	cfg_free(e->cfg);
	free(e);
}

struct scan *
scan_new(struct engine *e, const struct envelope *env, const char *raw,
    size_t len)
{
	struct pool *p = pool_new();
	struct scan *s = pool_alloc(p, sizeof(*s));

	if (!e->frozen) {
		fprintf(stderr, "hamlet: BUG: scan on an engine not frozen\n");
		abort();
	}
	s->pool = p;
	s->eng = engine_ref(e);
	s->cfg = e->cfg;
	s->start_ns = clock_ns();
	s->deadline_ns = s->start_ns + (uint64_t)e->cfg->scan_timeout_ms * 1000000ULL;
	s->bayes_prob = -1;
	s->learn_class = -1;
	s->res.nsyms = symreg_count(e->syms);
	s->res.by_id = pool_allocarray(p, s->res.nsyms + 1, sizeof(int));
	s->res.required = e->cfg->required_score;
	s->res.scoreset = e->scoreset;
	s->res.autolearn = "no";
	s->res.action = ACTION_TAG;
	/* parse now so front ends can look at headers before scan_run */
	if (msg_parse(p, raw, len, env, &e->limits, &s->msg) != ST_OK ||
	    s->msg == NULL) {
		scan_error(s, "message could not be parsed");
		/* an empty model keeps every later stage safe */
		s->msg = pool_alloc(p, sizeof(struct msg));
		s->msg->raw = raw;
		s->msg->raw_len = len;
		s->msg->subject = s->msg->visible = s->msg->invisible = "";
	}
	return s;
}

void
scan_error(struct scan *s, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("scan error: %s", msg);
	if (s->error == NULL)
		s->error = pool_strdup(s->pool, msg);
}

double
scan_elapsed_ms(const struct scan *s)
{
	return (double)(clock_ns() - s->start_ns) / 1e6;
}

int
scan_expired(const struct scan *s)
{
	return s->deadline_ns && clock_ns() > s->deadline_ns;
}

static void
decide_action(struct scan *s)
{
	const struct cfg *c = s->cfg;
	double sc = s->res.score;

	s->res.action = ACTION_TAG;
	if (!isnan(c->quarantine_score) && sc >= c->quarantine_score)
		s->res.action = ACTION_QUARANTINE;
	if (!isnan(c->reject_score) && sc >= c->reject_score)
		s->res.action = ACTION_REJECT;
	if (!isnan(c->discard_score) && sc >= c->discard_score)
		s->res.action = ACTION_DISCARD;
}

enum status
scan_run(struct scan *s)
{
	struct engine *e = s->eng;
	enum status st = ST_OK;

	for (int stage = 0; stage < STAGE_COUNT; stage++) {
		if (stage == STAGE_SCORE)
			result_finish(&s->res);
		if (scan_expired(s)) {
			scan_error(s, "scan time budget of %ld ms exceeded",
			    s->cfg->scan_timeout_ms);
			st = ST_ERR_TIMEOUT;
			break;
		}
		for (size_t i = 0; i < e->nchecks[stage]; i++)
			e->checks[stage][i].fn(s, e->checks[stage][i].ctx);
		if (stage == STAGE_SCORE) {
			result_finish(&s->res);
			decide_action(s);
		}
	}
	if (st != ST_OK) {
		result_finish(&s->res);
		decide_action(s);
	} else if (s->error)
		st = ST_ERR_INTERNAL;
	return st;
}

void
scan_free(struct scan *s)
{
	struct engine *e;

	if (s == NULL)
		return;
	e = s->eng;
	pool_free(s->pool);
	engine_unref(e);
}
