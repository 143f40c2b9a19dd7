/*
 * smtpd_policy - check_policy_service SERVICE: Postfix's policy delegation
 * protocol.  SERVICE is inet:host:port, unix:/path or a path relative to
 * the queue directory (private/policy).  Each request is "name=value"
 * lines and an empty line; the server answers "action=VALUE" lines and an
 * empty line, VALUE being an access(5) result.
 *
 * Connections stay open between requests and sessions of this process,
 * closed after smtpd_policy_service_max_idle without use, at
 * smtpd_policy_service_max_ttl age, or after request_limit requests.  A
 * server that cannot be reached, times out (smtpd_policy_service_timeout)
 * or answers garbage is tried smtpd_policy_service_try_limit times,
 * smtpd_policy_service_retry_delay apart; then
 * smtpd_policy_service_default_action applies.  Every line read is
 * bounded by line_length_limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

struct policy_conn {
	char *service;
	struct stream *st;
	time_t opened;
	time_t used;
	int requests;
	struct policy_conn *next;
};

static struct policy_conn *policy_conns;

static struct policy_conn *
policy_find(const char *service)
{
	struct policy_conn *c;

	for (c = policy_conns; c; c = c->next)
		if (strcmp(c->service, service) == 0)
			return c;
	c = xcalloc(1, sizeof(*c));
	c->service = xstrdup(service);
	c->next = policy_conns;
	policy_conns = c;
	return c;
}

static void
policy_close(struct policy_conn *c)
{
	c->st = stream_close(c->st);
	c->requests = 0;
}

/* Connect to inet:host:port, unix:path or a plain path; fd or -1. */
static int
policy_connect(const char *service, struct str *why)
{
	const char *colon;
	struct str *host;
	int fd, ms = var_smtpd_policy_service_timeout * 1000;

	if (strncmp(service, "inet:", 5) == 0) {
		service += 5;
		if ((colon = strrchr(service, ':')) == NULL) {
			str_fmt(why, "missing port in \"%s\"", service);
			return -1;
		}
		host = str_new(64);
		str_setn(host, service, (size_t)(colon - service));
		fd = sock_inet_connect(str_ptr(host), colon + 1, ms, why);
		str_free(host);
		return fd;
	}
	if (strncmp(service, "unix:", 5) == 0)
		service += 5;
	return sock_unix_connect(service, ms, why);
}

/* The per-message instance attribute: the same for all its requests. */
static const char *
policy_instance(struct smtpd_state *state)
{
	static struct str *instance;
	static const char *last_sender;
	static unsigned long count;
	struct timeval tv;

	if (instance == NULL)
		instance = str_new(40);
	if (str_len(instance) == 0 || state->sender != last_sender) {
		gettimeofday(&tv, NULL);
		str_fmt(instance, "%lx.%lx.%lx.%lx", (unsigned long)getpid(),
		    (unsigned long)tv.tv_sec, (unsigned long)tv.tv_usec,
		    ++count);
		last_sender = state->sender;
	}
	return str_ptr(instance);
}

static void
policy_attr(struct stream *st, const char *name, const char *value)
{
	stream_printf(st, "%s=%s\n", name, value ? value : "");
}

static void
policy_request(struct smtpd_state *state, const struct smtpd_check_what *what,
    struct stream *st)
{
	const char *sender = what->sender ? what->sender : state->sender;
	char num[32];

	policy_attr(st, "request", "smtpd_access_policy");
	policy_attr(st, "protocol_state", what->stage);
	policy_attr(st, "protocol_name", state->proto);
	policy_attr(st, "helo_name", state->helo);
	policy_attr(st, "queue_id", state->queue_id);
	policy_attr(st, "sender", sender);
	policy_attr(st, "recipient", what->recipient);
	snprintf(num, sizeof(num), "%d", state->rcpt_count);
	policy_attr(st, "recipient_count", num);
	policy_attr(st, "client_address", str_ptr(state->addr));
	policy_attr(st, "client_name", str_ptr(state->name));
	policy_attr(st, "reverse_client_name", str_ptr(state->reverse_name));
	policy_attr(st, "instance", policy_instance(state));
	policy_attr(st, "sasl_method", state->sasl_method);
	policy_attr(st, "sasl_username", state->sasl_username);
	policy_attr(st, "sasl_sender", state->sasl_sender);
	snprintf(num, sizeof(num), "%ld", state->size);
	policy_attr(st, "size", num);
	/* The TLS attributes: empty until smtpd_tls.c exports them. */
	policy_attr(st, "ccert_subject", "");
	policy_attr(st, "ccert_issuer", "");
	policy_attr(st, "ccert_fingerprint", "");
	policy_attr(st, "ccert_pubkey_fingerprint", "");
	policy_attr(st, "encryption_protocol", "");
	policy_attr(st, "encryption_cipher", "");
	policy_attr(st, "encryption_keysize", "0");
	policy_attr(st, "etrn_domain", what->etrn);
	policy_attr(st, "stress", "");
	policy_attr(st, "client_port", str_ptr(state->port));
	policy_attr(st, "policy_context",
	    var_smtpd_policy_service_policy_context);
	policy_attr(st, "server_address", str_ptr(state->server_addr));
	policy_attr(st, "server_port", str_ptr(state->server_port));
	stream_puts(st, "\n");
}

