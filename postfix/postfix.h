/*
 * postfix.h - what the files of the postfix command share.
 *
 * postfix.c          main(): options, configuration, accounts, logging,
 *                    environment, the directory checks, command dispatch
 * postfix_master.c   talking to master: running it (-t, -w, -s, -i), its
 *                    PID file, start, stop, abort, reload, drain, status
 * postfix_check.c    "check": the integrity checks that stop a start and
 *                    the warnings about owners and modes
 * postfix_perms.c    the table of Postfix's files, directories, owners and
 *                    modes: create missing ones, set-permissions
 * postfix_chroot.c   copy the files a chrooted daemon needs into the queue
 * postfix_maint.c    flush and logrotate
 * postfix_walk.c     visit a directory tree in find(1)'s order
 *
 * postfix_shared          false for a secondary instance (its config
 *                         directory is in the default instance's
 *                         multi_instance_directories): leave the shared
 *                         command and daemon files alone
 * postfix_instances       the default instance's multi_instance_directories
 * postfix_debug           -D was given
 * postfix_fatal_line(fmt, ...)  log a fatal-level line and go on (a check
 *                         that fails, then its caller's own fatal line)
 *
 * postfix_master_running()        master -t says an instance is running
 * postfix_master_pid(why)         the PID in pid/master.pid, or -1 with why
 * postfix_master_run(opt, quiet)  run "master OPT" (and -D with -D), wait,
 *                                 return its exit status; quiet: stderr to
 *                                 /dev/null
 * postfix_master_start(fg)        start / start-fg; returns the exit status
 * postfix_master_stop(how)        stop, abort, drain, quick-stop
 * postfix_master_reload()         reload
 * postfix_master_status()         status: 0 running, 1 not
 *
 * postfix_check_fatal()           create missing directories, check master.cf
 *                                 and the postlog service, prepare the chroot:
 *                                 0, or -1 after logging why (fatal level)
 * postfix_check_warn()            warn about owners and modes
 *
 * postfix_perms_create(why)       create missing queue and data directories
 *                                 with Postfix's owners and modes: 0 or -1
 * postfix_perms_create_queue(why) the same for queue_directory itself only
 * postfix_perms_set()             set-permissions (fatal on failure)
 * postfix_perms_file(path, uid, gid, mode)  chown (-1: keep) and chmod one
 *                                 file: 0, or -1 with errno
 *
 * postfix_walk(start, follow, fn, ctx)  fn(path, st, ctx) for start and
 *                                 everything below it, in find(1)'s order
 *                                 and naming; follow = find -L
 *
 * postfix_chroot_need(mc)         master.cf runs a service chrooted
 * postfix_chroot_sync(why)        copy the chroot files: 0 or -1
 *
 * postfix_maint_flush()           flush; exits
 * postfix_maint_logrotate(argc)   logrotate; exits
 */
#ifndef POSTFIX_H
#define POSTFIX_H

#include <sys/types.h>
#include <sys/stat.h>
#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"

struct mastercf;

extern bool postfix_shared;
extern struct argv *postfix_instances;
extern bool postfix_debug;

void postfix_fatal_line(const char *, ...)
    __attribute__((format(printf, 1, 2)));

enum postfix_stop {
	POSTFIX_STOP,
	POSTFIX_ABORT,
	POSTFIX_DRAIN,
	POSTFIX_QUICK_STOP
};

bool postfix_master_running(void);
pid_t postfix_master_pid(struct str *);
int postfix_master_run(const char *, bool);
int postfix_master_start(bool);
int postfix_master_stop(enum postfix_stop);
int postfix_master_reload(void);
int postfix_master_status(void);

int postfix_check_fatal(void);
void postfix_check_warn(void);

int postfix_perms_create(struct str *);
int postfix_perms_create_queue(struct str *);
void postfix_perms_set(void);
int postfix_perms_file(const char *, uid_t, gid_t, mode_t);

typedef void postfix_walk_fn(const char *, const struct stat *, void *);
void postfix_walk(const char *, bool, postfix_walk_fn *, void *);

bool postfix_chroot_need(const struct mastercf *);
int postfix_chroot_sync(struct str *);

void postfix_maint_flush(void) __attribute__((noreturn));
void postfix_maint_logrotate(int) __attribute__((noreturn));

#endif
