/*
 * sock - socket helpers.  Every descriptor they return is close-on-exec
 * and in blocking mode.  On failure they return -1 and, when why is not
 * NULL, put a Postfix-style reason there ("bind 127.0.0.1 port 25: Address
 * already in use"); they never log.
 *
 * sock_inet_listen(host, port, backlog, why)  TCP listener; host NULL
 *                                  or "" = all addresses (IPv6 dual-stack,
 *                                  else IPv4); "[::1]" brackets accepted;
 *                                  SO_REUSEADDR
 * sock_inet_connect(host, port, ms, why)  TCP connection, trying each
 *                                  address in turn, ms per attempt (0 = none)
 * sock_unix_listen(path, backlog, mode, why)  UNIX-domain stream listener
 *                                  with permissions mode; a stale socket at
 *                                  path is removed first, anything else refused
 * sock_unix_connect(path, ms, why) UNIX-domain stream connection; a
 *                                  listener whose backlog is full is waited
 *                                  for up to ms, or not at all when ms < 0
 * sock_unix_dgram_listen(path, why) UNIX-domain datagram socket bound to path,
 *                                  mode 0666 (like /dev/log: the directory
 *                                  decides who may send)
 * sock_accept(fd)                  accept4() a connection, close-on-exec
 * sock_send_fd(sock, fd)           pass fd over a UNIX-domain socket with
 *                                  one carrier byte (fd -1: the byte alone);
 *                                  0/-1
 * sock_recv_fd(sock)               receive a passed descriptor, or -1 (EPIPE
 *                                  at EOF, EBADMSG unless exactly one fd came)
 * sock_recv_fd_opt(sock, &fd)      the same when the descriptor is optional:
 *                                  0 with fd, or -1 in fd when none came
 * sock_nonblock(fd, on)            set or clear O_NONBLOCK; 0/-1
 * sock_cloexec(fd, on)             set or clear FD_CLOEXEC; 0/-1
 * sock_peer_addr(fd, buf, size)    print the peer address into buf ("1.2.3.4",
 *                                  "2001:db8::1", IPv4-mapped IPv6 as IPv4,
 *                                  "local" for UNIX-domain); returns the
 *                                  address family, or -1
 *
 * Ports are numbers or service names, as strings ("25", "smtp").
 */
#ifndef SOCK_H
#define SOCK_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"

int sock_inet_listen(const char *, const char *, int, struct str *);
int sock_inet_connect(const char *, const char *, int, struct str *);
int sock_unix_listen(const char *, int, mode_t, struct str *);
int sock_unix_connect(const char *, int, struct str *);
int sock_unix_dgram_listen(const char *, struct str *);
int sock_accept(int);
int sock_send_fd(int, int);
int sock_recv_fd(int);
int sock_recv_fd_opt(int, int *) __attribute__((warn_unused_result));
int sock_nonblock(int, bool);
int sock_cloexec(int, bool);
int sock_peer_addr(int, char *, size_t);

#endif
