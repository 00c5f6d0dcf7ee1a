/*
 * scan.h - the engine (long-lived, shared, read-only) and the scan (one
 * message, one thread).
 *
 * An engine holds the config, the symbol registry and the checks each
 * module registered, per stage. Once engine_freeze() has run it is
 * immutable and shared by threads through engine_ref()/engine_unref(), so
 * a reload builds a new engine and swaps a pointer.
 *
 * A scan drives one message through the stages in order:
 *   PARSE -> AUTH -> CONTENT -> BAYES -> META -> SCORE -> LEARN
 * Each check reads what earlier stages wrote and writes only through
 * result_add(). A failing check does not fail the scan: it records a
 * symbol (BAYES_ERROR, AV_ERROR, ...) and the scan goes on.
 */
#ifndef HAMLET_SCAN_H
#define HAMLET_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "msg.h"
#include "pool.h"
#include "result.h"
#include "status.h"
#include "symbols.h"

enum stage {
	STAGE_PARSE, STAGE_AUTH, STAGE_CONTENT, STAGE_BAYES, STAGE_META,
	STAGE_SCORE, STAGE_LEARN, STAGE_COUNT
};

enum scan_action {
	ACTION_TAG,		/* deliver with X-Spam headers (ham or spam) */
	ACTION_QUARANTINE,
	ACTION_REJECT,
	ACTION_DISCARD
};

struct engine;
struct scan;

/* A check. ctx is what the module registered; it must be thread-safe. */
typedef void check_fn(struct scan *s, void *ctx);

/* Takes ownership of cfg. */
struct engine *engine_new(struct cfg *cfg);
/*
 * Register a check at a stage; checks run in registration order.
 * ctx_free (may be NULL) runs when the engine is destroyed.
 */
void engine_add_check(struct engine *e, enum stage st, const char *name,
    check_fn *fn, void *ctx, void (*ctx_free)(void *));
/* Run fn(ctx) when the engine is destroyed (for shared resources). */
void engine_on_free(struct engine *e, void (*fn)(void *), void *ctx);
struct symreg *engine_symbols(struct engine *e);
const struct cfg *engine_cfg(const struct engine *e);
/* The config, writable: only before engine_freeze() (rules files set
 * required_score, rewrite_header ...). Aborts after freeze. */
struct cfg *engine_cfg_mut(struct engine *e);
/* Choose the SpamAssassin score set (0..3); default from cfg. */
void engine_set_scoreset(struct engine *e, int set);
int engine_scoreset(const struct engine *e);
/* Ends setup: freezes the registry. Scans need a frozen engine. */
void engine_freeze(struct engine *e);
struct engine *engine_ref(struct engine *e);
void engine_unref(struct engine *e);

/* State a check keeps from one stage to a later one of the same scan. */
enum scan_slot {
	SCAN_SLOT_RULES,	/* the rules' struct rscan: CONTENT -> META */
	SCAN_NSLOTS = 8
};

struct scan {
	struct engine	*eng;
	const struct cfg *cfg;
	struct pool	*pool;
	struct msg	*msg;
	struct result	 res;
	uint64_t	 start_ns;	/* monotonic */
	uint64_t	 deadline_ns;	/* 0 = none */
	double		 bayes_prob;	/* -1 until BAYES ran and was usable */
	const char	*error;		/* first internal error, or NULL */
	int		 learn_class;	/* set at LEARN: 1 spam, 0 ham, -1 none */
	void		*slots[SCAN_NSLOTS];	/* per-check state, pool-owned */
};

/*
 * A new scan of raw (len bytes) which must outlive the scan. The
 * envelope is copied. Never fails.
 */
struct scan *scan_new(struct engine *e, const struct envelope *env,
    const char *raw, size_t len);
/*
 * Run every stage. Returns ST_OK, or an error status when the scan could
 * not produce a trustworthy result (s->error says why); the result so far
 * is still valid for tagging.
 */
enum status scan_run(struct scan *s);
/* Record an internal error (first one wins); the scan continues. */
void scan_error(struct scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Milliseconds since scan_new(). */
double scan_elapsed_ms(const struct scan *s);
/* 1 once the time budget (cfg scan_timeout) is spent. */
int scan_expired(const struct scan *s);
void scan_free(struct scan *s);

/* Monotonic clock in ns. */
uint64_t clock_ns(void);

/* The GTUBE string (body check registered by engine_new). */
extern const char gtube_string[];

#endif
