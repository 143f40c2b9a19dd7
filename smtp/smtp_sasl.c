/*
 * smtp_sasl - the SASL client: credentials from smtp_sasl_password_maps
 * (per sender with smtp_sender_dependent_authentication, then per next
 * hop, then per server host name), and the PLAIN and LOGIN mechanisms
 * implemented here.  smtp_sasl_security_options (smtp_sasl_tls_security_
 * options over TLS) decide which mechanisms may be used: "noplaintext"
 * excludes both, "noanonymous" is always met.  smtp_sasl_mechanism_filter
 * narrows the server's list.  Failures are Postfix's reasons ("SASL
 * authentication failed; server H[A] said: 535 ...").
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "smtp.h"

static struct maps *smtp_sasl_maps;

void
smtp_sasl_init(void)
{
	if (SMTP_VAR(sasl_auth_enable) && *SMTP_VAR(sasl_password_maps))
		smtp_sasl_maps = maps_new(smtp_lmtp ? "lmtp_sasl_password_maps"
						    : "smtp_sasl_password_maps",
		    SMTP_VAR(sasl_password_maps), DICT_FLAGS_READ);
}

bool
smtp_sasl_passwd(struct smtp_session *s, struct str *user, struct str *pass)
{
	struct deliver_request *req = s->state->req;
	const char *v = NULL, *colon;

	if (smtp_sasl_maps == NULL)
		return false;
	if (SMTP_VAR(sender_dependent_authentication) &&
	    str_len(req->sender) > 0)
		v = maps_find_addr(smtp_sasl_maps, str_ptr(req->sender),
		    MAPS_FIND_FULL | MAPS_FIND_AT_DOMAIN, NULL, false, NULL);
	if (v == NULL && smtp_sasl_maps->error == DICT_ERR_NONE)
		v = maps_find(smtp_sasl_maps, s->addr->dest, 0);
	if (v == NULL && smtp_sasl_maps->error == DICT_ERR_NONE)
		v = maps_find(smtp_sasl_maps, s->addr->host, 0);
	if (v == NULL) {
		if (smtp_sasl_maps->error != DICT_ERR_NONE)
			msg_warn("%s: table lookup problem for %s",
			    smtp_sasl_maps->title, s->addr->dest);
		return false;
	}
	colon = strchr(v, ':');
	str_set(user, "");
	str_catn(user, v, colon ? (size_t)(colon - v) : strlen(v));
	str_set(pass, colon ? colon + 1 : "");
	return true;
}

/* Base64 of n bytes appended to out. */
static void
smtp_b64(struct str *out, const void *data, size_t n)
{
	unsigned char *buf = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock(buf, data, (int)n);

	str_catn(out, (const char *)buf, (size_t)len);
	free(buf);
}

/* One command and its reply; -1 on I/O error (why filled). */
static int
smtp_sasl_chat(struct smtp_session *s, const char *cmd, struct str *reply,
    int *code, struct str *why)
{
	struct str *line = str_new(0);
	int r, ret = -1;

	stream_set_timeout(s->st, SMTP_HELO_TIMEOUT * 1000);
	if (stream_puts(s->st, cmd) < 0 || stream_puts(s->st, "\r\n") < 0)
		goto io;
	str_reset(reply);
	for (;;) {
		r = stream_getline(s->st, line, SMTP_REPLY_LINE_MAX);
		if (r != STREAM_OK && r != STREAM_TOOLONG)
			goto io;
		if (str_len(line) && str_ptr(line)[str_len(line) - 1] == '\r')
			str_truncate(line, str_len(line) - 1);
		str_catfmt(reply, "%s%s", str_len(reply) ? " " : "",
		    str_ptr(line));
		if (str_len(line) >= 4 && str_ptr(line)[3] == '-')
			continue;
		*code = atoi(str_ptr(line));
		break;
	}
	ret = 0;
	goto out;
io:
	if (stream_status(s->st) == STREAM_TIMEOUT)
		str_fmt(why,
		    "conversation with %s timed out while "
		    "authenticating",
		    str_ptr(s->namaddr));
	else
		str_fmt(why, "lost connection with %s while authenticating",
		    str_ptr(s->namaddr));
out:
	str_free(line);
	return ret;
}

