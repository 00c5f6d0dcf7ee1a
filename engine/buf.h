/*
 * buf.h - a growable byte buffer, always NUL-terminated after len.
 *
 * struct buf is public so it can live on the stack or inside other
 * structs: struct buf b = BUF_INIT; ... buf_free(&b);
 */
#ifndef HAMLET_BUF_H
#define HAMLET_BUF_H

#include <stddef.h>

struct buf {
	char	*p;	/* NULL until the first append */
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Truncate to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Returns the string (never NULL) and leaves b empty; caller frees. */
char *buf_detach(struct buf *b);
/* The contents as a C string (never NULL, "" when empty). */
const char *buf_str(const struct buf *b);
void buf_free(struct buf *b);

/* Append one byte; inline, as hot loops call it per byte. */
static inline void
buf_addc(struct buf *b, char c)
{
	if (b->cap < b->len + 2)
		buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

#endif
