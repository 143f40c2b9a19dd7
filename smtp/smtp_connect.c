/*
 * smtp_connect - set up one SMTP or LMTP session with one server: connect
 * (TCP or UNIX-domain, within smtp_connect_timeout), greeting, EHLO/LHLO
 * (HELO fallback) with the keywords the server offers, STARTTLS as the
 * TLS policy asks (again in plain text when "may" fails), AUTH; then
 * smtp_proto.c runs the mail transaction.  Session failures are recorded
 * for every pending recipient with Postfix's reasons.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/dsn.h"
#include "lib/mail/ehlo_mask.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "smtp.h"

static struct maps *smtp_discard_maps;
static bool smtp_connect_ready;

static void
smtp_connect_init(void)
{
	if (smtp_connect_ready)
		return;
	smtp_connect_ready = true;
	if (*SMTP_DISCARD_EHLO_MAPS)
		smtp_discard_maps = maps_new(
		    smtp_lmtp ? "lmtp_discard_lhlo_keyword_address_maps"
			      : "smtp_discard_ehlo_keyword_address_maps",
		    SMTP_DISCARD_EHLO_MAPS, DICT_FLAGS_READ);
}

/* s without the [] around it, in out. */
static void
smtp_unbracket(struct str *out, const char *s)
{
	size_t n = strlen(s);

	if (n > 2 && s[0] == '[' && s[n - 1] == ']')
		str_setn(out, s + 1, n - 2);
	else
		str_set(out, s);
}

/*
 * Does inet_interfaces name exactly one address of family, and not a
 * loopback one?  Then it is in out.  Only numerical addresses count: a
 * host name, "all" or "loopback-only" means no single known address.
 */
static bool
smtp_one_interface(int family, struct str *out)
{
	struct argv *ifs = argv_split(var_inet_interfaces, ", \t\r\n");
	struct str *item = str_new(64);
	int other_family = family == AF_INET ? AF_INET6 : AF_INET;
	int count = 0;
	bool unknown = false;

	for (size_t i = 0; i < ifs->argc; i++) {
		unsigned char b[16];

		smtp_unbracket(item, ifs->argv[i]);
		if (inet_pton(family, str_ptr(item), b) == 1) {
			count++;
			str_set(out, str_ptr(item));
			if (family == AF_INET ? b[0] == 127
					      : memcmp(b, &in6addr_loopback,
						    16) == 0)
				unknown = true;
		} else if (inet_pton(other_family, str_ptr(item), b) != 1) {
			unknown = true;
		}
	}
	argv_free(ifs);
	str_free(item);
	return count == 1 && !unknown;
}

/*
 * The source address for family: smtp_bind_address(6), else the one
 * address of that family in inet_interfaces when it is not a loopback
 * address (Postfix's rule for virtual IP hosting).  "" for none.
 */
static const char *
smtp_bind_source(int family, const char **param)
{
	static struct str *buf;
	const char *value = family == AF_INET ? SMTP_VAR(bind_address)
					      : SMTP_VAR(bind_address6);

	*param = family == AF_INET
		     ? (smtp_lmtp ? "lmtp_bind_address" : "smtp_bind_address")
		     : (smtp_lmtp ? "lmtp_bind_address6" : "smtp_bind_address6");
	if (buf == NULL)
		buf = str_new(64);
	if (*value) {
		smtp_unbracket(buf, value);
		return str_ptr(buf);
	}
	return smtp_one_interface(family, buf) ? str_ptr(buf) : "";
}

/*
 * Bind fd to the source address for family, as Postfix's
 * smtp_connect_addr: a malformed one is fatal; one that cannot be bound
 * is a warning, or with smtp_bind_address_enforce a deferral ("4.4.0
 * server configuration error").  0, or -1 with dsn and why.
 */
static int
smtp_bind(int fd, int family, const char **dsn, struct str *why)
{
	const char *param, *src = smtp_bind_source(family, &param);
	struct addrinfo hints = { 0 }, *res;
	int err;

	if (*src == 0)
		return 0;
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if ((err = getaddrinfo(src, NULL, &hints, &res)) != 0)
		msg_fatal("smtp_connect_addr: bad %s parameter: %s: %s", param,
		    src, gai_strerror(err));
	err = bind(fd, res->ai_addr, res->ai_addrlen) < 0 ? errno : 0;
	freeaddrinfo(res);
	if (err == 0)
		return 0;
	msg_warn("smtp_connect_addr: bind %s: %s", src, strerror(err));
	if (!SMTP_VAR(bind_address_enforce))
		return 0;
	*dsn = "4.4.0";
	str_set(why, "server configuration error");
	return -1;
}

