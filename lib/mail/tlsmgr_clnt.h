/*
 * tlsmgr_clnt - the client side of the tlsmgr service: the TLS session
 * cache that smtp and lmtp share across processes (Postfix's tlsmgr(8)
 * session cache; Postern's server ticket keys live elsewhere, tls.h).
 *
 * tlsmgr_clnt_lookup(type, id, blob)  the session cached under (type, id):
 *                        1 with the serialized session in blob, 0 not
 *                        found (or no cache for type), -1 tlsmgr not
 *                        reachable or talking nonsense (logged)
 * tlsmgr_clnt_update(type, id, blob, len)  cache a serialized session:
 *                        0, or -1 (refused, or tlsmgr unreachable)
 * tlsmgr_clnt_delete(type, id)  forget an entry: 0, or -1
 * tlsmgr_clnt_close()    drop the connection to the service
 * tlsmgr_entry_encode(out, when, p, len)  a database entry: "TIME:HEX",
 *                        the creation time and the session
 * tlsmgr_entry_decode(entry, &when, out)  the reverse: 0, or -1 for a
 *                        malformed entry (no time, bad hex, no session,
 *                        more than TLSMGR_SESSION_MAX bytes)
 *
 * type is a cache type ("smtp", "lmtp"); id says what must match for a
 * resumption to be safe (the client builds it).  The cache is an
 * optimization: when tlsmgr cannot be reached the caller just does a full
 * handshake.  Postfix's two warnings are logged once ("connect to
 * private/tlsmgr: Connection refused", "problem talking to server
 * private/tlsmgr: Connection refused"); the process then leaves tlsmgr
 * alone for TLSMGR_RETRY seconds instead of stalling every delivery.
 *
 * The conversation over private/<tlsmgr_service_name> (attr.h lists; ours,
 * not Postfix's wire format):
 *   server -> client  protocol=tlsmgr_protocol                    (once)
 *   client -> server  request=lookup cache_type=T cache_id=I
 *   client -> server  request=update cache_type=T cache_id=I session=HEX
 *   client -> server  request=delete cache_type=T cache_id=I
 *   server -> client  status=S [session=HEX]       (session: lookup hits)
 * status is TLSMGR_STAT_OK, TLSMGR_STAT_FAIL (not found, refused, no
 * cache of that type) or TLSMGR_STAT_ERR (malformed request).  Sessions
 * travel as hex (attribute values are text); a session is at most
 * TLSMGR_SESSION_MAX bytes and an id at most TLSMGR_ID_MAX.
 */
#ifndef TLSMGR_CLNT_H
#define TLSMGR_CLNT_H

#include <stddef.h>
#include <time.h>

#include "lib/util/str.h"

#define TLSMGR_PROTOCOL    "tlsmgr_protocol"
#define TLSMGR_STAT_OK     0
#define TLSMGR_STAT_FAIL   (-1)
#define TLSMGR_STAT_ERR    (-2)
#define TLSMGR_SESSION_MAX 16384 /* bytes of one serialized session */
#define TLSMGR_ID_MAX      1024  /* bytes of a cache id */
#define TLSMGR_VALUE_MAX   (2 * TLSMGR_SESSION_MAX) /* hex of a session */
#define TLSMGR_TIMEOUT     10 /* seconds for one request */
#define TLSMGR_RETRY       60 /* seconds to leave a dead tlsmgr alone */

int tlsmgr_clnt_lookup(const char *, const char *, struct str *);
int tlsmgr_clnt_update(const char *, const char *, const void *, size_t);
int tlsmgr_clnt_delete(const char *, const char *);
void tlsmgr_clnt_close(void);
void tlsmgr_entry_encode(struct str *, time_t, const void *, size_t);
int tlsmgr_entry_decode(const char *, time_t *, struct str *)
    __attribute__((warn_unused_result));

#endif
