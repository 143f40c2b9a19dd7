/*
 * tls_keys - session ticket keys shared by all processes through one key
 * file, so that a client resumes its session with any smtpd process.
 * See tls.h for the file and the rotation rule.
 *
 * The file is read and rewritten as root before the jail, under an
 * exclusive lock, opened with safe_open() (no symlinks, no hard links)
 * and refused unless it is a root-owned file that nobody else can read.
 * Its size is bounded (TLS_KEYS_MAX lines of fixed length); a malformed
 * line is dropped with a warning and never used.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "lib/util/hex.h"
#include "lib/util/msg.h"
#include "lib/util/safe_open.h"
#include "lib/util/str.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"

#define TLS_KEY_NAME  16
#define TLS_KEY_HMAC  32
#define TLS_KEY_CIPH  32
#define TLS_KEY_BYTES (TLS_KEY_NAME + TLS_KEY_HMAC + TLS_KEY_CIPH)
#define TLS_KEYS_MAX  8
/* "time hex\n": 20 digits, blank, 2 hex digits per byte, newline */
#define TLS_KEY_LINE  (20 + 1 + 2 * TLS_KEY_BYTES + 1)

struct tls_key {
	long created;
	unsigned char name[TLS_KEY_NAME];
	unsigned char hmac[TLS_KEY_HMAC];
	unsigned char ciph[TLS_KEY_CIPH];
};

static struct tls_key tls_keys[TLS_KEYS_MAX];
static int tls_nkeys;
static int tls_lifetime;
static int tls_loglevel;
static EVP_CIPHER *tls_ticket_cipher;

