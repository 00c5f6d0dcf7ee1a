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

/*
 * The literals any match of pat must contain: returns 1 and fills out
 * when every match contains one of out->s[] (as bytes, ASCII case
 * folded), 0 when no such set of useful literals was found (the regex
 * must then always run). Conservative: when unsure, returns 0.
 */
int rx_literals(const char *pat, unsigned flags, struct rx_lits *out);

#endif
