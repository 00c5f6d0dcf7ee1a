/*
 * store_lmdb.c - the LMDB backend of the Bayes store (store.h).
 *
 * Layout: one LMDB environment in a directory (data.mdb, lock.mdb) with
 * three named tables: "tokens" (64-bit hash as a native MDB_INTEGERKEY
 * -> 12-byte big-endian counts), "seen" (16-byte digest -> 5-byte
 * class+day) and "meta" (format version). The data file is therefore
 * tied to the host's byte order; `hamlet bayes dump` moves a store.
 *
 * Concurrency: LMDB gives many concurrent readers (threads and
 * processes) and one writer, with readers never blocked by the writer.
 * The environment is opened with MDB_NOTLS so read transactions are not
 * tied to threads. A process-local rwlock guards the map size: each
 * transaction holds it shared; growing the map (after MDB_MAP_FULL) or
 * adopting a size grown by another process (MDB_MAP_RESIZED) holds it
 * exclusive, as mdb_env_set_mapsize() requires (Postfix slmdb.c does the
 * same dance single-threaded).
 *
 * One environment per store per process (see struct lmdb_env): handles
 * opened on the same data file share it, as LMDB requires.
 *
 * Crash safety: LMDB commits are atomic (copy-on-write pages, meta page
 * written last), so kill -9 of a trainer leaves the last committed
 * state. Stale reader slots of killed processes are cleared at open
 * (mdb_reader_check), and the writer mutex is robust.
 *
 * Ownership: store_close() closes the environment; every transaction
 * must have ended before.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bayes/store.h"
#include "engine/xalloc.h"

#define LMDB_FORMAT	"hamlet-bayes 2"
#define LMDB_MIN_MAP	((size_t)64 << 20)	/* writers start at 64 MiB */
#define LMDB_MAX_MAP	((size_t)1 << 40)	/* never grow past 1 TiB */
#define LMDB_MAXREADERS	1024
#define LMDB_TOKVAL	12
#define LMDB_SEENVAL	5

/*
 * One environment per data file per process: LMDB must not be opened
 * twice in a process (closing the second handle would drop the first
 * one's fcntl locks, and another process could then reset the reader
 * table under our readers). Handles to the same store (a milter reload
 * builds a new engine while the old one finishes its scans) share it
 * through this registry, keyed by the data file's device and inode.
 */
struct lmdb_env {
	struct lmdb_env	*next;
	dev_t		 dev;
	ino_t		 ino;
	int		 refs;		/* under envs_mu */
	int		 rdonly;	/* opened MDB_RDONLY (no write access) */
	MDB_env		*env;
	MDB_dbi		 tok, seen, meta;
	pthread_rwlock_t lock;		/* shared by txns, exclusive to resize */
};

static pthread_mutex_t envs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lmdb_env *envs;

struct lmdb_store {
	struct store	 base;
	struct lmdb_env	*e;
	unsigned	 flags;
	char		*dir;
};

struct lmdb_txn {
	struct store_txn base;
	MDB_txn		*txn;
	int		 write;
};

static struct lmdb_store *
ls(struct store_txn *t)
{
	return (struct lmdb_store *)t->st;
}

static MDB_txn *
lt(struct store_txn *t)
{
	return ((struct lmdb_txn *)t)->txn;
}

static enum status
mdb_status(struct lmdb_store *s, int rc, const char *what)
{
	switch (rc) {
	case 0:
		return ST_OK;
	case MDB_NOTFOUND:
		return ST_NOTFOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
		    "%s: %s: %s", s->dir, what, mdb_strerror(rc));
		return ST_ERR_LIMIT;
	case MDB_READERS_FULL:
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
		    "%s: %s: %s", s->dir, what, mdb_strerror(rc));
		return ST_ERR_BUSY;
	default:
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
		    "%s: %s: %s", s->dir, what, mdb_strerror(rc));
		return ST_ERR_IO;
	}
}

