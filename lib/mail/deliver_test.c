/*
 * deliver_test - the delivery protocol (round trip, every reject path of
 * the agent-side reader), Postfix's delay numbers, and the result
 * functions (log line, bounce/defer logs, marking R as D).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/stream.h"
#include "lib/util/test.h"
#include "lib/mail/attr.h"
#include "lib/mail/deliver.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/rcpt_log.h"
#include "lib/mail/record.h"

static char tmpdir[] = "/tmp/deliver_test.XXXXXX";

static void
defaults(void)
{
	var_hash_queue_names = (char *)"deferred, defer";
	var_hash_queue_depth = 1;
	var_delay_logging_resolution_limit = 2;
	var_soft_bounce = false;
}

static void
test_delay_fmt(struct test *t)
{
	static const struct {
		long sec, usec;
		int maxdig;
		const char *want;
	} cases[] = {
		{ 0, 0, 2, "0" },
		{ 0, 4000, 2, "0" },
		{ 0, 6000, 2, "0.01" },
		{ 0, 10000, 2, "0.01" },
		{ 0, 56789, 2, "0.06" },
		{ 0, 900000, 2, "0.9" },
		{ 0, 123456, 2, "0.12" },
		{ 0, 1234, 6, "0.0012" },
		{ 0, 123456, 0, "0" },
		{ 0, 700000, 0, "1" },
		{ 1, 0, 2, "1" },
		{ 1, 234000, 2, "1.2" },
		{ 9, 960000, 2, "10" },
		{ 10, 499999, 2, "10" },
		{ 62, 300000, 2, "62" },
		{ 103, 0, 2, "103" },
		{ -5, 0, 2, "0" },
	};
	struct str *s = str_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_reset(s);
		deliver_delay_fmt(s, cases[i].sec, cases[i].usec,
		    cases[i].maxdig);
		TEST_STR(t, str_ptr(s), cases[i].want);
	}
	str_free(s);
}

static struct deliver_request *
sample_request(void)
{
	struct deliver_request *req = deliver_request_new();

	req->flags = DELIVER_FLAG_RECORD_SUCCESS;
	str_set(req->queue_name, "active");
	str_set(req->queue_id, "9200EA7227E");
	req->data_offset = 300;
	req->data_size = 1234;
	str_set(req->nexthop, "example.com");
	str_set(req->encoding, "8bit");
	str_set(req->sender, "a@example.org");
	str_set(req->envid, "env 1");
	req->ret = 2;
	req->arrival.tv_sec = 1700000000;
	req->arrival.tv_usec = 5;
	req->active.tv_sec = 1700000001;
	req->active.tv_usec = 999999;
	str_set(req->client_name, "localhost");
	str_set(req->client_addr, "127.0.0.1");
	str_set(req->rewrite_context, "local");
	deliver_rcpt_add(req, "X@Example.COM", "x@example.com", 100,
	    "rfc822;X@Example.COM", DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
	deliver_rcpt_add(req, "", "y@example.com", 150, "", 0);
	return req;
}

static void
pair(struct stream **qmgr, struct stream **agent)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) {
		perror("socketpair");
		exit(2);
	}
	*qmgr = stream_open(fds[0]);
	*agent = stream_open(fds[1]);
	stream_set_timeout(*qmgr, 2000);
	stream_set_timeout(*agent, 2000);
}

static void
greet(struct stream *agent)
{
	struct attr_list *al = attr_new();

	attr_put(al, "protocol", DELIVER_PROTOCOL);
	if (attr_write(agent, al) < 0)
		exit(2);
	attr_free(al);
}

static void
test_round_trip(struct test *t)
{
	struct stream *q, *a;
	struct deliver_request *out = sample_request();
	struct deliver_request *in = deliver_request_new();
	struct str *why = str_new(0);
	int status = -1;

	pair(&q, &a);
	greet(a);
	TEST_INT(t, deliver_request_send(q, out, why), 0);
	TEST_INT(t, deliver_request_read(a, in, why), 0);
	TEST_STR(t, str_ptr(why), "");
	TEST_INT(t, in->flags, DELIVER_FLAG_RECORD_SUCCESS);
	TEST_STR(t, str_ptr(in->queue_name), "active");
	TEST_STR(t, str_ptr(in->queue_id), "9200EA7227E");
	TEST_INT(t, in->data_offset, 300);
	TEST_INT(t, in->data_size, 1234);
	TEST_STR(t, str_ptr(in->nexthop), "example.com");
	TEST_STR(t, str_ptr(in->encoding), "8bit");
	TEST_STR(t, str_ptr(in->sender), "a@example.org");
	TEST_STR(t, str_ptr(in->envid), "env 1");
	TEST_INT(t, in->ret, 2);
	TEST_INT(t, in->arrival.tv_sec, 1700000000);
	TEST_INT(t, in->arrival.tv_usec, 5);
	TEST_INT(t, in->active.tv_usec, 999999);
	TEST_STR(t, str_ptr(in->client_addr), "127.0.0.1");
	TEST_STR(t, str_ptr(in->rewrite_context), "local");
	TEST_INT(t, (long)in->rcpt_count, 2);
	if (in->rcpt_count == 2) {
		TEST_STR(t, str_ptr(in->rcpt[0].orig_rcpt), "X@Example.COM");
		TEST_STR(t, str_ptr(in->rcpt[0].address), "x@example.com");
		TEST_INT(t, in->rcpt[0].offset, 100);
		TEST_STR(t, str_ptr(in->rcpt[0].dsn_orcpt),
		    "rfc822;X@Example.COM");
		TEST_INT(t, in->rcpt[0].notify,
		    DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE);
		TEST_STR(t, str_ptr(in->rcpt[1].orig_rcpt), "");
		TEST_INT(t, in->rcpt[1].offset, 150);
	}
	in->status = DELIVER_STAT_DEFER;
	TEST_INT(t, deliver_reply_send(a, in), 0);
	/* The qmgr side still has the agent's greeting queued: skip it. */
	{
		struct attr_list *al = attr_new();

		TEST_INT(t, attr_read(q, al, 100), 0);
		attr_free(al);
	}
	TEST_INT(t, deliver_reply_read(q, &status, why), 0);
	TEST_INT(t, status, DELIVER_STAT_DEFER);

	/* A dead agent: no reply. */
	stream_close(a);
	TEST_INT(t, deliver_reply_read(q, &status, why), -1);
	TEST_STR(t, str_ptr(why), "no reply from the delivery agent");
	stream_close(q);
	deliver_request_free(out);
	deliver_request_free(in);
	str_free(why);
}

