/*
 * pool.c - arena allocator with deferred destructors.
 *
 * Ownership: the pool owns every block it returns; callers never free them.
 * Large requests get a chunk of their own so the arena does not waste
 * space. Allocation failure aborts (xalloc).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "xalloc.h"

#define CHUNK_SIZE	(32 * 1024)
#define ALIGN		16

struct chunk {
	struct chunk	*next;
	size_t		 size;
	size_t		 used;
	_Alignas(ALIGN) unsigned char data[];
};

struct defer {
	struct defer	*next;
	void		(*fn)(void *);
	void		*arg;
};

struct pool {
	struct chunk	*chunks;	/* current chunk first */
	struct defer	*defers;
	size_t		 used;
};

struct pool *
pool_new(void)
{
	return xcalloc(1, sizeof(struct pool));
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->size = size;
	c->used = 0;
	c->next = NULL;
	return c;
}

/*
 * n bytes, zeroed when zero says so: the copies below write all they
 * ask for (the padding up to ALIGN is not read), and zeroing a text
 * before copying it over cost as much as the copy. Inlined into each
 * caller so the zeroing of a small block stays the inline store gcc
 * makes of it.
 */
static inline __attribute__((always_inline)) void *
pool_get(struct pool *p, size_t n, int zero)
{
	struct chunk *c;
	void *r;

	if (n > SIZE_MAX - ALIGN)
		n = SIZE_MAX - ALIGN;	/* xmalloc will abort */
	n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (n == 0)
		n = ALIGN;
	p->used += n;
	if (n > CHUNK_SIZE / 4) {
		/* big block: its own chunk, linked behind the current one */
		c = chunk_new(n);
		c->used = n;
		if (p->chunks) {
			c->next = p->chunks->next;
			p->chunks->next = c;
		} else
			p->chunks = c;
		if (zero)
			memset(c->data, 0, n);
		return c->data;
	}
	c = p->chunks;
	if (c == NULL || c->size - c->used < n) {
		c = chunk_new(CHUNK_SIZE);
		c->next = p->chunks;
		p->chunks = c;
	}
	r = c->data + c->used;
	c->used += n;
	if (zero)
		memset(r, 0, n);
	return r;
}

void *
pool_alloc(struct pool *p, size_t n)
{
	return pool_get(p, n, 1);
}

void *
pool_allocarray(struct pool *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		return pool_alloc(p, SIZE_MAX);
	return pool_alloc(p, nmemb * size);
}

void *
pool_memdup(struct pool *p, const void *src, size_t n)
{
	void *r = pool_get(p, n, 0);

	if (n)
		memcpy(r, src, n);
	return r;
}

char *
pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *r = pool_get(p, n + 1, 0);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

char *
pool_strdup(struct pool *p, const char *s)
{
	return s ? pool_strndup(p, s, strlen(s)) : NULL;
}

char *
pool_printf(struct pool *p, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;
	char *r;

	/* most results are short: format once, into the stack, and copy */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(small))
		return pool_strndup(p, n > 0 ? small : "", (size_t)n);
	r = pool_alloc(p, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(r, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return r;
}

void
pool_defer(struct pool *p, void (*fn)(void *), void *arg)
{
	struct defer *d = pool_alloc(p, sizeof(*d));

	d->fn = fn;
	d->arg = arg;
	d->next = p->defers;
	p->defers = d;
}

size_t
pool_used(const struct pool *p)
{
	return p->used;
}

void
pool_free(struct pool *p)
{
	struct chunk *c, *cn;
	struct defer *d;

	if (p == NULL)
		return;
	/* defers live in the chunks: run them all before freeing memory */
	for (d = p->defers; d; d = d->next)
		d->fn(d->arg);
	for (c = p->chunks; c; c = cn) {
		cn = c->next;
		free(c);
	}
	free(p);
}
