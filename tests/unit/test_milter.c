/*
 * test_milter.c - the milter's pure parts: trusted network lists and the
 * result -> reply decision (reply_decide), without a libmilter context;
 * TCP_NODELAY on a listening socket reaching the sockets it accepts.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/cfg.h"
#include "engine/scan.h"
#include "milter/netlist.h"
#include "milter/reply.h"
#include "milter/tcpopt.h"
#include "tests/unit/testhelp.h"

static void
test_netlist(void)
{
	struct netlist *nl;
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	char err[256];

	test_cond("parse list",
	    netlist_parse("127.0.0.0/8, 10.1.2.3 192.168.0.0/16 ::1 2001:db8::/32",
	    &nl, err, sizeof(err)) == ST_OK && netlist_count(nl) == 5);
	test_cond("127.5.6.7 in 127/8", netlist_match_str(nl, "127.5.6.7"));
	test_cond("10.1.2.3 host", netlist_match_str(nl, "10.1.2.3"));
	test_cond("10.1.2.4 not", !netlist_match_str(nl, "10.1.2.4"));
	test_cond("192.168.255.1", netlist_match_str(nl, "192.168.255.1"));
	test_cond("192.169.0.1 not", !netlist_match_str(nl, "192.169.0.1"));
	test_cond("::1", netlist_match_str(nl, "::1"));
	test_cond("::2 not", !netlist_match_str(nl, "::2"));
	test_cond("2001:db8:ffff::1", netlist_match_str(nl, "2001:db8:ffff::1"));
	test_cond("2001:db9::1 not", !netlist_match_str(nl, "2001:db9::1"));
	test_cond("v4-mapped v6 matches v4 net",
	    netlist_match_str(nl, "::ffff:192.168.3.4"));
	test_cond("garbage no match", !netlist_match_str(nl, "not-an-ip"));

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	test_cond("sockaddr_in", netlist_match(nl, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "8.8.8.8", &s4.sin_addr);
	test_cond("sockaddr_in not", !netlist_match(nl, (struct sockaddr *)&s4));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	test_cond("sockaddr_in6", netlist_match(nl, (struct sockaddr *)&s6));
	test_cond("NULL addr", !netlist_match(nl, NULL));
	netlist_free(nl);

	test_cond("empty list", netlist_parse("", &nl, err, sizeof(err)) ==
	    ST_OK && netlist_count(nl) == 0 && !netlist_match_str(nl, "127.0.0.1"));
	netlist_free(nl);
	test_cond("odd prefix /0 matches all v4",
	    netlist_parse("0.0.0.0/0", &nl, err, sizeof(err)) == ST_OK &&
	    netlist_match_str(nl, "203.0.113.9") && !netlist_match_str(nl, "::5"));
	netlist_free(nl);
	test_cond("bad address", netlist_parse("10.0.0.300", &nl, err,
	    sizeof(err)) == ST_ERR_CONFIG && nl == NULL &&
	    strstr(err, "10.0.0.300") != NULL);
	test_cond("bad prefix", netlist_parse("10.0.0.0/33", &nl, err,
	    sizeof(err)) == ST_ERR_CONFIG);
	test_cond("bad v6 prefix", netlist_parse("::/129", &nl, err,
	    sizeof(err)) == ST_ERR_CONFIG);
	test_cond("prefix junk", netlist_parse("10.0.0.0/8x", &nl, err,
	    sizeof(err)) == ST_ERR_CONFIG);
	netlist_free(NULL);
}

static struct reply_in
scanned(int action, double score, int spam)
{
	struct reply_in in;

	memset(&in, 0, sizeof(in));
	in.st = ST_OK;
	in.scanned = 1;
	in.action = action;
	in.score = score;
	in.required = 5;
	in.is_spam = spam;
	return in;
}

static void
test_decide(void)
{
	struct cfg *c = cfg_new();
	struct reply_in in;
	struct reply_plan p;
	char err[256];

	in = scanned(ACTION_TAG, 1.0, 0);
	reply_decide(c, &in, &p);
	test_cond("ham: accept, tag, strip", p.rc == SMFIS_ACCEPT && p.tag &&
	    p.strip && p.kind == REPLY_TAG && strcmp(p.verdict, "ham") == 0 &&
	    p.rcode[0] == '\0' && p.reason[0] == '\0');

	in = scanned(ACTION_TAG, 9.0, 1);
	reply_decide(c, &in, &p);
	test_cond("spam tagged", p.rc == SMFIS_ACCEPT && p.tag &&
	    strcmp(p.verdict, "spam") == 0);

	cfg_set(c, "reject_text", "No spam here, 100% sure", err, sizeof(err));
	in = scanned(ACTION_REJECT, 20.0, 1);
	reply_decide(c, &in, &p);
	test_cond("reject 550 5.7.1", p.rc == SMFIS_REJECT &&
	    strcmp(p.rcode, "550") == 0 && strcmp(p.xcode, "5.7.1") == 0 &&
	    strcmp(p.text, "No spam here, 100%% sure") == 0 && !p.tag);

	cfg_set(c, "quarantine_score", "8", err, sizeof(err));
	in = scanned(ACTION_QUARANTINE, 9.0, 1);
	reply_decide(c, &in, &p);
	test_cond("quarantine with reason", p.rc == SMFIS_ACCEPT && p.tag &&
	    p.kind == REPLY_QUARANTINE && strstr(p.reason, "9.0 >= 8.0"));

	in = scanned(ACTION_DISCARD, 50.0, 1);
	reply_decide(c, &in, &p);
	test_cond("discard", p.rc == SMFIS_DISCARD && p.kind == REPLY_DISCARD);

	/* failure policy */
	in = scanned(ACTION_TAG, 0, 0);
	in.st = ST_ERR_INTERNAL;
	reply_decide(c, &in, &p);
	test_cond("error -> tempfail by default", p.rc == SMFIS_TEMPFAIL &&
	    strcmp(p.rcode, "451") == 0 && strcmp(p.xcode, "4.7.1") == 0 &&
	    !p.tag);
	in = scanned(ACTION_REJECT, 30, 1);
	in.expired = 1;
	reply_decide(c, &in, &p);
	test_cond("timeout beats score -> tempfail", p.rc == SMFIS_TEMPFAIL);
	in = scanned(ACTION_TAG, 0, 0);
	in.scanned = 0;
	reply_decide(c, &in, &p);
	test_cond("nothing scanned -> tempfail", p.rc == SMFIS_TEMPFAIL);
	cfg_set(c, "on_error", "accept", err, sizeof(err));
	in = scanned(ACTION_TAG, 0, 0);
	in.st = ST_ERR_TIMEOUT;
	reply_decide(c, &in, &p);
	test_cond("on_error accept: accept, strip, no tag",
	    p.rc == SMFIS_ACCEPT && p.strip && !p.tag &&
	    p.kind == REPLY_ERROR_ACCEPT && p.rcode[0] == '\0');

	/* viruses */
	in = scanned(ACTION_TAG, 100, 1);
	in.virus = "Eicar-Signature.UNOFFICIAL";
	reply_decide(c, &in, &p);
	test_cond("virus reject 554 names it (default av_action)",
	    p.rc == SMFIS_REJECT && strcmp(p.rcode, "554") == 0 &&
	    strcmp(p.xcode, "5.7.1") == 0 &&
	    strstr(p.text, "Eicar-Signature.UNOFFICIAL") != NULL);
	in.st = ST_ERR_INTERNAL;
	reply_decide(c, &in, &p);
	test_cond("virus reject even with another error",
	    p.rc == SMFIS_REJECT && strcmp(p.rcode, "554") == 0);
	cfg_set(c, "av_action", "quarantine", err, sizeof(err));
	in = scanned(ACTION_TAG, 0.5, 0);
	in.virus = "Bad.Thing";
	reply_decide(c, &in, &p);
	test_cond("virus quarantine independent of score",
	    p.kind == REPLY_QUARANTINE && p.rc == SMFIS_ACCEPT &&
	    strstr(p.reason, "Bad.Thing") != NULL && p.tag);
	cfg_set(c, "av_action", "tag", err, sizeof(err));
	reply_decide(c, &in, &p);
	test_cond("virus tag: score decides", p.kind == REPLY_TAG &&
	    p.rc == SMFIS_ACCEPT && strcmp(p.verdict, "ham") == 0);
	cfg_free(c);
}