static void
test_wrong_greeting(struct test *t)
{
	struct stream *q, *a;
	struct deliver_request *out = sample_request();
	struct attr_list *al = attr_new();
	struct str *why = str_new(0);

	pair(&q, &a);
	attr_put(al, "protocol", "cleanup_protocol");
	TEST_INT(t, attr_write(a, al), 0);
	TEST_INT(t, deliver_request_send(q, out, why), -1);
	TEST_STR(t, str_ptr(why),
	    "unexpected greeting from the delivery agent");
	stream_close(a);
	TEST_INT(t, deliver_request_send(q, out, why), -1);
	TEST_STR(t, str_ptr(why), "no greeting from the delivery agent");
	stream_close(q);
	attr_free(al);
	deliver_request_free(out);
	str_free(why);
}

/* The request lists of sample_request(), as a mutable table. */
struct kv {
	const char *name, *value;
};

static const struct kv good_req[] = { { "flags", "0" },
	{ "queue_name", "active" }, { "queue_id", "9200EA7227E" },
	{ "data_offset", "300" }, { "data_size", "10" },
	{ "nexthop", "example.com" }, { "encoding", "" }, { "sendopts", "0" },
	{ "sender", "a@b" }, { "envid", "" }, { "ret", "0" },
	{ "arrival_time", "1700000000 0" }, { "active_time", "1700000001 5" },
	{ "client_name", "" }, { "client_addr", "" }, { "client_port", "" },
	{ "protocol_name", "" }, { "helo_name", "" }, { "sasl_method", "" },
	{ "sasl_username", "" }, { "sasl_sender", "" }, { "log_ident", "" },
	{ "rewrite_context", "local" }, { "recipient_count", "1" } };

