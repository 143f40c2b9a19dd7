/*
 * smtpd_xclient - XCLIENT, XFORWARD and the HAProxy PROXY protocol, as
 * Postfix 3.7's smtpd (observed): replies, log lines and queue file
 * attributes.  Faces the network: every attribute value is bounded by
 * SMTPD_XATTR_MAX, the PROXY header by SMTPD_PROXY_MAX; the parsers are
 * plain functions in smtpd_xparse.c that fuzz/ exercises.
 *
 * XCLIENT replaces the client (name, address, port, HELO, protocol,
 * login, server address) for everything that follows, and restarts the
 * session with a new greeting.  XFORWARD only changes what the queue file
 * and the "client=" log line say about the message's origin; it is
 * forgotten after each transaction.  The PROXY header replaces the client
 * before the greeting.
 */
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "lib/mail/record.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

/* What XFORWARD said about the message's origin (one transaction). */
struct smtpd_xforward {
	bool client;   /* NAME, ADDR, PORT, PROTO or HELO given */
	char *name;    /* "unknown" unless given */
	char *addr;    /* "unknown" unless given; bare IPv6 */
	char *port;    /* "unknown" unless given */
	char *proto;   /* "unknown" unless given */
	char *helo;    /* NULL unless given */
	char *ident;   /* the upstream queue ID, or NULL */
	char *source;  /* "local", "remote", or NULL */
	char *namaddr; /* name[addr], or name when addr is unknown */
};

/* The EHLO keywords, in Postfix's order. */
#define SMTPD_XCLIENT_EHLO                                                     \
	"XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR "       \
	"DESTPORT"
#define SMTPD_XFORWARD_EHLO "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT"

static struct match_list *smtpd_xclient_hosts;
static struct match_list *smtpd_xforward_hosts;

void
smtpd_xclient_init(void)
{
	smtpd_xclient_hosts = match_list_new("smtpd_authorized_xclient_hosts",
	    var_smtpd_authorized_xclient_hosts, 0);
	smtpd_xforward_hosts = match_list_new("smtpd_authorized_xforward_hosts",
	    var_smtpd_authorized_xforward_hosts, 0);
}

/*
 * Authorization follows the current client: after XCLIENT changed it,
 * the new client needs its own authorization (Postfix, observed).
 */
static bool
smtpd_xclient_allowed(struct smtpd_state *state, struct match_list **list,
    const char *name, const char *spec)
{
	if (*spec == 0)
		return false;
	if (*list == NULL)
		*list = match_list_new(name, spec, 0);
	return match_list_hostaddr(*list, str_ptr(state->name),
		   str_ptr(state->addr)) == 1;
}

void
smtpd_xclient_ehlo(struct smtpd_state *state, struct argv *kw)
{
	if (smtpd_xclient_allowed(state, &smtpd_xclient_hosts,
		"smtpd_authorized_xclient_hosts",
		var_smtpd_authorized_xclient_hosts))
		argv_add(kw, SMTPD_XCLIENT_EHLO);
	if (smtpd_xclient_allowed(state, &smtpd_xforward_hosts,
		"smtpd_authorized_xforward_hosts",
		var_smtpd_authorized_xforward_hosts))
		argv_add(kw, SMTPD_XFORWARD_EHLO);
}

static bool
smtpd_xattr_given(const struct smtpd_xattrs *xa, int attr)
{
	return (xa->given & (1u << attr)) != 0;
}

/* The value to store: the text, or Postfix's "unknown". */
static const char *
smtpd_xattr_text(const struct smtpd_xattrs *xa, int attr)
{
	return xa->status[attr] == SMTPD_XV_VALUE ? xa->value[attr] : "unknown";
}

/* Common checks of XCLIENT and XFORWARD, in Postfix's order. */
static bool
smtpd_xcmd_ok(struct smtpd_state *state, const char *arg, bool xforward)
{
	bool allowed;

	if (*arg == 0) {
		smtpd_reply(state, "501 5.5.4 Syntax: %s attribute=value...",
		    xforward ? "XFORWARD" : "XCLIENT");
		return false;
	}
	if (state->sender) {
		smtpd_reply(state,
		    "503 5.5.1 Error: MAIL transaction in progress");
		return false;
	}
	allowed = xforward ? smtpd_xclient_allowed(state, &smtpd_xforward_hosts,
				 "smtpd_authorized_xforward_hosts",
				 var_smtpd_authorized_xforward_hosts)
			   : smtpd_xclient_allowed(state, &smtpd_xclient_hosts,
				 "smtpd_authorized_xclient_hosts",
				 var_smtpd_authorized_xclient_hosts);
	if (!allowed) {
		smtpd_reply(state,
		    "550 5.7.0 Error: insufficient authorization");
		return false;
	}
	return true;
}

