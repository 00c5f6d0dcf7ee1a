/*
 * mailsrc.c - the message source iterator (see mailsrc.h).
 *
 * mbox files are mapped read-only (mmap) and split in place; stdin is
 * read into memory; directory messages are read one at a time into a
 * reused buffer.
 *
 * Ownership: the source owns the mapping / buffers; message pointers
 * handed out stay valid until the next mailsrc_next() or close.
 * SECURITY: paths come from the operator, contents are untrusted mail;
 * sizes are bounded by MAILSRC_MAX_FILE per directory message.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/buf.h"
#include "engine/xalloc.h"
#include "train/mailsrc.h"
#include "train/maildir.h"
#include "train/mbox.h"

struct mailsrc {
	enum mailsrc_format fmt;
	char		*path;
	/* mbox and single file */
	const char	*data;
	size_t		 len;
	void		*map;		/* mmap'd region or NULL */
	struct buf	 in;		/* stdin / read() contents */
	struct mbox_split sp;
	int		 single_done;
	/* directories */
	struct maildir_list list;
	size_t		 next;
	struct buf	 file;
	uint64_t	 done;
	long		 n;
};

const char *
mailsrc_format_name(enum mailsrc_format f)
{
	switch (f) {
	case MAILSRC_MBOX:
		return "mbox";
	case MAILSRC_MAILDIR:
		return "maildir";
	case MAILSRC_DIR:
		return "directory";
	case MAILSRC_FILE:
		return "message";
	default:
		return "auto";
	}
}

/* read all of fd into b */
static int
read_fd(int fd, struct buf *b, size_t max)
{
	ssize_t r;

	for (;;) {
		buf_reserve(b, 65536);
		r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		b->p[b->len] = '\0';
		if (max && b->len > max) {
			errno = EFBIG;
			return -1;
		}
	}
	return 0;
}

/* the bytes of a file: mapped when possible */
static int
load_file(struct mailsrc *s, const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (strcmp(path, "-") == 0) {
		if (read_fd(0, &s->in, 0) != 0) {
			snprintf(err, errlen, "stdin: %s", strerror(errno));
			return -1;
		}
		s->data = buf_str(&s->in);
		s->len = s->in.len;
		return 0;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISREG(sb.st_mode) && sb.st_size > 0) {
		s->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0);
		if (s->map == MAP_FAILED) {
			s->map = NULL;
		} else {
			madvise(s->map, (size_t)sb.st_size, MADV_SEQUENTIAL);
			s->data = s->map;
			s->len = (size_t)sb.st_size;
		}
	}
	if (s->map == NULL) {
		if (read_fd(fd, &s->in, 0) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		s->data = buf_str(&s->in);
		s->len = s->in.len;
	}
	close(fd);
	return 0;
}

enum status
mailsrc_open(const char *path, enum mailsrc_format fmt, struct mailsrc **out,
    char *err, size_t errlen)
{
	struct mailsrc *s;
	struct stat sb;
	int isdir = 0;
	size_t ll;
	const char *nl;

	*out = NULL;
	if (strcmp(path, "-") != 0) {
		if (stat(path, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return ST_ERR_IO;
		}
		isdir = S_ISDIR(sb.st_mode);
	}
	if (isdir && (fmt == MAILSRC_MBOX || fmt == MAILSRC_FILE)) {
		snprintf(err, errlen, "%s: is a directory, not an mbox", path);
		return ST_ERR_PARSE;
	}
	if (!isdir && (fmt == MAILSRC_MAILDIR || fmt == MAILSRC_DIR)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return ST_ERR_PARSE;
	}
	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	if (isdir) {
		if (fmt == MAILSRC_AUTO)
			fmt = maildir_is_maildir(path) ? MAILSRC_MAILDIR :
			    MAILSRC_DIR;
		if (maildir_list(path, fmt == MAILSRC_MAILDIR, &s->list, err,
		    errlen) != ST_OK) {
			mailsrc_close(s);
			return ST_ERR_IO;
		}
	} else {
		if (load_file(s, path, err, errlen) != 0) {
			mailsrc_close(s);
			return ST_ERR_IO;
		}
		if (fmt == MAILSRC_AUTO) {
			nl = memchr(s->data, '\n', s->len);
			ll = nl != NULL ? (size_t)(nl - s->data) : s->len;
			fmt = mbox_is_from_line(s->data, ll) ? MAILSRC_MBOX :
			    MAILSRC_FILE;
		}
		if (fmt == MAILSRC_MBOX)
			mbox_split_init(&s->sp, s->data, s->len);
	}
	s->fmt = fmt;
	*out = s;
	return ST_OK;
}

/* a message file: drop a leading From_ line some tools leave */
static void
strip_from_line(const char **p, size_t *len)
{
	const char *nl = memchr(*p, '\n', *len);
	size_t ll = nl != NULL ? (size_t)(nl - *p) : *len;

	if (mbox_is_from_line(*p, ll)) {
		ll = nl != NULL ? ll + 1 : ll;
		*p += ll;
		*len -= ll;
	}
}

enum status
mailsrc_next(struct mailsrc *s, struct mailsrc_msg *m, char *err,
    size_t errlen)
{
	const char *path;
	int fd;

	memset(m, 0, sizeof(*m));
	switch (s->fmt) {
	case MAILSRC_MBOX:
		if (!mbox_split_next(&s->sp, &m->data, &m->len))
			return ST_NOTFOUND;
		m->number = s->sp.n;
		m->name = s->path;
		s->done = s->sp.pos;
		return ST_OK;
	case MAILSRC_FILE:
		if (s->single_done)
			return ST_NOTFOUND;
		s->single_done = 1;
		m->data = s->data;
		m->len = s->len;
		m->number = 1;
		m->name = s->path;
		strip_from_line(&m->data, &m->len);
		s->done = s->len;
		return ST_OK;
	default:
		break;
	}
	if (s->next >= s->list.n)
		return ST_NOTFOUND;
	path = s->list.paths[s->next++];
	m->number = ++s->n;
	m->name = path;
	buf_truncate(&s->file, 0);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return ST_ERR_IO;
	}
	if (read_fd(fd, &s->file, MAILSRC_MAX_FILE) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return ST_ERR_IO;
	}
	close(fd);
	s->done += s->file.len;
	m->data = buf_str(&s->file);
	m->len = s->file.len;
	strip_from_line(&m->data, &m->len);
	return ST_OK;
}

enum mailsrc_format
mailsrc_format(const struct mailsrc *s)
{
	return s->fmt;
}

uint64_t
mailsrc_done(const struct mailsrc *s)
{
	return s->done;
}

uint64_t
mailsrc_total(const struct mailsrc *s)
{
	if (s->fmt == MAILSRC_MAILDIR || s->fmt == MAILSRC_DIR)
		return s->list.bytes;
	return s->len;
}

void
mailsrc_close(struct mailsrc *s)
{
	if (s == NULL)
		return;
	if (s->map != NULL)
		munmap(s->map, s->len);
	buf_free(&s->in);
	buf_free(&s->file);
	mbox_split_free(&s->sp);
	maildir_list_free(&s->list);
	free(s->path);
	free(s);
}
