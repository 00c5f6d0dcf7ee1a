/*
 * cmd_check.c - `hamlet check`: the procmail filter, the report and the
 * batch scorer.
 *
 *   hamlet check [FILE]          message in (stdin or FILE), tagged
 *                                message out, byte for byte otherwise
 *   hamlet check --report [FILE] score, required and every rule hit
 *   hamlet check --batch [FILE...] one TSV line per message (paths as
 *                                arguments or one per line on stdin)
 *
 * Never loses mail: whatever fails (config, store, parse, timeout), the
 * filter writes the message out unchanged with an X-Hamlet-Error header
 * and exits 0, unless --tempfail asks for EX_TEMPFAIL so procmail
 * retries. Exit 0 whatever the verdict; -e/--exit-code exits 1 for spam.
 *
 * SECURITY: message bytes are untrusted; they are only handed to the
 * engine and copied to stdout.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "engine/buf.h"
#include "engine/log.h"
#include "engine/scan.h"
#include "engine/spamhdr.h"
#include "engine/xalloc.h"
#include "train/cli.h"

/* procmail pipes whole messages; refuse absurd inputs instead of OOM */
#ifndef CHECK_MAX_INPUT
#define CHECK_MAX_INPUT ((size_t)1 << 31)
#endif
/*
 * pcre_jit auto: below this size one message is scanned faster by the
 * PCRE2 interpreter than JIT compilation pays back (measured on the
 * corpus with the default rules: JIT wins from about 32 KB on)
 */
#define CHECK_JIT_MIN_BYTES (32 * 1024)
/* watchdog: procmail itself kills a filter after its TIMEOUT (960 s) */
#define CHECK_DEFAULT_TIMEOUT 120

/*
 * The last resort when the scan can neither finish nor fail cleanly (a
 * hang past --timeout, memory exhaustion): write the message as read,
 * with an X-Hamlet-Error header after a leading From_ line, using only
 * write(2) and _exit(2), which a signal handler may call. The state is
 * file-static because a signal handler can reach nothing else; it is set
 * once the message is in memory and cleared when the output is written.
 */
static struct {
	const char		*raw;
	size_t			 len;
	size_t			 off;		/* where the header goes */
	char			 hdr_timeout[128];
	char			 hdr_oom[128];
	char			 hdr_fatal[128];
	int			 tempfail;
	volatile sig_atomic_t	 armed;
	volatile sig_atomic_t	 started;	/* stdout written to */
} em;

static void
em_write(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(EX_IOERR);
		p += w;
		n -= (size_t)w;
	}
}

static void
em_out(const char *hdr, const char *why)
{
	ssize_t w;

	if (!em.armed)
		return;
	em.armed = 0;
	w = write(STDERR_FILENO, why, strlen(why));
	(void)w;
	/* half a message is out: a failure makes procmail keep its copy */
	if (em.started || em.tempfail)
		_exit(EX_TEMPFAIL);
	em_write(em.raw, em.off);
	em_write(hdr, strlen(hdr));
	em_write(em.raw + em.off, em.len - em.off);
	_exit(0);
}

static void
em_alarm(int sig)
{
	(void)sig;
	em_out(em.hdr_timeout, "hamlet: timeout: message passed through "
	    "unscanned\n");
}

