/*
 * callbacks.c - collect one SMTP transaction per libmilter context and
 * scan it at end of message.
 *
 * Per connection: a struct mconn (smfi_setpriv) with the client address
 * and name, HELO, the MTA macros j, _ and {daemon_name}, and whether the
 * client is trusted. Per message, also the macros i (queue id, which
 * Postfix only offers late) and {auth_authen}. Per message: a struct mmsg inside it, reset at MAIL
 * FROM, end of message, abort (which is also how MTAs report RSET) and
 * close, so several messages on one connection never share state.
 *
 * The message is rebuilt as CRLF text (headers as the MTA passed them,
 * blank line, body) and kept up to scan_max_size + 1 bytes (the engine
 * parses scan_max_size and flags the cut); the rest is only counted.
 * The MTA keeps the whole message: we never replace the body.
 *
 * Ownership: mconn and everything in it is malloc'd here and freed at
 * close; the snapshot reference a message holds is dropped when it ends.
 * The buffer a message is rebuilt in is kept for the connection's next
 * message when it is at most RAW_KEEP bytes (freed at close).
 *
 * SECURITY: every string here comes from the SMTP client through the MTA
 * (untrusted): each is copied with a length bound, headers and body are
 * bounded by scan_max_size, recipients and inbound X-Spam-* and X-Virus-*
 * headers by fixed caps. The scan engine parses the bytes, not this file.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "engine/auth.h"
#include "engine/buf.h"
#include "engine/log.h"
#include "engine/result.h"
#include "engine/scan.h"
#include "engine/xalloc.h"
#include "milter/callbacks.h"
#include "milter/negotiate.h"
#include "milter/reply.h"
#include "milter/snap.h"

#define MAX_FIELD	2048	/* longest macro / envelope string kept */
#define MAX_RCPT	1000	/* recipients passed to the engine */
#define MAX_XSPAM	1000	/* inbound X-Spam-* / X-Virus-* headers kept track of */
#define LOG_SYMS	1200	/* bytes of symbol names in the log line */
#define RAW_KEEP	(64 * 1024)	/* message buffer kept between messages */

struct mmsg {
	int		 active;	/* between MAIL FROM and its end */
	struct snap	*snap;		/* reference held for the message */
	char		*qid;
	char		*from;
	char		**rcpt;
	size_t		 nrcpt, rcap;
	char		*auth;
	struct buf	 raw;		/* rebuilt message, <= limit bytes */
	size_t		 limit;
	size_t		 seen;		/* message bytes seen, all of them */
	struct reply_xhdr *xs;
	size_t		 nxs, xcap;
	int		 nar;		/* Authentication-Results seen */
	int		 have_subject;
	char		*subject;
};

struct mconn {
	char		 ip[INET6_ADDRSTRLEN];	/* "" when not a network client */
	char		*hostname;
	char		*helo;
	char		*mta;		/* macro j: the MTA's host name */
	char		*daemon;	/* macro {daemon_name}: which listener */
	char		*client;	/* macro _: "name [addr]" as the MTA saw it */
	int		 trusted;
	int		 leadspc;	/* SMFIP_HDR_LEADSPC negotiated */
	int		 can_skip;	/* SMFIP_SKIP negotiated */
	unsigned long	 noreply;	/* SMFIP_NR_* negotiated */
	struct mmsg	 m;
};

static pthread_mutex_t fl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fl_cond = PTHREAD_COND_INITIALIZER;
static int fl_count;
static int fl_stopping;		/* callbacks_stop() was called */

/* one more message in flight; 0 (and none added) once stopping */
static int
inflight_begin(void)
{
	int ok;

	pthread_mutex_lock(&fl_lock);
	if ((ok = !fl_stopping))
		fl_count++;
	pthread_mutex_unlock(&fl_lock);
	return ok;
}

static void
inflight_end(void)
{
	pthread_mutex_lock(&fl_lock);
	if (--fl_count == 0)
		pthread_cond_broadcast(&fl_cond);
	pthread_mutex_unlock(&fl_lock);
}

void
callbacks_stop(void)
{
	pthread_mutex_lock(&fl_lock);
	fl_stopping = 1;
	pthread_mutex_unlock(&fl_lock);
}

int
callbacks_inflight(void)
{
	int n;

	pthread_mutex_lock(&fl_lock);
	n = fl_count;
	pthread_mutex_unlock(&fl_lock);
	return n;
}

