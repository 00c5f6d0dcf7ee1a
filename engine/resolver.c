/*
 * resolver.c - DNS lookups for the auth checks (SPF, DKIM, DMARC, ARC).
 *
 * Why c-ares and not libresolv's res_nquery: res_nquery's timeout is in
 * whole seconds (RES_TIMEOUT/retrans) and a query cannot be cut short
 * when the per-message budget runs out; c-ares takes millisecond
 * timeouts, lets us drive the event loop against our own deadline, does
 * EDNS0 and TCP fallback, and keeps all state in a per-session channel
 * (no per-thread res_state juggling). Debian ships it (libc-ares-dev).
 *
 * Ownership: a struct resolver is built once and shared read-only. A
 * session owns its channel, its cache and every reply (all freed by
 * resolver_session_free). Replies are deep copies bounded by
 * RESOLVER_MAX_RR / RESOLVER_MAX_TXT.
 *
 * Errors: NXDOMAIN and NODATA are ST_NOTFOUND (nxdomain tells them
 * apart); SERVFAIL, REFUSED, unreachable servers and malformed answers
 * are ST_ERR_TEMP; a query cut by its timeout or by the budget is
 * ST_ERR_TIMEOUT. Nothing here aborts on bad input.
 *
 * SECURITY: DNS answers are untrusted. c-ares parses the wire format;
 * we copy at most RESOLVER_MAX_RR records of at most RESOLVER_MAX_TXT
 * bytes each and NUL-terminate everything. Query names are checked for
 * length and characters before they go out. Zone files are test input,
 * parsed with bounded lines.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <ares.h>

#include "log.h"
#include "resolver.h"
#include "xalloc.h"

enum backend { BACKEND_SYSTEM, BACKEND_ZONE };

/* zone pseudo-types */
#define ZONE_SERVFAIL	(-1)
#define ZONE_TIMEOUT	(-2)

struct zone_rec {
	char		*name;		/* lowercase, no final dot */
	int		 type;		/* enum resolver_type or ZONE_* */
	struct resolver_rr rr;
};

struct resolver {
	enum backend	 backend;
	char		*servers;	/* system: CSV override or NULL */
	struct zone_rec	*recs;		/* zone */
	size_t		 nrecs, caprecs;
};

struct cache_ent {
	char		*name;
	int		 type;
	struct resolver_reply *reply;
};

