/*
 * deliver - the delivery protocol and the agent-side result functions; the
 * contract is in deliver.h.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "lib/mail/attr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"

/* The request attributes, in the order they travel. */
enum {
	RQ_FLAGS,
	RQ_QUEUE_NAME,
	RQ_QUEUE_ID,
	RQ_DATA_OFFSET,
	RQ_DATA_SIZE,
	RQ_NEXTHOP,
	RQ_ENCODING,
	RQ_SENDOPTS,
	RQ_SENDER,
	RQ_ENVID,
	RQ_RET,
	RQ_ARRIVAL,
	RQ_ACTIVE,
	RQ_CLIENT_NAME,
	RQ_CLIENT_ADDR,
	RQ_CLIENT_PORT,
	RQ_PROTOCOL_NAME,
	RQ_HELO_NAME,
	RQ_SASL_METHOD,
	RQ_SASL_USERNAME,
	RQ_SASL_SENDER,
	RQ_LOG_IDENT,
	RQ_REWRITE_CONTEXT,
	RQ_RCPT_COUNT,
	RQ_COUNT
};

static const char *const rq_names[RQ_COUNT] = { "flags", "queue_name",
	"queue_id", "data_offset", "data_size", "nexthop", "encoding",
	"sendopts", "sender", "envid", "ret", "arrival_time", "active_time",
	"client_name", "client_addr", "client_port", "protocol_name",
	"helo_name", "sasl_method", "sasl_username", "sasl_sender", "log_ident",
	"rewrite_context", "recipient_count" };

enum { RC_ORIG, RC_ADDR, RC_OFFSET, RC_DSN_ORCPT, RC_NOTIFY, RC_COUNT };

static const char *const rc_names[RC_COUNT] = { "original_recipient",
	"recipient", "offset", "dsn_orig_rcpt", "notify_flags" };

struct deliver_request *
deliver_request_new(void)
{
	struct deliver_request *req = xcalloc(1, sizeof(*req));

	req->queue_name = str_new(0);
	req->queue_id = str_new(0);
	req->nexthop = str_new(0);
	req->encoding = str_new(0);
	req->sender = str_new(0);
	req->envid = str_new(0);
	req->client_name = str_new(0);
	req->client_addr = str_new(0);
	req->client_port = str_new(0);
	req->protocol_name = str_new(0);
	req->helo_name = str_new(0);
	req->sasl_method = str_new(0);
	req->sasl_username = str_new(0);
	req->sasl_sender = str_new(0);
	req->log_ident = str_new(0);
	req->rewrite_context = str_new(0);
	req->qfd = -1;
	return req;
}

static void
rcpt_clear(struct deliver_rcpt *r)
{
	str_free(r->orig_rcpt);
	str_free(r->address);
	str_free(r->dsn_orcpt);
}

struct deliver_request *
deliver_request_free(struct deliver_request *req)
{
	if (req == NULL)
		return NULL;
	for (size_t i = 0; i < req->rcpt_count; i++)
		rcpt_clear(&req->rcpt[i]);
	free(req->rcpt);
	str_free(req->queue_name);
	str_free(req->queue_id);
	str_free(req->nexthop);
	str_free(req->encoding);
	str_free(req->sender);
	str_free(req->envid);
	str_free(req->client_name);
	str_free(req->client_addr);
	str_free(req->client_port);
	str_free(req->protocol_name);
	str_free(req->helo_name);
	str_free(req->sasl_method);
	str_free(req->sasl_username);
	str_free(req->sasl_sender);
	str_free(req->log_ident);
	str_free(req->rewrite_context);
	if (req->qfd >= 0)
		close(req->qfd);
	free(req);
	return NULL;
}

