/*
 * test_resolver.c - the DNS interface: zone backend answers, NXDOMAIN
 * versus NODATA, joined TXT strings, simulated SERVFAIL and timeouts,
 * the per-message budget, the cache, and the c-ares backend's deadline
 * against a loopback socket that never answers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/resolver.h"
#include "testhelp.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
test_zone(void)
{
	struct resolver *r = resolver_zone_new();
	struct resolver_session *s;
	const struct resolver_reply *rep;
	char err[256];

	test_cond("zone: TXT line", resolver_zone_add(r,
	    "Example.TEST. 300 IN TXT \"v=spf1 \" \"-all\"", err,
	    sizeof(err)) == ST_OK);
	test_cond("zone: A line", resolver_zone_add(r,
	    "example.test A 192.0.2.1", err, sizeof(err)) == ST_OK);
	test_cond("zone: second A", resolver_zone_add(r,
	    "example.test 60 A 192.0.2.2", err, sizeof(err)) == ST_OK);
	test_cond("zone: AAAA", resolver_zone_add(r,
	    "example.test AAAA 2001:db8::1", err, sizeof(err)) == ST_OK);
	test_cond("zone: MX", resolver_zone_add(r,
	    "example.test MX 10 mx.example.test.", err, sizeof(err)) == ST_OK);
	test_cond("zone: PTR", resolver_zone_add(r,
	    "1.2.0.192.in-addr.arpa PTR mx.example.test", err,
	    sizeof(err)) == ST_OK);
	test_cond("zone: SERVFAIL", resolver_zone_add(r,
	    "broken.test SERVFAIL", err, sizeof(err)) == ST_OK);
	test_cond("zone: TIMEOUT", resolver_zone_add(r,
	    "slow.test TIMEOUT", err, sizeof(err)) == ST_OK);
	test_cond("zone: comment ignored", resolver_zone_add(r,
	    "; a comment", err, sizeof(err)) == ST_OK);
	test_cond("zone: bad type refused", resolver_zone_add(r,
	    "x.test FOO bar", err, sizeof(err)) == ST_ERR_PARSE);
	test_cond("zone: bad address refused", resolver_zone_add(r,
	    "x.test A 999.1.1.1", err, sizeof(err)) == ST_ERR_PARSE);
	test_cond("zone: unterminated string refused", resolver_zone_add(r,
	    "x.test TXT \"abc", err, sizeof(err)) == ST_ERR_PARSE);

	s = resolver_session_new(r, 1000, 2500);
	test_cond("TXT found", resolver_query(s, "example.test",
	    RESOLVER_TXT, &rep) == ST_OK && rep->n == 1);
	test_cond("TXT strings joined", rep->n == 1 &&
	    strcmp(rep->rr[0].data, "v=spf1 -all") == 0);
	test_cond("names are case-insensitive, final dot optional",
	    resolver_query(s, "EXAMPLE.test.", RESOLVER_TXT, &rep) == ST_OK);
	test_cond("two A records", resolver_query(s, "example.test",
	    RESOLVER_A, &rep) == ST_OK && rep->n == 2 &&
	    rep->rr[1].addr[3] == 2);
	test_cond("AAAA", resolver_query(s, "example.test", RESOLVER_AAAA,
	    &rep) == ST_OK && rep->rr[0].addr[0] == 0x20 &&
	    rep->rr[0].addr[15] == 1);
	test_cond("MX pref and name", resolver_query(s, "example.test",
	    RESOLVER_MX, &rep) == ST_OK && rep->rr[0].pref == 10 &&
	    strcmp(rep->rr[0].data, "mx.example.test") == 0);
	test_cond("PTR", resolver_query(s, "1.2.0.192.in-addr.arpa",
	    RESOLVER_PTR, &rep) == ST_OK &&
	    strcmp(rep->rr[0].data, "mx.example.test") == 0);
	test_cond("NODATA is not found, not nxdomain",
	    resolver_query(s, "1.2.0.192.in-addr.arpa", RESOLVER_TXT,
	    &rep) == ST_NOTFOUND && !rep->nxdomain);
	test_cond("NXDOMAIN", resolver_query(s, "nothere.test",
	    RESOLVER_TXT, &rep) == ST_NOTFOUND && rep->nxdomain);
	test_cond("bad name never queried", resolver_query(s,
	    "bad name;.test", RESOLVER_TXT, &rep) == ST_NOTFOUND &&
	    rep->nxdomain);
	test_cond("SERVFAIL is temporary", resolver_query(s, "broken.test",
	    RESOLVER_TXT, &rep) == ST_ERR_TEMP);
	{
		unsigned q = resolver_session_queries(s);

		resolver_query(s, "example.test", RESOLVER_TXT, &rep);
		test_cond("answers are cached", resolver_session_queries(s) == q);
		resolver_query(s, "broken.test", RESOLVER_TXT, &rep);
		test_cond("temporary failures are not cached",
		    resolver_session_queries(s) == q + 1);
	}
	test_cond("budget not spent yet", !resolver_session_exhausted(s));
	test_cond("TIMEOUT times out", resolver_query(s, "slow.test",
	    RESOLVER_A, &rep) == ST_ERR_TIMEOUT);
	test_cond("a timeout charges its timeout",
	    resolver_session_spent_ms(s) >= 1000);
	resolver_query(s, "slow.test", RESOLVER_TXT, &rep);
	resolver_query(s, "slow.test", RESOLVER_MX, &rep);
	test_cond("budget exhausted after three timeouts",
	    resolver_session_exhausted(s));
	{
		unsigned q = resolver_session_queries(s);

		test_cond("exhausted budget fails new queries at once",
		    resolver_query(s, "other.test", RESOLVER_A, &rep) ==
		    ST_ERR_TIMEOUT && resolver_session_queries(s) == q);
		test_cond("but cached answers still come",
		    resolver_query(s, "example.test", RESOLVER_TXT, &rep) ==
		    ST_OK);
	}
	resolver_session_free(s);
	resolver_free(r);
}

static void
test_zone_file(void)
{
	struct resolver *r = resolver_zone_new();
	char path[] = "/tmp/hamlet-zone-XXXXXX", err[256];
	int fd = mkstemp(path);
	const char *txt = "ok.test TXT \"x\"\nbad.test NOPE\n";

	test_cond("tmp zone", fd >= 0 && write(fd, txt, strlen(txt)) ==
	    (ssize_t)strlen(txt));
	close(fd);
	test_cond("zone file error", resolver_zone_load(r, path, err,
	    sizeof(err)) == ST_ERR_PARSE);
	test_cond("error names file:line", strstr(err, ":2:") != NULL);
	test_cond("missing file", resolver_zone_load(r, "/nonexistent/zone",
	    err, sizeof(err)) == ST_ERR_IO);
	unlink(path);
	resolver_free(r);
}

static void
test_ptr_name(void)
{
	char b[128];

	test_cond("ptr v4", resolver_ptr_name("192.0.2.1", b, sizeof(b)) ==
	    ST_OK && strcmp(b, "1.2.0.192.in-addr.arpa") == 0);
	test_cond("ptr v6", resolver_ptr_name("2001:db8::1", b, sizeof(b)) ==
	    ST_OK && strncmp(b, "1.0.0.0.", 8) == 0 &&
	    strstr(b, "8.b.d.0.1.0.0.2.ip6.arpa") != NULL);
	test_cond("ptr junk", resolver_ptr_name("nope", b, sizeof(b)) ==
	    ST_ERR_PARSE);
}

/* c-ares backend: a server that never answers must cost the timeout,
   not more; a refused port is a temporary error */
