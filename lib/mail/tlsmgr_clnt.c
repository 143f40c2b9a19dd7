/*
 * tlsmgr_clnt - requests to the tlsmgr session cache over one kept-open
 * connection to private/<tlsmgr_service_name>.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/hex.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/params.h"
#include "lib/mail/tlsmgr_clnt.h"

static struct stream *tlsmgr_stream;
static struct attr_list *tlsmgr_req, *tlsmgr_rep;
static struct str *tlsmgr_path;
static time_t tlsmgr_down_until; /* leave tlsmgr alone until then */

void
tlsmgr_entry_encode(struct str *out, time_t when, const void *p, size_t len)
{
	struct str *hex = str_new(2 * len + 1);

	hex_encode(hex, p, len);
	str_fmt(out, "%lld:%s", (long long)when, str_ptr(hex));
	str_free(hex);
}

int
tlsmgr_entry_decode(const char *entry, time_t *when, struct str *out)
{
	long long t = 0;
	const char *p = entry;
	size_t len;

	str_reset(out);
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (t > (LLONG_MAX - 9) / 10)
			return -1;
		t = t * 10 + (*p - '0');
	}
	if (*p++ != ':')
		return -1;
	len = strlen(p);
	if (len == 0 || len > 2 * (size_t)TLSMGR_SESSION_MAX ||
	    hex_decode(out, p, len) < 0)
		return -1;
	*when = (time_t)t;
	return 0;
}

void
tlsmgr_clnt_close(void)
{
	tlsmgr_stream = stream_close(tlsmgr_stream);
}

/* Log Postfix's warning once, drop the connection, back off. */
static int
tlsmgr_clnt_fail(const char *reason)
{
	msg_warn("problem talking to server %s: %s", str_ptr(tlsmgr_path),
	    reason);
	tlsmgr_clnt_close();
	tlsmgr_down_until = time(NULL) + TLSMGR_RETRY;
	return -1;
}

/* Connect and check the greeting: 0, or -1 (logged). */
static int
tlsmgr_clnt_open(void)
{
	struct str *why = str_new(64);
	int fd, saved;

	if (tlsmgr_path == NULL) {
		tlsmgr_path = str_new(0);
		str_fmt(tlsmgr_path, "private/%s", var_tlsmgr_service_name);
	}
	fd =
	    sock_unix_connect(str_ptr(tlsmgr_path), TLSMGR_TIMEOUT * 1000, why);
	str_free(why);
	if (fd < 0) {
		saved = errno;
		msg_warn("connect to %s: %s", str_ptr(tlsmgr_path),
		    strerror(saved));
		return tlsmgr_clnt_fail(strerror(saved));
	}
	tlsmgr_stream = stream_open(fd);
	stream_set_timeout(tlsmgr_stream, TLSMGR_TIMEOUT * 1000);
	errno = 0;
	if (attr_read(tlsmgr_stream, tlsmgr_rep, TLSMGR_VALUE_MAX) < 0 ||
	    !attr_expect(tlsmgr_rep, "protocol", TLSMGR_PROTOCOL))
		return tlsmgr_clnt_fail(
		    errno ? strerror(errno)
			  : "unexpected server protocol type");
	return 0;
}

/*
 * Send tlsmgr_req, read the reply's status: 0 with *status, or -1
 * (logged).  A kept connection that the server closed meanwhile (tlsmgr
 * restarted, max_idle) is reopened once without a warning.
 */
static int
tlsmgr_clnt_request(long *status)
{
	bool fresh;

	if (tlsmgr_down_until != 0 && time(NULL) < tlsmgr_down_until)
		return -1;
	tlsmgr_down_until = 0;
	for (int attempt = 1;; attempt++) {
		fresh = tlsmgr_stream == NULL;
		if (fresh && tlsmgr_clnt_open() < 0)
			return -1;
		errno = 0;
		if (attr_write(tlsmgr_stream, tlsmgr_req) == 0 &&
		    attr_read(tlsmgr_stream, tlsmgr_rep, TLSMGR_VALUE_MAX) == 0)
			break;
		if (!fresh && attempt == 1) {
			tlsmgr_clnt_close();
			continue;
		}
		return tlsmgr_clnt_fail(
		    errno ? strerror(errno) : "malformed reply");
	}
	if (attr_get_long(tlsmgr_rep, "status", status) < 0)
		return tlsmgr_clnt_fail("malformed reply");
	return 0;
}

static void
tlsmgr_clnt_start(const char *request, const char *type, const char *id)
{
	if (tlsmgr_req == NULL) {
		tlsmgr_req = attr_new();
		tlsmgr_rep = attr_new();
	}
	attr_reset(tlsmgr_req);
	attr_put(tlsmgr_req, "request", request);
	attr_put(tlsmgr_req, "cache_type", type);
	attr_put(tlsmgr_req, "cache_id", id);
}

int
tlsmgr_clnt_lookup(const char *type, const char *id, struct str *blob)
{
	const char *hex;
	long status;

	str_reset(blob);
	if (strlen(id) > TLSMGR_ID_MAX)
		return 0;
	tlsmgr_clnt_start("lookup", type, id);
	if (tlsmgr_clnt_request(&status) < 0)
		return -1;
	if (status != TLSMGR_STAT_OK)
		return 0;
	if ((hex = attr_get(tlsmgr_rep, "session")) == NULL ||
	    hex_decode(blob, hex, strlen(hex)) < 0 || str_len(blob) == 0)
		return tlsmgr_clnt_fail("malformed reply");
	return 1;
}

int
tlsmgr_clnt_update(const char *type, const char *id, const void *blob,
    size_t len)
{
	struct str *hex;
	long status;

	if (strlen(id) > TLSMGR_ID_MAX || len == 0 || len > TLSMGR_SESSION_MAX)
		return -1;
	hex = str_new(2 * len + 1);
	hex_encode(hex, blob, len);
	tlsmgr_clnt_start("update", type, id);
	attr_put(tlsmgr_req, "session", str_ptr(hex));
	str_free(hex);
	if (tlsmgr_clnt_request(&status) < 0)
		return -1;
	return status == TLSMGR_STAT_OK ? 0 : -1;
}

int
tlsmgr_clnt_delete(const char *type, const char *id)
{
	long status;

	if (strlen(id) > TLSMGR_ID_MAX)
		return -1;
	tlsmgr_clnt_start("delete", type, id);
	if (tlsmgr_clnt_request(&status) < 0)
		return -1;
	return status == TLSMGR_STAT_OK ? 0 : -1;
}
