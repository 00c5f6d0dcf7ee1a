/*
 * reply.c - scan result / internal status -> milter answer.
 *
 * reply_decide() holds every policy decision of the milter, in order:
 *   1. a virus (AV_VIRUS hit) with av_action reject or quarantine wins,
 *      whatever the spam score and even when another check failed: the
 *      signature match itself is trustworthy;
 *   2. an internal error, or a scan past scan_timeout, gives on_error
 *      (tempfail: 451 4.7.1; accept: deliver untagged, forged X-Spam-*
 *      headers still removed);
 *   3. a DMARC failure under p=reject, when dmarc_reject is on (550);
 *   4. the action the score reached (engine: discard > reject >
 *      quarantine > tag, each threshold NAN = never).
 * Inbound Authentication-Results carrying our own authserv-id are
 * removed like forged X-Spam-* headers (RFC 8601 section 5).
 * reply_apply() only executes the plan with smfi_* calls.
 *
 * Ownership: a plan is a plain value; nothing here allocates except the
 * scan-pool strings spamhdr returns.
 *
 * SECURITY: virus names and header values reach the MTA's reply and
 * header lines; reply_escape() strips control bytes and doubles '%'
 * (smfi_setreply treats a single '%' as a format character). Inbound
 * X-Spam-* headers are always removed before ours are added, so a sender
 * cannot forge a verdict; inbound X-Virus-* too whenever ClamAV ran and
 * we add our own.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/auth.h"
#include "engine/log.h"
#include "engine/pool.h"
#include "engine/result.h"
#include "engine/spamhdr.h"
#include "milter/reply.h"

void
reply_escape(char *dst, size_t n, const char *text)
{
	size_t o = 0;

	if (n == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)(text ? text : "");
	    *p && o + 1 < n; p++) {
		if (*p == '%') {
			if (o + 2 >= n)
				break;
			dst[o++] = '%';
			dst[o++] = '%';
		} else if (*p < 0x20 || *p == 0x7f)
			dst[o++] = ' ';
		else
			dst[o++] = (char)*p;
	}
	dst[o] = '\0';
}

static void
set_reply(struct reply_plan *out, const char *rcode, const char *xcode,
    const char *text)
{
	snprintf(out->rcode, sizeof(out->rcode), "%s", rcode);
	snprintf(out->xcode, sizeof(out->xcode), "%s", xcode);
	reply_escape(out->text, sizeof(out->text), text);
}

void
reply_decide(const struct cfg *c, const struct reply_in *in,
    struct reply_plan *out)
{
	char buf[512];

	memset(out, 0, sizeof(*out));
	out->strip = 1;

	/* 1. viruses, independent of the spam score */
	if (in->scanned && in->virus && c->av_action != AV_ACTION_TAG) {
		if (c->av_action == AV_ACTION_REJECT) {
			out->kind = REPLY_REJECT;
			out->rc = SMFIS_REJECT;
			out->verdict = "virus-reject";
			out->strip = 0;
			snprintf(buf, sizeof(buf), "Virus found: %s", in->virus);
			set_reply(out, "554", "5.7.1", buf);
		} else {
			out->kind = REPLY_QUARANTINE;
			out->rc = SMFIS_ACCEPT;
			out->verdict = "virus-quarantine";
			out->tag = in->st == ST_OK && !in->expired;
			snprintf(buf, sizeof(buf), "hamlet: virus %s", in->virus);
			reply_escape(out->reason, sizeof(out->reason), buf);
		}
		return;
	}

	/* 2. internal errors and time budget: the one failure policy */
	if (!in->scanned || in->st != ST_OK || in->expired) {
		if (c->on_error == ON_ERROR_ACCEPT) {
			out->kind = REPLY_ERROR_ACCEPT;
			out->rc = SMFIS_ACCEPT;
			out->verdict = "error-accept";
		} else {
			out->kind = REPLY_TEMPFAIL;
			out->rc = SMFIS_TEMPFAIL;
			out->verdict = "tempfail";
			out->strip = 0;
			set_reply(out, "451", "4.7.1",
			    "Temporary failure in content scanning, try again later");
		}
		return;
	}

	/* 3. DMARC p=reject failures, when dmarc_reject asks for it */
	if (in->dmarc_reject) {
		out->kind = REPLY_REJECT;
		out->rc = SMFIS_REJECT;
		out->verdict = "dmarc-reject";
		out->strip = 0;
		set_reply(out, "550", "5.7.1", in->dmarc_why ? in->dmarc_why :
		    "Rejected by DMARC policy");
		return;
	}

	/* 4. what the score reached */
	switch (in->action) {
	case ACTION_DISCARD:
		out->kind = REPLY_DISCARD;
		out->rc = SMFIS_DISCARD;
		out->verdict = "discard";
		out->strip = 0;
		break;
	case ACTION_REJECT:
		out->kind = REPLY_REJECT;
		out->rc = SMFIS_REJECT;
		out->verdict = "reject";
		out->strip = 0;
		set_reply(out, "550", "5.7.1", c->reject_text);
		break;
	case ACTION_QUARANTINE:
		out->kind = REPLY_QUARANTINE;
		out->rc = SMFIS_ACCEPT;
		out->verdict = "quarantine";
		out->tag = 1;
		snprintf(buf, sizeof(buf), "hamlet: spam score %.1f >= %.1f",
		    in->score, c->quarantine_score);
		reply_escape(out->reason, sizeof(out->reason), buf);
		break;
	default:
		out->kind = REPLY_TAG;
		out->rc = SMFIS_ACCEPT;
		out->verdict = in->is_spam ? "spam" : "ham";
		out->tag = 1;
		break;
	}
}

