/*
 * flush_clnt - requests to the fast flush service, one connection each
 * (the service is a single-client daemon, as Postfix's).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/hostname.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/flush_clnt.h"
#include "lib/mail/params.h"

/* Postfix's valid_mailhost_literal(): "[IPv4]" or "[IPv6:addr]". */
static bool
flush_clnt_literal_ok(const char *name)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	size_t len = strlen(name);

	if (len < 3 || len - 2 >= sizeof(buf) || name[0] != '[' ||
	    name[len - 1] != ']')
		return false;
	memcpy(buf, name + 1, len - 2);
	buf[len - 2] = 0;
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, bin) == 1;
	return inet_pton(AF_INET, buf, bin) == 1;
}

bool
flush_clnt_site_ok(const char *site)
{
	return valid_hostname(site) || flush_clnt_literal_ok(site);
}

bool
flush_clnt_id_ok(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > FLUSH_SITE_MAX)
		return false;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && *id != '_')
			return false;
	return true;
}

/*
 * One request: connect, check the greeting, send req, read the status.
 * Anything that goes wrong is FLUSH_STAT_FAIL (logged with -v only).
 */
static int
flush_clnt_request(struct attr_list *req)
{
	struct str *why = str_new(64), *path = str_new(64);
	struct attr_list *rep = attr_new();
	struct stream *st = NULL;
	int fd, status = FLUSH_STAT_FAIL;
	long n;

	str_fmt(path, "public/%s", var_flush_service_name);
	fd = sock_unix_connect(str_ptr(path), var_ipc_timeout * 1000, why);
	if (fd < 0) {
		if (msg_verbose)
			msg_info("%s", str_ptr(why));
		goto out;
	}
	st = stream_open(fd);
	stream_set_timeout(st, var_ipc_timeout * 1000);
	if (attr_read(st, rep, FLUSH_VALUE_MAX) < 0 ||
	    !attr_expect(rep, "protocol", FLUSH_PROTOCOL) ||
	    attr_write(st, req) < 0 ||
	    attr_read(st, rep, FLUSH_VALUE_MAX) < 0 ||
	    attr_get_long(rep, "status", &n) < 0) {
		if (msg_verbose)
			msg_info("problem talking to server %s", str_ptr(path));
		goto out;
	}
	switch (n) {
	case FLUSH_STAT_OK:
	case FLUSH_STAT_BAD:
	case FLUSH_STAT_DENY:
		status = (int)n;
		break;
	default:
		status = FLUSH_STAT_FAIL;
	}
out:
	stream_close(st);
	attr_free(rep);
	str_free(why);
	str_free(path);
	return status;
}

static int
flush_clnt_call(const char *request, const char *site, const char *id)
{
	struct attr_list *req;
	int status;

	if (site != NULL &&
	    (var_fast_flush_domains == NULL || *var_fast_flush_domains == 0))
		return FLUSH_STAT_DENY;
	req = attr_new();
	attr_put(req, "request", request);
	if (site != NULL)
		attr_put(req, "site", site);
	if (id != NULL)
		attr_put(req, "queue_id", id);
	status = flush_clnt_request(req);
	attr_free(req);
	if (msg_verbose)
		msg_info("flush %s %s %s: status %d", request, site ? site : "",
		    id ? id : "", status);
	return status;
}

int
flush_clnt_add(const char *site, const char *id)
{
	return flush_clnt_call(FLUSH_REQ_ADD, site, id);
}

int
flush_clnt_send_site(const char *site)
{
	return flush_clnt_call(FLUSH_REQ_SEND_SITE, site, NULL);
}

int
flush_clnt_send_file(const char *id)
{
	return flush_clnt_call(FLUSH_REQ_SEND_FILE, NULL, id);
}

int
flush_clnt_refresh(void)
{
	return flush_clnt_call(FLUSH_REQ_REFRESH, NULL, NULL);
}

int
flush_clnt_purge(void)
{
	return flush_clnt_call(FLUSH_REQ_PURGE, NULL, NULL);
}
