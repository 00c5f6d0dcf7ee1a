/*
 * rmatch.h - running a compiled ruleset over one message (internal to
 * rules/). A struct rscan lives in the scan's pool: it holds the texts
 * built the SpamAssassin way (body paragraphs, rawbody chunks), the
 * per-scan PCRE2 match data and counters; eval functions read it.
 */
#ifndef HAMLET_RMATCH_H
#define HAMLET_RMATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <pcre2.h>

#include "engine/msg.h"
#include "engine/pool.h"
#include "rules/ruleset.h"

struct scan;
struct strmap;
struct htmlmeta;

struct rtext {
	const char	*p;
	size_t		 len;
};

/* 1 when t holds n (>= 1) ASCII letters in a row */
int rmatch_has_letters(const struct rtext *t, size_t n);
/* 1 when t holds n (>= 1) upper-case ASCII letters in a row */
int rmatch_has_upper(const struct rtext *t, size_t n);
/* 1 when t holds n (>= 1) ASCII digits in a row */
int rmatch_has_digits(const struct rtext *t, size_t n);

/*
 * `rules lint --verify-jit`: every search match_count() makes is redone
 * with PCRE2's interpreter (PCRE2_NO_JIT, same match context) and the
 * results compared; differences go to fp. Lives with the rscan.
 */
struct rmatch_jitchk {
	FILE			*fp;		/* reports, or NULL */
	const char		*label;		/* the message, for reports */
	pcre2_match_data	*md;		/* own: callers read rs->md */
	size_t			 compared;	/* searches done both ways */
	size_t			 bad;		/* JIT != interpreter */
	size_t			 gate_bad;	/* start gate != interpreter */
	size_t			 limit_jit;	/* a limit: JIT side only */
	size_t			 limit_interp;	/* interpreter side only */
	size_t			 limit_both;
};

/* the texts where a lazy rule's literals are, by index */
struct rscan_lazy {
	size_t	*v;
	size_t	 n;
	size_t	 cap;
};

#define RSCAN_HBLOOM	1024

struct rscan {
	struct scan		*s;		/* NULL in `rules test` */
	const struct ruleset	*rs;
	const struct msg	*msg;
	struct pool		*pool;
	int			 scoreset;
	pcre2_match_data	*md;
	pcre2_match_context	*mc;

	struct rtext		*body;		/* Subject line, then paragraphs */
	size_t			 nbody;
	struct rtext		*raw;		/* rawbody chunks */
	size_t			 nraw;
	int			 built;
	struct relays		*relays;	/* parsed on first use */
	struct strmap		*hcache;	/* header values by name+mods */
	char			**hslot_v;	/* by rule->hslot, when done */
	size_t			*hslot_len;	/* their lengths */
	unsigned char		*hslot_done;	/* 1 value, 2 hslot_have built */
	uint64_t		(*hslot_have)[4];	/* bytes present */
	uint32_t		*hhash;		/* hashes of header names */
	char			**mhv;		/* mime_value()s by header, or NULL */
	size_t			*mhv_len;
	/* a bit per top-level header name present, by hash (hdr_hashes()) */
	uint64_t		 hbloom[RSCAN_HBLOOM / 64];
	struct htmlmeta		**html;		/* per HTML part, on first use */
	size_t			 nhtml;
	int			 html_built;
	long long		 date_diff;	/* Date - Received, seconds */
	int			 date_diff_done;

	/* "bytes present" sets of header values, by value address */
#define RSCAN_HCLS	61
	const char		*hcls_key[RSCAN_HCLS];
	uint64_t		 hcls[RSCAN_HCLS][4];

	/* counters for the prefilter report */
	size_t			 re_run;	/* regex rules executed */
	size_t			 re_skipped;	/* avoided by the prefilter */
	size_t			 re_limit;	/* stopped by a match limit */

	/*
	 * Lazy rules (ruleset->lazy): literal-less __ text rules and __
	 * metas run only when a meta asks for their value. The content
	 * stage keeps what they need: the texts of each type and their
	 * "bytes present" sets; the meta stage memoizes values by rule idx.
	 */
	int			 lazy;		/* on (a scan, not a lint run) */
	int			 content_ran;
	struct rtext		*uris;
	size_t			 nuris;
	struct rtext		 full;
	uint64_t		(*have[TXT_NTEXTS])[4];
	struct rscan_lazy	*lazyf;		/* by rule->lazyid */
	double			*vals;		/* meta values by rule idx */
	unsigned char		*known;		/* vals[i] is set */
	int			 lazy_depth;	/* lazy metas being evaluated */

	/* per-rule regex time in ns by rule idx, when profiling (or NULL) */
	unsigned long long	*prof;

	/* hits when there is no scan (rules test): counts by rule idx */
	int			*hits;

	/* lint only: cross-check JIT searches (or NULL); no header skips */
	struct rmatch_jitchk	*jitchk;
	int			 noskip;
};

/* A per-scan state (match data freed with the pool). */
struct rscan *rmatch_new(struct pool *pool, const struct ruleset *rs,
    const struct msg *m, struct scan *s, int scoreset);
/* Run header, body, rawbody, uri, full, mimeheader and eval rules. */
void rmatch_content(struct rscan *rs);
/* Evaluate meta rules over hits (result of s, or rs->hits). */
void rmatch_meta(struct rscan *rs);

/*
 * Match one regex rule against text: number of matches (0, 1, or up to
 * maxhits with tflags multiple); -1 on a match limit.
 */
int rmatch_regex(struct rscan *rs, const struct rule *r, const char *text,
    size_t len, int multiple);

/* Record a hit (count times) for rule r. */
void rmatch_hit(struct rscan *rs, const struct rule *r, int count);
/* The hit count of rule r so far (0 when not hit). */
int rmatch_count(const struct rscan *rs, const struct rule *r);

/* The message's relays (Received headers), parsed once per scan. */
struct relays *rmatch_relays(struct rscan *rs);

/*
 * The texts uri rules run on: the message's URIs, then "mailto:" for
 * e-mail addresses in the body text (after rmatch_build_texts()).
 */
struct rtext *rmatch_uris(struct rscan *rs, size_t *n /* OUT */);

/*
 * The texts a text rule of type txt (TXT_*) runs on, as rmatch_content()
 * left them (so only after it ran): n of them; NULL for another txt.
 */
const struct rtext *rmatch_texts(const struct rscan *rs, int txt,
    size_t *n /* OUT */);

/* Build the body and rawbody texts (idempotent). */
void rmatch_build_texts(struct rscan *rs);

/*
 * Values of a header as SpamAssassin's get() returns them: every value
 * followed by "\n", joined; NULL when the header is absent. name may
 * carry modifiers (:raw :addr :name :first :last).
 */
char *rmatch_header(struct rscan *rs, const char *name, unsigned hmods,
    enum hdr_kind kind);

#endif
