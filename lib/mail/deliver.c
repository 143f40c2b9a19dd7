/*
 * deliver - the delivery protocol: requests from qmgr to an agent and the
 * reply (deliver.h); the agent's results are in deliver_result.c.
 */
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/str.h"
#include "lib/mail/attr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/queue.h"

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
bool
deliver_rcpt_offset_ok(const struct deliver_request *req, long offset)
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
		    !deliver_rcpt_offset_ok(req, offset) ||
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
