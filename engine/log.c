/*
 * log.c - stderr or syslog logging.
 *
 * State is set once by log_init() before threads start and read-only
 * afterwards. Each message is formatted into a local buffer and written
 * with a single call so lines from different threads do not interleave;
 * errno text comes from strerror_r(), not strerror()'s shared buffer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "hamlet";
static int log_syslog;
static int log_verb;

void
log_init(const char *ident, int to_syslog, int verbose)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_verb = verbose;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verb;
}

static void
vlog(int pri, int with_errno, const char *fmt, va_list ap)
{
	char msg[2048], ebuf[128];
	int saved = errno;
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		/* strerror() may share a buffer between threads; GNU's _r */
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s",
		    strerror_r(saved, ebuf, sizeof(ebuf)));
	}
	if (log_syslog)
		syslog(pri, "%s", msg);
	else {
		char line[2200];
		int len = snprintf(line, sizeof(line), "%s: %s%s\n", log_ident,
		    pri == LOG_WARNING ? "warning: " :
		    pri <= LOG_ERR ? "fatal: " : "", msg);
		if (len > (int)sizeof(line) - 1)
			len = (int)sizeof(line) - 1;
		ssize_t w = write(STDERR_FILENO, line, (size_t)len);
		(void)w;	/* nowhere left to report a failure */
	}
	errno = saved;
}

#define LOGFN(name, pri, err)				\
void name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(pri, err, fmt, ap);			\
	va_end(ap);					\
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verb)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

LOGFN(log_info, LOG_INFO, 0)
LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)

void
log_fatal(int ex, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 1, fmt, ap);
	va_end(ap);
	exit(ex);
}

void
log_fatalx(int ex, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(ex);
}
