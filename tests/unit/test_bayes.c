/*
 * test_bayes.c - Bayes: classifier arithmetic, tokenizer, learning on
 * the in-memory store (learn, relearn, move, forget, rollback), expiry,
 * dump/restore, the LMDB store (map growth, concurrent readers while a
 * writer commits), and the engine checks (bands, auto-learn).
 */
#include <sys/stat.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bayes/bayes.h"
#include "bayes/classify.h"
#include "bayes/store.h"
#include "bayes/tok.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/xalloc.h"
#include "testhelp.h"

static struct cfg *cfg;
static struct msg_limits lim;

static struct msg *
parse(struct pool *p, const char *raw)
{
	struct msg *m = NULL;

	msg_parse(p, raw, strlen(raw), NULL, &lim, &m);
	return m;
}

/* a synthetic message: words drawn from a class vocabulary */
static char *
synth(int spam, int i)
{
	static const char *sw[] = { "viagra", "cheap", "winner", "casino",
	    "mortgage", "refinance", "unsubscribe", "lottery", "pills",
	    "offer", "guaranteed", "income" };
	static const char *hw[] = { "meeting", "patch", "kernel", "review",
	    "lunch", "project", "compile", "release", "debian", "thanks",
	    "schedule", "commit" };
	const char **w = spam ? sw : hw;
	struct buf b = BUF_INIT;
	int k;

	buf_printf(&b, "From: %s%d@example.%s\nTo: you@example.org\n"
	    "Subject: %s %s\nMessage-ID: <%d.%d@example.net>\n\n",
	    spam ? "promo" : "alice", i % 7, spam ? "biz" : "org",
	    w[i % 12], w[(i * 7) % 12], spam, i);
	for (k = 0; k < 20; k++)
		buf_printf(&b, "%s%s", w[(i + k * 5) % 12],
		    k % 8 == 7 ? "\n" : " ");
	buf_printf(&b, "\nserial%d\n", i);
	return buf_detach(&b);
}

static void
test_math(void)
{
	struct classify_params p = { 0.45, 0.5, 0.0, 150, 0, 0 };
	struct classify_result r;
	struct store_counts c[40];
	double f;
	int i;

	test_cond("f of an unknown token is the prior x",
	    classify_f(&p, 0, 0, 10, 10) == 0.5);
	f = classify_f(&p, 10, 0, 10, 10);
	test_cond("f of a spam-only token (Robinson)",
	    fabs(f - (0.45 * 0.5 + 10.0) / 10.45) < 1e-12);
	f = classify_f(&p, 5, 5, 10, 20);
	test_cond("f normalizes by message totals", f > 0.5 &&
	    fabs(f - (0.45 * 0.5 + 10 * (0.5 / 0.75)) / 10.45) < 1e-12);
	test_cond("chi2q(0) = 1", classify_chi2q(0, 10) == 1.0);
	test_cond("chi2q(2, 2) = e^-1",
	    fabs(classify_chi2q(2, 2) - exp(-1)) < 1e-12);
	test_cond("chi2q(10, 4) = 6 e^-5",
	    fabs(classify_chi2q(10, 4) - 6 * exp(-5)) < 1e-12);
	test_cond("log chi2q stays finite far in the tail",
	    isfinite(classify_log_chi2q(5000, 300)) &&
	    classify_log_chi2q(5000, 300) < -1000);

	classify_combine(&p, NULL, c, 0, 10, 10, &r);
	test_cond("no tokens: 0.5", r.prob == 0.5 && r.nused == 0);
	for (i = 0; i < 40; i++) {
		c[i].spam = 50;
		c[i].ham = 0;
		c[i].day = 1;
	}
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	test_cond("spammy tokens: prob near 1", r.prob > 0.99 && r.rank > 0);
	for (i = 0; i < 40; i++) {
		c[i].spam = 0;
		c[i].ham = 50;
	}
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	test_cond("hammy tokens: prob near 0", r.prob < 0.01 && r.rank < 0);
	for (i = 0; i < 40; i++) {
		c[i].spam = i % 2 ? 50 : 0;
		c[i].ham = i % 2 ? 0 : 50;
	}
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	test_cond("balanced evidence: prob near 0.5",
	    fabs(r.prob - 0.5) < 0.01);
	p.max_tokens = 10;
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	test_cond("max_tokens caps the evidence", r.nused == 10);
	p.max_tokens = 150;
	p.min_dev = 0.499;
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	test_cond("min_dev drops weak tokens", r.nused == 0 && r.prob == 0.5);
}

