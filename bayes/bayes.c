/*
 * bayes.c - the Bayes module: store opening, classification, learning
 * batches, and the engine checks (BAYES stage: bands; LEARN stage:
 * auto-learn).
 *
 * Ownership: struct bayes owns its store. A batch owns its write
 * transaction and in-memory deltas until commit/abort. The engine
 * context (struct bayes_ctx) is freed with the engine.
 *
 * Errors: store failures come back as status codes; the checks turn them
 * into the BAYES_ERROR symbol and never fail a scan.
 *
 * Threads: classification opens its own read transaction per call; the
 * lazily opened store pointer is published under a mutex.
 *
 * SECURITY: message bytes reach this file only through the tokenizer
 * (tok.c) and the digest (bounded by the message length).
 */
#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "bayes/bayes.h"
#include "bayes/bayes_impl.h"
#include "engine/log.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/symbols.h"
#include "engine/xalloc.h"

#define BATCH_RETRIES	12

/* ---------------------------------------------------------------- open */

char *
bayes_default_path(const struct cfg *c, const char *db_path)
{
	const char *home;
	struct passwd *pw;

	if (db_path != NULL && db_path[0] != '\0')
		return xstrdup(db_path);
	if (c != NULL && c->bayes_path != NULL && c->bayes_path[0] != '\0') {
		if (strncmp(c->bayes_path, "~/", 2) == 0 &&
		    (home = getenv("HOME")) != NULL)
			return xasprintf("%s/%s", home, c->bayes_path + 2);
		return xstrdup(c->bayes_path);
	}
	if (geteuid() == 0)
		return xstrdup("/var/lib/hamlet/bayes");
	home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		pw = getpwuid(geteuid());
		home = pw != NULL ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.hamlet/bayes", home);
}

struct bayes *
bayes_new(struct store *st, const struct cfg *c)
{
	struct bayes *b = xcalloc(1, sizeof(*b));

	b->st = st;
	tok_opts_init(&b->tok, c->bayes_ignore_headers, 0);
	classify_params_from_cfg(&b->cp, c);
	b->min_spam = c->bayes_min_spam;
	b->min_ham = c->bayes_min_ham;
	return b;
}

enum status
bayes_open(const char *path, const struct cfg *c, unsigned flags,
    struct bayes **out, char *err, size_t errlen)
{
	struct store *st;
	enum status rc;

	*out = NULL;
	rc = store_lmdb_open(path, flags, &st, err, errlen);
	if (rc != ST_OK)
		return rc;
	*out = bayes_new(st, c);
	return ST_OK;
}

void
bayes_close(struct bayes *b)
{
	if (b == NULL)
		return;
	store_close(b->st);
	tok_opts_free(&b->tok);
	free(b);
}

struct store *
bayes_store(struct bayes *b)
{
	return b->st;
}

const struct tok_opts *
bayes_tok_opts(const struct bayes *b)
{
	return &b->tok;
}

uint32_t
bayes_today(const struct bayes *b)
{
	if (b != NULL && b->fixed_day != 0)
		return b->fixed_day;
	return (uint32_t)(time(NULL) / 86400);
}

void
bayes_set_today(struct bayes *b, uint32_t day)
{
	b->fixed_day = day;
}

/* ------------------------------------------------------------ classify */

enum status
bayes_classify_tokens(struct bayes *b, const uint64_t *tok, size_t n,
    struct bayes_score *out)
{
	struct classify_result cr;
	struct store_counts *c;
	struct store_txn *t;
	enum status rc;

	memset(out, 0, sizeof(*out));
	out->prob = 0.5;
	out->ntokens = (int)n;
	if ((rc = store_begin(b->st, 0, &t)) != ST_OK)
		return rc;
	if ((rc = store_totals(t, &out->nspam, &out->nham)) != ST_OK) {
		store_abort(t);
		return rc;
	}
	c = xreallocarray(NULL, n ? n : 1, sizeof(*c));
	rc = store_get_many(t, tok, n, c);
	store_abort(t);		/* read-only: nothing to commit */
	if (rc != ST_OK) {
		free(c);
		return rc;
	}
	classify_combine(&b->cp, tok, c, n, out->nspam, out->nham, &cr);
	free(c);
	out->prob = cr.prob;
	out->rank = cr.rank;
	out->nused = cr.nused;
	out->usable = out->nspam >= (uint32_t)b->min_spam &&
	    out->nham >= (uint32_t)b->min_ham && out->nspam > 0 &&
	    out->nham > 0;
	return ST_OK;
}