static void
test_system(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct resolver *r;
	struct resolver_session *s;
	const struct resolver_reply *rep;
	char servers[64], err[256];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double t0, dt;
	enum status st;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	test_cond("udp socket", fd >= 0 &&
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u",
	    ntohs(sa.sin_port));
	r = resolver_system_new(servers, err, sizeof(err));
	test_cond("system resolver", r != NULL);
	if (r == NULL)
		return;
	s = resolver_session_new(r, 300, 2000);
	t0 = now_ms();
	st = resolver_query(s, "example.test", RESOLVER_TXT, &rep);
	dt = now_ms() - t0;
	test_cond("silent server: timeout", st == ST_ERR_TIMEOUT);
	test_cond("silent server: within the per-query timeout",
	    dt >= 250 && dt < 1000);
	resolver_session_free(s);

	/* budget smaller than the timeout cuts the query */
	s = resolver_session_new(r, 2000, 200);
	t0 = now_ms();
	st = resolver_query(s, "example.test", RESOLVER_A, &rep);
	dt = now_ms() - t0;
	test_cond("budget cuts a query short", st == ST_ERR_TIMEOUT &&
	    dt < 700);
	test_cond("then the budget is exhausted",
	    resolver_session_exhausted(s));
	resolver_session_free(s);
	resolver_free(r);
	close(fd);
}

int
main(void)
{
	test_zone();
	test_zone_file();
	test_ptr_name();
	test_system();
	return test_report();
}