static void
test_rank(void)
{
	struct classify_params p = { 0.45, 0.5, 0.0, 150, 0, 0 };
	struct classify_result r, r2;
	struct store_counts c[80];
	uint64_t keys[80];
	double x, sum;
	int i, ok;

	test_cond("chi2p(2, 2) = 1 - e^-1",
	    fabs(classify_log_chi2p(2, 2) - log(1 - exp(-1))) < 1e-12);
	test_cond("chi2p(0) = 0", classify_log_chi2p(0, 10) == -INFINITY);
	for (ok = 1, x = 0.5; x < 400; x *= 1.7) {
		sum = exp(classify_log_chi2p(x, 40)) +
		    exp(classify_log_chi2q(x, 40));
		ok &= fabs(sum - 1) < 1e-9;
	}
	test_cond("chi2p + chi2q = 1", ok);
	/*
	 * The lower tail's lgamma must not write libm's global signgam:
	 * milter threads classify at once (TSan saw lgamma() race there).
	 */
	signgam = -7;
	x = classify_log_chi2p(1, 60);
	test_cond("chi2p leaves signgam alone (lgamma_r)", signgam == -7);
	/* P(chi2_60 <= 1) = e^-0.5 sum_{k>=30} 0.5^k/k!, about 1.5e-42 */
	x = classify_log_chi2p(1, 60);
	test_cond("chi2p at the extremes of 20,000 tokens",
	    classify_log_chi2p(2.8e7, 40000) == 0 &&
	    isfinite(classify_log_chi2p(1e-300, 40000)) &&
	    classify_log_chi2p(1e-300, 40000) < -1e6 &&
	    isfinite(classify_log_chi2p(40000, 40000)) &&
	    fabs(classify_log_chi2p(40000, 40000) - log(0.5)) < 0.01);
	test_cond("chi2p exact where 1 - Q underflows",
	    isfinite(x) && fabs(x - (-0.5 + 30 * log(0.5) - lgamma(31.0) +
	    log1p(0.5 / 31 + 0.25 / (31.0 * 32) +
	    0.125 / (31.0 * 32 * 33)))) < 1e-6);

	/* rank is the log-odds of prob where prob is not saturated */
	for (i = 0; i < 6; i++) {
		c[i].spam = i < 4 ? 3 : 0;
		c[i].ham = i < 4 ? 1 : 2;
		c[i].day = 1;
	}
	classify_combine(&p, NULL, c, 6, 100, 100, &r);
	test_cond("rank = ln(prob / (1 - prob))", r.prob > 0.01 &&
	    r.prob < 0.99 && fabs(r.rank - log(r.prob / (1 - r.prob))) < 1e-9);

	/* strong evidence both ways: prob is exactly 0.5, rank still says */
	for (i = 0; i < 80; i++) {
		c[i].spam = i < 41 ? 90 : 0;
		c[i].ham = i < 41 ? 0 : 90;
	}
	classify_combine(&p, NULL, c, 80, 100, 100, &r);
	test_cond("saturated both ways: prob 0.5, rank > 0 with one more "
	    "spam token", r.prob == 0.5 && r.rank > 0);
	for (i = 0; i < 80; i++) {
		c[i].spam = i < 39 ? 90 : 0;
		c[i].ham = i < 39 ? 0 : 90;
	}
	classify_combine(&p, NULL, c, 80, 100, 100, &r2);
	test_cond("... and rank < 0 with one more ham token",
	    r2.prob == 0.5 && r2.rank < 0);

	/* strong spam evidence: prob is 1 in a double, rank keeps growing */
	for (i = 0; i < 80; i++) {
		c[i].spam = 90;
		c[i].ham = 0;
	}
	classify_combine(&p, NULL, c, 40, 100, 100, &r);
	classify_combine(&p, NULL, c, 80, 100, 100, &r2);
	test_cond("saturated prob: more evidence, higher rank",
	    r.prob == 1 && r2.prob == 1 && r2.rank > r.rank && r.rank > 30);

	/* header quota: header and other tokens are picked apart */
	for (i = 0; i < 40; i++) {
		keys[i] = (uint64_t)(i + 1) | (i < 20 ? TOK_HDR_BIT : 0);
		c[i].spam = i < 20 ? 80 : 0;	/* headers spammy */
		c[i].ham = i < 20 ? 0 : 90;	/* text hammier */
	}
	p.max_tokens = 5;
	p.max_hdr = 0;
	classify_combine(&p, keys, c, 40, 100, 100, &r);
	test_cond("no header quota: the strongest tokens only",
	    r.nused == 5 && r.prob < 0.01);
	p.max_hdr = 5;
	classify_combine(&p, keys, c, 40, 100, 100, &r);
	test_cond("header quota: 5 header tokens besides 5 others",
	    r.nused == 10 && fabs(r.prob - 0.5) < 0.45);
	p.max_hdr = 30;
	classify_combine(&p, keys, c, 40, 100, 100, &r);
	test_cond("quota larger than the header tokens: all of them",
	    r.nused == 25);

	/* min_tokens: one strong token among weak ones */
	c[0].spam = 90;
	c[0].ham = 0;
	for (i = 1; i < 21; i++) {
		c[i].spam = 2;	/* f about 0.29 */
		c[i].ham = 5;
	}
	p.min_dev = 0.45;
	p.max_tokens = 15;
	p.max_hdr = 0;
	p.min_tokens = 0;
	classify_combine(&p, NULL, c, 21, 100, 100, &r);
	test_cond("without min_tokens one strong token decides",
	    r.nused == 1 && r.prob > 0.99);
	p.min_tokens = 15;
	classify_combine(&p, NULL, c, 21, 100, 100, &r);
	test_cond("min_tokens fills up with the strongest weak tokens",
	    r.nused == 15 && r.prob < 0.5);
	p.min_tokens = 40;
	classify_combine(&p, NULL, c, 21, 100, 100, &r);
	test_cond("... bounded by max_tokens", r.nused == 15);
	for (i = 1; i < 21; i++)
		c[i].spam = c[i].ham = 0;	/* unknown */
	classify_combine(&p, NULL, c, 21, 100, 100, &r);
	test_cond("... never with unknown tokens", r.nused == 1);
}

