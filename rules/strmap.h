/*
 * strmap.h - a string -> pointer hash map (open addressing) for rule
 * and symbol names. Keys are copied; values are not owned.
 */
#ifndef HAMLET_STRMAP_H
#define HAMLET_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
/* Insert or replace. */
void strmap_put(struct strmap *m, const char *key, void *val);
/* The value, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

#endif