static const struct kv good_rcpt[] = { { "original_recipient", "" },
	{ "recipient", "x@y" }, { "offset", "100" }, { "dsn_orig_rcpt", "" },
	{ "notify_flags", "0" } };

#define NREQ  (sizeof(good_req) / sizeof(good_req[0]))
#define NRCPT (sizeof(good_rcpt) / sizeof(good_rcpt[0]))

struct bad_case {
	const char *what;
	int list;          /* 0: request, 1: recipient, 2: no recipient */
	const char *name;  /* attribute to change */
	const char *value; /* new value, or NULL: drop it */
	const char *rename;
	const char *want;
};

static void
write_lists(struct stream *st, const struct bad_case *c)
{
	struct attr_list *al = attr_new();

	for (int list = 0; list < 2; list++) {
		const struct kv *kv = list == 0 ? good_req : good_rcpt;
		size_t n = list == 0 ? NREQ : NRCPT;

		if (list == 1 && c->list == 2)
			break;
		attr_reset(al);
		for (size_t i = 0; i < n; i++) {
			const char *name = kv[i].name, *value = kv[i].value;

			if (c->list == list && c->name != NULL &&
			    strcmp(name, c->name) == 0) {
				if (c->rename)
					name = c->rename;
				else if (c->value == NULL)
					continue;
				else
					value = c->value;
			}
			attr_put(al, name, value);
		}
		if (attr_write(st, al) < 0)
			exit(2);
	}
	attr_free(al);
}

static void
test_reject(struct test *t)
{
	static const struct bad_case cases[] = {
		{ "good", 0, NULL, NULL, NULL, "" },
		{ "missing", 0, "envid", NULL, NULL,
		    "malformed delivery request: wrong attributes" },
		{ "unknown", 0, "envid", NULL, "envidx",
		    "malformed delivery request: wrong attributes" },
		{ "flags", 0, "flags", "1x", NULL,
		    "malformed delivery request: bad number" },
		{ "negative", 0, "data_size", "-1", NULL,
		    "malformed delivery request: bad number" },
		{ "queue", 0, "queue_name", "../etc", NULL,
		    "malformed delivery request: bad queue name or ID" },
		{ "id", 0, "queue_id", "../passwd", NULL,
		    "malformed delivery request: bad queue name or ID" },
		{ "time", 0, "arrival_time", "17x 0", NULL,
		    "malformed delivery request: bad time" },
		{ "usec", 0, "active_time", "1 1000000", NULL,
		    "malformed delivery request: bad time" },
		{ "zero rcpt", 0, "recipient_count", "0", NULL,
		    "malformed delivery request: bad number" },
		{ "too many", 0, "recipient_count", "100001", NULL,
		    "malformed delivery request: bad number" },
		{ "count", 0, "recipient_count", "2", NULL,
		    "malformed delivery request: recipient missing or "
		    "malformed" },
		{ "no rcpt", 2, NULL, NULL, NULL,
		    "malformed delivery request: recipient missing or "
		    "malformed" },
		{ "rcpt attr", 1, "offset", NULL, NULL,
		    "malformed delivery request: wrong recipient attributes" },
		{ "offset", 1, "offset", "305", NULL,
		    "malformed delivery request: bad recipient offset or "
		    "notify flags" },
		{ "extracted", 1, "offset", "310", NULL, "" },
		{ "offset0", 1, "offset", "0", NULL,
		    "malformed delivery request: bad recipient offset or "
		    "notify flags" },
		{ "notify", 1, "notify_flags", "16", NULL,
		    "malformed delivery request: bad recipient offset or "
		    "notify flags" },
	};
	struct str *why = str_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stream *q, *a;
		struct deliver_request *req = deliver_request_new();
		int want = cases[i].want[0] ? -1 : 0;

		pair(&q, &a);
		write_lists(q, &cases[i]);
		if (stream_flush(q) < 0 || shutdown(stream_fd(q), SHUT_WR) < 0)
			exit(2); /* EOF after the lists */
		str_reset(why);
		if (deliver_request_read(a, req, why) != want)
			TEST_FAIL(t, "%s: got %d, want %d (%s)", cases[i].what,
			    want ? 0 : -1, want, str_ptr(why));
		TEST_STR(t, str_ptr(why), cases[i].want);
		stream_close(a);
		stream_close(q);
		deliver_request_free(req);
	}
	str_free(why);
}

