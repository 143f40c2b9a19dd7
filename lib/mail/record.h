/*
 * record - the typed records that queue files are made of, and that
 * sendmail, postdrop, pickup and cleanup pass to each other.
 *
 * rec_put(st, type, data, len)   write one record; 0, or -1 on a write error
 * rec_puts(st, type, cstr)       rec_put of a C string
 * rec_fmt(st, type, fmt, ...)    rec_put of printf output
 * rec_cat(out, type, data, len)  append the same encoding to a str (for
 *                                a record that must reach a file in one
 *                                write, as the bounce/defer logs do)
 * rec_get(st, buf, limit)        read one record into buf: its type (> 0),
 *                                or REC_EOF (clean end before a record),
 *                                REC_TRUNC (end of input inside a record),
 *                                REC_TOOLONG (length > limit; nothing more
 *                                is read), REC_BADTYPE (type byte outside
 *                                the table below), REC_ERROR (read error,
 *                                timeout).  buf never holds a partial record
 *                                that the caller could mistake for data.
 * rec_get_meta(st, buf, limit, meta)  rec_get that also fills meta (may
 *                                be NULL): the type byte read (0 if none),
 *                                the length as declared (0 if not read in
 *                                full) and the bytes consumed, also after a
 *                                failure, for offsets and error messages
 *                                (postcat: "unexpected EOF in data, record
 *                                type 78 length 10")
 * rec_size(len)                  bytes that a record with len data bytes
 *                                takes on disk (type + length + data)
 * rec_name(type)                 postcat's name for a type ("sender"), or
 *                                NULL for a type outside the table
 * rec_type_ok(type)              type is in the table
 *
 * Encoding (ours, see COMPAT.md): one type byte, the data length as an
 * unsigned LEB128 number (7 bits per byte, low bits first, at most 5
 * bytes, so lengths stay below 2^32 and a reader stops early on garbage),
 * then the data bytes.  Data is binary-safe; a reader bounds every length
 * by its caller's limit before it allocates.  The same encoding is used on
 * disk and on the sockets between sendmail/postdrop/pickup/cleanup, so a
 * message is never re-encoded on its way into the queue.
 *
 * The record types keep Postfix's letters, so that postcat output and the
 * names in it read the same (postcat -v shows the letters).  The layout of
 * a queue file, and why it survives a crash, is in queue.h.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"

/* rec_get() results other than a type. */
#define REC_EOF     (-1)
#define REC_TRUNC   (-2)
#define REC_TOOLONG (-3)
#define REC_BADTYPE (-4)
#define REC_ERROR   (-5)

/* Envelope segment. */
#define REC_TYPE_VERSION    'Z' /* first record of every queue file: "1" */
#define REC_TYPE_SIZE       'C' /* fixed-width sizes, see queue.h */
#define REC_TYPE_TIME       'T' /* arrival time "sec usec" */
#define REC_TYPE_FULL       'F' /* sender full name */
#define REC_TYPE_FILT       'L' /* content_filter "transport:nexthop" */
#define REC_TYPE_FROM       'S' /* envelope sender (internal form) */
#define REC_TYPE_DONE       'D' /* recipient already delivered */
#define REC_TYPE_RCPT       'R' /* recipient (internal form) */
#define REC_TYPE_ORCP       'O' /* original recipient of the next R */
#define REC_TYPE_DRCP       '/' /* recipient cancelled (duplicate) */
#define REC_TYPE_WARN       'W' /* delay warning time */
#define REC_TYPE_ATTR       'A' /* named attribute "name=value" */
#define REC_TYPE_KILL       'K' /* (not used; reserved) */
#define REC_TYPE_RDR        '>' /* redirect: replaces all recipients */
#define REC_TYPE_FLGS       'f' /* cleanup flags from the client, decimal */
#define REC_TYPE_DELAY      'd' /* (reserved) */
#define REC_TYPE_VERP       'V' /* VERP delimiters */
#define REC_TYPE_DSN_RET    '<' /* DSN RET=, decimal DSN_RET_* */
#define REC_TYPE_DSN_ENVID  'i' /* DSN ENVID= (xtext decoded) */
#define REC_TYPE_DSN_ORCPT  'o' /* DSN ORCPT= of the next R "type;addr" */
#define REC_TYPE_DSN_NOTIFY 'n' /* DSN NOTIFY= of the next R, decimal */

/* Content segment. */
#define REC_TYPE_MESG 'M' /* start of content; data: content offset */
#define REC_TYPE_NORM 'N' /* one complete line, without its newline */
#define REC_TYPE_CONT 'L' /* a piece of a longer line (continues) */

/* Extracted segment (information found in the headers). */
#define REC_TYPE_XTRA 'X' /* start of extracted information */
#define REC_TYPE_RRTO 'r' /* Return-Receipt-To: */
#define REC_TYPE_ERTO 'e' /* Errors-To: */
#define REC_TYPE_PRIO 'P' /* priority */

#define REC_TYPE_END 'E' /* last record, required */

struct rec_meta {
	int type;     /* type byte, or 0 when none was read */
	size_t len;   /* declared data length */
	size_t bytes; /* bytes consumed: type + length + data read */
};

int rec_put(struct stream *, int, const void *, size_t);
int rec_puts(struct stream *, int, const char *);
void rec_cat(struct str *, int, const void *, size_t);
int rec_fmt(struct stream *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int rec_get(struct stream *, struct str *, size_t)
    __attribute__((warn_unused_result));
int rec_get_meta(struct stream *, struct str *, size_t, struct rec_meta *)
    __attribute__((warn_unused_result));
size_t rec_size(size_t);
const char *rec_name(int);
bool rec_type_ok(int);

#endif
