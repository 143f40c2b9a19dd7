/*
 * error - the error and retry delivery agents (Postfix's error(8)): every
 * recipient of a request bounces (service "error") or is deferred
 * (service "retry", the same program under another master.cf name).
 * Runs as mail_owner under master, one request per process at a time,
 * chroot allowed.  Reads the next-hop text ("error:5.1.1 no such user"):
 * an optional X.Y.Z status (default 5.0.0 for error, 4.0.0 for retry),
 * then the reason.  Talks to qmgr with lib/mail/deliver.h; writes the
 * bounce/ and defer/ logs and crosses recipients off in the queue file.
 */
#include <string.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/deliver.h"
#include "lib/mail/params.h"

/*
 * Split "X.Y.Z text" into a status and a text, Postfix's dsn_split: a
 * missing or malformed status takes the default; the class is forced to
 * the default's (an error never defers, a retry never bounces).
 */
static void
error_split(const char *nexthop, const char *def, struct str *dsn,
    struct str *text)
{
	const char *p = nexthop;
	size_t n;

	str_set(dsn, def);
	if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
		const char *q = p + 2;

		for (n = 0; q[n] >= '0' && q[n] <= '9'; n++)
			;
		if (n >= 1 && n <= 3 && q[n] == '.') {
			const char *r = q + n + 1;
			size_t m;

			for (m = 0; r[m] >= '0' && r[m] <= '9'; m++)
				;
			if (m >= 1 && m <= 3 &&
			    (r[m] == 0 || r[m] == ' ' || r[m] == '\t')) {
				str_setn(dsn, p, (size_t)(r + m - p));
				str_ptr(dsn)[0] = def[0];
				p = r + m;
			}
		}
	}
	while (*p == ' ' || *p == '\t')
		p++;
	str_set(text, *p ? p : "unknown reason");
}

static void
error_service(struct stream *st, const char *service, char **argv)
{
	struct deliver_request *req = deliver_request_new();
	struct str *why = str_new(0), *dsn = str_new(0), *text = str_new(0);
	bool retry;

	(void)argv;
	if (strcmp(service, "error") != 0 && strcmp(service, "retry") != 0)
		msg_fatal("unsupported service name: %s", service);
	retry = strcmp(service, "retry") == 0;
	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (deliver_request_read(st, req, why) < 0) {
		msg_warn("%s", str_ptr(why));
		goto out;
	}
	error_split(str_ptr(req->nexthop), retry ? "4.0.0" : "5.0.0", dsn,
	    text);
	for (size_t i = 0; i < req->rcpt_count; i++) {
		if (retry)
			(void)deliver_defer(req, &req->rcpt[i], "none",
			    str_ptr(dsn), "%s", str_ptr(text));
		else
			(void)deliver_bounce(req, &req->rcpt[i], "none",
			    str_ptr(dsn), "%s", str_ptr(text));
	}
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
		.service = error_service,
	};
	return daemon_main(argc, argv, &spec);
}
