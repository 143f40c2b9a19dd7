/*
 * daemon - the daemon skeletons (see daemon.h).
 *
 * Every child of master runs this code before and around its own job:
 * options, configuration, logging, the jail, the accept loop, the status
 * messages that let master count idle and busy processes, and the exits
 * that keep processes short-lived.  Children of one service share their
 * listening sockets, so accept() is non-blocking: the process that loses a
 * race for a connection simply goes back to waiting.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/event.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/config.h"
#include "lib/mail/daemon.h"
#include "lib/mail/debug_process.h"
#include "lib/mail/maillog.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/master_proto.h"
#include "lib/mail/params.h"

#define DAEMON_TRIGGER_LIMIT   1024
#define DAEMON_TRIGGER_TIMEOUT 10000 /* ms: a wakeup client must be quick */

static const struct daemon_spec *daemon_spec;
static char *daemon_name;                /* -n, else the program name */
static const char *daemon_type = "unix"; /* -t */
static char **daemon_args;               /* master.cf arguments */
static int daemon_nlisten = 1;           /* -s */
static unsigned daemon_gen;              /* GENERATION */
static bool daemon_under_master;         /* MASTER_STATUS_FD is open */
static bool daemon_master_lost;          /* master closed our status pipe */
static bool daemon_draining;             /* no new clients: exit when idle */
static int daemon_use_count;
static int daemon_client_count; /* MULTI: open connections */
static char *daemon_buf;        /* TRIGGER: one wakeup */

static void daemon_accept(int, void *);

const char *
daemon_service_name(void)
{
	return daemon_name;
}

const char *
daemon_transport(void)
{
	return daemon_type;
}

static void __attribute__((noreturn)) daemon_exit(void)
{
	if (daemon_spec->on_exit)
		daemon_spec->on_exit();
	exit(0);
}

static void
daemon_notify(int avail)
{
	if (daemon_under_master && !daemon_master_lost &&
	    master_notify(daemon_gen, avail) < 0)
		daemon_master_lost = true;
}

static void
daemon_idle(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	if (msg_verbose)
		msg_info("idle timeout -- exiting");
	daemon_exit();
}

static void
daemon_arm_idle(void)
{
	if (!(daemon_spec->flags & DAEMON_RESIDENT) && var_max_idle > 0)
		event_timer(daemon_idle, NULL, var_max_idle * 1000);
}

/*
 * Watch the listening descriptors, or give them up for good: a process
 * that takes no more clients must not keep a retired address listening.
 */
static void
daemon_listen(bool on)
{
	for (int i = 0; i < daemon_nlisten; i++) {
		if (on) {
			event_read(MASTER_LISTEN_FD + i, daemon_accept,
			    (void *)(intptr_t)(MASTER_LISTEN_FD + i));
			continue;
		}
		event_remove(MASTER_LISTEN_FD + i);
		(void)close(MASTER_LISTEN_FD + i);
	}
	if (!on)
		daemon_nlisten = 0;
}

/*
 * After each client: stop when the use limit is reached or master went
 * away, else tell master this process is free again.
 */
static void
daemon_done(void)
{
	daemon_use_count++;
	if (daemon_master_lost ||
	    (!(daemon_spec->flags & (DAEMON_RESIDENT | DAEMON_NO_USE_LIMIT)) &&
		daemon_use_count >= var_max_use)) {
		daemon_draining = true;
		daemon_listen(false);
	}
	if (daemon_draining && daemon_client_count == 0)
		daemon_exit();
	if (!daemon_draining)
		daemon_notify(MASTER_STAT_AVAIL);
	if (daemon_client_count == 0)
		daemon_arm_idle();
}

/* The status pipe polls readable or in error once master closed it. */
static void
daemon_master_gone(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	event_remove(MASTER_STATUS_FD);
	daemon_master_lost = true;
	daemon_draining = true;
	daemon_listen(false);
	if (daemon_client_count == 0)
		daemon_exit();
}

/* A "pass" service receives the client's descriptor over the connection. */
static int
daemon_client_fd(int conn)
{
	int fd;

	if (strcmp(daemon_type, "pass") != 0)
		return conn;
	fd = sock_recv_fd(conn);
	if (fd < 0)
		msg_warn("%s: receive connection: %m", daemon_name);
	(void)close(conn);
	return fd;
}