struct resolver_session {
	struct resolver	*r;
	long		 timeout_ms;
	long		 budget_ms;
	double		 spent_ms;
	unsigned	 queries;
	ares_channel	 chan;
	int		 chan_ok;	/* 1 initialized, -1 failed, 0 not yet */
	struct cache_ent cache[RESOLVER_CACHE];
	size_t		 ncache;
	/* replies not in the cache (cache full), freed with the session */
	struct resolver_reply **extra;
	size_t		 nextra;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_rc;

static void
ares_global(void)
{
	ares_init_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static struct resolver_reply *
reply_new(enum status st)
{
	struct resolver_reply *rep = xcalloc(1, sizeof(*rep));

	rep->st = st;
	return rep;
}

static void
reply_free(struct resolver_reply *rep)
{
	if (rep == NULL)
		return;
	for (size_t i = 0; i < rep->n; i++)
		free(rep->rr[i].data);
	free(rep->rr);
	free(rep);
}

/* Append a record; returns it, or NULL when the reply is full. */
static struct resolver_rr *
reply_add(struct resolver_reply *rep, const char *data, size_t len)
{
	struct resolver_rr *rr;

	if (rep->n >= RESOLVER_MAX_RR)
		return NULL;
	if (len > RESOLVER_MAX_TXT)
		len = RESOLVER_MAX_TXT;
	rep->rr = xreallocarray(rep->rr, rep->n + 1, sizeof(*rep->rr));
	rr = &rep->rr[rep->n++];
	memset(rr, 0, sizeof(*rr));
	rr->data = xmalloc(len + 1);
	memcpy(rr->data, data, len);
	rr->data[len] = '\0';
	rr->len = strlen(rr->data);	/* an embedded NUL ends the record */
	return rr;
}

/* Lowercase copy without the final dot; NULL when not a sane name. */
static char *
name_norm(const char *name)
{
	size_t len = strlen(name);
	char *n;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RESOLVER_MAX_NAME)
		return NULL;
	n = xstrndup(name, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n[i];

		/* letters, digits, '-', '_', '.', '*'; nothing that could
		   confuse a resolver or a log line */
		if (!isalnum(c) && c != '-' && c != '_' && c != '.' &&
		    c != '*') {
			free(n);
			return NULL;
		}
		if (c == '.' && (i == 0 || n[i - 1] == '.')) {
			free(n);
			return NULL;
		}
		n[i] = (char)tolower(c);
	}
	return n;
}

/* ---- zone backend ---- */

struct resolver *
resolver_zone_new(void)
{
	struct resolver *r = xcalloc(1, sizeof(*r));

	r->backend = BACKEND_ZONE;
	return r;
}

static int
type_from_name(const char *t)
{
	if (strcasecmp(t, "A") == 0)
		return RESOLVER_A;
	if (strcasecmp(t, "AAAA") == 0)
		return RESOLVER_AAAA;
	if (strcasecmp(t, "TXT") == 0)
		return RESOLVER_TXT;
	if (strcasecmp(t, "MX") == 0)
		return RESOLVER_MX;
	if (strcasecmp(t, "PTR") == 0)
		return RESOLVER_PTR;
	if (strcasecmp(t, "SERVFAIL") == 0)
		return ZONE_SERVFAIL;
	if (strcasecmp(t, "TIMEOUT") == 0)
		return ZONE_TIMEOUT;
	return 0;
}

/* Next whitespace-separated token of *pp into tok; 0 at the end. */
static int
next_token(const char **pp, char *tok, size_t toklen)
{
	const char *p = *pp;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '\r')
		return 0;
	while (*p && !isspace((unsigned char)*p)) {
		if (n + 1 < toklen)
			tok[n++] = *p;
		p++;
	}
	tok[n] = '\0';
	*pp = p;
	return 1;
}

/* TXT rdata: one or more "strings" (\" and \\ escapes) or bare words. */
static enum status
parse_txt(const char *p, char **out, char *err, size_t errlen)
{
	char *buf = xmalloc(strlen(p) + 1);
	size_t n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '\r' || *p == ';')
			break;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				buf[n++] = *p++;
			}
			if (*p != '"') {
				snprintf(err, errlen, "unterminated string");
				free(buf);
				return ST_ERR_PARSE;
			}
			p++;
		} else {
			while (*p && !isspace((unsigned char)*p))
				buf[n++] = *p++;
		}
	}
	buf[n] = '\0';
	*out = buf;
	return ST_OK;
}

