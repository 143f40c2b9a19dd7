/*
 * daemon - the skeletons every Postern daemon runs on: one client at a
 * time (DAEMON_SINGLE), many clients on the event loop (DAEMON_MULTI), or
 * one-shot wakeups and datagrams (DAEMON_TRIGGER).
 *
 * daemon_main(argc, argv, spec)  the whole life of a daemon; returns only
 *                        through exit().  Parses the generic options, reads
 *                        main.cf (plus -o overrides), routes logging
 *                        (maillog), chdir's to queue_directory, runs
 *                        spec->pre_jail as root, chroots (-c) and drops to
 *                        mail_owner (-u), runs spec->post_jail, then serves
 *                        the listening descriptors master passed.
 * daemon_service_name()  the master.cf service name (-n, else the program)
 * daemon_transport()     the master.cf service type (-t): "unix", "inet", ...
 *
 * Generic options (master supplies most of them, see master_proto.h):
 *   -c         chroot into queue_directory     -u   run as mail_owner
 *   -d         stay attached: log to stderr too (debugging)
 *   -D         run debugger_command on this process after start-up
 *   -l, -z     master.cf says maxproc 1 / 0 (checked against DAEMON_SOLITARY,
 *              DAEMON_UNLIMITED: "service NAME requires a process limit of 1")
 *   -n NAME    service name                    -t TYPE  service type
 *   -o N=V     override a main.cf parameter    -s N  listening descriptors
 *   -S         stand-alone: serve one client on standard input (SINGLE)
 *   -v         more verbose logging (repeatable)
 *
 * Service functions:
 *   SINGLE   service(st, service_name, argv): one client connection; the
 *            skeleton closes st afterwards.
 *   MULTI    request(st, service_name, argv): called whenever the client's
 *            connection has input; return 0 to keep the connection, -1 to
 *            close it (EOF, error, protocol violation).  The optional
 *            connect(st, service_name, argv) runs once when a client
 *            connects (a server that speaks first greets there); -1
 *            closes the connection.
 *   TRIGGER  trigger(buf, len, service_name, argv): the bytes of one wakeup
 *            (a connection's data up to EOF, a fifo read, one datagram), at
 *            most trigger_limit bytes (default 1024).
 * argv holds the master.cf arguments that follow the generic options.
 *
 * Life cycle: a process exits after max_idle seconds without a client, after
 * max_use clients (triggers), when master closes its status pipe (after the
 * current client), and when daemon_timeout passes without finishing a
 * request (watchdog: SIGALRM's default action).  DAEMON_RESIDENT daemons
 * ignore max_idle and max_use (qmgr), DAEMON_NO_USE_LIMIT daemons only
 * max_use (postlogd); spec->on_exit runs before a voluntary
 * exit.  Multi and trigger daemons may use event_*() for their own timers and
 * descriptors.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stddef.h>

#include "lib/util/stream.h"

enum daemon_kind { DAEMON_SINGLE, DAEMON_MULTI, DAEMON_TRIGGER };

#define DAEMON_SOLITARY     (1 << 0) /* requires maxproc 1 */
#define DAEMON_UNLIMITED    (1 << 1) /* requires maxproc 0 */
#define DAEMON_PRIVILEGED   (1 << 2) /* requires unpriv "n" (runs as root) */
#define DAEMON_RESIDENT     (1 << 3) /* no max_idle, no max_use */
#define DAEMON_NO_USE_LIMIT (1 << 4) /* no max_use (postlogd) */

typedef void daemon_hook_fn(const char *, char **);
typedef void daemon_single_fn(struct stream *, const char *, char **);
typedef int daemon_multi_fn(struct stream *, const char *, char **);
typedef void daemon_trigger_fn(const char *, size_t, const char *, char **);

struct daemon_spec {
	enum daemon_kind kind;
	daemon_single_fn *service;  /* DAEMON_SINGLE */
	daemon_multi_fn *request;   /* DAEMON_MULTI */
	daemon_multi_fn *connect;   /* DAEMON_MULTI, optional: on connect */
	daemon_trigger_fn *trigger; /* DAEMON_TRIGGER */
	size_t trigger_limit;       /* 0: 1024 */
	daemon_hook_fn *pre_jail;   /* as root, before chroot and setuid */
	daemon_hook_fn *post_jail;  /* after them */
	void (*on_exit)(void);      /* before a voluntary exit */
	int flags;                  /* DAEMON_* above */
};

int daemon_main(int, char **, const struct daemon_spec *)
    __attribute__((noreturn));
const char *daemon_service_name(void);
const char *daemon_transport(void);

#endif
