/*
 * postfix_master - run master and signal it, as postfix-script does.
 *
 * "master -t" (exit 0: no master holds this instance's lock) decides
 * whether the mail system runs; the PID to signal is the first line of
 * $queue_directory/pid/master.pid (our working directory).  Texts and
 * their order are postfix-script's (Postfix 3.7, /usr/lib/postfix/sbin).
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "postfix/postfix.h"

#define MASTER_PID_FILE  "pid/master.pid"
#define QUICK_START_FILE "quick-start"

/* Longest first line of the PID file we look at (Postfix writes 33 bytes). */
#define MASTER_PID_LIMIT 256

/* "$daemon_directory/master OPT [-D]" */
static struct argv *
postfix_master_args(const char *opt)
{
	struct argv *args = argv_new();
	struct str *path = str_new(100);

	str_fmt(path, "%s/master", var_daemon_directory);
	argv_add(args, str_ptr(path));
	argv_add(args, opt);
	if (postfix_debug && strcmp(opt, "-t") != 0)
		argv_add(args, "-D");
	str_free(path);
	return args;
}

/* In the child: default signal handling, then master. */
static void __attribute__((noreturn))
postfix_master_exec(struct argv *args, const sigset_t *mask, bool quiet)
{
	int fd;

	(void)signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (quiet && (fd = open("/dev/null", O_WRONLY)) >= 0) {
		(void)dup2(fd, 2);
		if (fd != 2)
			(void)close(fd);
	}
	execv(args->argv[0], args->argv);
	if (!quiet)
		msg_warn("execute %s: %m", args->argv[0]);
	_exit(127);
}

/*
 * Run master and wait for it.  With forward (start-fg), SIGTERM and SIGINT
 * reach master as SIGTERM and SIGHUP as SIGHUP, so that a supervisor that
 * signals this process stops or reloads the mail system (postfix-script,
 * a shell, would die and leave master running).  Signals are taken with
 * sigwaitinfo(): no handler, no race with the child's exit.
 */
