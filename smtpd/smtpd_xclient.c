/*
 * smtpd_xclient - XCLIENT, XFORWARD and the HAProxy PROXY protocol, as
 * Postfix 3.7's smtpd (observed): replies, log lines and queue file
 * attributes.  Faces the network: every attribute value is bounded by
 * SMTPD_XATTR_MAX, the PROXY header by SMTPD_PROXY_MAX, and the parsers
 * are plain functions (smtpd.h) that fuzz/ exercises.
 *
 * XCLIENT replaces the client (name, address, port, HELO, protocol,
 * login, server address) for everything that follows, and restarts the
 * session with a new greeting.  XFORWARD only changes what the queue file
 * and the "client=" log line say about the message's origin; it is
 * forgotten after each transaction.  The PROXY header replaces the client
 * before the greeting.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

static const char *smtpd_xattr_names[SMTPD_XA_COUNT] = {
	"NAME",
	"ADDR",
	"PORT",
	"PROTO",
	"HELO",
	"REVERSE_NAME",
	"LOGIN",
	"DESTADDR",
	"DESTPORT",
	"IDENT",
	"SOURCE",
};

/* The attributes each command takes (Postfix 3.7). */
#define SMTPD_XCLIENT_ATTRS                                                    \
	((1u << SMTPD_XA_NAME) | (1u << SMTPD_XA_ADDR) |                       \
	    (1u << SMTPD_XA_PORT) | (1u << SMTPD_XA_PROTO) |                   \
	    (1u << SMTPD_XA_HELO) | (1u << SMTPD_XA_REVERSE_NAME) |            \
	    (1u << SMTPD_XA_LOGIN) | (1u << SMTPD_XA_DESTADDR) |               \
	    (1u << SMTPD_XA_DESTPORT))
#define SMTPD_XFORWARD_ATTRS                                                   \
	((1u << SMTPD_XA_NAME) | (1u << SMTPD_XA_ADDR) |                       \
	    (1u << SMTPD_XA_PORT) | (1u << SMTPD_XA_PROTO) |                   \
	    (1u << SMTPD_XA_HELO) | (1u << SMTPD_XA_IDENT) |                   \
	    (1u << SMTPD_XA_SOURCE))

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

/*
 * A host name as Postfix's valid_hostname() wants it: at most 255 bytes,
 * labels of at most 63 letters, digits, '-' or '_', not starting or
 * ending with '-', no empty label, and not all numeric.
 */
