/*
 * wlbl.h - SpamAssassin's WLBLEval for the From address lists:
 * welcomelist_from / blocklist_from (and the old whitelist_from /
 * blacklist_from names), set in the site rules or a user's user_prefs.
 * The evals are registered in evalfn.c's table; the rules using them are
 * USER_IN_WELCOMELIST and USER_IN_BLOCKLIST (rules/default/60_welcomelist.cf,
 * or SpamAssassin's own 60_welcomelist.cf).
 */
#ifndef HAMLET_WLBL_H
#define HAMLET_WLBL_H

#include <stddef.h>

#include "rules/ruleset.h"

/* eval:check_from_in_welcomelist() (also ..._whitelist) */
int wlbl_from_in_welcomelist(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv);
/* eval:check_from_in_blocklist() (also ..._blacklist) */
int wlbl_from_in_blocklist(struct rscan *rs, const struct rule *r,
    int argc, char *const *argv);

/*
 * SpamAssassin's list pattern match: the whole address, case-insensitive
 * ASCII, '*' any run of characters, '?' one character. Returns 1 on a
 * match.
 */
int wlbl_match(const char *pattern, const char *addr);

#endif
