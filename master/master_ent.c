/*
 * master_ent - turn master.cf entries into services to run.
 *
 * The parsed entry (lib/mail/mastercf) gives the columns; this adds what
 * main.cf decides (default_process_limit, inet_interfaces, inet_protocols,
 * daemon_directory, master_service_disable) and skips what cannot run: an
 * entry whose program does not exist is logged once and left out, so that
 * the default master.cf works before every daemon is written.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mastercf.h"
#include "lib/mail/params.h"
#include "master.h"

struct master_serv *
master_serv_free(struct master_serv *s)
{
	if (s == NULL)
		return NULL;
	free(s->ext_name);
	free(s->endpoint);
	free(s->key);
	free(s->path);
	argv_free(s->args);
	argv_free(s->addrs);
	free(s->listen_fds);
	free(s);
	return NULL;
}

/* Has "master_service_disable" switched this service off ("inet", "smtp/inet")? */
static bool
master_ent_disabled(const struct master_serv *s, const char *type)
{
	struct argv *list = argv_split(var_master_service_disable, ", \t\r\n");
	bool off = false;

	for (size_t i = 0; i < list->argc && !off; i++)
		off = strcmp(list->argv[i], type) == 0 ||
		      strcmp(list->argv[i], s->key) == 0;
	argv_free(list);
	return off;
}

/*
 * The addresses an inet service listens on: its own host, or every
 * inet_interfaces address.  "" stands for the wildcard address of the
 * protocols in use.
 */
static int
master_ent_addrs(struct master_serv *s, const struct mastercf_entry *e,
    struct str *why)
{
	struct argv *ifs, *protos;
	bool v4 = false, v6 = false;

	s->addrs = argv_new();
	if (e->host && *e->host && strcmp(e->host, "*") != 0) {
		argv_add(s->addrs, e->host);
		return 0;
	}
	protos = argv_split(var_inet_protocols, ", \t\r\n");
	for (size_t i = 0; i < protos->argc; i++) {
		if (strcmp(protos->argv[i], "all") == 0)
			v4 = v6 = true;
		else if (strcmp(protos->argv[i], "ipv4") == 0)
			v4 = true;
		else if (strcmp(protos->argv[i], "ipv6") == 0)
			v6 = true;
		else {
			str_fmt(why, "bad inet_protocols value: %s",
			    protos->argv[i]);
			argv_free(protos);
			return -1;
		}
	}
	argv_free(protos);
	if (!v4 && !v6) {
		str_set(why, "inet_protocols: no protocols are enabled");
		return -1;
	}
	ifs = argv_split(var_inet_interfaces, ", \t\r\n");
	for (size_t i = 0; i < ifs->argc; i++) {
		const char *a = ifs->argv[i];

		if (strcmp(a, "all") == 0)
			argv_add(s->addrs, v4 && v6 ? ""
					   : v4     ? "0.0.0.0"
						    : "::");
		else if (strcmp(a, "loopback-only") == 0) {
			if (v4)
				argv_add(s->addrs, "127.0.0.1");
			if (v6)
				argv_add(s->addrs, "::1");
		} else
			argv_add(s->addrs, a);
	}
	argv_free(ifs);
	if (s->addrs->argc == 0) {
		str_set(why, "inet_interfaces: no local interface found");
		return -1;
	}
	return 0;
}

/* One master.cf entry as a service; NULL when it is skipped. */
static struct master_serv *
master_ent_one(const struct mastercf_entry *e, const char *cfpath,
    struct htable *warned, struct str *why, int *err)
{
	struct master_serv *s = xcalloc(1, sizeof(*s));
	const char *type = mastercf_type_name(e->type);
	const char *cmd = e->args->argv[0];
	struct str *buf = str_new(100);

	s->ext_name = xstrdup(e->field[0]);
	s->type = e->type;
	str_fmt(buf, "%s/%s", e->field[0], type);
	s->key = xstrdup(str_ptr(buf));
	if (e->type == MCF_INET) {
		/* "smtp" logs as "25", as in Postfix's limit warning. */
		struct servent *se = getservbyname(e->port, "tcp");

		if (se && strspn(e->port, "0123456789") != strlen(e->port))
			str_fmt(buf, "%d", ntohs((uint16_t)se->s_port));
		else
			str_set(buf, e->port);
		s->endpoint = xstrdup(str_ptr(buf));
	} else {
		str_fmt(buf, "%s/%s", e->private_ ? "private" : "public",
		    e->field[0]);
		s->endpoint = xstrdup(str_ptr(buf));
	}
	if (*cmd == '/')
		str_set(buf, cmd);
	else
		str_fmt(buf, "%s/%s", var_daemon_directory, cmd);
	s->path = xstrdup(str_ptr(buf));
	s->args = argv_new();
	for (size_t i = 0; i < e->args->argc; i++)
		argv_add(s->args, e->args->argv[i]);
	s->max_proc = e->maxproc < 0 ? var_default_process_limit : e->maxproc;
	s->wakeup = e->wakeup;
	s->wakeup_cond = e->wakeup_conditional;
	s->unpriv = e->unpriv;
	s->chroot = e->chroot;
	s->status_fd[0] = s->status_fd[1] = -1;
	str_free(buf);

	if (master_ent_disabled(s, type))
		return master_serv_free(s);
	if (access(s->path, X_OK) < 0) {
		if (htable_find(warned, s->path) == NULL) {
			htable_enter(warned, s->path, warned);
			msg_warn(
			    "%s: line %d: service %s: cannot execute %s: %m"
			    " -- service skipped",
			    cfpath, e->lineno, s->key, s->path);
		}
		return master_serv_free(s);
	}
	if (e->type == MCF_INET && master_ent_addrs(s, e, why) < 0) {
		*err = -1;
		return master_serv_free(s);
	}
	return s;
}

/*
 * The services of master.cf, in file order; NULL with why on an error
 * (a master.cf syntax error names file and line).  An empty list is
 * returned as NULL with an empty why.
 */
struct master_serv *
master_ent_load(struct str *why)
{
	static struct htable *warned;
	struct master_serv *head = NULL, **tail = &head, *s;
	struct mastercf *mc;
	struct str *path = str_new(100);
	int err = 0;

	if (warned == NULL)
		warned = htable_new(10);
	str_reset(why);
	str_fmt(path, "%s/master.cf", config_dir());
	if ((mc = mastercf_read(str_ptr(path), why)) == NULL) {
		str_free(path);
		return NULL;
	}
	for (size_t i = 0; i < mc->count && err == 0; i++) {
		if ((s = master_ent_one(mc->entries[i], str_ptr(path), warned,
			 why, &err)) == NULL)
			continue;
		*tail = s;
		tail = &s->next;
	}
	mastercf_free(mc);
	str_free(path);
	if (err < 0) {
		while ((s = head) != NULL) {
			head = s->next;
			master_serv_free(s);
		}
		return NULL;
	}
	return head;
}
