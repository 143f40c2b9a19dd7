/*
 * deliver_result - the agent-side result functions of the delivery
 * protocol (deliver.h): the log line, the bounce/defer/trace logs, and
 * crossing a recipient off in the queue file.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"

void
deliver_conn_done(struct deliver_request *req)
{
	gettimeofday(&req->conn_done, NULL);
}

void
deliver_delay_fmt(struct str *out, long sec, long usec, int maxdig)
{
	int64_t total, unit, rounded, scale;
	int dec;

	if (sec < 0 || (sec == 0 && usec < 0))
		sec = usec = 0;
	total = (int64_t)sec * 1000000 + usec;
	maxdig = maxdig < 0 ? 0 : maxdig > 6 ? 6 : maxdig;

	/* Two significant digits; from 10 s on, whole seconds. */
	if (total >= 10000000)
		dec = 0;
	else if (total >= 1000000)
		dec = 1;
	else {
		int64_t lim = 100000;

		for (dec = 2; total < lim && dec < 6; dec++)
			lim /= 10;
	}
	if (dec > maxdig)
		dec = maxdig;
	for (unit = 1000000, scale = 1; scale < 1000000 && dec-- > 0;
	     scale *= 10)
		unit /= 10;
	rounded = (total + unit / 2) / unit;
	str_catfmt(out, "%lld", (long long)(rounded / scale));
	if (scale > 1) {
		struct str *frac = str_new(0);
		size_t len;
		int width = 0;

		for (int64_t s = scale; s > 1; s /= 10)
			width++;
		str_fmt(frac, "%0*lld", width, (long long)(rounded % scale));
		len = str_len(frac);
		while (len > 0 && str_ptr(frac)[len - 1] == '0')
			len--;
		str_truncate(frac, len);
		if (len > 0)
			str_catfmt(out, ".%s", str_ptr(frac));
		str_free(frac);
	}
}

static void
tv_diff(const struct timeval *later, const struct timeval *earlier, long *sec,
    long *usec)
{
	long s = (long)(later->tv_sec - earlier->tv_sec);
	long u = (long)(later->tv_usec - earlier->tv_usec);

	if (u < 0) {
		u += 1000000;
		s -= 1;
	}
	if (s < 0)
		s = u = 0;
	*sec = s;
	*usec = u;
}

static void
cat_delay(struct str *out, const struct timeval *later,
    const struct timeval *earlier)
{
	long sec, usec;

	tv_diff(later, earlier, &sec, &usec);
	deliver_delay_fmt(out, sec, usec, var_delay_logging_resolution_limit);
}

/* Postfix's delivery log line (its log_adhoc format). */
static void
log_result(const struct deliver_request *req, const struct deliver_rcpt *r,
    const char *relay, const char *dsn, const char *status, const char *text)
{
	struct str *to = str_new(0), *orig = str_new(0), *line = str_new(0);
	struct timeval now;
	const struct timeval *handoff = &req->handoff;
	const struct timeval *conn = &req->conn_done;

	gettimeofday(&now, NULL);
	if (conn->tv_sec == 0 && conn->tv_usec == 0)
		conn = handoff;
	addr_externalize(to, str_ptr(r->address));
	str_fmt(line, "%s: to=<%s>", str_ptr(req->queue_id), str_ptr(to));
	if (str_len(r->orig_rcpt) > 0 &&
	    strcasecmp(str_ptr(r->orig_rcpt), str_ptr(r->address)) != 0) {
		addr_externalize(orig, str_ptr(r->orig_rcpt));
		str_catfmt(line, ", orig_to=<%s>", str_ptr(orig));
	}
	str_catfmt(line, ", relay=%s", relay ? relay : "none");
	if (req->conn_use > 1)
		str_catfmt(line, ", conn_use=%d", req->conn_use);
	str_cat(line, ", delay=");
	cat_delay(line, &now, &req->arrival);
	str_cat(line, ", delays=");
	cat_delay(line, &req->active, &req->arrival);
	str_catc(line, '/');
	cat_delay(line, handoff, &req->active);
	str_catc(line, '/');
	cat_delay(line, conn, handoff);
	str_catc(line, '/');
	cat_delay(line, &now, conn);
	str_catfmt(line, ", dsn=%s, status=%s (%s)", dsn, status, text);
	msg_info("%s", str_ptr(line));
	str_free(to);
	str_free(orig);
	str_free(line);
}

