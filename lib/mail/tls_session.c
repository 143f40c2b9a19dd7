/*
 * tls_session - one TLS connection: stream I/O through SSL_read() and
 * SSL_write(), the summary that Postfix logs and puts in Received:, and
 * the loglevel-2 state lines.  See tls.h.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/tls.h"

/*
 * What an SSL call that returned r <= 0 means for the stream: -1 with
 * *want set to wait and retry, 0 at the end of the data, -1 with *want 0
 * for an error.
 */
static ssize_t
tls_io_result(SSL *ssl, int r, short *want)
{
	unsigned long e;

	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0)
			return 0;
		if (errno == EINTR) {
			*want = POLLIN;
			return -1;
		}
		ERR_clear_error();
		*want = 0;
		return -1;
	default:
		/* OpenSSL 3 reports a peer that just hangs up this way */
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return 0;
		}
		tls_print_errors();
		errno = EIO;
		*want = 0;
		return -1;
	}
}

static ssize_t
tls_io_read(void *ctx, void *buf, size_t len, short *want)
{
	SSL *ssl = ctx;
	size_t got = 0;
	int r;

	*want = 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read_ex(ssl, buf, len, &got)) == 1)
		return (ssize_t)got;
	return tls_io_result(ssl, r, want);
}

static ssize_t
tls_io_write(void *ctx, const void *buf, size_t len, short *want)
{
	SSL *ssl = ctx;
	size_t put = 0;
	ssize_t n;
	int r;

	*want = 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write_ex(ssl, buf, len, &put)) == 1)
		return (ssize_t)put;
	/* A write never sees a clean end: a closed peer is an error. */
	if ((n = tls_io_result(ssl, r, want)) == 0) {
		errno = EPIPE;
		*want = 0;
		return -1;
	}
	return n;
}

const struct stream_io tls_stream_io = {
	.read = tls_io_read,
	.write = tls_io_write,
};

/* "RSA-PSS (2048 bits)", "ECDSA (prime256v1)", "ED25519". */
static void
tls_key_desc(struct str *out, EVP_PKEY *pkey, bool tls13)
{
	char group[80];
	size_t len;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		/* TLS 1.3 signs with RSA-PSS only (RFC 8446 4.2.3) */
		str_catfmt(out, "%s (%d bits)", tls13 ? "RSA-PSS" : "RSA",
		    EVP_PKEY_get_bits(pkey));
		break;
	case EVP_PKEY_RSA_PSS:
		str_catfmt(out, "RSA-PSS (%d bits)", EVP_PKEY_get_bits(pkey));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) ==
		    1)
			str_catfmt(out, "ECDSA (%s)", group);
		else
			str_cat(out, "ECDSA");
		break;
	case EVP_PKEY_ED25519:
		str_cat(out, "ED25519");
		break;
	case EVP_PKEY_ED448:
		str_cat(out, "ED448");
		break;
	case EVP_PKEY_DSA:
		str_catfmt(out, "DSA (%d bits)", EVP_PKEY_get_bits(pkey));
		break;
	default:
		str_cat(out, OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		break;
	}
}

/*
 * Postfix adds the key exchange and signature details for TLS 1.3 only,
 * where the cipher name no longer tells them.
 */
