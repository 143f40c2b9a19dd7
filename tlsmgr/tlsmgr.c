/*
 * tlsmgr - the TLS session cache of the smtp and lmtp clients (Postfix's
 * tlsmgr(8) session cache), so that a connection to a server that some
 * smtp process talked to before resumes its TLS session instead of doing
 * a full handshake.
 * Runs as mail_owner under master, one process (maxproc 1: it alone owns
 * the databases, many writers would corrupt a Berkeley DB file), many
 * clients on the event loop, chroot allowed; resident (no max_idle or
 * max_use: the cache is emptied when tlsmgr starts, as in Postfix).
 * Reads smtp_tls_session_cache_database and _timeout and the lmtp_
 * versions; opens each configured database before the jail, as
 * mail_owner, creating it (mode 0600) and emptying it.  Writes only
 * those databases.  Its clients are the trusted smtp and lmtp processes
 * over private/tlsmgr (lib/mail/tlsmgr_clnt.h has the protocol);
 * master's wakeups are ignored.
 *
 * An entry is "TIME:HEX" (creation time, the serialized session in hex;
 * tlsmgr_entry_* in tlsmgr_clnt.h).  It expires after the type's
 * timeout: a lookup removes an expired or malformed entry and reports a
 * miss, and a cleanup every timeout seconds removes the rest.  A cache
 * type without a database (or whose database could not be opened: a
 * warning names it) simply misses.  A malformed request is logged and
 * ends that client's connection.  With smtp_tls_loglevel >= 2 the cache
 * traffic is logged with Postfix's lines ("lookup smtp session id=...",
 * "put smtp session id=... [data N bytes]", "read/write smtp TLS cache
 * entry ...: time=T [data N bytes]").
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/event.h"
#include "lib/util/hex.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/attr.h"
#include "lib/mail/daemon.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/master_proto.h"
#include "lib/mail/params.h"
#include "lib/mail/tlsmgr_clnt.h"

#define TLSMGR_LIFE_MIN 120 /* Postfix's floor for a cache timeout */

/* One cache type. */
struct tlsmgr_cache {
	const char *type;  /* "smtp" */
	char **database;   /* &var_smtp_tls_session_cache_database */
	int *timeout;      /* &var_smtp_tls_session_cache_timeout */
	int *loglevel;     /* &var_smtp_tls_loglevel */
	struct dict *dict; /* NULL: no cache */
	bool shared;       /* dict belongs to an earlier type */
};

static struct tlsmgr_cache tlsmgr_caches[] = {
	{ "smtp", &var_smtp_tls_session_cache_database,
	    &var_smtp_tls_session_cache_timeout, &var_smtp_tls_loglevel, NULL,
	    false },
	{ "lmtp", &var_lmtp_tls_session_cache_database,
	    &var_lmtp_tls_session_cache_timeout, &var_lmtp_tls_loglevel, NULL,
	    false },
};

#define TLSMGR_NCACHE (sizeof(tlsmgr_caches) / sizeof(*tlsmgr_caches))

static struct attr_list *tlsmgr_req, *tlsmgr_rep;
static struct str *tlsmgr_buf, *tlsmgr_val;

static bool
tlsmgr_verbose(const struct tlsmgr_cache *c)
{
	return *c->loglevel >= 2 || msg_verbose;
}

static struct tlsmgr_cache *
tlsmgr_find(const char *type)
{
	for (size_t i = 0; i < TLSMGR_NCACHE; i++)
		if (strcmp(tlsmgr_caches[i].type, type) == 0)
			return &tlsmgr_caches[i];
	return NULL;
}

/*
 * Open a cache's database as mail_owner (the file is created with its
 * owner and mode 0600: it holds session keys), emptied as Postfix does.
 * Runs as root before the jail, while data_directory can be reached.
 */
static void
tlsmgr_open(struct tlsmgr_cache *c)
{
	struct str *why = str_new(0);
	mode_t mask;

	for (struct tlsmgr_cache *p = tlsmgr_caches; p < c; p++)
		if (p->dict && strcmp(*p->database, *c->database) == 0) {
			c->dict = p->dict;
			c->shared = true;
			goto out;
		}
	if (setegid(mail_owner_gid()) < 0 || seteuid(mail_owner_uid()) < 0)
		msg_fatal("set effective user to mail_owner: %m");
	mask = umask(077);
	c->dict = dict_open(*c->database, O_RDWR | O_CREAT | O_TRUNC,
	    DICT_FLAG_DUP_REPLACE | DICT_FLAG_TRY1NULL, why);
	(void)umask(mask);
	if (seteuid(0) < 0 || setegid(0) < 0)
		msg_fatal("restore effective user: %m");
	if (c->dict == NULL) {
		msg_warn("cannot open %s TLS session cache %s: %s; continuing "
			 "without session caching",
		    c->type, *c->database, str_ptr(why));
		goto out;
	}
	if (tlsmgr_verbose(c))
		msg_info("open %s TLS cache %s", c->type, *c->database);
out:
	str_free(why);
}