/*
 * Token keys are native 64-bit integers in an MDB_INTEGERKEY table:
 * LMDB compares them as integers (cheaper than memcmp on every step of
 * a lookup) and iterates them in numeric order.
 */
_Static_assert(sizeof(size_t) == sizeof(uint64_t),
    "MDB_INTEGERKEY needs 64-bit size_t for 64-bit keys");

static void
key_enc(uint8_t out[8], uint64_t k)
{
	memcpy(out, &k, 8);
}

static uint64_t
key_dec(const uint8_t *p)
{
	uint64_t k;

	memcpy(&k, p, 8);
	return k;
}

static void
u32_enc(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
u32_dec(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* mdb_env_set_mapsize() with the lock held exclusive */
static int
set_mapsize(struct lmdb_store *s, size_t size)
{
	int rc;

	pthread_rwlock_wrlock(&s->e->lock);
	rc = mdb_env_set_mapsize(s->e->env, size);
	pthread_rwlock_unlock(&s->e->lock);
	return rc;
}

static enum status
lmdb_begin(struct store *st, int write, struct store_txn **out)
{
	struct lmdb_store *s = (struct lmdb_store *)st;
	struct lmdb_txn *t;
	MDB_txn *txn = NULL;
	int rc, tries;

	if (write && ((s->flags & STORE_RDONLY) || s->e->rdonly)) {
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
		    "%s: store opened read-only", s->dir);
		return ST_ERR_INTERNAL;
	}
	for (tries = 0; tries < 5; tries++) {
		pthread_rwlock_rdlock(&s->e->lock);
		rc = mdb_txn_begin(s->e->env, NULL, write ? 0 : MDB_RDONLY, &txn);
		if (rc == 0)
			break;
		pthread_rwlock_unlock(&s->e->lock);
		if (rc != MDB_MAP_RESIZED)
			return mdb_status(s, rc, "begin transaction");
		/* another process grew the map: adopt its size */
		if ((rc = set_mapsize(s, 0)) != 0)
			return mdb_status(s, rc, "adopt map size");
	}
	if (txn == NULL)
		return mdb_status(s, MDB_MAP_RESIZED, "begin transaction");
	t = xcalloc(1, sizeof(*t));
	t->base.st = st;
	t->txn = txn;
	t->write = write;
	*out = &t->base;
	return ST_OK;
}

static enum status
lmdb_commit(struct store_txn *bt)
{
	struct lmdb_store *s = ls(bt);
	int rc = mdb_txn_commit(lt(bt));

	pthread_rwlock_unlock(&s->e->lock);
	free(bt);
	return mdb_status(s, rc, "commit");
}

static void
lmdb_abort(struct store_txn *bt)
{
	struct lmdb_store *s = ls(bt);

	mdb_txn_abort(lt(bt));
	pthread_rwlock_unlock(&s->e->lock);
	free(bt);
}

static void
counts_dec(const MDB_val *v, struct store_counts *out)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < LMDB_TOKVAL) {
		/* a short record cannot come from us; read it as empty */
		memset(out, 0, sizeof(*out));
		return;
	}
	out->spam = u32_dec(p);
	out->ham = u32_dec(p + 4);
	out->day = u32_dec(p + 8);
}

static enum status
lmdb_get(struct store_txn *bt, uint64_t key, struct store_counts *out)
{
	uint8_t kb[8];
	MDB_val k, v;
	int rc;

	key_enc(kb, key);
	k.mv_size = 8;
	k.mv_data = kb;
	rc = mdb_get(lt(bt), ls(bt)->e->tok, &k, &v);
	if (rc != 0)
		return mdb_status(ls(bt), rc, "get token");
	counts_dec(&v, out);
	return ST_OK;
}

/*
 * Sorted keys through one cursor: LMDB's MDB_SET first looks on the
 * cursor's current leaf page, so neighbouring keys skip the descent.
 */
