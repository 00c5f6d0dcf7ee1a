/*
 * result.c - hits and score of one scan.
 *
 * Ownership: hits and details live in the scan's pool. The by_id index
 * is sized to the frozen registry at scan start. result_add() is the one
 * way checks report; it is not thread-safe (one scan, one thread).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "result.h"
#include "scan.h"

const struct hit *
result_add_id(struct scan *s, int id, const char *detail)
{
	struct result *r = &s->res;
	const struct symdef *d;
	struct hit *h;

	if (id < 0 || (size_t)id >= r->nsyms)
		return NULL;
	d = symreg_at(engine_symbols(s->eng), (size_t)id);
	if (r->by_id[id]) {
		h = &r->hits[r->by_id[id] - 1];
		if (!(d->flags & SYM_MULTIPLE) ||
		    (d->maxhits > 0 && h->count >= d->maxhits))
			return h;
		h->count++;
		if (!(d->flags & SYM_SUB))
			h->score += d->score[r->scoreset];
		return h;
	}
	if (r->nhits == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 32;
		struct hit *nh = pool_allocarray(s->pool, ncap, sizeof(*nh));
		if (r->nhits)
			memcpy(nh, r->hits, r->nhits * sizeof(*nh));
		r->hits = nh;
		r->cap = ncap;
	}
	h = &r->hits[r->nhits++];
	h->sym = d;
	h->count = 1;
	h->score = (d->flags & SYM_SUB) ? 0 : d->score[r->scoreset];
	h->detail = detail ? pool_strdup(s->pool, detail) : NULL;
	r->by_id[id] = (int)r->nhits;
	return h;
}

const struct hit *
result_add(struct scan *s, const char *name, const char *detail)
{
	const struct symdef *d = symreg_get(engine_symbols(s->eng), name);

	if (d == NULL) {
		log_warnx("result_add: unknown symbol %s ignored", name);
		return NULL;
	}
	return result_add_id(s, d->id, detail);
}

const struct hit *
result_get_id(const struct result *r, int id)
{
	if (id < 0 || (size_t)id >= r->nsyms || r->by_id[id] == 0)
		return NULL;
	return &r->hits[r->by_id[id] - 1];
}

const struct hit *
result_get(const struct result *r, const char *name, const struct symreg *reg)
{
	const struct symdef *d = symreg_get(reg, name);

	return d ? result_get_id(r, d->id) : NULL;
}

void
result_finish(struct result *r)
{
	double sum = 0;

	for (size_t i = 0; i < r->nhits; i++)
		sum += r->hits[i].score;
	/* SpamAssassin rounds the total to 3 decimals before comparing */
	r->score = round(sum * 1000.0) / 1000.0;
	if (r->score == 0)
		r->score = 0;	/* no "-0.0" */
	r->is_spam = r->score >= r->required;
}
