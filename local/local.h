/*
 * local.h - what the local delivery agent's files share.
 *
 * local_copy(s, w, flags, why)   write the message (queue file content)
 *                                with the envelope headers that flags ask
 *                                for (mail_copy.h); 0, or -1 with why and
 *                                errno
 * local_mbox(s, path, u, why_dsn, why)  append to an mbox file with
 *                                locking; LOCAL_SENT/LOCAL_DEFER/LOCAL_BOUNCE
 * local_maildir(s, dir, u, ...)  deliver into a Maildir
 * local_command(s, cmd, u, ...)  pipe the message into a shell command
 * local_file(s, path, u, ...)    append to a file named by an alias or
 *                                .forward (mbox format)
 * local_expand(s, rcpt)          aliases, .forward and the mailbox for one
 *                                recipient; results go to s->results
 * local_forward_flush(s, ...)    resubmit the addresses collected for one
 *                                recipient as a new message via cleanup
 * local_result(s, kind, dsn, fmt, ...)  note one outcome for the current
 *                                recipient (reported by local.c)
 * local_dup(s, kind, uid, target)  this delivery was made already in this
 *                                request (then noted as delivered again)
 * local_dup_settle(s, n)         forget the last local_dup() key unless
 *                                the results from n on all succeeded
 * local_set_privs(u)/local_root()  switch the effective IDs
 *
 * local_pass.c:
 * local_pass_init()              open mailbox_transport_maps,
 *                                fallback_transport_maps, mailbox_command_maps
 * local_pass_mailbox(s, user)    mailbox_transport(_maps): true when the
 *                                recipient was passed on (or deferred)
 * local_pass_unknown(s)          fallback_transport(_maps) for a user not in
 *                                the password database: true when handled
 * local_mailbox_cmd(s, user, &cmd)  mailbox_command_maps, else
 *                                mailbox_command ("" for none); -1 when the
 *                                lookup failed (the recipient is deferred)
 * local_home_check(s, u)         require_home_directory: -1 (deferred) when
 *                                the home directory cannot be accessed
 */
#ifndef LOCAL_H
#define LOCAL_H

#include <sys/types.h>
#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/deliver.h"
#include "lib/mail/mail_copy.h"
#include "lib/mail/maps.h"

enum local_kind { LOCAL_SENT, LOCAL_BOUNCE, LOCAL_DEFER };

/* Where an expansion came from (allow_mail_to_commands/files classes). */
#define LOCAL_EXP_ALIAS   (1 << 0)
#define LOCAL_EXP_FORWARD (1 << 1)
#define LOCAL_EXP_INCLUDE (1 << 2)

/* prepend_delivered_header classes. */
#define LOCAL_HDR_COMMAND (1 << 0)
#define LOCAL_HDR_FILE    (1 << 1)
#define LOCAL_HDR_FORWARD (1 << 2)

/* Who a delivery runs as, and the user's attributes for $names and env. */
struct local_user {
	uid_t uid;
	gid_t gid;
	const char *logname;
	const char *home;
	const char *shell;
};

struct local_result {
	enum local_kind kind;
	char *dsn;
	char *text;
	char *to;    /* the expanded address it was for, NULL: the rcpt */
	bool passed; /* recorded by the agent it was passed to */
};

struct local_state {
	struct deliver_request *req;
	const char *service;       /* master.cf service name ("local") */
	struct deliver_rcpt *rcpt; /* the recipient being delivered */
	int qfd;                   /* queue file, read only */
	const char *sender;        /* envelope sender (may be an owner-) */
	char *address;             /* recipient, lower case */
	char *local;               /* its local part (with extension) */
	char *domain;
	char *user;             /* local part without extension */
	char *extension;        /* without the delimiter, or NULL */
	char *delim;            /* the delimiter that split it, or NULL */
	int level;              /* alias/include nesting */
	int depth;              /* in-process expansion steps (0: rcpt) */
	int exp_type;           /* LOCAL_EXP_* of the expansion being run */
	const char *log_to;     /* address logged as to=, NULL: the rcpt */
	bool indirect;          /* owner- alias or .forward: resubmit all */
	bool own_orcpt;         /* owner- alias: each address its own orcpt */
	const char *delivered;  /* the address for Delivered-To: */
	struct argv *dups;      /* deliveries done for this request */
	size_t dups_mark;       /* dups[0..mark): by earlier recipients */
	struct argv *fwd;       /* addresses to resubmit ... */
	struct argv *fwd_from;  /* ... each with its envelope sender ... */
	struct argv *fwd_orcpt; /* ... and original recipient ("": rcpt's) */
	struct argv *owners;    /* owner-NAME senders in use (storage) */
	struct local_result *results;
	size_t result_count;
	struct argv *loop_hdrs; /* Delivered-To: values of the message */
};

extern struct maps *local_alias_maps;
extern int local_cmd_mask, local_file_mask, local_hdr_mask;

bool local_verify(struct local_state *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void local_result(struct local_state *, enum local_kind, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));
bool local_dup(struct local_state *, const char *, uid_t, const char *);
void local_dup_settle(struct local_state *, size_t);
int local_copy(struct local_state *, struct mail_writer *, int, struct str *)
    __attribute__((warn_unused_result));
void local_set_privs(const struct local_user *);
void local_root(void);
void local_mbox(struct local_state *, const char *, const struct local_user *,
    bool);
void local_maildir(struct local_state *, const char *,
    const struct local_user *);
void local_file(struct local_state *, const char *, const struct local_user *);
void local_command(struct local_state *, const char *,
    const struct local_user *);
void local_expand(struct local_state *);
void local_split(struct local_state *, const char *);
bool local_looped(struct local_state *);
void local_mailbox(struct local_state *, const struct local_user *);
void local_forward_flush(struct local_state *);
int local_expand_macros(struct local_state *, struct str *, const char *,
    const struct local_user *, const char *);
const char *local_dsn_errno(int, const char *);
void local_pass_init(void);
bool local_pass_mailbox(struct local_state *, const char *);
bool local_pass_unknown(struct local_state *);
int local_mailbox_cmd(struct local_state *, const char *, const char **);
int local_home_check(struct local_state *, const struct local_user *);

#endif
