/*
 * mailsrc.h - one iterator over the messages of whatever a user points
 * `hamlet train-*` at: an mbox file, a Maildir, an MH or plain
 * directory, a single message file, or "-" for stdin.
 *
 * Detection (unless forced): a directory with cur/ or new/ is a
 * Maildir, any other directory MH/plain; a file (or stdin) starting
 * with a From_ line is an mbox, anything else one message.
 */
#ifndef HAMLET_MAILSRC_H
#define HAMLET_MAILSRC_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

enum mailsrc_format {
	MAILSRC_AUTO, MAILSRC_MBOX, MAILSRC_MAILDIR, MAILSRC_DIR, MAILSRC_FILE
};

struct mailsrc;

struct mailsrc_msg {
	const char	*data;		/* valid until the next call */
	size_t		 len;
	long		 number;	/* 1-based position in the source */
	const char	*name;		/* the file it came from */
};

#define MAILSRC_MAX_FILE ((size_t)1 << 30)	/* one message file */

/*
 * Open path ("-" = stdin) as format (MAILSRC_AUTO detects). On error
 * returns ST_ERR_IO (or ST_ERR_PARSE for a forced format that does not
 * fit) with err naming the path.
 */
enum status mailsrc_open(const char *path, enum mailsrc_format format,
    struct mailsrc **out /* OUT */, char *err, size_t errlen);
/*
 * The next message. ST_OK, ST_NOTFOUND at the end, or ST_ERR_IO when
 * this one message could not be read (m->number and m->name say which,
 * err why); the caller may go on calling.
 */
enum status mailsrc_next(struct mailsrc *s, struct mailsrc_msg *m /* OUT */,
    char *err, size_t errlen);
enum mailsrc_format mailsrc_format(const struct mailsrc *s);
const char *mailsrc_format_name(enum mailsrc_format f);
/* Progress in bytes: done so far and total (0 when unknown). */
uint64_t mailsrc_done(const struct mailsrc *s);
uint64_t mailsrc_total(const struct mailsrc *s);
void mailsrc_close(struct mailsrc *s);

#endif
