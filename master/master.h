/*
 * master.h - what the master's files share.
 *
 * master_ent.c    services from master.cf: master_ent_load(why)
 * master_listen.c listening sockets: master_listen_open(s, why),
 *                 master_listen_close(s), master_listen_same(a, b)
 * master_spawn.c  children: master_avail_update(s), master_reap(),
 *                 master_status_open(s), master_status_close(s),
 *                 master_kill(s, sig), master_kill_all(sig)
 * master_wakeup.c wakeup timers: master_wakeup_start(s), master_wakeup_stop(s)
 * master_conf.c   start-up, reload and stop of the service list:
 *                 master_start(why), master_reload(), master_stop(sig)
 */
#ifndef MASTER_H
#define MASTER_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/mail/mastercf.h"

struct master_serv {
	char *ext_name; /* master.cf name: "smtp", "127.0.0.1:2525" */
	char *endpoint; /* "25", "private/cleanup" (log text) */
	char *key;      /* name/type: identifies it across reloads */
	enum mastercf_type type;
	char *path;        /* program to run */
	struct argv *args; /* master.cf arguments (args->argv[0]: command) */
	int max_proc;      /* 0: no limit */
	int wakeup;        /* seconds; 0: none */
	bool wakeup_cond;  /* "?": only once the service was used */
	bool unpriv, chroot, used;
	struct argv *addrs; /* inet: listen hosts ("" = all); else NULL */
	int *listen_fds;
	int nlisten;
	int status_fd[2]; /* -1 once retired */
	unsigned gen;
	int total_proc, avail_proc;
	bool listening; /* master watches listen_fds */
	bool throttled;
	bool limit_warned;
	struct master_serv *next;
};

extern struct master_serv *master_services;
extern int master_verbose; /* -v count, passed on to children */

struct master_serv *master_ent_load(struct str *);
struct master_serv *master_serv_free(struct master_serv *);

int master_listen_open(struct master_serv *, struct str *);
void master_listen_close(struct master_serv *);
bool master_listen_same(const struct master_serv *, const struct master_serv *);

void master_status_open(struct master_serv *);
void master_status_close(struct master_serv *);
void master_avail_update(struct master_serv *);
void master_reap(void);
void master_kill(struct master_serv *, int);
void master_kill_all(int);

void master_wakeup_start(struct master_serv *);
void master_wakeup_stop(struct master_serv *);

int master_start(struct str *);
void master_reload(void);

#endif
