/*
 * smtp_tls - the TLS client: the policy for a next hop
 * (smtp_tls_security_level, smtp_tls_policy_maps), the handshake, server
 * certificate verification and Postfix's log lines.
 *
 * Levels: none, may (opportunistic: a failed handshake is retried in
 * plain text), encrypt (TLS or nothing, no verification), verify and
 * secure (the chain must verify against smtp_tls_CAfile/CApath and a
 * name of the certificate must match smtp_tls_verify_cert_match or
 * smtp_tls_secure_cert_match, or the "match=" of the policy).
 * encrypt and up use smtp_tls_mandatory_protocols and _ciphers.
 *
 * dane and dane-only (RFC 7672) need smtp_dns_support_level = dnssec:
 * the A/AAAA records of the server (and with an MX next hop its MX
 * RRset) must have come back DNSSEC-validated (the AD bit of the local
 * resolver), then the TLSA records at _PORT._tcp.HOST decide.  Usable
 * records (DANE-TA 2 and DANE-EE 3, selector 0/1, matching type 0, 1
 * sha256 or 2 sha512) make TLS mandatory and the certificate must match
 * one of them (OpenSSL's DANE verifier; no name check for DANE-EE, the
 * host and next-hop names for DANE-TA): "Verified", else the delivery is
 * deferred "Server certificate not verified".  Records that are all
 * unusable make it "encrypt"; no (validated) records or an insecure
 * server address make it "may"; a TLSA lookup failure defers.  An MX
 * RRset that is not validated gets smtp_tls_dane_insecure_mx_policy:
 * may, encrypt (when there are TLSA records) or dane (as above, a match
 * logged "Trusted").  dane-only defers where dane would fall back.
 *
 * With smtp_tls_loglevel >= 1 each session logs "Verified|Trusted|
 * Untrusted|Anonymous TLS connection established to H[A]:P: SUMMARY".
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/maps.h"
#include "lib/mail/params.h"
#include "lib/mail/tls.h"
#include "smtp.h"

static SSL_CTX *smtp_tls_ctx;
static struct maps *smtp_tls_policy_maps;
static enum smtp_tls_level smtp_tls_default;
static bool smtp_tls_dane_ok; /* OpenSSL's DANE is on in the context */
static bool smtp_tls_dnssec;  /* smtp_dns_support_level = dnssec */
static enum smtp_tls_level smtp_tls_insecure_mx; /* MAY, ENCRYPT, DANE */

static const struct {
	const char *name;
	enum smtp_tls_level level;
} smtp_tls_levels[] = {
	{ "none", SMTP_TLS_NONE },
	{ "may", SMTP_TLS_MAY },
	{ "encrypt", SMTP_TLS_ENCRYPT },
	{ "dane", SMTP_TLS_DANE },
	{ "dane-only", SMTP_TLS_DANE_ONLY },
	{ "verify", SMTP_TLS_VERIFY },
	{ "secure", SMTP_TLS_SECURE },
};

/* A level name: 0 with *level, or -1. */
static int
smtp_tls_level_parse(const char *name, enum smtp_tls_level *level)
{
	for (size_t i = 0;
	     i < sizeof(smtp_tls_levels) / sizeof(*smtp_tls_levels); i++)
		if (strcasecmp(name, smtp_tls_levels[i].name) == 0) {
			*level = smtp_tls_levels[i].level;
			return 0;
		}
	return -1;
}

