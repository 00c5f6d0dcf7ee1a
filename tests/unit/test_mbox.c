/*
 * test_mbox.c - mailbox readers: mbox splitting (From_ detection,
 * mboxrd/mboxo unquoting, CRLF, no trailing newline, empty messages),
 * message sniffing, Maildir and MH listing, and the mailsrc iterator.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/xalloc.h"
#include "train/maildir.h"
#include "train/mailsrc.h"
#include "train/mbox.h"
#include "testhelp.h"

/* split s; store up to 8 messages as strings */
static int
split(const char *s, char **out)
{
	struct mbox_split sp;
	const char *m;
	size_t len;
	int n = 0;

	mbox_split_init(&sp, s, strlen(s));
	while (mbox_split_next(&sp, &m, &len) && n < 8)
		out[n++] = xstrndup(m, len);
	mbox_split_free(&sp);
	return n;
}

static void
freeall(char **v, int n)
{
	while (n-- > 0)
		free(v[n]);
}

static void
test_from_line(void)
{
	test_cond("From_ line", mbox_is_from_line(
	    "From alice@example.org Mon Jan  1 00:00:00 2024", 47));
	test_cond("From_ line with CR", mbox_is_from_line(
	    "From - Mon Jan 1 00:00:00 2024\r", 31));
	test_cond("prose is not a From_ line",
	    !mbox_is_from_line("From here on we go", 18));
	test_cond("From: header is not a From_ line",
	    !mbox_is_from_line("From: a@b 10:00", 15));
	test_cond("bare From", !mbox_is_from_line("From ", 5));
}

static void
test_split(void)
{
	char *m[8];
	int n;

	n = split("From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\nbody 1\n"
	    "\nFrom c@d Mon Jan 1 00:00:01 2024\nSubject: two\n\nbody 2\n", m);
	test_cond("two messages", n == 2);
	if (n == 2) {
		test_cond("first without separator blank line",
		    strcmp(m[0], "Subject: one\n\nbody 1\n") == 0);
		test_cond("second", strcmp(m[1], "Subject: two\n\nbody 2\n") == 0);
	}
	freeall(m, n);

	n = split("From a@b Mon Jan 1 00:00:00 2024\nSubject: q\n\n"
	    ">From the start\n>>From deeper\nFrom prose 10:00 not after blank\n"
	    "x\n", m);
	test_cond("quoted From_ stays in one message", n == 1);
	if (n == 1)
		test_cond("mboxrd unquoting removes one '>'", strcmp(m[0],
		    "Subject: q\n\nFrom the start\n>From deeper\n"
		    "From prose 10:00 not after blank\nx\n") == 0);
	freeall(m, n);

	n = split("From a@b Mon Jan 1 00:00:00 2024\r\nSubject: crlf\r\n\r\n"
	    "b\r\n\r\nFrom a@b Mon Jan 1 00:00:00 2024\r\nSubject: 2\r\n\r\nc", m);
	test_cond("CRLF mbox", n == 2);
	if (n == 2) {
		test_cond("CRLF: separator blank line dropped",
		    strcmp(m[0], "Subject: crlf\r\n\r\nb\r\n") == 0);
		test_cond("no trailing newline kept as is",
		    strcmp(m[1], "Subject: 2\r\n\r\nc") == 0);
	}
	freeall(m, n);

	n = split("From a@b Mon Jan 1 00:00:00 2024\n"
	    "From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\ny\n", m);
	test_cond("back-to-back separators: an empty message", n == 2 &&
	    m[0][0] == '\0' && strcmp(m[1], "Subject: x\n\ny\n") == 0);
	freeall(m, n);

	n = split("Subject: no separator\n\nbody\n", m);
	test_cond("no From_ line: one message", n == 1 &&
	    strcmp(m[0], "Subject: no separator\n\nbody\n") == 0);
	freeall(m, n);

	n = split("", m);
	test_cond("empty mbox", n == 0);
}

static void
test_sniff(void)
{
	const char *why;

	test_cond("header looks like mail",
	    mbox_looks_like_message("Subject: x\n\nb", 13, &why));
	test_cond("empty", !mbox_looks_like_message("\n\n", 2, &why) &&
	    strcmp(why, "empty message") == 0);
	test_cond("binary junk", !mbox_looks_like_message("\x01\x02\xff\xfe"
	    " junk", 9, &why) && strcmp(why, "no message header") == 0);
	test_cond("prose", !mbox_looks_like_message("hello world\n", 12,
	    &why));
}

