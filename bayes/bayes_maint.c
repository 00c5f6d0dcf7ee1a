/*
 * bayes_maint.c - store maintenance: statistics, expiry, text dump and
 * restore.
 *
 * Dump format (one record per line, sorted, so two dumps of identical
 * stores are byte-identical):
 *   hamlet-bayes-dump 1
 *   totals SPAM HAM DAY
 *   t HASH16 SPAM HAM DAY        token (hash in hex)
 *   s DIGEST32 spam|ham DAY      seen message
 * Tokens are stored as hashes only, so the dump has no token text.
 *
 * Ownership: nothing kept between calls.
 * SECURITY: restore parses a file supplied by the operator; every line
 * is length-checked and every number range-checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bayes/bayes.h"
#include "bayes/bayes_impl.h"
#include "engine/xalloc.h"

#define DUMP_MAGIC	"hamlet-bayes-dump 1"
#define AGE_MAX		4000	/* days; older ages are lumped together */

/* --------------------------------------------------------------- stats */

struct stats_walk {
	struct bayes_stats *out;
};

static int
stats_tok(void *arg, uint64_t key, const struct store_counts *c)
{
	struct bayes_stats *o = ((struct stats_walk *)arg)->out;

	if (key == STORE_TOTALS_KEY)
		return 0;
	if (o->oldest_day == 0 || c->day < o->oldest_day)
		o->oldest_day = c->day;
	if (c->day > o->newest_day)
		o->newest_day = c->day;
	if ((uint64_t)c->spam + c->ham <= 1)
		o->singletons++;
	return 0;
}

static int
stats_seen(void *arg, const uint8_t *d, const struct store_seen *s)
{
	struct bayes_stats *o = ((struct stats_walk *)arg)->out;

	(void)d;
	if (s->cls == STORE_SPAM)
		o->seen_spam++;
	else
		o->seen_ham++;
	return 0;
}

enum status
bayes_stats(struct bayes *b, struct bayes_stats *out)
{
	struct stats_walk w;
	struct store_txn *t;
	enum status rc;

	memset(out, 0, sizeof(*out));
	w.out = out;
	if ((rc = store_begin(b->st, 0, &t)) != ST_OK)
		return rc;
	if ((rc = store_totals(t, &out->nspam, &out->nham)) == ST_OK &&
	    (rc = store_info(t, &out->info)) == ST_OK &&
	    (rc = store_foreach(t, stats_tok, &w)) == ST_OK)
		rc = store_seen_foreach(t, stats_seen, &w);
	store_abort(t);
	return rc;
}

/* -------------------------------------------------------------- expire */

struct expire_walk {
	uint32_t	 today;
	uint64_t	 single[AGE_MAX + 1];	/* singletons by age */
	uint64_t	 multi[AGE_MAX + 1];	/* others by age */
	uint64_t	 total;
	/* pass 2 */
	int		 single_age;	/* drop singletons aged > this */
	int		 multi_age;	/* drop others aged > this */
	uint64_t	 single_quota;	/* and this many aged == single_age */
	uint64_t	 multi_quota;
	uint64_t	*keys;
	size_t		 nkeys, capkeys;
};

static int
age_of(const struct expire_walk *w, uint32_t day)
{
	int64_t a = (int64_t)w->today - (int64_t)day;

	if (a < 0)
		a = 0;
	if (a > AGE_MAX)
		a = AGE_MAX;
	return (int)a;
}

static int
expire_count(void *arg, uint64_t key, const struct store_counts *c)
{
	struct expire_walk *w = arg;

	if (key == STORE_TOTALS_KEY)
		return 0;
	if ((uint64_t)c->spam + c->ham <= 1)
		w->single[age_of(w, c->day)]++;
	else
		w->multi[age_of(w, c->day)]++;
	w->total++;
	return 0;
}

static int
expire_pick(void *arg, uint64_t key, const struct store_counts *c)
{
	struct expire_walk *w = arg;
	int age, single;

	if (key == STORE_TOTALS_KEY)
		return 0;
	age = age_of(w, c->day);
	single = (uint64_t)c->spam + c->ham <= 1;
	/* the boundary day goes only in part: as many as still needed */
	if (single && age == w->single_age && w->single_quota > 0)
		w->single_quota--;
	else if (!single && age == w->multi_age && w->multi_quota > 0)
		w->multi_quota--;
	else if (!((single && age > w->single_age) ||
	    (!single && age > w->multi_age)))
		return 0;
	{
		if (w->nkeys == w->capkeys) {
			w->capkeys = w->capkeys ? w->capkeys * 2 : 4096;
			w->keys = xreallocarray(w->keys, w->capkeys,
			    sizeof(*w->keys));
		}
		w->keys[w->nkeys++] = key;
	}
	return 0;
}

struct expire_del {
	const uint64_t	*keys;
	size_t		 n;
};