struct deliver_rcpt *
deliver_rcpt_add(struct deliver_request *req, const char *orig,
    const char *addr, long offset, const char *dsn_orcpt, int notify)
{
	struct deliver_rcpt *r;

	if (req->rcpt_count == req->rcpt_alloc) {
		req->rcpt_alloc = req->rcpt_alloc ? 2 * req->rcpt_alloc : 8;
		req->rcpt = xreallocarray(req->rcpt, req->rcpt_alloc,
		    sizeof(*req->rcpt));
	}
	r = &req->rcpt[req->rcpt_count++];
	r->orig_rcpt = str_new(0);
	str_set(r->orig_rcpt, orig ? orig : "");
	r->address = str_new(0);
	str_set(r->address, addr);
	r->offset = offset;
	r->dsn_orcpt = str_new(0);
	str_set(r->dsn_orcpt, dsn_orcpt ? dsn_orcpt : "");
	r->notify = notify;
	return r;
}

static void
put_tv(struct attr_list *al, const char *name, const struct timeval *tv)
{
	struct str *s = str_new(0);

	str_fmt(s, "%ld %ld", (long)tv->tv_sec, (long)tv->tv_usec);
	attr_put(al, name, str_ptr(s));
	str_free(s);
}

int
deliver_request_send(struct stream *st, const struct deliver_request *req,
    struct str *why)
{
	struct attr_list *al = attr_new();
	int ret = -1;

	if (attr_read(st, al, ATTR_NAME_MAX) < 0) {
		str_set(why, "no greeting from the delivery agent");
		goto out;
	}
	if (!attr_expect(al, "protocol", DELIVER_PROTOCOL)) {
		str_set(why, "unexpected greeting from the delivery agent");
		goto out;
	}
	attr_reset(al);
	attr_put_long(al, rq_names[RQ_FLAGS], req->flags);
	attr_put(al, rq_names[RQ_QUEUE_NAME], str_ptr(req->queue_name));
	attr_put(al, rq_names[RQ_QUEUE_ID], str_ptr(req->queue_id));
	attr_put_long(al, rq_names[RQ_DATA_OFFSET], req->data_offset);
	attr_put_long(al, rq_names[RQ_DATA_SIZE], req->data_size);
	attr_put(al, rq_names[RQ_NEXTHOP], str_ptr(req->nexthop));
	attr_put(al, rq_names[RQ_ENCODING], str_ptr(req->encoding));
	attr_put_long(al, rq_names[RQ_SENDOPTS], req->sendopts);
	attr_put(al, rq_names[RQ_SENDER], str_ptr(req->sender));
	attr_put(al, rq_names[RQ_ENVID], str_ptr(req->envid));
	attr_put_long(al, rq_names[RQ_RET], req->ret);
	put_tv(al, rq_names[RQ_ARRIVAL], &req->arrival);
	put_tv(al, rq_names[RQ_ACTIVE], &req->active);
	attr_put(al, rq_names[RQ_CLIENT_NAME], str_ptr(req->client_name));
	attr_put(al, rq_names[RQ_CLIENT_ADDR], str_ptr(req->client_addr));
	attr_put(al, rq_names[RQ_CLIENT_PORT], str_ptr(req->client_port));
	attr_put(al, rq_names[RQ_PROTOCOL_NAME], str_ptr(req->protocol_name));
	attr_put(al, rq_names[RQ_HELO_NAME], str_ptr(req->helo_name));
	attr_put(al, rq_names[RQ_SASL_METHOD], str_ptr(req->sasl_method));
	attr_put(al, rq_names[RQ_SASL_USERNAME], str_ptr(req->sasl_username));
	attr_put(al, rq_names[RQ_SASL_SENDER], str_ptr(req->sasl_sender));
	attr_put(al, rq_names[RQ_LOG_IDENT], str_ptr(req->log_ident));
	attr_put(al, rq_names[RQ_REWRITE_CONTEXT],
	    str_ptr(req->rewrite_context));
	attr_put_long(al, rq_names[RQ_RCPT_COUNT], (long)req->rcpt_count);
	if (attr_write(st, al) < 0)
		goto write_error;
	for (size_t i = 0; i < req->rcpt_count; i++) {
		const struct deliver_rcpt *r = &req->rcpt[i];

		attr_reset(al);
		attr_put(al, rc_names[RC_ORIG], str_ptr(r->orig_rcpt));
		attr_put(al, rc_names[RC_ADDR], str_ptr(r->address));
		attr_put_long(al, rc_names[RC_OFFSET], r->offset);
		attr_put(al, rc_names[RC_DSN_ORCPT], str_ptr(r->dsn_orcpt));
		attr_put_long(al, rc_names[RC_NOTIFY], r->notify);
		if (attr_write(st, al) < 0)
			goto write_error;
	}
	ret = 0;
	goto out;
write_error:
	str_set(why, "error sending the delivery request");
out:
	attr_free(al);
	return ret;
}

