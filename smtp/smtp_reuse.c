/*
 * smtp_reuse - connection reuse through the scache service, as Postfix's
 * smtp client does it.
 *
 * Policy (per request): a connection may be looked up (fetch) and kept
 * after the delivery (store) when the next hop's host part is listed in
 * smtp_connection_cache_destinations (always both), or with
 * smtp_connection_cache_on_demand when qmgr asks (DELIVER_FLAG_CONN_FETCH
 * and _STORE: more mail waits for the destination).
 *
 * Labels: the logical destination is "service:nexthop", the endpoint
 * "service:[addr]:port" (the path for LMTP over UNIX-domain sockets), both
 * with ":sender" added when the SASL credentials depend on the sender, so
 * a connection authenticated for one sender never carries another's mail.
 * The endpoint properties are what a later process needs to carry on with
 * the connection: the server's name and address, what it offered after
 * EHLO, how often the connection was used and when it was made.
 *
 * A connection is kept only in a clean state (after the end of DATA, or
 * after RSET got 2xx), never with TLS (the TLS state cannot travel with
 * the socket; smtp_tls_connection_reuse is not implemented), and only
 * while it is younger than smtp_connection_reuse_time_limit and has been
 * used at most smtp_connection_reuse_count_limit times (0: no limit).  It
 * is kept for smtp_connection_cache_time_limit seconds.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/scache_clnt.h"
#include "smtp.h"

/* Feature bits of the endpoint properties. */
#define REUSE_ESMTP      (1 << 0)
#define REUSE_PIPELINING (1 << 1)
#define REUSE_8BITMIME   (1 << 2)
#define REUSE_SMTPUTF8   (1 << 3)
#define REUSE_DSN        (1 << 4)
#define REUSE_SIZE       (1 << 5)

static struct match_list *smtp_cache_dests;

void
smtp_reuse_init(void)
{
	const char *list = SMTP_VAR(connection_cache_destinations);

	if (*list)
		smtp_cache_dests = match_list_new(
		    smtp_lmtp ? "lmtp_connection_cache_destinations"
			      : "smtp_connection_cache_destinations",
		    list, 0);
}

/*
 * The host part of a next hop, as smtp_connection_cache_destinations
 * names it: without "inet:"/"unix:", [] and port.
 */
static void
smtp_reuse_host(const char *nexthop, struct str *out)
{
	const char *p = nexthop, *end;

	if (strncmp(p, "inet:", 5) == 0 || strncmp(p, "unix:", 5) == 0) {
		if (strncmp(p, "unix:", 5) == 0) {
			str_set(out, p + 5);
			return;
		}
		p += 5;
	}
	if (*p == '[' && (end = strchr(p, ']')) != NULL) {
		str_setn(out, p + 1, (size_t)(end - p - 1));
		return;
	}
	if ((end = strrchr(p, ':')) != NULL && strchr(p, ':') == end)
		str_setn(out, p, (size_t)(end - p));
	else
		str_set(out, p);
}

void
smtp_reuse_policy(struct smtp_state *state)
{
	struct deliver_request *req = state->req;
	struct str *host = str_new(0);

	state->cache_fetch = state->cache_store = false;
	smtp_reuse_host(str_ptr(req->nexthop), host);
	if (smtp_cache_dests &&
	    match_list_string(smtp_cache_dests, str_ptr(host)) == 1) {
		state->cache_fetch = state->cache_store = true;
	} else if (SMTP_VAR(connection_cache_on_demand)) {
		state->cache_fetch =
		    (req->flags & DELIVER_FLAG_CONN_FETCH) != 0;
		state->cache_store =
		    (req->flags & DELIVER_FLAG_CONN_STORE) != 0;
	}
	str_fmt(state->dest_label, "%s:%s", daemon_service_name(),
	    str_ptr(req->nexthop));
	if (SMTP_VAR(sender_dependent_authentication))
		str_catfmt(state->dest_label, ":%s", str_ptr(req->sender));
	str_free(host);
}

static void
smtp_reuse_endp_label(struct smtp_state *state, const struct smtp_addr *a,
    struct str *out)
{
	if (a->family == AF_UNIX)
		str_fmt(out, "%s:%s", daemon_service_name(), a->addr);
	else
		str_fmt(out, "%s:[%s]:%d", daemon_service_name(), a->addr,
		    a->port);
	if (SMTP_VAR(sender_dependent_authentication))
		str_catfmt(out, ":%s", str_ptr(state->req->sender));
}

/* Fields separated by newlines: names and paths never hold one. */
static bool
smtp_reuse_props(const struct smtp_session *s, struct str *out)
{
	int bits = (s->esmtp ? REUSE_ESMTP : 0) |
		   (s->pipelining ? REUSE_PIPELINING : 0) |
		   (s->eightbit ? REUSE_8BITMIME : 0) |
		   (s->smtputf8 ? REUSE_SMTPUTF8 : 0) |
		   (s->dsn ? REUSE_DSN : 0) | (s->size ? REUSE_SIZE : 0);

	if (strchr(s->addr->host, '\n') || strchr(s->addr->addr, '\n'))
		return false;
	str_fmt(out, "%d\n%d\n%d\n%ld\n%d\n%lld\n%s\n%s", s->addr->family,
	    s->addr->port, bits, s->size_limit, s->conn_use,
	    (long long)s->conn_start, s->addr->host, s->addr->addr);
	return str_len(out) < SCACHE_VALUE_MAX;
}