enum status
resolver_zone_add(struct resolver *r, const char *line, char *err,
    size_t errlen)
{
	char name[512], tok[512];
	const char *p = line;
	struct zone_rec rec;
	int type = 0;

	if (r == NULL || r->backend != BACKEND_ZONE) {
		snprintf(err, errlen, "not a zone resolver");
		return ST_ERR_CONFIG;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n' || *p == ';' || *p == '#')
		return ST_OK;
	if (!next_token(&p, name, sizeof(name)))
		return ST_OK;
	/* skip an optional TTL and class */
	while (next_token(&p, tok, sizeof(tok))) {
		if (isdigit((unsigned char)tok[0]) || strcasecmp(tok, "IN") == 0)
			continue;
		type = type_from_name(tok);
		break;
	}
	if (type == 0) {
		snprintf(err, errlen, "missing or unknown record type");
		return ST_ERR_PARSE;
	}
	memset(&rec, 0, sizeof(rec));
	if ((rec.name = name_norm(name)) == NULL) {
		snprintf(err, errlen, "bad name \"%s\"", name);
		return ST_ERR_PARSE;
	}
	rec.type = type;
	switch (type) {
	case RESOLVER_A:
	case RESOLVER_AAAA:
		if (!next_token(&p, tok, sizeof(tok)) ||
		    inet_pton(type == RESOLVER_A ? AF_INET : AF_INET6, tok,
		    rec.rr.addr) != 1) {
			snprintf(err, errlen, "bad address");
			goto bad;
		}
		rec.rr.data = xstrdup(tok);
		break;
	case RESOLVER_MX:
		if (!next_token(&p, tok, sizeof(tok)) ||
		    !isdigit((unsigned char)tok[0])) {
			snprintf(err, errlen, "MX needs a preference");
			goto bad;
		}
		rec.rr.pref = atoi(tok);
		/* FALLTHROUGH */
	case RESOLVER_PTR:
		if (!next_token(&p, tok, sizeof(tok))) {
			snprintf(err, errlen, "missing name");
			goto bad;
		}
		if ((rec.rr.data = name_norm(tok)) == NULL) {
			snprintf(err, errlen, "bad name \"%s\"", tok);
			goto bad;
		}
		break;
	case RESOLVER_TXT:
		if (parse_txt(p, &rec.rr.data, err, errlen) != ST_OK)
			goto bad;
		break;
	default:
		rec.rr.data = xstrdup("");
		break;
	}
	rec.rr.len = strlen(rec.rr.data);
	if (r->nrecs == r->caprecs) {
		r->caprecs = r->caprecs ? r->caprecs * 2 : 32;
		r->recs = xreallocarray(r->recs, r->caprecs, sizeof(*r->recs));
	}
	r->recs[r->nrecs++] = rec;
	return ST_OK;
bad:
	free(rec.name);
	free(rec.rr.data);
	return ST_ERR_PARSE;
}

enum status
resolver_zone_load(struct resolver *r, const char *path, char *err,
    size_t errlen)
{
	char line[4096], msg[256];
	FILE *fp;
	int lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_ERR_IO;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			fclose(fp);
			return ST_ERR_PARSE;
		}
		if (resolver_zone_add(r, line, msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			fclose(fp);
			return ST_ERR_PARSE;
		}
	}
	fclose(fp);
	return ST_OK;
}

static struct resolver_reply *
zone_lookup(struct resolver_session *s, const char *name, int type)
{
	struct resolver *r = s->r;
	struct resolver_reply *rep;
	int known = 0;

	for (size_t i = 0; i < r->nrecs; i++) {
		if (strcmp(r->recs[i].name, name) != 0)
			continue;
		if (r->recs[i].type == ZONE_SERVFAIL)
			return reply_new(ST_ERR_TEMP);
		if (r->recs[i].type == ZONE_TIMEOUT) {
			/* charge the time a real timeout would have cost */
			s->spent_ms += (double)s->timeout_ms;
			return reply_new(ST_ERR_TIMEOUT);
		}
	}
	rep = reply_new(ST_NOTFOUND);
	for (size_t i = 0; i < r->nrecs; i++) {
		struct resolver_rr *rr;

		if (strcmp(r->recs[i].name, name) != 0)
			continue;
		known = 1;
		if (r->recs[i].type != type)
			continue;
		rr = reply_add(rep, r->recs[i].rr.data, r->recs[i].rr.len);
		if (rr == NULL)
			break;
		memcpy(rr->addr, r->recs[i].rr.addr, sizeof(rr->addr));
		rr->pref = r->recs[i].rr.pref;
	}
	if (rep->n > 0)
		rep->st = ST_OK;
	else
		rep->nxdomain = !known;
	return rep;
}

/* ---- system backend (c-ares) ---- */

struct resolver *
resolver_system_new(const char *servers, char *err, size_t errlen)
{
	struct resolver *r;

	pthread_once(&ares_once, ares_global);
	if (ares_init_rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(ares_init_rc));
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->backend = BACKEND_SYSTEM;
	if (servers != NULL && *servers != '\0')
		r->servers = xstrdup(servers);
	return r;
}

