/*
 * smtp_tls_cache - the TLS session cache of the smtp and lmtp clients
 * (smtp_tls_session_cache_database, kept by tlsmgr(8)); smtp_tls.c calls
 * it around the handshake.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/daemon.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"
#include "lib/mail/tlsmgr_clnt.h"
#include "smtp.h"

/*
 * The TLS session cache (smtp_tls_session_cache_database, kept by
 * tlsmgr(8)).  Before a handshake the session cached under this
 * connection's id is offered for resumption; the sessions OpenSSL hands
 * us (SSL_CTX_sess_set_new_cb: in TLS 1.3 the tickets arrive after the
 * handshake) go to tlsmgr, but only once the connection has passed its
 * policy check, so a session that failed verification is never reused.
 * The id holds everything a resumed session must have in common with a
 * new one, as Postfix's does: the service, next hop with port, host and
 * address, then a SHA-256 of the level and the TLS settings (protocols,
 * ciphers, name match, SNI, TLSA records, trust anchors, client
 * certificate).  So a session verified at one level or against one
 * TLSA RRset is never resumed under another; the resumed session keeps
 * the peer certificate and verification result of the full handshake,
 * which the trust decision below uses as before.
 */
struct smtp_tls_cache {
	char *id;
	bool ok;              /* passed the policy check: sessions may go */
	SSL_SESSION *pending; /* handed to us before the check */
};

static bool smtp_tls_cache_on;
static int smtp_tls_cache_index = -1;

static const char *
smtp_tls_cache_type(void)
{
	return smtp_lmtp ? "lmtp" : "smtp";
}

/* Serialize a session and give it to tlsmgr. */
static void
smtp_tls_cache_save(const char *id, SSL_SESSION *sess)
{
	unsigned char *buf = NULL;
	int len;

	if ((len = i2d_SSL_SESSION(sess, &buf)) <= 0) {
		ERR_clear_error();
		return;
	}
	if (SMTP_VAR(tls_loglevel) >= 2)
		msg_info("save session %s to %s cache", id,
		    smtp_tls_cache_type());
	(void)tlsmgr_clnt_update(smtp_tls_cache_type(), id, buf, (size_t)len);
	OPENSSL_free(buf);
}

/* OpenSSL has a new session: 1 when we keep the reference. */
static int
smtp_tls_cache_new(SSL *ssl, SSL_SESSION *sess)
{
	struct smtp_tls_cache *c = SSL_get_ex_data(ssl, smtp_tls_cache_index);

	if (c == NULL)
		return 0;
	if (c->ok) {
		smtp_tls_cache_save(c->id, sess);
		return 0;
	}
	if (c->pending)
		SSL_SESSION_free(c->pending);
	c->pending = sess;
	return 1;
}

void
smtp_tls_cache_init(SSL_CTX *ctx)
{
	if (*SMTP_VAR(tls_session_cache_database) == 0 ||
	    SMTP_VAR(tls_session_cache_timeout) <= 0)
		return;
	if ((smtp_tls_cache_index =
		    SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) < 0) {
		tls_print_errors();
		return;
	}
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, smtp_tls_cache_new);
	smtp_tls_cache_on = true;
}

/* Append one field of the settings digest, length-prefixed. */
static void
smtp_tls_cache_field(struct str *buf, const void *p, size_t len)
{
	str_catfmt(buf, "%zu:", len);
	str_catn(buf, p, len);
}

static void
smtp_tls_cache_text(struct str *buf, const char *text)
{
	smtp_tls_cache_field(buf, text ? text : "", text ? strlen(text) : 0);
}

