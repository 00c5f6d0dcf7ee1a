/*
 * rx.h - Perl regular expressions of SpamAssassin rules on PCRE2.
 *
 * rx_parse() splits a rule's "/re/flags", "m{re}flags", "m!re!" ... into
 * the pattern and its flags; rx_compile() compiles it once with the JIT.
 * rx_literals() walks a pattern and returns strings of which at least one
 * must occur (case-folded) in any subject the pattern matches: the
 * prefilter runs a regex only when one of its literals was seen.
 */
#ifndef HAMLET_RX_H
#define HAMLET_RX_H

#include <stddef.h>
#include <stdint.h>

#include <pcre2.h>

#include "engine/status.h"

/* the shortest literal the prefilter uses; shorter ones match too often */
#define RX_MIN_LITERAL	3
#define RX_MAX_LITERALS	16	/* more alternatives: no prefilter */
#define RX_MAX_LITLEN	64

struct rx_lits {
	size_t	 n;
	char	 s[RX_MAX_LITERALS][RX_MAX_LITLEN + 1];	/* lowercase */
	size_t	 len[RX_MAX_LITERALS];
};

/*
 * Required byte classes: every match of the pattern contains at least
 * one byte of each class c[i] (256-bit sets, ASCII case folded). A text
 * whose "bytes present" set misses one of them cannot match.
 */
#define RX_MAX_CLASSES	12

struct rx_classes {
	size_t		 n;
	uint64_t	 c[RX_MAX_CLASSES][4];
};

/*
 * Split "/pat/flags" (or m{pat}flags, m!pat!flags ...) at src. On
 * success *pat is a malloc'd pattern (delimiter escapes kept: PCRE2 reads
 * "\/" as "/") and *flags the PCRE2 options for i, m, s, x; g and o are
 * ignored. *end points past the flags.
 */
enum status rx_parse(const char *src, char **pat /* OUT */,
    unsigned *flags /* OUT */, const char **end /* OUT */);

/*
 * Compile pattern with PCRE2 options (byte mode, no UTF, like Perl on
 * SpamAssassin's undecoded bytes) and JIT-compile it. On error returns
 * NULL with the PCRE2 message and offset in err.
 */
pcre2_code *rx_compile(const char *pat, unsigned flags, char *err,
    size_t errlen);
/*
 * The same, JIT-compiled only when jit is set: a process that scans one
 * message (procmail) spends less without the JIT than in it.
 */
pcre2_code *rx_compile_jit(const char *pat, unsigned flags, int jit,
    char *err, size_t errlen);
/* 1 when re has JIT code (pcre2_jit_match() may run it) */
int rx_has_jit(const pcre2_code *re);

/*
 * The literals any match of pat must contain: returns 1 and fills out
 * when every match contains one of out->s[] (as bytes, ASCII case
 * folded), 0 when no such set of useful literals was found (the regex
 * must then always run). Conservative: when unsure, returns 0.
 */
int rx_literals(const char *pat, unsigned flags, struct rx_lits *out);
/*
 * The same, where the walk weighs its candidates: a set holding a
 * literal that is part of one of avoid[] (NULL-terminated, lowercase) is
 * kept only when no other is found. For a text type in which such
 * literals occur almost always ("http" in a URI). A different choice
 * inside groups may make the union of alternatives too large: this can
 * return 0 where rx_literals() returns 1 (and the reverse).
 */
int rx_literals_avoid(const char *pat, unsigned flags,
    const char *const *avoid, struct rx_lits *out);

/*
 * The byte classes any match of pat must contain (see struct rx_classes;
 * classes matching almost every byte are left out). Returns the number
 * found (0: none known). Conservative: what it does not understand adds
 * no class, or makes it give up and return 0.
 */
size_t rx_classes(const char *pat, unsigned flags, struct rx_classes *out);

/*
 * Add to out the classes PCRE2 itself derived for the compiled re (its
 * first code unit or start bitmap, its last required code unit), and
 * return its minimum subject length (PCRE2_INFO_MINLENGTH).
 */
size_t rx_info_classes(const pcre2_code *re, struct rx_classes *out);

/* 1 when the "bytes present" set have[4] meets every class of cls */
static inline int
rx_classes_met(const struct rx_classes *cls, const uint64_t have[4])
{
	for (size_t i = 0; i < cls->n; i++)
		if (((cls->c[i][0] & have[0]) | (cls->c[i][1] & have[1]) |
		    (cls->c[i][2] & have[2]) | (cls->c[i][3] & have[3])) == 0)
			return 0;
	return 1;
}

