/*
 * auth_ar.c - results from upstream: Authentication-Results (RFC 8601)
 * whose authserv-id is trusted, and Received-SPF (RFC 7208 9.1) whose
 * receiver= is trusted.
 *
 * Anyone can write these headers, so only ids in cfg
 * trusted_authserv_ids (default: this host's name) count; all others are
 * ignored. The topmost trusted header wins for each method (it is the
 * one our own border wrote last). A method taken from here is marked
 * SRC_UPSTREAM so auth.c does not verify it again in mode "both".
 *
 * Ownership: everything stored in the auth_state points into the
 * scan's pool.
 *
 * SECURITY: header values are untrusted. The parser walks the value once
 * with explicit bounds, nests comments at most 8 deep, keeps at most
 * AUTH_MAX_SIGS DKIM results and 64 resinfos per header, and looks at at
 * most 32 headers of each kind.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_int.h"

#define MAX_HEADERS	32
#define MAX_RESINFO	64
#define MAX_PROPS	16

struct prop {
	const char	*key;		/* "smtp.mailfrom", "header.d", "reason" */
	const char	*val;
};

struct resinfo {
	const char	*method;	/* lowercase */
	enum auth_res	 res;
	const char	*resstr;	/* lowercase result word */
	struct prop	 props[MAX_PROPS];
	size_t		 nprops;
	const char	*comment;	/* comments joined, or NULL */
};

