/*
 * deliver_serve - one delivery request, for the agents that read the
 * message (see deliver_serve.h).
 */
#include <fcntl.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/deliver.h"
#include "lib/mail/deliver_serve.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"

void
deliver_serve(struct stream *st, const char *relay, deliver_serve_fn fn,
    void *ctx)
{
	struct deliver_request *req = deliver_request_new();
	struct str *why = str_new(0), *path = str_new(0);
	int qfd = -1;

	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (deliver_request_read(st, req, why) < 0) {
		msg_warn("%s", str_ptr(why));
		goto out;
	}
	queue_path(path, str_ptr(req->queue_name), str_ptr(req->queue_id));
	qfd = safe_open(str_ptr(path), O_RDONLY, 0, NULL, -1, -1, why);
	if (qfd < 0 || fn(req, qfd, ctx, why) < 0) {
		msg_warn("%s: cannot read queue file %s: %s",
		    str_ptr(req->queue_id), str_ptr(path), str_ptr(why));
		for (size_t i = 0; i < req->rcpt_count; i++)
			(void)deliver_defer(req, &req->rcpt[i], relay, "4.3.0",
			    "cannot read queue file");
	}
	(void)deliver_reply_send(st, req);
out:
	if (qfd >= 0)
		close(qfd);
	deliver_request_free(req);
	str_free(why);
	str_free(path);
}