/*
 * A probe for pat (compiled as re): a suffix of pat, as a malloc'd
 * pattern, that PCRE2 searches much faster and that matches wherever
 * pat does; NULL when there is none worth running first.
 */
char *rx_probe(const char *pat, unsigned flags, const pcre2_code *re);

/*
 * 1 when no match of pat can consume a newline: every match lies within
 * one line, so a text whose longest line is shorter than the pattern's
 * minimum length holds none. Conservative: 0 for anything this reader
 * does not follow (classes with ranges of escapes, \x, \p, option
 * settings, verbs, back references, the s and x flags with '.' ...).
 */
int rx_within_line(const char *pat, unsigned flags);

/*
 * 1 when pat may hold an anchor (^, $, \A, \z, \Z, \G outside a
 * class), or is not understood: an anchor tells a subject's ends from
 * the ends of its lines.
 */
int rx_has_anchor(const char *pat);

/*
 * N when every match of pat holds a run of N or more ASCII letters: pat
 * has no top-level alternation and, outside every group, a class of
 * letters only ("[a-z]", "[A-Z]", "[a-zA-Z]", "[A-Za-z]") repeated at
 * least N times; the largest such N, or 0.
 */
size_t rx_letter_run(const char *pat, unsigned flags);

/* letter runs at least this long are checked against texts */
#define RX_RUN_GATE_MIN		16

/*
 * N when every match of pat holds N or more upper-case ASCII letters in
 * a row: as rx_letter_run(), for a pattern without the i flag, counting
 * only "[A-Z]"; 0 when not known.
 */
size_t rx_upper_run(const char *pat, unsigned flags);

/* upper-case runs at least this long are checked (rarer in mail text) */
#define RX_UPPER_GATE_MIN	4

/* the same for digits: "[0-9]" and \d quantified {n...} */
size_t rx_digit_run(const char *pat, unsigned flags);

/* digit runs at least this long are checked */
#define RX_DIGIT_GATE_MIN	3

/* rules with at least this minimum length are checked against lines */
#define RX_LINE_GATE_MIN	64

/* the "bytes present" set of a text */
void rx_bytes_present(const char *p, size_t len, uint64_t have[4]);

/*
 * The "bytes present" set from 256 flags (0 or 1, by byte value), eight
 * at a time gathered into one byte by a multiplication. For a text of
 * RX_BYTES_PACK_MIN bytes or more, one plain store per byte into the
 * flags and this cost less than setting a bit of have[] per byte.
 */
#define RX_BYTES_PACK_MIN	128

static inline void
rx_bytes_pack(const unsigned char flags[256], uint64_t have[4])
{
	for (int w = 0; w < 4; w++) {
		uint64_t r = 0;

		for (int j = 0; j < 8; j++) {
			const unsigned char *f = flags + w * 64 + j * 8;
			uint64_t x = (uint64_t)f[0] | (uint64_t)f[1] << 8 |
			    (uint64_t)f[2] << 16 | (uint64_t)f[3] << 24 |
			    (uint64_t)f[4] << 32 | (uint64_t)f[5] << 40 |
			    (uint64_t)f[6] << 48 | (uint64_t)f[7] << 56;

			/* byte k's flag (bit 8k) lands on bit 56 + k */
			r |= ((x * 0x0102040810204080ULL) >> 56) << (8 * j);
		}
		have[w] = r;
	}
}

/*
 * A start gate: the k-byte strings (1 <= k <= 4; ASCII case folded for
 * a caseless pattern) a match of the pattern can begin with, as a
 * hashed bit set, and the pattern compiled anchored. rx_gate_match()
 * finds what an unanchored search finds, trying the anchored pattern
 * only at the positions the gate lets through. It pays for patterns
 * PCRE2 would try at nearly every byte (no literal, a start bitmap of
 * most letters), each try long.
 */
#define RX_GATE_BITS	16

struct rx_gate {
	unsigned	 k;
	pcre2_code	*anch;
	unsigned char	 map[256];	/* byte -> key byte (case folding) */
	uint64_t	 bits[(1u << RX_GATE_BITS) / 64];
};

/*
 * The gate of pat (compiled as re with flags), or NULL when it cannot
 * be derived (lookbehind, backtracking verbs, \G, conditionals, a
 * pattern that can match the empty string) or, unless always, when it
 * is not worth it: PCRE2 skips most positions itself, each try is
 * short, or the gate would let too many positions through. Costs up
 * to some 60,000 partial matches of the pattern (JIT mode only).
 */
