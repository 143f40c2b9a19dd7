/*
 * tls - OpenSSL set-up shared by the SMTP server and client: library
 * start, error logging, protocol and cipher grade parsing, certificates
 * and keys.  See tls.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"

void
tls_library_init(void)
{
	static bool done;

	if (done)
		return;
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
				 OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
		NULL) != 1)
		msg_fatal("error initializing the OpenSSL library");
	tls_set_peer(NULL, NULL);
	done = true;
}

void
tls_print_errors(void)
{
	const char *file, *data, *func;
	char buf[256];
	unsigned long err;
	int line, flags;

	while ((err = ERR_get_error_all(&file, &line, &func, &data, &flags)) !=
	       0) {
		ERR_error_string_n(err, buf, sizeof(buf));
		if ((flags & ERR_TXT_STRING) && data && *data)
			msg_warn("TLS library problem: %s:%s:%d:%s:", buf, file,
			    line, data);
		else
			msg_warn("TLS library problem: %s:%s:%d:", buf, file,
			    line);
	}
}

/* The protocol names Postfix knows, oldest first. */
static const struct {
	const char *name;
	int version;  /* 0: no longer supported, always off */
	long no_flag; /* SSL_OP_NO_* */
} tls_protocols[] = {
	{ "SSLv2", 0, 0 },
	{ "SSLv3", 0, 0 },
	{ "TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1 },
	{ "TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
	{ "TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
	{ "TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
};
#define TLS_NPROTO (sizeof(tls_protocols) / sizeof(tls_protocols[0]))

static int
tls_protocol_index(const char *name)
{
	size_t i;

	for (i = 0; i < TLS_NPROTO; i++)
		if (strcasecmp(name, tls_protocols[i].name) == 0)
			return (int)i;
	return -1;
}

/*
 * Postfix's protocol syntax: names to include, "!name" to exclude,
 * ">=name" and "<=name" for bounds, separated by white space, commas or
 * colons.  With no plain name every protocol starts included.
 */
int
tls_protocol_range(const char *spec, int *min, int *max, long *off)
{
	bool on[TLS_NPROTO], named = false;
	size_t i, lo = 0, hi = TLS_NPROTO - 1;
	struct argv *tok = argv_split(spec, " \t\r\n,:");
	int idx, rc = -1;

	for (i = 0; i < tok->argc; i++) {
		const char *t = tok->argv[i];

		if (*t != '!' && *t != '>' && *t != '<')
			named = true;
	}
	for (i = 0; i < TLS_NPROTO; i++)
		on[i] = !named;
	for (i = 0; i < tok->argc; i++) {
		const char *t = tok->argv[i];

		if (strncmp(t, ">=", 2) == 0 || strncmp(t, "<=", 2) == 0) {
			if ((idx = tls_protocol_index(t + 2)) < 0)
				goto out;
			if (*t == '>' && (size_t)idx > lo)
				lo = (size_t)idx;
			if (*t == '<' && (size_t)idx < hi)
				hi = (size_t)idx;
		} else if (*t == '!') {
			if ((idx = tls_protocol_index(t + 1)) < 0)
				goto out;
			on[idx] = false;
		} else {
			if ((idx = tls_protocol_index(t)) < 0)
				goto out;
			on[idx] = true;
		}
	}
	*min = *max = 0;
	*off = 0;
	for (i = 0; i < TLS_NPROTO; i++) {
		if (tls_protocols[i].version == 0)
			continue;
		if (on[i] && i >= lo && i <= hi) {
			if (*min == 0)
				*min = tls_protocols[i].version;
			*max = tls_protocols[i].version;
		} else {
			*off |= tls_protocols[i].no_flag;
		}
	}
	if (*min != 0)
		rc = 0;
out:
	argv_free(tok);
	return rc;
}

char *
tls_cipher_list(const char *grade, const char *const *exclude, struct str *why)
{
	struct str *list = str_new(100);
	struct argv *tok;
	const char *base;
	char *result;
	size_t i;

	if (strcasecmp(grade, "high") == 0)
		base = var_tls_high_cipherlist;
	else if (strcasecmp(grade, "medium") == 0)
		base = var_tls_medium_cipherlist;
	else if (strcasecmp(grade, "low") == 0)
		base = var_tls_low_cipherlist;
	else if (strcasecmp(grade, "export") == 0)
		base = var_tls_export_cipherlist;
	else if (strcasecmp(grade, "null") == 0)
		base = var_tls_null_cipherlist;
	else {
		str_fmt(why, "invalid cipher grade: \"%s\"", grade);
		str_free(list);
		return NULL;
	}
	str_set(list, base);
	for (; exclude && *exclude; exclude++) {
		tok = argv_split(*exclude, " \t\r\n,:");
		for (i = 0; i < tok->argc; i++) {
			if (strchr("!+-@", tok->argv[i][0])) {
				str_fmt(why,
				    "invalid unary '!+-@' in cipher exclusion: "
				    "%s",
				    tok->argv[i]);
				argv_free(tok);
				str_free(list);
				return NULL;
			}
			str_catfmt(list, ":!%s", tok->argv[i]);
		}
		argv_free(tok);
	}
	result = xstrdup(str_ptr(list));
	str_free(list);
	return result;
}

SSL_CTX *
tls_ctx_new(bool server, struct str *why)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		str_set(why, "cannot allocate SSL_CTX");
		return NULL;
	}
	/* No renegotiation, no compression; the server's order when asked. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (!var_tls_preempt_cipherlist)
		SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (*var_tls_eecdh_auto_curves) {
		struct argv *c =
		    argv_split(var_tls_eecdh_auto_curves, " \t\r\n,:");
		struct str *groups = str_new(64);
		size_t i;

		/* Postfix skips the curves this OpenSSL does not have. */
		for (i = 0; i < c->argc; i++) {
			int nid = OBJ_sn2nid(c->argv[i]);

			if (nid == NID_undef)
				nid = OBJ_ln2nid(c->argv[i]);
			if (nid == NID_undef)
				nid = EC_curve_nist2nid(c->argv[i]);
			if (nid == NID_undef)
				continue;
			str_catfmt(groups, "%s%s", str_len(groups) ? ":" : "",
			    c->argv[i]);
		}
		if (str_len(groups) &&
		    SSL_CTX_set1_groups_list(ctx, str_ptr(groups)) != 1)
			ERR_clear_error();
		argv_free(c);
		str_free(groups);
	}
	return ctx;
}

int
tls_load_cert_key(SSL_CTX *ctx, const char *alg, const char *cert,
    const char *key)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		msg_warn("cannot get %s certificate from file \"%s\": "
			 "disabling TLS support",
		    alg, cert);
		tls_print_errors();
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		msg_warn("cannot get %s private key from file \"%s\": "
			 "disabling TLS support",
		    alg, key);
		tls_print_errors();
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		msg_warn("%s private key in %s does not match public key in "
			 "%s: disabling TLS support",
		    alg, key, cert);
		tls_print_errors();
		return -1;
	}
	return 0;
}

