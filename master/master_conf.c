/*
 * master_conf - the service list: start-up, and reload on SIGHUP.
 *
 * A reload keeps each listening socket whose service still exists with the
 * same endpoint, so connections waiting in its backlog are served by the
 * new generation.  The old generation's children finish the client they
 * have and exit; children of a service that is gone are terminated at once,
 * as master(8) says.  A configuration that does not load (a syntax error in
 * main.cf or master.cf) is reported and the running one is kept: a typo
 * must not take the mail system down.
 */
#include <sys/wait.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"
#include "master.h"

struct master_serv *master_services;

static void
master_serv_run(struct master_serv *s)
{
	master_status_open(s);
	master_wakeup_start(s);
	master_avail_update(s);
}

/*
 * Take a service out of the list, handing its sockets to heir (or closing
 * them); it is freed with its last child.
 */
static void
master_serv_retire(struct master_serv *s, struct master_serv *heir)
{
	master_wakeup_stop(s);
	master_status_close(s);
	master_avail_update(s);
	if (heir) {
		heir->listen_fds = s->listen_fds;
		heir->nlisten = s->nlisten;
		s->listen_fds = NULL;
		s->nlisten = 0;
	} else
		master_listen_close(s);
	if (s->total_proc == 0)
		master_serv_free(s);
}

int
master_start(struct str *why)
{
	struct master_serv *s;

	if ((master_services = master_ent_load(why)) == NULL &&
	    str_len(why) > 0)
		return -1;
	/* Postfix's text: "bind 127.0.0.1 port 25: Address already in use". */
	for (s = master_services; s; s = s->next)
		if (master_listen_open(s, why) < 0)
			return -1;
	for (s = master_services; s; s = s->next)
		master_serv_run(s);
	return 0;
}

/* Forget main.cf settings before reading the file again. */
static void
master_conf_reset(void)
{
	char *dir = xstrdup(config_dir());

	config_init(dir);
	free(dir);
}

/* Read main.cf and master.cf in a throw-away process: does it load? */
static int
master_conf_ok(void)
{
	struct master_serv *list, *s;
	struct str *why;
	int status;
	pid_t pid;

	if ((pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		why = str_new(100);
		master_conf_reset();
		if (config_read(why) < 0)
			msg_fatal("%s", str_ptr(why));
		params_load();
		if ((list = master_ent_load(why)) == NULL && str_len(why) > 0)
			msg_fatal("%s", str_ptr(why));
		while ((s = list) != NULL) {
			list = s->next;
			master_serv_free(s);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void
master_reload(void)
{
	struct master_serv *old = master_services, *fresh, *s, *o, **op;
	struct str *why = str_new(100);

	msg_info("reload -- version %s, configuration %s", var_mail_version,
	    config_dir());
	if (!master_conf_ok()) {
		msg_warn("reload failed: keeping the running configuration");
		str_free(why);
		return;
	}
	master_conf_reset();
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(MAILLOG_FALLBACK);
	fresh = master_ent_load(why);
	if (fresh == NULL && str_len(why) > 0) {
		msg_warn("%s", str_ptr(why));
		msg_warn("reload failed: keeping the running configuration");
		str_free(why);
		return;
	}

	/* Hand sockets over where the endpoint stays. */
	for (s = fresh; s; s = s->next) {
		for (op = &old; (o = *op) != NULL; op = &o->next)
			if (master_listen_same(o, s))
				break;
		if (o != NULL) {
			*op = o->next;
			master_serv_retire(o, s);
		}
	}

	/*
	 * What is left of the old list was removed from master.cf (its
	 * processes go now) or listens elsewhere (they finish their client).
	 * Its sockets close before new ones open on the same port.
	 */
	while ((o = old) != NULL) {
		old = o->next;
		for (s = fresh; s && strcmp(s->key, o->key) != 0; s = s->next)
			;
		if (s == NULL)
			master_kill(o, SIGTERM);
		master_serv_retire(o, NULL);
	}
	for (s = fresh; s; s = s->next)
		if (s->nlisten == 0 && master_listen_open(s, why) < 0)
			msg_warn("%s (service %s skipped)", str_ptr(why),
			    s->key);
	for (op = &fresh; (s = *op) != NULL;) {
		if (s->nlisten == 0) {
			*op = s->next;
			master_serv_free(s);
			continue;
		}
		master_serv_run(s);
		op = &s->next;
	}
	master_services = fresh;
	str_free(why);
}
