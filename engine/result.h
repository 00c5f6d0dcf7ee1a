/*
 * result.h - what a scan found: the hits on symbols, the total score and
 * the verdict. Every check writes here through result_add() and nothing
 * else (rspamd's scan_result).
 *
 * A result lives in the scan's pool and dies with it.
 */
#ifndef HAMLET_RESULT_H
#define HAMLET_RESULT_H

#include <stddef.h>

#include "symbols.h"

struct scan;

struct hit {
	const struct symdef *sym;
	double		 score;		/* points this hit contributes */
	int		 count;		/* times hit (tflags multiple) */
	const char	*detail;	/* free text (signature name...), or NULL */
};

struct result {
	struct hit	*hits;		/* in hit order */
	size_t		 nhits;
	size_t		 cap;
	int		*by_id;		/* symbol id -> index in hits + 1, 0 = not hit */
	size_t		 nsyms;
	double		 score;		/* sum, rounded to 0.001 like SpamAssassin */
	double		 required;
	int		 is_spam;
	int		 scoreset;	/* 0..3 */
	const char	*autolearn;	/* "no", "ham", "spam", "disabled", "failed", "unavailable" */
	int		 autolearn_force;
	int		 action;	/* enum scan_action, set at SCORE */
};

/*
 * Record a hit on the symbol named name. The score comes from the
 * registry (current score set); SYM_SUB symbols score 0. A second hit on
 * a symbol only counts when it has SYM_MULTIPLE (then the score is added
 * again, up to maxhits). An unknown name is registered on the fly only
 * before the registry is frozen; during a scan it is logged and ignored.
 * detail may be NULL; it is copied.
 * Returns the hit, or NULL when ignored.
 */
const struct hit *result_add(struct scan *s, const char *name,
    const char *detail);
/* The same with a symbol id (fast path for rules). */
const struct hit *result_add_id(struct scan *s, int id, const char *detail);

/* The hit for a symbol, or NULL. */
const struct hit *result_get(const struct result *r, const char *name,
    const struct symreg *reg);
const struct hit *result_get_id(const struct result *r, int id);

/* Recompute r->score and r->is_spam from the hits. */
void result_finish(struct result *r);

#endif