/* Remove one entry, logging a failure. */
static void
tlsmgr_remove(struct tlsmgr_cache *c, const char *id)
{
	if (dict_del(c->dict, id) < 0)
		msg_warn("%s TLS cache: cannot remove entry for %s", c->type,
		    id);
	else if (msg_verbose)
		msg_info("remove %s TLS cache entry %s", c->type, id);
}

/*
 * The cleanup: every entry that is expired or malformed goes.  Keys are
 * collected first; the cursor is not disturbed by deletions.
 */
static void
tlsmgr_sweep(int ev, void *ctx)
{
	struct tlsmgr_cache *c = ctx;
	struct argv *gone = argv_new();
	const char *key, *value;
	time_t now = time(NULL), when;
	int how = DICT_SEQ_FIRST;

	(void)ev;
	if (tlsmgr_verbose(c))
		msg_info("tlsmgr_cache_run_event: start TLS %s session cache "
			 "cleanup",
		    c->type);
	while (dict_seq(c->dict, how, &key, &value) == 0) {
		how = DICT_SEQ_NEXT;
		if (tlsmgr_entry_decode(value, &when, tlsmgr_val) < 0 ||
		    when + *c->timeout <= now || when > now + 60)
			argv_add(gone, key);
	}
	for (size_t i = 0; i < gone->argc; i++)
		tlsmgr_remove(c, gone->argv[i]);
	if (gone->argc && dict_sync(c->dict) < 0)
		msg_warn("%s TLS cache: sync %s: %m", c->type, *c->database);
	argv_free(gone);
	event_timer(tlsmgr_sweep, c,
	    *c->timeout > INT_MAX / 1000 ? INT_MAX : *c->timeout * 1000);
}

static void
tlsmgr_lookup(struct tlsmgr_cache *c, const char *id)
{
	const char *value;
	time_t when, now = time(NULL);

	if (tlsmgr_verbose(c))
		msg_info("lookup %s session id=%s", c->type, id);
	if ((value = dict_get(c->dict, id)) == NULL) {
		if (c->dict->error != DICT_ERR_NONE)
			msg_warn("%s TLS cache: lookup of %s failed", c->type,
			    id);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
		return;
	}
	if (tlsmgr_entry_decode(value, &when, tlsmgr_val) < 0) {
		msg_warn("%s TLS cache: malformed entry for %s: %.100s",
		    c->type, id, value);
		tlsmgr_remove(c, id);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
		return;
	}
	if (when + *c->timeout <= now || when > now + 60) {
		if (tlsmgr_verbose(c))
			msg_info("%s TLS cache: expired entry for %s", c->type,
			    id);
		tlsmgr_remove(c, id);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
		return;
	}
	if (tlsmgr_verbose(c))
		msg_info("read %s TLS cache entry %s: time=%lld [data %zu "
			 "bytes]",
		    c->type, id, (long long)when, str_len(tlsmgr_val));
	hex_encode(tlsmgr_buf, str_ptr(tlsmgr_val), str_len(tlsmgr_val));
	attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_OK);
	attr_put(tlsmgr_rep, "session", str_ptr(tlsmgr_buf));
}

/* An update: 0, or -1 for a malformed one (the connection ends). */
static int
tlsmgr_update(struct tlsmgr_cache *c, const char *id)
{
	const char *hex = attr_get(tlsmgr_req, "session");
	time_t now = time(NULL);

	if (hex == NULL ||
	    hex_decode(tlsmgr_val, hex, strlen(hex)) < 0 ||
	    str_len(tlsmgr_val) == 0) {
		msg_warn("malformed %s session update for %s: the session is "
			 "missing or not hex",
		    c->type, id);
		return -1;
	}
	if (str_len(tlsmgr_val) > TLSMGR_SESSION_MAX) {
		msg_warn("%s session update for %s: %zu bytes, more than the "
			 "limit of %d; not cached",
		    c->type, id, str_len(tlsmgr_val), TLSMGR_SESSION_MAX);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
		return 0;
	}
	if (tlsmgr_verbose(c))
		msg_info("put %s session id=%s [data %zu bytes]", c->type, id,
		    str_len(tlsmgr_val));
	tlsmgr_entry_encode(tlsmgr_buf, now, str_ptr(tlsmgr_val),
	    str_len(tlsmgr_val));
	if (dict_put(c->dict, id, str_ptr(tlsmgr_buf)) < 0) {
		msg_warn("%s TLS cache: cannot save entry for %s", c->type, id);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
		return 0;
	}
	if (tlsmgr_verbose(c))
		msg_info("write %s TLS cache entry %s: time=%lld [data %zu "
			 "bytes]",
		    c->type, id, (long long)now, str_len(tlsmgr_val));
	attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_OK);
	return 0;
}

