/*
 * trivial-rewrite - rewrite addresses to canonical form and resolve them
 * to a transport and next hop (Postfix's trivial-rewrite(8)).
 * Runs as mail_owner under master, many clients per process on the event
 * loop, chroot allowed; listens on private/rewrite.
 * Reads myorigin, mydomain, mydestination, the virtual and relay domain
 * lists, the *_transport parameters, relayhost, transport_maps and the
 * sender-dependent tables (opened before the jail).
 * Talks to cleanup (and later smtpd, qmgr) with attr lists, lib/mail/tr_clnt.h:
 * greets with protocol=rewrite_protocol, then answers request=rewrite and
 * request=resolve until the client hangs up.  A malformed or unknown
 * request ends the connection; every value is bounded by TR_VALUE_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/tr_clnt.h"
#include "trivial-rewrite/trw.h"

static struct attr_list *trw_req, *trw_rep;
static struct resolve_reply *trw_reply;
static struct str *trw_buf;

static int
trw_connect(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	attr_reset(trw_rep);
	attr_put(trw_rep, "protocol", REWRITE_PROTOCOL);
	return attr_write(st, trw_rep);
}

static int
trw_do_rewrite(void)
{
	const char *rule = attr_get(trw_req, "rule");
	const char *addr = attr_get(trw_req, "address");

	if (rule == NULL || addr == NULL) {
		msg_warn("malformed rewrite request");
		return -1;
	}
	if (trw_rewrite(rule, addr, trw_buf) < 0) {
		msg_warn("unknown context: %s", rule);
		return -1;
	}
	if (msg_verbose)
		msg_info("rewrite_proto: %s %s -> %s", rule, addr,
		    str_ptr(trw_buf));
	attr_put_long(trw_rep, "flags", 0);
	attr_put(trw_rep, "address", str_ptr(trw_buf));
	return 0;
}

static int
trw_do_resolve(void)
{
	const char *sender = attr_get(trw_req, "sender");
	const char *addr = attr_get(trw_req, "address");

	if (sender == NULL || addr == NULL) {
		msg_warn("malformed resolve request");
		return -1;
	}
	trw_resolve(sender, addr, trw_reply);
	if (msg_verbose)
		msg_info("resolve_proto: %s -> (`%s' `%s' `%s' `%d')", addr,
		    str_ptr(trw_reply->transport), str_ptr(trw_reply->nexthop),
		    str_ptr(trw_reply->recipient), trw_reply->flags);
	attr_put_long(trw_rep, "flags", trw_reply->flags);
	attr_put(trw_rep, "transport", str_ptr(trw_reply->transport));
	attr_put(trw_rep, "nexthop", str_ptr(trw_reply->nexthop));
	attr_put(trw_rep, "recipient", str_ptr(trw_reply->recipient));
	return 0;
}

/* One request; -1 ends the connection (EOF, error, bad request). */
static int
trw_request(struct stream *st, const char *service, char **argv)
{
	const char *request;
	int rc;

	(void)service;
	(void)argv;
	if (attr_read(st, trw_req, TR_VALUE_MAX) < 0)
		return -1;
	attr_reset(trw_rep);
	if ((request = attr_get(trw_req, "request")) == NULL) {
		msg_warn("missing request type");
		return -1;
	}
	if (strcmp(request, "rewrite") == 0) {
		rc = trw_do_rewrite();
	} else if (strcmp(request, "resolve") == 0) {
		rc = trw_do_resolve();
	} else {
		msg_warn("bad request: \"%s\"", request);
		return -1;
	}
	if (rc < 0)
		return -1;
	return attr_write(st, trw_rep);
}

/* Tables are opened as root, before the jail, as Postfix does. */
static void
trw_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	trw_req = attr_new();
	trw_rep = attr_new();
	trw_reply = resolve_reply_new();
	trw_buf = str_new(100);
	trw_resolve_init();
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_MULTI,
		.request = trw_request,
		.connect = trw_connect,
		.pre_jail = trw_pre_jail,
	};

	return daemon_main(argc, argv, &spec);
}