static enum status
lmdb_get_many(struct store_txn *bt, const uint64_t *keys, size_t n,
    struct store_counts *out)
{
	MDB_cursor *cur;
	uint8_t kb[8];
	MDB_val k, v;
	size_t i;
	int rc;

	if ((rc = mdb_cursor_open(lt(bt), ls(bt)->e->tok, &cur)) != 0)
		return mdb_status(ls(bt), rc, "cursor");
	for (i = 0; i < n; i++) {
		key_enc(kb, keys[i]);
		k.mv_size = 8;
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
		if (rc == MDB_NOTFOUND) {
			memset(&out[i], 0, sizeof(out[i]));
			continue;
		}
		if (rc != 0) {
			mdb_cursor_close(cur);
			return mdb_status(ls(bt), rc, "get tokens");
		}
		counts_dec(&v, &out[i]);
	}
	mdb_cursor_close(cur);
	return ST_OK;
}

/*
 * Keys in ascending order: each MDB_SET mostly finds the cursor already
 * on the right leaf page, and an existing record is overwritten where it
 * is (MDB_CURRENT, same size) instead of being searched for again.
 */
static enum status
lmdb_update_many(struct store_txn *bt, const uint64_t *keys, size_t n,
    void (*fn)(void *, size_t, struct store_counts *), void *arg)
{
	MDB_cursor *cur;
	struct store_counts c;
	uint8_t kb[8], vb[LMDB_TOKVAL];
	MDB_val k, v;
	size_t i;
	int rc, found;

	if ((rc = mdb_cursor_open(lt(bt), ls(bt)->e->tok, &cur)) != 0)
		return mdb_status(ls(bt), rc, "cursor");
	for (i = 0; i < n; i++) {
		key_enc(kb, keys[i]);
		k.mv_size = 8;
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
		if (rc == 0) {
			counts_dec(&v, &c);
			found = 1;
		} else if (rc == MDB_NOTFOUND) {
			memset(&c, 0, sizeof(c));
			found = 0;
		} else
			goto fail;
		fn(arg, i, &c);
		if (keys[i] != STORE_TOTALS_KEY && c.spam == 0 && c.ham == 0) {
			/* as store_put(): an empty record goes */
			if (found && (rc = mdb_cursor_del(cur, 0)) != 0)
				goto fail;
			continue;
		}
		u32_enc(vb, c.spam);
		u32_enc(vb + 4, c.ham);
		u32_enc(vb + 8, c.day);
		k.mv_size = 8;
		k.mv_data = kb;
		v.mv_size = sizeof(vb);
		v.mv_data = vb;
		if ((rc = mdb_cursor_put(cur, &k, &v, found ? MDB_CURRENT : 0)) != 0)
			goto fail;
	}
	mdb_cursor_close(cur);
	return ST_OK;
fail:
	mdb_cursor_close(cur);
	return mdb_status(ls(bt), rc, "update tokens");
}

static enum status
lmdb_put(struct store_txn *bt, uint64_t key, const struct store_counts *c)
{
	uint8_t kb[8], vb[LMDB_TOKVAL];
	MDB_val k, v;

	key_enc(kb, key);
	u32_enc(vb, c->spam);
	u32_enc(vb + 4, c->ham);
	u32_enc(vb + 8, c->day);
	k.mv_size = 8;
	k.mv_data = kb;
	v.mv_size = sizeof(vb);
	v.mv_data = vb;
	return mdb_status(ls(bt), mdb_put(lt(bt), ls(bt)->e->tok, &k, &v, 0),
	    "put token");
}

static enum status
lmdb_del(struct store_txn *bt, uint64_t key)
{
	uint8_t kb[8];
	MDB_val k;

	key_enc(kb, key);
	k.mv_size = 8;
	k.mv_data = kb;
	return mdb_status(ls(bt), mdb_del(lt(bt), ls(bt)->e->tok, &k, NULL),
	    "delete token");
}