bool
smtpd_valid_hostname(const char *name)
{
	const char *cp;
	size_t label = 0;
	bool numeric = true;

	if (*name == 0 || strlen(name) > 255)
		return false;
	for (cp = name; *cp; cp++) {
		unsigned char c = (unsigned char)*cp;

		if (c == '.') {
			if (label == 0 || cp[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (++label > 63)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_') {
			numeric = false;
		} else if (c == '-') {
			numeric = false;
			if (label == 1)
				return false;
		} else if (c < '0' || c > '9') {
			return false;
		}
	}
	if (label == 0 || cp[-1] == '-')
		return false;
	return !numeric;
}

/* An address attribute: IPv4, or IPv6 after "IPV6:" (any case). */
static bool
smtpd_xattr_addr(char *value)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (strncasecmp(value, "IPV6:", 5) == 0) {
		memmove(value, value + 5, strlen(value + 5) + 1);
		for (char *cp = value; *cp; cp++)
			if (*cp >= 'A' && *cp <= 'Z')
				*cp = (char)(*cp - 'A' + 'a');
		return inet_pton(AF_INET6, value, bin) == 1;
	}
	return inet_pton(AF_INET, value, bin) == 1;
}

/* A port attribute: one to five digits (Postfix does not check 65535). */
static bool
smtpd_xattr_port(const char *value)
{
	size_t n = strspn(value, "0123456789");

	return n > 0 && n <= 5 && value[n] == 0;
}

/*
 * Replace what must not reach logs and headers: white space, the
 * characters that delimit addresses and comments, and control characters
 * become '?', as Postfix's smtpd neuters HELO and friends.
 */
static void
smtpd_xattr_neuter(char *value)
{
	for (unsigned char *cp = (unsigned char *)value; *cp; cp++)
		if (*cp < 32 || *cp == 127 || strchr(" <>()\\\";@", *cp))
			*cp = '?';
}

static int
smtpd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* xtext (RFC 3461): "+XX" stands for the byte XX; -1 when malformed. */
static int
smtpd_xtext_decode(struct str *out, const char *in)
{
	str_reset(out);
	for (const char *cp = in; *cp; cp++) {
		int hi, lo;

		if (*cp != '+') {
			str_catc(out, *cp);
			continue;
		}
		if ((hi = smtpd_hexval(cp[1])) < 0 ||
		    (lo = smtpd_hexval(cp[2])) < 0)
			return -1;
		if (hi == 0 && lo == 0)
			return -1;
		str_catc(out, (char)(hi * 16 + lo));
		cp += 2;
	}
	return 0;
}

void
smtpd_xattr_free(struct smtpd_xattrs *xa)
{
	for (int i = 0; i < SMTPD_XA_COUNT; i++) {
		free(xa->value[i]);
		xa->value[i] = NULL;
	}
	xa->given = 0;
}

/*
 * One attribute's value: checked, normalized, or the 501 reply.  Names
 * and addresses fail closed; HELO, PROTO (XFORWARD) and IDENT are
 * neutered instead, as Postfix does.
 */
static int
smtpd_xattr_value(bool xforward, int attr, char *value, int *status,
    struct str *reply)
{
	bool unavail = strcmp(value, "[UNAVAILABLE]") == 0;
	bool temp = strcmp(value, "[TEMPUNAVAIL]") == 0;

	*status = SMTPD_XV_VALUE;
	switch (attr) {
	case SMTPD_XA_NAME:
	case SMTPD_XA_REVERSE_NAME:
		if (unavail || (temp && !xforward)) {
			*status = unavail ? SMTPD_XV_UNAVAIL : SMTPD_XV_TEMP;
			return 0;
		}
		if (smtpd_valid_hostname(value))
			return 0;
		break;
	case SMTPD_XA_ADDR:
	case SMTPD_XA_DESTADDR:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (smtpd_xattr_addr(value))
			return 0;
		break;
	case SMTPD_XA_PORT:
	case SMTPD_XA_DESTPORT:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (smtpd_xattr_port(value))
			return 0;
		break;
	case SMTPD_XA_PROTO:
		if (xforward) {
			if (unavail)
				*status = SMTPD_XV_UNAVAIL;
			else
				smtpd_xattr_neuter(value);
			return 0;
		}
		if (strcasecmp(value, "SMTP") == 0 ||
		    strcasecmp(value, "ESMTP") == 0) {
			for (char *cp = value; *cp; cp++)
				if (*cp >= 'a' && *cp <= 'z')
					*cp = (char)(*cp - 'a' + 'A');
			return 0;
		}
		break;
	case SMTPD_XA_SOURCE:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (strcasecmp(value, "LOCAL") == 0 ||
		    strcasecmp(value, "REMOTE") == 0) {
			for (char *cp = value; *cp; cp++)
				if (*cp >= 'A' && *cp <= 'Z')
					*cp = (char)(*cp - 'A' + 'a');
			return 0;
		}
		break;
	case SMTPD_XA_HELO:
	case SMTPD_XA_IDENT:
		if (unavail)
			*status = SMTPD_XV_UNAVAIL;
		else
			smtpd_xattr_neuter(value);
		return 0;
	case SMTPD_XA_LOGIN:
		if (unavail)
			*status = SMTPD_XV_UNAVAIL;
		return 0;
	}
	str_fmt(reply, "501 5.5.4 Bad %s syntax: %s", smtpd_xattr_names[attr],
	    value);
	return -1;
}

/*
 * Parse "NAME=value ..." of XCLIENT (xforward false) or XFORWARD into xa
 * (which the caller frees).  0, or -1 with Postfix's 501 reply in reply;
 * a later attribute of the same name replaces an earlier one.
 */
int
smtpd_xattr_parse(bool xforward, const char *arg, struct smtpd_xattrs *xa,
    struct str *reply)
{
	unsigned allowed =
	    xforward ? SMTPD_XFORWARD_ATTRS : SMTPD_XCLIENT_ATTRS;
	struct str *tok = str_new(64), *dec = str_new(64);
	const char *cp = arg, *eq;
	int attr, rc = -1;
	size_t n;

	memset(xa, 0, sizeof(*xa));
	for (;;) {
		cp += strspn(cp, " \t");
		if (*cp == 0)
			break;
		n = strcspn(cp, " \t");
		str_setn(tok, cp, n);
		cp += n;
		eq = strchr(str_ptr(tok), '=');
		if (eq == NULL || eq[1] == 0) {
			str_set(reply,
			    "501 5.5.4 Error: attribute=value expected");
			goto out;
		}
		if (strlen(eq + 1) > SMTPD_XATTR_MAX) {
			str_set(reply,
			    "501 5.5.4 Error: attribute value too long");
			goto out;
		}
		for (attr = 0; attr < SMTPD_XA_COUNT; attr++)
			if ((allowed & (1u << attr)) &&
			    strlen(smtpd_xattr_names[attr]) ==
				(size_t)(eq - str_ptr(tok)) &&
			    strncasecmp(str_ptr(tok), smtpd_xattr_names[attr],
				(size_t)(eq - str_ptr(tok))) == 0)
				break;
		if (attr == SMTPD_XA_COUNT) {
			str_fmt(reply, "501 5.5.4 Bad %s attribute name: %.*s",
			    xforward ? "XFORWARD" : "XCLIENT",
			    (int)(eq - str_ptr(tok)), str_ptr(tok));
			goto out;
		}
		/* Postfix uses the raw value when it is not valid xtext. */
		if (smtpd_xtext_decode(dec, eq + 1) < 0 ||
		    memchr(str_ptr(dec), 0, str_len(dec)) != NULL)
			str_set(dec, eq + 1);
		free(xa->value[attr]);
		xa->value[attr] = xstrdup(str_ptr(dec));
		xa->given |= 1u << attr;
		if (smtpd_xattr_value(xforward, attr, xa->value[attr],
			&xa->status[attr], reply) < 0)
			goto out;
	}
	rc = 0;
out:
	str_free(tok);
	str_free(dec);
	return rc;
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
	const char *proto = fwd ? xf->proto : state->proto;

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
	rec_fmt(out, REC_TYPE_ATTR, "log_protocol_name=%s",
	    proto ? proto : "SMTP");
}

/*
 * The HAProxy PROXY protocol.  The header is peeked at once when the
 * first bytes arrive and must be complete then, as in Postfix (a header
 * split over two segments fails: observed); only its own bytes are then
 * consumed, so pipelined SMTP input after it stays for smtpd_proto().
 */
static const unsigned char smtpd_pp2_sig[12] = { '\r', '\n', '\r', '\n', 0,
	'\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

/* A v1 port: decimal, no leading zero, at most 65535 (Postfix). */
static bool
smtpd_proxy_port(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != 0 || (s[0] == '0' && n > 1))
		return false;
	return atoi(s) <= 65535;
}

/* An address of the given family, printed the way smtpd logs it. */
static bool
smtpd_proxy_addr(const char *s, int family, char *out, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(family, s, bin) != 1)
		return false;
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)bin))
		return inet_ntop(AF_INET, bin + 12, out, (socklen_t)size) !=
		       NULL;
	return inet_ntop(family, bin, out, (socklen_t)size) != NULL;
}