/* GLib's fatal errors (g_error, its allocation failures) trap */
static void
em_fatal(int sig)
{
	em_out(em.hdr_fatal, "hamlet: fatal library error: message passed "
	    "through unscanned\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
em_oom(void)
{
	em_out(em.hdr_oom, "hamlet: out of memory: message passed through "
	    "unscanned\n");
}

static void
em_arm(const struct buf *msg, unsigned secs, int tempfail)
{
	const char *r = buf_str(msg), *nl;
	const char *eol = "\n";
	struct sigaction sa;

	em.raw = r;
	em.len = msg->len;
	em.off = 0;
	nl = memchr(r, '\n', em.len);
	if (nl != NULL && nl > r && nl[-1] == '\r')
		eol = "\r\n";
	if (em.len >= 5 && memcmp(r, "From ", 5) == 0)
		em.off = nl ? (size_t)(nl - r) + 1 : em.len;
	snprintf(em.hdr_timeout, sizeof(em.hdr_timeout), "X-Hamlet-Error: "
	    "not scanned: no result within %u s%s", secs, eol);
	snprintf(em.hdr_oom, sizeof(em.hdr_oom), "X-Hamlet-Error: "
	    "not scanned: out of memory%s", eol);
	snprintf(em.hdr_fatal, sizeof(em.hdr_fatal), "X-Hamlet-Error: "
	    "not scanned: fatal library error (out of memory?)%s", eol);
	em.tempfail = tempfail;
	em.started = 0;
	em.armed = 1;
	xalloc_set_oom_hook(em_oom);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = em_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = em_fatal;
	sigaction(SIGTRAP, &sa, NULL);
	alarm(secs);
}

static void
em_disarm(void)
{
	alarm(0);
	em.armed = 0;
}

static void
usage(void)
{
	fprintf(stderr,
"usage: hamlet check [options] [FILE]\n"
"       hamlet check --report [options] [FILE]\n"
"       hamlet check --batch [options] [FILE...]\n"
"  --report           print score, required score and the rules hit\n"
"  --batch            one line per message: path, spam|ham, score, rules\n"
"  -e, --exit-code    exit 1 when the message is spam\n"
"  --tempfail         exit 75 (EX_TEMPFAIL) instead of passing the message\n"
"                     through untagged when it cannot be scanned\n"
"  --prefs FILE       user preferences (default ~/.hamlet/user_prefs if it\n"
"                     exists): scores, required_score, welcomelist_from ...\n"
"  --no-user-prefs    ignore ~/.hamlet/user_prefs\n"
"  --timeout SECS     pass the message through untagged when there is no\n"
"                     result after SECS seconds (default 120)\n");
	cli_common_usage(stderr);
}

static int
write_all(const char *p, size_t n)
{
	em.started = 1;
	if (n && fwrite(p, 1, n, stdout) != n)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

/* Copy what is left of the input (stdin or FILE) to stdout. */
static int
copy_rest(const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : NULL;
	char b[65536];
	size_t n;
	int rc = 0;

	if (in == NULL)
		return -1;	/* files are read whole or not at all */
	while ((n = fread(b, 1, sizeof(b), in)) > 0)
		if (fwrite(b, 1, n, stdout) != n) {
			rc = -1;
			break;
		}
	if (ferror(in))
		rc = -1;
	return fflush(stdout) == 0 ? rc : -1;
}

/* Pass the message through with a header naming the problem. */
static int
pass_through(const struct buf *msg, const char *why, int tempfail)
{
	struct buf out = BUF_INIT;
	int rc;

	fprintf(stderr, "hamlet: %s\n", why);
	if (tempfail)
		return EX_TEMPFAIL;
	spamhdr_error_message(buf_str(msg), msg->len, why, &out);
	rc = write_all(buf_str(&out), out.len) ? EX_IOERR : 0;
	buf_free(&out);
	return rc;
}

static void
print_report(struct scan *s, FILE *fp)
{
	const struct result *r = &s->res;

	fprintf(fp, "Content analysis details:   (%.1f points, %.1f required)\n\n",
	    r->score, r->required);
	fprintf(fp, " pts rule name              description\n");
	fprintf(fp, "---- ---------------------- "
	    "--------------------------------------------------\n");
	for (size_t i = 0; i < r->nhits; i++) {
		const struct hit *h = &r->hits[i];
		const struct symdef *d = h->sym;

		if (d->flags & SYM_SUB)
			continue;
		if (fabs(h->score) >= 10)
			fprintf(fp, "%4.0f", h->score);
		else
			fprintf(fp, "%4.1f", h->score);
		fprintf(fp, " %-22s %s%s\n", d->name, d->area ? d->area : "",
		    d->desc ? d->desc : "No description available.");
		if (h->detail && *h->detail)
			fprintf(fp, "%27s [%s]\n", "", h->detail);
	}
	fprintf(fp, "\nverdict: %s (score %.3f, required %.1f, %.2f ms)\n",
	    r->is_spam ? "spam" : "ham", r->score, r->required,
	    scan_elapsed_ms(s));
	if (s->error)
		fprintf(fp, "error: %s\n", s->error);
	if (s->msg->limits)
		fprintf(fp, "limits reached: 0x%x (message only partly scanned)\n",
		    s->msg->limits);
}

/* path<TAB>spam|ham<TAB>score<TAB>SYM,SYM */
static void
batch_one(struct engine *e, const struct envelope *env, const char *path)
{
	struct buf m = BUF_INIT;
	struct scan *s;
	enum status st = cli_read_file(path, &m, CHECK_MAX_INPUT);

	if (st != ST_OK) {
		printf("%s\terror\t0\t%s\n", path,
		    st == ST_ERR_IO ? strerror(errno) : status_str(st));
		buf_free(&m);
		return;
	}
	s = scan_new(e, env, buf_str(&m), m.len);
	st = scan_run(s);
	printf("%s\t%s\t%.3f\t", path, st == ST_OK || st == ST_ERR_INTERNAL ?
	    (s->res.is_spam ? "spam" : "ham") : "error", s->res.score);
	int first = 1;
	for (size_t i = 0; i < s->res.nhits; i++) {
		const struct symdef *d = s->res.hits[i].sym;
		if (d->flags & SYM_SUB)
			continue;
		printf("%s%s", first ? "" : ",", d->name);
		first = 0;
	}
	putchar('\n');
	scan_free(s);
	buf_free(&m);
}

static int
run_batch(struct cli *c)
{
	struct engine *e = cli_engine(c);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (c->nargs > 0) {
		for (int i = 0; i < c->nargs; i++)
			batch_one(e, &c->env, c->args[i]);
	} else {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n > 0)
				batch_one(e, &c->env, line);
		}
		free(line);
	}
	engine_unref(e);
	cli_free(c);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

int
cmd_check(int argc, char **argv)
{
	struct cli c;
	int report = 0, batch = 0, exit_code = 0, tempfail = 0, rc;
	int no_prefs = 0;
	const char *prefs = NULL, *timeout = NULL;
	char prefs_path[4096];
	unsigned secs = CHECK_DEFAULT_TIMEOUT;
	const struct cli_opt opts[] = {
		{ "--report", "-r", &report, NULL },
		{ "--batch", NULL, &batch, NULL },
		{ "--exit-code", "-e", &exit_code, NULL },
		{ "--tempfail", NULL, &tempfail, NULL },
		{ "--prefs", NULL, NULL, &prefs },
		{ "--no-user-prefs", NULL, &no_prefs, NULL },
		{ "--timeout", NULL, NULL, &timeout },
		{ NULL, NULL, NULL, NULL }
	};
	struct buf msg = BUF_INIT, out = BUF_INIT;
	const char *path;
	char err[1024];
	struct engine *e;
	struct scan *s;
	enum status st;

	rc = cli_parse(&c, argc, argv, opts);
	if (rc != 0) {
		usage();
		cli_free(&c);
		return rc < 0 ? 0 : rc;
	}
	if (timeout != NULL) {
		char *end;
		unsigned long v = strtoul(timeout, &end, 10);

		if (*timeout == '\0' || *end != '\0' || v == 0 || v > 86400) {
			fprintf(stderr, "hamlet: --timeout: 1 to 86400 seconds\n");
			cli_free(&c);
			return EX_USAGE;
		}
		secs = (unsigned)v;
	}
	/* the user's own settings, as SpamAssassin's ~/.spamassassin/user_prefs */
	if (!no_prefs && prefs == NULL) {
		const char *home = getenv("HOME");

		if (home != NULL && *home != '\0' &&
		    (size_t)snprintf(prefs_path, sizeof(prefs_path),
		    "%s/.hamlet/user_prefs", home) < sizeof(prefs_path) &&
		    access(prefs_path, F_OK) == 0)
			prefs = prefs_path;
	}
	c.setup.prefs = no_prefs ? NULL : prefs;
	if (batch)
		return run_batch(&c);
	if (c.nargs > 1) {
		usage();
		cli_free(&c);
		return EX_USAGE;
	}
	path = c.nargs ? c.args[0] : "-";
	st = cli_read_file(path, &msg, CHECK_MAX_INPUT);
	if (st != ST_OK) {
		fprintf(stderr, "hamlet: %s: %s\n", path, st == ST_ERR_IO ?
		    strerror(errno) : "message too large");
		if (msg.len == 0 || report ||
		    (st == ST_ERR_LIMIT && strcmp(path, "-") != 0))
			return c.nargs ? EX_NOINPUT : EX_IOERR;
		/* a partial message is still the user's mail: pass it on */
		rc = pass_through(&msg, st == ST_ERR_LIMIT ? "message too large "
		    "to scan" : "message could not be read whole", tempfail);
		/* too large: the rest is still unread on the input; copy it */
		if (rc == 0 && st == ST_ERR_LIMIT && copy_rest(path) != 0)
			rc = EX_IOERR;
		buf_free(&msg);
		return rc ? rc : st == ST_ERR_LIMIT ? 0 : EX_IOERR;
	}
	c.setup.oneshot = msg.len < CHECK_JIT_MIN_BYTES;
	if (!report)
		em_arm(&msg, secs, tempfail);
	e = setup_engine(&c.setup, err, sizeof(err));
	if (e == NULL) {
		if (report) {
			fprintf(stderr, "hamlet: %s\n", err);
			buf_free(&msg);
			cli_free(&c);
			return EX_CONFIG;
		}
		char why[1100];
		snprintf(why, sizeof(why), "not scanned: %s", err);
		rc = pass_through(&msg, why, tempfail);
		em_disarm();
		buf_free(&msg);
		cli_free(&c);
		return rc;
	}
	s = scan_new(e, &c.env, buf_str(&msg), msg.len);
	st = scan_run(s);
	if (report) {
		print_report(s, stdout);
		rc = 0;
	} else if (st != ST_OK) {
		char why[600];
		snprintf(why, sizeof(why), "not scanned: %s",
		    s->error ? s->error : status_str(st));
		rc = pass_through(&msg, why, tempfail);
	} else {
		/* the body goes out straight from the input buffer */
		size_t off = spamhdr_tag_header(s, buf_str(&msg), msg.len, &out);
		rc = write_all(buf_str(&out), out.len) ||
		    write_all(buf_str(&msg) + off, msg.len - off) ? EX_IOERR : 0;
		if (rc)
			fprintf(stderr, "hamlet: writing the message: %s\n",
			    strerror(errno));
	}
	em_disarm();
	if (rc == 0 && exit_code && s->res.is_spam && st == ST_OK)
		rc = 1;
	scan_free(s);
	engine_unref(e);
	buf_free(&msg);
	buf_free(&out);
	cli_free(&c);
	return rc;
}