static void
tls_kex_details(SSL *ssl, struct str *out, struct str *peer_out)
{
	EVP_PKEY *kex = NULL, *key;
	X509 *cert;
	char group[80];
	size_t len;
	int nid;

	if (SSL_version(ssl) < TLS1_3_VERSION)
		return;
	if (SSL_get_peer_tmp_key(ssl, &kex) == 1 && kex) {
		switch (EVP_PKEY_get_base_id(kex)) {
		case EVP_PKEY_EC:
			if (EVP_PKEY_get_group_name(kex, group, sizeof(group),
				&len) == 1)
				str_catfmt(out, " key-exchange ECDHE (%s)",
				    group);
			else
				str_cat(out, " key-exchange ECDHE");
			break;
		case EVP_PKEY_DH:
			str_catfmt(out, " key-exchange DHE (%d bits)",
			    EVP_PKEY_get_bits(kex));
			break;
		default:
			str_catfmt(out, " key-exchange %s",
			    OBJ_nid2sn(EVP_PKEY_get_base_id(kex)));
			break;
		}
		EVP_PKEY_free(kex);
	}
	ERR_clear_error();
	if (SSL_is_server(ssl)) {
		if ((cert = SSL_get_certificate(ssl)) != NULL &&
		    (key = X509_get0_pubkey(cert)) != NULL) {
			str_cat(out, " server-signature ");
			tls_key_desc(out, key, true);
			if (SSL_get_signature_nid(ssl, &nid) == 1 &&
			    nid != NID_undef)
				str_catfmt(out, " server-digest %s",
				    OBJ_nid2sn(nid));
		}
		if ((cert = SSL_get0_peer_certificate(ssl)) != NULL &&
		    (key = X509_get0_pubkey(cert)) != NULL) {
			str_cat(peer_out, " client-signature ");
			tls_key_desc(peer_out, key, true);
			if (SSL_get_peer_signature_nid(ssl, &nid) == 1 &&
			    nid != NID_undef)
				str_catfmt(peer_out, " client-digest %s",
				    OBJ_nid2sn(nid));
		}
	} else {
		if ((cert = SSL_get0_peer_certificate(ssl)) != NULL &&
		    (key = X509_get0_pubkey(cert)) != NULL) {
			str_cat(out, " server-signature ");
			tls_key_desc(out, key, true);
			if (SSL_get_peer_signature_nid(ssl, &nid) == 1 &&
			    nid != NID_undef)
				str_catfmt(out, " server-digest %s",
				    OBJ_nid2sn(nid));
		}
		if ((cert = SSL_get_certificate(ssl)) != NULL &&
		    (key = X509_get0_pubkey(cert)) != NULL) {
			str_cat(peer_out, " client-signature ");
			tls_key_desc(peer_out, key, true);
			if (SSL_get_signature_nid(ssl, &nid) == 1 &&
			    nid != NID_undef)
				str_catfmt(peer_out, " client-digest %s",
				    OBJ_nid2sn(nid));
		}
	}
	ERR_clear_error();
}

void
tls_summary(SSL *ssl, struct str *line, bool received)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	struct str *kex = str_new(100), *cli = str_new(100);
	int bits, alg_bits = 0;

	bits = SSL_CIPHER_get_bits(cipher, &alg_bits);
	str_fmt(line, "%s%s with cipher %s (%d/%d bits)",
	    received ? "(using " : "", SSL_get_version(ssl),
	    SSL_CIPHER_get_name(cipher), bits, alg_bits);
	tls_kex_details(ssl, kex, cli);
	if (!received) {
		str_cat(line, str_ptr(kex));
		str_cat(line, str_ptr(cli));
	} else {
		/* Postfix folds the header before each group: "\t key-..." */
		if (str_len(kex))
			str_catfmt(line, "\n\t%s", str_ptr(kex));
		if (str_len(cli))
			str_catfmt(line, "\n\t%s", str_ptr(cli));
		str_cat(line, ")");
	}
	str_free(kex);
	str_free(cli);
}

static int tls_peer_index = -1;

/* With a NULL ssl: allocate the ex_data slot (tls_library_init). */
void
tls_set_peer(SSL *ssl, const char *namaddr)
{
	if (tls_peer_index < 0 && (tls_peer_index = SSL_get_ex_new_index(0,
				       NULL, NULL, NULL, NULL)) < 0)
		msg_fatal("cannot allocate an OpenSSL ex_data index");
	if (ssl)
		(void)SSL_set_ex_data(ssl, tls_peer_index, (void *)namaddr);
}

const char *
tls_peer(const SSL *ssl)
{
	const char *name = NULL;

	if (tls_peer_index >= 0)
		name = SSL_get_ex_data(ssl, tls_peer_index);
	return name ? name : "unknown";
}

void
tls_info_callback(const SSL *ssl, int where, int ret)
{
	const char *what;

	if (where & SSL_ST_CONNECT)
		what = "SSL_connect";
	else if (where & SSL_ST_ACCEPT)
		what = "SSL_accept";
	else
		what = "undefined";
	if (where & SSL_CB_LOOP) {
		msg_info("%s:%s", what, SSL_state_string_long(ssl));
	} else if (where & SSL_CB_ALERT) {
		msg_info("SSL3 alert %s:%s:%s",
		    (where & SSL_CB_READ) ? "read" : "write",
		    SSL_alert_type_string_long(ret),
		    SSL_alert_desc_string_long(ret));
	} else if (where & SSL_CB_EXIT) {
		if (ret == 0)
			msg_info("%s:failed in %s", what,
			    SSL_state_string_long(ssl));
		else if (ret < 0 &&
			 SSL_get_error(ssl, ret) != SSL_ERROR_WANT_READ &&
			 SSL_get_error(ssl, ret) != SSL_ERROR_WANT_WRITE)
			msg_info("%s:error in %s", what,
			    SSL_state_string_long(ssl));
	}
}