/* Is mechanism mech usable under the options and filter? */
static bool
smtp_sasl_allowed(struct smtp_session *s, const char *mech)
{
	const char *opts = s->ssl ? SMTP_VAR(sasl_tls_security_options)
				  : SMTP_VAR(sasl_security_options);
	const char *filter = SMTP_VAR(sasl_mechanism_filter);
	struct argv *a;
	bool ok = true;

	a = argv_split(opts, " \t\r\n,");
	for (size_t i = 0; i < a->argc; i++)
		if (strcasecmp(a->argv[i], "noplaintext") == 0)
			ok = false; /* PLAIN and LOGIN are plaintext */
	argv_free(a);
	if (ok && *filter) {
		a = argv_split(filter, " \t\r\n,");
		ok = false;
		for (size_t i = 0; i < a->argc; i++)
			if (strcasecmp(a->argv[i], mech) == 0)
				ok = true;
		argv_free(a);
	}
	return ok;
}

int
smtp_sasl_auth(struct smtp_session *s, const char *user, const char *pass,
    struct str *why)
{
	struct str *cmd = str_new(0), *reply = str_new(0), *tok = str_new(0);
	struct argv *mechs = argv_split(str_ptr(s->auth_mechs), " ");
	const char *mech = NULL;
	int code = 0, ret = -1;

	s->code = 0;
	/* PLAIN first, then LOGIN, in the server's list. */
	for (size_t i = 0; i < mechs->argc && !mech; i++)
		if (strcasecmp(mechs->argv[i], "PLAIN") == 0 &&
		    smtp_sasl_allowed(s, "PLAIN"))
			mech = "PLAIN";
	for (size_t i = 0; i < mechs->argc && !mech; i++)
		if (strcasecmp(mechs->argv[i], "LOGIN") == 0 &&
		    smtp_sasl_allowed(s, "LOGIN"))
			mech = "LOGIN";
	if (mech == NULL) {
		s->code = 0;
		msg_warn("SASL authentication failure: No worthy mechs found");
		str_fmt(why,
		    "SASL authentication failed; cannot authenticate "
		    "to server %s: no mechanism available",
		    str_ptr(s->namaddr));
		goto out;
	}
	if (strcmp(mech, "PLAIN") == 0) {
		size_t ul = strlen(user), pl = strlen(pass);
		char *raw = xmalloc(ul + pl + 2);

		raw[0] = 0;
		memcpy(raw + 1, user, ul);
		raw[ul + 1] = 0;
		memcpy(raw + ul + 2, pass, pl);
		str_set(cmd, "AUTH PLAIN ");
		smtp_b64(cmd, raw, ul + pl + 2);
		explicit_bzero(raw, ul + pl + 2);
		free(raw);
		if (smtp_sasl_chat(s, str_ptr(cmd), reply, &code, why) < 0)
			goto out;
	} else {
		if (smtp_sasl_chat(s, "AUTH LOGIN", reply, &code, why) < 0)
			goto out;
		if (code == 334) {
			str_reset(tok);
			smtp_b64(tok, user, strlen(user));
			if (smtp_sasl_chat(s, str_ptr(tok), reply, &code, why) <
			    0)
				goto out;
		}
		if (code == 334) {
			str_reset(tok);
			smtp_b64(tok, pass, strlen(pass));
			if (smtp_sasl_chat(s, str_ptr(tok), reply, &code, why) <
			    0)
				goto out;
		}
	}
	s->code = code;
	str_set(s->reply, str_ptr(reply));
	if (code / 100 != 2) {
		str_fmt(why, "SASL authentication failed; server %s said: %s",
		    str_ptr(s->namaddr), str_ptr(reply));
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(str_ptr(cmd), str_len(cmd));
	explicit_bzero(str_ptr(tok), str_len(tok));
	argv_free(mechs);
	str_free(cmd);
	str_free(reply);
	str_free(tok);
	return ret;
}
