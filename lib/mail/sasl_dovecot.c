/*
 * sasl_dovecot - SASL through Dovecot's auth-client protocol (version 1),
 * the way Postfix's xsasl Dovecot server speaks it.
 *
 * Handshake: we send "VERSION\t1\t1" and "CPID\t<pid>"; Dovecot answers
 * VERSION, one MECH line per mechanism (name and property flags), SPID,
 * CUID, COOKIE and DONE.  A MECH-less answer ending in SPID is the
 * auth-master socket, which is refused with Postfix's warning.
 * Authentication: "AUTH\t<id>\t<mech>\tservice=smtp\tnologin\tlip=..."
 * with the client's base64 initial response as resp=; Dovecot answers
 * "CONT\t<id>\t<base64 challenge>", "OK\t<id>\tuser=..." or
 * "FAIL\t<id>\t[user=...]\t[reason=...]\t[temp]"; we send further client
 * responses as "CONT\t<id>\t<base64>".  Answers for other ids are
 * skipped.  Client data is checked for base64 characters before it is
 * sent, so no TAB or newline from the network reaches Dovecot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/sock.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/sasl_dovecot.h"

#define SASL_DOVECOT_MAJOR 1
#define SASL_DOVECOT_MINOR 1

struct sasl_dovecot {
	char *path;
	struct stream *st; /* NULL: disconnected */
	struct argv *mech_names;
	int *mech_props;
	unsigned id;      /* last request id */
	struct str *user; /* last user= */
	bool have_user;
};

/* Postfix's names for the options and for Dovecot's MECH flags. */
static const struct {
	const char *opt;  /* smtpd_sasl_security_options */
	const char *flag; /* Dovecot MECH flag */
	int bit;
} sasl_sec_names[] = {
	{ "noplaintext", "plaintext", SASL_SEC_NOPLAINTEXT },
	{ "noactive", "active", SASL_SEC_NOACTIVE },
	{ "nodictionary", "dictionary", SASL_SEC_NODICTIONARY },
	{ "noanonymous", "anonymous", SASL_SEC_NOANONYMOUS },
	{ "forward_secrecy", "forward-secrecy", SASL_SEC_FORWARD_SECRECY },
	{ "mutual_auth", "mutual-auth", SASL_SEC_MUTUAL_AUTH },
	{ NULL, "private", SASL_SEC_PRIVATE },
};

#define SASL_SEC_COUNT (sizeof(sasl_sec_names) / sizeof(sasl_sec_names[0]))

/*
 * smtpd_sasl_security_options: words separated by commas or white space,
 * any case.  -1 puts the unknown word in bad.
 */
int
sasl_dovecot_sec_opts(const char *value, int *opts, struct str *bad)
{
	struct argv *words = argv_split(value, ", \t\r\n");
	size_t i, j;
	int rc = 0;

	*opts = 0;
	for (i = 0; i < words->argc; i++) {
		for (j = 0; j < SASL_SEC_COUNT; j++)
			if (sasl_sec_names[j].opt &&
			    strcasecmp(words->argv[i], sasl_sec_names[j].opt) ==
				0)
				break;
		if (j == SASL_SEC_COUNT) {
			str_set(bad, words->argv[i]);
			rc = -1;
			break;
		}
		*opts |= sasl_sec_names[j].bit;
	}
	argv_free(words);
	return rc;
}

/* The flags after a MECH line's name, TAB-separated; unknown ones ignored. */
int
sasl_dovecot_mech_props(const char *props)
{
	struct argv *words = argv_split(props, "\t");
	size_t i, j;
	int bits = 0;

	for (i = 0; i < words->argc; i++)
		for (j = 0; j < SASL_SEC_COUNT; j++)
			if (strcasecmp(words->argv[i],
				sasl_sec_names[j].flag) == 0)
				bits |= sasl_sec_names[j].bit;
	argv_free(words);
	return bits;
}

