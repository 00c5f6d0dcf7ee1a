/*
 * bayes.h - the Bayes classifier as a module of the engine, and the
 * learning and maintenance API the `hamlet` command uses.
 *
 * A struct bayes is a store (store.h) plus the tokenizer options and
 * classifier parameters taken from one config. Classification is
 * thread-safe (each call uses its own read transaction). Learning goes
 * through batches: one write transaction per batch, so a crash or
 * Ctrl-C keeps everything up to the last committed batch and nothing of
 * the current one.
 */
#ifndef HAMLET_BAYES_H
#define HAMLET_BAYES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bayes/classify.h"
#include "bayes/store.h"
#include "bayes/tok.h"
#include "engine/cfg.h"
#include "engine/msg.h"
#include "engine/scan.h"
#include "engine/status.h"

struct engine;
struct bayes;
struct bayes_batch;

/*
 * Wire Bayes into an engine: define the BAYES_00 ... BAYES_999 and
 * BAYES_ERROR symbols (SpamAssassin 4 default scores; a rules file's
 * score line wins), register the STAGE_BAYES check and the STAGE_LEARN
 * auto-learn check. The store is db_path, else cfg bayes_path, else the
 * default path (bayes_default_path). A missing store leaves Bayes
 * silently inactive (it is looked for again at most once a minute, so a
 * long-running milter picks up a store trained later). Returns ST_OK
 * unless the engine cannot be set up; store problems are reported per
 * message as BAYES_ERROR.
 */
enum status bayes_attach(struct engine *e, const char *db_path, char *err,
    size_t errlen);

/*
 * The store path to use: db_path if not NULL/empty, else cfg bayes_path
 * if set, else /var/lib/hamlet/bayes for root and ~/.hamlet/bayes for
 * other users. Caller frees.
 */
char *bayes_default_path(const struct cfg *c, const char *db_path);

/*
 * Open the store at path with flags (STORE_RDONLY, STORE_CREATE).
 * ST_NOTFOUND when it does not exist and STORE_CREATE is not given.
 */
enum status bayes_open(const char *path, const struct cfg *c,
    unsigned flags, struct bayes **out /* OUT */, char *err, size_t errlen);
/* Use an already open store (tests: store_mem_new()); takes ownership. */
struct bayes *bayes_new(struct store *st, const struct cfg *c);
void bayes_close(struct bayes *b);
struct store *bayes_store(struct bayes *b);
/* Tokenizer options in use (tests and `bayes tokens`). */
const struct tok_opts *bayes_tok_opts(const struct bayes *b);

struct bayes_score {
	double	 prob;		/* 0..1; 0.5 when nothing is known */
	double	 rank;		/* finer ordering where prob saturates */
	int	 ntokens;	/* distinct tokens of the message */
	int	 nused;		/* tokens combined */
	uint32_t nspam, nham;	/* messages learned */
	int	 usable;	/* enough spam and ham learned (config) */
};

/* Classify one message in one read transaction. */
enum status bayes_classify(struct bayes *b, const struct msg *m,
    struct bayes_score *out /* OUT */);
/* The same for a ready token list (no duplicates). */
enum status bayes_classify_tokens(struct bayes *b, const uint64_t *tok,
    size_t n, struct bayes_score *out /* OUT */);

/* learning */
enum bayes_learn_result {
	LEARN_DONE,		/* learned (or forgotten) */
	LEARN_MOVED,		/* was learned as the other class: moved */
	LEARN_ALREADY,		/* already learned as this class: nothing done */
	LEARN_UNKNOWN		/* forget: the message was never learned */
};

#define BAYES_FORGET	(-1)

/* Start a batch: opens the write transaction. */
enum status bayes_batch_begin(struct bayes *b,
    struct bayes_batch **out /* OUT */);
/*
 * Learn m as STORE_SPAM or STORE_HAM, or forget it (BAYES_FORGET).
 * Nothing is written until bayes_batch_commit().
 */
enum status bayes_batch_learn(struct bayes_batch *bb, const struct msg *m,
    int cls, enum bayes_learn_result *res /* OUT */);
/* Messages learned in this batch so far (commit when it gets large). */
size_t bayes_batch_size(const struct bayes_batch *bb);
/* Write the batch in one transaction (growing the map if needed); frees bb. */
enum status bayes_batch_commit(struct bayes_batch *bb);
/* Drop the batch; accepts NULL. */
void bayes_batch_abort(struct bayes_batch *bb);

/* The digest identifying a message in the seen table. */
void bayes_digest(const struct msg *m, uint8_t out[STORE_DIGEST_LEN]);

/* maintenance */
struct bayes_stats {
	uint32_t nspam, nham;		/* totals */
	uint64_t seen_spam, seen_ham;	/* seen table by class */
	struct store_info info;
	uint32_t oldest_day, newest_day; /* token last-learned days */
	uint64_t singletons;		/* tokens seen in one message */
};

enum status bayes_stats(struct bayes *b, struct bayes_stats *out /* OUT */);

/*
 * Expire tokens until at most target remain: least recently learned
 * single-occurrence tokens go first, then the least recently learned
 * others. Message totals and the seen table are untouched.
 */
enum status bayes_expire(struct bayes *b, uint64_t target,
    uint64_t *removed /* OUT */);

/* Text dump of the whole store (tokens, totals, seen) for backup. */
enum status bayes_dump(struct bayes *b, FILE *fp);
/* Replace the store's contents by a dump; err names the line on error. */
enum status bayes_restore(struct bayes *b, FILE *fp, char *err,
    size_t errlen);

/* Days since the epoch, today; tests fix it with bayes_set_today(). */
uint32_t bayes_today(const struct bayes *b);
void bayes_set_today(struct bayes *b, uint32_t day);

#endif