int
auth_ar_trusted(const struct auth_state *st, const char *id, size_t len)
{
	const char *list = st->cfg->trusted_authserv_ids;
	const char *p;

	if (len == 0)
		return 0;
	if (list == NULL || *list == '\0')
		return strlen(st->sh->hostname) == len &&
		    strncasecmp(st->sh->hostname, id, len) == 0;
	p = list;
	while (*p) {
		size_t n;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, " ,\t");
		if (n == len && strncasecmp(p, id, len) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Skip whitespace and (nested) comments; comment text goes to cm. */
static const char *
skip_cfws(const char *p, const char *end, struct buf *cm)
{
	while (p < end) {
		if (isspace((unsigned char)*p)) {
			p++;
		} else if (*p == '(') {
			int depth = 0;
			const char *s = p + 1;

			do {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
				p++;
			} while (p < end && depth > 0 && depth <= 8);
			if (cm != NULL && p - 1 > s) {
				if (cm->len)
					buf_addc(cm, ' ');
				buf_add(cm, s, (size_t)(p - 1 - s));
			}
			if (depth != 0)
				return end;	/* unbalanced: give up */
		} else
			break;
	}
	return p;
}

/* A token (up to space, ';', '=', '(' ) or a quoted string, into pool. */
static const char *
get_token(struct pool *pool, const char *p, const char *end, int lower,
    const char **out)
{
	const char *s = p;
	char *t;

	if (p < end && *p == '"') {
		struct buf b = BUF_INIT;

		p++;
		while (p < end && *p != '"') {
			if (*p == '\\' && p + 1 < end)
				p++;
			buf_addc(&b, *p++);
		}
		if (p < end)
			p++;
		*out = pool_strdup(pool, buf_str(&b));
		buf_free(&b);
		return p;
	}
	while (p < end && !isspace((unsigned char)*p) && *p != ';' &&
	    *p != '=' && *p != '(')
		p++;
	t = pool_strndup(pool, s, (size_t)(p - s));
	if (lower)
		for (char *c = t; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	*out = t;
	return p;
}

/*
 * Parse one Authentication-Results value. Returns the number of
 * resinfos, or -1 when the authserv-id is not trusted or the header is
 * malformed.
 */
static int
parse_ar(struct auth_state *st, const char *v, struct resinfo *ri)
{
	const char *p = v, *end = v + strlen(v), *id;
	int n = 0;

	p = skip_cfws(p, end, NULL);
	p = get_token(st->pool, p, end, 0, &id);
	if (!auth_ar_trusted(st, id, strlen(id)))
		return -1;
	/* optional version, then resinfos separated by ';' */
	while (p < end && n < MAX_RESINFO) {
		struct resinfo *r = &ri[n];
		struct buf cm = BUF_INIT;
		const char *key, *val;

		p = skip_cfws(p, end, NULL);
		if (p >= end)
			break;
		if (*p != ';') {
			/* authres-version or junk: skip to the next ';' */
			while (p < end && *p != ';')
				p++;
			continue;
		}
		p++;
		p = skip_cfws(p, end, &cm);
		memset(r, 0, sizeof(*r));
		p = get_token(st->pool, p, end, 1, &key);
		if (*key == '\0' || strcmp(key, "none") == 0) {
			buf_free(&cm);
			continue;
		}
		/* method[/version] */
		{
			char *slash = strchr(key, '/');

			if (slash)
				*slash = '\0';
		}
		r->method = key;
		p = skip_cfws(p, end, &cm);
		if (p >= end || *p != '=') {
			buf_free(&cm);
			continue;
		}
		p = skip_cfws(p + 1, end, &cm);
		p = get_token(st->pool, p, end, 1, &val);
		r->resstr = val;
		r->res = auth_res_parse(val, strlen(val));
		/* properties until ';' */
		for (;;) {
			p = skip_cfws(p, end, &cm);
			if (p >= end || *p == ';')
				break;
			p = get_token(st->pool, p, end, 1, &key);
			p = skip_cfws(p, end, &cm);
			if (p >= end || *p != '=') {
				if (*key == '\0' && p < end && *p != ';')
					p++;	/* stray character */
				continue;
			}
			p = skip_cfws(p + 1, end, &cm);
			p = get_token(st->pool, p, end, 0, &val);
			if (r->nprops < MAX_PROPS) {
				r->props[r->nprops].key = key;
				r->props[r->nprops].val = val;
				r->nprops++;
			}
		}
		if (cm.len)
			r->comment = pool_strdup(st->pool, buf_str(&cm));
		buf_free(&cm);
		n++;
	}
	return n;
}

static const char *
prop(const struct resinfo *r, const char *key)
{
	for (size_t i = 0; i < r->nprops; i++)
		if (strcmp(r->props[i].key, key) == 0)
			return r->props[i].val;
	return NULL;
}

/* "p=reject" style word from a comment ("p=reject dis=none") */
static int
comment_policy(const char *c, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = c; p && *p; p++) {
		if ((p == c || !isalnum((unsigned char)p[-1])) &&
		    strncasecmp(p, key, kl) == 0 && p[kl] == '=') {
			char w = (char)tolower((unsigned char)p[kl + 1]);

			if (w == 'r' || w == 'q' || w == 'n')
				return w;
		}
	}
	return 0;
}

static void
take_ar(struct auth_state *st, const struct resinfo *ri, int n,
    int *dkim_done)
{
	for (int i = 0; i < n; i++) {
		const struct resinfo *r = &ri[i];

		/* in mode "both" an upstream temperror is retried here */
		if (r->res == AUTH_TEMPERROR &&
		    st->cfg->auth_mode == AUTH_MODE_BOTH && st->cfg->use_network)
			continue;
		if (strcmp(r->method, "spf") == 0) {
			const char *mf = prop(r, "smtp.mailfrom");
			const char *helo = prop(r, "smtp.helo");

			if (mf == NULL && helo != NULL) {
				if (st->helo_src == SRC_NONE) {
					st->spf_helo = r->res;
					st->helo_src = SRC_UPSTREAM;
				}
			} else if (st->spf_src == SRC_NONE) {
				st->spf = r->res;
				st->spf_src = SRC_UPSTREAM;
				st->spf_domain = mf ?
				    auth_addr_domain(st->pool, mf) :
				    st->mfrom_domain;
			}
		} else if (strcmp(r->method, "dkim") == 0 && !*dkim_done) {
			const char *d = prop(r, "header.d");
			const char *idt = prop(r, "header.i");
			struct auth_sig *as;

			if (r->res == AUTH_NONE)
				continue;
			st->dkim_signed = 1;
			st->dkim_src = SRC_UPSTREAM;
			if (st->nsigs >= AUTH_MAX_SIGS)
				continue;
			as = &st->sigs[st->nsigs++];
			if (d == NULL && idt != NULL)
				d = idt;
			as->domain = d ? auth_addr_domain(st->pool, d) : NULL;
			as->selector = prop(r, "header.s");
			as->res = r->res;
			as->reason = prop(r, "reason");
		} else if (strcmp(r->method, "dmarc") == 0 &&
		    st->dmarc_src == SRC_NONE) {
			int p = r->comment ? comment_policy(r->comment, "p") : 0;
			int dis = r->comment ?
			    comment_policy(r->comment, "dis") : 0;
			const char *act = prop(r, "action");
			const char *pol = prop(r, "policy.dmarc");

			if (act != NULL && dis == 0)
				dis = comment_policy(pool_printf(st->pool,
				    "dis=%s", act), "dis");
			if (pol != NULL && p == 0)
				p = comment_policy(pool_printf(st->pool,
				    "p=%s", pol), "p");
			st->dmarc = r->res == AUTH_NONE ? AUTH_NONE : r->res;
			st->dmarc_src = SRC_UPSTREAM;
			st->dmarc_p = p;
			/* the disposition applied upstream, where given, is
			   the pct-sampled policy; else the published one */
			st->dmarc_policy = dis != 0 && dis != 'n' ? dis : p;
			if (dis == 'n' && p != 0 && p != 'n')
				st->dmarc_policy = 'n';
		} else if (strcmp(r->method, "arc") == 0 &&
		    st->arc_src == SRC_NONE) {
			st->arc = r->res;
			st->arc_src = SRC_UPSTREAM;
		}
	}
	for (int i = 0; i < n; i++)
		if (strcmp(ri[i].method, "dkim") == 0 && ri[i].res != AUTH_NONE)
			*dkim_done = 1;
}

/* Received-SPF: result (comment) key=value; ... receiver=trusted */
static void
take_received_spf(struct auth_state *st, const char *v)
{
	const char *p = v, *end = v + strlen(v), *res, *key, *val;
	const char *receiver = NULL, *identity = NULL, *from = NULL;
	enum auth_res r;

	p = skip_cfws(p, end, NULL);
	p = get_token(st->pool, p, end, 1, &res);
	r = auth_res_parse(res, strlen(res));
	if (r == AUTH_UNSET)
		return;
	while (p < end) {
		p = skip_cfws(p, end, NULL);
		if (p < end && *p == ';') {
			p++;
			continue;
		}
		if (p >= end)
			break;
		p = get_token(st->pool, p, end, 1, &key);
		p = skip_cfws(p, end, NULL);
		if (p >= end || *p != '=') {
			if (*key == '\0')
				p++;
			continue;
		}
		p = skip_cfws(p + 1, end, NULL);
		p = get_token(st->pool, p, end, 0, &val);
		if (strcmp(key, "receiver") == 0)
			receiver = val;
		else if (strcmp(key, "identity") == 0)
			identity = val;
		else if (strcmp(key, "envelope-from") == 0)
			from = val;
	}
	if (receiver == NULL || !auth_ar_trusted(st, receiver,
	    strlen(receiver)))
		return;
	if (identity != NULL && strcasecmp(identity, "helo") == 0) {
		if (st->helo_src == SRC_NONE) {
			st->spf_helo = r;
			st->helo_src = SRC_UPSTREAM;
		}
	} else if (st->spf_src == SRC_NONE) {
		st->spf = r;
		st->spf_src = SRC_UPSTREAM;
		st->spf_domain = from ? auth_addr_domain(st->pool, from) :
		    st->mfrom_domain;
	}
}

void
auth_ar_parse(struct auth_state *st)
{
	struct resinfo ri[MAX_RESINFO];
	const struct msg_header *h;
	int dkim_done = 0;

	for (size_t i = 0; i < MAX_HEADERS &&
	    (h = msg_header(st->msg, "Authentication-Results", i)) != NULL;
	    i++) {
		int n = parse_ar(st, h->value ? h->value : "", ri);

		if (n > 0)
			take_ar(st, ri, n, &dkim_done);
	}
	for (size_t i = 0; i < MAX_HEADERS &&
	    (h = msg_header(st->msg, "Received-SPF", i)) != NULL; i++)
		take_received_spf(st, h->value ? h->value : "");
}
