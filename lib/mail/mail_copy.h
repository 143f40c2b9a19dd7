/*
 * mail_copy - write a message from its queue file to a mailbox, file or
 * command, with the envelope headers Postfix's mail_copy() adds.  Shared
 * by the delivery agents that write messages themselves (local, virtual,
 * pipe).
 *
 * mail_writer_init(w, fd)     an output on fd (buffered, no limit)
 * mail_writer_done(w)         free its buffer
 * mail_copy(src, w, flags, why)  write the message with the headers that
 *                             flags ask for; 0, or -1 with why and errno
 *                             (EFBIG past w->limit, ETIMEDOUT past
 *                             w->deadline, EPIPE on a closed pipe unless
 *                             w->pipe, which ends the copy quietly)
 * mail_now_ms()               CLOCK_MONOTONIC in milliseconds (deadlines)
 *
 * Headers, in this order:
 *   From SENDER  Mon Dec  4 16:59:40 2026      (MAIL_COPY_FROM; <> is
 *                                               MAILER-DAEMON)
 *   Return-Path: <SENDER>                       (MAIL_COPY_RETURN_PATH)
 *   X-Original-To: ORIGINAL                     (MAIL_COPY_ORIG_RCPT)
 *   Delivered-To: RECIPIENT                     (MAIL_COPY_DELIVERED)
 * The caller chooses the case of the addresses (local lowers Delivered-To:,
 * pipe writes the recipient as it is, as Postfix does).  ">From " quoting
 * of body and header lines that start with "From " (MAIL_COPY_QUOTE), an
 * empty last line (MAIL_COPY_BLANK), SMTP dot-stuffing (MAIL_COPY_DOT) and
 * src->eol as the line end ("\n" when NULL) make the other formats.
 */
#ifndef MAIL_COPY_H
#define MAIL_COPY_H

#include <stdbool.h>

#include "lib/util/str.h"

#define MAIL_COPY_FROM        (1 << 0) /* From_ line */
#define MAIL_COPY_QUOTE       (1 << 1) /* >From quoting */
#define MAIL_COPY_RETURN_PATH (1 << 2)
#define MAIL_COPY_ORIG_RCPT   (1 << 3) /* X-Original-To: */
#define MAIL_COPY_DELIVERED   (1 << 4) /* Delivered-To: */
#define MAIL_COPY_BLANK       (1 << 5) /* end with an empty line */
#define MAIL_COPY_DOT         (1 << 6) /* prepend "." to lines with "." */
#define MAIL_COPY_MBOX                                                         \
	(MAIL_COPY_FROM | MAIL_COPY_QUOTE | MAIL_COPY_RETURN_PATH |            \
	    MAIL_COPY_ORIG_RCPT | MAIL_COPY_DELIVERED | MAIL_COPY_BLANK)

/* One output: a descriptor, written with an optional size limit/deadline. */
struct mail_writer {
	int fd;
	long limit;      /* bytes this copy may add, 0: none */
	long written;    /* bytes written */
	long deadline;   /* CLOCK_MONOTONIC ms, 0: none */
	bool pipe;       /* EPIPE ends the copy quietly (commands) */
	int error;       /* errno of the first failed write, sticky */
	struct str *buf; /* output buffer */
};

/* What is copied: the queue file content and the envelope for headers. */
struct mail_copy_src {
	int qfd;                 /* queue file (read through a dup) */
	long data_offset;        /* first content record */
	const char *sender;      /* internal form, "" for <> */
	const char *null_sender; /* what <> becomes, NULL: MAILER-DAEMON in
				    From_ and "" in Return-Path: */
	const char *orig_rcpt;   /* X-Original-To: (internal form) */
	const char *delivered;   /* Delivered-To: (internal form) */
	const char *eol;         /* line end, NULL: "\n" */
};

void mail_writer_init(struct mail_writer *, int);
void mail_writer_done(struct mail_writer *);
int mail_copy(const struct mail_copy_src *, struct mail_writer *, int,
    struct str *) __attribute__((warn_unused_result));
long mail_now_ms(void);

#endif