static int
smtpd_proxy_v1(const char *buf, size_t len, struct smtpd_proxy_hdr *hdr,
    const char **why)
{
	const char *nl = memchr(buf, '\n', len);
	char *line, *cp, *tok;
	int family = 0, rc = -1;

	if (nl == NULL) {
		*why = "missing protocol header terminator";
		return -1;
	}
	hdr->len = (size_t)(nl - buf) + 1;
	line = xmalloc(hdr->len);
	memcpy(line, buf + 6, hdr->len - 6);
	line[hdr->len - 6 - 1] = 0;
	cp = line;
	do
		tok = strsep(&cp, " \r");
	while (tok && *tok == 0);
	if (tok && strcmp(tok, "TCP4") == 0)
		family = AF_INET;
	else if (tok && strcmp(tok, "TCP6") == 0)
		family = AF_INET6;
	if (family == 0) {
		*why = "bad or missing protocol type";
		goto out;
	}
#define NEXT()                                                                 \
	do                                                                     \
		tok = strsep(&cp, " \r");                                      \
	while (tok && *tok == 0)
	NEXT();
	if (!tok || !smtpd_proxy_addr(tok, family, hdr->client_addr,
			sizeof(hdr->client_addr))) {
		*why = "bad or missing client address";
		goto out;
	}
	NEXT();
	if (!tok || !smtpd_proxy_addr(tok, family, hdr->server_addr,
			sizeof(hdr->server_addr))) {
		*why = "bad or missing server address";
		goto out;
	}
	NEXT();
	if (!tok || !smtpd_proxy_port(tok)) {
		*why = "bad or missing client port";
		goto out;
	}
	str_set(hdr->client_port, tok);
	NEXT();
	if (!tok || !smtpd_proxy_port(tok)) {
		*why = "bad or missing server port";
		goto out;
	}
	str_set(hdr->server_port, tok);
#undef NEXT
	rc = 0;
out:
	free(line);
	return rc;
}

