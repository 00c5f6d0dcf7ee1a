/*
 * cmd_train.c - `hamlet train-spam`, `hamlet train-ham`, `hamlet forget`:
 * teach the Bayes store from mail folders.
 *
 *   hamlet train-spam [--mbox|--maildir|--dir] [-q] PATH...
 *
 * PATH is an mbox, a Maildir, an MH/plain directory, one message file
 * or "-" (stdin). Messages are learned in batches of BATCH messages, one
 * write transaction each; a crash or Ctrl-C keeps every committed batch
 * (Ctrl-C commits the current one first). The store's seen table makes
 * re-runs learn nothing and moves a message learned as the other class.
 *
 * Output: a progress bar on stderr when it is a terminal; always a
 * summary line on stdout. Exit status: 0 all fine; 1 some message or
 * path could not be read or learned (reported with folder and message
 * number on stderr); EX_USAGE, EX_CONFIG, EX_CANTCREAT, EX_IOERR for
 * errors that stop the run.
 *
 * SECURITY: mailbox contents are untrusted; they go only to msg_parse()
 * and the tokenizer, both bounded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bayes/bayes.h"
#include "engine/log.h"
#include "engine/msg.h"
#include "engine/pool.h"
#include "engine/xalloc.h"
#include "train/cli.h"
#include "train/mailsrc.h"
#include "train/mbox.h"

#define BATCH		1000	/* messages per write transaction */

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct train {
	const char	*cmd;
	int		 cls;		/* STORE_SPAM, STORE_HAM, BAYES_FORGET */
	struct bayes	*b;
	struct bayes_batch *bb;
	struct msg_limits lim;
	/* counts */
	unsigned long	 learned, moved, already, unknown, skipped, failed;
	unsigned long	 seen;		/* messages looked at */
	/* progress */
	int		 tty;
	int		 bar_shown;	/* a progress line awaits its newline */
	uint64_t	 t0, last;
	uint64_t	 done_before;	/* bytes of finished sources */
	uint64_t	 total;		/* bytes of all sources */
};

static void
usage(const char *cmd)
{
	fprintf(stderr,
"usage: hamlet %s [options] PATH...\n"
"  PATH               an mbox file, a Maildir, an MH or plain directory of\n"
"                     message files, one message file, or - for stdin\n"
"  --mbox             read every PATH as an mbox\n"
"  --maildir          read every PATH as a Maildir\n"
"  --dir              read every PATH as a directory of message files\n"
"  -q, --quiet        no progress bar\n", cmd);
	cli_common_usage(stderr);
}

static void
progress(struct train *t, struct mailsrc *src, int final)
{
	uint64_t now = clock_ns(), done;
	double secs, rate, frac, eta;
	char bar[21];
	int i, fill;

	if (!t->tty || (!final && now - t->last < 100000000ULL))
		return;
	t->last = now;
	secs = (double)(now - t->t0) / 1e9;
	rate = secs > 0 ? t->seen / secs : 0;
	done = t->done_before + (src != NULL ? mailsrc_done(src) : 0);
	frac = t->total > 0 ? (double)done / (double)t->total : 0;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * 20);
	for (i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = '\0';
	eta = frac > 0 ? secs / frac - secs : 0;
	fprintf(stderr, "\r%s [%s] %3d%% %lu msgs %.0f/s ETA %d:%02d ",
	    t->cmd, bar, (int)(frac * 100), t->seen, rate,
	    (int)eta / 60, (int)eta % 60);
	t->bar_shown = 1;
	if (final) {
		fputc('\n', stderr);
		t->bar_shown = 0;
	}
}

/* before a message line: end a progress line that is showing */
static const char *
nl(struct train *t)
{
	if (!t->bar_shown)
		return "";
	t->bar_shown = 0;
	return "\n";
}

