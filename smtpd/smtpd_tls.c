/*
 * smtpd_tls - STARTTLS and wrapper mode (port 465) for smtpd, with
 * Postfix's replies, log lines and Received: comment.
 *
 * Keys, certificates, SNI chains and the session ticket keys are read in
 * smtpd_tls_pre_jail(), as root.  A file that cannot be used gives
 * Postfix's warning once at start-up; STARTTLS is still offered and then
 * answered "454 4.7.0 TLS not available due to local problem", as
 * Postfix does, and the process goes on in plaintext.
 *
 * STARTTLS injection (CVE-2011-0411): input that the client sent after
 * STARTTLS, before the handshake, is discarded unread, and after the
 * handshake the session starts over (HELO/EHLO, MAIL, SASL forgotten).
 *
 * Session resumption uses stateless tickets encrypted with keys from
 * $data_directory/smtpd_tls_ticket_keys (see lib/mail/tls.h), valid for
 * smtpd_tls_session_cache_timeout; 0 turns resumption off.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/util/alloc.h"
#include "lib/util/dict.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/daemon.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"
#include "smtpd/smtpd.h"

#define SMTPD_TLS_NONE    0
#define SMTPD_TLS_MAY     1
#define SMTPD_TLS_ENCRYPT 2

#define SMTPD_TLS_KEY_FILE "smtpd_tls_ticket_keys"

struct smtpd_tls {
	SSL *ssl;
	char *peer; /* "name[addr]", for OpenSSL callbacks */
	char *sni;  /* the matched SNI name, or NULL */
};

static int smtpd_tls_level;    /* SMTPD_TLS_* */
static bool smtpd_tls_enforce; /* mandatory protocols and ciphers */
static SSL_CTX *smtpd_tls_ctx; /* NULL: TLS not available */
static struct maps *smtpd_sni_maps;
static struct htable *smtpd_sni_ctx; /* map value -> SSL_CTX */

/* The TLS level from smtpd_tls_security_level or the legacy booleans. */
static int
smtpd_tls_get_level(void)
{
	const char *level = var_smtpd_tls_security_level;

	if (*level == 0) {
		if (var_smtpd_enforce_tls)
			return SMTPD_TLS_ENCRYPT;
		return var_smtpd_use_tls ? SMTPD_TLS_MAY : SMTPD_TLS_NONE;
	}
	if (strcasecmp(level, "none") == 0)
		return SMTPD_TLS_NONE;
	if (strcasecmp(level, "may") == 0)
		return SMTPD_TLS_MAY;
	if (strcasecmp(level, "encrypt") == 0)
		return SMTPD_TLS_ENCRYPT;
	/* client-side levels mean "encrypt" to the server, as in Postfix */
	if (strcasecmp(level, "dane") == 0 ||
	    strcasecmp(level, "dane-only") == 0 ||
	    strcasecmp(level, "fingerprint") == 0 ||
	    strcasecmp(level, "verify") == 0 ||
	    strcasecmp(level, "secure") == 0) {
		msg_warn("%s: unsupported TLS level \"%s\", using \"encrypt\"",
		    "smtpd_tls_security_level", level);
		return SMTPD_TLS_ENCRYPT;
	}
	msg_fatal("Invalid TLS level \"%s\"", level);
}

/* smtpd_tls_dh1024_param_file: explicit DH parameters, else OpenSSL's. */
static void
smtpd_tls_dh(SSL_CTX *ctx)
{
	EVP_PKEY *dh = NULL;
	BIO *bio;

	if (*var_smtpd_tls_dh1024_param_file) {
		if ((bio = BIO_new_file(var_smtpd_tls_dh1024_param_file,
			 "r")) == NULL) {
			msg_warn(
			    "error opening DH parameter file \"%s\": %m -- "
			    "using compiled-in defaults",
			    var_smtpd_tls_dh1024_param_file);
		} else {
			dh = PEM_read_bio_Parameters(bio, NULL);
			BIO_free(bio);
			if (dh == NULL ||
			    EVP_PKEY_get_base_id(dh) != EVP_PKEY_DH) {
				msg_warn(
				    "error decoding DH parameters from file "
				    "\"%s\" -- using compiled-in defaults",
				    var_smtpd_tls_dh1024_param_file);
				EVP_PKEY_free(dh);
				dh = NULL;
			}
		}
		ERR_clear_error();
	}
	if (dh && SSL_CTX_set0_tmp_dh_pkey(ctx, dh) == 1)
		return;
	EVP_PKEY_free(dh);
	ERR_clear_error();
	SSL_CTX_set_dh_auto(ctx, 1);
}

