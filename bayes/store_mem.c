/*
 * store_mem.c - the in-memory store backend, for unit tests.
 *
 * Both tables are sorted arrays searched by bisection: simple and
 * obviously correct, O(n) per insert, which is fine for test sizes.
 * A write transaction copies both arrays at begin; abort restores the
 * copy, so tests can check rollback. Not thread-safe.
 *
 * Ownership: store_close() frees everything; transactions are freed by
 * commit/abort.
 */
#include <stdlib.h>
#include <string.h>

#include "bayes/store.h"
#include "engine/xalloc.h"

struct mem_tok {
	uint64_t		 key;
	struct store_counts	 c;
};

struct mem_seen {
	uint8_t			 digest[STORE_DIGEST_LEN];
	struct store_seen	 s;
};

struct mem_tables {
	struct mem_tok	*tok;
	size_t		 ntok, captok;
	struct mem_seen	*seen;
	size_t		 nseen, capseen;
};

struct mem_store {
	struct store	 base;
	struct mem_tables t;
	int		 writing;
};

struct mem_txn {
	struct store_txn base;
	int		 write;
	struct mem_tables saved;	/* write: the state at begin */
};

static void
tables_free(struct mem_tables *t)
{
	free(t->tok);
	free(t->seen);
	memset(t, 0, sizeof(*t));
}

static void
tables_copy(struct mem_tables *dst, const struct mem_tables *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->ntok = dst->captok = src->ntok;
	if (src->ntok)
		dst->tok = xmemdup(src->tok, src->ntok * sizeof(*src->tok));
	dst->nseen = dst->capseen = src->nseen;
	if (src->nseen)
		dst->seen = xmemdup(src->seen, src->nseen * sizeof(*src->seen));
}

/* index of key, or of where it would go; *found set */
static size_t
tok_find(const struct mem_tables *t, uint64_t key, int *found)
{
	size_t lo = 0, hi = t->ntok, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->tok[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->ntok && t->tok[lo].key == key;
	return lo;
}

static size_t
seen_find(const struct mem_tables *t, const uint8_t *d, int *found)
{
	size_t lo = 0, hi = t->nseen, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(t->seen[mid].digest, d, STORE_DIGEST_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->nseen &&
	    memcmp(t->seen[lo].digest, d, STORE_DIGEST_LEN) == 0;
	return lo;
}

static struct mem_store *
ms(struct store_txn *t)
{
	return (struct mem_store *)t->st;
}

static enum status
mem_begin(struct store *st, int write, struct store_txn **out)
{
	struct mem_store *m = (struct mem_store *)st;
	struct mem_txn *t;

	if (write && m->writing)
		return ST_ERR_BUSY;
	t = xcalloc(1, sizeof(*t));
	t->base.st = st;
	t->write = write;
	if (write) {
		m->writing = 1;
		tables_copy(&t->saved, &m->t);
	}
	*out = &t->base;
	return ST_OK;
}

static enum status
mem_commit(struct store_txn *bt)
{
	struct mem_txn *t = (struct mem_txn *)bt;

	if (t->write) {
		ms(bt)->writing = 0;
		tables_free(&t->saved);
	}
	free(t);
	return ST_OK;
}

static void
mem_abort(struct store_txn *bt)
{
	struct mem_txn *t = (struct mem_txn *)bt;
	struct mem_store *m = ms(bt);

	if (t->write) {
		tables_free(&m->t);
		m->t = t->saved;
		m->writing = 0;
	}
	free(t);
}

static enum status
mem_get(struct store_txn *bt, uint64_t key, struct store_counts *out)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i = tok_find(t, key, &found);

	if (!found)
		return ST_NOTFOUND;
	*out = t->tok[i].c;
	return ST_OK;
}

static enum status
mem_put(struct store_txn *bt, uint64_t key, const struct store_counts *c)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i;

	if (!((struct mem_txn *)bt)->write)
		return ST_ERR_INTERNAL;
	i = tok_find(t, key, &found);
	if (!found) {
		if (t->ntok == t->captok) {
			t->captok = t->captok ? t->captok * 2 : 64;
			t->tok = xreallocarray(t->tok, t->captok,
			    sizeof(*t->tok));
		}
		memmove(&t->tok[i + 1], &t->tok[i],
		    (t->ntok - i) * sizeof(*t->tok));
		t->ntok++;
		t->tok[i].key = key;
	}
	t->tok[i].c = *c;
	return ST_OK;
}

