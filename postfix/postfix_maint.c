/*
 * postfix_maint - "postfix flush" and "postfix logrotate".
 *
 * flush is Postfix's "postqueue -f", which postfix-script runs: it asks
 * qmgr to forget dead destinations and rescan every queue ignoring the
 * time stamps, then wakes pickup.  Its messages are postqueue's, on stderr
 * whether or not that is a terminal, and so is its exit status (69,
 * EX_UNAVAILABLE, when the mail system is down), all observed with
 * Debian's postqueue and "postfix flush".
 *
 * logrotate follows postfix-script: strftime the suffix, rename the file,
 * SIGHUP a running master (postlogd reopens the file), wait a second for
 * lines in flight, compress the old file.  The compressor runs through
 * fork and exec, no shell; what it prints goes into the failure message,
 * as postfix-script's $errors.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/trigger.h"
#include "postfix/postfix.h"

/*
 * The qmgr request Postfix 3.7's postqueue -f sends (observed on
 * public/qmgr): F forget dead destinations, A ignore time stamps, D scan
 * deferred, I scan incoming.  Then W to pickup for maildrop.
 */
#define FLUSH_QMGR_REQUEST   "FADI"
#define FLUSH_PICKUP_REQUEST "W"

/* Keep this much of what the compressor prints (the message is one line). */
#define ROTATE_OUTPUT_LIMIT 4096

static void
postfix_flush_one(const char *service, const char *request)
{
	struct str *path = str_new(100), *why = str_new(100);
	int rc;

	str_fmt(path, "public/%s", service);
	rc = trigger_send(str_ptr(path), request, strlen(request), why);
	if (rc == TRIGGER_ERR_LOOKUP)
		msg_warn("%s", str_ptr(why));
	if (rc < 0)
		msg_fatal_status(EX_UNAVAILABLE,
		    "Cannot flush mail queue - mail system is down");
	if (msg_verbose)
		msg_info("sent \"%s\" to %s", request, str_ptr(path));
	str_free(path);
	str_free(why);
}

void
postfix_maint_flush(void)
{
	/* postqueue speaks now, always on stderr too. */
	msg_set_ident(NULL);
	msg_init("postqueue");
	msg_stderr(true);
	postfix_flush_one(var_queue_service_name, FLUSH_QMGR_REQUEST);
	postfix_flush_one(var_pickup_service_name, FLUSH_PICKUP_REQUEST);
	exit(0);
}

/* date +FORMAT */
static void
postfix_rotate_suffix(const char *fmt, struct str *out)
{
	time_t now = time(NULL);
	struct tm tm;
	size_t size, n;
	char *buf;

	localtime_r(&now, &tm);
	/* strftime() returns 0 for a buffer too small and for empty output. */
	for (size = 64; size <= 65536; size *= 2) {
		buf = xmalloc(size);
		/* The format is maillog_file_rotate_suffix, the admin's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = strftime(buf, size, fmt, &tm);
#pragma GCC diagnostic pop
		if (n > 0) {
			str_setn(out, buf, n);
			free(buf);
			return;
		}
		free(buf);
	}
	str_reset(out);
}

/*
 * "$maillog_file_compressor" FILE, its stdout and stderr kept in out (as
 * $errors keeps them): its exit status, or 127 when it cannot be run.
 */
static int
postfix_rotate_compress(const char *file, struct str *out)
{
	char buf[512];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	str_reset(out);
	if (pipe(fds) < 0)
		msg_fatal("pipe: %m");
	fflush(NULL);
	if ((pid = fork()) < 0)
		msg_fatal("fork: %m");
	if (pid == 0) {
		(void)close(fds[0]);
		(void)dup2(fds[1], 1);
		(void)dup2(fds[1], 2);
		if (fds[1] > 2)
			(void)close(fds[1]);
		(void)signal(SIGHUP, SIG_DFL);
		execlp(var_maillog_file_compressor, var_maillog_file_compressor,
		    file, (char *)NULL);
		dprintf(2, "%s: %s\n", var_maillog_file_compressor,
		    strerror(errno));
		_exit(127);
	}
	(void)close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (str_len(out) < ROTATE_OUTPUT_LIMIT)
			str_catn(out, buf, (size_t)n);
	}
	(void)close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %m");
	/* $(...) drops trailing newlines. */
	while (str_len(out) > 0 && str_ptr(out)[str_len(out) - 1] == '\n')
		str_truncate(out, str_len(out) - 1);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static void __attribute__((noreturn)) postfix_rotate_failed(const char *errors)
{
	msg_fatal("logfile '%s' rotation failed: %s", var_maillog_file, errors);
}

void
postfix_maint_logrotate(int argc)
{
	static const struct {
		const char *name;
		char **value;
	} needed[] = {
		{ "maillog_file", &var_maillog_file },
		{ "maillog_file_compressor", &var_maillog_file_compressor },
		{ "maillog_file_rotate_suffix",
		    &var_maillog_file_rotate_suffix },
	};
	struct str *suffix = str_new(40), *rotated = str_new(100);
	struct str *errors = str_new(100);

	if (argc != 1)
		msg_fatal("usage postfix logrotate (no arguments)");
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (**needed[i].value == 0)
			msg_fatal(
			    "empty '%s' parameter value - logfile rotation failed",
			    needed[i].name);
	if (strncmp(var_maillog_file, "/dev/", 5) == 0)
		msg_fatal("not rotating '%s'", var_maillog_file);

	postfix_rotate_suffix(var_maillog_file_rotate_suffix, suffix);
	str_fmt(rotated, "%s.%s", var_maillog_file, str_ptr(suffix));
	if (rename(var_maillog_file, str_ptr(rotated)) < 0) {
		/* The words mv(1) would have used, as $errors holds them. */
		if (errno == ENOENT)
			str_fmt(errors, "mv: cannot stat '%s': %m",
			    var_maillog_file);
		else
			str_fmt(errors, "mv: cannot move '%s' to '%s': %m",
			    var_maillog_file, str_ptr(rotated));
		postfix_rotate_failed(str_ptr(errors));
	}
	if (msg_verbose)
		msg_info("renamed %s to %s", var_maillog_file,
		    str_ptr(rotated));
	if (postfix_master_running()) {
		struct str *why = str_new(100);
		pid_t pid = postfix_master_pid(why);

		if (pid < 0)
			postfix_rotate_failed(str_ptr(why));
		if (kill(pid, SIGHUP) < 0) {
			str_fmt(errors, "kill -HUP %ld: %m", (long)pid);
			postfix_rotate_failed(str_ptr(errors));
		}
		str_free(why);
	}
	/* Let postlogd finish the lines it has before the file goes away. */
	sleep(1);
	if (postfix_rotate_compress(str_ptr(rotated), errors) != 0)
		postfix_rotate_failed(str_ptr(errors));
	str_free(suffix);
	str_free(rotated);
	str_free(errors);
	exit(0);
}
