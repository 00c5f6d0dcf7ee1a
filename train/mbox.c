/*
 * mbox.c - mbox splitting (see mbox.h).
 *
 * Ownership: the splitter borrows the mbox bytes and owns only the
 * unquoting buffer, freed by mbox_split_free().
 * SECURITY: untrusted bytes; all scanning is bounded by len, lines are
 * found with memchr, no recursion.
 */
#include <ctype.h>
#include <string.h>

#include "train/mbox.h"

void
mbox_split_init(struct mbox_split *sp, const char *p, size_t len)
{
	memset(sp, 0, sizeof(*sp));
	sp->p = p;
	sp->len = len;
}

void
mbox_split_free(struct mbox_split *sp)
{
	buf_free(&sp->unq);
}

int
mbox_is_from_line(const char *s, size_t n)
{
	size_t i;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(s, "From ", 5) != 0)
		return 0;
	i = 5;
	/* the envelope sender: one word (may be "MAILER-DAEMON", "-") */
	while (i < n && s[i] == ' ')
		i++;
	if (i == n)
		return 0;
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	/* a date follows: want a time "h:mm" somewhere in it */
	for (; i + 2 < n; i++)
		if (isdigit((unsigned char)s[i]) && s[i + 1] == ':' &&
		    isdigit((unsigned char)s[i + 2]))
			return 1;
	return 0;
}

/* length of line at off (without the newline); *next set past it */
static size_t
line_at(const struct mbox_split *sp, size_t off, size_t *next)
{
	const char *nl = memchr(sp->p + off, '\n', sp->len - off);

	if (nl == NULL) {
		*next = sp->len;
		return sp->len - off;
	}
	*next = (size_t)(nl - sp->p) + 1;
	return (size_t)(nl - (sp->p + off));
}

static int
is_empty_line(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '\r');
}

/* ">From " with one or more '>' */
static int
is_quoted_from(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && memcmp(s + i, "From ", 5) == 0;
}

int
mbox_split_next(struct mbox_split *sp, const char **msg, size_t *len)
{
	size_t start, off, next, ll, end, last_empty_at = (size_t)-1;
	int prev_empty, quoted = 0;

	if (sp->pos >= sp->len)
		return 0;
	/* skip the separator line (absent only for junk before the first) */
	off = sp->pos;
	ll = line_at(sp, off, &next);
	if (mbox_is_from_line(sp->p + off, ll))
		off = next;
	start = off;
	prev_empty = 1;
	end = sp->len;
	while (off < sp->len) {
		ll = line_at(sp, off, &next);
		if (prev_empty && off > start &&
		    mbox_is_from_line(sp->p + off, ll)) {
			end = off;
			break;
		}
		if (prev_empty && off == start && off != sp->pos &&
		    mbox_is_from_line(sp->p + off, ll)) {
			/* two separators in a row: an empty message */
			end = off;
			break;
		}
		if (!quoted && ll > 5 && sp->p[off] == '>' &&
		    is_quoted_from(sp->p + off, ll))
			quoted = 1;
		prev_empty = is_empty_line(sp->p + off, ll);
		if (prev_empty)
			last_empty_at = off;
		off = next;
	}
	sp->pos = end;
	sp->n++;
	/* the empty line before the next separator is the mbox's */
	if (end < sp->len && last_empty_at != (size_t)-1) {
		size_t dummy, el = line_at(sp, last_empty_at, &dummy);

		if (last_empty_at + el + 1 == end)
			end = last_empty_at;
	}
	if (!quoted) {
		*msg = sp->p + start;
		*len = end - start;
		return 1;
	}
	/* copy, removing one '>' from quoted From_ lines */
	buf_truncate(&sp->unq, 0);
	for (off = start; off < end; off = next) {
		const char *nl = memchr(sp->p + off, '\n', end - off);

		next = nl != NULL ? (size_t)(nl - sp->p) + 1 : end;
		ll = next - off;
		if (sp->p[off] == '>' && is_quoted_from(sp->p + off, ll))
			buf_add(&sp->unq, sp->p + off + 1, ll - 1);
		else
			buf_add(&sp->unq, sp->p + off, ll);
	}
	*msg = buf_str(&sp->unq);
	*len = sp->unq.len;
	return 1;
}

int
mbox_looks_like_message(const char *p, size_t len, const char **why)
{
	size_t i;

	*why = NULL;
	while (len > 0 && (*p == '\n' || *p == '\r')) {
		/* leading blank lines: tolerated, but then a header must come */
		p++;
		len--;
	}
	if (len == 0) {
		*why = "empty message";
		return 0;
	}
	/* a header field name: printable ASCII up to ':' */
	for (i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ':')
			break;
		if (c <= 32 || c >= 127) {
			*why = "no message header";
			return 0;
		}
	}
	if (i == 0 || i == len || i == 200) {
		*why = "no message header";
		return 0;
	}
	return 1;
}
