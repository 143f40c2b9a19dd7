/*
 * scache_clnt - requests to the scache service over one kept-open
 * connection, with descriptors passed as SCM_RIGHTS on a carrier byte.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"
#include "lib/mail/scache_clnt.h"

static struct stream *scache_stream;
static struct attr_list *scache_req, *scache_rep;
static struct str *scache_path;

int
scache_fd_send(int sock, int fd)
{
	return sock_send_fd(sock, fd);
}

/*
 * One carrier byte and at most one descriptor; more descriptors than
 * one are closed and the message refused (fail closed).
 */
int
scache_fd_recv(int sock, int ms, int *fdp)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int n;

	*fdp = -1;
	do
		n = poll(&pfd, 1, ms > 0 ? ms : -1);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	return sock_recv_fd_opt(sock, fdp);
}

void
scache_clnt_close(void)
{
	scache_stream = stream_close(scache_stream);
}

/* Connect and check the greeting: 0, or -1 (logged). */
static int
scache_clnt_open(void)
{
	struct str *why = str_new(64);
	int fd, ms = var_connection_cache_protocol_timeout * 1000;

	if (scache_path == NULL) {
		scache_path = str_new(0);
		str_fmt(scache_path, "private/%s",
		    var_connection_cache_service_name);
	}
	fd = sock_unix_connect(str_ptr(scache_path), ms, why);
	if (fd < 0) {
		msg_warn("connect to %s: %s", str_ptr(scache_path),
		    strerror(errno));
		str_free(why);
		return -1;
	}
	str_free(why);
	scache_stream = stream_open(fd);
	stream_set_timeout(scache_stream, ms);
	if (attr_read(scache_stream, scache_rep, SCACHE_VALUE_MAX) < 0 ||
	    !attr_expect(scache_rep, "protocol", SCACHE_PROTOCOL)) {
		msg_warn("problem talking to server %s: unexpected server "
			 "protocol type",
		    str_ptr(scache_path));
		scache_clnt_close();
		return -1;
	}
	return 0;
}

/* Start the request list: its name first. */
static void
scache_clnt_begin(const char *request)
{
	if (scache_req == NULL) {
		scache_req = attr_new();
		scache_rep = attr_new();
	}
	attr_reset(scache_req);
	attr_put(scache_req, "request", request);
}

/*
 * Send scache_req with fd (or none), read the reply: 0 with its status
 * in *status and a passed descriptor in *fdp (-1: none), or -1 (logged,
 * connection dropped).  One attempt: a lost cache costs one connection.
 */
static int
scache_clnt_request(int fd, long *status, int *fdp)
{
	int ms = var_connection_cache_protocol_timeout * 1000;
	int rfd = -1;

	*fdp = -1;
	if (scache_stream == NULL && scache_clnt_open() < 0)
		return -1;
	errno = 0;
	if (scache_fd_send(stream_fd(scache_stream), fd) < 0 ||
	    attr_write(scache_stream, scache_req) < 0 ||
	    scache_fd_recv(stream_fd(scache_stream), ms, &rfd) < 0 ||
	    attr_read(scache_stream, scache_rep, SCACHE_VALUE_MAX) < 0 ||
	    attr_get_long(scache_rep, "status", status) < 0) {
		msg_warn("problem talking to server %s: %s",
		    str_ptr(scache_path),
		    errno ? strerror(errno) : "malformed reply");
		if (rfd >= 0)
			(void)close(rfd);
		scache_clnt_close();
		return -1;
	}
	if (rfd >= 0 && *status != SCACHE_STAT_OK) {
		(void)close(rfd);
		rfd = -1;
	}
	*fdp = rfd;
	return 0;
}

int
scache_clnt_save_endp(int ttl, const char *label, const char *prop, int fd)
{
	long status;
	int rfd, ret;

	scache_clnt_begin("save_endp");
	attr_put_long(scache_req, "ttl", ttl);
	attr_put(scache_req, "label", label);
	attr_put(scache_req, "prop", prop);
	ret = scache_clnt_request(fd, &status, &rfd);
	(void)close(fd);
	if (rfd >= 0)
		(void)close(rfd);
	if (msg_verbose)
		msg_info("scache save_endp %s: %s", label,
		    ret == 0 && status == SCACHE_STAT_OK ? "ok" : "failed");
	return ret == 0 && status == SCACHE_STAT_OK ? 0 : -1;
}

int
scache_clnt_save_dest(int ttl, const char *label, const char *prop,
    const char *endp_label)
{
	long status;
	int rfd;

	scache_clnt_begin("save_dest");
	attr_put_long(scache_req, "ttl", ttl);
	attr_put(scache_req, "label", label);
	attr_put(scache_req, "prop", prop);
	attr_put(scache_req, "endp_label", endp_label);
	if (scache_clnt_request(-1, &status, &rfd) < 0)
		return -1;
	if (rfd >= 0)
		(void)close(rfd);
	return status == SCACHE_STAT_OK ? 0 : -1;
}

/* A find request: the descriptor, or -1 (a hit without one is an error). */
static int
scache_clnt_find(const char *request, const char *label)
{
	long status;
	int rfd;

	scache_clnt_begin(request);
	attr_put(scache_req, "label", label);
	if (scache_clnt_request(-1, &status, &rfd) < 0)
		return -1;
	if (status == SCACHE_STAT_OK &&
	    (rfd < 0 || attr_get(scache_rep, "prop") == NULL)) {
		msg_warn("problem talking to server %s: malformed reply",
		    str_ptr(scache_path));
		if (rfd >= 0)
			(void)close(rfd);
		scache_clnt_close();
		return -1;
	}
	if (msg_verbose)
		msg_info("scache %s %s: %s", request, label,
		    rfd >= 0 ? "found" : "not found");
	return rfd;
}

int
scache_clnt_find_endp(const char *label, struct str *prop)
{
	int fd = scache_clnt_find("find_endp", label);

	if (fd >= 0)
		str_set(prop, attr_get(scache_rep, "prop"));
	return fd;
}

int
scache_clnt_find_dest(const char *label, struct str *dprop, struct str *eprop)
{
	int fd = scache_clnt_find("find_dest", label);
	const char *dp;

	if (fd < 0)
		return -1;
	if ((dp = attr_get(scache_rep, "dest_prop")) == NULL) {
		msg_warn("problem talking to server %s: malformed reply",
		    str_ptr(scache_path));
		(void)close(fd);
		scache_clnt_close();
		return -1;
	}
	str_set(dprop, dp);
	str_set(eprop, attr_get(scache_rep, "prop"));
	return fd;
}