void
smtp_tls_init(void)
{
	const char *lvl = SMTP_VAR(tls_security_level);
	struct str *why = str_new(0);

	if (*lvl) {
		if (smtp_tls_level_parse(lvl, &smtp_tls_default) < 0)
			msg_fatal("invalid %s_tls_security_level value: %s",
			    smtp_lmtp ? "lmtp" : "smtp", lvl);
	} else if (SMTP_VAR(enforce_tls)) {
		smtp_tls_default = SMTP_VAR(tls_enforce_peername)
				       ? SMTP_TLS_VERIFY
				       : SMTP_TLS_ENCRYPT;
	} else {
		smtp_tls_default =
		    SMTP_VAR(use_tls) ? SMTP_TLS_MAY : SMTP_TLS_NONE;
	}
	smtp_tls_dnssec = strcmp(SMTP_VAR(dns_support_level), "dnssec") == 0;
	/* Postfix has no lmtp_ version of this one. */
	lvl = var_smtp_tls_dane_insecure_mx_policy;
	if (strcasecmp(lvl, "may") == 0)
		smtp_tls_insecure_mx = SMTP_TLS_MAY;
	else if (strcasecmp(lvl, "encrypt") == 0)
		smtp_tls_insecure_mx = SMTP_TLS_ENCRYPT;
	else if (strcasecmp(lvl, "dane") == 0)
		smtp_tls_insecure_mx = SMTP_TLS_DANE;
	else
		msg_fatal("invalid smtp_tls_dane_insecure_mx_policy value: %s",
		    lvl);
	if (*SMTP_VAR(tls_policy_maps))
		smtp_tls_policy_maps = maps_new(
		    smtp_lmtp ? "lmtp_tls_policy_maps" : "smtp_tls_policy_maps",
		    SMTP_VAR(tls_policy_maps), DICT_FLAGS_READ);
	if (smtp_tls_default == SMTP_TLS_NONE && smtp_tls_policy_maps == NULL)
		goto out;

	tls_library_init();
	if ((smtp_tls_ctx = tls_ctx_new(false, why)) == NULL) {
		msg_warn("cannot initialize TLS client: %s", str_ptr(why));
		goto out;
	}
	smtp_tls_cache_init(smtp_tls_ctx);
	SSL_CTX_set_verify(smtp_tls_ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(smtp_tls_ctx) > 0)
		smtp_tls_dane_ok = true;
	else
		tls_print_errors();
	SSL_CTX_set_verify_depth(smtp_tls_ctx, SMTP_VAR(tls_scert_verifydepth));
	if (*SMTP_VAR(tls_CAfile) || *SMTP_VAR(tls_CApath)) {
		if (SSL_CTX_load_verify_locations(smtp_tls_ctx,
			*SMTP_VAR(tls_CAfile) ? SMTP_VAR(tls_CAfile) : NULL,
			*SMTP_VAR(tls_CApath) ? SMTP_VAR(tls_CApath) : NULL) !=
		    1) {
			msg_warn("cannot load Certification Authority data, "
				 "CAfile=\"%s\", CApath=\"%s\": disabling TLS "
				 "support",
			    SMTP_VAR(tls_CAfile), SMTP_VAR(tls_CApath));
			tls_print_errors();
			SSL_CTX_free(smtp_tls_ctx);
			smtp_tls_ctx = NULL;
			goto out;
		}
	} else {
		(void)SSL_CTX_set_default_verify_paths(smtp_tls_ctx);
	}
	/* A client certificate, when configured. */
	if (*SMTP_VAR(tls_chain_files)) {
		if (tls_load_chain_files(smtp_tls_ctx,
			SMTP_VAR(tls_chain_files)) < 0)
			msg_warn("TLS client certificate not loaded");
	} else if (*SMTP_VAR(tls_cert_file)) {
		if (tls_load_cert_key(smtp_tls_ctx, "RSA",
			SMTP_VAR(tls_cert_file),
			*SMTP_VAR(tls_key_file) ? SMTP_VAR(tls_key_file)
						: SMTP_VAR(tls_cert_file)) < 0)
			msg_warn("TLS client certificate not loaded");
	}
out:
	str_free(why);
}

/*
 * dane or dane-only has no TLSA to work with (why says what): dane falls
 * back to level (may, or encrypt when the records are unusable),
 * dane-only defers with why; a configuration problem is also a warning.
 */
static void
smtp_tls_not_dane(const struct smtp_addr *a, struct smtp_tls_policy *pol,
    bool only, enum smtp_tls_level level, bool config, const char *why)
{
	if (config)
		msg_warn("%s", why);
	if (!only) {
		pol->level = level;
		return;
	}
	pol->error = true;
	free(pol->why);
	pol->why = xstrdup(config ? "client TLS configuration problem" : why);
	msg_warn("TLS policy lookup for %s/%s: %s", a->dest, a->host, pol->why);
}

/* Is this TLSA record one that SMTP can use (RFC 7672 3.1)? */
static bool
smtp_tls_tlsa_usable(const struct dns_rr *rr)
{
	if (rr->usage != 2 && rr->usage != 3)
		return false;
	if (rr->selector != 0 && rr->selector != 1)
		return false;
	switch (rr->mtype) {
	case 0:
		return rr->blob_len > 0;
	case 1:
		return rr->blob_len == 32;
	case 2:
		return rr->blob_len == 64;
	}
	return false;
}

/*
 * dane, dane-only: the TLSA records of this server decide the level, as
 * Postfix's smtp client does (see the top of this file).
 */
