/*
 * msg - the logging API: Postfix-format diagnostics.
 *
 * A line reads "TAG[PID]: warning: text" in syslog and maillog_file, with
 * TAG = syslog_name/program ("postfix/smtpd"), and "program: warning: text"
 * on stderr.  Levels info, warning, error, fatal, panic.  "%m" is errno's text.
 * As in Postfix, every byte of the text that is not printable ASCII (or part
 * of valid UTF-8, see msg_utf8) becomes '?', so no input can end a log line
 * early or forge another; syslog and the logger keep 2000 bytes of text.
 *
 * msg_init(argv0)                 set the program name (basename of argv0); stderr on
 * msg_stderr(on)                  write to stderr or not
 * msg_syslog(name, facility)      log to syslog as name/program; facility "mail" etc.
 *                                 (NULL: keep the last); turns the logger off;
 *                                 returns -1 for an unknown facility name
 * msg_set_tag(syslog_name)        change the syslog_name part of the tag
 * msg_set_ident(tag)              use tag verbatim as the whole tag, on stderr
 *                                 too (postlog -t); NULL: back to name/program
 * msg_utf8(on)                    keep valid UTF-8 in the text (default); off: every
 *                                 byte >= 0x80 becomes '?' (smtputf8_enable = no)
 * msg_logger(sock, file, why)     the maillog_file client: send each line, as
 *                                 "Mon DD HH:MM:SS HOST TAG[PID]: text", as one
 *                                 datagram to the UNIX-domain datagram socket sock;
 *                                 a full queue (a busy reader) is waited on for
 *                                 up to 1 s, and after one such wait times out,
 *                                 lines do not wait again until one is taken;
 *                                 when sending fails (no socket, no reader,
 *                                 queue still full) append it to file instead
 *                                 (NULL: the line is lost).  sock NULL: append to
 *                                 file directly, opened now (0, or -1 with why and
 *                                 nothing changed).  Both NULL: logger off, no
 *                                 syslog (stderr and sinks only).  Turns syslog
 *                                 off.  The file:
 *                                 /dev/stdout and /dev/stderr are the process's own
 *                                 descriptors, other /dev/ names must be character
 *                                 devices, anything else goes through safe_open (no
 *                                 symlink, one link, a regular file, created 0644
 *                                 minus umask).  As a fallback it is opened when
 *                                 first needed, and failing to open or write it is
 *                                 fatal: "open logfile 'PATH': REASON"
 * msg_logger_host(name)           HOST in logger lines (default: the first label
 *                                 of gethostname())
 * msg_logger_clock(fn)            where the time stamp comes from (tests; NULL: time)
 * msg_logger_append(buf, len)     append buf as one line to the logger's file
 *                                 (postlogd): one trailing newline is dropped,
 *                                 other control bytes (NUL, newline, ESC...)
 *                                 become '?'; 0 or -1
 * msg_output(fn)                  add a sink that receives (level, text) (tests)
 * msg_cleanup(fn)                 run fn before exiting on fatal
 * msg_info/warn/error/fatal/panic  log; fatal exits 1, panic aborts
 * msg_fatal_status(status, ...)   fatal with a chosen exit status
 * msg_vlog(level, fmt, ap)        log at any level without exiting (postlog -p)
 * msg_program()                   the program name
 */
#ifndef MSG_H
#define MSG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/util/str.h"

enum msg_level { MSG_INFO, MSG_WARN, MSG_ERROR, MSG_FATAL, MSG_PANIC };

/* Text kept by syslog and the logger, as Postfix's msg_syslog and msg_logger. */
#define MSG_TEXT_LIMIT 2000

typedef void msg_output_fn(enum msg_level, const char *);
typedef void msg_cleanup_fn(void);
typedef time_t msg_clock_fn(void);

extern int msg_verbose;

void msg_init(const char *);
void msg_stderr(bool);
int msg_syslog(const char *, const char *);
void msg_set_tag(const char *);
void msg_set_ident(const char *);
void msg_utf8(bool);
int msg_logger(const char *, const char *, struct str *);
void msg_logger_host(const char *);
void msg_logger_clock(msg_clock_fn *);
int msg_logger_append(const char *, size_t);
void msg_output(msg_output_fn *);
void msg_cleanup(msg_cleanup_fn *);
const char *msg_program(void);

void msg_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void msg_fatal_status(int, const char *, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void msg_panic(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void msg_vlog(enum msg_level, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

#endif
