/*
 * discard - the discard delivery agent (Postfix's discard(8)): reports
 * every recipient of a request as delivered without delivering anything.
 * Runs as mail_owner under master, one request per process at a time,
 * chroot allowed.  Reads the next-hop text ("discard:2.0.0 silenced"): an
 * optional X.Y.Z status (2.0.0), then the text logged as the reason (the
 * next hop itself, or "discarded" when there is none), as Postfix logs
 * "status=sent (example.com)".  Talks to qmgr with lib/mail/deliver.h and
 * crosses recipients off in the queue file.
 */
#include <string.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/params.h"

/* "2.X.Y text": a leading status of class 2 is taken, anything else kept. */
static void
discard_split(const char *nexthop, struct str *dsn, struct str *text)
{
	const char *p = nexthop;
	size_t n = 0, m = 0;

	str_set(dsn, "2.0.0");
	if (p[0] == '2' && p[1] == '.') {
		for (n = 0; p[2 + n] >= '0' && p[2 + n] <= '9'; n++)
			;
		if (n >= 1 && n <= 3 && p[2 + n] == '.')
			for (m = 0; p[3 + n + m] >= '0' && p[3 + n + m] <= '9';
			     m++)
				;
		if (m >= 1 && m <= 3 &&
		    (p[3 + n + m] == 0 || p[3 + n + m] == ' ')) {
			str_setn(dsn, p, 3 + n + m);
			p += 3 + n + m;
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	str_set(text, *p ? p : "discarded");
}

static void
discard_service(struct stream *st, const char *service, char **argv)
{
	struct deliver_request *req = deliver_request_new();
	struct str *why = str_new(0), *dsn = str_new(0), *text = str_new(0);

	(void)service;
	(void)argv;
	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (deliver_request_read(st, req, why) < 0) {
		msg_warn("%s", str_ptr(why));
		goto out;
	}
	discard_split(str_ptr(req->nexthop), dsn, text);
	for (size_t i = 0; i < req->rcpt_count; i++)
		(void)deliver_sent(req, &req->rcpt[i], "none", str_ptr(dsn),
		    "%s", str_ptr(text));
	(void)deliver_reply_send(st, req);
out:
	deliver_request_free(req);
	str_free(why);
	str_free(dsn);
	str_free(text);
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = discard_service,
	};
	return daemon_main(argc, argv, &spec);
}
