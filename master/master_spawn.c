/*
 * master_spawn - start children on demand, count them idle or busy, reap
 * them, and throttle programs that fail at start-up.
 *
 * A service's children share one status pipe.  A new child counts as idle
 * from the moment it is forked; it reports "busy" when it takes a client
 * and "idle" when it is done.  While some child of a service is idle the
 * children accept connections themselves and master does not watch the
 * listening sockets; when none is idle and the process limit allows, master
 * watches them and forks a child when a client is waiting.  Retiring a
 * service (reload, removal) closes its status pipe: its children notice,
 * finish their client and exit, while the listening sockets live on in the
 * service that replaces it.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/event.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/master_proto.h"
#include "lib/mail/params.h"
#include "master.h"

struct master_proc {
	pid_t pid;
	struct master_serv *serv;
	unsigned gen;
	bool avail;
	bool used; /* reported busy at least once */
};

static struct htable *master_procs; /* "pid" -> struct master_proc */
static unsigned master_generation;

static struct master_proc *
master_proc_find(pid_t pid)
{
	char key[32];

	snprintf(key, sizeof(key), "%ld", (long)pid);
	return master_procs ? htable_find(master_procs, key) : NULL;
}

static void master_status_event(int, void *);
static void master_unthrottle(int, void *);

void
master_status_open(struct master_serv *s)
{
	if (pipe2(s->status_fd, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	s->gen = ++master_generation;
	event_read(s->status_fd[0], master_status_event, s);
}

/* Retire: children see the pipe close and leave after their client. */
void
master_status_close(struct master_serv *s)
{
	if (s->status_fd[0] < 0)
		return;
	event_cancel(master_unthrottle, s);
	s->throttled = false;
	event_remove(s->status_fd[0]);
	(void)close(s->status_fd[0]);
	(void)close(s->status_fd[1]);
	s->status_fd[0] = s->status_fd[1] = -1;
}

static void
master_status_event(int ev, void *ctx)
{
	struct master_serv *s = ctx;
	struct master_status msg;
	struct master_proc *p;
	ssize_t n;

	(void)ev;
	n = read(s->status_fd[0], &msg, sizeof(msg));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n != (ssize_t)sizeof(msg)) {
		msg_warn("service %s: %s status update", s->ext_name,
		    n < 0 ? "bad" : "partial");
		return;
	}
	if ((p = master_proc_find(msg.pid)) == NULL || p->serv != s ||
	    msg.gen != s->gen) {
		if (msg_verbose)
			msg_info("ignoring status from pid %d", msg.pid);
		return;
	}
	if (msg.avail == MASTER_STAT_TAKEN && p->avail) {
		p->avail = false;
		p->used = true;
		s->avail_proc--;
	} else if (msg.avail == MASTER_STAT_AVAIL && !p->avail) {
		p->avail = true;
		s->avail_proc++;
	}
	master_avail_update(s);
}

/* The child: descriptors in place, then exec. */
static void __attribute__((noreturn))
master_exec(struct master_serv *s, struct argv *argv)
{
	int tmp[64], status, n = s->nlisten < 64 ? s->nlisten : 64;
	char gen[32];

	/*
	 * Move every descriptor out of the way first, then down to its
	 * number: a listening socket that happens to be MASTER_STATUS_FD (or
	 * MASTER_LISTEN_FD + i) in master must not be overwritten before it
	 * is moved.
	 */
	if ((status = fcntl(s->status_fd[1], F_DUPFD, 100)) < 0)
		_exit(1);
	for (int i = 0; i < n; i++)
		if ((tmp[i] = fcntl(s->listen_fds[i], F_DUPFD, 100)) < 0)
			_exit(1);
	if (dup2(status, MASTER_STATUS_FD) < 0)
		_exit(1);
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], MASTER_LISTEN_FD + i) < 0)
			_exit(1);
	(void)close_range(3, MASTER_STATUS_FD - 1, 0);
	(void)close_range(MASTER_LISTEN_FD + n, ~0U, 0);
	snprintf(gen, sizeof(gen), "%o", s->gen);
	(void)setenv("GENERATION", gen, 1);
	(void)setenv("MAIL_CONFIG", config_dir(), 1);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)signal(sig, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
	}
	execv(s->path, argv->argv);
	msg_fatal("%s: exec %s: %m", s->ext_name, s->path);
}

/* The command line of master_proto.h, built for this spawn. */
static struct argv *
master_argv(struct master_serv *s)
{
	struct argv *a = argv_new();
	char num[32];

	argv_add(a, s->args->argv[0]);
	if (s->max_proc == 1)
		argv_add(a, "-l");
	if (s->max_proc == 0)
		argv_add(a, "-z");
	if (strcmp(s->ext_name, s->args->argv[0]) != 0) {
		argv_add(a, "-n");
		argv_add(a, s->ext_name);
	}
	argv_add(a, "-t");
	argv_add(a, mastercf_type_name(s->type));
	for (int i = 0; i < master_verbose; i++)
		argv_add(a, "-v");
	if (s->unpriv)
		argv_add(a, "-u");
	if (s->chroot)
		argv_add(a, "-c");
	/* ${stress?...} defaults switch while the service is at its limit. */
	if (s->max_proc > 1 && s->unpriv) {
		argv_add(a, "-o");
		argv_add(a, s->total_proc + 1 >= s->max_proc ? "stress=yes"
							     : "stress=");
	}
	if (s->nlisten > 1) {
		snprintf(num, sizeof(num), "%d", s->nlisten);
		argv_add(a, "-s");
		argv_add(a, num);
	}
	for (size_t i = 1; i < s->args->argc; i++)
		argv_add(a, s->args->argv[i]);
	return a;
}