int
callbacks_wait_idle(long timeout_ms)
{
	struct timespec ts;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fl_lock);
	while (fl_count > 0)
		if (pthread_cond_timedwait(&fl_cond, &fl_lock, &ts) != 0)
			break;
	n = fl_count;
	pthread_mutex_unlock(&fl_lock);
	return n;
}

/* a bounded copy; NULL stays NULL */
static char *
field_dup(const char *s)
{
	return s ? xstrndup(s, strnlen(s, MAX_FIELD)) : NULL;
}

/* an address without its angle brackets */
static char *
addr_dup(const char *s)
{
	size_t n;

	if (s == NULL)
		return xstrdup("");
	n = strnlen(s, MAX_FIELD);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		return xstrndup(s + 1, n - 2);
	return xstrndup(s, n);
}

static void
replace(char **dst, const char *src)
{
	free(*dst);
	*dst = field_dup(src);
}

/*
 * End a message. The buffer the message was rebuilt in stays with the
 * connection for its next message (no regrowth from 64 bytes each time)
 * unless it grew past RAW_KEEP; keep_raw 0 frees it (connection close).
 */
static void
msg_reset(struct mmsg *m, int keep_raw)
{
	struct buf raw = m->raw;

	if (m->active)
		inflight_end();
	snap_put(m->snap);
	free(m->qid);
	free(m->from);
	for (size_t i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	free(m->auth);
	if (!keep_raw || raw.cap > RAW_KEEP)
		buf_free(&raw);
	raw.len = 0;
	if (raw.p)
		raw.p[0] = '\0';	/* a buf is NUL-terminated at len */
	for (size_t i = 0; i < m->nxs; i++)
		free(m->xs[i].name);
	free(m->xs);
	free(m->subject);
	memset(m, 0, sizeof(*m));
	m->raw = raw;
}

static struct mconn *
conn_get(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
	}
	return c;
}

/* the queue id, refreshed whenever the MTA offers it (Postfix: late) */
static void
qid_update(SMFICTX *ctx, struct mmsg *m)
{
	const char *i = smfi_getsymval(ctx, "i");

	if (i && *i && (m->qid == NULL || strcmp(m->qid, i) != 0))
		replace(&m->qid, i);
}

static const char *
qid_str(const struct mmsg *m)
{
	return m->qid ? m->qid : "NOQUEUE";
}

/* append to the kept copy, up to the limit; everything is counted */
static void
raw_add(struct mmsg *m, const void *p, size_t n)
{
	m->seen += n;
	if (m->raw.len >= m->limit)
		return;
	if (n > m->limit - m->raw.len)
		n = m->limit - m->raw.len;
	buf_add(&m->raw, p, n);
}

/* a header value with every bare LF made CRLF (MTAs fold with "\n") */
static void
raw_add_value(struct mmsg *m, const char *v)
{
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, "\r\n");

		raw_add(m, p, n);
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p++;
		if (*p == '\n' || *p == '\r') {
			raw_add(m, "\r\n", 2);
			p++;
		}
	}
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long want = NEGOTIATE_ACTIONS;
	struct mconn *c = conn_get(ctx);

	if ((f0 & want) != want)
		log_warnx("MTA does not offer every action we need "
		    "(offered 0x%lx): tagging or quarantine may fail", f0);
	*pf0 = f0 & (want | SMFIF_SETSYMLIST);
	*pf1 = f1 & NEGOTIATE_STEPS;
	c->noreply = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
	if (f0 & SMFIF_SETSYMLIST)
		negotiate_symlists(ctx);
	return SMFIS_CONTINUE;
}

