/*
 * store.h - the Bayes token store: a backend-neutral interface
 * (bogofilter's datastore.h) with two backends, LMDB (store_lmdb.c, the
 * real one) and memory (store_mem.c, for unit tests).
 *
 * Two tables:
 *   tokens: 64-bit token hash -> spam count, ham count, last-learned day.
 *           Key STORE_TOTALS_KEY (0) is reserved: its counts are the
 *           numbers of spam and ham messages learned. The tokenizer never
 *           produces hash 0.
 *   seen:   16-byte message digest -> class learned (spam/ham) and day.
 *           Totals always equal the number of seen entries per class.
 *
 * All access goes through transactions. A read transaction sees one
 * consistent snapshot; at most one write transaction runs at a time per
 * store (LMDB serializes writers across processes). A write transaction
 * either commits as a whole or leaves nothing behind.
 *
 * Lookups are three-way: ST_OK, ST_NOTFOUND, or an error status.
 * ST_ERR_LIMIT from a write call means the store is full: abort the
 * transaction, call store_grow() and redo the work.
 */
#ifndef HAMLET_STORE_H
#define HAMLET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

#define STORE_TOTALS_KEY	((uint64_t)0)
#define STORE_DIGEST_LEN	16

enum store_class { STORE_HAM = 0, STORE_SPAM = 1 };

struct store_counts {
	uint32_t	 spam;
	uint32_t	 ham;
	uint32_t	 day;		/* days since 1970-01-01 of the last learn */
};

struct store_seen {
	uint8_t		 cls;		/* enum store_class */
	uint32_t	 day;
};

struct store_info {
	uint64_t	 ntokens;	/* not counting the totals record */
	uint64_t	 nseen;
	uint64_t	 bytes_used;	/* pages in use * page size */
	uint64_t	 map_size;	/* current map size (0 for memory) */
	uint64_t	 file_size;
};

struct store;
struct store_txn;

/* backend entry points; users call the store_* wrappers below */
struct store_ops {
	enum status (*begin)(struct store *, int write, struct store_txn **);
	enum status (*commit)(struct store_txn *);
	void (*abort)(struct store_txn *);
	enum status (*get)(struct store_txn *, uint64_t, struct store_counts *);
	/* optional: n sorted keys at once (missing: zero counts) */
	enum status (*get_many)(struct store_txn *, const uint64_t *, size_t,
	    struct store_counts *);
	enum status (*put)(struct store_txn *, uint64_t,
	    const struct store_counts *);
	enum status (*del)(struct store_txn *, uint64_t);
	enum status (*seen_get)(struct store_txn *, const uint8_t *,
	    struct store_seen *);
	enum status (*seen_put)(struct store_txn *, const uint8_t *,
	    const struct store_seen *);
	enum status (*seen_del)(struct store_txn *, const uint8_t *);
	enum status (*foreach)(struct store_txn *,
	    int (*)(void *, uint64_t, const struct store_counts *), void *);
	enum status (*seen_foreach)(struct store_txn *,
	    int (*)(void *, const uint8_t *, const struct store_seen *),
	    void *);
	enum status (*clear)(struct store_txn *);
	enum status (*info)(struct store_txn *, struct store_info *);
	enum status (*grow)(struct store *);
	void (*close)(struct store *);
	/* optional: see store_update_many(); NULL: get and put each key */
	enum status (*update_many)(struct store_txn *, const uint64_t *, size_t,
	    void (*)(void *, size_t, struct store_counts *), void *);
};

/* every backend's handle starts with this */
struct store {
	const struct store_ops *ops;
	char		 errmsg[160];	/* last backend error, for messages */
};

/* every backend's transaction starts with this */
struct store_txn {
	struct store	*st;
};

enum store_open_flags {
	STORE_RDONLY	= 1 << 0,	/* never writes (check, milter without auto-learn) */
	STORE_CREATE	= 1 << 1,	/* create the directory and tables */
	STORE_SMALLMAP	= 1 << 2	/* tests: start with a 256 KiB map so the
					   grow-on-MAP_FULL path runs */
};

/*
 * Open the LMDB store in directory dir. ST_NOTFOUND when the store does
 * not exist and STORE_CREATE is not given. On error, err holds a
 * message naming the path.
 */
enum status store_lmdb_open(const char *dir, unsigned flags,
    struct store **out /* OUT */, char *err, size_t errlen);

/* A fresh, empty in-memory store (tests). */
struct store *store_mem_new(void);

/* Accepts NULL. The store must have no open transaction. */
void store_close(struct store *st);

enum status store_begin(struct store *st, int write,
    struct store_txn **out /* OUT */);
enum status store_commit(struct store_txn *t);
/* Accepts NULL. */
void store_abort(struct store_txn *t);

enum status store_get(struct store_txn *t, uint64_t key,
    struct store_counts *out /* OUT */);
/*
 * Look up n keys (any order); missing keys get zero counts. Returns
 * ST_OK or an error.
 */
enum status store_get_many(struct store_txn *t, const uint64_t *keys,
    size_t n, struct store_counts *out /* OUT: n entries */);
/* A record with spam == ham == 0 is deleted (except the totals). */
enum status store_put(struct store_txn *t, uint64_t key,
    const struct store_counts *c);
enum status store_del(struct store_txn *t, uint64_t key);
/*
 * Read-modify-write of n keys given in ascending order: fn(arg, i, c)
 * gets key i's counts (zero when missing) and changes them; they are
 * then stored as by store_put(). One B-tree walk instead of a lookup
 * and an insert per key (the trainer's batch commit).
 */
enum status store_update_many(struct store_txn *t, const uint64_t *keys,
    size_t n, void (*fn)(void *arg, size_t i, struct store_counts *c),
    void *arg);

enum status store_seen_get(struct store_txn *t, const uint8_t *digest,
    struct store_seen *out /* OUT */);
enum status store_seen_put(struct store_txn *t, const uint8_t *digest,
    const struct store_seen *s);
enum status store_seen_del(struct store_txn *t, const uint8_t *digest);

/*
 * Visit every token record (totals included, key 0 first) in ascending
 * key order. fn returns nonzero to stop early.
 */
enum status store_foreach(struct store_txn *t,
    int (*fn)(void *arg, uint64_t key, const struct store_counts *c),
    void *arg);
/* Visit every seen record in ascending digest order. */
enum status store_seen_foreach(struct store_txn *t,
    int (*fn)(void *arg, const uint8_t *digest, const struct store_seen *s),
    void *arg);
/* Empty both tables (restore). */
enum status store_clear(struct store_txn *t);
enum status store_info(struct store_txn *t, struct store_info *out /* OUT */);
/* Totals (key 0): message counts learned. Missing totals read as 0/0. */
enum status store_totals(struct store_txn *t, uint32_t *nspam, uint32_t *nham);

/* Make room after ST_ERR_LIMIT; no transaction of st may be open. */
enum status store_grow(struct store *st);

/* The last backend error message ("" if none). */
const char *store_errmsg(const struct store *st);

#endif