/* Install one key with its certificate chain. */
static int
tls_chain_use(SSL_CTX *ctx, EVP_PKEY *pkey, STACK_OF(X509) * certs,
    const char *file, int key_index)
{
	X509 *leaf = sk_X509_shift(certs);
	int rc = 0;

	if (leaf == NULL) {
		msg_warn("error loading certificate chain: key at index %d in "
			 "%s not followed by a certificate",
		    key_index, file);
		return -1;
	}
	if (!X509_check_private_key(leaf, pkey)) {
		ERR_clear_error();
		msg_warn("error loading certificate chain: key at index %d in "
			 "%s does not match the certificate",
		    key_index, file);
		rc = -1;
	} else if (SSL_CTX_use_cert_and_key(ctx, leaf, pkey, certs, 1) != 1) {
		tls_print_errors();
		rc = -1;
	}
	X509_free(leaf);
	return rc;
}

/*
 * smtpd_tls_chain_files: PEM objects in order, each private key followed
 * by its certificate and then the issuers, possibly spread over several
 * files.  One key per algorithm (RSA, ECDSA, Ed25519, ...).
 */
int
tls_load_chain_files(SSL_CTX *ctx, const char *files)
{
	struct argv *list = argv_split(files, " \t\r\n,");
	STACK_OF(X509) *certs = sk_X509_new_null();
	EVP_PKEY *pkey = NULL;
	int rc = -1, index = 0, key_index = 0;
	size_t i;

	for (i = 0; i < list->argc; i++) {
		const char *file = list->argv[i];
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long len;
		BIO *bio;

		if ((bio = BIO_new_file(file, "r")) == NULL) {
			msg_warn("error opening chain file: %s: %m", file);
			ERR_clear_error();
			goto out;
		}
		while (PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
			const unsigned char *p = data;

			index++;
			if (strcmp(name, "PRIVATE KEY") == 0 ||
			    strcmp(name, "RSA PRIVATE KEY") == 0 ||
			    strcmp(name, "EC PRIVATE KEY") == 0) {
				if (pkey) {
					if (tls_chain_use(ctx, pkey, certs,
						file, key_index) < 0) {
						BIO_free(bio);
						goto pem_out;
					}
					EVP_PKEY_free(pkey);
					sk_X509_pop_free(certs, X509_free);
					certs = sk_X509_new_null();
				}
				pkey = d2i_AutoPrivateKey(NULL, &p, len);
				if (pkey == NULL || p != data + len) {
					msg_warn("error loading private key "
						 "(PEM object number %d) from "
						 "%s",
					    index, file);
					tls_print_errors();
					BIO_free(bio);
					goto pem_out;
				}
				key_index = index;
			} else if (strcmp(name, "CERTIFICATE") == 0 ||
				   strcmp(name, "TRUSTED CERTIFICATE") == 0) {
				X509 *x = d2i_X509(NULL, &p, len);

				if (x == NULL || p != data + len) {
					X509_free(x);
					msg_warn("error loading certificate "
						 "(PEM object number %d) from "
						 "%s",
					    index, file);
					tls_print_errors();
					BIO_free(bio);
					goto pem_out;
				}
				if (pkey == NULL) {
					X509_free(x);
					msg_warn("error loading chain from %s: "
						 "key not first",
					    file);
					BIO_free(bio);
					goto pem_out;
				}
				sk_X509_push(certs, x);
			} else {
				msg_warn("loading %s: ignoring PEM type: %s",
				    file, name);
			}
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			name = header = NULL;
			data = NULL;
			continue;
		pem_out:
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			goto out;
		}
		/* the loop ends at the end of the file ("no start line") */
		ERR_clear_error();
		BIO_free(bio);
	}
	if (pkey == NULL) {
		msg_warn("No PEM data in %s", files);
		goto out;
	}
	if (tls_chain_use(ctx, pkey, certs, list->argv[list->argc - 1],
		key_index) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		msg_warn("error loading private keys and certificates from: "
			 "%s: disabling TLS support",
		    files);
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(certs, X509_free);
	argv_free(list);
	return rc;
}