/*
 * Revive a session from endpoint properties: fills s and a (the address
 * it is connected to); 0, or -1 when malformed.
 */
static int
smtp_reuse_parse(const char *prop, struct smtp_session *s, struct smtp_addr *a)
{
	struct argv *f = argv_split(prop, "\n");
	int bits, ret = -1;
	char *end;

	if (f->argc != 8)
		goto out;
	a->family = atoi(f->argv[0]);
	a->port = atoi(f->argv[1]);
	bits = atoi(f->argv[2]);
	s->size_limit = strtol(f->argv[3], &end, 10);
	s->conn_use = atoi(f->argv[4]);
	s->conn_start = (time_t)strtoll(f->argv[5], &end, 10);
	if (a->family != AF_INET && a->family != AF_INET6 &&
	    a->family != AF_UNIX)
		goto out;
	if (s->conn_use < 1 || s->size_limit < 0)
		goto out;
	if (a->family != AF_UNIX &&
	    inet_pton(a->family, f->argv[7], a->bytes) != 1)
		goto out;
	a->host = xstrdup(f->argv[6]);
	a->addr = xstrdup(f->argv[7]);
	a->pref = -1;
	s->esmtp = (bits & REUSE_ESMTP) != 0;
	s->pipelining = (bits & REUSE_PIPELINING) != 0;
	s->eightbit = (bits & REUSE_8BITMIME) != 0;
	s->smtputf8 = (bits & REUSE_SMTPUTF8) != 0;
	s->dsn = (bits & REUSE_DSN) != 0;
	s->size = (bits & REUSE_SIZE) != 0;
	ret = 0;
out:
	if (ret < 0)
		msg_warn("malformed connection cache entry; ignored");
	argv_free(f);
	return ret;
}

/* A cached connection for the destination: fd with s and a filled, or -1. */
int
smtp_reuse_find_dest(struct smtp_state *state, struct smtp_session *s,
    struct smtp_addr *a)
{
	struct str *dprop = str_new(0), *eprop = str_new(0);
	int fd = -1;

	if (!state->cache_fetch)
		goto out;
	fd = scache_clnt_find_dest(str_ptr(state->dest_label), dprop, eprop);
	if (fd >= 0 && smtp_reuse_parse(str_ptr(eprop), s, a) < 0) {
		(void)close(fd);
		fd = -1;
	}
	if (fd >= 0)
		a->dest = xstrdup(str_ptr(state->req->nexthop));
out:
	str_free(dprop);
	str_free(eprop);
	return fd;
}

/* A cached connection to this address: fd with s filled, or -1. */
int
smtp_reuse_find_endp(struct smtp_state *state, struct smtp_session *s,
    const struct smtp_addr *a)
{
	struct str *label = str_new(0), *eprop = str_new(0);
	struct smtp_addr tmp = { 0 };
	int fd = -1;

	if (!state->cache_fetch)
		goto out;
	smtp_reuse_endp_label(state, a, label);
	fd = scache_clnt_find_endp(str_ptr(label), eprop);
	if (fd >= 0 && (smtp_reuse_parse(str_ptr(eprop), s, &tmp) < 0 ||
			   tmp.family != a->family || tmp.port != a->port ||
			   strcmp(tmp.addr, a->addr) != 0)) {
		(void)close(fd);
		fd = -1;
	}
	free(tmp.host);
	free(tmp.addr);
out:
	str_free(label);
	str_free(eprop);
	return fd;
}

/* May this session be kept after its transaction? */
bool
smtp_reuse_allowed(const struct smtp_session *s)
{
	int count = SMTP_VAR(connection_reuse_count_limit);

	if (!s->state->cache_store || s->ssl != NULL)
		return false;
	/* A limit of N allows N reuses: N + 1 uses in all. */
	if (count > 0 && s->conn_use > count)
		return false;
	return time(NULL) - s->conn_start <
	       (time_t)SMTP_VAR(connection_reuse_time_limit);
}

/*
 * Hand a clean session to scache (the stream is closed here either way);
 * the destination is bound to it when this is its best server.
 */
void
smtp_reuse_save(struct smtp_session *s)
{
	struct smtp_state *state = s->state;
	struct str *label = str_new(0), *prop = str_new(0);
	int ttl = SMTP_VAR(connection_cache_time_limit), fd;

	if (stream_pending(s->st) > 0 || stream_flush(s->st) < 0 ||
	    !smtp_reuse_props(s, prop) || (fd = dup(stream_fd(s->st))) < 0) {
		s->st = stream_close(s->st);
		goto out;
	}
	s->st = stream_close(s->st);
	smtp_reuse_endp_label(state, s->addr, label);
	if (scache_clnt_save_endp(ttl, str_ptr(label), str_ptr(prop), fd) ==
		0 &&
	    state->best)
		(void)scache_clnt_save_dest(ttl, str_ptr(state->dest_label), "",
		    str_ptr(label));
out:
	str_free(label);
	str_free(prop);
}
