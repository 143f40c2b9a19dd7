/*
 * tls - OpenSSL for the SMTP server and client: the parts that smtpd and
 * the smtp client share (parameters are passed in, so each side gives its
 * own smtpd_tls_* or smtp_tls_* values).
 *
 * Library and errors (tls.c):
 * tls_library_init()                   once per process, before the jail
 * tls_print_errors()                   log and clear OpenSSL's error queue,
 *                                      one "warning: TLS library problem:
 *                                      error:...:file:line:data:" per entry
 * tls_protocol_range(spec, &min, &max, &off)  parse a protocol list
 *                                      (">=TLSv1.2", "!SSLv2, !SSLv3",
 *                                      "TLSv1.2 TLSv1.3"): 0 with OpenSSL's
 *                                      version bounds and SSL_OP_NO_* for
 *                                      holes, -1 when invalid or empty
 * tls_cipher_list(grade, exclude, why) the OpenSSL cipher list of a grade
 *                                      (high, medium, low, export, null:
 *                                      tls_GRADE_cipherlist) with each name
 *                                      of the exclude lists appended as
 *                                      ":!name"; NULL with why when invalid
 * tls_ctx_new(server, why)             an SSL_CTX with Postern's defaults
 * tls_load_cert_key(ctx, alg, cert, key)  a certificate (chain) file and
 *                                      its key; alg ("RSA", "ECDSA", "DSA")
 *                                      only names it in Postfix's warnings;
 *                                      0, or -1 after the warnings
 * tls_load_chain_files(ctx, files)     keys each followed by their chain
 *                                      (smtpd_tls_chain_files), several
 *                                      algorithms in one list: 0 or -1
 *                                      after the warnings
 *
 * Sessions (tls_session.c):
 * tls_stream_io                        struct stream_io for an SSL * (the
 *                                      descriptor must be non-blocking)
 * tls_summary(ssl, line, received)     "TLSv1.3 with cipher X (256/256
 *                                      bits) key-exchange X25519 server-
 *                                      signature RSA-PSS (2048 bits) server-
 *                                      digest SHA256" as Postfix logs it;
 *                                      received: the Received: header form,
 *                                      "(using ...\n\t key-exchange ...
 *                                      [\n\t client-signature ...])"
 * tls_info_callback(ssl, where, ret)   Postfix's loglevel-2 state lines
 * tls_set_peer(ssl, namaddr)           the "name[addr]" that callbacks log
 *                                      (kept, not copied: it must outlive
 *                                      ssl)
 * tls_peer(ssl)                        that name, or "unknown"
 *
 * Session tickets (tls_keys.c):
 * tls_ticket_keys_load(path, lifetime) as root: read the key file, add a
 *                                      fresh key when the newest is older
 *                                      than lifetime, drop keys older than
 *                                      twice that, write it back: 0 or -1
 *                                      (warned; no tickets then)
 * tls_ticket_keys_attach(ctx, loglevel) let ctx issue and accept tickets
 *                                      with those keys
 *
 * The ticket key file is Postern's replacement for Postfix's tlsmgr key
 * service: one line "created-time hex-key-material" per key, mode 0600,
 * owned by root, opened without following links and locked while it is
 * rewritten, so that every smtpd process encrypts with the same key and
 * a ticket issued by one process resumes in another.  A key encrypts
 * tickets for "lifetime" seconds after it was made and decrypts them for
 * twice that, so every ticket stays valid for its whole lifetime and no
 * key lives longer than needed.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "lib/util/str.h"
#include "lib/util/stream.h"

void tls_library_init(void);
void tls_print_errors(void);
int tls_protocol_range(const char *, int *, int *, long *)
    __attribute__((warn_unused_result));
char *tls_cipher_list(const char *, const char *const *, struct str *);
SSL_CTX *tls_ctx_new(bool, struct str *);
int tls_load_cert_key(SSL_CTX *, const char *, const char *, const char *);
int tls_load_chain_files(SSL_CTX *, const char *);

extern const struct stream_io tls_stream_io;
void tls_summary(SSL *, struct str *, bool);
void tls_info_callback(const SSL *, int, int);
void tls_set_peer(SSL *, const char *);
const char *tls_peer(const SSL *);

int tls_ticket_keys_load(const char *, int);
void tls_ticket_keys_attach(SSL_CTX *, int);

#endif