static int
postfix_master_wait(const char *opt, bool quiet, bool forward)
{
	struct argv *args = postfix_master_args(opt);
	sigset_t set, old;
	siginfo_t info;
	int status, sig;
	pid_t pid, got;

	if (msg_verbose)
		msg_info("running: %s %s", args->argv[0], opt);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (forward) {
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid == 0)
		postfix_master_exec(args, &old, quiet);
	for (;;) {
		if ((got = waitpid(pid, &status, WNOHANG)) == pid)
			break;
		if (got < 0 && errno != EINTR)
			msg_fatal("waitpid: %m");
		if ((sig = sigwaitinfo(&set, &info)) < 0 || sig == SIGCHLD)
			continue;
		(void)kill(pid, sig == SIGHUP ? SIGHUP : SIGTERM);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	argv_free(args);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int
postfix_master_run(const char *opt, bool quiet)
{
	return postfix_master_wait(opt, quiet, false);
}

bool
postfix_master_running(void)
{
	return postfix_master_run("-t", true) != 0;
}

/* The first line of the PID file, its words joined by one space. */
static int
postfix_master_pid_text(struct str *text, struct str *why)
{
	struct str *line = str_new(100);
	FILE *fp;
	char *p;
	int c;

	str_reset(text);
	if ((fp = fopen(MASTER_PID_FILE, "r")) == NULL) {
		str_fmt(why, "cannot open %s: %m", MASTER_PID_FILE);
		str_free(line);
		return -1;
	}
	while ((c = getc(fp)) != EOF && c != '\n')
		if (str_len(line) < MASTER_PID_LIMIT)
			str_catc(line, c);
	fclose(fp);
	for (p = str_ptr(line); *p;) {
		size_t n;

		p += strspn(p, " \t\r\f\v");
		if ((n = strcspn(p, " \t\r\f\v")) == 0)
			break;
		if (str_len(text))
			str_catc(text, ' ');
		str_catn(text, p, n);
		p += n;
	}
	str_free(line);
	return 0;
}

pid_t
postfix_master_pid(struct str *why)
{
	struct str *text = str_new(40);
	char *end;
	long pid;

	if (postfix_master_pid_text(text, why) < 0) {
		str_free(text);
		return -1;
	}
	errno = 0;
	pid = strtol(str_ptr(text), &end, 10);
	if (!isdigit((unsigned char)str_ptr(text)[0]) || *end != 0 ||
	    errno != 0 || pid <= 0 || (pid_t)pid != pid) {
		str_fmt(why, "%s: no process ID in \"%s\"", MASTER_PID_FILE,
		    str_ptr(text));
		str_free(text);
		return -1;
	}
	str_free(text);
	return (pid_t)pid;
}

/* kill `sed 1q pid/master.pid` with a signal: 0, or -1 after a warning. */
static int
postfix_master_signal(int sig, bool group)
{
	struct str *why = str_new(100);
	pid_t pid;

	if ((pid = postfix_master_pid(why)) < 0) {
		msg_warn("%s", str_ptr(why));
		str_free(why);
		return -1;
	}
	str_free(why);
	/* kill -9 -1 would be every process: PID 1 is not a group leader. */
	if (group && pid > 1)
		pid = -pid;
	if (msg_verbose)
		msg_info("kill -%d %ld", sig, (long)pid);
	if (kill(pid, sig) < 0) {
		msg_warn("kill %ld: %m", (long)pid);
		return -1;
	}
	return 0;
}

int
postfix_master_status(void)
{
	struct str *text, *why;

	if (!postfix_master_running()) {
		msg_info("the Postfix mail system is not running");
		return 1;
	}
	text = str_new(40);
	why = str_new(100);
	if (postfix_master_pid_text(text, why) < 0)
		msg_warn("%s", str_ptr(why));
	if (str_len(text))
		msg_info("the Postfix mail system is running: PID: %s",
		    str_ptr(text));
	else
		msg_info("the Postfix mail system is running: PID:");
	str_free(text);
	str_free(why);
	return 0;
}

/* stop: TERM, up to five seconds, then SIGKILL to master's process group. */
static int
postfix_master_stop_wait(void)
{
	if (!postfix_master_running()) {
		postfix_fatal_line("the Postfix mail system is not running");
		return 1;
	}
	msg_info("stopping the Postfix mail system");
	(void)postfix_master_signal(SIGTERM, false);
	for (int i = 5; i > 0; i--) {
		if (!postfix_master_running())
			return 0;
		msg_info("waiting for the Postfix mail system to terminate");
		sleep(1);
	}
	msg_warn("stopping the Postfix mail system with force");
	return postfix_master_signal(SIGKILL, true) < 0 ? 1 : 0;
}

int
postfix_master_stop(enum postfix_stop how)
{
	int fd;

	switch (how) {
	case POSTFIX_STOP:
		return postfix_master_stop_wait();
	case POSTFIX_QUICK_STOP:
		/* The next start skips the checks (postfix-script quick-stop). */
		(void)postfix_master_stop_wait();
		if ((fd = open(QUICK_START_FILE, O_WRONLY | O_CREAT | O_CLOEXEC,
			 0644)) < 0) {
			msg_warn("cannot create %s/%s: %m", var_queue_directory,
			    QUICK_START_FILE);
			return 1;
		}
		(void)close(fd);
		return 0;
	case POSTFIX_ABORT:
	case POSTFIX_DRAIN:
		break;
	}
	if (!postfix_master_running())
		msg_fatal("the Postfix mail system is not running");
	if (how == POSTFIX_ABORT) {
		msg_info("aborting the Postfix mail system");
		return postfix_master_signal(SIGTERM, false) < 0 ? 1 : 0;
	}
	msg_info("stopping the Postfix mail system");
	return postfix_master_signal(SIGKILL, false) < 0 ? 1 : 0;
}

/*
 * reload: postfix-script also runs "postsuper active" before and
 * "postsuper" after; Postern has no postsuper yet, and master itself does
 * not need it to re-read its files.
 */
int
postfix_master_reload(void)
{
	if (!postfix_master_running())
		msg_fatal("the Postfix mail system is not running");
	msg_info("refreshing the Postfix mail system");
	return postfix_master_signal(SIGHUP, false) < 0 ? 1 : 0;
}

int
postfix_master_start(bool fg)
{
	struct argv *args;
	sigset_t none;

	if (postfix_master_running())
		msg_fatal("the Postfix mail system is already running");
	if (unlink(QUICK_START_FILE) < 0) {
		if (postfix_check_fatal() < 0)
			msg_fatal("Postfix integrity check failed!");
		postfix_check_warn();
	}
	msg_info("starting the Postfix mail system");
	if (!fg) {
		/* master -w forks; its foreground process reports the result. */
		if (postfix_master_run("-w", false) != 0)
			msg_fatal("mail system startup failed");
		return 0;
	}

	/*
	 * As postfix-script: exec master only as PID 1 (init mode), else a
	 * child, or "postfix stop" would signal the caller's process group.
	 */
	if (postfix_instances->argc > 0)
		msg_fatal(
		    "start-fg does not support multi_instance_directories");
	if (getpid() == 1) {
		args = postfix_master_args("-i");
		sigemptyset(&none);
		fflush(NULL);
		(void)signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(args->argv[0], args->argv);
		msg_fatal("cannot start-fg the master daemon");
	}
	return postfix_master_wait("-s", false, true);
}