static int
session_channel(struct resolver_session *s)
{
	struct ares_options o;
	int rc, mask;

	if (s->chan_ok != 0)
		return s->chan_ok == 1;
	memset(&o, 0, sizeof(o));
	/* two tries, each half the per-query timeout; the hard deadline
	   in system_lookup() bounds the whole query anyway */
	o.timeout = (int)(s->timeout_ms / 2 > 0 ? s->timeout_ms / 2 : 1);
	o.tries = 2;
	o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.ednspsz = 1232;
	mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_EDNSPSZ;
	rc = ares_init_options(&s->chan, &o, mask);
	if (rc == ARES_SUCCESS && s->r->servers != NULL) {
		rc = ares_set_servers_ports_csv(s->chan, s->r->servers);
		if (rc != ARES_SUCCESS)
			ares_destroy(s->chan);
	}
	if (rc != ARES_SUCCESS) {
		log_warnx("resolver: c-ares init: %s", ares_strerror(rc));
		s->chan_ok = -1;
		return 0;
	}
	s->chan_ok = 1;
	return 1;
}

struct query_ctx {
	int		 type;
	int		 done;
	struct resolver_reply *reply;
};

static void
parse_answer(struct query_ctx *q, const unsigned char *abuf, int alen)
{
	struct resolver_reply *rep = reply_new(ST_NOTFOUND);
	char text[INET6_ADDRSTRLEN];
	int rc = ARES_SUCCESS;

	switch (q->type) {
	case RESOLVER_TXT: {
		struct ares_txt_ext *txt = NULL, *t;
		struct resolver_rr *cur = NULL;

		rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
		if (rc != ARES_SUCCESS)
			break;
		for (t = txt; t != NULL; t = t->next) {
			if (t->record_start || cur == NULL) {
				cur = reply_add(rep, (const char *)t->txt,
				    t->length);
				if (cur == NULL)
					break;
			} else if (cur->len + t->length <= RESOLVER_MAX_TXT) {
				/* later string of the same record: join */
				cur->data = xrealloc(cur->data,
				    cur->len + t->length + 1);
				memcpy(cur->data + cur->len, t->txt, t->length);
				cur->data[cur->len + t->length] = '\0';
				cur->len = strlen(cur->data);
			}
		}
		ares_free_data(txt);
		break;
	}
	case RESOLVER_A: {
		struct ares_addrttl at[RESOLVER_MAX_RR];
		int n = RESOLVER_MAX_RR;

		rc = ares_parse_a_reply(abuf, alen, NULL, at, &n);
		if (rc != ARES_SUCCESS)
			break;
		for (int i = 0; i < n; i++) {
			struct resolver_rr *rr;

			inet_ntop(AF_INET, &at[i].ipaddr, text, sizeof(text));
			if ((rr = reply_add(rep, text, strlen(text))) == NULL)
				break;
			memcpy(rr->addr, &at[i].ipaddr, 4);
		}
		break;
	}
	case RESOLVER_AAAA: {
		struct ares_addr6ttl at[RESOLVER_MAX_RR];
		int n = RESOLVER_MAX_RR;

		rc = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
		if (rc != ARES_SUCCESS)
			break;
		for (int i = 0; i < n; i++) {
			struct resolver_rr *rr;

			inet_ntop(AF_INET6, &at[i].ip6addr, text, sizeof(text));
			if ((rr = reply_add(rep, text, strlen(text))) == NULL)
				break;
			memcpy(rr->addr, &at[i].ip6addr, 16);
		}
		break;
	}
	case RESOLVER_MX: {
		struct ares_mx_reply *mx = NULL, *m;

		rc = ares_parse_mx_reply(abuf, alen, &mx);
		if (rc != ARES_SUCCESS)
			break;
		for (m = mx; m != NULL; m = m->next) {
			struct resolver_rr *rr = reply_add(rep, m->host,
			    strlen(m->host));

			if (rr == NULL)
				break;
			rr->pref = m->priority;
		}
		ares_free_data(mx);
		break;
	}
	case RESOLVER_PTR: {
		struct hostent *he = NULL;
		unsigned char dummy[4] = { 0, 0, 0, 0 };

		rc = ares_parse_ptr_reply(abuf, alen, dummy, sizeof(dummy),
		    AF_INET, &he);
		if (rc != ARES_SUCCESS)
			break;
		if (he->h_name != NULL)
			reply_add(rep, he->h_name, strlen(he->h_name));
		for (size_t i = 0; he->h_aliases != NULL &&
		    he->h_aliases[i] != NULL && i < RESOLVER_MAX_RR; i++)
			reply_add(rep, he->h_aliases[i],
			    strlen(he->h_aliases[i]));
		ares_free_hostent(he);
		break;
	}
	}
	if (rc == ARES_SUCCESS && rep->n > 0)
		rep->st = ST_OK;
	else if (rc == ARES_SUCCESS || rc == ARES_ENODATA)
		rep->st = ST_NOTFOUND;
	else
		rep->st = ST_ERR_TEMP;	/* malformed answer */
	q->reply = rep;
}

