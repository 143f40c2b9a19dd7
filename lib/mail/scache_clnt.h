/*
 * scache_clnt - the client side of the scache service (Postfix's
 * scache(8)): a shared cache of idle, connected sockets that delivery
 * agents (smtp, lmtp) hand over after a delivery and take back for the
 * next one to the same place.
 *
 * scache_clnt_save_endp(ttl, endp, prop, fd)  cache connection fd under
 *                         endpoint label endp for at most ttl seconds,
 *                         with prop (what the client needs to reuse it);
 *                         fd is closed here either way: 0 or -1
 * scache_clnt_find_endp(endp, prop)  take a connection cached under endp:
 *                         its descriptor with prop, or -1 (none, error)
 * scache_clnt_save_dest(ttl, dest, dprop, endp)  bind logical destination
 *                         label dest to endpoint label endp: 0 or -1
 * scache_clnt_find_dest(dest, dprop, eprop)  take a connection of an
 *                         endpoint that dest is bound to: its descriptor
 *                         with both properties, or -1
 * scache_clnt_close()     drop the connection to the service
 * scache_fd_send(sock, fd), scache_fd_recv(sock, ms, &fd)  the carrier
 *                         byte (below), shared with the server: 0/-1; fd
 *                         -1 sends a byte without a descriptor, and *fd is
 *                         -1 when the byte came without one; the receiver
 *                         waits at most ms milliseconds (0: no limit)
 *
 * The labels and properties are the client's business; the server only
 * stores them.  The cache is an optimization: every failure here (the
 * service down, a malformed reply) is logged as a warning and the caller
 * just connects anew.
 *
 * The conversation over private/<connection_cache_service_name> (attr.h
 * lists, each message preceded by one carrier byte that brings a
 * descriptor when there is one to pass):
 *   server -> client  protocol=scache_protocol           (once, no carrier)
 *   client -> server  [byte + fd] request=save_endp ttl=N label=E prop=P
 *   client -> server  [byte] request=find_endp label=E
 *   client -> server  [byte] request=save_dest ttl=N label=D prop=P
 *                     endp_label=E
 *   client -> server  [byte] request=find_dest label=D
 *   server -> client  [byte (+ fd for a find hit)] status=S (find hits
 *                     add prop=P, and find_dest dest_prop=P)
 * status is SCACHE_STAT_OK, or SCACHE_STAT_FAIL (not found, refused).
 * Why a carrier first: a descriptor travels with a byte, and a buffered
 * read() that takes that byte together with earlier data discards the
 * descriptor.  Each side reads the carrier alone (recvmsg of one byte)
 * before it reads the list, and sends nothing unasked, so no buffered read
 * can swallow one.  Values are at most SCACHE_VALUE_MAX bytes.
 */
#ifndef SCACHE_CLNT_H
#define SCACHE_CLNT_H

#include "lib/util/str.h"

#define SCACHE_PROTOCOL  "scache_protocol"
#define SCACHE_STAT_OK   0
#define SCACHE_STAT_FAIL (-1)
#define SCACHE_VALUE_MAX 4096 /* a label or a property string */

int scache_clnt_save_endp(int, const char *, const char *, int);
int scache_clnt_find_endp(const char *, struct str *);
int scache_clnt_save_dest(int, const char *, const char *, const char *);
int scache_clnt_find_dest(const char *, struct str *, struct str *);
void scache_clnt_close(void);
int scache_fd_send(int, int);
int scache_fd_recv(int, int, int *) __attribute__((warn_unused_result));

#endif