/* A queue file active/ID with two R records; their offsets. */
static void
make_qfile(const char *id, long *off1, long *off2, long *data_offset)
{
	struct str *path = str_new(0);
	struct stream *st;
	int fd;

	queue_path(path, "active", id);
	fd = open(str_ptr(path), O_CREAT | O_TRUNC | O_WRONLY, 0700);
	if (fd < 0) {
		perror(str_ptr(path));
		exit(2);
	}
	st = stream_open(fd);
	rec_puts(st, REC_TYPE_VERSION, "1");
	rec_puts(st, REC_TYPE_FROM, "a@b");
	*off1 = (long)(rec_size(1) + rec_size(3));
	rec_puts(st, REC_TYPE_RCPT, "x@y");
	*off2 = *off1 + (long)rec_size(3);
	rec_puts(st, REC_TYPE_RCPT, "z@y");
	*data_offset = *off2 + (long)rec_size(3) + (long)rec_size(0);
	rec_puts(st, REC_TYPE_MESG, "");
	rec_puts(st, REC_TYPE_NORM, "hello");
	rec_puts(st, REC_TYPE_XTRA, "");
	rec_puts(st, REC_TYPE_END, "");
	stream_close(st);
	str_free(path);
}

static int
type_at(const char *id, long off)
{
	struct str *path = str_new(0);
	unsigned char c = 0;
	int fd;

	queue_path(path, "active", id);
	fd = open(str_ptr(path), O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &c, 1, off) != 1)
			c = 0;
		close(fd);
	}
	str_free(path);
	return c;
}

static struct deliver_request *
agent_request(const char *id, long off1, long off2, long data_offset)
{
	struct deliver_request *req = deliver_request_new();

	str_set(req->queue_name, "active");
	str_set(req->queue_id, id);
	req->data_offset = data_offset;
	gettimeofday(&req->arrival, NULL);
	req->active = req->handoff = req->arrival;
	deliver_rcpt_add(req, "X@Y", "x@y", off1, "", 0);
	deliver_rcpt_add(req, "", "z@y", off2, "", 0);
	return req;
}

/* The log line without its delay fields (they depend on the clock). */
static void
strip_delays(struct str *out, const char *log)
{
	const char *p = strstr(log, ", delay=");
	const char *q = p ? strstr(p, ", dsn=") : NULL;

	str_reset(out);
	if (p == NULL || q == NULL) {
		str_set(out, log);
		return;
	}
	str_catn(out, log, (size_t)(p - log));
	str_cat(out, ", delay=N, delays=N");
	str_cat(out, q);
}