enum status
bayes_classify(struct bayes *b, const struct msg *m, struct bayes_score *out)
{
	struct toklist l;
	enum status rc;

	toklist_init(&l);
	tok_msg(m, &b->tok, &l);
	rc = bayes_classify_tokens(b, l.h, l.n, out);
	toklist_free(&l);
	return rc;
}

/* -------------------------------------------------------------- digest */

void
bayes_digest(const struct msg *m, uint8_t out[STORE_DIGEST_LEN])
{
	const struct msg_header *mid;
	GChecksum *ck;
	const char *p, *e;
	guint8 d[32];	/* MD5: 16 bytes, the seen key length */
	gsize dl = sizeof(d);

	/*
	 * Message-ID and body: the same message in two folders (with other
	 * Status: headers, CRLF or LF) gives the same digest.
	 */
	ck = g_checksum_new(G_CHECKSUM_MD5);
	mid = msg_header(m, "Message-ID", 0);
	if (mid != NULL && mid->value != NULL)
		g_checksum_update(ck, (const guchar *)mid->value,
		    (gssize)strlen(mid->value));
	g_checksum_update(ck, (const guchar *)"\0", 1);
	if (m->raw != NULL && m->body_off < m->raw_len) {
		p = m->raw + m->body_off;
		e = m->raw + m->raw_len;
		while (e > p && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			e--;
		while (p < e) {
			const char *cr = memchr(p, '\r', (size_t)(e - p));

			if (cr == NULL) {
				g_checksum_update(ck, (const guchar *)p,
				    (gssize)(e - p));
				break;
			}
			g_checksum_update(ck, (const guchar *)p,
			    (gssize)(cr - p));
			p = cr + 1;
		}
	} else if (mid == NULL && m->raw != NULL) {
		/* no body and no id: the whole thing is all we have */
		g_checksum_update(ck, (const guchar *)m->raw,
		    (gssize)m->raw_len);
	}
	g_checksum_get_digest(ck, d, &dl);
	g_checksum_free(ck);
	memcpy(out, d, STORE_DIGEST_LEN);
}

/* ------------------------------------------------------------ learning */

struct delta {
	uint64_t	 key;		/* 0 = empty slot */
	int32_t		 ds, dh;
};

struct seenop {
	uint8_t		 digest[STORE_DIGEST_LEN];
	int		 used;
	int		 cls;		/* new class, or BAYES_FORGET */
};

struct bayes_batch {
	struct bayes	*b;
	struct store_txn *t;
	struct delta	*d;		/* open addressing, power of 2 */
	size_t		 dcap, dn;
	struct seenop	*s;		/* open addressing, power of 2 */
	size_t		 scap, sn;
	int64_t		 dspam, dham;	/* change of the totals */
	size_t		 nlearned;
	uint32_t	 day;
	struct toklist	 l;
};

static uint64_t
mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static void
delta_grow(struct bayes_batch *bb)
{
	struct delta *old = bb->d;
	size_t oldcap = bb->dcap, i, j;

	bb->dcap = oldcap ? oldcap * 2 : 1 << 14;
	bb->d = xcalloc(bb->dcap, sizeof(*bb->d));
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == 0)
			continue;
		for (j = mix64(old[i].key) & (bb->dcap - 1); bb->d[j].key != 0;
		    j = (j + 1) & (bb->dcap - 1))
			;
		bb->d[j] = old[i];
	}
	free(old);
}

static void
delta_add(struct bayes_batch *bb, uint64_t key, int32_t ds, int32_t dh)
{
	size_t j;

	if ((bb->dn + 1) * 2 > bb->dcap)
		delta_grow(bb);
	for (j = mix64(key) & (bb->dcap - 1); bb->d[j].key != 0;
	    j = (j + 1) & (bb->dcap - 1)) {
		if (bb->d[j].key == key) {
			bb->d[j].ds += ds;
			bb->d[j].dh += dh;
			return;
		}
	}
	bb->d[j].key = key;
	bb->d[j].ds = ds;
	bb->d[j].dh = dh;
	bb->dn++;
}