static void
smtp_tls_dane(struct smtp_addr *a, struct smtp_tls_policy *pol)
{
	bool only = pol->level == SMTP_TLS_DANE_ONLY;
	const char *name = only ? "dane-only" : "dane";
	enum smtp_tls_level level = SMTP_TLS_DANE;
	struct str *why = str_new(0), *qname = str_new(0);
	struct dns_reply *r = NULL;
	size_t i, kept;
	int rc;

	if (a->family == AF_UNIX) {
		msg_warn("%s: the \"dane\" security level is invalid for "
			 "delivery via unix-domain sockets",
		    a->dest);
		pol->error = true;
		pol->why = xstrdup("client TLS configuration problem");
		goto out;
	}
	if (!smtp_tls_dane_ok) {
		str_fmt(why,
		    "%s: %s configured, but no requisite library "
		    "support",
		    a->dest, name);
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_MAY, true,
		    str_ptr(why));
		goto out;
	}
	if (!smtp_tls_dnssec || var_disable_dns_lookups) {
		str_fmt(why, "%s: %s configured with dnssec lookups disabled",
		    a->dest, name);
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_MAY, true,
		    str_ptr(why));
		goto out;
	}
	/* An MX RRset that DNSSEC did not validate. */
	if (a->mx && !a->mx_secure && !only) {
		if (smtp_tls_insecure_mx == SMTP_TLS_MAY) {
			pol->level = SMTP_TLS_MAY;
			goto out;
		}
		level = smtp_tls_insecure_mx == SMTP_TLS_DANE
			    ? SMTP_TLS_HALF_DANE
			    : SMTP_TLS_ENCRYPT;
	} else if (a->mx && !a->mx_secure) {
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_MAY, false,
		    "non DNSSEC destination");
		goto out;
	}
	/* Without validated addresses, no TLSA lookup. */
	if (!a->addr_secure) {
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_MAY, false,
		    "no TLSA records found");
		goto out;
	}
	str_fmt(qname, "_%d._tcp.%s", a->port, a->host);
	rc = dns_lookup(str_ptr(qname), DNS_T_TLSA, DNS_FLAG_DNSSEC, &r, why);
	if (rc == DNS_RETRY || rc == DNS_FAIL) {
		msg_warn("DANE TLSA lookup problem: %s", str_ptr(why));
		str_fmt(why, "TLSA lookup error for %s:%d", a->host, a->port);
		msg_warn("TLS policy lookup for %s/%s: %s", a->dest, a->host,
		    str_ptr(why));
		pol->error = true;
		pol->why = xstrdup(str_ptr(why));
		goto out;
	}
	/* Records that DNSSEC did not validate count for nothing. */
	if (rc != DNS_OK || !r->ad) {
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_MAY, false,
		    "no TLSA records found");
		goto out;
	}
	for (i = kept = 0; i < r->count; i++) {
		struct dns_rr *rr = &r->rr[i];

		if (smtp_tls_tlsa_usable(rr)) {
			r->rr[kept++] = *rr;
			continue;
		}
		if (rr->usage != 2 && rr->usage != 3) {
			struct str *hex = str_new(0);

			for (const char *h = rr->data; *h; h++)
				str_catc(hex, (char)toupper((unsigned char)*h));
			msg_warn("%s unsupported TLSA certificate usage: "
				 "%d %d %d %s",
			    str_ptr(qname), rr->usage, rr->selector, rr->mtype,
			    str_ptr(hex));
			str_free(hex);
		}
		free(rr->name);
		free(rr->data);
		free(rr->blob);
	}
	r->count = kept;
	if (kept == 0) {
		smtp_tls_not_dane(a, pol, only, SMTP_TLS_ENCRYPT, false,
		    "TLSA records unusable");
		goto out;
	}
	pol->level = level;
	if (level != SMTP_TLS_ENCRYPT) {
		pol->tlsa = r;
		r = NULL;
	}
out:
	dns_reply_free(r);
	str_free(why);
	str_free(qname);
}

