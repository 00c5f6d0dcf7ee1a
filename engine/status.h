/*
 * status.h - result codes shared by every hamlet module.
 *
 * Functions that can fail return enum status and hand their results back
 * through OUT parameters. Lookups are three-way: ST_OK (found),
 * ST_NOTFOUND, or an error. OOM is not a status: xalloc aborts.
 */
#ifndef HAMLET_STATUS_H
#define HAMLET_STATUS_H

enum status {
	ST_OK = 0,
	ST_NOTFOUND,		/* lookup found nothing; not an error */
	ST_ERR_IO,		/* read/write/open failed (errno is meaningful) */
	ST_ERR_PARSE,		/* malformed input */
	ST_ERR_LIMIT,		/* a configured bound was reached */
	ST_ERR_CONFIG,		/* bad configuration */
	ST_ERR_TEMP,		/* temporary failure: retry may succeed */
	ST_ERR_BUSY,		/* resource busy (store locked, ...) */
	ST_ERR_TIMEOUT,		/* time budget exhausted */
	ST_ERR_INTERNAL		/* a bug or a library failure */
};

/* A static English name for a status ("ok", "not found", ...). */
const char *status_str(enum status st);

#endif
