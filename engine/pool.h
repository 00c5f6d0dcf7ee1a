/*
 * pool.h - per-message memory pool (rspamd's mempool, much smaller).
 *
 * Everything made for one scan is allocated from its pool or registered
 * with pool_defer(); pool_free() releases it all at once, running deferred
 * destructors in reverse order. A pool is used by one thread at a time.
 */
#ifndef HAMLET_POOL_H
#define HAMLET_POOL_H

#include <stddef.h>

struct pool;

struct pool *pool_new(void);
/* Zeroed, 16-byte aligned memory that lives until pool_free(). */
void *pool_alloc(struct pool *p, size_t n);
void *pool_allocarray(struct pool *p, size_t nmemb, size_t size);
char *pool_strdup(struct pool *p, const char *s);
char *pool_strndup(struct pool *p, const char *s, size_t n);
void *pool_memdup(struct pool *p, const void *src, size_t n);
char *pool_printf(struct pool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run fn(arg) when the pool is freed (LIFO). */
void pool_defer(struct pool *p, void (*fn)(void *), void *arg);
/* Bytes handed out so far (for limits and statistics). */
size_t pool_used(const struct pool *p);
void pool_free(struct pool *p);

#endif
