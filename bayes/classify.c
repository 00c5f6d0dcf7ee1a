/*
 * classify.c - Robinson/Fisher combining (see classify.h).
 *
 * f(w) = (s*x + n*p(w)) / (s + n), p(w) = (b/nspam) / (b/nspam + g/nham)
 * where b, g are the token's spam and ham counts and n = b + g (Gary
 * Robinson, "A statistical approach to the spam problem", 2003).
 * The most significant tokens (largest |f - 0.5|, at least min_dev:
 * max_tokens of the body, URI and MIME tokens and, when max_hdr is set,
 * max_hdr header tokens besides; when fewer than min_tokens pass
 * min_dev, the strongest of the rest fill up to min_tokens) are
 * combined with Fisher's method:
 *   S = 1 - Q(-2 sum ln(1 - f), 2n)   H = 1 - Q(-2 sum ln f, 2n)
 *   prob = (1 + S - H) / 2
 * and, for ranking, ln(prob / (1 - prob)) in the log domain: with 1 - Q
 * computed as the chi-square's lower tail where it is small, this keeps
 * its resolution where prob is 0, 1 or exactly 0.5 in a double.
 * No allocation except one scratch array per call; no I/O.
 * Thread-safe: the milter classifies on several threads at once, so no
 * libm function that writes a global (lgamma() sets signgam: lgamma_r).
 */
#include <math.h>
#include <stdlib.h>

#include "bayes/classify.h"
#include "bayes/tok.h"
#include "engine/cfg.h"
#include "engine/xalloc.h"

void
classify_params_from_cfg(struct classify_params *p, const struct cfg *c)
{
	p->s = c->bayes_robinson_s;
	p->x = c->bayes_robinson_x;
	p->min_dev = c->bayes_min_dev;
	p->max_tokens = c->bayes_max_tokens;
	p->max_hdr = c->bayes_max_header_tokens;
	p->min_tokens = c->bayes_min_tokens;
}

double
classify_f(const struct classify_params *p, uint32_t spam, uint32_t ham,
    uint32_t nspam, uint32_t nham)
{
	double bs, gs, pw, n;

	n = (double)spam + (double)ham;
	if (n == 0)
		return p->x;
	bs = nspam > 0 ? (double)spam / nspam : 0;
	gs = nham > 0 ? (double)ham / nham : 0;
	/* a count above its total (after a forget) still means "seen" */
	if (bs > 1)
		bs = 1;
	if (gs > 1)
		gs = 1;
	if (bs + gs == 0)
		return p->x;
	pw = bs / (bs + gs);
	return (p->s * p->x + n * pw) / (p->s + n);
}

double
classify_log_chi2q(double x2, int v)
{
	double m, lterm, lsum;
	int i;

	if (x2 <= 0 || v < 2)
		return 0;	/* Q = 1 */
	m = x2 / 2.0;
	lterm = -m;
	lsum = lterm;
	for (i = 1; i < v / 2; i++) {
		lterm += log(m / i);
		/* lsum = log(exp(lsum) + exp(lterm)) */
		if (lterm > lsum)
			lsum = lterm + log1p(exp(lsum - lterm));
		else
			lsum = lsum + log1p(exp(lterm - lsum));
	}
	return lsum > 0 ? 0 : lsum;
}

double
classify_chi2q(double x2, int v)
{
	return exp(classify_log_chi2q(x2, v));
}

/* bound of the lower-tail series (it stops far earlier, see below) */
#define CHI2P_TERMS	1000000

/* ln(1 - Q(x2, v)) given lq = ln Q(x2, v) */
static double
log_chi2p_q(double x2, int v, double lq)
{
	double m, lterm, lsum;
	int n, k, sign;

	if (x2 <= 0 || v < 2)
		return -INFINITY;	/* P = 0 */
	if (lq < -M_LN2)
		return log1p(-exp(lq));	/* P > 1/2: no cancellation */
	/*
	 * P = e^-m sum_{k >= v/2} m^k / k! (Poisson upper tail). Q >= 1/2
	 * puts v/2 at or above about the mean m, so the terms fall from
	 * the first one on, and 45 e-folds below the sum is far below a
	 * double's precision.
	 */
	m = x2 / 2.0;
	n = v / 2;
	lterm = -m + n * log(m) - lgamma_r(n + 1.0, &sign);
	lsum = lterm;
	for (k = n + 1; k < n + CHI2P_TERMS; k++) {
		lterm += log(m / k);
		if (lterm > lsum)
			lsum = lterm + log1p(exp(lsum - lterm));
		else
			lsum = lsum + log1p(exp(lterm - lsum));
		if (k > m && lterm < lsum - 45)
			break;
	}
	return lsum > 0 ? 0 : lsum;
}

double
classify_log_chi2p(double x2, int v)
{
	return log_chi2p_q(x2, v, classify_log_chi2q(x2, v));
}

