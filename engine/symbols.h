/*
 * symbols.h - the symbol registry: every named check (rule, Bayes band,
 * auth result, AV verdict) with its four SpamAssassin score sets,
 * description and flags.
 *
 * Built at start or reload by the modules that define symbols (rules
 * files, bayes, auth, av), then frozen: during scans it is read-only and
 * shared by all threads. Ids are dense (0..count-1) so a scan can keep
 * per-symbol state in a plain array.
 */
#ifndef HAMLET_SYMBOLS_H
#define HAMLET_SYMBOLS_H

#include <stddef.h>

enum sym_flags {
	SYM_NOAUTOLEARN	= 1 << 0,	/* tflags noautolearn */
	SYM_AUTOLEARN_FORCE = 1 << 1,	/* tflags autolearn_force */
	SYM_NICE	= 1 << 2,	/* tflags nice: negative score expected */
	SYM_NET		= 1 << 3,	/* network test */
	SYM_LEARN	= 1 << 4,	/* Bayes-derived (tflags learn) */
	SYM_USERCONF	= 1 << 5,
	SYM_SUB		= 1 << 6,	/* __NAME: never scored or reported */
	SYM_MULTIPLE	= 1 << 7,	/* may hit more than once */
	SYM_SCORE_SET	= 1 << 8,	/* a score line set it explicitly */
	SYM_NOLOG	= 1 << 9	/* detail not shown in reports */
};

struct symdef {
	char	*name;
	int	 id;
	double	 score[4];	/* SpamAssassin score sets 0..3 */
	char	*desc;		/* describe text or NULL */
	char	*area;		/* report prefix: "BODY: ", "URI: ", "" ... */
	unsigned flags;		/* enum sym_flags */
	int	 maxhits;	/* tflags maxhits=N, 0 = no cap */
};

struct symreg;

struct symreg *symreg_new(void);
void symreg_free(struct symreg *r);

/*
 * The symbol named name, created with score 0 in every set when absent.
 * Only valid before symreg_freeze().
 */
struct symdef *symreg_add(struct symreg *r, const char *name);

/*
 * Define a symbol's default: sets the score (all four sets), description
 * and flags unless a rules file already set them explicitly.
 */
struct symdef *symreg_define(struct symreg *r, const char *name,
    double score, const char *desc, unsigned flags);

/* Set all four score sets and mark the score as explicit. */
void symdef_set_scores(struct symdef *d, const double s[4], int nsets);
void symdef_set_desc(struct symdef *d, const char *desc);

/* Lookup; NULL when absent. */
const struct symdef *symreg_get(const struct symreg *r, const char *name);
size_t symreg_count(const struct symreg *r);
const struct symdef *symreg_at(const struct symreg *r, size_t id);
/* After this, the registry is read-only (adds abort). */
void symreg_freeze(struct symreg *r);

#endif