int
deliver_reply_read(struct stream *st, int *status, struct str *why)
{
	struct attr_list *al = attr_new();
	long n;
	int ret = -1;

	if (attr_read(st, al, 32) < 0) {
		str_set(why, "no reply from the delivery agent");
		goto out;
	}
	if (attr_count(al) != 1 || strcmp(attr_name(al, 0), "status") != 0 ||
	    attr_get_long(al, "status", &n) < 0 || n < 0 || n > INT_MAX) {
		str_set(why, "malformed reply from the delivery agent");
		goto out;
	}
	*status = (int)n;
	ret = 0;
out:
	attr_free(al);
	return ret;
}

/* Exactly the expected names, in order. */
static bool
names_ok(const struct attr_list *al, const char *const *names, size_t n)
{
	if (attr_count(al) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(attr_name(al, i), names[i]) != 0)
			return false;
	return true;
}

static int
get_num(const struct attr_list *al, const char *name, long min, long max,
    long *out)
{
	long n;

	if (attr_get_long(al, name, &n) < 0 || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "SEC USEC", both decimal, USEC below a million. */
static int
parse_tv(const char *s, struct timeval *tv)
{
	long sec = 0, usec = 0;
	const char *p = s;
	int digits;

	for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits >= 12)
			return -1;
		sec = sec * 10 + (*p - '0');
	}
	if (digits == 0 || *p++ != ' ')
		return -1;
	for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits >= 6)
			return -1;
		usec = usec * 10 + (*p - '0');
	}
	if (digits == 0 || *p != 0)
		return -1;
	tv->tv_sec = sec;
	tv->tv_usec = usec;
	return 0;
}

/* Recipient records live in the envelope or after the content (X). */
static bool
offset_ok(const struct deliver_request *req, long offset)
{
	return offset > 0 && (offset < req->data_offset ||
				 offset - req->data_offset >= req->data_size);
}

int
deliver_request_read(struct stream *st, struct deliver_request *req,
    struct str *why)
{
	struct attr_list *al = attr_new();
	long n, count;
	int ret = -1;

