/*
 * mbox.h - splitting an mbox (mboxo or mboxrd) held in memory into
 * messages.
 *
 * A message starts after a "From " separator line that opens the buffer
 * or follows an empty line, and that looks like a real From_ line (a
 * sender word, then a date with a hh:mm time). Quoted lines
 * (">From ", ">>From ", ...) lose one '>' (mboxrd; for mboxo this undoes
 * the only quoting it did). The empty line before a separator belongs
 * to the mbox, not the message. CRLF line ends are handled like LF.
 * Content-Length headers are not trusted.
 *
 * SECURITY: the buffer is untrusted; the splitter only scans forward
 * within it and copies at most one message at a time.
 */
#ifndef HAMLET_MBOX_H
#define HAMLET_MBOX_H

#include <stddef.h>

#include "engine/buf.h"

struct mbox_split {
	const char	*p;		/* the whole mbox */
	size_t		 len;
	size_t		 pos;		/* next unread byte */
	long		 n;		/* messages returned so far */
	struct buf	 unq;		/* unquoted copy of the current message */
};

/* Start splitting p (len bytes); p must outlive the splitter. */
void mbox_split_init(struct mbox_split *sp, const char *p, size_t len);
/*
 * The next message: *msg and *len point into the mbox or into sp->unq
 * (valid until the next call). Returns 1, or 0 at the end.
 */
int mbox_split_next(struct mbox_split *sp, const char **msg, size_t *len);
void mbox_split_free(struct mbox_split *sp);

/* 1 if line (len bytes, no newline) is a From_ separator line. */
int mbox_is_from_line(const char *line, size_t len);

/*
 * 1 if the bytes look like a mail message: they start with a header
 * field ("Name: value"). Fills why with a short reason otherwise.
 */
int mbox_looks_like_message(const char *p, size_t len, const char **why);

#endif
