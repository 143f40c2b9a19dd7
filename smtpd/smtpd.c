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
#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lib/util/dns.h"
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

/* Does host resolve (through dns.c) to the address bytes in want? */
static int
smtpd_peer_forward(const char *host, const unsigned char *want, size_t len)
{
	struct dns_reply *r = NULL;
	size_t i;
	int rc;

	rc = dns_lookup_addr(host, 0, len == 4, len == 16, &r, NULL);
	if (rc == DNS_OK) {
		rc = DNS_NOTFOUND;
		for (i = 0; i < r->count; i++)
			if (r->rr[i].addr_len == len &&
			    memcmp(r->rr[i].addr, want, len) == 0)
				rc = DNS_OK;
		if (rc != DNS_OK)
			rc = -1; /* resolves, but not to this address */
	}
	dns_reply_free(r);
	return rc;
}

/* The same through getaddrinfo, for names from /etc/hosts. */
static int
smtpd_peer_forward_nss(const char *host, const char *addr)
{
	char cand[NI_MAXHOST];
	struct addrinfo hints, *res, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return rc == EAI_AGAIN ? DNS_RETRY : DNS_NOTFOUND;
	rc = -1;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, cand, sizeof(cand),
			NULL, 0, NI_NUMERICHOST) == 0 &&
		    strcmp(cand, addr) == 0)
			rc = DNS_OK;
	freeaddrinfo(res);
	return rc;
}

/*
 * The name /etc/hosts gives an address.  Looked at before DNS, as the
 * system resolver's "files dns" order does for Postfix, so that loopback
 * clients never wait for a name server.
 */
static bool
smtpd_peer_hosts(int family, const unsigned char *bytes, size_t len,
    struct str *name)
{
	struct hostent *he;
	bool found = false;

	sethostent(0);
	while (!found && (he = gethostent()) != NULL) {
		if (he->h_addrtype != family || (size_t)he->h_length != len)
			continue;
		for (char **a = he->h_addr_list; *a && !found; a++)
			if (memcmp(*a, bytes, len) == 0) {
				str_set(name, he->h_name);
				str_lower(name);
				found = true;
			}
	}
	endhostent();
	return found;
}

/*
 * The client's host name as Postfix finds it: the PTR name (reverse_name)
 * is verified only when it resolves forward to the client address (name);
 * else "unknown", with SMTPD_PEER_TEMP when DNS failed temporarily.  The
 * names come from /etc/hosts first, then from DNS through dns.c (so tests
 * can fake them), then from the system's resolver when DNS has no PTR
 * record.
 */
static void
smtpd_peer_name(struct smtpd_state *state)
{
	const char *addr = str_ptr(state->addr);
	struct dns_reply *r = NULL;
	struct str *ptr = str_new(64);
	struct sockaddr_storage ss;
	unsigned char bytes[16];
	char host[NI_MAXHOST];
	size_t len;
	int rc, gai;
	bool nss = false;

	str_set(state->name, "unknown");
	str_set(state->reverse_name, "unknown");
	state->name_status = state->reverse_name_status = SMTPD_PEER_PERM;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, bytes) == 1) {
		len = 4;
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, bytes, 4);
	} else if (inet_pton(AF_INET6, addr, bytes) == 1) {
		len = 16;
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, bytes, 16);
	} else
		goto out;
	if (smtpd_peer_hosts(len == 4 ? AF_INET : AF_INET6, bytes, len,
		state->name)) {
		str_set(state->reverse_name, str_ptr(state->name));
		state->name_status = state->reverse_name_status = SMTPD_PEER_OK;
		goto out;
	}
	if (dns_reverse(addr, NULL, ptr) < 0)
		goto out;
	rc = dns_lookup(str_ptr(ptr), DNS_T_PTR, 0, &r, NULL);
	if (rc == DNS_RETRY) {
		state->name_status = state->reverse_name_status =
		    SMTPD_PEER_TEMP;
		goto out;
	}
	if (rc == DNS_OK && r->rr[0].data[0]) {
		str_set(state->reverse_name, r->rr[0].data);
	} else {
		gai = getnameinfo((struct sockaddr *)&ss,
		    len == 4 ? sizeof(struct sockaddr_in)
			     : sizeof(struct sockaddr_in6),
		    host, sizeof(host), NULL, 0, NI_NAMEREQD);
		if (gai != 0) {
			if (gai == EAI_AGAIN)
				state->name_status =
				    state->reverse_name_status =
					SMTPD_PEER_TEMP;
			goto out;
		}
		str_set(state->reverse_name, host);
		str_lower(state->reverse_name);
		nss = true;
	}
	state->reverse_name_status = SMTPD_PEER_OK;
	rc = nss ? smtpd_peer_forward_nss(str_ptr(state->reverse_name), addr)
		 : smtpd_peer_forward(str_ptr(state->reverse_name), bytes, len);
	if (rc == DNS_OK) {
		str_set(state->name, str_ptr(state->reverse_name));
		state->name_status = SMTPD_PEER_OK;
	} else if (rc == -1) {
		msg_warn("hostname %s does not resolve to address %s",
		    str_ptr(state->reverse_name), addr);
	} else {
		msg_warn("hostname %s does not resolve to address %s: %s",
		    str_ptr(state->reverse_name), addr,
		    rc == DNS_RETRY ? "Temporary failure in name resolution"
				    : "Name or service not known");
		if (rc == DNS_RETRY)
			state->name_status = SMTPD_PEER_TEMP;
	}
out:
	dns_reply_free(r);
	str_free(ptr);
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
	smtpd_peer_name(state);
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
		state.standalone = true;
		str_set(state.name, "localhost");
		str_set(state.reverse_name, "localhost");
		str_set(state.addr, "127.0.0.1");
		/* sendmail -bs: mail goes through postdrop (Postfix) */
		if (!smtpd_on_socket(stream_fd(st))) {
			state.local_pipe = true;
			if (smtpd_standalone_begin(st) < 0)
				msg_fatal("cannot set up the stand-alone mode");
		}
	} else {
		str_set(state.addr, addr);
		smtpd_peer_ports(&state);
		smtpd_peer_name(&state);
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