bool
sasl_dovecot_base64_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			(*s >= '0' && *s <= '9') || *s == '+' || *s == '/' ||
			*s == '='))
			return false;
	return true;
}

/* Postfix's printable(): anything but printable ASCII becomes '?'. */
static void
sasl_printable(struct str *s)
{
	size_t i;

	for (i = 0; i < str_len(s); i++)
		if ((unsigned char)str_ptr(s)[i] < 0x20 ||
		    (unsigned char)str_ptr(s)[i] >= 0x7f)
			str_ptr(s)[i] = '?';
}

/*
 * One answer line.  OK and FAIL replace the user name (user= when given);
 * FAIL's reason= goes to reply; "temp" or code=temp_fail make a FAIL
 * temporary.  -1: not an answer to request id (skip it).
 */
int
sasl_dovecot_reply(const char *line, unsigned id, struct str *reply,
    struct str *user, bool *have_user)
{
	struct argv *f = argv_new();
	const char *p = line, *tab;
	char *end;
	unsigned long got;
	int kind = -1;
	size_t i;

	/* split at TABs, keeping empty fields (CONT's empty challenge) */
	while ((tab = strchr(p, '\t')) != NULL) {
		argv_addn(f, p, (size_t)(tab - p));
		p = tab + 1;
	}
	argv_add(f, p);
	if (f->argc < 2)
		goto out;
	got = strtoul(f->argv[1], &end, 10);
	if (*end || end == f->argv[1] || got != id)
		goto out;
	if (strcmp(f->argv[0], "CONT") == 0) {
		str_set(reply, f->argc > 2 ? f->argv[2] : "");
		kind = SASL_DOVECOT_CONT;
		goto out;
	}
	if (strcmp(f->argv[0], "OK") == 0)
		kind = SASL_DOVECOT_OK;
	else if (strcmp(f->argv[0], "FAIL") == 0)
		kind = SASL_DOVECOT_FAIL;
	else
		goto out;
	str_reset(reply);
	*have_user = false;
	for (i = 2; i < f->argc; i++) {
		const char *a = f->argv[i];

		if (strncmp(a, "user=", 5) == 0) {
			str_set(user, a + 5);
			sasl_printable(user);
			*have_user = true;
		} else if (strncmp(a, "reason=", 7) == 0 &&
			   kind != SASL_DOVECOT_OK) {
			str_set(reply, a + 7);
			sasl_printable(reply);
		} else if ((strcmp(a, "temp") == 0 ||
			       strcmp(a, "code=temp_fail") == 0) &&
			   kind != SASL_DOVECOT_OK) {
			kind = SASL_DOVECOT_TEMP;
		}
	}
out:
	argv_free(f);
	return kind;
}

/* The mechanism list stays until a new handshake replaces it. */
static void
sasl_dovecot_disconnect(struct sasl_dovecot *d)
{
	d->st = stream_close(d->st);
}

static void
sasl_dovecot_forget_mechs(struct sasl_dovecot *d)
{
	d->mech_names = argv_free(d->mech_names);
	free(d->mech_props);
	d->mech_props = NULL;
}