static enum status
lmdb_seen_get(struct store_txn *bt, const uint8_t *d, struct store_seen *out)
{
	MDB_val k, v;
	int rc;

	k.mv_size = STORE_DIGEST_LEN;
	k.mv_data = (void *)d;
	rc = mdb_get(lt(bt), ls(bt)->e->seen, &k, &v);
	if (rc != 0)
		return mdb_status(ls(bt), rc, "get seen");
	if (v.mv_size < LMDB_SEENVAL)
		return ST_NOTFOUND;
	out->cls = ((const uint8_t *)v.mv_data)[0];
	out->day = u32_dec((const uint8_t *)v.mv_data + 1);
	return ST_OK;
}

static enum status
lmdb_seen_put(struct store_txn *bt, const uint8_t *d,
    const struct store_seen *s)
{
	uint8_t vb[LMDB_SEENVAL];
	MDB_val k, v;

	vb[0] = s->cls;
	u32_enc(vb + 1, s->day);
	k.mv_size = STORE_DIGEST_LEN;
	k.mv_data = (void *)d;
	v.mv_size = sizeof(vb);
	v.mv_data = vb;
	return mdb_status(ls(bt), mdb_put(lt(bt), ls(bt)->e->seen, &k, &v, 0),
	    "put seen");
}

static enum status
lmdb_seen_del(struct store_txn *bt, const uint8_t *d)
{
	MDB_val k;

	k.mv_size = STORE_DIGEST_LEN;
	k.mv_data = (void *)d;
	return mdb_status(ls(bt), mdb_del(lt(bt), ls(bt)->e->seen, &k, NULL),
	    "delete seen");
}

static enum status
lmdb_foreach(struct store_txn *bt,
    int (*fn)(void *, uint64_t, const struct store_counts *), void *arg)
{
	struct store_counts c;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(lt(bt), ls(bt)->e->tok, &cur);
	if (rc != 0)
		return mdb_status(ls(bt), rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8)
			continue;
		counts_dec(&v, &c);
		if (fn(arg, key_dec(k.mv_data), &c))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? ST_OK :
	    mdb_status(ls(bt), rc, "iterate tokens");
}

static enum status
lmdb_seen_foreach(struct store_txn *bt,
    int (*fn)(void *, const uint8_t *, const struct store_seen *), void *arg)
{
	struct store_seen s;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(lt(bt), ls(bt)->e->seen, &cur);
	if (rc != 0)
		return mdb_status(ls(bt), rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != STORE_DIGEST_LEN || v.mv_size < LMDB_SEENVAL)
			continue;
		s.cls = ((const uint8_t *)v.mv_data)[0];
		s.day = u32_dec((const uint8_t *)v.mv_data + 1);
		if (fn(arg, k.mv_data, &s))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? ST_OK :
	    mdb_status(ls(bt), rc, "iterate seen");
}

static enum status
lmdb_clear(struct store_txn *bt)
{
	int rc;

	if ((rc = mdb_drop(lt(bt), ls(bt)->e->tok, 0)) != 0 ||
	    (rc = mdb_drop(lt(bt), ls(bt)->e->seen, 0)) != 0)
		return mdb_status(ls(bt), rc, "clear");
	return ST_OK;
}

static enum status
lmdb_info(struct store_txn *bt, struct store_info *out)
{
	struct lmdb_store *s = ls(bt);
	MDB_stat ms, es;
	MDB_envinfo ei;
	struct stat sb;
	char *path;
	int rc;

	if ((rc = mdb_stat(lt(bt), s->e->tok, &ms)) != 0)
		return mdb_status(s, rc, "stat tokens");
	out->ntokens = ms.ms_entries;
	out->bytes_used = (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages +
	    ms.ms_overflow_pages) * ms.ms_psize;
	if ((rc = mdb_stat(lt(bt), s->e->seen, &ms)) != 0)
		return mdb_status(s, rc, "stat seen");
	out->nseen = ms.ms_entries;
	out->bytes_used += (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages +
	    ms.ms_overflow_pages) * ms.ms_psize;
	if (mdb_env_stat(s->e->env, &es) == 0 && mdb_env_info(s->e->env, &ei) == 0)
		out->map_size = ei.me_mapsize;
	/* the totals record is not a token */
	{
		struct store_counts c;

		if (lmdb_get(bt, STORE_TOTALS_KEY, &c) == ST_OK &&
		    out->ntokens > 0)
			out->ntokens--;
	}
	path = xasprintf("%s/data.mdb", s->dir);
	if (stat(path, &sb) == 0)
		out->file_size = (uint64_t)sb.st_size;
	free(path);
	return ST_OK;
}

