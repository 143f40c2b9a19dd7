/*
 * msg - the logging API: Postfix-format diagnostics.
 *
 * A line reads "TAG[PID]: warning: text" in syslog and maillog_file, with
 * TAG = syslog_name/program ("postfix/smtpd"), and "program: warning: text"
 * on stderr.  Levels info, warning, error, fatal, panic.  "%m" is errno's text.
 *
 * msg_init(argv0)                 set the program name (basename of argv0); stderr on
 * msg_stderr(on)                  write to stderr or not
 * msg_syslog(name, facility)      log to syslog as name/program; facility "mail" etc.;
 *                                 returns -1 for an unknown facility name
 * msg_logfile(path)               also append lines to path (maillog_file); -1 on error
 * msg_set_tag(syslog_name)        change the syslog_name part of the tag
 * msg_output(fn)                  add a sink that receives (level, text) (tests)
 * msg_cleanup(fn)                 run fn before exiting on fatal
 * msg_info/warn/error/fatal/panic  log; fatal exits 1, panic aborts
 * msg_fatal_status(status, ...)   fatal with a chosen exit status
 * msg_program()                   the program name
 */
#ifndef MSG_H
#define MSG_H

#include <stdarg.h>
#include <stdbool.h>

enum msg_level { MSG_INFO, MSG_WARN, MSG_ERROR, MSG_FATAL, MSG_PANIC };

typedef void msg_output_fn(enum msg_level, const char *);
typedef void msg_cleanup_fn(void);

extern int msg_verbose;

void msg_init(const char *);
void msg_stderr(bool);
int msg_syslog(const char *, const char *);
int msg_logfile(const char *);
void msg_set_tag(const char *);
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