void
reply_in_from_scan(struct reply_in *in, struct scan *s, enum status st)
{
	const struct hit *h;

	memset(in, 0, sizeof(*in));
	in->st = st;
	in->scanned = s != NULL;
	if (s == NULL) {
		in->st = st == ST_OK ? ST_ERR_INTERNAL : st;
		return;
	}
	in->error = s->error;
	in->expired = st == ST_ERR_TIMEOUT || scan_expired(s);
	if (in->expired && in->error == NULL)
		in->error = "scan time budget exceeded";
	in->action = s->res.action;
	in->score = s->res.score;
	in->required = s->res.required;
	in->is_spam = s->res.is_spam;
	h = result_get(&s->res, "AV_VIRUS", engine_symbols(s->eng));
	if (h)
		in->virus = h->detail && *h->detail ? h->detail : "unknown";
	in->dmarc_reject = auth_dmarc_reject(s, &in->dmarc_why);
}

/* with SMFIP_HDR_LEADSPC the MTA adds no blank after the colon: we do */
static const char *
hdr_value(struct scan *s, const struct reply_msg *m, const char *v,
    char *tmp, size_t tmplen)
{
	if (!m->leadspc)
		return v;
	if (s) {
		size_t n = strlen(v);
		char *r = pool_alloc(s->pool, n + 2);

		r[0] = ' ';
		memcpy(r + 1, v, n + 1);
		return r;
	}
	snprintf(tmp, tmplen, " %s", v);
	return tmp;
}

sfsistat
reply_apply(SMFICTX *ctx, const struct cfg *c, const struct reply_plan *p,
    const struct reply_msg *m, struct scan *s)
{
	sfsistat rc = p->rc;
	sfsistat on_err = c->on_error == ON_ERROR_ACCEPT ? SMFIS_ACCEPT :
	    SMFIS_TEMPFAIL;
	struct spamhdr h[SPAMHDR_MAX];
	size_t n = 0;
	int our_virus = 0;
	char tmp[64];

	if (p->tag && s) {
		n = spamhdr_build(s, h);
		for (size_t i = 0; i < n; i++)
			if (strncasecmp(h[i].name, "X-Virus-", 8) == 0)
				our_virus = 1;
	}
	/* highest index first, so earlier indices stay valid */
	if (p->strip)
		for (size_t i = m->nxspam; i-- > 0; ) {
			if (strncasecmp(m->xspam[i].name, "X-Virus-", 8) == 0 &&
			    !our_virus)
				continue;
			if (smfi_chgheader(ctx, m->xspam[i].name,
			    m->xspam[i].idx, NULL) != MI_SUCCESS) {
				log_warnx("cannot remove inbound %s header",
				    m->xspam[i].name);
				rc = on_err;
			}
		}
	if (p->tag && s) {
		const char *subj = NULL;
		const char *ar = auth_results_header(s);

		/* our verification results go on top (RFC 8601 section 5) */
		if (ar && smfi_insheader(ctx, 0, "Authentication-Results",
		    (char *)hdr_value(s, m, ar, tmp, sizeof(tmp))) != MI_SUCCESS)
			log_warnx("cannot add Authentication-Results");

		for (size_t i = 0; i < n; i++)
			if (smfi_addheader(ctx, (char *)h[i].name,
			    (char *)hdr_value(s, m, h[i].value, tmp,
			    sizeof(tmp))) != MI_SUCCESS)
				log_warnx("cannot add header %s", h[i].name);
		if (c->rewrite_subject && *c->rewrite_subject)
			subj = spamhdr_subject(s, m->have_subject ? m->subject :
			    NULL);
		if (subj) {
			const char *v = hdr_value(s, m, subj, tmp, sizeof(tmp));

			if ((m->have_subject ?
			    smfi_chgheader(ctx, "Subject", 1, (char *)v) :
			    smfi_addheader(ctx, "Subject", (char *)v)) !=
			    MI_SUCCESS)
				log_warnx("cannot rewrite the Subject");
		}
	}
	if (p->reason[0] && smfi_quarantine(ctx, (char *)p->reason) !=
	    MI_SUCCESS) {
		log_warnx("quarantine refused by the MTA");
		rc = on_err;
	}
	if (p->rcode[0] && smfi_setreply(ctx, (char *)p->rcode,
	    (char *)p->xcode, (char *)p->text) != MI_SUCCESS)
		log_warnx("cannot set reply %s %s", p->rcode, p->xcode);
	return rc;
}