static void
master_spawn(struct master_serv *s)
{
	struct master_proc *p;
	struct argv *argv = master_argv(s);
	char key[32];
	pid_t pid;

	if (master_procs == NULL)
		master_procs = htable_new(100);
	fflush(NULL);
	if ((pid = fork()) < 0) {
		msg_warn("fork: %m");
		argv_free(argv);
		return;
	}
	if (pid == 0)
		master_exec(s, argv);
	argv_free(argv);
	if (msg_verbose)
		msg_info("spawn %s pid %ld", s->path, (long)pid);
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->serv = s;
	p->gen = s->gen;
	p->avail = true;
	snprintf(key, sizeof(key), "%ld", (long)pid);
	htable_enter(master_procs, key, p);
	s->total_proc++;
	s->avail_proc++;
	s->used = true;
}

/* A client is waiting and no child is idle. */
static void
master_avail_event(int ev, void *ctx)
{
	struct master_serv *s = ctx;

	(void)ev;
	if (s->avail_proc == 0 && s->status_fd[0] >= 0 && !s->throttled &&
	    (s->max_proc == 0 || s->total_proc < s->max_proc))
		master_spawn(s);
	master_avail_update(s);
}

/* Watch the listening sockets exactly when master must spawn on demand. */
void
master_avail_update(struct master_serv *s)
{
	bool room = s->max_proc == 0 || s->total_proc < s->max_proc;
	bool want =
	    s->status_fd[0] >= 0 && !s->throttled && s->avail_proc == 0 && room;

	/* Single-process services (qmgr, pickup) are busy by design. */
	if (s->avail_proc == 0 && !room && s->status_fd[0] >= 0 &&
	    s->max_proc > 1) {
		if (!s->limit_warned) {
			msg_warn("service \"%s\" (%s) has reached its process "
				 "limit \"%d\": new clients may be delayed",
			    s->ext_name, s->endpoint, s->max_proc);
			msg_warn(
			    "to avoid this condition, increase the process "
			    "count in master.cf or reduce the service time "
			    "per client");
			msg_warn(
			    "see http://www.postfix.org/STRESS_README.html "
			    "for examples of stress-adapting configuration "
			    "settings");
		}
		s->limit_warned = true;
	} else if (room)
		s->limit_warned = false;
	if (want == s->listening)
		return;
	for (int i = 0; i < s->nlisten; i++)
		event_read(s->listen_fds[i], want ? master_avail_event : NULL,
		    s);
	s->listening = want;
}

static void
master_unthrottle(int ev, void *ctx)
{
	struct master_serv *s = ctx;

	(void)ev;
	s->throttled = false;
	master_avail_update(s);
}

/* Collect exited children; log abnormal ends as Postfix does. */
void
master_reap(void)
{
	struct master_proc *p;
	struct master_serv *s;
	char key[32];
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = master_proc_find(pid)) == NULL)
			continue;
		s = p->serv;
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			msg_warn("process %s pid %ld exit status %d", s->path,
			    (long)pid, WEXITSTATUS(status));
		if (WIFSIGNALED(status))
			msg_warn("process %s pid %ld killed by signal %d",
			    s->path, (long)pid, WTERMSIG(status));
		s->total_proc--;
		if (p->avail)
			s->avail_proc--;
		/* Died before serving anyone: do not fork it again at once. */
		if (!p->used && status != 0 && s->status_fd[0] >= 0 &&
		    !s->throttled) {
			msg_warn("%s: bad command startup -- throttling",
			    s->path);
			s->throttled = true;
			event_timer(master_unthrottle, s,
			    var_service_throttle_time * 1000);
		}
		snprintf(key, sizeof(key), "%ld", (long)pid);
		htable_delete(master_procs, key, free);
		if (s->status_fd[0] < 0) {
			/* A retired service goes once its last child has. */
			if (s->total_proc == 0)
				master_serv_free(s);
			continue;
		}
		master_avail_update(s);
	}
}

/* Signal every child of s (all services when s is NULL). */
static void
master_signal(struct master_serv *s, int sig)
{
	struct htable_entry **list;

	if (master_procs == NULL)
		return;
	list = htable_list(master_procs);
	for (size_t i = 0; list[i]; i++) {
		struct master_proc *p = list[i]->value;

		if ((s == NULL || p->serv == s) && kill(p->pid, sig) < 0 &&
		    errno != ESRCH)
			msg_warn("kill %ld: %m", (long)p->pid);
	}
	free(list);
}

void
master_kill(struct master_serv *s, int sig)
{
	master_signal(s, sig);
}

void
master_kill_all(int sig)
{
	master_signal(NULL, sig);
}
