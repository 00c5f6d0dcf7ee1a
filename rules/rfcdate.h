/*
 * rfcdate.h - RFC 822/2822 dates to seconds since the epoch, following
 * SpamAssassin's Util::parse_rfc822_date() (its formats, 2-digit years,
 * clamping to 1970..2037, zone names) so date rules agree with it.
 */
#ifndef HAMLET_RFCDATE_H
#define HAMLET_RFCDATE_H

/* 1 and *t on success, 0 when no date is recognised. */
int rfcdate_parse(const char *s, long long *t /* OUT */);

#endif