static int
has_tok(const struct toklist *l, const char *t)
{
	const char *p = buf_str(&l->text);
	size_t n = strlen(t);

	for (; (p = strstr(p, t)) != NULL; p++)
		if ((p == buf_str(&l->text) || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void
test_tokenizer(void)
{
	const char *raw =
	    "From: \"Bob\" <bob@mail.example.com>\n"
	    "To: alice@example.org\n"
	    "Reply-To: a.very.long.mailbox.name@Bulk.Example.biz\n"
	    "Subject: Cheap PILLS today\n"
	    "X-Spam-Status: Yes, score=99\n"
	    "X-Bogosity: Spam, tests=bogofilter\n"
	    "X-Mailer: Foo Mailer 1.0\n"
	    "Message-ID: <123@host.example.net>\n"
	    "Received: from relay.example.net ([192.0.2.1]) by mx.example.org"
	    " with ESMTP id ABC123DEF456; Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Received: from mx.example.org (8.12.5/8.12.5) by mail.example.org;"
	    " Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "Only $19.99 for 1,000 pills! Visit http://www.shop.example.com/buy/now.html\n"
	    "ÉCOLE Straße supercalifragilisticexpialidocious ok\n";
	struct tok_opts o;
	struct toklist l;
	struct pool *p = pool_new();
	struct msg *m = parse(p, raw);
	size_t i;
	int unique = 1, zero = 0, hdrbit = 0;
	size_t k;

	test_cond("tokenizer: message parses", m != NULL);
	if (m == NULL)
		return;
	tok_opts_init(&o, cfg->bayes_ignore_headers, 0);
	toklist_init(&l);
	l.keep_text = 1;
	tok_msg(m, &o, &l);
	test_cond("subject words, folded", has_tok(&l, "S:cheap") &&
	    has_tok(&l, "S:pills"));
	test_cond("body words folded", has_tok(&l, "pills") &&
	    has_tok(&l, "visit"));
	test_cond("prices and numbers kept", has_tok(&l, "$19.99") &&
	    has_tok(&l, "1,000"));
	test_cond("URI host and parents", has_tok(&l, "U:www.shop.example.com")
	    && has_tok(&l, "U:shop.example.com") &&
	    has_tok(&l, "U:example.com"));
	test_cond("URI path pieces", has_tok(&l, "UP:buy"));
	test_cond("UTF-8 case folding", has_tok(&l, "école") &&
	    has_tok(&l, "strasse"));
	test_cond("long word becomes a skip token",
	    has_tok(&l, "sk:supercalif") &&
	    !has_tok(&l, "supercalifragilisticexpialidocious"));
	test_cond("short words dropped", !has_tok(&l, "ok"));
	test_cond("from address", has_tok(&l, "F:bob@mail.example.com"));
	test_cond("received relays, not ids", has_tok(&l,
	    "RCV:relay.example.net") && has_tok(&l, "RCV:192.0.2.1") &&
	    !has_tok(&l, "RCV:abc123def456"));
	test_cond("address domains", has_tok(&l, "F:mail.example.com") &&
	    has_tok(&l, "T:example.org"));
	test_cond("long address: skip token and its whole domain, folded",
	    has_tok(&l, "sk:R:a.very.lon") && has_tok(&l, "R:bulk.example.biz"));
	test_cond("relay IPv4 address and its /24",
	    has_tok(&l, "RCV:192.0.2.1") && has_tok(&l, "RCV:192.0.2."));
	test_cond("no /24 of a version number, no parents of a host",
	    !has_tok(&l, "RCV:8.12.") && !has_tok(&l, "RCV:8.12.5.") &&
	    !has_tok(&l, "RCV:example.net"));
	test_cond("message-id host", has_tok(&l, "MID:host.example.net"));
	test_cond("mailer", has_tok(&l, "XM:foo mailer 1.0"));
	test_cond("X-Spam-* and X-Bogosity ignored",
	    strstr(buf_str(&l.text), "score=99") == NULL &&
	    strstr(buf_str(&l.text), "bogofilter") == NULL &&
	    strstr(buf_str(&l.text), "x-bogosity") == NULL);
	for (i = 0; i < l.n; i++) {
		for (k = 0; k < i; k++)
			if (l.h[k] == l.h[i])
				unique = 0;
		if (l.h[i] == 0)
			zero = 1;
		if (l.h[i] & TOK_HDR_BIT)
			hdrbit++;
	}
	test_cond("hashes unique", unique && l.n > 20);
	test_cond("no hash 0 (the totals key)", !zero);
	test_cond("header tokens marked", hdrbit > 0 && (size_t)hdrbit < l.n);
	test_cond("tok_hash never 0", tok_hash("", 0) != 0);

	/* a configured ignore list */
	tok_opts_free(&o);
	tok_opts_init(&o, "X-Mailer", 0);
	tok_msg(m, &o, &l);
	test_cond("ignore list drops a header", !has_tok(&l, "XM:foo mailer 1.0"));
	tok_opts_free(&o);
	toklist_free(&l);
	pool_free(p);
}

/* learn n messages of a class; returns how many were learned */
static int
learn_n(struct bayes *b, int spam, int from, int n, int cls)
{
	struct bayes_batch *bb;
	enum bayes_learn_result r;
	int i, done = 0;

	if (bayes_batch_begin(b, &bb) != ST_OK)
		return -1;
	for (i = from; i < from + n; i++) {
		char *raw = synth(spam, i);
		struct pool *p = pool_new();
		struct msg *m = parse(p, raw);

		if (m != NULL && bayes_batch_learn(bb, m, cls, &r) == ST_OK &&
		    (r == LEARN_DONE || r == LEARN_MOVED))
			done++;
		pool_free(p);
		free(raw);
	}
	if (bayes_batch_commit(bb) != ST_OK)
		return -1;
	return done;
}

static double
prob_of(struct bayes *b, const char *raw)
{
	struct bayes_score sc;
	struct pool *p = pool_new();
	struct msg *m = parse(p, raw);
	double r = -1;

	if (m != NULL && bayes_classify(b, m, &sc) == ST_OK)
		r = sc.prob;
	pool_free(p);
	return r;
}

static void
totals(struct bayes *b, uint32_t *ns, uint32_t *nh)
{
	struct store_txn *t;

	*ns = *nh = 0;
	if (store_begin(bayes_store(b), 0, &t) == ST_OK) {
		store_totals(t, ns, nh);
		store_abort(t);
	}
}

static void
test_learning(struct bayes *b, const char *what)
{
	struct bayes_stats st;
	uint32_t ns, nh;
	char name[128], *raw;
	double ps, ph;

	snprintf(name, sizeof(name), "%s: learn 30 spam", what);
	test_cond(name, learn_n(b, 1, 0, 30, STORE_SPAM) == 30);
	snprintf(name, sizeof(name), "%s: learn 30 ham", what);
	test_cond(name, learn_n(b, 0, 0, 30, STORE_HAM) == 30);
	totals(b, &ns, &nh);
	snprintf(name, sizeof(name), "%s: totals", what);
	test_cond(name, ns == 30 && nh == 30);
	snprintf(name, sizeof(name), "%s: re-learning is a no-op", what);
	test_cond(name, learn_n(b, 1, 0, 30, STORE_SPAM) == 0);
	totals(b, &ns, &nh);
	test_cond("re-learn leaves totals", ns == 30 && nh == 30);

	raw = synth(1, 1000);
	ps = prob_of(b, raw);
	free(raw);
	raw = synth(0, 1000);
	ph = prob_of(b, raw);
	free(raw);
	snprintf(name, sizeof(name), "%s: unseen spam scores high (%.3f)",
	    what, ps);
	test_cond(name, ps > 0.9);
	snprintf(name, sizeof(name), "%s: unseen ham scores low (%.3f)",
	    what, ph);
	test_cond(name, ph >= 0 && ph < 0.1);

	/* a spam message re-learned as ham moves */
	snprintf(name, sizeof(name), "%s: move 5 spam to ham", what);
	test_cond(name, learn_n(b, 1, 0, 5, STORE_HAM) == 5);
	totals(b, &ns, &nh);
	test_cond("move adjusts totals", ns == 25 && nh == 35);
	/* forget */
	test_cond("forget 5", learn_n(b, 1, 0, 5, BAYES_FORGET) == 5);
	totals(b, &ns, &nh);
	test_cond("forget adjusts totals", ns == 25 && nh == 30);
	test_cond("forget again: unknown", learn_n(b, 1, 0, 5,
	    BAYES_FORGET) == 0);

	test_cond("stats", bayes_stats(b, &st) == ST_OK);
	snprintf(name, sizeof(name), "%s: seen table matches totals", what);
	test_cond(name, st.seen_spam == st.nspam && st.seen_ham == st.nham &&
	    st.info.ntokens > 20);
}

static void
test_mem_store(void)
{
	struct bayes *b = bayes_new(store_mem_new(), cfg);
	struct bayes_batch *bb;
	enum bayes_learn_result r;
	struct pool *p;
	struct msg *m;
	uint32_t ns, nh;
	char *raw;

	test_learning(b, "mem");

	/* an aborted batch leaves nothing */
	totals(b, &ns, &nh);
	bayes_batch_begin(b, &bb);
	raw = synth(1, 5000);
	p = pool_new();
	m = parse(p, raw);
	bayes_batch_learn(bb, m, STORE_SPAM, &r);
	test_cond("learned in the batch", r == LEARN_DONE);
	bayes_batch_abort(bb);
	pool_free(p);
	free(raw);
	{
		uint32_t ns2, nh2;

		totals(b, &ns2, &nh2);
		test_cond("abort leaves the store as it was",
		    ns2 == ns && nh2 == nh);
	}
	/* the same message twice in one batch counts once */
	bayes_batch_begin(b, &bb);
	raw = synth(1, 6000);
	p = pool_new();
	m = parse(p, raw);
	bayes_batch_learn(bb, m, STORE_SPAM, &r);
	bayes_batch_learn(bb, m, STORE_SPAM, &r);
	test_cond("duplicate in a batch: already", r == LEARN_ALREADY);
	bayes_batch_commit(bb);
	pool_free(p);
	free(raw);
	{
		uint32_t ns2, nh2;

		totals(b, &ns2, &nh2);
		test_cond("duplicate counted once", ns2 == ns + 1);
	}
	bayes_close(b);
}

static void
test_expire(void)
{
	struct bayes *b = bayes_new(store_mem_new(), cfg);
	struct bayes_stats st, st2;
	uint64_t removed;

	bayes_set_today(b, 20000);
	learn_n(b, 1, 0, 20, STORE_SPAM);
	bayes_set_today(b, 20100);
	learn_n(b, 0, 0, 20, STORE_HAM);
	bayes_stats(b, &st);
	test_cond("expire: nothing to do under the target",
	    bayes_expire(b, st.info.ntokens, &removed) == ST_OK &&
	    removed == 0);
	test_cond("expire: to half", bayes_expire(b, st.info.ntokens / 2,
	    &removed) == ST_OK &&
	    removed == st.info.ntokens - st.info.ntokens / 2);
	bayes_stats(b, &st2);
	test_cond("expire: tokens gone",
	    st2.info.ntokens == st.info.ntokens - removed);
	test_cond("expire: totals and seen kept", st2.nspam == st.nspam &&
	    st2.nham == st.nham && st2.seen_spam == st.seen_spam);
	test_cond("expire: singletons went first",
	    st2.singletons < st.singletons && st2.oldest_day >= st.oldest_day &&
	    (st2.singletons == 0 || st2.oldest_day == 20100));
	bayes_close(b);
}

static char *
dump_str(struct bayes *b)
{
	char *s = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&s, &n);

	bayes_dump(b, fp);
	fclose(fp);
	return s;
}

static void
test_dump_restore(void)
{
	struct bayes *a = bayes_new(store_mem_new(), cfg);
	struct bayes *b = bayes_new(store_mem_new(), cfg);
	char *d1, *d2, err[256];
	FILE *fp;

	learn_n(a, 1, 0, 10, STORE_SPAM);
	learn_n(a, 0, 0, 10, STORE_HAM);
	learn_n(b, 0, 50, 3, STORE_HAM);	/* replaced by restore */
	d1 = dump_str(a);
	fp = fmemopen(d1, strlen(d1), "r");
	test_cond("restore", bayes_restore(b, fp, err, sizeof(err)) == ST_OK);
	fclose(fp);
	d2 = dump_str(b);
	test_cond("dump of the restored store is identical",
	    strcmp(d1, d2) == 0 && strlen(d1) > 100);
	test_cond("dump starts with its magic",
	    strncmp(d1, "hamlet-bayes-dump 1\ntotals 10 10 ", 32) == 0);
	free(d2);
	fp = fmemopen("hamlet-bayes-dump 1\nt 12 x\n", 27, "r");
	test_cond("bad dump rejected with a line number",
	    bayes_restore(b, fp, err, sizeof(err)) == ST_ERR_PARSE &&
	    strstr(err, "line 2") != NULL);
	fclose(fp);
	d2 = dump_str(b);
	test_cond("failed restore changed nothing", strcmp(d1, d2) == 0);
	free(d1);
	free(d2);
	bayes_close(a);
	bayes_close(b);
}

struct reader {
	struct bayes	*b;
	int		 errors;
	int		 runs;
	volatile int	*stop;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	char *raw = synth(1, 777);
	struct pool *p = pool_new();
	struct msg *m = parse(p, raw);
	struct bayes_score sc;

	while (!*r->stop || r->runs < 10) {
		if (bayes_classify(r->b, m, &sc) != ST_OK)
			r->errors++;
		r->runs++;
	}
	pool_free(p);
	free(raw);
	return NULL;
}

static void
test_lmdb(void)
{
	char dir[] = "/tmp/hamlet-test-bayes.XXXXXX", err[256], *path;
	struct bayes *b = NULL, *ro = NULL;
	struct bayes_stats st;
	struct reader rd[3];
	pthread_t th[3];
	volatile int stop = 0;
	int i, ok = 1;

	if (mkdtemp(dir) == NULL) {
		test_cond("mkdtemp", 0);
		return;
	}
	path = xasprintf("%s/store", dir);
	test_cond("lmdb: missing store is NOTFOUND",
	    bayes_open(path, cfg, STORE_RDONLY, &b, err, sizeof(err)) ==
	    ST_NOTFOUND && b == NULL);
	test_cond("lmdb: create (small map)", bayes_open(path, cfg,
	    STORE_CREATE | STORE_SMALLMAP, &b, err, sizeof(err)) == ST_OK);
	if (b == NULL)
		goto out;
	test_learning(b, "lmdb");
	/* enough distinct tokens to overflow a 256 KiB map several times */
	for (i = 0; i < 6 && ok; i++)
		ok = learn_n(b, i % 2, 10000 + i * 400, 400,
		    i % 2 ? STORE_SPAM : STORE_HAM) == 400;
	test_cond("lmdb: map grows on MAP_FULL", ok);
	bayes_stats(b, &st);
	test_cond("lmdb: map size grew", st.info.map_size > (256 << 10));
	test_cond("lmdb: consistent after growth",
	    st.seen_spam == st.nspam && st.seen_ham == st.nham);

	/* readers in other threads, through a second handle (shared env) */
	test_cond("lmdb: open read-only", bayes_open(path, cfg, STORE_RDONLY,
	    &ro, err, sizeof(err)) == ST_OK);
	if (ro != NULL) {
		for (i = 0; i < 3; i++) {
			rd[i].b = i == 0 ? b : ro;
			rd[i].errors = rd[i].runs = 0;
			rd[i].stop = &stop;
			pthread_create(&th[i], NULL, reader_main, &rd[i]);
		}
		/* the writer keeps committing and growing meanwhile */
		for (i = 0; i < 4; i++)
			learn_n(b, 1, 20000 + i * 300, 300, STORE_SPAM);
		stop = 1;
		for (i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		test_cond("lmdb: readers saw no errors while writing",
		    rd[0].errors + rd[1].errors + rd[2].errors == 0 &&
		    rd[0].runs > 0 && rd[2].runs > 0);
		bayes_close(ro);
		test_cond("lmdb: closing one handle leaves the other working",
		    learn_n(b, 0, 30000, 10, STORE_HAM) == 10);
	}
	bayes_close(b);
	b = NULL;
	test_cond("lmdb: reopen", bayes_open(path, cfg, STORE_RDONLY, &b,
	    err, sizeof(err)) == ST_OK);
	if (b != NULL) {
		bayes_stats(b, &st);
		test_cond("lmdb: data survives reopen", st.nspam > 1000 &&
		    st.seen_spam == st.nspam);
	}
out:
	bayes_close(b);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
		free(cmd);
	}
	free(path);
}

/* a content check standing in for rules: hits the symbols in ctx */
static void
fake_rules(struct scan *s, void *ctx)
{
	const char *const *names = ctx;

	for (; *names != NULL; names++)
		result_add(s, *names, NULL);
}

static void
def_sym(struct engine *e, const char *name, double score, const char *area,
    unsigned flags)
{
	struct symdef *d = symreg_define(engine_symbols(e), name, score, NULL,
	    flags);

	free(d->area);
	d->area = xstrdup(area);
}

/* scan raw with the given fake rule hits and auto-learn on */
static const char *
autolearn_with(const char *path, const char *raw, const char **hits)
{
	static char res[32];
	char err[256];
	struct engine *e;
	struct scan *s;
	struct cfg *c = cfg_dup(cfg);

	cfg_set(c, "bayes_path", path, err, sizeof(err));
	cfg_set(c, "bayes_min_spam", "10", err, sizeof(err));
	cfg_set(c, "bayes_min_ham", "10", err, sizeof(err));
	cfg_set(c, "bayes_auto_learn", "yes", err, sizeof(err));
	e = engine_new(c);
	def_sym(e, "T_HEAD", 6.0, "HEADER: ", 0);
	def_sym(e, "T_BODY", 7.0, "BODY: ", 0);
	def_sym(e, "T_NOAL", 20.0, "BODY: ", SYM_NOAUTOLEARN);
	def_sym(e, "T_BIGHEAD", 13.0, "HEADER: ", 0);
	engine_add_check(e, STAGE_CONTENT, "fake", fake_rules, (void *)hits,
	    NULL);
	bayes_attach(e, NULL, err, sizeof(err));
	engine_freeze(e);
	s = scan_new(e, NULL, raw, strlen(raw));
	scan_run(s);
	snprintf(res, sizeof(res), "%s", s->res.autolearn ?
	    s->res.autolearn : "(null)");
	scan_free(s);
	engine_unref(e);
	return res;
}

static void
test_autolearn(const char *path)
{
	const char *spam_hits[] = { "T_HEAD", "T_BODY", NULL };
	const char *head_only[] = { "T_BIGHEAD", NULL };
	const char *noal[] = { "T_NOAL", NULL };
	char *raw = synth(1, 4000);
	const char *r;

	r = autolearn_with(path, raw, spam_hits);
	test_cond("auto-learn: 13 points, header and body: spam",
	    strcmp(r, "spam") == 0);
	r = autolearn_with(path, raw, spam_hits);
	test_cond("auto-learn: same message again: no", strcmp(r, "no") == 0);
	free(raw);
	raw = synth(1, 4001);
	r = autolearn_with(path, raw, head_only);
	test_cond("auto-learn: spam score without body points: no",
	    strcmp(r, "no") == 0);
	r = autolearn_with(path, raw, noal);
	test_cond("auto-learn: decisive points from noautolearn: no",
	    strcmp(r, "no") == 0);
	free(raw);
}

static void
test_engine(void)
{
	char dir[] = "/tmp/hamlet-test-bayes.XXXXXX", err[256], *path, *raw;
	struct engine *e;
	struct bayes *b;
	struct scan *s;
	struct cfg *c;
	uint32_t ns, nh;
	const struct hit *h;

	if (mkdtemp(dir) == NULL)
		return;
	path = xasprintf("%s/store", dir);

	/* a missing store: Bayes silently inactive */
	c = cfg_dup(cfg);
	cfg_set(c, "bayes_path", path, err, sizeof(err));
	e = engine_new(c);
	test_cond("attach without a store", bayes_attach(e, NULL, err,
	    sizeof(err)) == ST_OK);
	test_cond("band symbols defined with SA scores",
	    symreg_get(engine_symbols(e), "BAYES_99") != NULL &&
	    symreg_get(engine_symbols(e), "BAYES_99")->score[3] == 3.5 &&
	    symreg_get(engine_symbols(e), "BAYES_00")->score[3] == -1.9 &&
	    symreg_get(engine_symbols(e), "BAYES_00")->score[0] == 0);
	engine_freeze(e);
	raw = synth(1, 3000);
	s = scan_new(e, NULL, raw, strlen(raw));
	scan_run(s);
	test_cond("no store: no Bayes hit, no error",
	    s->bayes_prob < 0 && result_get(&s->res, "BAYES_ERROR",
	    engine_symbols(e)) == NULL && result_get(&s->res, "BAYES_99",
	    engine_symbols(e)) == NULL);
	test_cond("auto-learn off: disabled", s->res.autolearn != NULL &&
	    strcmp(s->res.autolearn, "disabled") == 0);
	scan_free(s);
	engine_unref(e);

	/* a trained store */
	if (bayes_open(path, cfg, STORE_CREATE, &b, err, sizeof(err)) !=
	    ST_OK) {
		test_cond("create store", 0);
		goto out;
	}
	learn_n(b, 1, 0, 40, STORE_SPAM);
	learn_n(b, 0, 0, 40, STORE_HAM);
	bayes_close(b);

	c = cfg_dup(cfg);
	cfg_set(c, "bayes_path", path, err, sizeof(err));
	cfg_set(c, "bayes_min_spam", "50", err, sizeof(err));
	e = engine_new(c);
	bayes_attach(e, NULL, err, sizeof(err));
	engine_freeze(e);
	s = scan_new(e, NULL, raw, strlen(raw));
	scan_run(s);
	test_cond("below bayes_min_spam: no contribution",
	    s->bayes_prob < 0);
	scan_free(s);
	engine_unref(e);

	c = cfg_dup(cfg);
	cfg_set(c, "bayes_path", path, err, sizeof(err));
	cfg_set(c, "bayes_min_spam", "10", err, sizeof(err));
	cfg_set(c, "bayes_min_ham", "10", err, sizeof(err));
	cfg_set(c, "bayes_auto_learn", "yes", err, sizeof(err));
	e = engine_new(c);
	bayes_attach(e, NULL, err, sizeof(err));
	engine_freeze(e);
	s = scan_new(e, NULL, raw, strlen(raw));
	scan_run(s);
	h = result_get(&s->res, "BAYES_99", engine_symbols(e));
	test_cond("trained: prob set and BAYES_99 hit", s->bayes_prob > 0.99 &&
	    h != NULL && h->detail != NULL &&
	    strncmp(h->detail, "score: ", 7) == 0);
	/* no rules: score 0 < 0.1 and is_spam is 0: learned as ham */
	test_cond("auto-learn decides by the non-Bayes score",
	    s->res.autolearn != NULL &&
	    (strcmp(s->res.autolearn, "no") == 0 ||
	    strcmp(s->res.autolearn, "ham") == 0));
	scan_free(s);
	free(raw);
	raw = synth(0, 3001);
	s = scan_new(e, NULL, raw, strlen(raw));
	scan_run(s);
	test_cond("trained: ham scores BAYES_00", s->bayes_prob >= 0 &&
	    s->bayes_prob <= 0.01 && result_get(&s->res, "BAYES_00",
	    engine_symbols(e)) != NULL);
	test_cond("auto-learn: ham", s->res.autolearn != NULL &&
	    strcmp(s->res.autolearn, "ham") == 0 && s->learn_class == 0);
	scan_free(s);
	engine_unref(e);
	if (bayes_open(path, cfg, STORE_RDONLY, &b, err, sizeof(err)) ==
	    ST_OK) {
		totals(b, &ns, &nh);
		test_cond("auto-learned message is in the store", nh == 41);
		bayes_close(b);
	}
	test_autolearn(path);
out:
	free(raw);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
		free(cmd);
	}
	free(path);
}

/* store_update_many() callback for test_update_many: add arg[i] to spam */
static void
upd_fn(void *arg, size_t i, struct store_counts *c)
{
	const int *d = arg;

	c->spam = (uint32_t)((int)c->spam + d[i]);
	c->ham += d[i] > 0 ? 1 : 0;
	c->day = 7;
}

/* the LMDB cursor walk and the get/put fallback give the same store */
static void
test_update_many(void)
{
	char dir[] = "/tmp/hamlet-test-upd.XXXXXX", err[256];
	static const uint64_t keys[] = { 5, 9, 11, 400, 70000 };
	static const int d[] = { 2, -1, 3, 1, 4 };
	struct store *st[2];
	struct store_txn *t;
	struct store_counts c;
	int ok = 1;

	if (mkdtemp(dir) == NULL) {
		test_cond("mkdtemp", 0);
		return;
	}
	st[0] = store_mem_new();
	if (store_lmdb_open(dir, STORE_CREATE, &st[1], err, sizeof(err)) != ST_OK) {
		test_cond("update_many: open lmdb", 0);
		store_close(st[0]);
		return;
	}
	for (int k = 0; k < 2; k++) {
		/* 9 has 1 spam 0 ham: -1 empties it, so it goes */
		c.spam = 1, c.ham = 0, c.day = 3;
		ok &= store_begin(st[k], 1, &t) == ST_OK;
		ok &= store_put(t, 9, &c) == ST_OK;
		c.spam = 4, c.ham = 2;
		ok &= store_put(t, 400, &c) == ST_OK;
		ok &= store_update_many(t, keys, 5, upd_fn, (void *)d) == ST_OK;
		ok &= store_commit(t) == ST_OK;
	}
	test_cond("update_many: both backends commit", ok);
	for (int k = 0; k < 2; k++) {
		ok = store_begin(st[k], 0, &t) == ST_OK;
		ok &= store_get(t, 9, &c) == ST_NOTFOUND;
		ok &= store_get(t, 5, &c) == ST_OK && c.spam == 2 && c.ham == 1 &&
		    c.day == 7;
		ok &= store_get(t, 400, &c) == ST_OK && c.spam == 5 &&
		    c.ham == 3;
		ok &= store_get(t, 70000, &c) == ST_OK && c.spam == 4;
		ok &= store_get(t, 11, &c) == ST_OK && c.spam == 3;
		store_abort(t);
		test_cond(k ? "update_many: lmdb walk" : "update_many: get/put", ok);
	}
	store_close(st[0]);
	store_close(st[1]);
	{
		char *p = xasprintf("%s/data.mdb", dir);
		unlink(p);
		free(p);
		p = xasprintf("%s/lock.mdb", dir);
		unlink(p);
		free(p);
		rmdir(dir);
	}
}

int
main(void)
{
	msg_global_init();
	cfg = cfg_new();
	msg_limits_from_cfg(&lim, cfg);
	test_math();
	test_rank();
	test_tokenizer();
	test_mem_store();
	test_expire();
	test_dump_restore();
	test_lmdb();
	test_update_many();
	test_engine();
	cfg_free(cfg);
	return test_report();
}