static int
append_log(const struct deliver_request *req, const struct deliver_rcpt *r,
    const char *logq, const char *dsn, const char *action, const char *text,
    const char *relay, const struct deliver_diag *diag)
{
	struct rcpt_log_entry ent;
	struct str *why = str_new(0);
	int ret;

	struct str *mta = str_new(0), *reason = str_new(0);
	const char *br;

	/* Postfix's trace entries name the agent (deliver.h). */
	if (strcmp(logq, QUEUE_TRACE) == 0 && relay &&
	    strcmp(relay, "none") != 0)
		str_fmt(reason, "delivery via %s: ", relay);
	str_cat(reason, text);
	if (relay && (br = strchr(relay, '[')) != NULL)
		str_setn(mta, relay, (size_t)(br - relay));
	memset(&ent, 0, sizeof(ent));
	ent.address = str_ptr(r->address);
	ent.orig_address = str_ptr(r->orig_rcpt);
	ent.dsn_orcpt = str_ptr(r->dsn_orcpt);
	ent.offset = r->offset;
	ent.notify_flags = r->notify;
	ent.status = dsn;
	ent.action = action;
	ent.reason = str_ptr(reason);
	ent.mta = str_ptr(mta);
	if (diag != NULL && diag->dtype != NULL) {
		ent.dtype = diag->dtype;
		ent.dtext = diag->dtext != NULL ? diag->dtext : "";
	}
	ent.time = (long)time(NULL);
	ret = rcpt_log_append(logq, str_ptr(req->queue_id), &ent, why);
	if (ret < 0)
		msg_warn("%s: cannot append to %s log: %s",
		    str_ptr(req->queue_id), logq, str_ptr(why));
	str_free(why);
	str_free(mta);
	str_free(reason);
	return ret;
}

/*
 * Cross the recipient off: its R record's type byte becomes D.  The offset
 * must point at an R (or already D) record in the envelope.  No fsync (as
 * Postfix's deliver_completed): the outcome it stands for is on disk
 * already (mailbox fsynced, bounce/trace log fsynced), so a mark that a
 * system crash loses only means that recipient is delivered again.
 */
static int
mark_done(struct deliver_request *req, const struct deliver_rcpt *r)
{
	struct str *path = NULL, *why = NULL;
	unsigned char type;
	int ret = -1;

	if (req->qfd < 0) {
		path = str_new(0);
		why = str_new(0);
		queue_path(path, str_ptr(req->queue_name),
		    str_ptr(req->queue_id));
		req->qfd =
		    safe_open(str_ptr(path), O_RDWR, 0, NULL, -1, -1, why);
		if (req->qfd < 0) {
			msg_warn("%s: cannot update queue file %s: %s",
			    str_ptr(req->queue_id), str_ptr(path),
			    str_ptr(why));
			goto out;
		}
	}
	if (!deliver_rcpt_offset_ok(req, r->offset) ||
	    pread(req->qfd, &type, 1, r->offset) != 1 ||
	    (type != REC_TYPE_RCPT && type != REC_TYPE_DONE)) {
		msg_warn("%s: no recipient record at offset %ld",
		    str_ptr(req->queue_id), r->offset);
		goto out;
	}
	if (req->flags & DELIVER_FLAG_PASSED) {
		ret = 0; /* the agent that passed it on marks it */
		goto out;
	}
	type = REC_TYPE_DONE;
	if (pwrite(req->qfd, &type, 1, r->offset) != 1) {
		msg_warn("%s: cannot update queue file: %m",
		    str_ptr(req->queue_id));
		goto out;
	}
	ret = 0;
out:
	str_free(path);
	str_free(why);
	return ret;
}

int
deliver_mark_done(struct deliver_request *req, struct deliver_rcpt *r)
{
	if (mark_done(req, r) < 0) {
		req->status |= DELIVER_STAT_DEFER;
		return -1;
	}
	return 0;
}

/*
 * A verification (deliver.h): what would happen goes to trace/ only, the
 * recipient is done either way.
 */
static int
result_verify(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, bool ok, const char *text)
{
	const char *action = ok ? "deliverable" : "undeliverable";

	if (append_log(req, r, QUEUE_TRACE, dsn, action, text, relay, NULL) <
	    0) {
		req->status |= DELIVER_STAT_DEFER;
		log_result(req, r, relay, "4.3.0", "deferred",
		    "bounce or trace service failure");
		return -1;
	}
	log_result(req, r, relay, dsn, action, text);
	return deliver_mark_done(req, r);
}

/*
 * List a deferred recipient's message under its domain with the fast
 * flush service (ETRN, postqueue -s), as Postfix's defer_append().  The
 * service decides whether the domain is in fast_flush_domains; a failure
 * is only a warning: the message is deferred either way.
 */
