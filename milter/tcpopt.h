/*
 * tcpopt.h - socket options libmilter does not set for us.
 */
#ifndef HAMLET_TCPOPT_H
#define HAMLET_TCPOPT_H

/*
 * Set TCP_NODELAY on every listening TCP socket among the descriptors
 * below maxfd, which the connections accepted on it inherit (Linux).
 * Returns how many sockets it set, or -1 when setting one failed.
 */
int tcpopt_nodelay_listeners(int maxfd);

#endif
