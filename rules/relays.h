/*
 * relays.h - the relays a message passed through, parsed from its
 * Received headers the way SpamAssassin's Message::Metadata::Received
 * does for the common MTAs (sendmail, Postfix, Exim, qmail, Exchange),
 * and split into trusted and untrusted relays with SpamAssassin's
 * inference when no trusted_networks are configured: relays from private
 * addresses or with SMTP AUTH are trusted until the first one that is
 * neither. The pseudo-headers X-Spam-Relays-{Untrusted,Trusted,External,
 * Internal} are the relays as strings:
 *   [ ip=1.2.3.4 rdns=mx.example.com helo=mx by=mail.example.org ident=
 *     envfrom= intl=0 id=ABC123 auth= msa=0 ]
 */
#ifndef HAMLET_RELAYS_H
#define HAMLET_RELAYS_H

#include <stddef.h>

#include "engine/msg.h"
#include "engine/pool.h"

struct relay {
	const char	*ip;
	const char	*rdns;		/* "" when the header names none */
	const char	*helo;
	const char	*by;
	const char	*ident;
	const char	*envfrom;
	const char	*id;
	const char	*auth;
	int		 private_ip;
	int		 trusted;
};

struct relays {
	struct relay	*r;		/* newest (top) first */
	size_t		 n;
	size_t		 ntrusted;	/* r[0..ntrusted) are trusted */
	size_t		 unparseable;	/* Received headers not understood */
	size_t		 nreceived;
	long		 last_trusted_rcvd;	/* index of the last Received
						   header in the trusted part,
						   -1 for none (SA's
						   last_trusted_relay_index) */
	const char	*untrusted_str;	/* never NULL */
	const char	*trusted_str;
};

/* Parse m's Received headers into the pool. Never fails. */
struct relays *relays_parse(struct pool *p, const struct msg *m);

/*
 * Parse one Received value: 1 a relay, 0 not a relay (or not
 * understood), 2 a mail fetcher's handover (fetchmail/getmail).
 */
int relays_parse_line(struct pool *p, const char *line,
    struct relay *out /* OUT */);

/* 1 for 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, 0/8 */
int relays_private_ip(const char *ip);

#endif
