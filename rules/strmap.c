/*
 * strmap.c - open-addressing hash map (FNV-1a, linear probing, load
 * factor <= 1/2). Owns copies of its keys; never owns values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xalloc.h"
#include "rules/strmap.h"

struct slot {
	char	*key;
	void	*val;
};

struct strmap {
	struct slot	*slots;
	size_t		 cap;	/* power of two */
	size_t		 n;
};

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->cap = 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct slot *
find(const struct strmap *m, const char *key)
{
	size_t i = (size_t)hash(key) & (m->cap - 1);

	while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static void
grow(struct strmap *m)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			*find(m, old[i].key) = old[i];
	free(old);
}

void
strmap_put(struct strmap *m, const char *key, void *val)
{
	struct slot *s;

	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	s = find(m, key);
	if (s->key == NULL) {
		s->key = xstrdup(key);
		m->n++;
	}
	s->val = val;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	return find(m, key)->val;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}
