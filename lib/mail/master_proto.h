/*
 * master_proto - what master and its children agree on (ours to design).
 *
 * Descriptors a child inherits:
 *   MASTER_STATUS_FD   write end of its service's status pipe; the child
 *                      reports itself idle or busy here.  When master closes
 *                      the read end (reload, service removed, master gone)
 *                      this descriptor polls readable/error: the child then
 *                      finishes its current client and exits.
 *   MASTER_LISTEN_FD.. the service's listening sockets (count in -s N).
 * Environment: MAIL_CONFIG (the config directory), GENERATION (octal; the
 * service generation, echoed in every status message so that master can
 * ignore messages of a service it has replaced).
 *
 * Command line master builds (as Postfix's master_ent.c does):
 *   PROG [-l] [-z] [-n SERVICE] -t TYPE [-v...] [-u] [-c] [-o stress=...]
 *        [-s N] [master.cf arguments]
 * -l solitary (maxproc 1), -z unlimited (maxproc 0), -u drop privileges,
 * -c chroot, -s number of listening descriptors.
 *
 * master_notify(gen, avail)   send one status message: 0, or -1 (master gone)
 * master_trigger_byte()       the wakeup byte master sends ('W')
 */
#ifndef MASTER_PROTO_H
#define MASTER_PROTO_H

#define MASTER_STATUS_FD 5
#define MASTER_LISTEN_FD 6

#define MASTER_STAT_TAKEN 0 /* busy with a client */
#define MASTER_STAT_AVAIL 1 /* idle, accepting */

#define MASTER_TRIGGER_WAKEUP 'W'

struct master_status {
	int pid;
	unsigned gen;
	int avail;
};

int master_notify(unsigned, int);

#endif