/*
 * One exchange on the (possibly reused) connection: 0 with the action in
 * action, or -1 with the reason in why (the connection is then closed).
 */
static int
policy_exchange(struct smtpd_state *state, const struct smtpd_check_what *what,
    struct policy_conn *c, struct str *action, struct str *why)
{
	struct str *line = str_new(100);
	time_t now = time(NULL);
	bool have = false;
	int fd, rc = -1, status;

	if (c->st &&
	    (now - c->used >= var_smtpd_policy_service_max_idle ||
		now - c->opened >= var_smtpd_policy_service_max_ttl ||
		(var_smtpd_policy_service_request_limit > 0 &&
		    c->requests >= var_smtpd_policy_service_request_limit)))
		policy_close(c);
	if (c->st == NULL) {
		if ((fd = policy_connect(c->service, why)) < 0)
			goto out;
		c->st = stream_open(fd);
		c->opened = now;
	}
	c->used = now;
	c->requests++;
	stream_set_timeout(c->st, var_smtpd_policy_service_timeout * 1000);
	stream_set_deadline(c->st, var_smtpd_policy_service_timeout * 1000);
	policy_request(state, what, c->st);
	if (stream_flush(c->st) < 0) {
		str_set(why, "write error");
		goto out;
	}
	for (;;) {
		status = stream_getline(c->st, line, var_line_length_limit);
		if (status != STREAM_OK) {
			str_set(why, status == STREAM_TIMEOUT ? "timeout"
				     : status == STREAM_TOOLONG
					 ? "reply too long"
					 : "lost connection");
			goto out;
		}
		if (str_len(line) && str_ptr(line)[str_len(line) - 1] == '\r')
			str_truncate(line, str_len(line) - 1);
		if (str_len(line) == 0)
			break;
		if (strncmp(str_ptr(line), "action=", 7) == 0 && !have) {
			str_set(action, str_ptr(line) + 7);
			have = true;
		} else if (strchr(str_ptr(line), '=') == NULL) {
			str_fmt(why, "malformed reply \"%.100s\"",
			    str_ptr(line));
			goto out;
		}
	}
	if (!have) {
		str_set(why, "missing attribute action");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && c->st)
		policy_close(c);
	str_free(line);
	return rc;
}

/* The name and class an access result rejects, from the list's subject. */
static void
policy_subject(struct smtpd_state *state, const struct smtpd_check_what *what,
    const char **name, const char **class)
{
	const char *list = what->list ? what->list : "";

	if (strstr(list, "client")) {
		*name = str_ptr(state->namaddr);
		*class = "Client host";
	} else if (strstr(list, "helo")) {
		*name = state->helo ? state->helo : "";
		*class = "Helo command";
	} else if (strstr(list, "sender") ||
		   (what->recipient == NULL && what->sender)) {
		*name = what->sender ? what->sender : "";
		*class = "Sender address";
	} else if (strstr(list, "etrn") || what->etrn) {
		*name = what->etrn ? what->etrn : "";
		*class = "Etrn command";
	} else if (strstr(list, "data") || strstr(list, "end_of_data")) {
		*name = "<>";
		*class = "Data command";
	} else {
		*name = what->recipient ? what->recipient : "";
		*class = "Recipient address";
	}
}

int
smtpd_check_policy(struct smtpd_state *state,
    const struct smtpd_check_what *what, const char *service)
{
	struct policy_conn *c = policy_find(service);
	struct str *action = str_new(100), *why = str_new(100);
	const char *name, *class;
	int tries, rc;

	for (tries = 0; tries < var_smtpd_policy_service_try_limit; tries++) {
		if (tries > 0)
			sleep((unsigned)var_smtpd_policy_service_retry_delay);
		if (policy_exchange(state, what, c, action, why) == 0)
			break;
		msg_warn("problem talking to server %s: %s", service,
		    str_ptr(why));
	}
	if (tries >= var_smtpd_policy_service_try_limit)
		str_set(action, var_smtpd_policy_service_default_action);
	policy_subject(state, what, &name, &class);
	rc = smtpd_check_access_result(state, what, str_ptr(action),
	    "policy query", name, class);
	str_free(action);
	str_free(why);
	return rc;
}

/* Connections outlive sessions (max_idle, max_ttl decide); nothing here. */
void
smtpd_policy_end(struct smtpd_state *state)
{
	(void)state;
}
