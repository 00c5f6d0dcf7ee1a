/*
 * classify.h - the Bayes arithmetic: Robinson's f(w) and Fisher's
 * inverse chi-square combining (as in SpamBayes, bogofilter and
 * SpamAssassin), pure functions without I/O so unit tests can check the
 * numbers.
 */
#ifndef HAMLET_CLASSIFY_H
#define HAMLET_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "bayes/store.h"

struct cfg;

struct classify_params {
	double	 s;		/* Robinson strength */
	double	 x;		/* Robinson prior for unknown words */
	double	 min_dev;	/* ignore tokens with |f - 0.5| below this */
	int	 max_tokens;	/* most significant tokens used (with
				   max_hdr: of the non-header tokens) */
	int	 max_hdr;	/* > 0: besides, this many header tokens
				   (TOK_HDR_BIT set in the key), picked
				   apart; 0: one selection of max_tokens */
	int	 min_tokens;	/* fewer tokens pass min_dev: the strongest
				   others fill up to this many; 0: off */
};

struct classify_result {
	double	 prob;		/* 0 (ham) .. 1 (spam) */
	double	 rank;		/* ln(prob / (1 - prob)) computed in the
				   log domain: the same order as prob, and
				   still distinct where prob is 0, 1 or 0.5
				   in a double; 0 with no tokens */
	int	 nused;		/* tokens combined */
};

void classify_params_from_cfg(struct classify_params *p, const struct cfg *c);

/*
 * Robinson's f(w) for a token seen in spam and ham messages, given the
 * message totals. Unknown tokens get the prior x.
 */
double classify_f(const struct classify_params *p, uint32_t spam,
    uint32_t ham, uint32_t nspam, uint32_t nham);

/*
 * Q(x2, v): probability that a chi-square variable with v (even)
 * degrees of freedom exceeds x2, and its natural log (computed in log
 * space so it does not underflow).
 */
double classify_chi2q(double x2, int v);
double classify_log_chi2q(double x2, int v);
/* ln(1 - Q(x2, v)), exact also where 1 - Q is tiny; -inf for x2 <= 0. */
double classify_log_chi2p(double x2, int v);

/*
 * Combine the counts of n tokens (keys may be NULL: none is a header
 * token) into a probability and a rank. With no significant token the
 * result is 0.5 and rank 0.
 */
void classify_combine(const struct classify_params *p, const uint64_t *keys,
    const struct store_counts *c, size_t n, uint32_t nspam, uint32_t nham,
    struct classify_result *out /* OUT */);

#endif