/* what a step that always goes on answers */
static sfsistat
go_on(const struct mconn *c, unsigned long nr_flag)
{
	return (c->noreply & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct mconn *c = conn_get(ctx);
	struct snap *sn = snap_get();

	msg_reset(&c->m, 1);
	replace(&c->hostname, hostname);
	replace(&c->mta, smfi_getsymval(ctx, "j"));
	replace(&c->daemon, smfi_getsymval(ctx, "{daemon_name}"));
	replace(&c->client, smfi_getsymval(ctx, "_"));
	c->ip[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->ip, sizeof(c->ip));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->ip, sizeof(c->ip));
	/* no network address: a local submission, trusted like 127.0.0.1 */
	if (sn)
		c->trusted = c->ip[0] ?
		    netlist_match(sn->trusted, (struct sockaddr *)sa) :
		    netlist_match_str(sn->trusted, "127.0.0.1");
	snap_put(sn);
	log_debug("connect from %s [%s] (MTA %s, %s, %s)%s",
	    c->hostname ? c->hostname : "?", c->ip[0] ? c->ip : "local",
	    c->mta ? c->mta : "?", c->daemon ? c->daemon : "?",
	    c->client ? c->client : "?", c->trusted ? " trusted" : "");
	return go_on(c, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct mconn *c = conn_get(ctx);

	replace(&c->helo, helo);
	return go_on(c, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;
	const char *auth;

	msg_reset(m, 1);
	if (!inflight_begin()) {
		smfi_setreply(ctx, "451", "4.3.2", "hamlet shutting down, "
		    "try again later");
		log_info("%s: verdict=tempfail reason=shutting-down",
		    qid_str(m));
		return SMFIS_TEMPFAIL;
	}
	m->active = 1;
	m->snap = snap_get();
	m->from = addr_dup(argv ? argv[0] : NULL);
	qid_update(ctx, m);
	auth = smfi_getsymval(ctx, "{auth_authen}");
	if (auth && *auth)
		m->auth = field_dup(auth);
	if (m->snap == NULL) {
		/* cannot happen after start; answer at eom by policy */
		return SMFIS_CONTINUE;
	}
	/* one byte more than is parsed, so the engine sees (and flags) the cut */
	m->limit = m->snap->cfg->scan_max_size + 1;
	if (c->trusted || (m->auth && m->snap->cfg->skip_authenticated)) {
		log_info("%s: verdict=skipped reason=%s from=<%s> ip=%s%s%s",
		    qid_str(m), c->trusted ? "trusted-client" :
		    "authenticated", m->from, c->ip[0] ? c->ip : "local",
		    m->auth ? " auth=" : "", m->auth ? m->auth : "");
		msg_reset(m, 1);
		return SMFIS_ACCEPT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;

	if (!m->active)
		return go_on(c, SMFIP_NR_RCPT);
	qid_update(ctx, m);
	if (argv == NULL || argv[0] == NULL || m->nrcpt >= MAX_RCPT)
		return go_on(c, SMFIP_NR_RCPT);
	if (m->nrcpt == m->rcap) {
		m->rcap = m->rcap ? m->rcap * 2 : 4;
		m->rcpt = xreallocarray(m->rcpt, m->rcap, sizeof(*m->rcpt));
	}
	m->rcpt[m->nrcpt++] = addr_dup(argv[0]);
	return go_on(c, SMFIP_NR_RCPT);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;
	const char *v = value ? value : "";
	int tracked = 0, is_ar = 0;
	size_t nlen;

	if (!m->active || name == NULL)
		return go_on(c, SMFIP_NR_HDR);
	nlen = strlen(name);
	/* inbound verdict headers reply.c may have to remove */
	switch (name[0]) {
	case 'X':
	case 'x':
		tracked = strncasecmp(name, "X-Spam-", 7) == 0 ||
		    strncasecmp(name, "X-Virus-", 8) == 0;
		break;
	case 'A':
	case 'a':
		is_ar = strcasecmp(name, "Authentication-Results") == 0;
		break;
	}
	if (is_ar) {
		char id[256];

		/* forged results in our name; the index counts all of them */
		m->nar++;
		tracked = m->snap != NULL && auth_results_is_ours(v,
		    auth_servid(m->snap->cfg, id, sizeof(id)));
	}
	if (tracked && m->nxs < MAX_XSPAM) {
		int idx = 1;

		if (is_ar)
			idx = m->nar;
		else
			for (size_t i = 0; i < m->nxs; i++)
				if (strcasecmp(m->xs[i].name, name) == 0)
					idx++;
		if (m->nxs == m->xcap) {
			m->xcap = m->xcap ? m->xcap * 2 : 4;
			m->xs = xreallocarray(m->xs, m->xcap, sizeof(*m->xs));
		}
		m->xs[m->nxs].name = field_dup(name);
		m->xs[m->nxs].idx = idx;
		m->nxs++;
	} else if (tracked)
		log_warnx("%s: more than %d X-Spam-*/X-Virus-* headers, not all "
		    "removed", qid_str(m), MAX_XSPAM);
	if (!m->have_subject && nlen == 7 && strcasecmp(name, "Subject") == 0) {
		m->have_subject = 1;
		m->subject = xstrdup(c->leadspc && *v == ' ' ? v + 1 : v);
	}
	raw_add(m, name, nlen);
	if (c->leadspc)
		raw_add(m, ":", 1);
	else
		raw_add(m, ": ", 2);
	raw_add_value(m, v);
	raw_add(m, "\r\n", 2);
	return go_on(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;

	if (m->active) {
		qid_update(ctx, m);
		raw_add(m, "\r\n", 2);
	}
	return go_on(c, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;

	if (!m->active)
		return SMFIS_CONTINUE;
	raw_add(m, chunk, len);
	/* the MTA still delivers all of it; we just stop reading */
	if (m->raw.len >= m->limit && c->can_skip)
		return SMFIS_SKIP;
	return SMFIS_CONTINUE;
}

/* "SYM1,SYM2,..." of the scored hits, bounded */
static void
symbols_str(const struct scan *s, char *out, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->res.nhits; i++) {
		const struct symdef *d = s->res.hits[i].sym;
		size_t l;

		if (d == NULL || (d->flags & SYM_SUB))
			continue;
		l = strlen(d->name);
		if (o + l + 5 >= n) {
			memcpy(out + o, "...", 4);
			return;
		}
		if (o)
			out[o++] = ',';
		memcpy(out + o, d->name, l + 1);
		o += l;
	}
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct mconn *c = conn_get(ctx);
	struct mmsg *m = &c->m;
	struct reply_msg rm;
	struct reply_in in;
	struct reply_plan plan;
	struct scan *s = NULL;
	enum status st = ST_ERR_INTERNAL;
	char syms[LOG_SYMS];
	const struct cfg *cfg;
	double ms = 0, cpu;
	struct timespec c0, c1;
	sfsistat rc;

	if (!m->active) {
		/* MAIL FROM was never seen: nothing to scan or to answer */
		return SMFIS_CONTINUE;
	}
	qid_update(ctx, m);
	rm.xspam = m->xs;
	rm.nxspam = m->nxs;
	rm.have_subject = m->have_subject;
	rm.subject = m->subject;
	rm.leadspc = c->leadspc;

	if (m->snap == NULL) {
		/* no configuration loaded: the failure policy of the defaults */
		struct cfg *def = cfg_new();

		reply_in_from_scan(&in, NULL, ST_ERR_CONFIG);
		reply_decide(def, &in, &plan);
		rc = reply_apply(ctx, def, &plan, &rm, NULL);
		log_warnx("%s: verdict=%s reason=no-configuration", qid_str(m),
		    plan.verdict);
		cfg_free(def);
		msg_reset(m, 1);
		return rc;
	}
	cfg = m->snap->cfg;
	/* this thread's CPU for the scan: the engine's cost, for the log */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	{
		struct envelope env = {
			.ip = c->ip[0] ? c->ip : NULL,
			.hostname = c->hostname,
			.helo = c->helo,
			.mail_from = m->from,
			.rcpt = (const char **)m->rcpt,
			.nrcpt = m->nrcpt,
			.auth_user = m->auth,
			.queue_id = m->qid,
		};

		s = scan_new(m->snap->eng, &env, m->raw.p ? m->raw.p : "",
		    m->raw.len);
		st = scan_run(s);
		ms = scan_elapsed_ms(s);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	cpu = (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
	    (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
	reply_in_from_scan(&in, s, st);
	reply_decide(cfg, &in, &plan);
	rc = reply_apply(ctx, cfg, &plan, &rm, s);
	symbols_str(s, syms, sizeof(syms));
	log_info("%s: verdict=%s score=%.1f/%.1f scan=%.1fms cpu=%.2fms "
	    "size=%zu from=<%s> ip=%s symbols=%s%s%s%s%s",
	    qid_str(m), plan.verdict, in.score, in.required, ms, cpu, m->seen,
	    m->from, c->ip[0] ? c->ip : "local", syms[0] ? syms : "none",
	    in.virus ? " virus=" : "", in.virus ? in.virus : "",
	    in.error ? " error=" : "", in.error ? in.error : "");
	scan_free(s);
	msg_reset(m, 1);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c)
		msg_reset(&c->m, 1);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct mconn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	msg_reset(&c->m, 0);
	free(c->hostname);
	free(c->helo);
	free(c->mta);
	free(c->daemon);
	free(c->client);
	free(c);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "hamlet",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = NEGOTIATE_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

struct smfiDesc *
callbacks_desc(void)
{
	return &desc;
}
