/*
 * cmd_bayes.c - `hamlet bayes SUBCOMMAND`: look after the Bayes store.
 *
 *   hamlet bayes stats                counts, sizes, consistency
 *   hamlet bayes dump [FILE]          text dump (stdout by default)
 *   hamlet bayes restore FILE|-       replace the store by a dump
 *   hamlet bayes expire [--keep N]    drop old and rare tokens
 * and, for tests and benchmarks (not in the help):
 *   hamlet bayes classify FILE...     "path<TAB>prob<TAB>rank" per message
 *                                     (rank: log-odds, the full-resolution order)
 *   hamlet bayes tokens FILE          the tokens of one message
 *
 * Exit: 0 fine, 1 stats found the store inconsistent, EX_* otherwise.
 * SECURITY: restore input is operator-supplied (parsed with bounds in
 * bayes_maint.c); classify/tokens read untrusted mail through msg_parse.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "bayes/bayes.h"
#include "engine/buf.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "engine/xalloc.h"
#include "train/cli.h"
#include "train/mbox.h"

static void
usage(void)
{
	fprintf(stderr,
"usage: hamlet bayes stats [options]\n"
"       hamlet bayes dump [options] [FILE]\n"
"       hamlet bayes restore [options] FILE|-\n"
"       hamlet bayes expire [options] [--keep N]\n"
"  stats     messages learned, tokens, sizes, consistency check\n"
"  dump      write the store as text (backup, migration)\n"
"  restore   replace the store's contents by a dump\n"
"  expire    drop least recently learned tokens down to N (default 3/4\n"
"            of bayes_expire_max_tokens), single-occurrence ones first\n");
	cli_common_usage(stderr);
}

static void
print_day(const char *label, uint32_t day)
{
	char b[32];
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (day == 0) {
		printf("%-14s -\n", label);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d", &tm);
	printf("%-14s %s\n", label, b);
}

static int
do_stats(struct bayes *b, const char *path, const struct cfg *cfg)
{
	struct bayes_stats s;
	enum status rc;
	int ok;

	if ((rc = bayes_stats(b, &s)) != ST_OK) {
		fprintf(stderr, "hamlet bayes stats: %s\n",
		    store_errmsg(bayes_store(b)));
		return EX_IOERR;
	}
	ok = s.seen_spam == s.nspam && s.seen_ham == s.nham;
	printf("%-14s %s\n", "store", path);
	printf("%-14s %" PRIu32 " spam, %" PRIu32 " ham\n", "messages",
	    s.nspam, s.nham);
	printf("%-14s %" PRIu64 " (%" PRIu64 " seen once)\n", "tokens",
	    s.info.ntokens, s.singletons);
	printf("%-14s %" PRIu64 " spam, %" PRIu64 " ham\n", "seen",
	    s.seen_spam, s.seen_ham);
	print_day("oldest token", s.oldest_day);
	print_day("newest token", s.newest_day);
	printf("%-14s %" PRIu64 " bytes used, file %" PRIu64 ", map %" PRIu64
	    "\n", "size", s.info.bytes_used, s.info.file_size,
	    s.info.map_size);
	printf("%-14s %s (needs %d spam and %d ham)\n", "active",
	    s.nspam >= (uint32_t)cfg->bayes_min_spam &&
	    s.nham >= (uint32_t)cfg->bayes_min_ham && s.nspam && s.nham ?
	    "yes" : "no", cfg->bayes_min_spam, cfg->bayes_min_ham);
	printf("%-14s %s\n", "consistent", ok ? "yes" :
	    "NO: message totals differ from the seen table");
	return ok ? 0 : 1;
}

static int
parse_one(const char *path, struct msg_limits *lim, struct pool *pool,
    struct buf *raw, struct msg **m)
{
	const char *why;
	const char *p;
	size_t len;

	buf_truncate(raw, 0);
	if (cli_read_file(path, raw, 0) != ST_OK) {
		fprintf(stderr, "hamlet bayes: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	p = buf_str(raw);
	len = raw->len;
	/* tolerate a From_ line on top, as the trainer does */
	{
		const char *nl = memchr(p, '\n', len);
		size_t ll = nl != NULL ? (size_t)(nl - p) : len;

		if (mbox_is_from_line(p, ll) && nl != NULL) {
			len -= ll + 1;
			p = nl + 1;
		}
	}
	if (!mbox_looks_like_message(p, len, &why))
		fprintf(stderr, "hamlet bayes: %s: %s\n", path, why);
	return msg_parse(pool, p, len, NULL, lim, m) == ST_OK ? 0 : -1;
}

