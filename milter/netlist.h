/*
 * netlist.h - a list of IPv4/IPv6 networks in CIDR notation, for the
 * milter's trusted_networks.
 *
 * Built once per configuration (start, reload) and read-only afterwards,
 * so threads share it without locking.
 */
#ifndef HAMLET_NETLIST_H
#define HAMLET_NETLIST_H

#include <stddef.h>
#include <sys/socket.h>

#include "engine/status.h"

struct netlist;

/*
 * Parse a list of networks separated by blanks or commas: "10.0.0.0/8
 * 192.168.1.7 ::1 2001:db8::/32". A missing prefix length means a single
 * host. An empty string gives an empty list. On error returns
 * ST_ERR_CONFIG with a message naming the bad item in err.
 */
enum status netlist_parse(const char *spec, struct netlist **out,
    char *err, size_t errlen);

/* 1 when addr (AF_INET or AF_INET6, IPv4-mapped IPv6 too) is in the list. */
int netlist_match(const struct netlist *nl, const struct sockaddr *addr);

/* The same for an address in text form; 0 when it does not parse. */
int netlist_match_str(const struct netlist *nl, const char *addr);

size_t netlist_count(const struct netlist *nl);

void netlist_free(struct netlist *nl);

#endif
