/*
 * metaexpr.h - SpamAssassin meta rule expressions: boolean and
 * arithmetic over rule hit counts, with Perl's operators and precedence:
 *   ( )  !  unary -  * /  + -  < <= > >=  == !=  &&  ||
 * Compiled once to a small postfix program; evaluation is pure (no state
 * in the program), so one program is shared by all threads.
 */
#ifndef HAMLET_METAEXPR_H
#define HAMLET_METAEXPR_H

#include <stddef.h>

#include "engine/status.h"

struct metaexpr;

/*
 * Map an identifier (not NUL-terminated) to a variable index >= 0, or
 * return -1 to reject it (compilation then fails).
 */
typedef int metaexpr_resolve(const char *name, size_t len, void *arg);

enum status metaexpr_compile(const char *src, metaexpr_resolve *fn,
    void *arg, struct metaexpr **out /* OUT */, char *err, size_t errlen);
/* Value with vals[index] for each variable; && and || return operands. */
double metaexpr_eval(const struct metaexpr *m, const double *vals);
/* The value of variable var, resolved by the caller (on demand). */
typedef double metaexpr_fetch(int var, void *arg);
/*
 * Value, asking fn for the variables it needs: && and || short-circuit,
 * operands in the order metaexpr_plan() chose. Same value as
 * metaexpr_eval() with every variable fetched, for any order.
 */
double metaexpr_eval_fn(const struct metaexpr *m, metaexpr_fetch *fn,
    void *arg);
/* The same, with vals[var] used as is where known[var] is set. */
double metaexpr_eval_known(const struct metaexpr *m, const double *vals,
    const unsigned char *known, metaexpr_fetch *fn, void *arg);
/*
 * The same; with bounded, a sum compared (>, >=) to a constant stops
 * fetching its terms once the comparison is decided, using each term's
 * max from metaexpr_set_bounds(): the caller guarantees every value of
 * a variable lies in [0, max].
 */
double metaexpr_eval_bounded(const struct metaexpr *m, const double *vals,
    const unsigned char *known, int bounded, metaexpr_fetch *fn, void *arg);
/* Estimated cost of fetching variable var (0: already known). */
typedef double metaexpr_cost(int var, void *arg);
/*
 * Order the operands of && (and of || where only its truth matters)
 * cheapest first; returns the cost of the whole expression (the sum of
 * its variables' costs). boolroot: only the truth of the value is used
 * (with it, || may return another true operand's value). Call before
 * sharing m between threads.
 */
double metaexpr_plan(struct metaexpr *m, int boolroot, metaexpr_cost *fn,
    void *arg);
/*
 * Record each variable's largest possible value (maxfn returns it, or
 * < 0 for none known; values are then whole numbers from 0). After
 * metaexpr_plan(), which rebuilds the layout and forgets them.
 */
void metaexpr_set_bounds(struct metaexpr *m, metaexpr_cost *maxfn,
    void *arg);
/*
 * Move ms[0..n) and their evaluation layouts into one block, in that
 * order (metas evaluated one after the other read memory in sequence);
 * ms[i] is set to each one's new address. The block outlives them:
 * free() it after metaexpr_free() of every one. Call last: a later
 * metaexpr_plan() gives m its own layout again.
 */
void *metaexpr_pack(struct metaexpr **ms, size_t n);
/*
 * Set numeric[var] for each variable whose value (not only its truth)
 * can reach the result; boolroot as for metaexpr_plan().
 */
void metaexpr_numeric_uses(const struct metaexpr *m, int boolroot,
    unsigned char *numeric);
/* The distinct variable indexes used, for dependency ordering. */
size_t metaexpr_vars(const struct metaexpr *m, const int **vars /* OUT */);
void metaexpr_free(struct metaexpr *m);

#endif