static void
query_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query_ctx *q = arg;

	(void)timeouts;
	if (q->done)
		return;
	q->done = 1;
	switch (status) {
	case ARES_SUCCESS:
		parse_answer(q, abuf, alen);
		break;
	case ARES_ENODATA:
		q->reply = reply_new(ST_NOTFOUND);
		break;
	case ARES_ENOTFOUND:
		q->reply = reply_new(ST_NOTFOUND);
		q->reply->nxdomain = 1;
		break;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		q->reply = reply_new(ST_ERR_TIMEOUT);
		break;
	default:
		q->reply = reply_new(ST_ERR_TEMP);
		break;
	}
}

static struct resolver_reply *
system_lookup(struct resolver_session *s, const char *name, int type,
    double deadline)
{
	struct query_ctx q;

	if (!session_channel(s))
		return reply_new(ST_ERR_TEMP);
	memset(&q, 0, sizeof(q));
	q.type = type;
	ares_query(s->chan, name, ns_c_in, type, query_cb, &q);
	/* bounded: each round either progresses or waits until deadline */
	while (!q.done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval maxtv, tv, *tvp;
		int n = 0, wait_ms, bits;
		double left = deadline - now_ms();

		if (left <= 0) {
			ares_cancel(s->chan);
			break;
		}
		bits = ares_getsock(s->chan, socks, ARES_GETSOCK_MAXNUM);
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			/* c-ares' own macros shift a signed 1 into bit 31 */
			if (((unsigned)bits >> i) & 1u)
				ev |= POLLIN;
			if (((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
				ev |= POLLOUT;
			if (ev == 0)
				continue;
			pfd[n].fd = socks[i];
			pfd[n].events = ev;
			pfd[n].revents = 0;
			n++;
		}
		maxtv.tv_sec = (long)(left / 1000);
		maxtv.tv_usec = (long)((left - (double)maxtv.tv_sec * 1000) *
		    1000);
		tvp = ares_timeout(s->chan, &maxtv, &tv);
		wait_ms = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) + 1;
		if (n == 0) {
			/* nothing to wait on: let c-ares time out/fail */
			ares_process_fd(s->chan, ARES_SOCKET_BAD,
			    ARES_SOCKET_BAD);
			if (!q.done && poll(NULL, 0, wait_ms) < 0 &&
			    errno != EINTR)
				break;
			continue;
		}
		if (poll(pfd, (nfds_t)n, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			ares_socket_t rfd = ARES_SOCKET_BAD;
			ares_socket_t wfd = ARES_SOCKET_BAD;

			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
				rfd = pfd[i].fd;
			if (pfd[i].revents & POLLOUT)
				wfd = pfd[i].fd;
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD)
				ares_process_fd(s->chan, rfd, wfd);
		}
		/* timeouts are processed by a call with no fds */
		ares_process_fd(s->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	if (!q.done) {
		/* ares_cancel ran the callback; if not, give up anyway */
		q.done = 1;
		reply_free(q.reply);
		q.reply = reply_new(ST_ERR_TIMEOUT);
	}
	return q.reply;
}

/* ---- sessions ---- */

struct resolver_session *
resolver_session_new(struct resolver *r, long timeout_ms, long budget_ms)
{
	struct resolver_session *s = xcalloc(1, sizeof(*s));

	s->r = r;
	s->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	s->budget_ms = budget_ms;
	return s;
}

static void
session_keep(struct resolver_session *s, const char *name, int type,
    struct resolver_reply *rep)
{
	if (s->ncache < RESOLVER_CACHE) {
		s->cache[s->ncache].name = xstrdup(name);
		s->cache[s->ncache].type = type;
		s->cache[s->ncache].reply = rep;
		s->ncache++;
		return;
	}
	s->extra = xreallocarray(s->extra, s->nextra + 1, sizeof(*s->extra));
	s->extra[s->nextra++] = rep;
}

int
resolver_session_exhausted(const struct resolver_session *s)
{
	return s->budget_ms > 0 && s->spent_ms >= (double)s->budget_ms;
}

enum status
resolver_query(struct resolver_session *s, const char *name,
    enum resolver_type type, const struct resolver_reply **out)
{
	struct resolver_reply *rep;
	char *n;
	double t0, deadline;

	if ((n = name_norm(name)) == NULL) {
		rep = reply_new(ST_NOTFOUND);
		rep->nxdomain = 1;
		session_keep(s, "", -1, rep);
		*out = rep;
		return rep->st;
	}
	for (size_t i = 0; i < s->ncache; i++) {
		if (s->cache[i].type == (int)type &&
		    strcmp(s->cache[i].name, n) == 0) {
			free(n);
			*out = s->cache[i].reply;
			return (*out)->st;
		}
	}
	if (resolver_session_exhausted(s)) {
		free(n);
		rep = reply_new(ST_ERR_TIMEOUT);
		session_keep(s, "", -1, rep);
		*out = rep;
		return rep->st;
	}
	s->queries++;
	t0 = now_ms();
	deadline = t0 + (double)s->timeout_ms;
	if (s->budget_ms > 0 &&
	    t0 + ((double)s->budget_ms - s->spent_ms) < deadline)
		deadline = t0 + ((double)s->budget_ms - s->spent_ms);
	if (s->r->backend == BACKEND_ZONE)
		rep = zone_lookup(s, n, (int)type);
	else
		rep = system_lookup(s, n, (int)type, deadline);
	s->spent_ms += now_ms() - t0;
	/* temporary failures are not cached: a retry in the same
	   message (another check) may succeed */
	if (rep->st == ST_ERR_TEMP || rep->st == ST_ERR_TIMEOUT)
		session_keep(s, "", -1, rep);
	else
		session_keep(s, n, (int)type, rep);
	free(n);
	*out = rep;
	return rep->st;
}

unsigned
resolver_session_queries(const struct resolver_session *s)
{
	return s->queries;
}

double
resolver_session_spent_ms(const struct resolver_session *s)
{
	return s->spent_ms;
}

void
resolver_session_free(struct resolver_session *s)
{
	if (s == NULL)
		return;
	if (s->chan_ok == 1)
		ares_destroy(s->chan);
	for (size_t i = 0; i < s->ncache; i++) {
		free(s->cache[i].name);
		reply_free(s->cache[i].reply);
	}
	for (size_t i = 0; i < s->nextra; i++)
		reply_free(s->extra[i]);
	free(s->extra);
	free(s);
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrecs; i++) {
		free(r->recs[i].name);
		free(r->recs[i].rr.data);
	}
	free(r->recs);
	free(r->servers);
	free(r);
}

enum status
resolver_ptr_name(const char *ip, char *buf, size_t len)
{
	unsigned char a[16];
	int w;

	if (inet_pton(AF_INET, ip, a) == 1) {
		w = snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return w > 0 && (size_t)w < len ? ST_OK : ST_ERR_LIMIT;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const char hex[] = "0123456789abcdef";
		size_t o = 0;

		if (len < 16 * 4 + sizeof("ip6.arpa"))
			return ST_ERR_LIMIT;
		for (int i = 15; i >= 0; i--) {
			buf[o++] = hex[a[i] & 0xf];
			buf[o++] = '.';
			buf[o++] = hex[a[i] >> 4];
			buf[o++] = '.';
		}
		memcpy(buf + o, "ip6.arpa", sizeof("ip6.arpa"));
		return ST_OK;
	}
	return ST_ERR_PARSE;
}