static enum status
expire_delete(struct store_txn *t, void *arg)
{
	struct expire_del *d = arg;
	enum status rc;
	size_t i;

	for (i = 0; i < d->n; i++) {
		rc = store_del(t, d->keys[i]);
		if (rc != ST_OK && rc != ST_NOTFOUND)
			return rc;
	}
	return ST_OK;
}

enum status
bayes_expire(struct bayes *b, uint64_t target, uint64_t *removed)
{
	struct expire_walk *w;
	struct expire_del del;
	struct store_txn *t;
	uint64_t excess, got;
	enum status rc;
	int a;

	*removed = 0;
	w = xcalloc(1, sizeof(*w));
	w->today = bayes_today(b);
	if ((rc = store_begin(b->st, 0, &t)) != ST_OK)
		goto out;
	rc = store_foreach(t, expire_count, w);
	if (rc != ST_OK || w->total <= target) {
		store_abort(t);
		goto out;
	}
	/*
	 * Choose the cut: singletons from the oldest age down, then the
	 * others from the oldest age down, whole days at a time.
	 */
	excess = w->total - target;
	got = 0;
	w->single_age = AGE_MAX + 1;
	w->multi_age = AGE_MAX + 1;
	for (a = AGE_MAX; a >= 0 && got < excess; a--) {
		if (got + w->single[a] > excess) {
			w->single_quota = excess - got;
			got = excess;
		} else {
			got += w->single[a];
			w->single_quota = 0;
		}
		w->single_age = a - (w->single_quota == 0);
	}
	for (a = AGE_MAX; a >= 0 && got < excess; a--) {
		if (got + w->multi[a] > excess) {
			w->multi_quota = excess - got;
			got = excess;
		} else {
			got += w->multi[a];
			w->multi_quota = 0;
		}
		w->multi_age = a - (w->multi_quota == 0);
	}
	rc = store_foreach(t, expire_pick, w);
	store_abort(t);
	if (rc != ST_OK)
		goto out;
	/* delete in chunks so one transaction stays reasonably small */
	for (del.keys = w->keys; del.keys < w->keys + w->nkeys;
	    del.keys += del.n) {
		del.n = (size_t)(w->keys + w->nkeys - del.keys);
		if (del.n > 100000)
			del.n = 100000;
		if ((rc = bayes_write(b, expire_delete, &del)) != ST_OK)
			goto out;
		*removed += del.n;
	}
out:
	free(w->keys);
	free(w);
	return rc;
}

/* ---------------------------------------------------------------- dump */

struct dump_walk {
	FILE	*fp;
	int	 err;
};

static int
dump_tok(void *arg, uint64_t key, const struct store_counts *c)
{
	struct dump_walk *w = arg;

	if (key == STORE_TOTALS_KEY)
		return 0;
	if (fprintf(w->fp, "t %016" PRIx64 " %" PRIu32 " %" PRIu32 " %"
	    PRIu32 "\n", key, c->spam, c->ham, c->day) < 0) {
		w->err = 1;
		return 1;
	}
	return 0;
}

static int
dump_seen(void *arg, const uint8_t *d, const struct store_seen *s)
{
	struct dump_walk *w = arg;
	int i;

	fputs("s ", w->fp);
	for (i = 0; i < STORE_DIGEST_LEN; i++)
		fprintf(w->fp, "%02x", d[i]);
	if (fprintf(w->fp, " %s %" PRIu32 "\n",
	    s->cls == STORE_SPAM ? "spam" : "ham", s->day) < 0) {
		w->err = 1;
		return 1;
	}
	return 0;
}

enum status
bayes_dump(struct bayes *b, FILE *fp)
{
	struct store_counts tot;
	struct dump_walk w;
	struct store_txn *t;
	enum status rc;

	w.fp = fp;
	w.err = 0;
	if ((rc = store_begin(b->st, 0, &t)) != ST_OK)
		return rc;
	rc = store_get(t, STORE_TOTALS_KEY, &tot);
	if (rc == ST_NOTFOUND) {
		memset(&tot, 0, sizeof(tot));
		rc = ST_OK;
	}
	if (rc == ST_OK) {
		fprintf(fp, "%s\ntotals %" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
		    DUMP_MAGIC, tot.spam, tot.ham, tot.day);
		rc = store_foreach(t, dump_tok, &w);
	}
	if (rc == ST_OK)
		rc = store_seen_foreach(t, dump_seen, &w);
	store_abort(t);
	if (rc == ST_OK && (w.err || fflush(fp) != 0 || ferror(fp)))
		rc = ST_ERR_IO;
	return rc;
}

/* ------------------------------------------------------------- restore */

struct restore_data {
	struct store_counts tot;
	int		 have_tot;
	uint64_t	*keys;
	struct store_counts *counts;
	size_t		 ntok, captok;
	uint8_t		(*digests)[STORE_DIGEST_LEN];
	struct store_seen *seen;
	size_t		 nseen, capseen;
};