/* One line of the file; 0 or -1 when malformed. */
static int
tls_key_parse(const char *line, struct tls_key *k)
{
	unsigned char raw[TLS_KEY_BYTES];
	const char *p;
	char *end;
	size_t i;
	int hi, lo;

	errno = 0;
	k->created = strtol(line, &end, 10);
	if (errno || end == line || *end != ' ' || k->created <= 0)
		return -1;
	p = end + 1;
	for (i = 0; i < TLS_KEY_BYTES; i++) {
		if ((hi = hex_digit(p[2 * i])) < 0 ||
		    (lo = hex_digit(p[2 * i + 1])) < 0)
			return -1;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	if (p[2 * TLS_KEY_BYTES] != 0)
		return -1;
	memcpy(k->name, raw, TLS_KEY_NAME);
	memcpy(k->hmac, raw + TLS_KEY_NAME, TLS_KEY_HMAC);
	memcpy(k->ciph, raw + TLS_KEY_NAME + TLS_KEY_HMAC, TLS_KEY_CIPH);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static void
tls_key_format(struct str *out, const struct tls_key *k)
{
	const unsigned char *parts[3] = { k->name, k->hmac, k->ciph };
	const size_t sizes[3] = { TLS_KEY_NAME, TLS_KEY_HMAC, TLS_KEY_CIPH };
	size_t i, j;

	str_catfmt(out, "%ld ", k->created);
	for (i = 0; i < 3; i++)
		for (j = 0; j < sizes[i]; j++)
			str_catfmt(out, "%02x", parts[i][j]);
	str_catc(out, '\n');
}

int
tls_ticket_keys_load(const char *path, int lifetime)
{
	struct str *why = str_new(100), *text = str_new(TLS_KEY_LINE * 2);
	char buf[TLS_KEYS_MAX * TLS_KEY_LINE + 1], *line, *cp;
	struct stat st;
	long now = (long)time(NULL);
	ssize_t n;
	size_t got = 0;
	int fd, i, rc = -1;

	tls_nkeys = 0;
	tls_lifetime = lifetime;
	fd = safe_open(path, O_RDWR | O_CREAT, 0600, &st, 0, 0, why);
	if (fd < 0) {
		msg_warn("open TLS session ticket key file %s: %s", path,
		    str_ptr(why));
		goto out;
	}
	if (st.st_uid != 0 || (st.st_mode & 077) != 0) {
		msg_warn("TLS session ticket key file %s: not owned by root "
			 "or accessible by others; not using it",
		    path);
		goto out;
	}
	if (flock(fd, LOCK_EX) < 0) {
		msg_warn("lock %s: %m", path);
		goto out;
	}
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	/* Keep the keys that may still decrypt a ticket, newest last. */
	for (cp = buf; (line = strsep(&cp, "\n")) != NULL;) {
		struct tls_key k;

		if (*line == 0)
			continue;
		if (tls_key_parse(line, &k) < 0) {
			msg_warn("%s: ignoring malformed key entry", path);
			continue;
		}
		if (k.created > now || now - k.created >= 2L * lifetime)
			continue;
		if (tls_nkeys == TLS_KEYS_MAX) {
			memmove(tls_keys, tls_keys + 1,
			    sizeof(tls_keys[0]) * (TLS_KEYS_MAX - 1));
			tls_nkeys--;
		}
		tls_keys[tls_nkeys++] = k;
		OPENSSL_cleanse(&k, sizeof(k));
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	if (tls_nkeys == 0 ||
	    now - tls_keys[tls_nkeys - 1].created >= lifetime) {
		struct tls_key *k;

		if (tls_nkeys == TLS_KEYS_MAX) {
			memmove(tls_keys, tls_keys + 1,
			    sizeof(tls_keys[0]) * (TLS_KEYS_MAX - 1));
			tls_nkeys--;
		}
		k = &tls_keys[tls_nkeys];
		k->created = now;
		if (RAND_priv_bytes(k->name, TLS_KEY_NAME) != 1 ||
		    RAND_priv_bytes(k->hmac, TLS_KEY_HMAC) != 1 ||
		    RAND_priv_bytes(k->ciph, TLS_KEY_CIPH) != 1) {
			tls_print_errors();
			goto out;
		}
		tls_nkeys++;
	}
	for (i = 0; i < tls_nkeys; i++)
		tls_key_format(text, &tls_keys[i]);
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    write(fd, str_ptr(text), str_len(text)) != (ssize_t)str_len(text)) {
		msg_warn("update %s: %m", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (rc < 0)
		tls_nkeys = 0;
	OPENSSL_cleanse(str_ptr(text), str_len(text));
	str_free(text);
	str_free(why);
	return rc;
}

/* OpenSSL's ticket key callback: encrypt with the newest key, decrypt
 * with the one the ticket names while it is young enough. */
static int
tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const char *peer = tls_peer(ssl);
	long now = (long)time(NULL);
	OSSL_PARAM params[3];
	struct tls_key *k = NULL;
	int i, ivlen = EVP_CIPHER_get_iv_length(tls_ticket_cipher);

	if (enc) {
		if (tls_nkeys == 0)
			return 0;
		k = &tls_keys[tls_nkeys - 1];
		if (now - k->created >= tls_lifetime || ivlen <= 0 ||
		    ivlen > EVP_MAX_IV_LENGTH || RAND_bytes(iv, ivlen) != 1)
			return 0;
		memcpy(name, k->name, TLS_KEY_NAME);
		if (tls_loglevel >= 2)
			msg_info("%s: Issuing session ticket, key expiration: "
				 "%ld",
			    peer, k->created + 2L * tls_lifetime);
	} else {
		for (i = tls_nkeys - 1; i >= 0; i--)
			if (memcmp(tls_keys[i].name, name, TLS_KEY_NAME) == 0)
				k = &tls_keys[i];
		if (k == NULL || now - k->created >= 2L * tls_lifetime ||
		    now < k->created)
			return 0;
		if (tls_loglevel >= 2)
			msg_info("%s: Decrypting session ticket, key "
				 "expiration: %ld",
			    peer, k->created + 2L * tls_lifetime);
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    k->hmac, TLS_KEY_HMAC);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		if (EVP_EncryptInit_ex(cctx, tls_ticket_cipher, NULL, k->ciph,
			iv) != 1)
			return -1;
		return 1;
	}
	if (EVP_DecryptInit_ex(cctx, tls_ticket_cipher, NULL, k->ciph, iv) != 1)
		return -1;
	/* a ticket under an older key is replaced by a fresh one */
	return k == &tls_keys[tls_nkeys - 1] ? 1 : 2;
}

void
tls_ticket_keys_attach(SSL_CTX *ctx, int loglevel)
{
	tls_loglevel = loglevel;
	if (tls_nkeys == 0 || tls_lifetime <= 0 ||
	    *var_tls_session_ticket_cipher == 0) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		return;
	}
	if (tls_ticket_cipher == NULL) {
		tls_ticket_cipher =
		    EVP_CIPHER_fetch(NULL, var_tls_session_ticket_cipher, NULL);
		if (tls_ticket_cipher == NULL ||
		    EVP_CIPHER_get_key_length(tls_ticket_cipher) >
			TLS_KEY_CIPH ||
		    EVP_CIPHER_get_mode(tls_ticket_cipher) ==
			EVP_CIPH_STREAM_CIPHER) {
			msg_warn("invalid tls_session_ticket_cipher: \"%s\": "
				 "session tickets disabled",
			    var_tls_session_ticket_cipher);
			ERR_clear_error();
			EVP_CIPHER_free(tls_ticket_cipher);
			tls_ticket_cipher = NULL;
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
			SSL_CTX_set_num_tickets(ctx, 0);
			return;
		}
	}
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	/* one TLS 1.3 ticket per handshake, as Postfix */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
}