static void
flush_register(const struct deliver_request *req, const struct deliver_rcpt *r)
{
	const char *domain = strrchr(str_ptr(r->address), '@');

	if (domain == NULL || *++domain == 0)
		return;
	switch (flush_clnt_add(domain, str_ptr(req->queue_id))) {
	case FLUSH_STAT_OK:
	case FLUSH_STAT_DENY:
		break;
	default:
		msg_warn("%s: %s service failure", str_ptr(req->queue_id),
		    var_flush_service_name);
	}
}

static int
result_defer(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const char *text,
    const struct deliver_diag *diag)
{
	int ret;

	req->status |= DELIVER_STAT_DEFER;
	ret =
	    append_log(req, r, QUEUE_DEFER, dsn, "delayed", text, relay, diag);
	log_result(req, r, relay, dsn, "deferred", text);
	if (ret == 0)
		flush_register(req, r);
	return ret;
}

/* A DSN status with its class changed to 4 (soft_bounce). */
static void
soft_dsn(struct str *out, const char *dsn)
{
	str_set(out, dsn);
	if (str_len(out) > 0 && str_ptr(out)[0] == '5')
		str_ptr(out)[0] = '4';
}

static int
defer_text(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *text)
{
	if (req->flags & DELIVER_FLAG_VERIFY)
		return result_verify(req, r, relay, dsn, false, text);
	return result_defer(req, r, relay, dsn, text, diag);
}

static int
bounce_text(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *text)
{
	struct str *soft;
	int ret;

	if (req->flags & DELIVER_FLAG_VERIFY)
		return result_verify(req, r, relay, dsn, false, text);
	if (var_soft_bounce) {
		soft = str_new(0);
		soft_dsn(soft, dsn);
		ret = result_defer(req, r, relay, str_ptr(soft), text, diag);
		str_free(soft);
		return ret;
	}
	if (append_log(req, r, QUEUE_BOUNCE, dsn, "failed", text, relay, diag) <
	    0) {
		result_defer(req, r, relay, "4.3.0",
		    "bounce or trace service failure", NULL);
		return -1;
	}
	log_result(req, r, relay, dsn, "bounced", text);
	return deliver_mark_done(req, r);
}

/*
 * A success notice is due when the sender asked for one (NOTIFY=SUCCESS)
 * and no server took that duty over, or when every delivery is recorded
 * (sendmail -v).
 */
static int
sent_text(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *text)
{
	bool notify = (r->notify & DSN_NOTIFY_SUCCESS) &&
		      !(diag != NULL && diag->notify_passed);
	const char *action = "delivered";

	if (req->flags & DELIVER_FLAG_VERIFY)
		return result_verify(req, r, relay, dsn, true, text);
	if (diag != NULL && diag->action != NULL)
		action = diag->action;
	if ((notify || (req->flags & DELIVER_FLAG_RECORD_SUCCESS)) &&
	    append_log(req, r, QUEUE_TRACE, dsn, action, text, relay, diag) <
		0) {
		result_defer(req, r, relay, "4.3.0",
		    "bounce or trace service failure", NULL);
		return -1;
	}
	log_result(req, r, relay, dsn, "sent", text);
	return deliver_mark_done(req, r);
}

/* The six public forms: format the text, then one of the above. */
#define DELIVER_FMT(call)                                                      \
	do {                                                                   \
		struct str *text = str_new(0);                                 \
		va_list ap;                                                    \
		int ret;                                                       \
                                                                               \
		va_start(ap, fmt);                                             \
		str_vcatfmt(text, fmt, ap);                                    \
		va_end(ap);                                                    \
		ret = call(req, r, relay, dsn, diag, str_ptr(text));           \
		str_free(text);                                                \
		return ret;                                                    \
	} while (0)

int
deliver_defer(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const char *fmt, ...)
{
	const struct deliver_diag *diag = NULL;

	DELIVER_FMT(defer_text);
}

int
deliver_defer_diag(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *fmt, ...)
{
	DELIVER_FMT(defer_text);
}

int
deliver_bounce(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const char *fmt, ...)
{
	const struct deliver_diag *diag = NULL;

	DELIVER_FMT(bounce_text);
}

int
deliver_bounce_diag(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *fmt, ...)
{
	DELIVER_FMT(bounce_text);
}

int
deliver_sent(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const char *fmt, ...)
{
	const struct deliver_diag *diag = NULL;

	DELIVER_FMT(sent_text);
}

int
deliver_sent_diag(struct deliver_request *req, struct deliver_rcpt *r,
    const char *relay, const char *dsn, const struct deliver_diag *diag,
    const char *fmt, ...)
{
	DELIVER_FMT(sent_text);
}