static struct seenop *
seen_slot(struct bayes_batch *bb, const uint8_t *dg, int create)
{
	struct seenop *old;
	uint64_t h;
	size_t j, i, oldcap;

	if (create && (bb->sn + 1) * 2 > bb->scap) {
		old = bb->s;
		oldcap = bb->scap;
		bb->scap = oldcap ? oldcap * 2 : 256;
		bb->s = xcalloc(bb->scap, sizeof(*bb->s));
		for (i = 0; i < oldcap; i++) {
			if (!old[i].used)
				continue;
			memcpy(&h, old[i].digest, 8);
			for (j = h & (bb->scap - 1); bb->s[j].used;
			    j = (j + 1) & (bb->scap - 1))
				;
			bb->s[j] = old[i];
		}
		free(old);
	}
	if (bb->scap == 0)
		return NULL;
	memcpy(&h, dg, 8);
	for (j = h & (bb->scap - 1); bb->s[j].used;
	    j = (j + 1) & (bb->scap - 1))
		if (memcmp(bb->s[j].digest, dg, STORE_DIGEST_LEN) == 0)
			return &bb->s[j];
	if (!create)
		return NULL;
	bb->s[j].used = 1;
	memcpy(bb->s[j].digest, dg, STORE_DIGEST_LEN);
	bb->sn++;
	return &bb->s[j];
}

enum status
bayes_batch_begin(struct bayes *b, struct bayes_batch **out)
{
	struct bayes_batch *bb;
	enum status rc;

	*out = NULL;
	bb = xcalloc(1, sizeof(*bb));
	bb->b = b;
	bb->day = bayes_today(b);
	toklist_init(&bb->l);
	if ((rc = store_begin(b->st, 1, &bb->t)) != ST_OK) {
		free(bb);
		return rc;
	}
	*out = bb;
	return ST_OK;
}

size_t
bayes_batch_size(const struct bayes_batch *bb)
{
	return bb->nlearned;
}

static void
apply_tokens(struct bayes_batch *bb, int cls, int32_t sign)
{
	size_t i;

	for (i = 0; i < bb->l.n; i++)
		delta_add(bb, bb->l.h[i], cls == STORE_SPAM ? sign : 0,
		    cls == STORE_HAM ? sign : 0);
	if (cls == STORE_SPAM)
		bb->dspam += sign;
	else
		bb->dham += sign;
}

enum status
bayes_batch_learn(struct bayes_batch *bb, const struct msg *m, int cls,
    enum bayes_learn_result *res)
{
	uint8_t dg[STORE_DIGEST_LEN];
	struct store_seen ss;
	struct seenop *op;
	enum status rc;
	int prev;

	bayes_digest(m, dg);
	op = seen_slot(bb, dg, 0);
	if (op != NULL) {
		prev = op->cls;
	} else {
		rc = store_seen_get(bb->t, dg, &ss);
		if (rc == ST_OK)
			prev = ss.cls == STORE_SPAM ? STORE_SPAM : STORE_HAM;
		else if (rc == ST_NOTFOUND)
			prev = BAYES_FORGET;
		else
			return rc;
	}
	if (cls == prev) {
		*res = cls == BAYES_FORGET ? LEARN_UNKNOWN : LEARN_ALREADY;
		return ST_OK;
	}
	tok_msg(m, &bb->b->tok, &bb->l);
	if (prev != BAYES_FORGET)
		apply_tokens(bb, prev, -1);
	if (cls != BAYES_FORGET)
		apply_tokens(bb, cls, +1);
	op = seen_slot(bb, dg, 1);
	op->cls = cls;
	bb->nlearned++;
	*res = prev != BAYES_FORGET && cls != BAYES_FORGET ? LEARN_MOVED :
	    LEARN_DONE;
	return ST_OK;
}

/* LSD radix sort of deltas by key, 8 bits a pass (tmp: n entries) */
static void
sort_deltas(struct delta *a, struct delta *tmp, size_t n)
{
	struct delta *src = a, *dst = tmp, *sw;
	size_t cnt[256], i, sum, t;
	int shift;

	for (shift = 0; shift < 64; shift += 8) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(src[i].key >> shift) & 0xff]++;
		if (cnt[(src[0].key >> shift) & 0xff] == n)
			continue;
		for (i = 0, sum = 0; i < 256; i++) {
			t = cnt[i];
			cnt[i] = sum;
			sum += t;
		}
		for (i = 0; i < n; i++)
			dst[cnt[(src[i].key >> shift) & 0xff]++] = src[i];
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static uint32_t
add_floor(uint32_t v, int64_t d)
{
	int64_t r = (int64_t)v + d;

	if (r < 0)
		return 0;
	if (r > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)r;
}