/* Connect and read the handshake; 0, or -1 (warning logged). */
static int
sasl_dovecot_connect(struct sasl_dovecot *d)
{
	struct str *why = str_new(100), *line = str_new(256);
	const char *path = d->path;
	char *host, *port;
	unsigned major;
	int fd, rc, ok = -1;
	size_t n = 0;
	/* a failed reconnect keeps the session's mechanisms */
	struct argv *old_names = d->mech_names;
	int *old_props = d->mech_props;

	d->mech_names = argv_new();
	d->mech_props = NULL;

	if (strncmp(path, "inet:", 5) == 0) {
		host = xstrdup(path + 5);
		if ((port = strrchr(host, ':')) != NULL)
			*port++ = 0;
		fd = sock_inet_connect(host, port ? port : "",
		    SASL_DOVECOT_TIMEOUT_MS, why);
		free(host);
	} else {
		if (strncmp(path, "unix:", 5) == 0)
			path += 5;
		fd = sock_unix_connect(path, SASL_DOVECOT_TIMEOUT_MS, why);
	}
	if (fd < 0) {
		msg_warn("SASL: Connect to Dovecot auth socket '%s' failed: %m",
		    d->path);
		goto out;
	}
	d->st = stream_open(fd);
	stream_set_timeout(d->st, SASL_DOVECOT_TIMEOUT_MS);
	stream_printf(d->st, "VERSION\t%u\t%u\nCPID\t%u\n", SASL_DOVECOT_MAJOR,
	    SASL_DOVECOT_MINOR, (unsigned)getpid());
	if (stream_flush(d->st) < 0) {
		msg_warn("SASL: Couldn't send handshake: %m");
		goto out;
	}
	while ((rc = stream_getline(d->st, line, SASL_DOVECOT_LINE_MAX)) ==
	       STREAM_OK) {
		char *cmd = str_ptr(line), *arg, *props;

		if ((arg = strchr(cmd, '\t')) != NULL)
			*arg++ = 0;
		if (strcmp(cmd, "VERSION") == 0) {
			if (arg == NULL || sscanf(arg, "%u", &major) != 1) {
				msg_warn("SASL: Protocol version error");
				goto out;
			}
			if (major != SASL_DOVECOT_MAJOR) {
				msg_warn(
				    "SASL: Protocol version mismatch (%d vs. "
				    "%d)",
				    (int)major, SASL_DOVECOT_MAJOR);
				goto out;
			}
		} else if (strcmp(cmd, "MECH") == 0 && arg != NULL) {
			int bits = 0;

			if ((props = strchr(arg, '\t')) != NULL) {
				*props++ = 0;
				bits = sasl_dovecot_mech_props(props);
			}
			if (bits & SASL_SEC_PRIVATE)
				continue;
			argv_add(d->mech_names, arg);
			d->mech_props = xreallocarray(d->mech_props, n + 1,
			    sizeof(*d->mech_props));
			d->mech_props[n++] = bits;
		} else if (strcmp(cmd, "SPID") == 0) {
			/* auth-master sends VERSION and SPID, no MECH */
			if (n == 0) {
				msg_warn(
				    "SASL: Connected to wrong auth socket "
				    "(auth-master instead of auth-client)");
				goto out;
			}
		} else if (strcmp(cmd, "DONE") == 0) {
			ok = 0;
			goto out;
		}
	}
	if (rc == STREAM_TOOLONG)
		msg_warn("SASL: Protocol error");
out:
	if (ok < 0) {
		sasl_dovecot_disconnect(d);
		sasl_dovecot_forget_mechs(d);
		d->mech_names = old_names;
		d->mech_props = old_props;
	} else {
		argv_free(old_names);
		free(old_props);
	}
	str_free(why);
	str_free(line);
	return ok;
}

struct sasl_dovecot *
sasl_dovecot_open(const char *path)
{
	struct sasl_dovecot *d = xcalloc(1, sizeof(*d));

	d->path = xstrdup(path);
	d->user = str_new(32);
	if (sasl_dovecot_connect(d) < 0)
		return sasl_dovecot_close(d);
	return d;
}

struct sasl_dovecot *
sasl_dovecot_close(struct sasl_dovecot *d)
{
	if (d == NULL)
		return NULL;
	sasl_dovecot_disconnect(d);
	sasl_dovecot_forget_mechs(d);
	free(d->path);
	str_free(d->user);
	free(d);
	return NULL;
}

/* A mechanism passes when it has no excluded and all required properties. */
static bool
sasl_mech_passes(int props, int opts)
{
	return (props & opts & SASL_SEC_NEGATIVE) == 0 &&
	       (props & opts & SASL_SEC_POSITIVE) == (opts & SASL_SEC_POSITIVE);
}

