/*
 * reply.h - the ONE place where a scan result or an internal status
 * becomes a milter answer (SMFIS_*) and header changes (OpenDKIM's
 * dkimf_libstatus idea).
 *
 * reply_decide() is pure: config + what happened -> a plan. reply_apply()
 * carries a plan out on a libmilter context. The callbacks never choose
 * an SMFIS_* for a scanned message themselves.
 */
#ifndef HAMLET_REPLY_H
#define HAMLET_REPLY_H

#include <stddef.h>

#include <libmilter/mfapi.h>

#include "engine/cfg.h"
#include "engine/scan.h"
#include "engine/status.h"

/* what happened to one message */
struct reply_in {
	enum status	 st;		/* scan_run()'s status or an internal one */
	const char	*error;		/* why st is not ST_OK (for the log), or NULL */
	int		 expired;	/* the scan went past scan_timeout */
	int		 scanned;	/* 0: no result exists (no engine, ...) */
	int		 action;	/* enum scan_action from the result */
	double		 score;
	double		 required;
	int		 is_spam;
	const char	*virus;		/* AV_VIRUS detail, or NULL */
	int		 dmarc_reject;	/* DMARC p=reject failure, dmarc_reject on */
	const char	*dmarc_why;
};

enum reply_kind {
	REPLY_TAG,		/* deliver, tagged (ham or spam) */
	REPLY_QUARANTINE,	/* tagged and held by the MTA */
	REPLY_REJECT,		/* 550/554 5.7.1 */
	REPLY_DISCARD,		/* accepted and dropped */
	REPLY_TEMPFAIL,		/* internal error, on_error tempfail */
	REPLY_ERROR_ACCEPT	/* internal error, on_error accept */
};

struct reply_plan {
	enum reply_kind	 kind;
	sfsistat	 rc;		/* what the eom callback returns */
	const char	*verdict;	/* one word for the log line */
	int		 strip;		/* remove inbound X-Spam-* headers */
	int		 tag;		/* add X-Spam-* headers (+ Subject rewrite) */
	char		 rcode[4];	/* smfi_setreply, "" = none */
	char		 xcode[8];
	char		 text[512];	/* escaped for smfi_setreply */
	char		 reason[256];	/* smfi_quarantine reason, "" = none */
};

/* Decide what to answer. Never fails. */
void reply_decide(const struct cfg *c, const struct reply_in *in,
    struct reply_plan *out);

/* Fill a reply_in from a finished scan and its status. */
void reply_in_from_scan(struct reply_in *in, struct scan *s, enum status st);

/*
 * an inbound X-Spam-* or X-Virus-* header: its name and index among
 * same-named ones
 */
struct reply_xhdr {
	char	*name;
	int	 idx;		/* 1-based, as smfi_chgheader counts */
};

/* what the callbacks collected that the header changes need */
struct reply_msg {
	const struct reply_xhdr	*xspam;
	size_t			 nxspam;
	int			 have_subject;
	const char		*subject;	/* first Subject, raw, no leading blank */
	int			 leadspc;	/* SMFIP_HDR_LEADSPC negotiated */
};

/*
 * Carry out a plan: header removals and additions (from s, which may be
 * NULL when nothing was scanned), subject rewrite, quarantine, reply
 * code. Inbound X-Spam-* headers go whenever plan->strip is set; inbound
 * X-Virus-* headers go when we add X-Virus-* ourselves (AV ran). Returns plan->rc, or the on_error answer when a libmilter call
 * failed.
 */
sfsistat reply_apply(SMFICTX *ctx, const struct cfg *c,
    const struct reply_plan *plan, const struct reply_msg *m,
    struct scan *s);

/*
 * Copy text into dst (size n) so that smfi_setreply() and
 * smfi_quarantine() take it: CR, LF and other control bytes become
 * blanks, '%' is doubled. Always NUL-terminates.
 */
void reply_escape(char *dst, size_t n, const char *text);

#endif
