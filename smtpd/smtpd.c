/*
 * smtpd - receive mail over SMTP and pass it to the cleanup service.
 * Run by master, one client per process (DAEMON_SINGLE), as mail_owner,
 * chroot allowed; -S serves one client on standard input.
 * Reads smtpd_* parameters, mynetworks and the relay restrictions; writes
 * only via cleanup (public/cleanup); asks trivial-rewrite for the relay
 * decision.  Faces the network: every command and content line is bounded
 * by line_length_limit, the message by message_size_limit, the number of
 * recipients by smtpd_recipient_limit, errors by smtpd_hard_error_limit
 * and every wait by smtpd_timeout.
 *
 * The SMTP conversation and its replies follow Postfix's smtpd exactly;
 * see smtpd_proto.c.  This file holds the session set-up: the client's
 * name and address, the log lines at connect and disconnect.
 */
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"

static struct match_list *smtpd_mynetworks;

/*
 * The client's verified host name as Postfix finds it: the reverse lookup
 * must resolve forward to the same address, else "unknown".
 */
static void
smtpd_peer_name_sa(const struct sockaddr *sa, socklen_t len, struct str *name)
{
	char host[NI_MAXHOST], addr[NI_MAXHOST], cand[NI_MAXHOST];
	struct addrinfo hints, *res, *ai;

	str_set(name, "unknown");
	if (getnameinfo(sa, len, addr, sizeof(addr), NULL, 0,
		NI_NUMERICHOST) != 0)
		return;
	if (getnameinfo(sa, len, host, sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = sa->sa_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, cand, sizeof(cand),
			NULL, 0, NI_NUMERICHOST) == 0 &&
		    strcmp(cand, addr) == 0) {
			str_set(name, host);
			str_lower(name);
			break;
		}
	}
	freeaddrinfo(res);
}

static void
smtpd_peer_name(int fd, struct str *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	str_set(name, "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		smtpd_peer_name_sa((struct sockaddr *)&ss, len, name);
}

void
smtpd_peer_trust(struct smtpd_state *state)
{
	state->trusted = match_list_hostaddr(smtpd_mynetworks,
			     str_ptr(state->name), str_ptr(state->addr)) == 1;
}

/* The name of a new client address (PROXY), looked up as at connect. */
void
smtpd_peer_rename(struct smtpd_state *state)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	str_set(state->name, "unknown");
	if (getaddrinfo(str_ptr(state->addr), NULL, &hints, &res) == 0) {
		smtpd_peer_name_sa(res->ai_addr, res->ai_addrlen, state->name);
		freeaddrinfo(res);
	}
	str_set(state->reverse_name, str_ptr(state->name));
	state->name_status = state->reverse_name_status =
	    strcmp(str_ptr(state->name), "unknown") == 0 ? SMTPD_PEER_PERM
							 : SMTPD_PEER_OK;
	str_fmt(state->namaddr, "%s[%s]", str_ptr(state->name),
	    str_ptr(state->addr));
	smtpd_peer_trust(state);
}

/* Client port, server address and port (log_client_port and XCLIENT). */
static void
smtpd_peer_ports(struct smtpd_state *state)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	int fd = stream_fd(state->st);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, NULL, 0, serv,
		sizeof(serv), NI_NUMERICSERV) == 0)
		str_set(state->port, serv);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
		sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
		str_set(state->server_addr, host);
		str_set(state->server_port, serv);
	}
}

static bool
smtpd_on_socket(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

static void
smtpd_service(struct stream *st, const char *service, char **argv)
{
	struct smtpd_state state;
	struct str *reply;
	char addr[NI_MAXHOST];

	(void)service;
	(void)argv;
	memset(&state, 0, sizeof(state));
	state.st = st;
	state.name = str_new(64);
	state.reverse_name = str_new(64);
	state.addr = str_new(64);
	state.port = str_new(8);
	state.namaddr = str_new(128);
	state.server_addr = str_new(64);
	state.server_port = str_new(8);
	str_set(state.port, "unknown");
	if (sock_peer_addr(stream_fd(st), addr, sizeof(addr)) < 0 ||
	    strcmp(addr, "local") == 0) {
		/* -S on a pipe or terminal: Postfix's stand-alone client */
		str_set(state.name, "localhost");
		str_set(state.reverse_name, "localhost");
		str_set(state.addr, "127.0.0.1");
		/* sendmail -bs: mail goes through postdrop (Postfix) */
		if (!smtpd_on_socket(stream_fd(st)) &&
		    smtpd_standalone_begin(st) < 0)
			msg_fatal("cannot set up the stand-alone mode");
	} else {
		str_set(state.addr, addr);
		smtpd_peer_ports(&state);
		smtpd_peer_name(stream_fd(st), state.name);
		str_set(state.reverse_name, str_ptr(state.name));
		if (strcmp(str_ptr(state.name), "unknown") == 0)
			state.name_status = state.reverse_name_status =
			    SMTPD_PEER_PERM;
	}
	str_fmt(state.namaddr, "%s[%s]", str_ptr(state.name),
	    str_ptr(state.addr));
	if (smtpd_proxy_protocol(&state) < 0) {
		/* Postfix: the real client, a 421 reply, no commands */
		msg_info("connect from %s", str_ptr(state.namaddr));
		smtpd_reply(&state, "421 4.3.0 %s Server local error",
		    var_myhostname);
		stream_flush(st);
		smtpd_log_disconnect(&state);
	} else {
		smtpd_peer_trust(&state);
		msg_info("connect from %s", str_ptr(state.namaddr));
		reply = str_new(100);
		if (smtpd_anvil_connect(&state, reply) < 0) {
			smtpd_reply(&state, "%s", str_ptr(reply));
			stream_flush(st);
		} else if (smtpd_tls_wrapper(&state) == 0) {
			smtpd_proto(&state);
		}
		str_free(reply);
		smtpd_log_disconnect(&state);
	}
	smtpd_anvil_disconnect(&state);
	smtpd_standalone_end();
	smtpd_tls_end(&state);
	smtpd_sasl_end(&state);
	/* XCLIENT LOGIN's (smtpd_sasl_end leaves them NULL when it freed) */
	free(state.sasl_method);
	free(state.sasl_username);
	smtpd_policy_end(&state);
	smtpd_check_end(&state);
	str_free(state.name);
	str_free(state.reverse_name);
	str_free(state.addr);
	str_free(state.port);
	str_free(state.namaddr);
	str_free(state.server_addr);
	str_free(state.server_port);
}

static void
smtpd_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	smtpd_tls_pre_jail();
}

static void
smtpd_post_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	smtpd_mynetworks = match_list_new("mynetworks", var_mynetworks, 0);
	smtpd_check_init();
	smtpd_xclient_init();
	smtpd_tls_init();
	smtpd_sasl_init();
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_SINGLE,
		.service = smtpd_service,
		.pre_jail = smtpd_pre_jail,
		.post_jail = smtpd_post_jail,
	};

	return daemon_main(argc, argv, &spec);
}