/* The policy for a server's next hop. */
void
smtp_tls_policy(struct smtp_addr *a, struct smtp_tls_policy *pol)
{
	const char *v = NULL;
	struct argv *w;

	memset(pol, 0, sizeof(*pol));
	pol->level = smtp_tls_default;
	if (smtp_tls_policy_maps) {
		v = maps_find(smtp_tls_policy_maps, a->dest, 0);
		if (v == NULL && smtp_tls_policy_maps->error != DICT_ERR_NONE) {
			msg_warn("%s: table lookup problem for %s",
			    smtp_tls_policy_maps->title, a->dest);
			pol->error = true;
			return;
		}
	}
	if (v != NULL) {
		w = argv_split(v, " \t\r\n,");
		if (w->argc == 0 ||
		    smtp_tls_level_parse(w->argv[0], &pol->level) < 0) {
			msg_warn("%s: invalid TLS security level \"%s\" for "
				 "destination \"%s\"",
			    smtp_tls_policy_maps->title,
			    w->argc ? w->argv[0] : "", a->dest);
			pol->error = true;
		}
		for (size_t i = 1; i < w->argc && !pol->error; i++) {
			const char *eq = strchr(w->argv[i], '=');
			char **slot = NULL;

			if (eq == NULL)
				continue;
			if (strncasecmp(w->argv[i], "match=", 6) == 0)
				slot = &pol->match;
			else if (strncasecmp(w->argv[i], "protocols=", 10) == 0)
				slot = &pol->protocols;
			else if (strncasecmp(w->argv[i], "ciphers=", 8) == 0)
				slot = &pol->ciphers;
			if (slot) {
				free(*slot);
				*slot = xstrdup(eq + 1);
			}
		}
		argv_free(w);
	}
	/* dane without TLS support is opportunistic, "may" without TLS. */
	if (pol->level != SMTP_TLS_NONE && smtp_tls_ctx == NULL &&
	    pol->level >= SMTP_TLS_ENCRYPT && pol->level != SMTP_TLS_DANE) {
		msg_warn("TLS is required but unavailable, don't know how to "
			 "authenticate the server");
		pol->error = true;
	} else if (smtp_tls_ctx == NULL) {
		pol->level = SMTP_TLS_NONE;
	}
	if (!pol->error &&
	    (pol->level == SMTP_TLS_DANE || pol->level == SMTP_TLS_DANE_ONLY))
		smtp_tls_dane(a, pol);
}

void
smtp_tls_policy_free(struct smtp_tls_policy *pol)
{
	free(pol->match);
	free(pol->protocols);
	free(pol->ciphers);
	free(pol->why);
	dns_reply_free(pol->tlsa);
	memset(pol, 0, sizeof(*pol));
}

/* The domain part of a next hop: "[host]:port" -> host. */
static void
smtp_tls_nexthop(const struct smtp_addr *a, struct str *out)
{
	const char *d = a->dest, *end;

	if (strncmp(d, "inet:", 5) == 0)
		d += 5;
	if (*d == '[') {
		end = strchr(d, ']');
		str_set(out, "");
		str_catn(out, d + 1,
		    end ? (size_t)(end - d - 1) : strlen(d + 1));
		return;
	}
	end = strrchr(d, ':');
	str_set(out, "");
	str_catn(out, d, end ? (size_t)(end - d) : strlen(d));
}

/* A DNS name, or an address literal against the IP subjectAltNames. */
static bool
smtp_tls_name(X509 *cert, const char *name)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, name, buf) == 1 ||
	    inet_pton(AF_INET6, name, buf) == 1)
		return X509_check_ip_asc(cert, name, 0) == 1;
	return X509_check_host(cert, name, 0, 0, NULL) == 1;
}

/* Is the name the certificate was checked against an address? */
static bool
smtp_tls_ip_name(const struct smtp_session *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s->addr->host, buf) == 1 ||
	       inet_pton(AF_INET6, s->addr->host, buf) == 1;
}

/*
 * Does the certificate match one of the names the strategy list gives
 * (hostname, nexthop, dot-nexthop, or a literal name)?
 */
static bool
smtp_tls_match(X509 *cert, const struct smtp_addr *a, const char *list)
{
	struct str *nh = str_new(0), *dot = str_new(0);
	struct argv *w = argv_split(list, " \t\r\n,:");
	bool ok = false;

	smtp_tls_nexthop(a, nh);
	for (size_t i = 0; i < w->argc && !ok; i++) {
		const char *m = w->argv[i];

		if (strcasecmp(m, "hostname") == 0)
			ok = smtp_tls_name(cert, a->host);
		else if (strcasecmp(m, "nexthop") == 0)
			ok = smtp_tls_name(cert, str_ptr(nh));
		else if (strcasecmp(m, "dot-nexthop") == 0) {
			str_fmt(dot, ".%s", str_ptr(nh));
			ok = X509_check_host(cert, str_ptr(dot), 0,
				 X509_CHECK_FLAG_SINGLE_LABEL_SUBDOMAINS,
				 NULL) == 1;
		} else if (*m == '.') {
			ok = X509_check_host(cert, m, 0,
				 X509_CHECK_FLAG_SINGLE_LABEL_SUBDOMAINS,
				 NULL) == 1;
		} else {
			ok = X509_check_host(cert, m, 0, 0, NULL) == 1;
		}
	}
	argv_free(w);
	str_free(nh);
	str_free(dot);
	return ok;
}

