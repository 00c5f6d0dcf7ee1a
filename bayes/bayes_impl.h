/*
 * bayes_impl.h - the inside of struct bayes, shared by bayes.c and
 * bayes_maint.c only.
 */
#ifndef HAMLET_BAYES_IMPL_H
#define HAMLET_BAYES_IMPL_H

#include "bayes/bayes.h"

struct bayes {
	struct store	*st;
	struct tok_opts	 tok;
	struct classify_params cp;
	int		 min_spam, min_ham;
	uint32_t	 fixed_day;	/* 0 = the real clock */
};

/* Run fn(txn, arg) in a write transaction, growing the map and retrying
   when the store is full. */
enum status bayes_write(struct bayes *b,
    enum status (*fn)(struct store_txn *, void *), void *arg);

#endif