static int
do_classify(struct bayes *b, const struct cfg *cfg, char **args, int n)
{
	struct msg_limits lim;
	struct bayes_score sc;
	struct buf raw = BUF_INIT;
	struct pool *pool;
	struct msg *m;
	int i, ret = 0;

	msg_global_init();
	msg_limits_from_cfg(&lim, cfg);
	for (i = 0; i < n; i++) {
		pool = pool_new();
		if (parse_one(args[i], &lim, pool, &raw, &m) != 0) {
			pool_free(pool);
			ret = 1;
			continue;
		}
		if (bayes_classify(b, m, &sc) != ST_OK) {
			fprintf(stderr, "hamlet bayes classify: %s\n",
			    store_errmsg(bayes_store(b)));
			pool_free(pool);
			buf_free(&raw);
			return EX_IOERR;
		}
		printf("%s\t%.6f\t%.6g\n", args[i], sc.prob, sc.rank);
		pool_free(pool);
	}
	buf_free(&raw);
	return ret;
}

static int
do_tokens(struct bayes *b, const struct cfg *cfg, const char *path)
{
	struct msg_limits lim;
	struct buf raw = BUF_INIT;
	struct toklist l;
	struct pool *pool;
	struct msg *m;
	int ret = 0;

	msg_global_init();
	msg_limits_from_cfg(&lim, cfg);
	pool = pool_new();
	if (parse_one(path, &lim, pool, &raw, &m) != 0) {
		ret = 1;
	} else {
		struct store_txn *t = NULL;
		uint32_t ns = 0, nh = 0;
		const char *p, *e;

		toklist_init(&l);
		l.keep_text = 1;
		tok_msg(m, bayes_tok_opts(b), &l);
		/* with a store: each token's counts and f(w) */
		if (store_begin(bayes_store(b), 0, &t) == ST_OK)
			store_totals(t, &ns, &nh);
		for (p = buf_str(&l.text); *p != '\0'; p = e + 1) {
			struct store_counts sc;
			struct classify_params cp;

			e = strchr(p, '\n');
			if (e == NULL)
				break;
			uint64_t hh = tok_hash(p, (size_t)(e - p));

			if (t == NULL || ns == 0 || nh == 0 ||
			    (store_get(t, hh | TOK_HDR_BIT, &sc) != ST_OK &&
			    store_get(t, hh & ~TOK_HDR_BIT, &sc) != ST_OK)) {
				printf("%.*s\n", (int)(e - p), p);
				continue;
			}
			classify_params_from_cfg(&cp, cfg);
			printf("%.*s\t%u\t%u\t%.4f\n", (int)(e - p), p,
			    sc.spam, sc.ham,
			    classify_f(&cp, sc.spam, sc.ham, ns, nh));
		}
		store_abort(t);
		toklist_free(&l);
	}
	pool_free(pool);
	buf_free(&raw);
	return ret;
}