/* commit the running batch and start a new one unless last */
static int
flush(struct train *t, int last)
{
	enum status rc;

	if (t->bb == NULL)
		return 0;
	rc = bayes_batch_commit(t->bb);
	t->bb = NULL;
	if (rc != ST_OK) {
		fprintf(stderr, "hamlet %s: store: %s\n", t->cmd,
		    store_errmsg(bayes_store(t->b))[0] ?
		    store_errmsg(bayes_store(t->b)) : status_str(rc));
		return -1;
	}
	if (last)
		return 0;
	rc = bayes_batch_begin(t->b, &t->bb);
	if (rc != ST_OK) {
		fprintf(stderr, "hamlet %s: store: %s\n", t->cmd,
		    store_errmsg(bayes_store(t->b)));
		return -1;
	}
	return 0;
}

static int
learn_one(struct train *t, const struct mailsrc_msg *mm)
{
	enum bayes_learn_result lr;
	const char *why;
	struct pool *pool;
	struct msg *m;
	enum status rc;

	t->seen++;
	if (!mbox_looks_like_message(mm->data, mm->len, &why)) {
		fprintf(stderr, "%s%s: message %ld: %s, skipped\n",
		    nl(t), mm->name, mm->number, why);
		t->skipped++;
		return 0;
	}
	pool = pool_new();
	rc = msg_parse(pool, mm->data, mm->len, NULL, &t->lim, &m);
	if (rc != ST_OK) {
		fprintf(stderr, "%s%s: message %ld: cannot parse (%s), "
		    "skipped\n", nl(t), mm->name, mm->number,
		    status_str(rc));
		pool_free(pool);
		t->skipped++;
		return 0;
	}
	rc = bayes_batch_learn(t->bb, m, t->cls, &lr);
	pool_free(pool);
	if (rc != ST_OK) {
		fprintf(stderr, "hamlet %s: store: %s\n", t->cmd,
		    store_errmsg(bayes_store(t->b)));
		return -1;
	}
	switch (lr) {
	case LEARN_DONE:
		t->learned++;
		break;
	case LEARN_MOVED:
		t->moved++;
		break;
	case LEARN_ALREADY:
		t->already++;
		break;
	case LEARN_UNKNOWN:
		t->unknown++;
		break;
	}
	if (bayes_batch_size(t->bb) >= BATCH)
		return flush(t, 0);
	return 0;
}

/* returns -1 on a store error (stop), else 0 */
static int
train_path(struct train *t, const char *path, enum mailsrc_format fmt)
{
	struct mailsrc_msg mm;
	struct mailsrc *src;
	char err[512];
	enum status rc;
	int ret = 0;

	rc = mailsrc_open(path, fmt, &src, err, sizeof(err));
	if (rc != ST_OK) {
		fprintf(stderr, "%shamlet %s: %s\n", nl(t),
		    t->cmd, err);
		t->failed++;
		return 0;
	}
	log_debug("%s: reading as %s", path,
	    mailsrc_format_name(mailsrc_format(src)));
	while (!interrupted) {
		rc = mailsrc_next(src, &mm, err, sizeof(err));
		if (rc == ST_NOTFOUND)
			break;
		if (rc != ST_OK) {
			fprintf(stderr, "%s%s: message %ld: %s, skipped\n",
			    nl(t), mm.name, mm.number, err);
			t->failed++;
			continue;
		}
		if (learn_one(t, &mm) != 0) {
			ret = -1;
			break;
		}
		progress(t, src, 0);
	}
	t->done_before += mailsrc_total(src);
	mailsrc_close(src);
	return ret;
}

static uint64_t
path_bytes(const char *path)
{
	struct mailsrc *src;
	char err[256];
	uint64_t n;

	/* cheap for files and directory listings; stdin is unknown */
	if (strcmp(path, "-") == 0)
		return 0;
	if (mailsrc_open(path, MAILSRC_AUTO, &src, err, sizeof(err)) != ST_OK)
		return 0;
	n = mailsrc_total(src);
	mailsrc_close(src);
	return n;
}

