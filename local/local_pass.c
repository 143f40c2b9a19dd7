/*
 * local_pass - delivery that local hands to another agent or picks per
 * user: mailbox_transport(_maps), fallback_transport(_maps),
 * mailbox_command_maps, and the require_home_directory check.
 *
 * Passing a recipient on (Postfix's deliver_pass): local becomes the
 * client of the transport named by "transport:nexthop" (master.cf service
 * private/transport; an empty nexthop means the request's own) and sends
 * it the same queue file and the same recipient with its offset, flagged
 * DELIVER_FLAG_PASSED (deliver.h).  That agent logs the outcome and writes
 * the bounce/defer/trace logs itself; its reply becomes local's result for
 * the recipient, which local records without logging again: final (sent
 * or bounced) lets local mark the recipient done, non-final defers it.  If
 * the service cannot be reached or answers wrongly, local defers the
 * recipient itself: 4.3.0 "mail transport unavailable" (Postfix's local
 * instead waits for the service, up to ten times ten seconds, and then
 * dies, which also ends in a deferral).
 *
 * The maps are looked up with the recipient's user name (no extension,
 * no domain), as in Postfix; a lookup error defers 4.3.0 "table lookup
 * failure".
 */
#include <sys/stat.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/deliver.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "local.h"

#define LOCAL_PASS_CONNECT_MS 10000 /* connecting to private/transport */

static struct maps *mbox_transport_maps, *fbck_transport_maps, *mbox_cmd_maps;

static struct maps *
local_pass_maps(const char *title, const char *spec)
{
	return *spec ? maps_new(title, spec, DICT_FLAGS_READ) : NULL;
}

void
local_pass_init(void)
{
	mbox_transport_maps = local_pass_maps("mailbox_transport_maps",
	    var_mailbox_transport_maps);
	fbck_transport_maps = local_pass_maps("fallback_transport_maps",
	    var_fallback_transport_maps);
	mbox_cmd_maps =
	    local_pass_maps("mailbox_command_maps", var_mailbox_command_maps);
}

/* A result recorded by the agent the recipient was passed to. */
static void
local_passed(struct local_state *s, enum local_kind kind)
{
	local_result(s, kind, "", "passed");
	s->results[s->result_count - 1].passed = true;
}

/* A transport name is a master.cf service name: no '/', no "..". */
static bool
local_transport_ok(const char *name)
{
	if (*name == 0 || *name == '.' || strlen(name) > 100)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.'))
			return false;
	return true;
}

/* A request for the one recipient being delivered, as local received it. */
static struct deliver_request *
local_pass_request(const struct local_state *s, const char *nexthop)
{
	const struct deliver_request *in = s->req;
	struct deliver_request *out = deliver_request_new();
	const struct deliver_rcpt *r = s->rcpt;

	out->flags = in->flags | DELIVER_FLAG_PASSED;
	str_set(out->queue_name, str_ptr(in->queue_name));
	str_set(out->queue_id, str_ptr(in->queue_id));
	out->data_offset = in->data_offset;
	out->data_size = in->data_size;
	str_set(out->nexthop, nexthop);
	str_set(out->encoding, str_ptr(in->encoding));
	out->sendopts = in->sendopts;
	str_set(out->sender, str_ptr(in->sender));
	str_set(out->envid, str_ptr(in->envid));
	out->ret = in->ret;
	out->arrival = in->arrival;
	out->active = in->active;
	str_set(out->client_name, str_ptr(in->client_name));
	str_set(out->client_addr, str_ptr(in->client_addr));
	str_set(out->client_port, str_ptr(in->client_port));
	str_set(out->protocol_name, str_ptr(in->protocol_name));
	str_set(out->helo_name, str_ptr(in->helo_name));
	str_set(out->sasl_method, str_ptr(in->sasl_method));
	str_set(out->sasl_username, str_ptr(in->sasl_username));
	str_set(out->sasl_sender, str_ptr(in->sasl_sender));
	str_set(out->log_ident, str_ptr(in->log_ident));
	str_set(out->rewrite_context, str_ptr(in->rewrite_context));
	/* An alias member goes as itself, with the recipient's offset. */
	deliver_rcpt_add(out, str_ptr(r->orig_rcpt),
	    s->log_to ? s->log_to : str_ptr(r->address), r->offset,
	    str_ptr(r->dsn_orcpt), r->notify);
	return out;
}