/* The server's own keys and certificates; 0, or -1 after warnings. */
static int
smtpd_tls_load_keys(SSL_CTX *ctx)
{
	bool any = false;

	if (*var_smtpd_tls_chain_files)
		return tls_load_chain_files(ctx, var_smtpd_tls_chain_files);
	if (*var_smtpd_tls_cert_file) {
		if (tls_load_cert_key(ctx, "RSA", var_smtpd_tls_cert_file,
			*var_smtpd_tls_key_file ? var_smtpd_tls_key_file
						: var_smtpd_tls_cert_file) < 0)
			return -1;
		any = true;
	}
	if (*var_smtpd_tls_dcert_file) {
		if (tls_load_cert_key(ctx, "DSA", var_smtpd_tls_dcert_file,
			*var_smtpd_tls_dkey_file
			    ? var_smtpd_tls_dkey_file
			    : var_smtpd_tls_dcert_file) < 0)
			return -1;
		any = true;
	}
	if (*var_smtpd_tls_eccert_file) {
		if (tls_load_cert_key(ctx, "ECDSA", var_smtpd_tls_eccert_file,
			*var_smtpd_tls_eckey_file
			    ? var_smtpd_tls_eckey_file
			    : var_smtpd_tls_eccert_file) < 0)
			return -1;
		any = true;
	}
	if (!any) {
		msg_warn("No server certs available. TLS won't be enabled");
		return -1;
	}
	return 0;
}

/* SNI: switch to the chain that tls_server_sni_maps gives the name. */
static int
smtpd_tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct smtpd_tls *tls = SSL_get_app_data(ssl);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const char *value, *cp;
	struct str *lower;
	SSL_CTX *ctx;

	(void)alert;
	(void)arg;
	if (name == NULL || *name == 0 || smtpd_sni_maps == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (cp = name; *cp; cp++) {
		if (!((*cp >= 'a' && *cp <= 'z') ||
			(*cp >= 'A' && *cp <= 'Z') ||
			(*cp >= '0' && *cp <= '9') || *cp == '-' ||
			*cp == '.' || *cp == '_') ||
		    cp - name > 255) {
			msg_warn("TLS SNI from %s is invalid: %.100s",
			    tls->peer, name);
			return SSL_TLSEXT_ERR_NOACK;
		}
	}
	lower = str_new(64);
	str_set(lower, name);
	str_lower(lower);
	value = maps_find_domain(smtpd_sni_maps, str_ptr(lower), 0, false);
	if (value == NULL ||
	    (ctx = htable_find(smtpd_sni_ctx, value)) == NULL) {
		if (value)
			msg_warn("TLS SNI %s from %s: no preloaded chain for "
				 "\"%s\"; using default chain",
			    str_ptr(lower), tls->peer, value);
		else
			msg_info("TLS SNI %s from %s not matched, using "
				 "default chain",
			    str_ptr(lower), tls->peer);
		str_free(lower);
		return SSL_TLSEXT_ERR_OK;
	}
	SSL_set_SSL_CTX(ssl, ctx);
	free(tls->sni);
	tls->sni = xstrdup(str_ptr(lower));
	str_free(lower);
	return SSL_TLSEXT_ERR_OK;
}

/*
 * tls_server_sni_maps: load every chain the tables name now, as root.
 * Only tables that can be listed (hash, btree, inline, texthash, ...)
 * can be preloaded; a pattern table's results are unknown in advance.
 */