static int
train_main(int argc, char **argv, int cls)
{
	int opt_mbox = 0, opt_maildir = 0, opt_dir = 0, quiet = 0, ret = 0;
	const struct cli_opt opts[] = {
		{ "--mbox", NULL, &opt_mbox, NULL },
		{ "--maildir", NULL, &opt_maildir, NULL },
		{ "--dir", NULL, &opt_dir, NULL },
		{ "--quiet", "-q", &quiet, NULL },
		{ NULL, NULL, NULL, NULL }
	};
	enum mailsrc_format fmt = MAILSRC_AUTO;
	struct sigaction sa;
	struct bayes_stats bs;
	struct train t;
	struct cli c;
	struct cfg *cfg;
	char err[1024], *path;
	enum status rc;
	int i, r;

	memset(&t, 0, sizeof(t));
	t.cmd = argv[0];
	t.cls = cls;
	r = cli_parse(&c, argc, argv, opts);
	if (r != 0 || c.nargs == 0 || opt_mbox + opt_maildir + opt_dir > 1) {
		usage(argv[0]);
		cli_free(&c);
		return r < 0 ? 0 : EX_USAGE;
	}
	if (opt_mbox)
		fmt = MAILSRC_MBOX;
	else if (opt_maildir)
		fmt = MAILSRC_MAILDIR;
	else if (opt_dir)
		fmt = MAILSRC_DIR;
	if ((cfg = setup_config(&c.setup, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hamlet %s: %s\n", t.cmd, err);
		cli_free(&c);
		return EX_CONFIG;
	}
	path = bayes_default_path(cfg, c.setup.db);
	rc = bayes_open(path, cfg, cls == BAYES_FORGET ? 0 : STORE_CREATE,
	    &t.b, err, sizeof(err));
	if (rc != ST_OK) {
		fprintf(stderr, "hamlet %s: %s\n", t.cmd, err);
		free(path);
		cfg_free(cfg);
		cli_free(&c);
		return rc == ST_NOTFOUND ? EX_NOINPUT : EX_CANTCREAT;
	}
	msg_global_init();
	msg_limits_from_cfg(&t.lim, cfg);
	t.tty = !quiet && isatty(2);
	t.t0 = t.last = clock_ns();
	if (t.tty)
		for (i = 0; i < c.nargs; i++)
			t.total += path_bytes(c.args[i]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (bayes_batch_begin(t.b, &t.bb) != ST_OK) {
		fprintf(stderr, "hamlet %s: store: %s\n", t.cmd,
		    store_errmsg(bayes_store(t.b)));
		ret = EX_IOERR;
	}
	for (i = 0; ret == 0 && i < c.nargs && !interrupted; i++)
		if (train_path(&t, c.args[i], fmt) != 0)
			ret = EX_IOERR;
	if (ret == 0 && flush(&t, 1) != 0)
		ret = EX_IOERR;
	bayes_batch_abort(t.bb);
	progress(&t, NULL, 1);

	/* automatic expiry past the configured size */
	if (ret == 0 && cls != BAYES_FORGET &&
	    bayes_stats(t.b, &bs) == ST_OK &&
	    bs.info.ntokens > (uint64_t)cfg->bayes_expire_max_tokens) {
		uint64_t removed;

		if (bayes_expire(t.b, (uint64_t)cfg->bayes_expire_max_tokens *
		    3 / 4, &removed) == ST_OK)
			printf("%s: expired %llu tokens\n", t.cmd,
			    (unsigned long long)removed);
	}

	if (cls == BAYES_FORGET)
		printf("%s: forgot %lu, %lu not learned before",
		    t.cmd, t.learned, t.unknown);
	else
		printf("%s: learned %lu %s (%lu moved from %s), "
		    "%lu already learned", t.cmd, t.learned + t.moved,
		    cls == STORE_SPAM ? "spam" : "ham", t.moved,
		    cls == STORE_SPAM ? "ham" : "spam", t.already);
	printf(", %lu skipped, %lu unreadable%s\n", t.skipped, t.failed,
	    interrupted ? " (interrupted)" : "");
	fflush(stdout);

	bayes_close(t.b);
	free(path);
	cfg_free(cfg);
	cli_free(&c);
	if (ret != 0)
		return ret;
	if (interrupted)
		return 130;
	return t.skipped || t.failed ? 1 : 0;
}

int
cmd_train_spam(int argc, char **argv)
{
	return train_main(argc, argv, STORE_SPAM);
}

int
cmd_train_ham(int argc, char **argv)
{
	return train_main(argc, argv, STORE_HAM);
}

int
cmd_forget(int argc, char **argv)
{
	return train_main(argc, argv, BAYES_FORGET);
}
