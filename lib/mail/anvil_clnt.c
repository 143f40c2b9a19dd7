/*
 * anvil_clnt - requests to the anvil service over one kept-open
 * connection to private/anvil, with the retry and the warnings of
 * Postfix's attribute client.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/anvil_clnt.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"

#define ANVIL_PATH "private/" ANVIL_SERVICE

static struct stream *anvil_stream;
static struct attr_list *anvil_req, *anvil_rep;

void
anvil_clnt_close(void)
{
	anvil_stream = stream_close(anvil_stream);
}

/* Connect and check the greeting; 0, or -1 with errno (connect logged). */
static int
anvil_clnt_open(void)
{
	struct str *why = str_new(64);
	int fd, saved;

	fd = sock_unix_connect(ANVIL_PATH, var_ipc_timeout * 1000, why);
	str_free(why);
	if (fd < 0) {
		saved = errno;
		msg_warn("connect to %s: %s", ANVIL_PATH, strerror(saved));
		errno = saved;
		return -1;
	}
	anvil_stream = stream_open(fd);
	stream_set_timeout(anvil_stream, var_ipc_timeout * 1000);
	errno = 0;
	if (attr_read(anvil_stream, anvil_rep, ANVIL_VALUE_MAX) < 0 ||
	    !attr_expect(anvil_rep, "protocol", ANVIL_PROTOCOL)) {
		saved = errno;
		if (saved == 0)
			msg_warn("unexpected server protocol type: %s",
			    attr_get(anvil_rep, "protocol") != NULL
				? attr_get(anvil_rep, "protocol")
				: "(none)");
		anvil_clnt_close();
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Send anvil_req, read anvil_rep.  As Postfix's attr_clnt_request(): two
 * attempts a second apart; the first failure is logged unless it is one a
 * reconnect is expected to mend (anvil restarted: the socket was briefly
 * gone or our old connection was dropped).
 */
static int
anvil_clnt_request(void)
{
	int saved;

	for (int attempt = 1;; attempt++) {
		errno = 0;
		if ((anvil_stream != NULL || anvil_clnt_open() == 0) &&
		    attr_write(anvil_stream, anvil_req) == 0 &&
		    attr_read(anvil_stream, anvil_rep, ANVIL_VALUE_MAX) == 0)
			return 0;
		saved = errno;
		if (attempt >= 2 || msg_verbose ||
		    (saved != 0 && saved != EPIPE && saved != ENOENT &&
			saved != ECONNRESET))
			msg_warn("problem talking to server %s: %s", ANVIL_PATH,
			    strerror(saved));
		anvil_clnt_close();
		if (attempt >= 2)
			return -1;
		sleep(1);
	}
}

/* One request for ident "svc:addr"; 0 when anvil answered status OK. */
static int
anvil_clnt_call(const char *request, const char *svc, const char *addr)
{
	struct str *ident;
	long status;

	if (anvil_req == NULL) {
		anvil_req = attr_new();
		anvil_rep = attr_new();
	}
	ident = str_new(64);
	str_fmt(ident, "%s:%s", svc, addr);
	attr_reset(anvil_req);
	attr_put(anvil_req, "request", request);
	attr_put(anvil_req, "ident", str_ptr(ident));
	str_free(ident);
	if (anvil_clnt_request() < 0)
		return -1;
	if (attr_get_long(anvil_rep, "status", &status) < 0) {
		msg_warn("problem talking to server %s: malformed reply",
		    ANVIL_PATH);
		anvil_clnt_close();
		return -1;
	}
	return status == ANVIL_STAT_OK ? 0 : -1;
}

/* A counter from the reply: 0, or -1 (malformed: logged, dropped). */
static int
anvil_clnt_value(const char *name, int *value)
{
	long n;

	if (attr_get_long(anvil_rep, name, &n) < 0 || n < 0 || n > INT_MAX) {
		msg_warn("problem talking to server %s: malformed reply",
		    ANVIL_PATH);
		anvil_clnt_close();
		return -1;
	}
	*value = (int)n;
	return 0;
}

int
anvil_clnt_connect(const char *svc, const char *addr, int *count, int *rate)
{
	if (anvil_clnt_call("connect", svc, addr) < 0 ||
	    anvil_clnt_value("count", count) < 0 ||
	    anvil_clnt_value("rate", rate) < 0)
		return -1;
	return 0;
}

int
anvil_clnt_disconnect(const char *svc, const char *addr)
{
	return anvil_clnt_call("disconnect", svc, addr);
}

static int
anvil_clnt_rate(const char *request, const char *svc, const char *addr,
    int *rate)
{
	if (anvil_clnt_call(request, svc, addr) < 0 ||
	    anvil_clnt_value("rate", rate) < 0)
		return -1;
	return 0;
}

int
anvil_clnt_message(const char *svc, const char *addr, int *rate)
{
	return anvil_clnt_rate("message", svc, addr, rate);
}

int
anvil_clnt_recipient(const char *svc, const char *addr, int *rate)
{
	return anvil_clnt_rate("recipient", svc, addr, rate);
}

int
anvil_clnt_newtls(const char *svc, const char *addr, int *rate)
{
	return anvil_clnt_rate("newtls", svc, addr, rate);
}

int
anvil_clnt_newtls_report(const char *svc, const char *addr, int *rate)
{
	return anvil_clnt_rate("newtls_report", svc, addr, rate);
}

int
anvil_clnt_auth(const char *svc, const char *addr, int *rate)
{
	return anvil_clnt_rate("auth", svc, addr, rate);
}

int
anvil_clnt_lookup(const char *svc, const char *addr, struct anvil_counts *c)
{
	if (anvil_clnt_call("lookup", svc, addr) < 0 ||
	    anvil_clnt_value("count", &c->count) < 0 ||
	    anvil_clnt_value("rate", &c->rate) < 0 ||
	    anvil_clnt_value("mail", &c->mail) < 0 ||
	    anvil_clnt_value("rcpt", &c->rcpt) < 0 ||
	    anvil_clnt_value("newtls", &c->ntls) < 0 ||
	    anvil_clnt_value("auth", &c->auth) < 0)
		return -1;
	return 0;
}
