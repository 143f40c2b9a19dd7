/*
 * pipe.h - what the pipe delivery agent's files share.
 *
 * pipe_argv(cfg, req, rcpts, n, out, bad)  expand cfg->argv for the n
 *                          recipients: 0 with the command's argv in out,
 *                          or -1 with the unknown macro name in bad
 * pipe_run(cfg, req, qfd, argv, res)  run the command with the message on
 *                          its standard input; the outcome in res
 */
#ifndef PIPE_H
#define PIPE_H

#include <sys/types.h>
#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/deliver.h"

/* flags= letters. */
#define PIPE_FLAG_DELIVERED   (1 << 0)  /* D: Delivered-To: */
#define PIPE_FLAG_ORIG_RCPT   (1 << 1)  /* O: X-Original-To: */
#define PIPE_FLAG_RETURN_PATH (1 << 2)  /* R: Return-Path: */
#define PIPE_FLAG_FINAL       (1 << 3)  /* X: final delivery */
#define PIPE_FLAG_FOLD_HOST   (1 << 4)  /* h: lower-case domains */
#define PIPE_FLAG_QUOTE       (1 << 5)  /* q: quote localparts */
#define PIPE_FLAG_FOLD_USER   (1 << 6)  /* u: lower-case localparts */
#define PIPE_FLAG_FROM        (1 << 7)  /* F: From_ line */
#define PIPE_FLAG_DOT         (1 << 8)  /* .: dot-stuffing */
#define PIPE_FLAG_QUOTE_FROM  (1 << 9)  /* >: >From quoting */
#define PIPE_FLAG_BLANK       (1 << 10) /* B: blank line at the end */

/* The service's master.cf attributes. */
struct pipe_cfg {
	const char *service;
	int flags;         /* PIPE_FLAG_* */
	uid_t uid;         /* user= */
	gid_t gid;         /* user=name:group, else the user's group */
	long size_limit;   /* size=, 0: none */
	char *eol;         /* eol=, default "\n" */
	char *null_sender; /* null_sender=, default MAILER-DAEMON */
	char *directory;   /* directory=, default queue_directory */
	struct argv *argv; /* argv= and what follows */
	int time_limit;    /* <service>_time_limit, seconds */
};

enum pipe_kind { PIPE_SENT, PIPE_DEFER, PIPE_BOUNCE };

struct pipe_result {
	enum pipe_kind kind;
	const char *dsn;
	struct str *text;
};

int pipe_argv(const struct pipe_cfg *, const struct deliver_request *,
    struct deliver_rcpt **, size_t, struct argv *, struct str *)
    __attribute__((warn_unused_result));
void pipe_run(const struct pipe_cfg *, const struct deliver_request *, int,
    struct deliver_rcpt *, struct argv *, struct pipe_result *);

#endif