void
sasl_dovecot_mechs(struct sasl_dovecot *d, int opts, struct str *out)
{
	size_t i;

	str_reset(out);
	for (i = 0; d->mech_names && i < d->mech_names->argc; i++) {
		if (!sasl_mech_passes(d->mech_props[i], opts))
			continue;
		if (str_len(out))
			str_catc(out, ' ');
		str_cat(out, d->mech_names->argv[i]);
	}
}

bool
sasl_dovecot_has_mech(struct sasl_dovecot *d, int opts, const char *name)
{
	size_t i;

	for (i = 0; d->mech_names && i < d->mech_names->argc; i++)
		if (strcasecmp(d->mech_names->argv[i], name) == 0)
			return sasl_mech_passes(d->mech_props[i], opts);
	return false;
}

const char *
sasl_dovecot_username(struct sasl_dovecot *d)
{
	return d->have_user ? str_ptr(d->user) : NULL;
}

/* Read answers until one for the current request. */
static int
sasl_dovecot_answer(struct sasl_dovecot *d, struct str *reply)
{
	struct str *line = str_new(256);
	int rc, kind = -1;

	while ((rc = stream_getline(d->st, line, SASL_DOVECOT_LINE_MAX)) ==
	       STREAM_OK) {
		if ((kind = sasl_dovecot_reply(str_ptr(line), d->id, reply,
			 d->user, &d->have_user)) >= 0)
			break;
	}
	str_free(line);
	if (kind >= 0)
		return kind;
	/* a broken line or connection: start afresh next time */
	sasl_dovecot_disconnect(d);
	str_set(reply, "Connection lost to authentication server");
	return SASL_DOVECOT_TEMP;
}

static void
sasl_dovecot_field(struct str *buf, const char *name, const char *value)
{
	if (value && *value)
		str_catfmt(buf, "\t%s=%s", name, value);
}

int
sasl_dovecot_start(struct sasl_dovecot *d, const struct sasl_dovecot_req *req,
    struct str *reply)
{
	struct str *buf = str_new(256);
	int i;

	str_reset(reply);
	for (i = 0; i < 2; i++) {
		if (d->st == NULL && sasl_dovecot_connect(d) < 0) {
			str_set(reply,
			    "Can't connect to authentication server");
			str_free(buf);
			return SASL_DOVECOT_TEMP;
		}
		str_fmt(buf, "AUTH\t%u\t%s", ++d->id, req->mech);
		sasl_dovecot_field(buf, "service", req->service);
		str_cat(buf, "\tnologin");
		sasl_dovecot_field(buf, "lip", req->lip);
		sasl_dovecot_field(buf, "rip", req->rip);
		sasl_dovecot_field(buf, "lport", req->lport);
		sasl_dovecot_field(buf, "rport", req->rport);
		if (req->secured)
			str_cat(buf, "\tsecured");
		if (req->resp)
			sasl_dovecot_field(buf, "resp", req->resp);
		str_catc(buf, '\n');
		if (stream_write(d->st, str_ptr(buf), str_len(buf)) == 0 &&
		    stream_flush(d->st) == 0)
			break;
		sasl_dovecot_disconnect(d);
		if (i == 1) {
			str_set(reply,
			    "Can't connect to authentication server");
			str_free(buf);
			return SASL_DOVECOT_TEMP;
		}
	}
	str_free(buf);
	return sasl_dovecot_answer(d, reply);
}

int
sasl_dovecot_cont(struct sasl_dovecot *d, const char *resp, struct str *reply)
{
	str_reset(reply);
	if (d->st == NULL ||
	    stream_printf(d->st, "CONT\t%u\t%s\n", d->id, resp) < 0 ||
	    stream_flush(d->st) < 0) {
		sasl_dovecot_disconnect(d);
		str_set(reply, "Connection lost to authentication server");
		return SASL_DOVECOT_TEMP;
	}
	return sasl_dovecot_answer(d, reply);
}
