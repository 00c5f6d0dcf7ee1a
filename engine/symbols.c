/*
 * symbols.c - the symbol registry.
 *
 * Ownership: the registry owns every symdef and its strings. Symbols are
 * stored in an array indexed by id plus an open-addressing hash of names.
 * Adding after symreg_freeze() is a programming error and aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"
#include "xalloc.h"

struct symreg {
	struct symdef	**defs;		/* by id */
	size_t		  n, cap;
	int		 *slots;	/* hash: id + 1, 0 = empty */
	size_t		  nslots;	/* power of two */
	int		  frozen;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct symreg *
symreg_new(void)
{
	struct symreg *r = xcalloc(1, sizeof(*r));

	r->nslots = 256;
	r->slots = xcalloc(r->nslots, sizeof(int));
	return r;
}

void
symreg_free(struct symreg *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->defs[i]->name);
		free(r->defs[i]->desc);
		free(r->defs[i]->area);
		free(r->defs[i]);
	}
	free(r->defs);
	free(r->slots);
	free(r);
}

static int
find_slot(const struct symreg *r, const char *name, size_t *slot)
{
	size_t mask = r->nslots - 1, i = name_hash(name) & mask;

	for (;;) {
		int id = r->slots[i];
		if (id == 0) {
			*slot = i;
			return -1;
		}
		if (strcmp(r->defs[id - 1]->name, name) == 0) {
			*slot = i;
			return id - 1;
		}
		i = (i + 1) & mask;
	}
}

static void
rehash(struct symreg *r)
{
	size_t slot;

	free(r->slots);
	r->nslots *= 2;
	r->slots = xcalloc(r->nslots, sizeof(int));
	for (size_t i = 0; i < r->n; i++) {
		find_slot(r, r->defs[i]->name, &slot);
		r->slots[slot] = (int)i + 1;
	}
}

struct symdef *
symreg_add(struct symreg *r, const char *name)
{
	size_t slot;
	int id = find_slot(r, name, &slot);
	struct symdef *d;

	if (id >= 0)
		return r->defs[id];
	if (r->frozen) {
		fprintf(stderr, "hamlet: BUG: symbol %s added after freeze\n", name);
		abort();
	}
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(name);
	d->id = (int)r->n;
	d->area = xstrdup("");
	if (strncmp(name, "__", 2) == 0)
		d->flags |= SYM_SUB;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->defs = xreallocarray(r->defs, r->cap, sizeof(*r->defs));
	}
	r->defs[r->n++] = d;
	r->slots[slot] = d->id + 1;
	if (r->n * 2 > r->nslots)
		rehash(r);
	return d;
}

struct symdef *
symreg_define(struct symreg *r, const char *name, double score,
    const char *desc, unsigned flags)
{
	struct symdef *d = symreg_add(r, name);

	if (!(d->flags & SYM_SCORE_SET))
		for (int i = 0; i < 4; i++)
			d->score[i] = score;
	if (desc && d->desc == NULL)
		d->desc = xstrdup(desc);
	d->flags |= flags;
	return d;
}

void
symdef_set_scores(struct symdef *d, const double s[4], int nsets)
{
	/* SpamAssassin: one score applies to all four sets */
	for (int i = 0; i < 4; i++)
		d->score[i] = nsets >= 4 ? s[i] : s[0];
	d->flags |= SYM_SCORE_SET;
}

void
symdef_set_desc(struct symdef *d, const char *desc)
{
	free(d->desc);
	d->desc = xstrdup(desc);
}

const struct symdef *
symreg_get(const struct symreg *r, const char *name)
{
	size_t slot;
	int id = find_slot(r, name, &slot);

	return id >= 0 ? r->defs[id] : NULL;
}

size_t
symreg_count(const struct symreg *r)
{
	return r->n;
}

const struct symdef *
symreg_at(const struct symreg *r, size_t id)
{
	return id < r->n ? r->defs[id] : NULL;
}

void
symreg_freeze(struct symreg *r)
{
	r->frozen = 1;
}
