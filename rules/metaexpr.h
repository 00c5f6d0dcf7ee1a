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
/* The distinct variable indexes used, for dependency ordering. */
size_t metaexpr_vars(const struct metaexpr *m, const int **vars /* OUT */);
void metaexpr_free(struct metaexpr *m);

#endif