/* write the batch's changes into transaction t */
/* store_update_many() callback: delta i of the batch onto its counts */
static void
delta_apply(void *arg, size_t i, struct store_counts *c)
{
	struct bayes_batch *bb = arg;
	const struct delta *d = &bb->d[i];

	c->spam = add_floor(c->spam, d->ds);
	c->ham = add_floor(c->ham, d->dh);
	if (d->ds > 0 || d->dh > 0 || c->day == 0)
		c->day = bb->day;
}

static enum status
batch_apply(struct bayes_batch *bb, struct store_txn *t)
{
	struct store_counts c;
	struct store_seen ss;
	enum status rc;
	size_t i, j;

	/* deltas that cancelled out change nothing (idempotent on a retry) */
	for (i = 0, j = 0; i < bb->dn; i++)
		if (bb->d[i].ds != 0 || bb->d[i].dh != 0)
			bb->d[j++] = bb->d[i];
	bb->dn = j;
	if (bb->dn > 0) {
		uint64_t *keys = xreallocarray(NULL, bb->dn, sizeof(*keys));

		for (i = 0; i < bb->dn; i++)
			keys[i] = bb->d[i].key;
		rc = store_update_many(t, keys, bb->dn, delta_apply, bb);
		free(keys);
		if (rc != ST_OK)
			return rc;
	}
	if (bb->dspam != 0 || bb->dham != 0) {
		rc = store_get(t, STORE_TOTALS_KEY, &c);
		if (rc == ST_NOTFOUND)
			memset(&c, 0, sizeof(c));
		else if (rc != ST_OK)
			return rc;
		c.spam = add_floor(c.spam, bb->dspam);
		c.ham = add_floor(c.ham, bb->dham);
		c.day = bb->day;
		if ((rc = store_put(t, STORE_TOTALS_KEY, &c)) != ST_OK)
			return rc;
	}
	for (i = 0; i < bb->scap; i++) {
		const struct seenop *op = &bb->s[i];

		if (!op->used)
			continue;
		if (op->cls == BAYES_FORGET) {
			rc = store_seen_del(t, op->digest);
			if (rc == ST_NOTFOUND)
				rc = ST_OK;
		} else {
			ss.cls = (uint8_t)op->cls;
			ss.day = bb->day;
			rc = store_seen_put(t, op->digest, &ss);
		}
		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

static void
batch_free(struct bayes_batch *bb)
{
	free(bb->d);
	free(bb->s);
	toklist_free(&bb->l);
	free(bb);
}

enum status
bayes_batch_commit(struct bayes_batch *bb)
{
	struct store *st = bb->b->st;
	enum status rc;
	size_t i, j;
	int tries;

	/* compact the deltas and sort them: the B-tree is then walked once */
	for (i = 0, j = 0; i < bb->dcap; i++)
		if (bb->d[i].key != 0)
			bb->d[j++] = bb->d[i];
	bb->dn = j;
	if (j > 0) {
		struct delta *tmp = xreallocarray(NULL, j, sizeof(*tmp));

		sort_deltas(bb->d, tmp, j);
		free(tmp);
	}

	for (tries = 0; ; tries++) {
		rc = batch_apply(bb, bb->t);
		if (rc == ST_OK) {
			rc = store_commit(bb->t);
			bb->t = NULL;
		}
		if (rc != ST_ERR_LIMIT || tries >= BATCH_RETRIES)
			break;
		/* the map is full: grow it and write the batch again */
		store_abort(bb->t);
		bb->t = NULL;
		if ((rc = store_grow(st)) != ST_OK)
			break;
		if ((rc = store_begin(st, 1, &bb->t)) != ST_OK)
			break;
	}
	store_abort(bb->t);
	batch_free(bb);
	return rc;
}

void
bayes_batch_abort(struct bayes_batch *bb)
{
	if (bb == NULL)
		return;
	store_abort(bb->t);
	batch_free(bb);
}

enum status
bayes_write(struct bayes *b, enum status (*fn)(struct store_txn *, void *),
    void *arg)
{
	struct store_txn *t;
	enum status rc;
	int tries;

	for (tries = 0; ; tries++) {
		if ((rc = store_begin(b->st, 1, &t)) != ST_OK)
			return rc;
		rc = fn(t, arg);
		if (rc == ST_OK)
			rc = store_commit(t);
		else
			store_abort(t);
		if (rc != ST_ERR_LIMIT || tries >= BATCH_RETRIES)
			return rc;
		if ((rc = store_grow(b->st)) != ST_OK)
			return rc;
	}
}