static struct stream *
daemon_stream(int fd)
{
	struct stream *st = stream_open(fd);

	/* Internal services bound each wait; network services set their own. */
	if (strcmp(daemon_type, "inet") != 0)
		stream_set_timeout(st, var_ipc_timeout * 1000);
	return st;
}

static void
daemon_multi_client(int ev, void *ctx)
{
	struct stream *st = ctx;
	int fd = stream_fd(st), rc;

	(void)ev;
	alarm(var_daemon_timeout);
	do
		rc = daemon_spec->request(st, daemon_name, daemon_args);
	while (rc == 0 && stream_pending(st) > 0);
	if (rc == 0)
		return;
	event_remove(fd);
	stream_close(st);
	daemon_client_count--;
	if (daemon_client_count == 0) {
		if (daemon_draining)
			daemon_exit();
		daemon_arm_idle();
	}
}

static void
daemon_trigger_read(int lfd)
{
	struct stream *st;
	ssize_t n;
	int fd;

	if (strcmp(daemon_type, "fifo") == 0 ||
	    strcmp(daemon_type, "unix-dgram") == 0) {
		/* A fifo read or exactly one datagram; never blocks. */
		do
			n = recv(lfd, daemon_buf, daemon_spec->trigger_limit,
			    MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == ENOTSOCK)
			n = read(lfd, daemon_buf, daemon_spec->trigger_limit);
		/* An empty datagram is a message too (an empty log line). */
		if (n < 0 || (n == 0 && strcmp(daemon_type, "fifo") == 0))
			return;
	} else {
		if ((fd = sock_accept(lfd)) < 0)
			return;
		if ((fd = daemon_client_fd(fd)) < 0)
			return;
		st = stream_open(fd);
		stream_set_timeout(st, DAEMON_TRIGGER_TIMEOUT);
		n = stream_read(st, daemon_buf, daemon_spec->trigger_limit);
		stream_close(st);
		if (n <= 0)
			return;
	}
	daemon_notify(MASTER_STAT_TAKEN);
	event_cancel(daemon_idle, NULL);
	alarm(var_daemon_timeout);
	daemon_spec->trigger(daemon_buf, (size_t)n, daemon_name, daemon_args);
	daemon_done();
}

static void
daemon_accept(int ev, void *ctx)
{
	int lfd = (int)(intptr_t)ctx, fd;
	struct stream *st;

	(void)ev;
	if (daemon_spec->kind == DAEMON_TRIGGER) {
		daemon_trigger_read(lfd);
		return;
	}
	/*
	 * Busy only once the connection is ours, as Postfix: a process that
	 * loses the race to another of its service stays available, so that
	 * master never sees a moment with no idle process and forks one.
	 */
	if ((fd = sock_accept(lfd)) < 0 || (fd = daemon_client_fd(fd)) < 0)
		return;
	daemon_notify(MASTER_STAT_TAKEN);
	event_cancel(daemon_idle, NULL);
	alarm(var_daemon_timeout);
	st = daemon_stream(fd);
	if (daemon_spec->kind == DAEMON_SINGLE) {
		daemon_spec->service(st, daemon_name, daemon_args);
		stream_close(st);
		daemon_done();
		return;
	}
	if (daemon_spec->connect != NULL &&
	    daemon_spec->connect(st, daemon_name, daemon_args) < 0) {
		stream_close(st);
		daemon_done();
		return;
	}
	daemon_client_count++;
	event_read(fd, daemon_multi_client, st);
	daemon_done();
}

/* -o name=value, or "name = value" from master.cf's { } form. */
static void
daemon_override(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct str *name, *value;

	if (eq == NULL || eq == arg)
		msg_fatal("bad parameter override: \"%s\"", arg);
	name = str_new(32);
	value = str_new(32);
	str_setn(name, arg, (size_t)(eq - arg));
	str_set(value, eq + 1);
	str_trim(name);
	str_trim(value);
	config_override(str_ptr(name), str_ptr(value));
	str_free(name);
	str_free(value);
}

static void
daemon_standalone(void)
{
	struct stream *st;
	int fd;

	if (daemon_spec->kind != DAEMON_SINGLE)
		msg_fatal("-S works only for one-client-per-process services");
	if ((fd = dup(0)) < 0)
		msg_fatal("dup: %m");
	st = daemon_stream(fd);
	daemon_spec->service(st, daemon_name, daemon_args);
	stream_close(st);
	exit(0);
}

