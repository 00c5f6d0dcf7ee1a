/*
 * store.c - dispatch from the store_* interface to a backend's ops, and
 * the few helpers built on top of them (get_many, totals).
 *
 * Ownership: a store is freed by store_close(); a transaction ends with
 * store_commit() or store_abort(), either of which frees it.
 */
#include <string.h>

#include "bayes/store.h"

void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

enum status
store_begin(struct store *st, int write, struct store_txn **out)
{
	*out = NULL;
	return st->ops->begin(st, write, out);
}

enum status
store_commit(struct store_txn *t)
{
	return t->st->ops->commit(t);
}

void
store_abort(struct store_txn *t)
{
	if (t != NULL)
		t->st->ops->abort(t);
}

enum status
store_get(struct store_txn *t, uint64_t key, struct store_counts *out)
{
	return t->st->ops->get(t, key, out);
}

enum status
store_get_many(struct store_txn *t, const uint64_t *keys, size_t n,
    struct store_counts *out)
{
	enum status st;
	size_t i;

	if (t->st->ops->get_many != NULL)
		return t->st->ops->get_many(t, keys, n, out);
	for (i = 0; i < n; i++) {
		st = t->st->ops->get(t, keys[i], &out[i]);
		if (st == ST_NOTFOUND)
			memset(&out[i], 0, sizeof(out[i]));
		else if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status
store_update_many(struct store_txn *t, const uint64_t *keys, size_t n,
    void (*fn)(void *, size_t, struct store_counts *), void *arg)
{
	struct store_counts c;
	enum status st;
	size_t i;

	if (t->st->ops->update_many != NULL)
		return t->st->ops->update_many(t, keys, n, fn, arg);
	for (i = 0; i < n; i++) {
		st = t->st->ops->get(t, keys[i], &c);
		if (st == ST_NOTFOUND)
			memset(&c, 0, sizeof(c));
		else if (st != ST_OK)
			return st;
		fn(arg, i, &c);
		if ((st = store_put(t, keys[i], &c)) != ST_OK)
			return st;
	}
	return ST_OK;
}

enum status
store_put(struct store_txn *t, uint64_t key, const struct store_counts *c)
{
	if (key != STORE_TOTALS_KEY && c->spam == 0 && c->ham == 0) {
		enum status st = t->st->ops->del(t, key);
		return st == ST_NOTFOUND ? ST_OK : st;
	}
	return t->st->ops->put(t, key, c);
}

enum status
store_del(struct store_txn *t, uint64_t key)
{
	return t->st->ops->del(t, key);
}

enum status
store_seen_get(struct store_txn *t, const uint8_t *digest,
    struct store_seen *out)
{
	return t->st->ops->seen_get(t, digest, out);
}

enum status
store_seen_put(struct store_txn *t, const uint8_t *digest,
    const struct store_seen *s)
{
	return t->st->ops->seen_put(t, digest, s);
}

enum status
store_seen_del(struct store_txn *t, const uint8_t *digest)
{
	return t->st->ops->seen_del(t, digest);
}

enum status
store_foreach(struct store_txn *t,
    int (*fn)(void *, uint64_t, const struct store_counts *), void *arg)
{
	return t->st->ops->foreach(t, fn, arg);
}

enum status
store_seen_foreach(struct store_txn *t,
    int (*fn)(void *, const uint8_t *, const struct store_seen *), void *arg)
{
	return t->st->ops->seen_foreach(t, fn, arg);
}

enum status
store_clear(struct store_txn *t)
{
	return t->st->ops->clear(t);
}

enum status
store_info(struct store_txn *t, struct store_info *out)
{
	memset(out, 0, sizeof(*out));
	return t->st->ops->info(t, out);
}

enum status
store_totals(struct store_txn *t, uint32_t *nspam, uint32_t *nham)
{
	struct store_counts c;
	enum status st;

	st = t->st->ops->get(t, STORE_TOTALS_KEY, &c);
	if (st == ST_NOTFOUND) {
		*nspam = *nham = 0;
		return ST_OK;
	}
	if (st != ST_OK)
		return st;
	*nspam = c.spam;
	*nham = c.ham;
	return ST_OK;
}

enum status
store_grow(struct store *st)
{
	return st->ops->grow(st);
}

const char *
store_errmsg(const struct store *st)
{
	return st != NULL ? st->errmsg : "";
}