/*
 * DANE for this session: the TLSA base domain (the server's name), the
 * next-hop domain as a second name for DANE-TA, the usable records.
 */
static int
smtp_tls_dane_add(struct smtp_session *s, const struct smtp_tls_policy *pol)
{
	struct str *nh = str_new(0);

	if (SSL_dane_enable(s->ssl, s->addr->host) <= 0) {
		msg_warn("%s: error enabling DANE-based certificate validation",
		    str_ptr(s->relay));
		tls_print_errors();
		str_free(nh);
		return -1;
	}
	(void)SSL_dane_set_flags(s->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	if (s->addr->mx) {
		smtp_tls_nexthop(s->addr, nh);
		if (strcasecmp(str_ptr(nh), s->addr->host) != 0 &&
		    SSL_add1_host(s->ssl, str_ptr(nh)) != 1)
			ERR_clear_error();
	}
	for (size_t i = 0; i < pol->tlsa->count; i++) {
		const struct dns_rr *rr = &pol->tlsa->rr[i];

		if (SSL_dane_tlsa_add(s->ssl, (uint8_t)rr->usage,
			(uint8_t)rr->selector, (uint8_t)rr->mtype, rr->blob,
			rr->blob_len) <= 0)
			ERR_clear_error(); /* then it cannot match */
	}
	str_free(nh);
	return 0;
}

int
smtp_tls_start(struct smtp_session *s, const struct smtp_tls_policy *pol,
    struct str *why)
{
	bool mandatory = pol->level >= SMTP_TLS_ENCRYPT;
	const char *protos = pol->protocols ? pol->protocols
			     : mandatory    ? SMTP_VAR(tls_mandatory_protocols)
					    : SMTP_VAR(tls_protocols);
	const char *grade = pol->ciphers ? pol->ciphers
			    : mandatory  ? SMTP_VAR(tls_mandatory_ciphers)
					 : SMTP_VAR(tls_ciphers);
	const char *excl[3] = { SMTP_VAR(tls_exclude_ciphers),
		mandatory ? SMTP_VAR(tls_mandatory_exclude_ciphers) : NULL,
		NULL };
	struct str *line = str_new(0), *nh = str_new(0);
	const char *sni = SMTP_VAR(tls_servername), *trust;
	char *clist;
	X509 *cert = NULL;
	long verr;
	int min, max, r, ret = -1;
	long off;
	bool chain_ok, name_ok = false;

	if ((s->ssl = SSL_new(smtp_tls_ctx)) == NULL) {
		tls_print_errors();
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	if (tls_protocol_range(protos, &min, &max, &off) == 0) {
		SSL_set_min_proto_version(s->ssl, min);
		SSL_set_max_proto_version(s->ssl, max);
		SSL_set_options(s->ssl, (unsigned long)off);
	} else {
		msg_warn(
		    "Invalid TLS protocol list \"%s\": aborting TLS session",
		    protos);
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	if ((clist = tls_cipher_list(grade, excl, line)) == NULL) {
		msg_warn("%s", str_ptr(line));
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	if (SSL_set_cipher_list(s->ssl, clist) != 1)
		ERR_clear_error();
	free(clist);
	/* SNI: smtp_tls_servername; with DANE the TLSA base domain. */
	if (pol->tlsa != NULL)
		sni = s->addr->host;
	if (*sni) {
		if (strcasecmp(sni, "hostname") == 0)
			sni = s->addr->host;
		else if (strcasecmp(sni, "nexthop") == 0) {
			smtp_tls_nexthop(s->addr, nh);
			sni = str_ptr(nh);
		}
		if (SSL_set_tlsext_host_name(s->ssl, sni) != 1)
			ERR_clear_error();
	}
	if (pol->tlsa != NULL && smtp_tls_dane_add(s, pol) < 0) {
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	tls_set_peer(s->ssl, str_ptr(s->relay));
	smtp_tls_cache_start(s, pol, protos, grade, excl, sni);
	if (SMTP_VAR(tls_loglevel) >= 2)
		SSL_set_info_callback(s->ssl, tls_info_callback);
	if (SSL_set_fd(s->ssl, stream_fd(s->st)) != 1) {
		tls_print_errors();
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	stream_set_timeout(s->st, SMTP_VAR(starttls_timeout) * 1000);
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(s->ssl)) == 1)
			break;
		r = SSL_get_error(s->ssl, r);
		if ((r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) &&
		    stream_await(s->st,
			r == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) ==
			STREAM_OK)
			continue;
		/* The server hanging up mid-handshake: "lost connection". */
		if (r == SSL_ERROR_SSL &&
		    !(ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
			ERR_GET_REASON(ERR_peek_error()) ==
			    SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			msg_info("SSL_connect error to %s: -1",
			    str_ptr(s->relay));
			tls_print_errors();
		} else {
			msg_info("SSL_connect error to %s: lost connection",
			    str_ptr(s->relay));
			ERR_clear_error();
		}
		str_set(why, "Cannot start TLS: handshake failure");
		goto out;
	}
	stream_set_io(s->st, &tls_stream_io, s->ssl);
	if (SMTP_VAR(tls_loglevel) >= 2 && SSL_session_reused(s->ssl))
		msg_info("%s: Reusing old session", str_ptr(s->relay));

	/* What we know of the server. */
	cert = SSL_get1_peer_certificate(s->ssl);
	verr = SSL_get_verify_result(s->ssl);
	chain_ok = cert != NULL && verr == X509_V_OK;
	if (pol->tlsa != NULL) {
		/* OpenSSL matched the TLSA records (and DANE-TA names). */
		name_ok = chain_ok;
	} else if (cert != NULL) {
		const char *list = pol->match ? pol->match
				   : pol->level == SMTP_TLS_SECURE
				       ? SMTP_VAR(tls_secure_cert_match)
				       : SMTP_VAR(tls_verify_cert_match);

		name_ok = smtp_tls_match(cert, s->addr, list);
	}
	/*
	 * Postfix checks the names inside OpenSSL's verification only at
	 * verify and secure: there a mismatch makes the chain untrusted
	 * (num=62 hostname, num=64 IP address); elsewhere a good chain is
	 * "Trusted".
	 */
	if (pol->level < SMTP_TLS_VERIFY && pol->tlsa == NULL)
		name_ok = false;
	if (cert == NULL)
		trust = "Anonymous";
	else if (pol->tlsa != NULL)
		/* An insecure MX name could be forged: only "Trusted". */
		trust = !chain_ok                          ? "Untrusted"
			: pol->level == SMTP_TLS_HALF_DANE ? "Trusted"
							   : "Verified";
	else if (chain_ok && name_ok)
		trust = "Verified";
	else if (chain_ok && pol->level < SMTP_TLS_VERIFY)
		trust = "Trusted";
	else
		trust = "Untrusted";
	s->tls_verified = chain_ok && name_ok;

	if ((pol->level >= SMTP_TLS_VERIFY || pol->tlsa != NULL) &&
	    !s->tls_verified) {
		if (cert != NULL && verr != X509_V_OK)
			msg_info("server certificate verification failed for "
				 "%s: num=%ld:%s",
			    str_ptr(s->relay), verr,
			    X509_verify_cert_error_string(verr));
		else if (cert != NULL)
			msg_info("server certificate verification failed for "
				 "%s: num=%s",
			    str_ptr(s->relay),
			    smtp_tls_ip_name(s) ? "64:IP address mismatch"
						: "62:hostname mismatch");
		str_set(why, "Server certificate not verified");
		/* Logged like Postfix: the session is torn down. */
		if (SMTP_VAR(tls_loglevel) >= 1) {
			tls_summary(s->ssl, line, false);
			msg_info("%s TLS connection established to %s: %s",
			    trust, str_ptr(s->relay), str_ptr(line));
		}
		goto out;
	}
	if (SMTP_VAR(tls_loglevel) >= 1) {
		tls_summary(s->ssl, line, false);
		msg_info("%s TLS connection established to %s: %s", trust,
		    str_ptr(s->relay), str_ptr(line));
	}
	smtp_tls_cache_allow(s);
	ret = 0;
out:
	X509_free(cert);
	str_free(line);
	str_free(nh);
	return ret;
}

void
smtp_tls_stop(struct smtp_session *s)
{
	if (s->ssl == NULL)
		return;
	if (s->st)
		stream_set_io(s->st, NULL, NULL);
	smtp_tls_cache_free(s->ssl);
	SSL_free(s->ssl);
	s->ssl = NULL;
}
