/*
 * null_milter.c - the smallest milter that talks to the MTA the way
 * hamlet-milter does, for tests/bench/bench_milter.sh.
 *
 *   null_milter [-a] [-s USEC] SOCKET
 *
 * It negotiates exactly what milter/callbacks.c cb_negotiate asks for
 * (the same actions, SMFIP_NR_* no-reply steps, SMFIP_SKIP,
 * SMFIP_HDR_LEADSPC, the same macro lists) and then goes on at every
 * step without looking at anything: the cost the bench measures with it
 * is the milter protocol floor, what any milter with this negotiation
 * costs the MTA and itself. With -a it also adds, at end of message,
 * three fixed headers shaped like hamlet's for a ham message
 * (X-Spam-Checker-Version, X-Spam-Level, a folded X-Spam-Status), so
 * the MTA's own work of applying the tags can be told apart too. With
 * -s it burns USEC microseconds of CPU at end of message (at most 1 s),
 * a stand-in for a scan: it shows how much of what the MTA spends more
 * with hamlet comes only from the milter taking CPU time at that point.
 *
 * Ownership: nothing is allocated per connection or message.
 * SECURITY: looks at no byte of the mail; bench use only (loopback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "milter/negotiate.h"

static int add_header;
static unsigned long extra_nr;	/* -r: no reply at MAIL FROM and body either */
static long spin_us;

static long
nm_thread_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long)ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & (NEGOTIATE_ACTIONS | SMFIF_SETSYMLIST);
	*pf1 = f1 & (NEGOTIATE_STEPS | extra_nr);
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST)
		negotiate_symlists(ctx);
	/* remember the no-reply steps for this connection */
	smfi_setpriv(ctx, (void *)(*pf1 | 1UL << 31));
	return SMFIS_CONTINUE;
}

static sfsistat
nm_go_on(SMFICTX *ctx, unsigned long nr)
{
	unsigned long f = (unsigned long)smfi_getpriv(ctx);

	return (f & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return nm_go_on(ctx, SMFIP_NR_CONN);
}

static sfsistat
nm_helo(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return nm_go_on(ctx, SMFIP_NR_HELO);
}

static sfsistat
nm_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return nm_go_on(ctx, SMFIP_NR_MAIL);
}

static sfsistat
nm_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return nm_go_on(ctx, SMFIP_NR_RCPT);
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return nm_go_on(ctx, SMFIP_NR_HDR);
}

static sfsistat
nm_eoh(SMFICTX *ctx)
{
	return nm_go_on(ctx, SMFIP_NR_EOH);
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	(void)len;
	return nm_go_on(ctx, SMFIP_NR_BODY);
}

static sfsistat
nm_eom(SMFICTX *ctx)
{
	if (spin_us > 0) {
		long t0 = nm_thread_us();

		while (nm_thread_us() - t0 < spin_us)
			continue;
	}
	if (add_header) {
		smfi_addheader(ctx, "X-Spam-Checker-Version",
		    " hamlet 0.0.0 (2026-01-01) on bench.example");
		smfi_addheader(ctx, "X-Spam-Level", " ***");
		smfi_addheader(ctx, "X-Spam-Status", " No, score=3.3 "
		    "required=5.0 tests=HL_B_SHORT_BODY,HL_CT_PLAIN,\n\t"
		    "HL_NULL_A,HL_NULL_B autolearn=disabled version=0.0.0");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
nm_close(SMFICTX *ctx)
{
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc nm_desc = {
	.xxfi_name = "null",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = NEGOTIATE_ACTIONS,
	.xxfi_connect = nm_connect,
	.xxfi_helo = nm_helo,
	.xxfi_envfrom = nm_envfrom,
	.xxfi_envrcpt = nm_envrcpt,
	.xxfi_header = nm_header,
	.xxfi_eoh = nm_eoh,
	.xxfi_body = nm_body,
	.xxfi_eom = nm_eom,
	.xxfi_close = nm_close,
	.xxfi_negotiate = nm_negotiate,
};

int
main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "ars:")) != -1) {
		switch (ch) {
		case 'a':
			add_header = 1;
			break;
		case 'r':
			extra_nr = SMFIP_NR_MAIL | SMFIP_NR_BODY;
			break;
		case 's':
			spin_us = strtol(optarg, NULL, 10);
			if (spin_us < 0 || spin_us > 1000000L)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (strncmp(argv[optind], "unix:", 5) == 0)
		unlink(argv[optind] + 5);
	umask(0);	/* the MTA's user must be able to connect */
	if (smfi_setconn(argv[optind]) != MI_SUCCESS ||
	    smfi_register(nm_desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "null_milter: cannot open %s\n", argv[optind]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: null_milter [-a] [-r] [-s USEC] unix:PATH|inet:PORT@ADDR\n");
	return 2;
}