/* Hand the current recipient to "transport[:nexthop]". */
static void
local_pass(struct local_state *s, const char *param, const char *service)
{
	struct str *transport = str_new(0), *path = str_new(0);
	struct str *why = str_new(0), *key = str_new(0);
	struct deliver_request *req = NULL;
	struct stream *st = NULL;
	const char *colon = strchr(service, ':');
	const char *nexthop;
	int fd, status;
	size_t n;

	/* Once per address, however often aliases lead here. */
	str_fmt(key, "%ld %s %s", s->rcpt->offset, service,
	    s->log_to ? s->log_to : str_ptr(s->rcpt->address));
	if (local_dup(s, "transport", 0, str_ptr(key)))
		goto out;
	n = s->result_count;
	if (colon != NULL) {
		str_setn(transport, service, (size_t)(colon - service));
		nexthop = colon[1] ? colon + 1 : str_ptr(s->req->nexthop);
	} else {
		str_set(transport, service);
		nexthop = str_ptr(s->req->nexthop);
	}
	str_trim(transport);
	if (s->req->flags & DELIVER_FLAG_PASSED) {
		/* e.g. mailbox_transport = local: it would never end. */
		msg_warn("%s: %s: request was passed on already; not passing "
			 "it on to %s again",
		    str_ptr(s->req->queue_id), param, str_ptr(transport));
		local_result(s, LOCAL_DEFER, "4.3.5",
		    "mail system configuration error");
		goto settle;
	}
	if (!local_transport_ok(str_ptr(transport))) {
		msg_warn("%s: bad transport name in \"%s\"", param, service);
		local_result(s, LOCAL_DEFER, "4.3.5",
		    "mail system configuration error");
		goto settle;
	}
	if (msg_verbose)
		msg_info("%s: passing <%s> to transport=%s",
		    str_ptr(s->req->queue_id), str_ptr(s->rcpt->address),
		    str_ptr(transport));
	local_root();
	str_fmt(path, "private/%s", str_ptr(transport));
	if ((fd = sock_unix_connect(str_ptr(path), LOCAL_PASS_CONNECT_MS,
		 why)) < 0) {
		msg_warn("%s", str_ptr(why));
		goto unavailable;
	}
	st = stream_open(fd);
	stream_set_timeout(st, var_ipc_timeout * 1000);
	req = local_pass_request(s, nexthop);
	if (deliver_request_send(st, req, why) < 0) {
		msg_warn("%s: %s (transport %s)", str_ptr(s->req->queue_id),
		    str_ptr(why), str_ptr(transport));
		goto unavailable;
	}
	if (deliver_reply_read(st, &status, why) < 0) {
		msg_warn("%s: %s (transport %s)", str_ptr(s->req->queue_id),
		    str_ptr(why), str_ptr(transport));
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "unknown mail transport error");
		goto settle;
	}
	local_passed(s, status == DELIVER_STAT_OK ? LOCAL_SENT : LOCAL_DEFER);
	goto settle;
unavailable:
	local_result(s, LOCAL_DEFER, "4.3.0", "mail transport unavailable");
settle:
	local_dup_settle(s, n); /* a deferred pass is tried again */
out:
	stream_close(st);
	deliver_request_free(req);
	str_free(transport);
	str_free(path);
	str_free(why);
	str_free(key);
}

/* Look user up in maps: the value, or NULL (a lookup error is deferred). */
static const char *
local_pass_lookup(struct local_state *s, struct maps *maps, const char *user,
    bool *failed)
{
	const char *value;

	*failed = false;
	if (maps == NULL)
		return NULL;
	value = maps_find(maps, user, 0);
	if (value == NULL && maps->error) {
		local_result(s, LOCAL_DEFER, "4.3.0", "table lookup failure");
		*failed = true;
	}
	return value;
}

bool
local_pass_mailbox(struct local_state *s, const char *user)
{
	const char *service;
	bool failed;

	service = local_pass_lookup(s, mbox_transport_maps, user, &failed);
	if (failed)
		return true;
	if (service != NULL) {
		local_pass(s, "mailbox_transport_maps", service);
		return true;
	}
	if (*var_mailbox_transport) {
		local_pass(s, "mailbox_transport", var_mailbox_transport);
		return true;
	}
	return false;
}

bool
local_pass_unknown(struct local_state *s)
{
	const char *service;
	bool failed;

	service = local_pass_lookup(s, fbck_transport_maps, s->user, &failed);
	if (failed)
		return true;
	if (service != NULL) {
		local_pass(s, "fallback_transport_maps", service);
		return true;
	}
	if (*var_fallback_transport) {
		local_pass(s, "fallback_transport", var_fallback_transport);
		return true;
	}
	return false;
}

int
local_mailbox_cmd(struct local_state *s, const char *user, const char **cmd)
{
	const char *value;
	bool failed;

	value = local_pass_lookup(s, mbox_cmd_maps, user, &failed);
	if (failed)
		return -1;
	*cmd = value != NULL ? value : var_mailbox_command;
	return 0;
}

int
local_home_check(struct local_state *s, const struct local_user *u)
{
	struct stat st;
	int ret, saved;

	if (!var_require_home_directory)
		return 0;
	local_set_privs(u);
	ret = stat(u->home, &st);
	saved = errno;
	local_root();
	if (ret < 0) {
		local_result(s, LOCAL_DEFER, "4.3.0",
		    "cannot access home directory %s: %s", u->home,
		    strerror(saved));
		return -1;
	}
	return 0;
}