static void
smtpd_tls_sni_preload(void)
{
	const char *key, *value;
	size_t i;
	int how;

	smtpd_sni_maps = maps_new("tls_server_sni_maps",
	    var_tls_server_sni_maps, DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK);
	smtpd_sni_ctx = htable_new(8);
	for (i = 0; i < smtpd_sni_maps->count; i++) {
		struct dict *d = smtpd_sni_maps->dicts[i];

		if (d->sequence == NULL || (d->flags & DICT_FLAG_PATTERN)) {
			msg_warn("tls_server_sni_maps: %s:%s cannot be listed: "
				 "its chains are not loaded",
			    d->type, d->name);
			continue;
		}
		for (how = DICT_SEQ_FIRST; dict_seq(d, how, &key, &value) == 0;
		     how = DICT_SEQ_NEXT) {
			struct str *why = str_new(64);
			char *files = xstrdup(value);
			SSL_CTX *ctx;

			if (htable_find(smtpd_sni_ctx, files) == NULL &&
			    (ctx = tls_ctx_new(true, why)) != NULL) {
				if (tls_load_chain_files(ctx, files) == 0)
					htable_enter(smtpd_sni_ctx, files, ctx);
				else
					SSL_CTX_free(ctx);
			}
			free(files);
			str_free(why);
		}
	}
}

void
smtpd_tls_pre_jail(void)
{
	struct str *why = str_new(100), *path = str_new(100);
	int min, max;
	long off;
	SSL_CTX *ctx = NULL;
	const char *protocols;

	smtpd_tls_level = smtpd_tls_get_level();
	/* smtpd -S for "sendmail -bs" runs as the user: no keys, no TLS */
	if (geteuid() != 0)
		smtpd_tls_level = SMTPD_TLS_NONE;
	if (var_smtpd_tls_wrappermode && smtpd_tls_level < SMTPD_TLS_MAY)
		smtpd_tls_level = SMTPD_TLS_MAY;
	smtpd_tls_enforce =
	    var_smtpd_tls_wrappermode || smtpd_tls_level == SMTPD_TLS_ENCRYPT;
	if (smtpd_tls_level == SMTPD_TLS_NONE)
		goto out;
	tls_library_init();
	if (var_smtpd_tls_loglevel >= 2)
		msg_info("initializing the server-side TLS engine");
	protocols = smtpd_tls_enforce ? var_smtpd_tls_mandatory_protocols
				      : var_smtpd_tls_protocols;
	if (tls_protocol_range(protocols, &min, &max, &off) < 0) {
		msg_warn("Invalid TLS protocol list \"%s\": disabling TLS "
			 "support",
		    protocols);
		goto out;
	}
	if ((ctx = tls_ctx_new(true, why)) == NULL) {
		msg_warn("%s: disabling TLS support", str_ptr(why));
		tls_print_errors();
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, min);
	SSL_CTX_set_max_proto_version(ctx, max);
	SSL_CTX_set_options(ctx, (uint64_t)off);
	if (smtpd_tls_load_keys(ctx) < 0) {
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	smtpd_tls_dh(ctx);
	if (var_smtpd_tls_ask_ccert) {
		if (*var_smtpd_tls_CAfile || *var_smtpd_tls_CApath) {
			if (SSL_CTX_load_verify_locations(ctx,
				*var_smtpd_tls_CAfile ? var_smtpd_tls_CAfile
						      : NULL,
				*var_smtpd_tls_CApath ? var_smtpd_tls_CApath
						      : NULL) != 1) {
				msg_warn("cannot load Certification Authority "
					 "data, CAfile=\"%s\" CApath=\"%s\": "
					 "disabling TLS support",
				    var_smtpd_tls_CAfile, var_smtpd_tls_CApath);
				tls_print_errors();
				SSL_CTX_free(ctx);
				ctx = NULL;
				goto out;
			}
		}
	}
	/* Resumption: tickets under the shared keys, for the cache timeout. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"smtpd", 5);
	SSL_CTX_set_timeout(ctx, (long)var_smtpd_tls_session_cache_timeout);
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	if (var_smtpd_tls_session_cache_timeout > 0 &&
	    *var_tls_session_ticket_cipher) {
		str_fmt(path, "%s/%s", var_data_directory, SMTPD_TLS_KEY_FILE);
		(void)tls_ticket_keys_load(str_ptr(path),
		    var_smtpd_tls_session_cache_timeout);
	}
	tls_ticket_keys_attach(ctx, var_smtpd_tls_loglevel);
	if (*var_tls_server_sni_maps) {
		smtpd_tls_sni_preload();
		SSL_CTX_set_tlsext_servername_callback(ctx, smtpd_tls_sni_cb);
	}
out:
	smtpd_tls_ctx = ctx;
	str_free(why);
	str_free(path);
}

void
smtpd_tls_init(void)
{
}

bool
smtpd_tls_offer(struct smtpd_state *state)
{
	return smtpd_tls_level >= SMTPD_TLS_MAY && state->tls == NULL &&
	       !var_smtpd_tls_wrappermode;
}

bool
smtpd_tls_required(struct smtpd_state *state)
{
	return smtpd_tls_level == SMTPD_TLS_ENCRYPT && state->tls == NULL;
}

/* Verify nothing, only collect the client certificate (ask_ccert). */
static int
smtpd_tls_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	(void)ctx;
	(void)ok;
	return 1;
}

static void
smtpd_tls_free(struct smtpd_tls *tls)
{
	if (tls == NULL)
		return;
	SSL_free(tls->ssl);
	free(tls->peer);
	free(tls->sni);
	free(tls);
}

/* "Anonymous", "Untrusted" or "Trusted": what the client proved. */
static const char *
smtpd_tls_trust(SSL *ssl, bool *verified)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);

	*verified = false;
	if (peer == NULL)
		return "Anonymous";
	if (SSL_get_verify_result(ssl) == X509_V_OK &&
	    (*var_smtpd_tls_CAfile || *var_smtpd_tls_CApath)) {
		*verified = true;
		return "Trusted";
	}
	return "Untrusted";
}