static void
test_results(struct test *t)
{
	const char *id = "9200EA7227E";
	long off1, off2, doff;
	struct deliver_request *req;
	struct rcpt_log_list *list;
	struct str *line = str_new(0), *why = str_new(0);

	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);

	test_log_reset();
	TEST_INT(t,
	    deliver_sent(req, &req->rcpt[0], "none", "2.0.0", "%s",
		"discarded"),
	    0);
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7227E: to=<x@y>, relay=none, delay=N, delays=N, "
	    "dsn=2.0.0, status=sent (discarded)\n");
	TEST_TRUE(t,
	    strstr(test_log_text(), "delay=0, delays=0/0/0/0,") != NULL);
	TEST_INT(t, type_at(id, off1), 'D');
	TEST_INT(t, type_at(id, off2), 'R');
	TEST_INT(t, req->status, 0);

	test_log_reset();
	TEST_INT(t,
	    deliver_defer(req, &req->rcpt[1], NULL, "4.4.1", "%s", "try later"),
	    0);
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7227E: to=<z@y>, relay=none, delay=N, delays=N, "
	    "dsn=4.4.1, status=deferred (try later)\n");
	TEST_INT(t, type_at(id, off2), 'R');
	TEST_INT(t, req->status, DELIVER_STAT_DEFER);
	list = rcpt_log_read(QUEUE_DEFER, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1) {
		TEST_STR(t, list->entries[0].address, "z@y");
		TEST_STR(t, list->entries[0].status, "4.4.1");
		TEST_STR(t, list->entries[0].action, "delayed");
		TEST_STR(t, list->entries[0].reason, "try later");
		TEST_INT(t, list->entries[0].offset, off2);
	}
	rcpt_log_list_free(list);

	/* orig_to appears when it differs (case-insensitively). */
	test_log_reset();
	str_set(req->rcpt[1].orig_rcpt, "Alias@Y");
	TEST_INT(t,
	    deliver_bounce(req, &req->rcpt[1], NULL, "5.0.0", "%s", "no way"),
	    0);
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7227E: to=<z@y>, orig_to=<Alias@Y>, relay=none, delay=N, "
	    "delays=N, dsn=5.0.0, status=bounced (no way)\n");
	TEST_INT(t, type_at(id, off2), 'D');
	list = rcpt_log_read(QUEUE_BOUNCE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1) {
		TEST_STR(t, list->entries[0].orig_address, "Alias@Y");
		TEST_STR(t, list->entries[0].action, "failed");
	}
	rcpt_log_list_free(list);
	deliver_request_free(req);

	/* soft_bounce turns a bounce into a defer with a 4.x.x status. */
	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	var_soft_bounce = true;
	test_log_reset();
	TEST_INT(t,
	    deliver_bounce(req, &req->rcpt[0], "local", "5.1.1",
		"unknown user: \"%s\"", "x"),
	    0);
	var_soft_bounce = false;
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7227E: to=<x@y>, relay=local, delay=N, delays=N, "
	    "dsn=4.1.1, status=deferred (unknown user: \"x\")\n");
	TEST_INT(t, type_at(id, off1), 'R');
	TEST_INT(t, req->status, DELIVER_STAT_DEFER);

	/* An offset that does not point at a recipient record. */
	req->status = 0;
	req->rcpt[1].offset = off2 + 1;
	test_log_reset();
	TEST_INT(t, deliver_sent(req, &req->rcpt[1], "none", "2.0.0", "ok"),
	    -1);
	TEST_TRUE(t, strstr(test_log_text(),
			 "warning: 9200EA7227E: no recipient record at "
			 "offset ") != NULL);
	TEST_INT(t, req->status, DELIVER_STAT_DEFER);
	deliver_request_free(req);

	/* A queue file that is gone: the result cannot be recorded. */
	req = agent_request("ABCDE123", off1, off2, doff);
	test_log_reset();
	TEST_INT(t, deliver_sent(req, &req->rcpt[0], "none", "2.0.0", "ok"),
	    -1);
	TEST_TRUE(t, strstr(test_log_text(),
			 "warning: ABCDE123: cannot update queue file "
			 "active/ABCDE123: ") != NULL);
	TEST_INT(t, req->status, DELIVER_STAT_DEFER);
	deliver_request_free(req);

	/* A symlinked queue file is not followed. */
	if (symlink("/etc/passwd", "active/ABCDE124") == 0) {
		req = agent_request("ABCDE124", 1, 2, 200);
		TEST_INT(t,
		    deliver_sent(req, &req->rcpt[0], "none", "2.0.0", "ok"),
		    -1);
		TEST_INT(t, req->status, DELIVER_STAT_DEFER);
		deliver_request_free(req);
	}
	str_free(line);
	str_free(why);
}