/* The cache id of this connection with its settings; NULL: none. */
static char *
smtp_tls_cache_id(const struct smtp_session *s,
    const struct smtp_tls_policy *pol, const char *protos, const char *grade,
    const char *const *excl, const char *sni)
{
	const struct smtp_addr *a = s->addr;
	struct str *buf = str_new(256), *id = str_new(256);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *dest = a->dest, *colon;
	char *ret = NULL;

	str_catfmt(buf, "level=%d", (int)pol->level);
	smtp_tls_cache_text(buf, protos);
	smtp_tls_cache_text(buf, grade);
	smtp_tls_cache_text(buf, excl[0]);
	smtp_tls_cache_text(buf, excl[1]);
	smtp_tls_cache_text(buf, sni);
	smtp_tls_cache_text(buf, pol->match ? pol->match
				 : pol->level == SMTP_TLS_SECURE
				     ? SMTP_VAR(tls_secure_cert_match)
				     : SMTP_VAR(tls_verify_cert_match));
	smtp_tls_cache_text(buf, SMTP_VAR(tls_CAfile));
	smtp_tls_cache_text(buf, SMTP_VAR(tls_CApath));
	smtp_tls_cache_text(buf, SMTP_VAR(tls_chain_files));
	smtp_tls_cache_text(buf, SMTP_VAR(tls_cert_file));
	smtp_tls_cache_text(buf, SMTP_VAR(tls_key_file));
	str_catfmt(buf, "depth=%d", SMTP_VAR(tls_scert_verifydepth));
	str_catfmt(buf, "openssl=%lx", (unsigned long)OpenSSL_version_num());
	for (size_t i = 0; pol->tlsa && i < pol->tlsa->count; i++) {
		const struct dns_rr *rr = &pol->tlsa->rr[i];

		str_catfmt(buf, "tlsa=%d,%d,%d", rr->usage, rr->selector,
		    rr->mtype);
		smtp_tls_cache_field(buf, rr->blob, rr->blob_len);
	}
	if (EVP_Digest(str_ptr(buf), str_len(buf), md, &mdlen, EVP_sha256(),
		NULL) != 1) {
		tls_print_errors();
		goto out;
	}
	if (strncmp(dest, "inet:", 5) == 0)
		dest += 5;
	str_fmt(id, "%s&%s", daemon_service_name(), dest);
	/* The next hop with its port, as Postfix's id has it. */
	colon = strrchr(dest, ':');
	if (a->family != AF_UNIX &&
	    (colon == NULL || strchr(colon, ']') != NULL ||
		strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		colon[1] == 0))
		str_catfmt(id, ":%d", a->port);
	str_catfmt(id, "&%s&%s&&", a->host, a->addr);
	for (unsigned int i = 0; i < mdlen; i++)
		str_catfmt(id, "%02X", md[i]);
	if (str_len(id) <= TLSMGR_ID_MAX)
		ret = xstrdup(str_ptr(id));
out:
	str_free(buf);
	str_free(id);
	return ret;
}

/*
 * Before the handshake: attach the cache state to the connection and
 * offer the cached session, if any.  A session that does not parse is
 * dropped from the cache.
 */
static void
smtp_tls_cache_lookup(struct smtp_session *s, char *id)
{
	struct smtp_tls_cache *c;
	struct str *blob;
	const unsigned char *p;
	SSL_SESSION *sess;
	const char *type = smtp_tls_cache_type();

	if (id == NULL)
		return;
	c = xcalloc(1, sizeof(*c));
	c->id = id;
	if (SSL_set_ex_data(s->ssl, smtp_tls_cache_index, c) != 1) {
		free(c->id);
		free(c);
		ERR_clear_error();
		return;
	}
	if (SMTP_VAR(tls_loglevel) >= 2)
		msg_info("looking for session %s in %s cache", id, type);
	blob = str_new(0);
	if (tlsmgr_clnt_lookup(type, id, blob) == 1) {
		p = (const unsigned char *)str_ptr(blob);
		sess = d2i_SSL_SESSION(NULL, &p, (long)str_len(blob));
		if (sess == NULL) {
			ERR_clear_error();
			msg_warn("malformed session %s in %s cache: ignored",
			    id, type);
			(void)tlsmgr_clnt_delete(type, id);
		} else {
			if (SSL_set_session(s->ssl, sess) != 1)
				ERR_clear_error();
			else if (SMTP_VAR(tls_loglevel) >= 2)
				msg_info("reloaded session %s from %s cache",
				    id, type);
			SSL_SESSION_free(sess);
		}
	}
	str_free(blob);
}

/* The connection passed its check: its sessions may be cached now. */
void
smtp_tls_cache_allow(struct smtp_session *s)
{
	struct smtp_tls_cache *c;

	if (!smtp_tls_cache_on ||
	    (c = SSL_get_ex_data(s->ssl, smtp_tls_cache_index)) == NULL)
		return;
	c->ok = true;
	if (c->pending) {
		smtp_tls_cache_save(c->id, c->pending);
		SSL_SESSION_free(c->pending);
		c->pending = NULL;
	}
}

void
smtp_tls_cache_free(SSL *ssl)
{
	struct smtp_tls_cache *c;

	if (!smtp_tls_cache_on ||
	    (c = SSL_get_ex_data(ssl, smtp_tls_cache_index)) == NULL)
		return;
	(void)SSL_set_ex_data(ssl, smtp_tls_cache_index, NULL);
	if (c->pending)
		SSL_SESSION_free(c->pending);
	free(c->id);
	free(c);
}

void
smtp_tls_cache_start(struct smtp_session *s, const struct smtp_tls_policy *pol,
    const char *protos, const char *grade, const char *const *excl,
    const char *sni)
{
	if (smtp_tls_cache_on)
		smtp_tls_cache_lookup(s,
		    smtp_tls_cache_id(s, pol, protos, grade, excl, sni));
}