/*
 * A non-blocking connect within smtp_connect_timeout: fd, or -1 with why
 * and the status in *dsn (4.4.1, 4.4.0 for a source address that cannot
 * be bound under smtp_bind_address_enforce).
 */
static int
smtp_connect(struct smtp_session *s, const char **dsn, struct str *why)
{
	struct smtp_addr *a = s->addr;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0, timeout = SMTP_VAR(connect_timeout);

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		if (strlen(a->addr) >= sizeof(sun->sun_path)) {
			str_fmt(why, "connect to %s[%s]: %s", a->host, a->addr,
			    strerror(ENAMETOOLONG));
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->addr, strlen(a->addr) + 1);
		len = sizeof(*sun);
	} else if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)a->port);
		memcpy(&sin->sin_addr, a->bytes, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)a->port);
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		len = sizeof(*sin6);
	}
	*dsn = "4.4.1";
	fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		str_fmt(why, "socket: %s", strerror(errno));
		return -1;
	}
	if (a->family != AF_UNIX && smtp_bind(fd, a->family, dsn, why) < 0) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			socklen_t elen = sizeof(err);
			int n;

			do
				n = poll(&pfd, 1,
				    timeout > 0 ? timeout * 1000 : -1);
			while (n < 0 && errno == EINTR);
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
					      &err, &elen) < 0)
				err = errno;
		}
	}
	if (err != 0) {
		/*
		 * Postfix: "connect to H[A]:P: Connection refused", and for
		 * a UNIX socket "connect to H[/path]: ..." (H: myhostname).
		 */
		if (a->family == AF_UNIX)
			str_fmt(why, "connect to %s[%s]: %s", a->host, a->addr,
			    strerror(err));
		else
			str_fmt(why, "connect to %s[%s]:%d: %s", a->host,
			    a->addr, a->port, strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The EHLO keywords discarded for this server: smtp_discard_ehlo_keyword_
 * address_maps' value for its address, else smtp_discard_ehlo_keywords;
 * logged as Postfix does unless "silent-discard" is among them.
 */
static int
smtp_discard_mask(struct smtp_session *s)
{
	const char *list = SMTP_DISCARD_EHLO, *v;
	struct str *names;
	bool silent = false;
	int mask;

	if (smtp_discard_maps &&
	    (v = maps_find(smtp_discard_maps, s->addr->addr, 0)) != NULL)
		list = v;
	mask = ehlo_mask_parse(list, &silent);
	if (mask != 0 && !silent) {
		names = str_new(64);
		ehlo_mask_str(mask, names);
		/* "EHLO" for LMTP too (Postfix 3.7's lmtp) */
		msg_info("discarding EHLO keywords: %s", str_ptr(names));
		str_free(names);
	}
	return mask;
}

/* The EHLO keywords of the reply that is in s->reply. */
static void
smtp_ehlo_features(struct smtp_session *s, const struct str *raw)
{
	struct argv *lines = argv_split(str_ptr(raw), "\n");
	int discard;

	s->esmtp = true;
	s->pipelining = s->eightbit = s->smtputf8 = s->dsn = false;
	s->starttls = false;
	s->size_limit = 0;
	s->size = false;
	str_reset(s->auth_mechs);
	discard = smtp_discard_mask(s);
	/* The first line is the greeting; keywords follow. */
	for (size_t i = 1; i < lines->argc; i++) {
		struct argv *w = argv_split(lines->argv[i] + 4, " \t=");
		const char *kw;

		if (w->argc == 0) {
			argv_free(w);
			continue;
		}
		kw = w->argv[0];
		if (discard & ehlo_mask_find(kw))
			;
		else if (strcasecmp(kw, "PIPELINING") == 0)
			s->pipelining = true;
		else if (strcasecmp(kw, "8BITMIME") == 0)
			s->eightbit = true;
		else if (strcasecmp(kw, "SMTPUTF8") == 0)
			s->smtputf8 = true;
		else if (strcasecmp(kw, "DSN") == 0)
			s->dsn = true;
		else if (strcasecmp(kw, "STARTTLS") == 0)
			s->starttls = true;
		else if (strcasecmp(kw, "SIZE") == 0) {
			s->size = true;
			s->size_limit = w->argc > 1 ? atol(w->argv[1]) : 0;
			if (s->size_limit < 0)
				s->size_limit = 0;
		} else if (strcasecmp(kw, "AUTH") == 0) {
			for (size_t j = 1; j < w->argc; j++) {
				if (strstr(str_ptr(s->auth_mechs), w->argv[j]))
					continue;
				str_catfmt(s->auth_mechs, "%s%s",
				    str_len(s->auth_mechs) ? " " : "",
				    w->argv[j]);
			}
		}
		argv_free(w);
	}
	argv_free(lines);
}

/*
 * EHLO (LHLO), falling back to HELO for SMTP: 0, or -1 after the session
 * failure was recorded.  The raw reply lines are collected in raw for the
 * keyword scan.
 */
static int
smtp_hello(struct smtp_session *s)
{
	struct str *cmd = str_new(0), *raw = str_new(0), *why = str_new(0);
	struct str *line = str_new(0);
	const char *verb = smtp_lmtp ? "LHLO" : "EHLO";
	int ret = -1, lines = 0, r;

	if (!smtp_lmtp && var_smtp_never_send_ehlo)
		goto helo;
	str_fmt(cmd, "%s %s", verb, SMTP_HELO_NAME);
	if (smtp_cmd(s, SMTP_HELO_TIMEOUT, str_ptr(cmd)) < 0)
		goto io_fail;
	/* Read the reply by hand: the keywords need the lines apart. */
	str_reset(s->reply);
	stream_set_timeout(s->st, SMTP_HELO_TIMEOUT * 1000);
	for (;;) {
		const char *p;

		r = stream_getline(s->st, line, SMTP_REPLY_LINE_MAX);
		if (r != STREAM_OK && r != STREAM_TOOLONG)
			goto io_fail;
		if (str_len(line) && str_ptr(line)[str_len(line) - 1] == '\r')
			str_truncate(line, str_len(line) - 1);
		for (char *q = str_ptr(line); *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = ' ';
		if (lines++ < SMTP_REPLY_LINES_MAX) {
			str_catfmt(raw, "%s\n", str_ptr(line));
			str_catfmt(s->reply, "%s%s",
			    str_len(s->reply) ? " " : "", str_ptr(line));
		}
		p = str_ptr(line);
		if (str_len(line) >= 4 && isdigit((unsigned char)p[0]) &&
		    p[3] == '-')
			continue;
		s->code = atoi(p);
		break;
	}
	if (s->code / 100 == 2) {
		if (smtp_loop_check(s)) {
			smtp_loop_fail(s);
			goto out;
		}
		smtp_ehlo_features(s, raw);
		ret = 0;
		goto out;
	}
	if (smtp_lmtp) {
		str_fmt(why, "host %s refused to talk to me: %s",
		    str_ptr(s->namaddr), str_ptr(s->reply));
		smtp_site_reply(s, str_ptr(why));
		goto out;
	}
helo:
	str_fmt(cmd, "HELO %s", SMTP_HELO_NAME);
	if (smtp_cmd(s, SMTP_HELO_TIMEOUT, str_ptr(cmd)) < 0 ||
	    smtp_reply(s, SMTP_HELO_TIMEOUT) < 0)
		goto io_fail;
	if (s->code / 100 != 2) {
		str_fmt(why, "host %s refused to talk to me: %s",
		    str_ptr(s->namaddr), str_ptr(s->reply));
		smtp_site_reply(s, str_ptr(why));
		goto out;
	}
	s->esmtp = false;
	ret = 0;
	goto out;
io_fail:
	smtp_site_io(s, smtp_lmtp ? "performing the LHLO handshake"
				  : "performing the EHLO handshake");
out:
	str_free(cmd);
	str_free(raw);
	str_free(why);
	str_free(line);
	return ret;
}

static void
smtp_sess_init(struct smtp_session *s, struct smtp_state *state,
    struct smtp_addr *a)
{
	s->state = state;
	s->addr = a;
	s->namaddr = str_new(0);
	s->relay = str_new(0);
	s->reply = str_new(0);
	s->auth_mechs = str_new(0);
	str_fmt(s->namaddr, "%s[%s]", a->host, a->addr);
	if (a->family == AF_UNIX)
		str_set(s->relay, str_ptr(s->namaddr));
	else
		str_fmt(s->relay, "%s[%s]:%d", a->host, a->addr, a->port);
}

static void
smtp_sess_free(struct smtp_session *s)
{
	str_free(s->namaddr);
	str_free(s->relay);
	str_free(s->reply);
	str_free(s->auth_mechs);
}

/* The transaction, then the connection kept (scache) or closed. */
static void
smtp_sess_deliver(struct smtp_session *s)
{
	struct smtp_state *state = s->state;

	state->req->conn_use = s->conn_use;
	if (!state->conn_done) {
		deliver_conn_done(state->req);
		state->conn_done = true;
	}
	s->keep = smtp_reuse_allowed(s);
	smtp_transaction(s);
	if (s->reusable)
		smtp_reuse_save(s);
}

/*
 * Deliver over a cached connection fd to a (features and use count in s,
 * from smtp_reuse_find_*): the connection setup is already done.
 */
void
smtp_session_cached(struct smtp_state *state, struct smtp_session *s,
    struct smtp_addr *a, int fd)
{
	smtp_proto_init();
	smtp_sess_init(s, state, a);
	s->st = stream_open(fd);
	s->conn_use++;
	smtp_sess_deliver(s);
	s->st = stream_close(s->st);
	smtp_sess_free(s);
}

/* Connect to one server (or reuse a cached connection) and deliver. */
void
smtp_session(struct smtp_state *state, struct smtp_addr *a)
{
	struct smtp_session sess = { 0 }, *s = &sess;
	struct smtp_tls_policy pol = { 0 };
	struct str *why = str_new(0);
	const char *conn_dsn;
	bool plain_retry = false;
	int fd;

	smtp_proto_init();
	smtp_connect_init();
	smtp_sess_init(s, state, a);
	smtp_tls_policy(a, &pol);
	if (pol.error) {
		smtp_fail_all(state, NULL, "4.7.5",
		    pol.why ? pol.why
			    : "TLS policy lookup for the next-hop destination "
			      "failed",
		    false);
		goto done;
	}

	/*
	 * A cached connection is plain text: only where the policy allows
	 * that.  When it turns out dead (the server closed it while it was
	 * cached), a new connection takes over.
	 */
	if (pol.level <= SMTP_TLS_MAY) {
		struct smtp_session c = { 0 };
		bool pending = false;

		if ((fd = smtp_reuse_find_endp(state, &c, a)) >= 0) {
			smtp_session_cached(state, &c, a, fd);
			for (size_t i = 0; i < state->req->rcpt_count; i++)
				pending |= !state->rs[i].done;
			if (!pending || !c.io_failed)
				goto done;
		}
	}

again:
	if ((fd = smtp_connect(s, &conn_dsn, why)) < 0) {
		/*
		 * Postfix logs each failed TCP connection, the last one too;
		 * a UNIX socket's failure only in the status=deferred line.
		 */
		if (a->family != AF_UNIX)
			msg_info("%s", str_ptr(why));
		smtp_fail_all(state, NULL, conn_dsn, str_ptr(why), false);
		goto done;
	}
	s->st = stream_open(fd);
	s->conn_start = time(NULL);
	s->conn_use = 1;

	/* smtp_tls_wrappermode: TLS before the greeting. */
	if (SMTP_VAR(tls_wrappermode) && pol.level != SMTP_TLS_NONE) {
		if (smtp_tls_start(s, &pol, why) < 0) {
			smtp_fail_all(state, str_ptr(s->relay), "4.7.5",
			    str_ptr(why), false);
			goto close;
		}
	}

	/* The greeting. */
	if (smtp_reply(s, SMTP_HELO_TIMEOUT) < 0) {
		smtp_site_io(s, "receiving the initial server greeting");
		goto close;
	}
	if (s->code / 100 != 2) {
		str_fmt(why, "host %s refused to talk to me: %s",
		    str_ptr(s->namaddr), str_ptr(s->reply));
		if (s->code / 100 == 5 && SMTP_VAR(skip_5xx_greeting)) {
			struct str *dsn = str_new(0);

			smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
			smtp_fail_all_reply(state, str_ptr(s->relay),
			    str_ptr(dsn), str_ptr(why), false,
			    str_ptr(s->reply));
			str_free(dsn);
		} else {
			smtp_site_reply(s, str_ptr(why));
		}
		goto quit;
	}
	if (smtp_loop_check(s))
		msg_warn("host %s greeted me with my own hostname %s",
		    str_ptr(s->relay), var_myhostname);
	if (smtp_hello(s) < 0)
		goto close;

	/* STARTTLS as the policy asks. */
	if (s->ssl == NULL && !plain_retry && pol.level != SMTP_TLS_NONE) {
		if (!s->starttls) {
			if (pol.level >= SMTP_TLS_ENCRYPT) {
				str_fmt(why,
				    "TLS is required, but was not "
				    "offered by host %s",
				    str_ptr(s->namaddr));
				smtp_fail_all(state, str_ptr(s->relay), "4.7.4",
				    str_ptr(why), false);
				goto quit;
			}
		} else {
			if (smtp_cmd(s, SMTP_VAR(starttls_timeout),
				"STARTTLS") < 0 ||
			    smtp_reply(s, SMTP_VAR(starttls_timeout)) < 0) {
				smtp_site_io(s, "sending STARTTLS command");
				goto close;
			}
			if (s->code / 100 != 2) {
				if (pol.level >= SMTP_TLS_ENCRYPT) {
					str_fmt(why,
					    "TLS is required, but host "
					    "%s refused to start TLS: "
					    "%s",
					    str_ptr(s->namaddr),
					    str_ptr(s->reply));
					smtp_fail_all(state, str_ptr(s->relay),
					    "4.7.4", str_ptr(why), false);
					goto quit;
				}
			} else {
				stream_purge(s->st);
				if (smtp_tls_start(s, &pol, why) < 0) {
					smtp_fail_all(state, str_ptr(s->relay),
					    "4.7.5", str_ptr(why), false);
					if (pol.level == SMTP_TLS_MAY) {
						/* Postfix: again in plain. */
						smtp_tls_stop(s);
						s->st = stream_close(s->st);
						plain_retry = true;
						msg_info("%s", str_ptr(why));
						goto again;
					}
					goto close;
				}
				if (smtp_hello(s) < 0)
					goto close;
			}
		}
	}

	/*
	 * smtp_mx_session_limit counts the sessions that got through the
	 * EHLO and TLS handshakes (Postfix 2.3 and later).
	 */
	state->sessions++;

	/* AUTH when there are credentials for this server. */
	if (SMTP_VAR(sasl_auth_enable)) {
		struct str *user = str_new(0), *pass = str_new(0);
		int r = 0;

		if (str_len(s->auth_mechs) && smtp_sasl_passwd(s, user, pass))
			r = smtp_sasl_auth(s, str_ptr(user), str_ptr(pass),
			    why);
		str_free(user);
		str_free(pass);
		if (r < 0) {
			/* The server's status, soft with sasl_auth_soft_bounce. */
			struct str *dsn = str_new(0);

			if (s->code >= 400)
				smtp_reply_dsn(s->code, str_ptr(s->reply), dsn);
			else
				str_set(dsn, "4.7.0");
			if (SMTP_VAR(sasl_auth_soft_bounce))
				smtp_soften(dsn);
			smtp_fail_all_reply(state, str_ptr(s->relay),
			    str_ptr(dsn), str_ptr(why), str_ptr(dsn)[0] == '5',
			    s->code >= 400 ? str_ptr(s->reply) : NULL);
			str_free(dsn);
			goto quit;
		}
	}
	smtp_sess_deliver(s);
	goto close;
quit:
	if (smtp_cmd(s, SMTP_VAR(quit_timeout), "QUIT") == 0)
		(void)stream_flush(s->st);
close:
	smtp_tls_stop(s);
	s->st = stream_close(s->st);
done:
	smtp_tls_policy_free(&pol);
	smtp_sess_free(s);
	str_free(why);
}
