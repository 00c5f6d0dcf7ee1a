/*
 * callbacks.h - the libmilter callbacks of hamlet-milter: they collect
 * the SMTP transaction (client, HELO, envelope, macros, headers, body up
 * to scan_max_size) and, at end of message, scan it and hand the result
 * to reply.c. They decide nothing themselves.
 */
#ifndef HAMLET_CALLBACKS_H
#define HAMLET_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description for smfi_register(). */
struct smfiDesc *callbacks_desc(void);

/*
 * From now on every MAIL FROM is answered 4xx (shutting down), so the
 * messages in flight only drain.
 */
void callbacks_stop(void);

/* Messages between MAIL FROM and end of message / abort right now. */
int callbacks_inflight(void);

/*
 * Wait until no message is in flight or timeout_ms passed; returns the
 * number still in flight.
 */
int callbacks_wait_idle(long timeout_ms);

#endif
