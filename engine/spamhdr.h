/*
 * spamhdr.h - SpamAssassin-compatible output: X-Spam-* headers laid out
 * and folded exactly as SpamAssassin 4 does, the Subject rewrite, and the
 * tagged copy of a message (procmail filter output).
 *
 * Strings returned live in the scan's pool. Header values use "\n\t" as
 * the fold; callers writing CRLF mail convert.
 */
#ifndef HAMLET_SPAMHDR_H
#define HAMLET_SPAMHDR_H

#include <stddef.h>

#include "buf.h"
#include "scan.h"

#define HAMLET_VERSION	"0.1.0"
#define HAMLET_DATE	"2026-11-23"

struct spamhdr {
	const char *name;	/* "X-Spam-Status" */
	const char *value;	/* folded with "\n\t", no trailing newline */
};

#define SPAMHDR_MAX 24

/*
 * The headers to add for this result, in SpamAssassin's order:
 * Checker-Version, Flag (spam only), Level, Status, Report (spam, when
 * spam_report is on), then those of the add_headers key (add_header
 * lines of the rule files and user_prefs: "spam|ham|all Name template",
 * SpamAssassin's template tags expanded). Returns the count.
 */
size_t spamhdr_build(struct scan *s, struct spamhdr out[SPAMHDR_MAX]);

/*
 * The new Subject value (raw, as it goes on the wire) when the subject
 * must be rewritten, else NULL. old_raw is the current raw value (may be
 * NULL when the message has none). An RFC 2047 encoded subject stays
 * valid: the tag is put before the first encoded word as a separate word.
 */
const char *spamhdr_subject(struct scan *s, const char *old_raw);

/*
 * SpamAssassin's fold of one header: wraps name + ": " + value at 79
 * columns after whitespace or commas, continuation lines start with TAB.
 * Returns the folded value (without the name) in the pool.
 */
const char *spamhdr_fold(struct pool *p, const char *name, const char *value);

/*
 * Append to out the message with inbound X-Spam-* headers removed, our
 * headers added at the top of the header block (after an mbox From_ line
 * and a leading Return-Path, as SpamAssassin places them) and the subject
 * rewritten when configured. The body and
 * every other header byte are copied unchanged; line endings follow the
 * message (CRLF or LF).
 */
void spamhdr_tag_message(struct scan *s, const char *raw, size_t len,
    struct buf *out);

/*
 * The same without copying the body: appends the new header block to out
 * and returns the offset in raw from which raw is to be written as is.
 */
size_t spamhdr_tag_header(struct scan *s, const char *raw, size_t len,
    struct buf *out);

/* Same, for an unparsed message: adds only "X-Hamlet-Error: why". */
void spamhdr_error_message(const char *raw, size_t len, const char *why,
    struct buf *out);

#endif