/* A recipient passed on by another agent: recorded, but left as R. */
static void
test_passed(struct test *t)
{
	const char *id = "9200EA7227F";
	long off1, off2, doff;
	struct deliver_request *req;
	struct rcpt_log_list *list;
	struct str *why = str_new(0);

	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	req->flags = DELIVER_FLAG_PASSED;
	test_log_reset();
	TEST_INT(t, deliver_sent(req, &req->rcpt[0], "none", "2.0.0", "kept"),
	    0);
	TEST_TRUE(t, strstr(test_log_text(), "status=sent (kept)") != NULL);
	TEST_INT(t, type_at(id, off1), 'R');
	TEST_INT(t,
	    deliver_bounce(req, &req->rcpt[1], "none", "5.2.1", "disabled"), 0);
	TEST_INT(t, type_at(id, off2), 'R');
	TEST_INT(t, req->status, 0);
	list = rcpt_log_read(QUEUE_BOUNCE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	rcpt_log_list_free(list);
	deliver_request_free(req);

	/* The agent that passed it on crosses it off, without a log line. */
	req = agent_request(id, off1, off2, doff);
	test_log_reset();
	TEST_INT(t, deliver_mark_done(req, &req->rcpt[0]), 0);
	TEST_INT(t, type_at(id, off1), 'D');
	TEST_INT(t, type_at(id, off2), 'R');
	TEST_STR(t, test_log_text(), "");
	req->rcpt[1].offset = off2 + 1;
	TEST_INT(t, deliver_mark_done(req, &req->rcpt[1]), -1);
	TEST_INT(t, req->status, DELIVER_STAT_DEFER);
	deliver_request_free(req);
	str_free(why);
}

/*
 * sendmail -bv: results go to trace/ only, as deliverable/undeliverable,
 * with "delivery via RELAY: " (Postfix 3.7.11's report texts), and every
 * recipient is done.  A success notice gets the prefix too; Remote-MTA
 * only from a "host[addr]" relay.
 */
static void
test_verify(struct test *t)
{
	const char *id = "9200EA7228F";
	long off1, off2, doff;
	struct deliver_request *req;
	struct rcpt_log_list *list;
	struct str *line = str_new(0), *why = str_new(0);

	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	req->flags = DELIVER_FLAG_VERIFY | DELIVER_FLAG_RECORD_SUCCESS;
	test_log_reset();
	TEST_INT(t,
	    deliver_sent(req, &req->rcpt[0], "local", "2.0.0", "%s",
		"delivers to mailbox"),
	    0);
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7228F: to=<x@y>, relay=local, delay=N, "
	    "delays=N, dsn=2.0.0, status=deliverable (delivers to mailbox)\n");
	test_log_reset();
	TEST_INT(t,
	    deliver_defer(req, &req->rcpt[1], "none", "4.4.1", "%s",
		"try later"),
	    0);
	strip_delays(line, test_log_text());
	TEST_STR(t, str_ptr(line),
	    "9200EA7228F: to=<z@y>, relay=none, delay=N, delays=N, "
	    "dsn=4.4.1, status=undeliverable (try later)\n");
	TEST_INT(t, type_at(id, off1), 'D');
	TEST_INT(t, type_at(id, off2), 'D');
	TEST_INT(t, req->status, 0);
	errno = 0;
	TEST_TRUE(t,
	    rcpt_log_read(QUEUE_DEFER, id, why) == NULL && errno == ENOENT);
	list = rcpt_log_read(QUEUE_TRACE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 2);
	if (list && list->count == 2) {
		TEST_STR(t, list->entries[0].action, "deliverable");
		TEST_STR(t, list->entries[0].reason,
		    "delivery via local: delivers to mailbox");
		TEST_STR(t, list->entries[0].mta, "");
		TEST_STR(t, list->entries[1].action, "undeliverable");
		TEST_STR(t, list->entries[1].reason, "try later");
	}
	rcpt_log_list_free(list);
	(void)rcpt_log_remove(QUEUE_TRACE, id);
	deliver_request_free(req);

	/* NOTIFY=SUCCESS through an SMTP-like relay. */
	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	req->rcpt[0].notify = DSN_NOTIFY_SUCCESS;
	TEST_INT(t,
	    deliver_sent(req, &req->rcpt[0], "mx.example.com[192.0.2.1]:25",
		"2.0.0", "250 ok"),
	    0);
	list = rcpt_log_read(QUEUE_TRACE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1) {
		TEST_STR(t, list->entries[0].action, "delivered");
		TEST_STR(t, list->entries[0].reason,
		    "delivery via mx.example.com[192.0.2.1]:25: 250 ok");
		TEST_STR(t, list->entries[0].mta, "mx.example.com");
		TEST_STR(t, list->entries[0].dtype, "");
	}
	rcpt_log_list_free(list);
	(void)rcpt_log_remove(QUEUE_TRACE, id);
	deliver_request_free(req);
	str_free(line);
	str_free(why);
}