/* ln(e^a + e^b) */
static double
log_add(double a, double b)
{
	if (a == -INFINITY)
		return b;
	if (b == -INFINITY)
		return a;
	return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

struct sig {
	double	 f;
	double	 dev;
	int	 hdr;
};

static int
cmp_dev(const void *a, const void *b)
{
	double x = ((const struct sig *)a)->dev, y = ((const struct sig *)b)->dev;

	return x > y ? -1 : x < y;
}

/* the running selection of classify_combine() */
struct pick {
	double	 sl, hl;	/* sum ln(1 - f), sum ln f */
	size_t	 use, nhdr, nbody;
};

/*
 * Take tokens of sg (sorted, strongest first) while fewer than limit are
 * used. With a header quota, header and other tokens are picked apart: a
 * long text with many mildly hammy words cannot push every header token
 * out, nor a header block full of correlated relay tokens the text.
 */
static void
pick_tokens(const struct classify_params *p, const struct sig *sg, size_t k,
    size_t limit, struct pick *pk)
{
	double f;
	size_t i;

	for (i = 0; i < k && pk->use < limit; i++) {
		if (p->max_hdr > 0 && sg[i].hdr) {
			if (pk->nhdr >= (size_t)p->max_hdr)
				continue;
			pk->nhdr++;
		} else {
			if (p->max_tokens > 0 &&
			    pk->nbody >= (size_t)p->max_tokens) {
				if (p->max_hdr > 0 &&
				    pk->nhdr < (size_t)p->max_hdr)
					continue;
				return;
			}
			pk->nbody++;
		}
		/* f is strictly inside (0, 1) for s > 0 */
		f = sg[i].f;
		if (f < 1e-300)
			f = 1e-300;
		if (f > 1 - 1e-16)
			f = 1 - 1e-16;
		pk->sl += log(1.0 - f);
		pk->hl += log(f);
		pk->use++;
	}
}

void
classify_combine(const struct classify_params *p, const uint64_t *keys,
    const struct store_counts *c, size_t n, uint32_t nspam, uint32_t nham,
    struct classify_result *out)
{
	struct pick pk = { 0, 0, 0, 0, 0 };
	struct sig *sg, *e;
	double f, sl, hl, lqs, lqh, lps, lph, qs, qh;
	size_t i, k = 0, nweak = 0, use;

	out->prob = 0.5;
	out->rank = 0;
	out->nused = 0;
	if (n == 0)
		return;
	/* significant tokens from the front, weaker ones from the back */
	sg = xreallocarray(NULL, n, sizeof(*sg));
	for (i = 0; i < n; i++) {
		if (c[i].spam == 0 && c[i].ham == 0)
			continue;	/* unknown: f = x, no evidence */
		f = classify_f(p, c[i].spam, c[i].ham, nspam, nham);
		if (fabs(f - 0.5) < p->min_dev) {
			if (p->min_tokens <= 0)
				continue;
			e = &sg[n - 1 - nweak++];
		} else {
			e = &sg[k++];
		}
		e->f = f;
		e->dev = fabs(f - 0.5);
		e->hdr = keys != NULL && (keys[i] & TOK_HDR_BIT) != 0;
	}
	qsort(sg, k, sizeof(*sg), cmp_dev);
	pick_tokens(p, sg, k, (size_t)-1, &pk);
	/*
	 * Too few strong tokens: one or two of them would make the verdict
	 * alone, at any strength. The strongest of the others fill up to
	 * min_tokens, which pulls such thin evidence toward 0.5.
	 */
	if (pk.use < (size_t)(p->min_tokens > 0 ? p->min_tokens : 0) &&
	    nweak > 0) {
		qsort(sg + n - nweak, nweak, sizeof(*sg), cmp_dev);
		pick_tokens(p, sg + n - nweak, nweak, (size_t)p->min_tokens,
		    &pk);
	}
	free(sg);
	use = pk.use;
	sl = pk.sl;
	hl = pk.hl;
	if (use == 0)
		return;
	lqs = classify_log_chi2q(-2.0 * sl, 2 * (int)use);	/* Q spam test */
	lqh = classify_log_chi2q(-2.0 * hl, 2 * (int)use);	/* Q ham test */
	qs = exp(lqs);
	qh = exp(lqh);
	/* S = 1 - qs, H = 1 - qh: prob = (1 + S - H) / 2 */
	out->prob = (1.0 + qh - qs) / 2.0;
	if (out->prob < 0)
		out->prob = 0;
	if (out->prob > 1)
		out->prob = 1;
	/*
	 * prob = (qh + ps) / 2 and 1 - prob = (ph + qs) / 2 with p = 1 - q:
	 * the log-odds from the four tails, each exact in the log domain.
	 */
	lps = log_chi2p_q(-2.0 * sl, 2 * (int)use, lqs);
	lph = log_chi2p_q(-2.0 * hl, 2 * (int)use, lqh);
	out->rank = log_add(lqh, lps) - log_add(lph, lqs);
	out->nused = (int)use;
}