static void
test_escape(void)
{
	char b[16];

	reply_escape(b, sizeof(b), "a\r\nb%c\x01");
	test_cond("escape controls and %", strcmp(b, "a  b%%c ") == 0);
	reply_escape(b, sizeof(b), "0123456789abcdefghij");
	test_cond("escape truncates", strlen(b) == 15);
	reply_escape(b, 4, "ab%");
	test_cond("escape never splits %%", strcmp(b, "ab") == 0);
	reply_escape(b, sizeof(b), NULL);
	test_cond("escape NULL", b[0] == '\0');
}

/* the TCP_NODELAY of a connection accepted on lfd, or -1 */
static int
accepted_nodelay(int lfd, const struct sockaddr_in *sa)
{
	int c, a, v = -1;
	socklen_t l = sizeof(v);

	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(c, (const struct sockaddr *)sa, sizeof(*sa)) == 0 &&
	    (a = accept(lfd, NULL, NULL)) >= 0) {
		if (getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &v, &l) != 0)
			v = -1;
		close(a);
	}
	close(c);
	return v;
}

static void
test_nodelay(void)
{
	struct sockaddr_in sa;
	struct sockaddr_un su;
	socklen_t l = sizeof(sa);
	int lfd, ufd, v;

	/* a unix listener next to it must be left alone */
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path + 1, sizeof(su.sun_path) - 1,
	    "hamlet-test-%ld", (long)getpid());
	ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	test_cond("unix listener (abstract name)", ufd >= 0 &&
	    bind(ufd, (struct sockaddr *)&su, sizeof(su)) == 0 &&
	    listen(ufd, 1) == 0);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	test_cond("tcp listener on 127.0.0.1",
	    lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(lfd, 4) == 0 &&
	    getsockname(lfd, (struct sockaddr *)&sa, &l) == 0);
	test_cond("Nagle on by default", accepted_nodelay(lfd, &sa) == 0);
	test_cond("one TCP listener found", tcpopt_nodelay_listeners(1024) == 1);
	v = accepted_nodelay(lfd, &sa);
	test_cond("accepted connection inherits TCP_NODELAY", v > 0);
	test_cond("no fd below 0 looked at", tcpopt_nodelay_listeners(0) == 0);
	close(lfd);
	close(ufd);
	test_cond("none once closed", tcpopt_nodelay_listeners(1024) == 0);
}

int
main(void)
{
	test_netlist();
	test_decide();
	test_escape();
	test_nodelay();
	return test_report();
}
