/*
 * log.h - one logging sink for the whole program (OpenBSD log.c).
 *
 * log_warn/log_fatal append strerror(errno); the x variants do not.
 * Destination is stderr until log_init() selects syslog. Thread-safe.
 */
#ifndef HAMLET_LOG_H
#define HAMLET_LOG_H

void log_init(const char *ident, int to_syslog, int verbose);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(int ex, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void log_fatalx(int ex, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
/* 1 when debug messages are printed */
int log_verbose(void);

#endif
