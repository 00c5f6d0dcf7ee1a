/*
 * netlist.c - CIDR network lists (trusted_networks).
 *
 * Every entry is stored as 16 bytes: IPv4 networks as IPv4-mapped IPv6
 * (::ffff:a.b.c.d, prefix + 96), so one comparison handles both families
 * and a client reaching us over an IPv4-mapped address still matches its
 * IPv4 network.
 *
 * Ownership: netlist_parse() returns a list the caller frees with
 * netlist_free() (accepts NULL).
 *
 * SECURITY: the spec comes from the configuration file (trusted for
 * content); its length and every item are still bounded and validated.
 * Addresses come from the MTA's socket data.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/xalloc.h"
#include "milter/netlist.h"

#define NETLIST_MAX_ITEM 64	/* longest "addr/len" text accepted */

struct net {
	unsigned char	addr[16];
	int		plen;		/* 0..128 */
};

struct netlist {
	struct net	*nets;
	size_t		 n;
};

static const unsigned char v4mapped[12] =
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void
mask_addr(unsigned char a[16], int plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		if (bits >= 8)
			continue;
		a[i] &= bits <= 0 ? 0 : (unsigned char)(0xff << (8 - bits));
	}
}

/* text -> 16-byte form; returns the family's maximum prefix, or -1 */
static int
addr_parse(const char *s, unsigned char out[16])
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		return 32;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		memcpy(out, &a6, 16);
		return 128;
	}
	return -1;
}

enum status
netlist_parse(const char *spec, struct netlist **out, char *err,
    size_t errlen)
{
	struct netlist *nl = xcalloc(1, sizeof(*nl));
	const char *p = spec ? spec : "";
	size_t cap = 0;

	while (*p) {
		char item[NETLIST_MAX_ITEM + 1], *slash;
		size_t n = strcspn(p, " \t,");
		struct net net;
		int max;

		if (n == 0) {
			p++;
			continue;
		}
		if (n > NETLIST_MAX_ITEM) {
			snprintf(err, errlen, "network '%.*s...' too long",
			    NETLIST_MAX_ITEM, p);
			goto fail;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		slash = strchr(item, '/');
		if (slash)
			*slash++ = '\0';
		if ((max = addr_parse(item, net.addr)) < 0) {
			snprintf(err, errlen, "'%s' is not an IP address", item);
			goto fail;
		}
		net.plen = max;
		if (slash) {
			char *end;
			long l = strtol(slash, &end, 10);

			if (end == slash || *end || l < 0 || l > max) {
				snprintf(err, errlen,
				    "'%s/%s': bad prefix length", item, slash);
				goto fail;
			}
			net.plen = (int)l;
		}
		if (max == 32)
			net.plen += 96;
		mask_addr(net.addr, net.plen);
		if (nl->n == cap) {
			cap = cap ? cap * 2 : 8;
			nl->nets = xreallocarray(nl->nets, cap, sizeof(*nl->nets));
		}
		nl->nets[nl->n++] = net;
	}
	*out = nl;
	return ST_OK;
fail:
	netlist_free(nl);
	*out = NULL;
	return ST_ERR_CONFIG;
}

static int
match16(const struct netlist *nl, const unsigned char a[16])
{
	for (size_t i = 0; i < nl->n; i++) {
		unsigned char m[16];

		memcpy(m, a, 16);
		mask_addr(m, nl->nets[i].plen);
		if (memcmp(m, nl->nets[i].addr, 16) == 0)
			return 1;
	}
	return 0;
}

int
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	unsigned char a[16];

	if (nl == NULL || sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(a, &s6->sin6_addr, 16);
	} else
		return 0;
	return match16(nl, a);
}

int
netlist_match_str(const struct netlist *nl, const char *s)
{
	unsigned char a[16];

	if (nl == NULL || s == NULL || strlen(s) > NETLIST_MAX_ITEM)
		return 0;
	if (addr_parse(s, a) < 0)
		return 0;
	return match16(nl, a);
}

size_t
netlist_count(const struct netlist *nl)
{
	return nl ? nl->n : 0;
}

void
netlist_free(struct netlist *nl)
{
	if (nl == NULL)
		return;
	free(nl->nets);
	free(nl);
}