static enum status
lmdb_grow(struct store *st)
{
	struct lmdb_store *s = (struct lmdb_store *)st;
	MDB_envinfo ei;
	size_t size;
	int rc;

	pthread_rwlock_wrlock(&s->e->lock);
	mdb_env_info(s->e->env, &ei);
	size = ei.me_mapsize;
	if (size >= LMDB_MAX_MAP) {
		pthread_rwlock_unlock(&s->e->lock);
		snprintf(s->base.errmsg, sizeof(s->base.errmsg),
		    "%s: store reached its size limit", s->dir);
		return ST_ERR_LIMIT;
	}
	size *= 2;
	rc = mdb_env_set_mapsize(s->e->env, size);
	pthread_rwlock_unlock(&s->e->lock);
	return mdb_status(s, rc, "grow map");
}

static void
env_free(struct lmdb_env *e)
{
	if (e->env != NULL)
		mdb_env_close(e->env);
	pthread_rwlock_destroy(&e->lock);
	free(e);
}

static void
lmdb_close(struct store *st)
{
	struct lmdb_store *s = (struct lmdb_store *)st;
	struct lmdb_env **pp;

	pthread_mutex_lock(&envs_mu);
	if (--s->e->refs == 0) {
		for (pp = &envs; *pp != NULL; pp = &(*pp)->next)
			if (*pp == s->e) {
				*pp = s->e->next;
				break;
			}
		env_free(s->e);
	}
	pthread_mutex_unlock(&envs_mu);
	free(s->dir);
	free(s);
}

static const struct store_ops lmdb_ops = {
	lmdb_begin, lmdb_commit, lmdb_abort, lmdb_get, lmdb_get_many,
	lmdb_put, lmdb_del,
	lmdb_seen_get, lmdb_seen_put, lmdb_seen_del, lmdb_foreach,
	lmdb_seen_foreach, lmdb_clear, lmdb_info, lmdb_grow, lmdb_close,
	lmdb_update_many
};

/* mkdir -p with mode 0700 for the components we create */
static int
mkdir_p(const char *dir)
{
	char *p, *copy = xstrdup(dir);
	int rc = 0;

	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return rc;
}

/* open the tables; create them (and the format record) when asked */
static int
open_tables(struct lmdb_env *e, const char *dir, int create, char *err,
    size_t errlen)
{
	unsigned dflags = create ? MDB_CREATE : 0;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	rc = mdb_txn_begin(e->env, NULL,
	    create && !e->rdonly ? 0 : MDB_RDONLY, &txn);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "tokens", dflags | MDB_INTEGERKEY,
	    &e->tok)) != 0 ||
	    (rc = mdb_dbi_open(txn, "seen", dflags, &e->seen)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", dflags, &e->meta)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	k.mv_data = "format";
	k.mv_size = 6;
	rc = mdb_get(txn, e->meta, &k, &v);
	if (rc == MDB_NOTFOUND && create) {
		v.mv_data = LMDB_FORMAT;
		v.mv_size = strlen(LMDB_FORMAT);
		rc = mdb_put(txn, e->meta, &k, &v, 0);
	} else if (rc == 0 && (v.mv_size != strlen(LMDB_FORMAT) ||
	    memcmp(v.mv_data, LMDB_FORMAT, v.mv_size) != 0)) {
		mdb_txn_abort(txn);
		snprintf(err, errlen, "%s: not a hamlet Bayes store of format "
		    "\"%s\"", dir, LMDB_FORMAT);
		return -1;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: open tables: %s", dir,
	    rc == MDB_NOTFOUND ? "store has no Bayes tables" :
	    mdb_strerror(rc));
	return -1;
}

