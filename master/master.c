/*
 * master - the resident supervisor of a Postern instance.
 * Runs as root.  Reads main.cf and master.cf, opens every service's
 * listening socket (inet, unix, unix-dgram, fifo, pass), and forks the
 * service's program on demand up to its process limit, as mail_owner and
 * chrooted when master.cf says so.  Children report idle/busy over a status
 * pipe (lib/mail/master_proto.h); master sends wakeups (column 6), reaps and
 * throttles children, re-reads both files on SIGHUP and stops on SIGTERM.
 * Writes $queue_directory/pid/master.pid and $data_directory/master.lock,
 * each under an exclusive lock that `master -t` and the postfix command test.
 * Started by `postfix start` (master -w) or `postfix start-fg` (-s, -i).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/event.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/debug_process.h"
#include "lib/mail/maillog.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/params.h"
#include "master.h"

#define MASTER_PID_FILE     "pid/master.pid"
#define MASTER_WAIT_SECONDS 100 /* -w: how long start-up may take */

int master_verbose;

static void __attribute__((noreturn)) master_usage(void)
{
	msg_fatal("usage: master [-Ddistvw] [-c config_dir] [-e exit_time]");
}

/* Open and lock a lock file: the descriptor, or -1 with why. */
static int
master_lock(const char *path, struct str *why)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		str_fmt(why, "cannot open file: %s", strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		str_fmt(why, "unable to set exclusive lock: %s",
		    strerror(errno));
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* -t: exit 0 when no master holds the pid file's lock. */
static void __attribute__((noreturn)) master_test(void)
{
	int fd = open(MASTER_PID_FILE, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		exit(errno == ENOENT ? 0 : 1);
	exit(flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
}

/*
 * Master creates sockets and its pid file in the queue directory as root:
 * whoever else owns or may write that directory could point them
 * elsewhere.  Postfix's "postfix check" only warns (in these words);
 * Postern's master refuses to start.
 */
static void
master_queue_check(void)
{
	struct stat st;

	if (stat(".", &st) < 0)
		msg_fatal("stat %s: %m", var_queue_directory);
	if (st.st_uid != 0)
		msg_fatal("not owned by root: %s/.", var_queue_directory);
	if (st.st_mode & 022)
		msg_fatal("group or other writable: %s/.", var_queue_directory);
}

/* Keep only what import_environment names (NAME or NAME=value). */
static void
master_environment(void)
{
	struct argv *keep = argv_split(var_import_environment, ", \t\r\n");
	struct argv *names = argv_new(), *values = argv_new();

	for (size_t i = 0; i < keep->argc; i++) {
		const char *item = keep->argv[i], *eq = strchr(item, '=');
		const char *val = eq ? eq + 1 : getenv(item);

		if (val == NULL)
			continue;
		argv_addn(names, item, eq ? (size_t)(eq - item) : strlen(item));
		argv_add(values, val);
	}
	(void)clearenv();
	for (size_t i = 0; i < names->argc; i++)
		(void)setenv(names->argv[i], values->argv[i], 1);
	argv_free(keep);
	argv_free(names);
	argv_free(values);
}

/*
 * -w: the foreground process waits until the background master says its
 * start-up worked (it closes the pipe after writing one byte) or failed
 * (it exits first).
 */
static int
master_wait_fork(void)
{
	int pfd[2];
	char ok;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid > 0) {
		(void)close(pfd[1]);
		alarm(MASTER_WAIT_SECONDS);
		exit(read(pfd[0], &ok, 1) == 1 ? 0 : 1);
	}
	(void)close(pfd[0]);
	return pfd[1];
}

static void
master_stdio(bool keep_stdout, bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		msg_fatal("open /dev/null: %m");
	(void)dup2(fd, 0);
	if (!keep_stdout)
		(void)dup2(fd, 1);
	if (!keep_stderr) {
		(void)dup2(fd, 2);
		msg_stderr(false);
	}
	if (fd > 2)
		(void)close(fd);
}

/* pid/master.pid (as root) and data_directory/master.lock (as mail_owner). */
static void
master_locks(void)
{
	struct str *why = str_new(100), *path = str_new(100);
	int pid_fd, data_fd;

	if ((pid_fd = master_lock(MASTER_PID_FILE, why)) < 0)
		msg_fatal("open lock file %s: %s", MASTER_PID_FILE,
		    str_ptr(why));
	if (ftruncate(pid_fd, 0) < 0 ||
	    dprintf(pid_fd, "%*lu\n", (int)sizeof(unsigned long) * 4,
		(unsigned long)getpid()) < 0)
		msg_fatal("cannot update lock file %s: %m", MASTER_PID_FILE);
	str_fmt(path, "%s/master.lock", var_data_directory);
	if (setegid(mail_owner_gid()) < 0 || seteuid(mail_owner_uid()) < 0)
		msg_fatal("set effective user and group ID: %m");
	data_fd = master_lock(str_ptr(path), why);
	if (seteuid(0) < 0 || setegid(0) < 0)
		msg_fatal("restore effective user and group ID: %m");
	if (data_fd < 0)
		msg_fatal("open lock file %s: %s", str_ptr(path), str_ptr(why));
	/* Both stay open (and locked) for master's lifetime. */
	str_free(why);
	str_free(path);
}

static void
master_exit_time(int ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	msg_info("master exit time has arrived");
	master_kill_all(SIGTERM);
	exit(0);
}

int
main(int argc, char **argv)
{
	bool debug = false, debugger = false, init_mode = false;
	bool keep_stdout = false, test = false, wait_mode = false;
	const char *dir = NULL;
	struct str *why;
	int ch, exit_time = 0, wait_fd = -1;

	msg_init(argv[0]);
	while ((ch = getopt(argc, argv, "c:dDe:istvw")) != -1) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'D':
			debugger = true;
			break;
		case 'e':
			if ((exit_time = atoi(optarg)) <= 0)
				msg_fatal("bad -e exit_time: %s", optarg);
			break;
		case 'i':
			init_mode = keep_stdout = true;
			break;
		case 's':
			keep_stdout = true;
			break;
		case 't':
			test = true;
			break;
		case 'v':
			msg_verbose++;
			master_verbose++;
			break;
		case 'w':
			wait_mode = true;
			break;
		default:
			master_usage();
		}
	}
	if (optind < argc)
		master_usage();
	if (geteuid() != 0)
		msg_fatal("the master command is reserved for the superuser");
	if (init_mode && getpid() != 1)
		msg_fatal("-i is allowed only for PID 1");

	why = str_new(100);
	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir %s: %m", var_queue_directory);
	if (test)
		master_test();
	/*
	 * Until start-up is done master writes maillog_file itself: a fatal
	 * error sent to postlogd, which master has not started yet, would be
	 * lost.  A new file is 0600, as postlogd makes it.
	 */
	umask(077);
	maillog_init(MAILLOG_WRITER |
		     (isatty(2) || debug || wait_mode ? MAILLOG_STDERR : 0));
	mail_owner_init();
	master_queue_check();
	master_environment();
	umask(022);

	/*
	 * Detach from the terminal's session unless we are meant to stay in
	 * the foreground (-d, -i, -s: a debugger, init, "postfix start-fg",
	 * where Ctrl-C must reach us).  In -w mode stderr stays open until
	 * the start-up result is known, so "postfix start" shows what failed.
	 */
	if (wait_mode)
		wait_fd = master_wait_fork();
	if (!debug && !keep_stdout && setsid() < 0 && getsid(0) != getpid())
		msg_warn("unable to set session and process group ID: %m");
	master_stdio(keep_stdout || debug, debug || wait_mode);

	master_locks();
	(void)signal(SIGPIPE, SIG_IGN);
	event_signal(SIGHUP);
	event_signal(SIGTERM);
	event_signal(SIGINT);
	event_signal(SIGQUIT);
	event_signal(SIGCHLD);
	if (master_start(why) < 0)
		msg_fatal("%s", str_ptr(why));
	if (wait_fd >= 0) {
		master_stdio(keep_stdout || debug, debug);
		if (write(wait_fd, "", 1) != 1)
			msg_warn(
			    "cannot report start-up to the foreground: %m");
		(void)close(wait_fd);
	}
	msg_info("daemon started -- version %s, configuration %s",
	    var_mail_version, config_dir());
	maillog_init(MAILLOG_FALLBACK | (debug ? MAILLOG_STDERR : 0));
	if (exit_time > 0)
		event_timer(master_exit_time, NULL, exit_time * 1000);
	if (debugger)
		debug_process();
	str_free(why);

	for (;;) {
		event_loop(-1);
		if (event_signal_pending(SIGCHLD))
			master_reap();
		if (event_signal_pending(SIGHUP))
			master_reload();
		for (int i = 0; i < 3; i++) {
			static const int stop[] = { SIGTERM, SIGINT, SIGQUIT };

			if (!event_signal_pending(stop[i]))
				continue;
			/* postlogd stops too: the last words go to the file. */
			if (*var_maillog_file)
				maillog_init(MAILLOG_WRITER |
					     (debug ? MAILLOG_STDERR : 0));
			msg_info("terminating on signal %d", stop[i]);
			master_kill_all(SIGTERM);
			exit(0);
		}
	}
}