static int
parse_u32(const char *s, uint32_t *out)
{
	char *e;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno != 0 || *e != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parse_line(struct restore_data *d, char *line)
{
	char *f[6], *save = NULL, *p;
	int n = 0, i;

	for (p = strtok_r(line, " \t", &save); p != NULL && n < 6;
	    p = strtok_r(NULL, " \t", &save))
		f[n++] = p;
	if (p != NULL)
		return -1;
	if (n == 4 && strcmp(f[0], "totals") == 0) {
		if (parse_u32(f[1], &d->tot.spam) || parse_u32(f[2], &d->tot.ham) ||
		    parse_u32(f[3], &d->tot.day))
			return -1;
		d->have_tot = 1;
		return 0;
	}
	if (n == 5 && strcmp(f[0], "t") == 0) {
		struct store_counts c;
		uint64_t k = 0;

		if (strlen(f[1]) != 16)
			return -1;
		for (i = 0; i < 16; i++) {
			int v = hexval((unsigned char)f[1][i]);

			if (v < 0)
				return -1;
			k = k << 4 | (uint64_t)v;
		}
		if (k == STORE_TOTALS_KEY || parse_u32(f[2], &c.spam) ||
		    parse_u32(f[3], &c.ham) || parse_u32(f[4], &c.day))
			return -1;
		if (d->ntok == d->captok) {
			d->captok = d->captok ? d->captok * 2 : 4096;
			d->keys = xreallocarray(d->keys, d->captok,
			    sizeof(*d->keys));
			d->counts = xreallocarray(d->counts, d->captok,
			    sizeof(*d->counts));
		}
		d->keys[d->ntok] = k;
		d->counts[d->ntok++] = c;
		return 0;
	}
	if (n == 4 && strcmp(f[0], "s") == 0) {
		struct store_seen s;

		if (strlen(f[1]) != 2 * STORE_DIGEST_LEN)
			return -1;
		if (strcmp(f[2], "spam") == 0)
			s.cls = STORE_SPAM;
		else if (strcmp(f[2], "ham") == 0)
			s.cls = STORE_HAM;
		else
			return -1;
		if (parse_u32(f[3], &s.day))
			return -1;
		if (d->nseen == d->capseen) {
			d->capseen = d->capseen ? d->capseen * 2 : 1024;
			d->digests = xreallocarray(d->digests, d->capseen,
			    sizeof(*d->digests));
			d->seen = xreallocarray(d->seen, d->capseen,
			    sizeof(*d->seen));
		}
		for (i = 0; i < STORE_DIGEST_LEN; i++) {
			int hi = hexval((unsigned char)f[1][2 * i]);
			int lo = hexval((unsigned char)f[1][2 * i + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			d->digests[d->nseen][i] = (uint8_t)(hi << 4 | lo);
		}
		d->seen[d->nseen++] = s;
		return 0;
	}
	return -1;
}

static enum status
restore_write(struct store_txn *t, void *arg)
{
	struct restore_data *d = arg;
	enum status rc;
	size_t i;

	if ((rc = store_clear(t)) != ST_OK)
		return rc;
	if (d->have_tot &&
	    (rc = store_put(t, STORE_TOTALS_KEY, &d->tot)) != ST_OK)
		return rc;
	for (i = 0; i < d->ntok; i++)
		if ((rc = store_put(t, d->keys[i], &d->counts[i])) != ST_OK)
			return rc;
	for (i = 0; i < d->nseen; i++)
		if ((rc = store_seen_put(t, d->digests[i], &d->seen[i])) !=
		    ST_OK)
			return rc;
	return ST_OK;
}

enum status
bayes_restore(struct bayes *b, FILE *fp, char *err, size_t errlen)
{
	struct restore_data d;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	enum status rc = ST_OK;

	memset(&d, 0, sizeof(d));
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(line, DUMP_MAGIC) != 0) {
				snprintf(err, errlen, "line 1: not a hamlet "
				    "Bayes dump (want \"%s\")", DUMP_MAGIC);
				rc = ST_ERR_PARSE;
				break;
			}
			continue;
		}
		if (len == 0 || line[0] == '#')
			continue;
		if (len > 200 || parse_line(&d, line) != 0) {
			snprintf(err, errlen, "line %ld: malformed record",
			    lineno);
			rc = ST_ERR_PARSE;
			break;
		}
	}
	if (rc == ST_OK && ferror(fp)) {
		snprintf(err, errlen, "read: %s", strerror(errno));
		rc = ST_ERR_IO;
	}
	if (rc == ST_OK && lineno == 0) {
		snprintf(err, errlen, "empty dump");
		rc = ST_ERR_PARSE;
	}
	if (rc == ST_OK) {
		rc = bayes_write(b, restore_write, &d);
		if (rc != ST_OK)
			snprintf(err, errlen, "%s", store_errmsg(b->st));
	}
	free(line);
	free(d.keys);
	free(d.counts);
	free(d.digests);
	free(d.seen);
	return rc;
}