/* A binary IPv6 address as smtpd prints it (IPv4-mapped as IPv4). */
static bool
smtpd_proxy_v6(const unsigned char *bin, char *out, size_t size)
{
	struct in6_addr a;

	memcpy(&a, bin, sizeof(a));
	if (IN6_IS_ADDR_V4MAPPED(&a))
		return inet_ntop(AF_INET, bin + 12, out, (socklen_t)size) !=
		       NULL;
	return inet_ntop(AF_INET6, &a, out, (socklen_t)size) != NULL;
}

static int
smtpd_proxy_v2(const unsigned char *buf, size_t len,
    struct smtpd_proxy_hdr *hdr, const char **why)
{
	size_t body = ((size_t)buf[14] << 8) | buf[15];
	if ((buf[12] & 0xf0) != 0x20) {
		*why = "unrecognized protocol version";
		return -1;
	}
	if ((buf[12] & 0x0f) > 1) {
		*why = "bad command in proxy header";
		return -1;
	}
	if (len < 16 + body) {
		*why = "short version 2 protocol header";
		return -1;
	}
	hdr->len = 16 + body;
	/* LOCAL: a health check from the proxy itself; keep the peer. */
	if ((buf[12] & 0x0f) == 0) {
		hdr->local = true;
		return 0;
	}
	/* TCP over IPv4 or IPv6; TLVs after the addresses are skipped. */
	if (buf[13] == 0x11) {
		if (body < 12) {
			*why = "short address field";
			return -1;
		}
		inet_ntop(AF_INET, buf + 16, hdr->client_addr,
		    sizeof(hdr->client_addr));
		inet_ntop(AF_INET, buf + 20, hdr->server_addr,
		    sizeof(hdr->server_addr));
		buf += 24;
	} else if (buf[13] == 0x21) {
		if (body < 36) {
			*why = "short address field";
			return -1;
		}
		if (!smtpd_proxy_v6(buf + 16, hdr->client_addr,
			sizeof(hdr->client_addr)) ||
		    !smtpd_proxy_v6(buf + 32, hdr->server_addr,
			sizeof(hdr->server_addr))) {
			*why = "short address field";
			return -1;
		}
		buf += 48;
	} else {
		*why = "unsupported network protocol";
		return -1;
	}
	str_fmt(hdr->client_port, "%u", ((unsigned)buf[0] << 8) | buf[1]);
	str_fmt(hdr->server_port, "%u", ((unsigned)buf[2] << 8) | buf[3]);
	return 0;
}

/*
 * Parse a PROXY v1 or v2 header at the start of buf (len bytes, all that
 * had arrived).  0 with hdr filled (hdr->len bytes belong to the header),
 * or -1 with Postfix's reason in *why.  hdr's strings are the caller's.
 */
int
smtpd_proxy_parse(const char *buf, size_t len, struct smtpd_proxy_hdr *hdr,
    const char **why)
{
	hdr->len = 0;
	hdr->local = false;
	hdr->client_addr[0] = hdr->server_addr[0] = 0;
	str_reset(hdr->client_port);
	str_reset(hdr->server_port);
	if (len >= 16 && memcmp(buf, smtpd_pp2_sig, sizeof(smtpd_pp2_sig)) == 0)
		return smtpd_proxy_v2((const unsigned char *)buf, len, hdr,
		    why);
	if (len >= 6 && memcmp(buf, "PROXY ", 6) == 0)
		return smtpd_proxy_v1(buf, len, hdr, why);
	*why =
	    len < 16 ? "short protocol header" : "unrecognized protocol header";
	return -1;
}

/* Bytes as Postfix's warning prints them: C escapes, octal for the rest. */
void
smtpd_proxy_escape(struct str *out, const char *buf, size_t len)
{
	static const char named[] = "\aa\bb\ff\nn\rr\tt\vv\\\\";

	str_reset(out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		const char *np = c ? strchr(named, c) : NULL;

		if (np && (np - named) % 2 == 0)
			str_catfmt(out, "\\%c", np[1]);
		else if (c < 32 || c >= 127)
			str_catfmt(out, "\\%03o", c);
		else
			str_catc(out, (char)c);
	}
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