static void
put(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	if (fp != NULL) {
		fputs(s, fp);
		fclose(fp);
	}
}

static void
test_dirs(void)
{
	char dir[] = "/tmp/hamlet-test-mbox.XXXXXX", err[256], *p;
	struct maildir_list l;
	struct mailsrc *src;
	struct mailsrc_msg mm;
	int n;

	if (mkdtemp(dir) == NULL)
		return;
	p = xasprintf("%s/md", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/md/cur", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/md/new", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/md/tmp", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/md/cur/1700000000.M1P1.host:2,S", dir);
	put(p, "Subject: a\n\nb\n");
	free(p);
	p = xasprintf("%s/md/new/odd name with spaces,;=", dir);
	put(p, "Subject: c\n\nd\n");
	free(p);
	p = xasprintf("%s/md/tmp/partial", dir);
	put(p, "Subject: being delivered\n");
	free(p);
	p = xasprintf("%s/md/cur/.hidden", dir);
	put(p, "Subject: hidden\n");
	free(p);
	p = xasprintf("%s/md", dir);
	test_cond("Maildir detected", maildir_is_maildir(p));
	test_cond("Maildir listed", maildir_list(p, 1, &l, err,
	    sizeof(err)) == ST_OK && l.n == 2 && strstr(l.paths[0], "/cur/")
	    && strstr(l.paths[1], "odd name") != NULL);
	maildir_list_free(&l);
	free(p);

	p = xasprintf("%s/mh", dir);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/mh/10", dir);
	put(p, "Subject: ten\n\n");
	free(p);
	p = xasprintf("%s/mh/2", dir);
	put(p, "From x@y Mon Jan 1 00:00:00 2024\nSubject: two\n\n");
	free(p);
	p = xasprintf("%s/mh/.mh_sequences", dir);
	put(p, "unseen: 2\n");
	free(p);
	p = xasprintf("%s/mh", dir);
	test_cond("MH is not a Maildir", !maildir_is_maildir(p));
	test_cond("MH in numeric order", maildir_list(p, 0, &l, err,
	    sizeof(err)) == ST_OK && l.n == 2 &&
	    strcmp(l.paths[0] + strlen(l.paths[0]) - 2, "/2") == 0);
	maildir_list_free(&l);
	test_cond("mailsrc: MH", mailsrc_open(p, MAILSRC_AUTO, &src, err,
	    sizeof(err)) == ST_OK && mailsrc_format(src) == MAILSRC_DIR);
	n = 0;
	while (mailsrc_next(src, &mm, err, sizeof(err)) == ST_OK) {
		n++;
		if (n == 1)
			test_cond("mailsrc: leading From_ line stripped",
			    strncmp(mm.data, "Subject: two", 12) == 0 &&
			    mm.number == 1);
	}
	test_cond("mailsrc: two files", n == 2 && mailsrc_total(src) > 0);
	mailsrc_close(src);
	test_cond("forcing --mbox on a directory fails",
	    mailsrc_open(p, MAILSRC_MBOX, &src, err, sizeof(err)) ==
	    ST_ERR_PARSE);
	free(p);

	p = xasprintf("%s/box", dir);
	put(p, "From a@b Mon Jan 1 00:00:00 2024\nSubject: 1\n\nx\n\n"
	    "From a@b Mon Jan 1 00:00:00 2024\nSubject: 2\n\ny\n");
	test_cond("mailsrc: mbox detected", mailsrc_open(p, MAILSRC_AUTO,
	    &src, err, sizeof(err)) == ST_OK &&
	    mailsrc_format(src) == MAILSRC_MBOX);
	n = 0;
	while (mailsrc_next(src, &mm, err, sizeof(err)) == ST_OK)
		n++;
	test_cond("mailsrc: mbox messages", n == 2 &&
	    mailsrc_done(src) == mailsrc_total(src));
	mailsrc_close(src);
	free(p);
	test_cond("mailsrc: missing path", mailsrc_open("/nonexistent/x",
	    MAILSRC_AUTO, &src, err, sizeof(err)) == ST_ERR_IO &&
	    strstr(err, "/nonexistent/x") != NULL);

	p = xasprintf("rm -rf '%s'", dir);
	if (system(p) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(p);
}

int
main(void)
{
	test_from_line();
	test_split();
	test_sniff();
	test_dirs();
	return test_report();
}