static enum status
mem_del(struct store_txn *bt, uint64_t key)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i;

	if (!((struct mem_txn *)bt)->write)
		return ST_ERR_INTERNAL;
	i = tok_find(t, key, &found);
	if (!found)
		return ST_NOTFOUND;
	memmove(&t->tok[i], &t->tok[i + 1],
	    (t->ntok - i - 1) * sizeof(*t->tok));
	t->ntok--;
	return ST_OK;
}

static enum status
mem_seen_get(struct store_txn *bt, const uint8_t *d, struct store_seen *out)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i = seen_find(t, d, &found);

	if (!found)
		return ST_NOTFOUND;
	*out = t->seen[i].s;
	return ST_OK;
}

static enum status
mem_seen_put(struct store_txn *bt, const uint8_t *d,
    const struct store_seen *s)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i;

	if (!((struct mem_txn *)bt)->write)
		return ST_ERR_INTERNAL;
	i = seen_find(t, d, &found);
	if (!found) {
		if (t->nseen == t->capseen) {
			t->capseen = t->capseen ? t->capseen * 2 : 64;
			t->seen = xreallocarray(t->seen, t->capseen,
			    sizeof(*t->seen));
		}
		memmove(&t->seen[i + 1], &t->seen[i],
		    (t->nseen - i) * sizeof(*t->seen));
		t->nseen++;
		memcpy(t->seen[i].digest, d, STORE_DIGEST_LEN);
	}
	t->seen[i].s = *s;
	return ST_OK;
}

static enum status
mem_seen_del(struct store_txn *bt, const uint8_t *d)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;
	size_t i;

	if (!((struct mem_txn *)bt)->write)
		return ST_ERR_INTERNAL;
	i = seen_find(t, d, &found);
	if (!found)
		return ST_NOTFOUND;
	memmove(&t->seen[i], &t->seen[i + 1],
	    (t->nseen - i - 1) * sizeof(*t->seen));
	t->nseen--;
	return ST_OK;
}

static enum status
mem_foreach(struct store_txn *bt,
    int (*fn)(void *, uint64_t, const struct store_counts *), void *arg)
{
	struct mem_tables *t = &ms(bt)->t;
	size_t i;

	for (i = 0; i < t->ntok; i++)
		if (fn(arg, t->tok[i].key, &t->tok[i].c))
			break;
	return ST_OK;
}

static enum status
mem_seen_foreach(struct store_txn *bt,
    int (*fn)(void *, const uint8_t *, const struct store_seen *), void *arg)
{
	struct mem_tables *t = &ms(bt)->t;
	size_t i;

	for (i = 0; i < t->nseen; i++)
		if (fn(arg, t->seen[i].digest, &t->seen[i].s))
			break;
	return ST_OK;
}

static enum status
mem_clear(struct store_txn *bt)
{
	struct mem_tables *t = &ms(bt)->t;

	t->ntok = 0;
	t->nseen = 0;
	return ST_OK;
}

static enum status
mem_info(struct store_txn *bt, struct store_info *out)
{
	struct mem_tables *t = &ms(bt)->t;
	int found;

	tok_find(t, STORE_TOTALS_KEY, &found);
	out->ntokens = t->ntok - (found ? 1 : 0);
	out->nseen = t->nseen;
	out->bytes_used = t->ntok * sizeof(*t->tok) +
	    t->nseen * sizeof(*t->seen);
	return ST_OK;
}

static enum status
mem_grow(struct store *st)
{
	return ST_OK;
}

static void
mem_close(struct store *st)
{
	struct mem_store *m = (struct mem_store *)st;

	tables_free(&m->t);
	free(m);
}

static const struct store_ops mem_ops = {
	mem_begin, mem_commit, mem_abort, mem_get, NULL, mem_put, mem_del,
	mem_seen_get, mem_seen_put, mem_seen_del, mem_foreach,
	mem_seen_foreach, mem_clear, mem_info, mem_grow, mem_close,
	NULL		/* update_many: get and put */
};

struct store *
store_mem_new(void)
{
	struct mem_store *m = xcalloc(1, sizeof(*m));

	m->base.ops = &mem_ops;
	return &m->base;
}