/*
 * XCLIENT: all attributes are checked before any is used, then the
 * session starts over with the new client: no HELO, no transaction,
 * plain SMTP unless PROTO says otherwise, and a new 220 greeting.
 * Postfix counts even a successful XCLIENT as failed in the disconnect
 * line ("xclient=0/1", observed), so this returns false.
 */
bool
smtpd_cmd_xclient(struct smtpd_state *state, const char *arg)
{
	struct smtpd_xattrs xa;
	struct str *reply;

	if (!smtpd_xcmd_ok(state, arg, false))
		return false;
	reply = str_new(100);
	if (smtpd_xattr_parse(false, arg, &xa, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		smtpd_xattr_free(&xa);
		str_free(reply);
		return false;
	}
	str_free(reply);
	if (smtpd_xattr_given(&xa, SMTPD_XA_NAME)) {
		str_set(state->name, smtpd_xattr_text(&xa, SMTPD_XA_NAME));
		state->name_status = xa.status[SMTPD_XA_NAME] == SMTPD_XV_VALUE
					 ? SMTPD_PEER_OK
				     : xa.status[SMTPD_XA_NAME] == SMTPD_XV_TEMP
					 ? SMTPD_PEER_TEMP
					 : SMTPD_PEER_PERM;
		/* a verified name is also the reverse name (Postfix) */
		if (state->name_status == SMTPD_PEER_OK) {
			str_set(state->reverse_name, str_ptr(state->name));
			state->reverse_name_status = SMTPD_PEER_OK;
		}
	}
	if (smtpd_xattr_given(&xa, SMTPD_XA_REVERSE_NAME)) {
		str_set(state->reverse_name,
		    smtpd_xattr_text(&xa, SMTPD_XA_REVERSE_NAME));
		state->reverse_name_status =
		    xa.status[SMTPD_XA_REVERSE_NAME] == SMTPD_XV_VALUE
			? SMTPD_PEER_OK
		    : xa.status[SMTPD_XA_REVERSE_NAME] == SMTPD_XV_TEMP
			? SMTPD_PEER_TEMP
			: SMTPD_PEER_PERM;
	}
	if (smtpd_xattr_given(&xa, SMTPD_XA_ADDR))
		str_set(state->addr, smtpd_xattr_text(&xa, SMTPD_XA_ADDR));
	if (smtpd_xattr_given(&xa, SMTPD_XA_PORT))
		str_set(state->port, smtpd_xattr_text(&xa, SMTPD_XA_PORT));
	if (smtpd_xattr_given(&xa, SMTPD_XA_DESTADDR))
		str_set(state->server_addr,
		    smtpd_xattr_text(&xa, SMTPD_XA_DESTADDR));
	if (smtpd_xattr_given(&xa, SMTPD_XA_DESTPORT))
		str_set(state->server_port,
		    smtpd_xattr_text(&xa, SMTPD_XA_DESTPORT));
	str_fmt(state->namaddr, "%s[%s]", str_ptr(state->name),
	    str_ptr(state->addr));
	smtpd_peer_trust(state);

	/* The session starts over. */
	smtpd_reset(state);
	free(state->helo);
	state->helo = NULL;
	if (smtpd_xattr_given(&xa, SMTPD_XA_HELO) &&
	    xa.status[SMTPD_XA_HELO] == SMTPD_XV_VALUE)
		state->helo = xstrdup(xa.value[SMTPD_XA_HELO]);
	state->esmtp = smtpd_xattr_given(&xa, SMTPD_XA_PROTO) &&
		       strcmp(xa.value[SMTPD_XA_PROTO], "ESMTP") == 0;
	if (smtpd_xattr_given(&xa, SMTPD_XA_LOGIN)) {
		free(state->sasl_method);
		free(state->sasl_username);
		state->sasl_method = state->sasl_username = NULL;
		if (xa.status[SMTPD_XA_LOGIN] == SMTPD_XV_VALUE) {
			state->sasl_method = xstrdup("XCLIENT");
			state->sasl_username =
			    xstrdup(xa.value[SMTPD_XA_LOGIN]);
		}
	}
	smtpd_proto_name(state);
	smtpd_xattr_free(&xa);
	smtpd_reply(state, "220 %s", var_smtpd_banner);
	return false;
}

/* Forget what XFORWARD said (after each transaction). */
void
smtpd_xforward_reset(struct smtpd_state *state)
{
	struct smtpd_xforward *xf = state->xforward;

	if (xf == NULL)
		return;
	free(xf->name);
	free(xf->addr);
	free(xf->port);
	free(xf->proto);
	free(xf->helo);
	free(xf->ident);
	free(xf->source);
	free(xf->namaddr);
	free(xf);
	state->xforward = NULL;
}

static void
smtpd_xforward_set(char **slot, const char *value)
{
	free(*slot);
	*slot = value ? xstrdup(value) : NULL;
}

/*
 * XFORWARD: the attributes accumulate until the transaction ends; what
 * was not given is "unknown" (name, address, port, protocol) or absent
 * (HELO, IDENT, SOURCE), as Postfix presets them.
 */
bool
smtpd_cmd_xforward(struct smtpd_state *state, const char *arg)
{
	struct smtpd_xforward *xf;
	struct smtpd_xattrs xa;
	struct str *reply;

	if (!smtpd_xcmd_ok(state, arg, true))
		return false;
	reply = str_new(100);
	if (smtpd_xattr_parse(true, arg, &xa, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		smtpd_xattr_free(&xa);
		str_free(reply);
		return false;
	}
	str_free(reply);
	if ((xf = state->xforward) == NULL) {
		xf = state->xforward = xcalloc(1, sizeof(*xf));
		xf->name = xstrdup("unknown");
		xf->addr = xstrdup("unknown");
		xf->port = xstrdup("unknown");
		xf->proto = xstrdup("unknown");
	}
	if (smtpd_xattr_given(&xa, SMTPD_XA_NAME))
		smtpd_xforward_set(&xf->name,
		    smtpd_xattr_text(&xa, SMTPD_XA_NAME));
	if (smtpd_xattr_given(&xa, SMTPD_XA_ADDR))
		smtpd_xforward_set(&xf->addr,
		    smtpd_xattr_text(&xa, SMTPD_XA_ADDR));
	if (smtpd_xattr_given(&xa, SMTPD_XA_PORT))
		smtpd_xforward_set(&xf->port,
		    smtpd_xattr_text(&xa, SMTPD_XA_PORT));
	if (smtpd_xattr_given(&xa, SMTPD_XA_PROTO))
		smtpd_xforward_set(&xf->proto,
		    smtpd_xattr_text(&xa, SMTPD_XA_PROTO));
	if (smtpd_xattr_given(&xa, SMTPD_XA_HELO))
		smtpd_xforward_set(&xf->helo,
		    xa.status[SMTPD_XA_HELO] == SMTPD_XV_VALUE
			? xa.value[SMTPD_XA_HELO]
			: NULL);
	if (smtpd_xattr_given(&xa, SMTPD_XA_IDENT))
		smtpd_xforward_set(&xf->ident,
		    xa.status[SMTPD_XA_IDENT] == SMTPD_XV_VALUE
			? xa.value[SMTPD_XA_IDENT]
			: NULL);
	if (smtpd_xattr_given(&xa, SMTPD_XA_SOURCE))
		smtpd_xforward_set(&xf->source,
		    xa.status[SMTPD_XA_SOURCE] == SMTPD_XV_VALUE
			? xa.value[SMTPD_XA_SOURCE]
			: NULL);
	if (xa.given & ((1u << SMTPD_XA_NAME) | (1u << SMTPD_XA_ADDR) |
			   (1u << SMTPD_XA_PORT) | (1u << SMTPD_XA_PROTO) |
			   (1u << SMTPD_XA_HELO)))
		xf->client = true;
	free(xf->namaddr);
	if (strcmp(xf->addr, "unknown") == 0)
		xf->namaddr = xstrdup(xf->name);
	else {
		struct str *buf = str_new(64);

		str_fmt(buf, "%s[%s]", xf->name, xf->addr);
		xf->namaddr = str_steal(buf);
	}
	smtpd_xattr_free(&xa);
	smtpd_reply(state, "250 2.0.0 Ok");
	return true;
}

/* ", orig_queue_id=..., orig_client=..." for the "client=" log line. */
void
smtpd_xforward_client(struct smtpd_state *state, struct str *buf)
{
	struct smtpd_xforward *xf = state->xforward;

	if (xf == NULL)
		return;
	if (xf->ident)
		str_catfmt(buf, ", orig_queue_id=%s", xf->ident);
	if (xf->client)
		str_catfmt(buf, ", orig_client=%s", xf->namaddr);
}

/*
 * The client attributes that cleanup logs and stores (log_*), and the
 * rewrite context: the forwarded ones after XFORWARD, else the client's.
 * Addresses in IPv6 form carry "IPv6:" here, as in Postfix's queue file.
 */
void
smtpd_xforward_records(struct smtpd_state *state, struct stream *out)
{
	struct smtpd_xforward *xf = state->xforward;
	bool fwd = xf != NULL && xf->client;
	const char *name = fwd ? xf->name : str_ptr(state->name);
	const char *addr = fwd ? xf->addr : str_ptr(state->addr);
	const char *port = fwd ? xf->port : str_ptr(state->port);
	const char *helo = fwd ? xf->helo : state->helo;
	/*
	 * Postfix (observed): SMTP or ESMTP here, ESMTPA after AUTH; not
	 * after XCLIENT LOGIN, which Received: shows as ESMTPA all the same.
	 */
	const char *proto =
	    fwd             ? xf->proto
	    : !state->esmtp ? "SMTP"
	    : state->sasl_method && strcmp(state->sasl_method, "XCLIENT") != 0
		? "ESMTPA"
		: "ESMTP";

	if (xf && xf->ident)
		rec_fmt(out, REC_TYPE_ATTR, "log_ident=%s", xf->ident);
	if (xf && xf->source)
		rec_fmt(out, REC_TYPE_ATTR, "rewrite_context=%s", xf->source);
	else
		rec_fmt(out, REC_TYPE_ATTR, "rewrite_context=%s",
		    smtpd_check_rewrite(state) ? "local" : "remote");
	rec_fmt(out, REC_TYPE_ATTR, "log_client_name=%s", name);
	rec_fmt(out, REC_TYPE_ATTR, "log_client_address=%s%s",
	    strchr(addr, ':') ? "IPv6:" : "", addr);
	rec_fmt(out, REC_TYPE_ATTR, "log_client_port=%s", port);
	if (fwd)
		rec_fmt(out, REC_TYPE_ATTR, "log_message_origin=%s",
		    xf->namaddr);
	else
		rec_fmt(out, REC_TYPE_ATTR, "log_message_origin=%s",
		    str_ptr(state->namaddr));
	if (helo)
		rec_fmt(out, REC_TYPE_ATTR, "log_helo_name=%s", helo);
	rec_fmt(out, REC_TYPE_ATTR, "log_protocol_name=%s", proto);
}

/*
 * Wait (smtpd_upstream_proxy_timeout) for the header, peek at what came,
 * parse it and consume exactly the header.  The stream has buffered
 * nothing yet, so the descriptor is used directly: one poll() for the
 * first bytes, as Postfix waits once.
 */
int
smtpd_proxy_protocol(struct smtpd_state *state)
{
	char buf[SMTPD_PROXY_MAX];
	struct smtpd_proxy_hdr hdr;
	struct pollfd pfd;
	struct str *esc;
	const char *why = NULL;
	ssize_t n;
	int fd = stream_fd(state->st), rc;

	if (*var_smtpd_upstream_proxy_protocol == 0)
		return 0;
	if (strcmp(var_smtpd_upstream_proxy_protocol, "haproxy") != 0)
		msg_fatal("unsupported smtpd_upstream_proxy_protocol value: "
			  "\"%s\"",
		    var_smtpd_upstream_proxy_protocol);
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		rc = poll(&pfd, 1, var_smtpd_upstream_proxy_timeout * 1000);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		msg_warn("haproxy read: timeout error");
		return -1;
	}
	if (rc < 0 || (n = recv(fd, buf, sizeof(buf), MSG_PEEK)) < 0) {
		msg_warn("haproxy read: %m");
		return -1;
	}
	if (n == 0) {
		msg_warn("haproxy read: EOF");
		return -1;
	}
	hdr.client_port = str_new(8);
	hdr.server_port = str_new(8);
	if (smtpd_proxy_parse(buf, (size_t)n, &hdr, &why) < 0) {
		esc = str_new(4 * (size_t)n);
		smtpd_proxy_escape(esc, buf, (size_t)n);
		msg_warn("haproxy read: %s: %s", why, str_ptr(esc));
		str_free(esc);
		rc = -1;
		goto out;
	}
	if (recv(fd, buf, hdr.len, 0) != (ssize_t)hdr.len) {
		msg_warn("haproxy read: %m");
		rc = -1;
		goto out;
	}
	rc = 0;
	if (hdr.local)
		goto out;
	str_set(state->addr, hdr.client_addr);
	str_set(state->port, str_ptr(hdr.client_port));
	str_set(state->server_addr, hdr.server_addr);
	str_set(state->server_port, str_ptr(hdr.server_port));
	smtpd_peer_rename(state);
out:
	str_free(hdr.client_port);
	str_free(hdr.server_port);
	return rc;
}