struct rx_gate *rx_gate_new(const char *pat, unsigned flags,
    const pcre2_code *re, int always);
void rx_gate_free(struct rx_gate *g);
/*
 * As pcre2_jit_match(re, text, len, start, 0, md, mc): the leftmost
 * match at or after start (rc > 0, offsets in md), PCRE2_ERROR_NOMATCH,
 * or another error (a match limit).
 */
int rx_gate_match(const struct rx_gate *g, const char *text, size_t len,
    size_t start, pcre2_match_data *md, pcre2_match_context *mc);

/*
 * A split search for "is there a match of pat": pat's top-level
 * alternatives in at most RX_SPLIT_MAX groups, each group beginning
 * with at most two distinct bytes (a caseless letter counts as two).
 * PCRE2's JIT finds such a start with a vector search, where a pattern
 * beginning with more bytes is tried at each byte of a start bitmap,
 * several times slower. A text holds a match of pat exactly when it
 * holds a match of one group; the groups say nothing about how many
 * matches there are, or where.
 */
#define RX_SPLIT_MAX	4

struct rx_split {
	size_t		 n;
	pcre2_code	*re[RX_SPLIT_MAX];
};

/*
 * The split of pat (compiled as re with flags), or NULL when re already
 * has a first byte, or pat has one alternative, an alternative without
 * a first byte, or anything that ties the alternatives together or that
 * this reader does not follow (back references, recursion, option
 * settings, verbs, \K, \G, the x flag); or when it needs more groups.
 */
struct rx_split *rx_split_new(const char *pat, unsigned flags,
    const pcre2_code *re);
void rx_split_free(struct rx_split *s);
/*
 * 1 when text holds a match of one of s's groups, 0 when of none, -1
 * when none matched and one stopped at a PCRE2 limit.
 */
int rx_split_match(const struct rx_split *s, const char *text, size_t len,
    pcre2_match_data *md, pcre2_match_context *mc);

/*
 * A comb: one byte (not a letter) that every match of a pattern holds
 * at three or more fixed offsets from where the match begins, as the
 * spaces of " [a-z] [a-z] [a-z] ". PCRE2's JIT vector-searches a pair of
 * distinct bytes at two offsets, never one byte at several: it finds
 * each space and tries there. rx_comb_in() looks for the whole comb,
 * eight bytes a step.
 */
#define RX_COMB_MIN	3	/* offsets a comb needs */
#define RX_COMB_MAX	8
#define RX_COMB_SPAN	64	/* offsets below this */

struct rx_comb {
	unsigned char	 b;
	unsigned	 n;
	unsigned	 off[RX_COMB_MAX];	/* ascending, from 0 */
};

/*
 * The comb of pat (malloc'd; free() it), or NULL: read from the atoms
 * that open pat, each of one byte (a literal, a class, '.', \d \w \s
 * ...) or none (a lookaround, \b, \B), up to the first other atom or
 * quantified atom; pat must have no top-level alternation and nothing
 * split_bars() gives up on, and no x flag.
 */
struct rx_comb *rx_comb_new(const char *pat, unsigned flags);
/* 0 when no position of p[0..len) holds the comb's byte at every offset */
int rx_comb_in(const struct rx_comb *c, const char *p, size_t len);

/*
 * A literal count: every match of a pattern holds n >= 2 occurrences of
 * s that do not overlap. Read from a group at the top level of the
 * pattern (no top-level alternation), "(", "(?:" or "(?>", repeated
 * {n}, {n,} or {n,m}, whose every match holds s (rx_literals() of the
 * group alone gives this one literal): the n repetitions match n spans
 * one after the other, each holding s. s is lowercase and is found
 * ASCII case folded, which only widens the condition. The byte searched
 * for is s[anchor], the rarest byte of s that is no letter; a literal
 * of letters only gives no count.
 */
struct rx_count {
	size_t	 n;
	size_t	 len;
	size_t	 anchor;
	char	 s[RX_MAX_LITLEN + 1];
};

/*
 * The count of pat (malloc'd; free() it), or NULL: none found, or pat
 * holds a construct that lets a group's match depend on text outside it
 * (lookarounds, back references, \K, \G, verbs, option settings ...),
 * or the x flag.
 */
struct rx_count *rx_count_new(const char *pat, unsigned flags);
/* 1 when text holds c->n occurrences of c->s that do not overlap */
int rx_count_in(const struct rx_count *c, const char *text, size_t len);

#endif