/*
 * The handshake, for STARTTLS and wrapper mode; 0, or -1 after the
 * SSL_accept log line (the caller logs the lost connection).
 */
static int
smtpd_tls_start(struct smtpd_state *state)
{
	struct str *why = str_new(64), *line = str_new(200);
	const char *excl[3];
	char *ciphers;
	struct smtpd_tls *tls;
	bool verified;
	int fd = stream_fd(state->st), r, err, rc = -1, flags;

	if (var_smtpd_tls_loglevel >= 2)
		msg_info("setting up TLS connection from %s",
		    str_ptr(state->namaddr));
	excl[0] = var_smtpd_tls_exclude_ciphers;
	excl[1] =
	    smtpd_tls_enforce ? var_smtpd_tls_mandatory_exclude_ciphers : NULL;
	excl[2] = NULL;
	ciphers =
	    tls_cipher_list(smtpd_tls_enforce ? var_smtpd_tls_mandatory_ciphers
					      : var_smtpd_tls_ciphers,
		excl, why);
	if (ciphers == NULL) {
		msg_warn("%s: %s", str_ptr(state->namaddr), str_ptr(why));
		goto out;
	}
	if (var_smtpd_tls_loglevel >= 2)
		msg_info("%s: TLS cipher list \"%s\"", str_ptr(state->namaddr),
		    ciphers);
	tls = xcalloc(1, sizeof(*tls));
	tls->peer = xstrdup(str_ptr(state->namaddr));
	if ((tls->ssl = SSL_new(smtpd_tls_ctx)) == NULL ||
	    SSL_set_cipher_list(tls->ssl, ciphers) != 1) {
		msg_warn("%s: error setting cipher grade: \"%s\"",
		    str_ptr(state->namaddr), ciphers);
		tls_print_errors();
		free(ciphers);
		smtpd_tls_free(tls);
		goto out;
	}
	free(ciphers);
	SSL_set_app_data(tls->ssl, tls);
	tls_set_peer(tls->ssl, tls->peer);
	if (var_smtpd_tls_loglevel >= 2)
		SSL_set_info_callback(tls->ssl, tls_info_callback);
	if (var_smtpd_tls_ask_ccert)
		SSL_set_verify(tls->ssl,
		    SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
		    smtpd_tls_verify_cb);
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    SSL_set_fd(tls->ssl, fd) != 1) {
		msg_warn("%s: cannot set up TLS: %m", str_ptr(state->namaddr));
		smtpd_tls_free(tls);
		goto out;
	}
	stream_set_timeout(state->st, var_smtpd_starttls_timeout * 1000);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_accept(tls->ssl)) == 1)
			break;
		err = SSL_get_error(tls->ssl, r);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			if (stream_await(state->st, err == SSL_ERROR_WANT_READ
							? POLLIN
							: POLLOUT) == STREAM_OK)
				continue;
			msg_info("SSL_accept error from %s: %s",
			    str_ptr(state->namaddr),
			    stream_status(state->st) == STREAM_TIMEOUT
				? "Connection timed out"
				: "lost connection");
		} else if (err == SSL_ERROR_SYSCALL && errno != 0) {
			msg_info("SSL_accept error from %s: %m",
			    str_ptr(state->namaddr));
			ERR_clear_error();
		} else if ((err == SSL_ERROR_SYSCALL ||
			       err == SSL_ERROR_ZERO_RETURN) ||
			   (ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
			       ERR_GET_REASON(ERR_peek_error()) ==
				   SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			msg_info("SSL_accept error from %s: lost connection",
			    str_ptr(state->namaddr));
			ERR_clear_error();
		} else {
			msg_info("SSL_accept error from %s: %d",
			    str_ptr(state->namaddr), r);
			tls_print_errors();
		}
		stream_set_timeout(state->st, var_smtpd_timeout * 1000);
		smtpd_tls_free(tls);
		goto out;
	}
	stream_set_timeout(state->st, var_smtpd_timeout * 1000);
	stream_set_io(state->st, &tls_stream_io, tls->ssl);
	state->tls = tls;
	if (var_smtpd_tls_loglevel >= 1) {
		tls_summary(tls->ssl, line, false);
		msg_info("%s TLS connection established from %s%s%s: %s",
		    smtpd_tls_trust(tls->ssl, &verified),
		    str_ptr(state->namaddr), tls->sni ? " to " : "",
		    tls->sni ? tls->sni : "", str_ptr(line));
	}
	rc = 0;
