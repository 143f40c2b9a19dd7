/*
 * queue - queue directories, queue IDs and queue files that survive a crash.
 *
 * queue_name_ok(name)            one of Postfix's queue names (below)
 * queue_id_ok(id)                a well-formed queue ID (short or long form,
 *                                at most QUEUE_ID_MAX characters); refuse
 *                                everything else before using it in a path
 * queue_path(out, queue, id)     "queue/id", or "queue/h/id" when queue is in
 *                                hash_queue_names (hash_queue_depth levels),
 *                                relative to queue_directory
 * queue_create(queue, id, why)   a new, empty, unique file in queue: returns
 *                                its descriptor (mode 0600, O_EXCL, close on
 *                                exec) and its ID in id, or -1 with why
 * queue_finish(fd, queue, id, mode, why)  mark the file complete and make
 *                                it durable: fchmod(mode) (0700 for queue
 *                                files, 0744 in maildrop), fsync, fsync of
 *                                the directory; 0 or -1 with why
 * queue_move(from, id, to, why)  rename between queues (making hash
 *                                subdirectories as needed) and fsync both
 *                                directories; 0 or -1 with why (errno kept)
 *                                (qmgr's moves into active/ are plain
 *                                renames: queue_move_rename)
 * queue_move_rename(from, id, to, why)  queue_move's rename alone, and
 * queue_move_sync(from, id, to, why)    its directory fsyncs alone: for a
 *                                batch of moves (qmgr's scan of incoming/),
 *                                renamed one after another, then synced once
 *                                per pair of directories before any of the
 *                                files is used; 0 or -1 with why
 * queue_remove(queue, id)        unlink; 0, or -1 with errno
 * queue_corrupt(queue, id, reason)  log "warning: QUEUE/ID: REASON -- moved
 *                                to corrupt/" style warning and move the file
 *                                to corrupt/ (the reader goes on)
 * queue_complete(st)             the complete mark (owner execute bit) is set
 * queue_scan_open(queue)         iterate over the IDs in a queue, descending
 *                                into hash subdirectories; names that are not
 *                                queue IDs are skipped
 * queue_scan_next(scan)          next ID, or NULL at the end (valid until the
 *                                next call)
 * queue_scan_close(scan)         returns NULL
 * queue_size_fmt(out, sz)        the fixed-width data of the size record
 * queue_size_parse(data, sz)     parse it back: 0, or -1 when malformed
 *
 * All paths are relative to queue_directory (daemons run there; commands
 * chdir there first).
 *
 * Queue IDs have Postfix's shapes.  Short (enable_long_queue_ids = no): five
 * upper-case hex digits of the microseconds, then the inode number in
 * upper-case hex.  Long: the seconds in base 52 (at least six digits), the
 * microseconds in base 52 (four digits), 'z', the inode number in base 51,
 * with the alphabet 0-9 A-Z a-z minus the vowels (and 'z' for base 51).  A
 * file is created under a temporary name and renamed to its ID, retrying
 * until the name is unique; that is why the inode makes IDs unique.
 *
 * Queue file layout (records as in record.h):
 *   Z "1"                       format version; a reader refuses others
 *   C sizes                     fixed width, patched in place at the end:
 *                               content size, data offset, recipient count,
 *                               qmgr flags, content length, SMTPUTF8 flags
 *   T, A, F, S, f, <, i, V, W   envelope: time, attributes, sender, ...
 *   [O] [o] [n] R ...           recipients, each preceded by its DSN data
 *   M                           start of content (data offset = after M)
 *   N / L ...                   header and body lines
 *   X                           start of extracted information
 *   r, e, P, A, R ...           extracted records
 *   E                           end; nothing may follow
 *
 * Notification records (added by the notification work, compatible):
 *   A "trace_flags=N"           N has QUEUE_TRACE_VERIFY (512, Postfix's
 *                               number) for a sendmail -bv probe: the
 *                               agents only report what they would do,
 *                               and the sender gets a "Mail Delivery
 *                               Status Report" from trace/ID
 *   W "%15ld"                   the time (epoch seconds, fixed width so
 *                               it can be rewritten in place) at which
 *                               the sender gets a delay warning if the
 *                               message is still queued; 0 once sent
 *                               (written by cleanup when delay_warning_
 *                               time > 0; qmgr rewrites it)
 *
 * Crash safety.  A queue file counts only when its last record (E) is
 * written, the complete mark set, the file fsynced and the directory
 * fsynced (queue_finish).  cleanup reports success to its client only
 * after that, so an acknowledged message is on disk; a crash before leaves
 * a file without the mark, which readers skip (and postsuper/qmgr clean
 * up), or one whose data did not all reach the disk, which fails the
 * checks below, so a half file is never delivered.  Moving between queues
 * is a rename, so a crash leaves the file in one queue or the other, never
 * in none; queue_move also fsyncs both directories (the new one first)
 * before the file is used in its new queue.  Readers check the version,
 * every record length against the file size, the record order and the E
 * record; anything else goes to corrupt/ with a warning naming the file.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/stat.h>
#include <stdbool.h>

#include "lib/util/str.h"

#define QUEUE_MAILDROP "maildrop"
#define QUEUE_INCOMING "incoming"
#define QUEUE_ACTIVE   "active"
#define QUEUE_DEFERRED "deferred"
#define QUEUE_HOLD     "hold"
#define QUEUE_CORRUPT  "corrupt"
#define QUEUE_BOUNCE   "bounce"
#define QUEUE_DEFER    "defer"
#define QUEUE_TRACE    "trace"
#define QUEUE_FLUSH    "flush"
#define QUEUE_SAVED    "saved"

#define QUEUE_ID_MAX     32 /* longer names are never IDs */
#define QUEUE_FORMAT     "1"
#define QUEUE_SIZE_WIDTH 15 /* each field of the size record */

struct queue_size {
	long content_size;   /* bytes of the content records, from data_offset
				to the X record (Postfix's message_size, which
				mailq shows and postcat -e skips by; observed) */
	long data_offset;    /* file offset of the first content record */
	long rcpt_count;     /* recipients written */
	long qmgr_flags;     /* QUEUE_FLAG_* */
	long content_length; /* content bytes (0: unknown); cleanup writes
				content_size here, as Postfix does (observed) */
	long smtputf8;       /* SMTPUTF8_FLAG_* */
};

#define QUEUE_FLAG_8BITMIME (1 << 0) /* qmgr_flags: body may be 8bit */

#define QUEUE_TRACE_VERIFY 512 /* "trace_flags" bit: sendmail -bv probe */
#define QUEUE_WARN_WIDTH   15  /* W record data: "%15ld" */

struct queue_scan;

bool queue_name_ok(const char *);
bool queue_id_ok(const char *);
void queue_path(struct str *, const char *, const char *);
int queue_create(const char *, struct str *, struct str *);
int queue_finish(int, const char *, const char *, mode_t, struct str *);
int queue_move(const char *, const char *, const char *, struct str *);
int queue_move_rename(const char *, const char *, const char *, struct str *);
int queue_move_sync(const char *, const char *, const char *, struct str *);
int queue_remove(const char *, const char *);
void queue_corrupt(const char *, const char *, const char *);
bool queue_complete(const struct stat *);
struct queue_scan *queue_scan_open(const char *);
const char *queue_scan_next(struct queue_scan *);
struct queue_scan *queue_scan_close(struct queue_scan *);
void queue_size_fmt(struct str *, const struct queue_size *);
int queue_size_parse(const char *, struct queue_size *)
    __attribute__((warn_unused_result));

#endif
