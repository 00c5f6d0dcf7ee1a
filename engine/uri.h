/*
 * uri.h - URI extraction from plain text and normalization.
 *
 * SECURITY: input is untrusted mail text; every scan is linear and every
 * URI length is bounded (URI_MAX_LEN).
 */
#ifndef HAMLET_URI_H
#define HAMLET_URI_H

#include <stddef.h>

#include "buf.h"

#define URI_MAX_LEN 4096

/*
 * Call fn for every URI found in text: scheme URIs (http, https, ftp,
 * mailto) and bare "www." hosts (given as "http://www..."). The string
 * passed to fn is NUL-terminated and only valid during the call.
 * Stops early when fn returns nonzero.
 */
void uri_scan_text(const char *text, size_t len,
    int (*fn)(void *arg, const char *uri, size_t ulen, int bare), void *arg);

/*
 * Normalize uri into out: trims whitespace, lowercases scheme and host,
 * drops a default port and user info from the host, percent-decodes the
 * host. Returns 0 and sets host_off and host_len (offsets into out) when the URI
 * has a host, 1 when it has none (mailto:, relative...), -1 to skip it
 * (javascript:, empty, fragment only).
 */
int uri_normalize(const char *uri, size_t len, struct buf *out,
    size_t *host_off, size_t *host_len);

#endif