/*
 * A server's reply: relayed with "smtp" diagnostics; no success notice of
 * ours once the server took NOTIFY; bounce and defer keep the reply.
 */
static void
test_diag(struct test *t)
{
	struct str *why = str_new(0);
	struct deliver_request *req;
	struct rcpt_log_list *list;
	long off1, off2, doff;
	const char *id = "4AB3C2D1E9";
	const char *relay = "mx.example.com[192.0.2.1]:25";
	struct deliver_diag diag = { .dtype = "smtp",
		.dtext = "250 2.0.0 Ok: queued as X",
		.action = "relayed" };

	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	req->rcpt[0].notify = DSN_NOTIFY_SUCCESS;
	req->rcpt[1].notify = DSN_NOTIFY_SUCCESS;
	TEST_INT(t,
	    deliver_sent_diag(req, &req->rcpt[0], relay, "2.0.0", &diag, "%s",
		diag.dtext),
	    0);
	diag.notify_passed = true;
	TEST_INT(t,
	    deliver_sent_diag(req, &req->rcpt[1], relay, "2.0.0", &diag, "%s",
		diag.dtext),
	    0);
	list = rcpt_log_read(QUEUE_TRACE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1) {
		TEST_STR(t, list->entries[0].action, "relayed");
		TEST_STR(t, list->entries[0].dtype, "smtp");
		TEST_STR(t, list->entries[0].dtext,
		    "250 2.0.0 Ok: queued as X");
	}
	rcpt_log_list_free(list);
	(void)rcpt_log_remove(QUEUE_TRACE, id);
	deliver_request_free(req);

	make_qfile(id, &off1, &off2, &doff);
	req = agent_request(id, off1, off2, doff);
	diag.dtext = "550 5.1.1 no such user";
	TEST_INT(t,
	    deliver_bounce_diag(req, &req->rcpt[0], relay, "5.1.1", &diag,
		"host said: %s", diag.dtext),
	    0);
	diag.dtext = "450 4.2.0 later";
	TEST_INT(t,
	    deliver_defer_diag(req, &req->rcpt[1], relay, "4.2.0", &diag,
		"host said: %s", diag.dtext),
	    0);
	list = rcpt_log_read(QUEUE_BOUNCE, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1) {
		TEST_STR(t, list->entries[0].reason,
		    "host said: 550 5.1.1 no such user");
		TEST_STR(t, list->entries[0].dtext, "550 5.1.1 no such user");
	}
	rcpt_log_list_free(list);
	list = rcpt_log_read(QUEUE_DEFER, id, why);
	TEST_TRUE(t, list != NULL && list->count == 1);
	if (list && list->count == 1)
		TEST_STR(t, list->entries[0].dtext, "450 4.2.0 later");
	rcpt_log_list_free(list);
	(void)rcpt_log_remove(QUEUE_BOUNCE, id);
	(void)rcpt_log_remove(QUEUE_DEFER, id);
	deliver_request_free(req);
	str_free(why);
}

static const struct test_case cases[] = {
	{ "delay_fmt", test_delay_fmt },
	{ "round_trip", test_round_trip },
	{ "wrong_greeting", test_wrong_greeting },
	{ "reject", test_reject },
	{ "results", test_results },
	{ "passed", test_passed },
	{ "verify", test_verify },
	{ "diag", test_diag },
	{ 0 },
};

int
main(void)
{
	static const char *const dirs[] = { "active", "bounce", "defer",
		"trace" };
	char cmd[300];
	int rc;

	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) < 0) {
		perror(tmpdir);
		return 2;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) < 0) {
			perror(dirs[i]);
			return 2;
		}
	defaults();
	rc = test_main(__FILE__, cases);
	if (chdir("/") < 0)
		rc = 1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
