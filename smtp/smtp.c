/*
 * smtp - deliver mail over SMTP or LMTP to the servers of a next hop: the
 * smtp, relay and lmtp services of master.cf.  Run as "lmtp" (the
 * master.cf command, a link to this program) it speaks LMTP (LHLO,
 * per-recipient replies after DATA) and reads the lmtp_* parameters.
 * Run by master on private/<service>, one delivery request per process
 * at a time (DAEMON_SINGLE), as mail_owner.
 * Reads a delivery request from qmgr (deliver.h) and the message from the
 * queue file; looks up MX and address records (lib/util/dns.h) or uses
 * the resolver; connects to each server in turn (smtp_addr.c) until every
 * recipient is final or the servers are exhausted (smtp_proto.c), with
 * STARTTLS (smtp_tls.c) and AUTH (smtp_sasl.c) as configured, taking
 * and keeping idle connections through the scache service when allowed
 * (smtp_reuse.c).
 * Reports each recipient with deliver_sent/bounce/defer: Postfix's
 * "to=<x>, relay=host[addr]:port, ..., status=sent (250 ...)" lines.
 * Faces the network: every reply line is bounded (SMTP_REPLY_LINE_MAX),
 * as are the lines of one reply, and each wait by an smtp_*_timeout.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/dns.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/addr_map.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/deliver_serve.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "smtp.h"

bool smtp_lmtp;

/* Walk the servers until every recipient is final. */
static void
smtp_deliver(struct smtp_state *state)
{
	struct deliver_request *req = state->req;
	struct smtp_addr_list l = { 0 };
	struct str *dsn = str_new(0), *why = str_new(0);
	size_t i, j, pending;
	int limit = SMTP_VAR(mx_session_limit), ret;

	/* A connection cached for the next hop comes before any lookup. */
	smtp_reuse_policy(state);
	if (state->cache_fetch) {
		struct smtp_session c = { 0 };
		struct smtp_addr a = { 0 };
		struct smtp_tls_policy pol = { 0 };
		int fd;

		if ((fd = smtp_reuse_find_dest(state, &c, &a)) >= 0) {
			/* Cached connections are plain text. */
			smtp_tls_policy(&a, &pol);
			if (pol.error || pol.level > SMTP_TLS_MAY) {
				close(fd);
			} else {
				state->best = true;
				smtp_session_cached(state, &c, &a, fd);
			}
			smtp_tls_policy_free(&pol);
			free(a.host);
			free(a.addr);
			free(a.dest);
		}
		for (pending = 0, j = 0; j < req->rcpt_count; j++)
			pending += !state->rs[j].done;
		if (pending == 0)
			goto out;
	}
	ret = smtp_addr_list(state, &l, dsn, why);
	if (ret != DNS_OK) {
		for (i = 0; i < req->rcpt_count; i++) {
			if (state->rs[i].done)
				continue;
			if (ret == DNS_RETRY)
				(void)deliver_defer(req, &req->rcpt[i], NULL,
				    str_ptr(dsn), "%s", str_ptr(why));
			else
				(void)deliver_bounce(req, &req->rcpt[i], NULL,
				    str_ptr(dsn), "%s", str_ptr(why));
			state->rs[i].done = true;
		}
		goto out;
	}
	for (i = 0; i < l.count; i++) {
		for (pending = 0, j = 0; j < req->rcpt_count; j++)
			pending += !state->rs[j].done;
		if (pending == 0)
			break;
		/* smtp_mx_session_limit bounds the sessions before fallback. */
		if (limit > 0 && !l.a[i].fallback &&
		    state->sessions >= (size_t)limit)
			continue;
		/* Only a most preferred server stands for the next hop. */
		state->best =
		    !l.a[i].fallback && (i == 0 || l.a[i].pref == l.a[0].pref);
		state->last = true;
		for (j = i + 1; j < l.count; j++)
			if (l.a[j].fallback || limit <= 0 ||
			    state->sessions + 1 < (size_t)limit)
				state->last = false;
		smtp_session(state, &l.a[i]);
	}
	/* What is left is deferred with its last reason. */
	for (i = 0; i < req->rcpt_count; i++) {
		struct smtp_rcpt_state *rs = &state->rs[i];

		if (rs->done)
			continue;
		if (str_len(rs->why) == 0) {
			str_set(rs->dsn, "4.4.1");
			str_set(rs->why, "delivery temporarily suspended");
		}
		struct deliver_diag diag = { 0 };

		if (str_len(rs->dtext) > 0) {
			diag.dtype = "smtp";
			diag.dtext = str_ptr(rs->dtext);
		}
		(void)deliver_defer_diag(req, &req->rcpt[i],
		    strcmp(str_ptr(rs->relay), "none") == 0
			? NULL
			: str_ptr(rs->relay),
		    str_ptr(rs->dsn), &diag, "%s", str_ptr(rs->why));
	}
out:
	smtp_addr_free(&l);
	str_free(dsn);
	str_free(why);
}

/* One delivery request: the per-recipient state around smtp_deliver(). */
static int
smtp_request(struct deliver_request *req, int qfd, void *ctx, struct str *why)
{
	struct smtp_state state = { 0 };
	size_t i;

	(void)ctx;
	(void)why;
	addr_map_queue_id = str_ptr(req->queue_id);
	state.req = req;
	state.qfd = qfd;
	state.dest_label = str_new(0);
	state.rs =
	    xcalloc(req->rcpt_count ? req->rcpt_count : 1, sizeof(*state.rs));
	for (i = 0; i < req->rcpt_count; i++) {
		state.rs[i].dsn = str_new(0);
		state.rs[i].why = str_new(0);
		state.rs[i].relay = str_new(0);
		state.rs[i].dtext = str_new(0);
		str_set(state.rs[i].relay, "none");
	}
	smtp_deliver(&state);
	for (i = 0; i < req->rcpt_count; i++) {
		str_free(state.rs[i].dsn);
		str_free(state.rs[i].why);
		str_free(state.rs[i].relay);
		str_free(state.rs[i].dtext);
	}
	free(state.rs);
	str_free(state.dest_label);
	addr_map_queue_id = NULL;
	return 0;
}

static void
smtp_service(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	deliver_serve(st, NULL, smtp_request, NULL);
}

static void
smtp_pre_jail(const char *service, char **argv)
{
	struct timeval tv;

	(void)service;
	(void)argv;
	gettimeofday(&tv, NULL);
	srandom((unsigned)(tv.tv_sec ^ tv.tv_usec ^ getpid()));
	if (*SMTP_VAR(generic_maps))
		addr_map_init();
	smtp_addr_init();
	smtp_tls_init();
	smtp_sasl_init();
	smtp_reuse_init();
	smtp_hbc_init();
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = smtp_service,
		.pre_jail = smtp_pre_jail,
	};
	char *name = xstrdup(argc > 0 ? argv[0] : "smtp");

	smtp_lmtp = strcmp(basename(name), "lmtp") == 0;
	free(name);
	return daemon_main(argc, argv, &spec);
}
