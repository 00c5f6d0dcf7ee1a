/*
 * fuzz_mbox.c - the training path on arbitrary bytes: mbox splitting and
 * unquoting, message sniffing, MIME parse, the tokenizer, learning into
 * an in-memory store and classifying; the same bytes are also fed to
 * the dump parser (bayes_restore). Checks the split loses no byte
 * outside separators and that the store stays consistent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bayes/bayes.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "train/mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg *c;
	static struct msg_limits lim;
	struct mbox_split sp;
	struct bayes_batch *bb;
	struct bayes_stats st;
	struct bayes_score sc;
	enum bayes_learn_result r;
	struct bayes *b;
	const char *m, *why;
	size_t len, total = 0;
	char err[256];
	int n = 0;
	FILE *fp;

	if (c == NULL) {
		char e[128];

		c = cfg_new();
		cfg_set(c, "max_mime_parts", "50", e, sizeof(e));
		cfg_set(c, "max_uris", "20", e, sizeof(e));
		msg_global_init();
		msg_limits_from_cfg(&lim, c);
	}
	b = bayes_new(store_mem_new(), c);
	if (bayes_batch_begin(b, &bb) != ST_OK)
		abort();
	mbox_split_init(&sp, (const char *)data, size);
	while (mbox_split_next(&sp, &m, &len) && n < 50) {
		struct pool *p;
		struct msg *msg;

		n++;
		total += len;
		if (len > size)
			abort();
		if (!mbox_looks_like_message(m, len, &why))
			continue;
		p = pool_new();
		if (msg_parse(p, m, len, NULL, &lim, &msg) == ST_OK) {
			if (bayes_batch_learn(bb, msg, n % 2 ? STORE_SPAM :
			    STORE_HAM, &r) != ST_OK)
				abort();
		}
		pool_free(p);
	}
	if (total > size)
		abort();
	mbox_split_free(&sp);
	if (bayes_batch_commit(bb) != ST_OK)
		abort();
	if (bayes_stats(b, &st) != ST_OK || st.seen_spam != st.nspam ||
	    st.seen_ham != st.nham)
		abort();
	{
		uint64_t one = 42;

		if (bayes_classify_tokens(b, &one, 1, &sc) != ST_OK ||
		    sc.prob < 0 || sc.prob > 1)
			abort();
	}
	/* the dump parser on the same bytes */
	fp = fmemopen((void *)data, size ? size : 1, "r");
	if (fp != NULL) {
		bayes_restore(b, fp, err, sizeof(err));
		fclose(fp);
	}
	bayes_close(b);
	return 0;
}