int
daemon_main(int argc, char **argv, const struct daemon_spec *spec)
{
	bool chroot_ = false, drop = false, solitary = false, unlimited = false;
	bool debug = false, debugger = false, standalone = false;
	const char *gen;
	struct str *why = str_new(100);
	int ch;

	daemon_spec = spec;
	msg_init(argv[0]);
	/* Under master, stderr is /dev/null: log only through maillog. */
	msg_stderr(isatty(2));
	daemon_name = xstrdup(msg_program());
	config_init(NULL);
	opterr = 0;
	while ((ch = getopt(argc, argv, "+cdDln:o:s:St:uvz")) != -1) {
		switch (ch) {
		case 'c':
			chroot_ = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'D':
			debugger = true;
			break;
		case 'l':
			solitary = true;
			break;
		case 'n':
			free(daemon_name);
			daemon_name = xstrdup(optarg);
			break;
		case 'o':
			daemon_override(optarg);
			break;
		case 's':
			if ((daemon_nlisten = atoi(optarg)) <= 0 ||
			    daemon_nlisten > 1000)
				msg_fatal("invalid socket_count: %s", optarg);
			break;
		case 'S':
			standalone = true;
			break;
		case 't':
			daemon_type = optarg;
			break;
		case 'u':
			drop = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'z':
			unlimited = true;
			break;
		default:
			msg_fatal("invalid option: %c", optopt);
		}
	}
	daemon_args = argv + optind;

	/* The configuration, then where the log goes. */
	config_override("service_name", daemon_name);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(debug || isatty(2) ? MAILLOG_STDERR : 0);
	mail_owner_init();
	params_warn_notyet();

	if ((spec->flags & DAEMON_SOLITARY) && !solitary && !standalone)
		msg_fatal("service %s requires a process limit of 1",
		    daemon_name);
	if ((spec->flags & DAEMON_UNLIMITED) && !unlimited && !standalone)
		msg_fatal("service %s requires a process limit of 0",
		    daemon_name);
	if ((spec->flags & DAEMON_PRIVILEGED) && drop)
		msg_fatal("service %s requires privileged operation",
		    daemon_name);
	daemon_under_master = fcntl(MASTER_STATUS_FD, F_GETFD) >= 0;
	if (!daemon_under_master && !standalone && !debug && isatty(0))
		msg_fatal("do not run this command by hand");
	if ((gen = getenv("GENERATION")) != NULL)
		daemon_gen = (unsigned)strtoul(gen, NULL, 8);

	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir(\"%s\"): %m", var_queue_directory);

	/* The jail: open what needs root first, then chroot and drop. */
	if (spec->pre_jail)
		spec->pre_jail(daemon_name, daemon_args);
	if (chroot_) {
		if (chroot(var_queue_directory) < 0)
			msg_fatal("chroot(%s): %m", var_queue_directory);
		if (chdir("/") < 0)
			msg_fatal("chdir(\"/\"): %m");
		maillog_chroot();
	}
	if (drop)
		mail_owner_drop();
	if (spec->post_jail)
		spec->post_jail(daemon_name, daemon_args);
	if (debugger)
		debug_process();
	str_free(why);

	if (standalone)
		daemon_standalone();
	if (spec->kind == DAEMON_TRIGGER) {
		if (spec->trigger_limit == 0) {
			static struct daemon_spec copy;

			copy = *spec;
			copy.trigger_limit = DAEMON_TRIGGER_LIMIT;
			daemon_spec = &copy;
		}
		daemon_buf = xmalloc(daemon_spec->trigger_limit);
	}
	for (int i = 0; i < daemon_nlisten; i++)
		if (sock_nonblock(MASTER_LISTEN_FD + i, true) < 0)
			msg_fatal("listening descriptor %d: %m",
			    MASTER_LISTEN_FD + i);
	if (daemon_under_master)
		event_read(MASTER_STATUS_FD, daemon_master_gone, NULL);
	daemon_listen(true);
	daemon_arm_idle();
	for (;;) {
		/*
		 * The watchdog: a process stuck this long is killed.  The loop
		 * wakes up before it fires, so a quiet resident daemon lives on.
		 */
		alarm(var_daemon_timeout);
		event_loop(var_daemon_timeout > 2000000
			       ? 1000000000
			       : var_daemon_timeout * 500);
	}
}