out:
	str_free(why);
	str_free(line);
	return rc;
}

/*
 * Count a new (not resumed) session with anvil; over the client's
 * smtpd_client_new_tls_session_rate_limit it gets the 421 reply and the
 * session ends (-1).
 */
static int
smtpd_tls_count(struct smtpd_state *state)
{
	struct str *reply;
	int rc = 0;

	if (SSL_session_reused(state->tls->ssl))
		return 0;
	reply = str_new(100);
	if (smtpd_anvil_tls(state, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		(void)stream_flush(state->st);
		rc = -1;
	}
	str_free(reply);
	return rc;
}

int
smtpd_tls_wrapper(struct smtpd_state *state)
{
	if (!var_smtpd_tls_wrappermode)
		return 0;
	if (smtpd_tls_ctx == NULL) {
		msg_warn("Wrapper-mode request dropped from %s for service %s. "
			 "TLS context initialization failed. For details see "
			 "earlier warnings in your logs.",
		    str_ptr(state->namaddr), daemon_service_name());
		return -1;
	}
	if (smtpd_tls_start(state) < 0) {
		msg_info("lost connection after CONNECT from %s",
		    str_ptr(state->namaddr));
		return -1;
	}
	state->proto = "SMTP";
	return smtpd_tls_count(state);
}

bool
smtpd_cmd_starttls(struct smtpd_state *state, const char *arg)
{
	struct str *reply;

	if (*arg) {
		smtpd_reply(state, "501 5.5.4 Syntax: STARTTLS");
		return false;
	}
	if (state->tls) {
		smtpd_reply(state, "554 5.5.1 Error: TLS already active");
		return false;
	}
	if (smtpd_tls_level < SMTPD_TLS_MAY || var_smtpd_tls_wrappermode) {
		smtpd_reply(state, "502 5.5.1 Error: command not implemented");
		return false;
	}
	if (smtpd_tls_ctx == NULL) {
		smtpd_reply(state,
		    "454 4.7.0 TLS not available due to local problem");
		return false;
	}
	reply = str_new(100);
	if (smtpd_anvil_tls_check(state, reply) < 0) {
		smtpd_reply(state, "%s", str_ptr(reply));
		str_free(reply);
		return false;
	}
	str_free(reply);
	smtpd_reply(state, "220 2.0.0 Ready to start TLS");
	if (stream_flush(state->st) < 0) {
		msg_info("lost connection after STARTTLS from %s",
		    str_ptr(state->namaddr));
		state->alive = false;
		return false;
	}
	/* CVE-2011-0411: nothing sent before the handshake is a command */
	stream_purge(state->st);
	if (smtpd_tls_start(state) < 0) {
		msg_info("lost connection after STARTTLS from %s",
		    str_ptr(state->namaddr));
		state->alive = false;
		return false;
	}
	if (smtpd_tls_count(state) < 0) {
		state->alive = false;
		return false;
	}
	/* RFC 3207 4.2: forget everything learned from the client */
	smtpd_reset(state);
	free(state->helo);
	state->helo = NULL;
	state->esmtp = false;
	smtpd_sasl_end(state);
	smtpd_proto_name(state);
	return true;
}

/* A peer-supplied name goes into a header: printable ASCII only. */
static void
smtpd_tls_printable(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"')
			*s = '?';
}

void
smtpd_tls_received(struct smtpd_state *state, struct str *buf)
{
	struct smtpd_tls *tls = state->tls;
	struct str *line;
	X509 *peer;
	char cn[256], issuer[256];
	bool verified;

	str_reset(buf);
	if (tls == NULL || !var_smtpd_tls_received_header)
		return;
	line = str_new(200);
	tls_summary(tls->ssl, line, true);
	str_fmt(buf, "\t%s\n", str_ptr(line));
	peer = SSL_get0_peer_certificate(tls->ssl);
	if (!var_smtpd_tls_ask_ccert) {
		str_cat(buf, "\t(No client certificate requested)");
	} else if (peer == NULL) {
		str_cat(buf, "\t(Client did not present a certificate)");
	} else {
		(void)smtpd_tls_trust(tls->ssl, &verified);
		cn[0] = issuer[0] = 0;
		(void)X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
		    NID_commonName, cn, sizeof(cn));
		(void)X509_NAME_get_text_by_NID(X509_get_issuer_name(peer),
		    NID_commonName, issuer, sizeof(issuer));
		smtpd_tls_printable(cn);
		smtpd_tls_printable(issuer);
		str_catfmt(buf, "\t(Client CN \"%s\", Issuer \"%s\" (%s))", cn,
		    issuer, verified ? "verified OK" : "not verified");
	}
	str_free(line);
}

void
smtpd_tls_end(struct smtpd_state *state)
{
	struct smtpd_tls *tls = state->tls;

	if (tls == NULL)
		return;
	/* the last reply goes out encrypted, then a close_notify */
	(void)stream_flush(state->st);
	stream_set_io(state->st, NULL, NULL);
	ERR_clear_error();
	/* Postfix logs no handshake states for the close_notify */
	SSL_set_info_callback(tls->ssl, NULL);
	if (SSL_shutdown(tls->ssl) < 0)
		ERR_clear_error();
	smtpd_tls_free(tls);
	state->tls = NULL;
}