static int
tlsmgr_connect(struct stream *st, const char *service, char **argv)
{
	(void)service;
	(void)argv;
	attr_reset(tlsmgr_rep);
	attr_put(tlsmgr_rep, "protocol", TLSMGR_PROTOCOL);
	return attr_write(st, tlsmgr_rep);
}

/*
 * Is the client gone, or is this master's wakeup (one 'W' and EOF)?
 * Peeked at on the socket so that attr_read still sees every byte.
 */
static bool
tlsmgr_no_request(struct stream *st)
{
	char c;
	ssize_t n;

	if (stream_pending(st) > 0)
		return false;
	do
		n = recv(stream_fd(st), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n == 1 && c == MASTER_TRIGGER_WAKEUP);
}

/* One request; -1 ends the connection (EOF, error, bad request). */
static int
tlsmgr_request(struct stream *st, const char *service, char **argv)
{
	struct tlsmgr_cache *c;
	const char *request, *type, *id;

	(void)service;
	(void)argv;
	if (tlsmgr_no_request(st))
		return -1;
	stream_set_timeout(st, TLSMGR_TIMEOUT * 1000);
	if (attr_read(st, tlsmgr_req, TLSMGR_VALUE_MAX) < 0) {
		msg_warn("malformed request: not an attribute list, or a value "
			 "longer than %d bytes",
		    TLSMGR_VALUE_MAX);
		return -1;
	}
	attr_reset(tlsmgr_rep);
	request = attr_get(tlsmgr_req, "request");
	type = attr_get(tlsmgr_req, "cache_type");
	id = attr_get(tlsmgr_req, "cache_id");
	if (request == NULL || type == NULL || id == NULL || *id == 0 ||
	    strlen(id) > TLSMGR_ID_MAX) {
		msg_warn("malformed request: request, cache_type or cache_id "
			 "missing, empty or too long");
		return -1;
	}
	c = tlsmgr_find(type);
	if (strcmp(request, "lookup") != 0 && strcmp(request, "update") != 0 &&
	    strcmp(request, "delete") != 0) {
		msg_warn("unrecognized request: \"%.100s\", ignored", request);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_ERR);
	} else if (c == NULL) {
		msg_warn("unknown TLS session cache type: \"%.100s\"", type);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_ERR);
	} else if (c->dict == NULL) {
		/* No cache of this type: every lookup misses. */
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_FAIL);
	} else if (strcmp(request, "lookup") == 0) {
		tlsmgr_lookup(c, id);
	} else if (strcmp(request, "update") == 0) {
		if (tlsmgr_update(c, id) < 0)
			return -1;
	} else {
		if (tlsmgr_verbose(c))
			msg_info("delete %s session id=%s", c->type, id);
		tlsmgr_remove(c, id);
		attr_put_long(tlsmgr_rep, "status", TLSMGR_STAT_OK);
	}
	return attr_write(st, tlsmgr_rep);
}

static void
tlsmgr_pre_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	for (size_t i = 0; i < TLSMGR_NCACHE; i++) {
		struct tlsmgr_cache *c = &tlsmgr_caches[i];

		if (**c->database == 0 || *c->timeout <= 0)
			continue;
		/* Postfix: a positive value under 2 minutes means 2 minutes. */
		if (*c->timeout < TLSMGR_LIFE_MIN)
			*c->timeout = TLSMGR_LIFE_MIN;
		tlsmgr_open(c);
	}
}

static void
tlsmgr_post_jail(const char *service, char **argv)
{
	(void)service;
	(void)argv;
	tlsmgr_req = attr_new();
	tlsmgr_rep = attr_new();
	tlsmgr_buf = str_new(0);
	tlsmgr_val = str_new(0);
	/* The first cleanup at once, then every timeout (as Postfix). */
	for (size_t i = 0; i < TLSMGR_NCACHE; i++)
		if (tlsmgr_caches[i].dict && !tlsmgr_caches[i].shared)
			event_timer(tlsmgr_sweep, &tlsmgr_caches[i], 0);
}

static void
tlsmgr_exit(void)
{
	for (size_t i = 0; i < TLSMGR_NCACHE; i++) {
		struct tlsmgr_cache *c = &tlsmgr_caches[i];

		if (c->dict && !c->shared)
			c->dict = dict_close(c->dict);
		else
			c->dict = NULL;
	}
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.kind = DAEMON_MULTI,
		.request = tlsmgr_request,
		.connect = tlsmgr_connect,
		.pre_jail = tlsmgr_pre_jail,
		.post_jail = tlsmgr_post_jail,
		.on_exit = tlsmgr_exit,
		.flags = DAEMON_SOLITARY | DAEMON_RESIDENT,
	};

	return daemon_main(argc, argv, &spec);
}
