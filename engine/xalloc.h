/*
 * xalloc.h - allocation that cannot fail: on exhaustion the process logs
 * and aborts (Postfix mymalloc, OpenBSD x* functions). Callers never
 * check for NULL.
 */
#ifndef HAMLET_XALLOC_H
#define HAMLET_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc of nmemb*size with overflow check */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A function run on exhaustion before the abort (set once at start, by
 * `hamlet check` to pass the message through untouched); it may _exit().
 */
void xalloc_set_oom_hook(void (*fn)(void));

#endif
