/*
 * wlbl.c - welcomelist_from / blocklist_from over the sender addresses,
 * as SpamAssassin's WLBLEval check_from_in_welcomelist/_blocklist: the
 * addresses are those of Resent-From when the message has one, else
 * From, Sender and the envelope sender; a hit is any address matching
 * any pattern of the list (patterns lowercased by the parser).
 *
 * unwelcomelist_from / unblocklist_from (ruleset.c) drop entries written
 * the same way. Difference from SpamAssassin: no welcomelist_from_rcvd
 * here (it needs the trusted relays; the auth module covers
 * authenticated senders).
 *
 * SECURITY: addresses come from the message: each is length-bounded
 * (WLBL_MAX_ADDR) and the glob match is iterative with one backtrack
 * point, O(pattern * address) at worst, no recursion.
 */
#include <ctype.h>
#include <string.h>

#include "engine/buf.h"
#include "rules/rmatch.h"
#include "rules/ruleset.h"
#include "rules/wlbl.h"

#define WLBL_MAX_ADDR	320	/* RFC 5321 path limit, with room */

int
wlbl_match(const char *pattern, const char *addr)
{
	const char *p = pattern, *a = addr, *star = NULL, *mark = NULL;

	while (*a != '\0') {
		int pc = tolower((unsigned char)*p);
		int ac = tolower((unsigned char)*a);

		if (*p != '\0' && *p != '*' && (*p == '?' || pc == ac)) {
			p++;
			a++;
		} else if (*p == '*') {
			star = p++;
			mark = a;
		} else if (star != NULL) {
			p = star + 1;
			a = ++mark;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* does one line-separated list of addresses (v) hit a pattern of list? */
static int
any_listed(const char *v, char *const *list, size_t n)
{
	char addr[WLBL_MAX_ADDR + 1];

	while (v != NULL && *v != '\0') {
		size_t len = strcspn(v, "\n");
		const char *a = v;

		v += len + (v[len] == '\n');
		/* trim spaces and <> around a bare address */
		while (len > 0 && (isspace((unsigned char)*a) || *a == '<'))
			a++, len--;
		while (len > 0 && (isspace((unsigned char)a[len - 1]) ||
		    a[len - 1] == '>'))
			len--;
		if (len == 0 || len > WLBL_MAX_ADDR)
			continue;
		memcpy(addr, a, len);
		addr[len] = '\0';
		for (size_t i = 0; i < n; i++)
			if (wlbl_match(list[i], addr))
				return 1;
	}
	return 0;
}

static int
from_in(struct rscan *rs, char *const *list, size_t n)
{
	static const char *const hdrs[] = { "From", "Sender", NULL };
	const char *v;

	if (n == 0)
		return 0;
	v = rmatch_header(rs, "Resent-From", HM_ADDR, HK_NORMAL);
	if (v != NULL)
		return any_listed(v, list, n);
	for (size_t i = 0; hdrs[i] != NULL; i++)
		if (any_listed(rmatch_header(rs, hdrs[i], HM_ADDR, HK_NORMAL),
		    list, n))
			return 1;
	return any_listed(rmatch_header(rs, "EnvelopeFrom", 0, HK_ENVFROM),
	    list, n);
}

int
wlbl_from_in_welcomelist(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	(void)r;
	(void)argc;
	(void)argv;
	return from_in(rs, rs->rs->welcome, rs->rs->nwelcome);
}

int
wlbl_from_in_blocklist(struct rscan *rs, const struct rule *r, int argc,
    char *const *argv)
{
	(void)r;
	(void)argc;
	(void)argv;
	return from_in(rs, rs->rs->block, rs->rs->nblock);
}