int
cmd_bayes(int argc, char **argv)
{
	const char *keep = NULL;
	const struct cli_opt opts[] = {
		{ "--keep", NULL, NULL, &keep },
		{ NULL, NULL, NULL, NULL }
	};
	struct bayes *b = NULL;
	struct cfg *cfg;
	struct cli c;
	const char *sub;
	char err[1024], *path;
	unsigned flags;
	enum status rc;
	int r, ret = 0;

	r = cli_parse(&c, argc, argv, opts);
	if (r != 0 || c.nargs == 0) {
		usage();
		cli_free(&c);
		return r < 0 ? 0 : EX_USAGE;
	}
	sub = c.args[0];
	if (strcmp(sub, "stats") != 0 && strcmp(sub, "dump") != 0 &&
	    strcmp(sub, "restore") != 0 && strcmp(sub, "expire") != 0 &&
	    strcmp(sub, "classify") != 0 && strcmp(sub, "tokens") != 0) {
		fprintf(stderr, "hamlet bayes: unknown subcommand '%s'\n", sub);
		usage();
		cli_free(&c);
		return EX_USAGE;
	}
	if ((cfg = setup_config(&c.setup, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hamlet bayes: %s\n", err);
		cli_free(&c);
		return EX_CONFIG;
	}
	path = bayes_default_path(cfg, c.setup.db);
	if (strcmp(sub, "restore") == 0)
		flags = STORE_CREATE;
	else if (strcmp(sub, "expire") == 0)
		flags = 0;
	else
		flags = STORE_RDONLY;
	if (strcmp(sub, "tokens") == 0 &&
	    bayes_open(path, cfg, STORE_RDONLY, &b, err, sizeof(err)) != ST_OK) {
		/* no store: an empty in-memory one gives the options */
		b = bayes_new(store_mem_new(), cfg);
	} else if (b == NULL) {
		rc = bayes_open(path, cfg, flags, &b, err, sizeof(err));
		if (rc != ST_OK) {
			fprintf(stderr, "hamlet bayes %s: %s\n", sub, err);
			ret = rc == ST_NOTFOUND ? EX_NOINPUT : EX_IOERR;
			goto out;
		}
	}

	if (strcmp(sub, "stats") == 0) {
		ret = do_stats(b, path, cfg);
	} else if (strcmp(sub, "dump") == 0) {
		FILE *fp = stdout;

		if (c.nargs > 1 && strcmp(c.args[1], "-") != 0 &&
		    (fp = fopen(c.args[1], "w")) == NULL) {
			fprintf(stderr, "hamlet bayes dump: %s: %s\n",
			    c.args[1], strerror(errno));
			ret = EX_CANTCREAT;
			goto out;
		}
		if (bayes_dump(b, fp) != ST_OK) {
			fprintf(stderr, "hamlet bayes dump: failed: %s\n",
			    store_errmsg(bayes_store(b))[0] ?
			    store_errmsg(bayes_store(b)) : strerror(errno));
			ret = EX_IOERR;
		}
		if (fp != stdout && fclose(fp) != 0 && ret == 0)
			ret = EX_IOERR;
	} else if (strcmp(sub, "restore") == 0) {
		FILE *fp = stdin;

		if (c.nargs < 2) {
			usage();
			ret = EX_USAGE;
			goto out;
		}
		if (strcmp(c.args[1], "-") != 0 &&
		    (fp = fopen(c.args[1], "r")) == NULL) {
			fprintf(stderr, "hamlet bayes restore: %s: %s\n",
			    c.args[1], strerror(errno));
			ret = EX_NOINPUT;
			goto out;
		}
		rc = bayes_restore(b, fp, err, sizeof(err));
		if (fp != stdin)
			fclose(fp);
		if (rc != ST_OK) {
			fprintf(stderr, "hamlet bayes restore: %s: %s\n",
			    c.args[1], err);
			ret = rc == ST_ERR_PARSE ? EX_DATAERR : EX_IOERR;
		}
	} else if (strcmp(sub, "expire") == 0) {
		uint64_t target, removed;
		char *e;

		target = (uint64_t)cfg->bayes_expire_max_tokens * 3 / 4;
		if (keep != NULL) {
			errno = 0;
			target = strtoull(keep, &e, 10);
			if (errno != 0 || *e != '\0' || keep[0] == '-') {
				fprintf(stderr, "hamlet bayes expire: bad "
				    "--keep %s\n", keep);
				ret = EX_USAGE;
				goto out;
			}
		}
		if (bayes_expire(b, target, &removed) != ST_OK) {
			fprintf(stderr, "hamlet bayes expire: %s\n",
			    store_errmsg(bayes_store(b)));
			ret = EX_IOERR;
		} else {
			printf("expired %" PRIu64 " tokens\n", removed);
		}
	} else if (strcmp(sub, "classify") == 0) {
		ret = do_classify(b, cfg, c.args + 1, c.nargs - 1);
	} else if (strcmp(sub, "tokens") == 0) {
		ret = c.nargs < 2 ? EX_USAGE : do_tokens(b, cfg, c.args[1]);
	}
out:
	bayes_close(b);
	free(path);
	cfg_free(cfg);
	cli_free(&c);
	return ret;
}