static int
env_open(struct lmdb_env *e, const char *dir, unsigned flags,
    unsigned mflags)
{
	int rc;

	if ((rc = mdb_env_create(&e->env)) != 0) {
		e->env = NULL;
		return rc;
	}
	mdb_env_set_maxdbs(e->env, 4);
	if (flags & STORE_SMALLMAP)
		mdb_env_set_mapsize(e->env, (size_t)256 << 10);
	mdb_env_set_maxreaders(e->env, LMDB_MAXREADERS);
	return mdb_env_open(e->env, dir, MDB_NOTLS | mflags, 0600);
}

enum status
store_lmdb_open(const char *dir, unsigned flags, struct store **out,
    char *err, size_t errlen)
{
	pthread_rwlockattr_t ra;
	struct lmdb_store *s;
	struct lmdb_env *e;
	MDB_envinfo ei;
	struct stat sb;
	char *path;
	int rc, dead, exists;

	*out = NULL;
	path = xasprintf("%s/data.mdb", dir);
	exists = stat(path, &sb) == 0;
	if (!exists) {
		if (!(flags & STORE_CREATE)) {
			snprintf(err, errlen, "%s: no Bayes store", dir);
			free(path);
			return ST_NOTFOUND;
		}
		if (mkdir_p(dir) != 0) {
			snprintf(err, errlen, "%s: mkdir: %s", dir,
			    strerror(errno));
			free(path);
			return ST_ERR_IO;
		}
	}
	pthread_mutex_lock(&envs_mu);
	for (e = envs; exists && e != NULL; e = e->next)
		if (e->dev == sb.st_dev && e->ino == sb.st_ino)
			break;
	if (e != NULL && e->rdonly && !(flags & STORE_RDONLY)) {
		pthread_mutex_unlock(&envs_mu);
		snprintf(err, errlen, "%s: no write access", dir);
		free(path);
		return ST_ERR_IO;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		/* writers first, so a grow is not starved by readers */
		pthread_rwlockattr_init(&ra);
		pthread_rwlockattr_setkind_np(&ra,
		    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&e->lock, &ra);
		pthread_rwlockattr_destroy(&ra);
		/*
		 * Read-write even for readers when we may, so later handles
		 * of this process can share the environment to write.
		 */
		rc = env_open(e, dir, flags, 0);
		if ((rc == EACCES || rc == EROFS) && (flags & STORE_RDONLY)) {
			mdb_env_close(e->env);
			e->env = NULL;
			e->rdonly = 1;
			rc = env_open(e, dir, flags, MDB_RDONLY);
		}
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
			goto fail;
		}
		/* free the reader slots of processes killed while reading */
		mdb_reader_check(e->env, &dead);
		if (!e->rdonly && !(flags & STORE_SMALLMAP) &&
		    mdb_env_info(e->env, &ei) == 0 &&
		    ei.me_mapsize < LMDB_MIN_MAP &&
		    (rc = mdb_env_set_mapsize(e->env, LMDB_MIN_MAP)) != 0) {
			snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
			goto fail;
		}
		if (open_tables(e, dir, (flags & STORE_CREATE) != 0, err,
		    errlen) != 0)
			goto fail;
		if (stat(path, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		e->dev = sb.st_dev;
		e->ino = sb.st_ino;
		e->next = envs;
		envs = e;
	}
	e->refs++;
	pthread_mutex_unlock(&envs_mu);
	free(path);
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &lmdb_ops;
	s->flags = flags;
	s->dir = xstrdup(dir);
	s->e = e;
	*out = &s->base;
	return ST_OK;
fail:
	pthread_mutex_unlock(&envs_mu);
	env_free(e);
	free(path);
	return ST_ERR_IO;
}