	attr_put(al, "protocol", DELIVER_PROTOCOL);
	if (attr_write(st, al) < 0) {
		str_set(why, "error sending the greeting");
		goto out;
	}
	if (attr_read(st, al, DELIVER_VALUE_MAX) < 0) {
		str_set(why, "no delivery request, or a malformed one");
		goto out;
	}
	gettimeofday(&req->handoff, NULL);
	if (!names_ok(al, rq_names, RQ_COUNT)) {
		str_set(why, "malformed delivery request: wrong attributes");
		goto out;
	}
	if (get_num(al, rq_names[RQ_FLAGS], 0, INT_MAX, &n) < 0)
		goto bad_number;
	req->flags = (int)n;
	str_set(req->queue_name, attr_value(al, RQ_QUEUE_NAME));
	str_set(req->queue_id, attr_value(al, RQ_QUEUE_ID));
	if (!queue_name_ok(str_ptr(req->queue_name)) ||
	    !queue_id_ok(str_ptr(req->queue_id))) {
		str_set(why,
		    "malformed delivery request: bad queue name or ID");
		goto out;
	}
	if (get_num(al, rq_names[RQ_DATA_OFFSET], 1, LONG_MAX,
		&req->data_offset) < 0 ||
	    get_num(al, rq_names[RQ_DATA_SIZE], 0, LONG_MAX, &req->data_size) <
		0)
		goto bad_number;
	str_set(req->nexthop, attr_value(al, RQ_NEXTHOP));
	str_set(req->encoding, attr_value(al, RQ_ENCODING));
	if (get_num(al, rq_names[RQ_SENDOPTS], 0, INT_MAX, &n) < 0)
		goto bad_number;
	req->sendopts = (int)n;
	str_set(req->sender, attr_value(al, RQ_SENDER));
	str_set(req->envid, attr_value(al, RQ_ENVID));
	if (get_num(al, rq_names[RQ_RET], 0, INT_MAX, &n) < 0)
		goto bad_number;
	req->ret = (int)n;
	if (parse_tv(attr_value(al, RQ_ARRIVAL), &req->arrival) < 0 ||
	    parse_tv(attr_value(al, RQ_ACTIVE), &req->active) < 0) {
		str_set(why, "malformed delivery request: bad time");
		goto out;
	}
	str_set(req->client_name, attr_value(al, RQ_CLIENT_NAME));
	str_set(req->client_addr, attr_value(al, RQ_CLIENT_ADDR));
	str_set(req->client_port, attr_value(al, RQ_CLIENT_PORT));
	str_set(req->protocol_name, attr_value(al, RQ_PROTOCOL_NAME));
	str_set(req->helo_name, attr_value(al, RQ_HELO_NAME));
	str_set(req->sasl_method, attr_value(al, RQ_SASL_METHOD));
	str_set(req->sasl_username, attr_value(al, RQ_SASL_USERNAME));
	str_set(req->sasl_sender, attr_value(al, RQ_SASL_SENDER));
	str_set(req->log_ident, attr_value(al, RQ_LOG_IDENT));
	str_set(req->rewrite_context, attr_value(al, RQ_REWRITE_CONTEXT));
	if (get_num(al, rq_names[RQ_RCPT_COUNT], 1, DELIVER_RCPT_MAX, &count) <
	    0)
		goto bad_number;
	for (long i = 0; i < count; i++) {
		long offset, notify;

		if (attr_read(st, al, DELIVER_VALUE_MAX) < 0) {
			str_set(why, "malformed delivery request: recipient "
				     "missing or malformed");
			goto out;
		}
		if (!names_ok(al, rc_names, RC_COUNT)) {
			str_set(why, "malformed delivery request: wrong "
				     "recipient attributes");
			goto out;
		}
		if (get_num(al, rc_names[RC_OFFSET], 1, LONG_MAX, &offset) <
			0 ||
		    !offset_ok(req, offset) ||
		    get_num(al, rc_names[RC_NOTIFY], 0, 15, &notify) < 0) {
			str_set(why, "malformed delivery request: bad "
				     "recipient offset or notify flags");
			goto out;
		}
		deliver_rcpt_add(req, attr_value(al, RC_ORIG),
		    attr_value(al, RC_ADDR), offset,
		    attr_value(al, RC_DSN_ORCPT), (int)notify);
	}
	ret = 0;
	goto out;
bad_number:
	str_set(why, "malformed delivery request: bad number");
out:
	attr_free(al);
	return ret;
}

int
deliver_reply_send(struct stream *st, const struct deliver_request *req)
{
	struct attr_list *al = attr_new();
	int ret;

	attr_put_long(al, "status", req->status);
	ret = attr_write(st, al);
	attr_free(al);
	return ret;
}

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
	if (!offset_ok(req, r->offset) ||
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
