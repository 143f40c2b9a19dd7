/*
 * smtpd_xparse - the pure parsers behind XCLIENT, XFORWARD and the PROXY
 * protocol (smtpd_xclient.c): attribute lists and PROXY v1/v2 headers.
 * No I/O and no session state, so fuzz/ can drive them directly.  Faces
 * the network: attribute values are bounded by SMTPD_XATTR_MAX, headers
 * by the caller's buffer (SMTPD_PROXY_MAX); everything fails closed.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/hex.h"
#include "lib/util/hostname.h"
#include "lib/util/str.h"
#include "smtpd/smtpd.h"

static const char *smtpd_xattr_names[SMTPD_XA_COUNT] = {
	"NAME",
	"ADDR",
	"PORT",
	"PROTO",
	"HELO",
	"REVERSE_NAME",
	"LOGIN",
	"DESTADDR",
	"DESTPORT",
	"IDENT",
	"SOURCE",
};

/* The attributes each command takes (Postfix 3.7). */
#define SMTPD_XCLIENT_ATTRS                                                    \
	((1u << SMTPD_XA_NAME) | (1u << SMTPD_XA_ADDR) |                       \
	    (1u << SMTPD_XA_PORT) | (1u << SMTPD_XA_PROTO) |                   \
	    (1u << SMTPD_XA_HELO) | (1u << SMTPD_XA_REVERSE_NAME) |            \
	    (1u << SMTPD_XA_LOGIN) | (1u << SMTPD_XA_DESTADDR) |               \
	    (1u << SMTPD_XA_DESTPORT))
#define SMTPD_XFORWARD_ATTRS                                                   \
	((1u << SMTPD_XA_NAME) | (1u << SMTPD_XA_ADDR) |                       \
	    (1u << SMTPD_XA_PORT) | (1u << SMTPD_XA_PROTO) |                   \
	    (1u << SMTPD_XA_HELO) | (1u << SMTPD_XA_IDENT) |                   \
	    (1u << SMTPD_XA_SOURCE))

/* An address attribute: IPv4, or IPv6 after "IPV6:" (any case). */
static bool
smtpd_xattr_addr(char *value)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (strncasecmp(value, "IPV6:", 5) == 0) {
		memmove(value, value + 5, strlen(value + 5) + 1);
		for (char *cp = value; *cp; cp++)
			if (*cp >= 'A' && *cp <= 'Z')
				*cp = (char)(*cp - 'A' + 'a');
		return inet_pton(AF_INET6, value, bin) == 1;
	}
	return inet_pton(AF_INET, value, bin) == 1;
}

/* A port attribute: one to five digits (Postfix does not check 65535). */
static bool
smtpd_xattr_port(const char *value)
{
	size_t n = strspn(value, "0123456789");

	return n > 0 && n <= 5 && value[n] == 0;
}

/*
 * Replace what must not reach logs and headers: white space, the
 * characters that delimit addresses and comments, and control characters
 * become '?', as Postfix's smtpd neuters HELO and friends.
 */
static void
smtpd_xattr_neuter(char *value)
{
	for (unsigned char *cp = (unsigned char *)value; *cp; cp++)
		if (*cp < 32 || *cp == 127 || strchr(" <>()\\\";@", *cp))
			*cp = '?';
}

/* xtext (RFC 3461): "+XX" stands for the byte XX; -1 when malformed. */
static int
smtpd_xtext_decode(struct str *out, const char *in)
{
	str_reset(out);
	for (const char *cp = in; *cp; cp++) {
		int hi, lo;

		if (*cp != '+') {
			str_catc(out, *cp);
			continue;
		}
		if ((hi = hex_digit(cp[1])) < 0 ||
		    (lo = hex_digit(cp[2])) < 0)
			return -1;
		if (hi == 0 && lo == 0)
			return -1;
		str_catc(out, (char)(hi * 16 + lo));
		cp += 2;
	}
	return 0;
}

void
smtpd_xattr_free(struct smtpd_xattrs *xa)
{
	for (int i = 0; i < SMTPD_XA_COUNT; i++) {
		free(xa->value[i]);
		xa->value[i] = NULL;
	}
	xa->given = 0;
}

/*
 * One attribute's value: checked, normalized, or the 501 reply.  Names
 * and addresses fail closed; HELO, PROTO (XFORWARD) and IDENT are
 * neutered instead, as Postfix does.
 */
static int
smtpd_xattr_value(bool xforward, int attr, char *value, int *status,
    struct str *reply)
{
	bool unavail = strcmp(value, "[UNAVAILABLE]") == 0;
	bool temp = strcmp(value, "[TEMPUNAVAIL]") == 0;

	*status = SMTPD_XV_VALUE;
	switch (attr) {
	case SMTPD_XA_NAME:
	case SMTPD_XA_REVERSE_NAME:
		if (unavail || (temp && !xforward)) {
			*status = unavail ? SMTPD_XV_UNAVAIL : SMTPD_XV_TEMP;
			return 0;
		}
		if (valid_hostname(value))
			return 0;
		break;
	case SMTPD_XA_ADDR:
	case SMTPD_XA_DESTADDR:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (smtpd_xattr_addr(value))
			return 0;
		break;
	case SMTPD_XA_PORT:
	case SMTPD_XA_DESTPORT:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (smtpd_xattr_port(value))
			return 0;
		break;
	case SMTPD_XA_PROTO:
		if (xforward) {
			if (unavail)
				*status = SMTPD_XV_UNAVAIL;
			else
				smtpd_xattr_neuter(value);
			return 0;
		}
		if (strcasecmp(value, "SMTP") == 0 ||
		    strcasecmp(value, "ESMTP") == 0) {
			for (char *cp = value; *cp; cp++)
				if (*cp >= 'a' && *cp <= 'z')
					*cp = (char)(*cp - 'a' + 'A');
			return 0;
		}
		break;
	case SMTPD_XA_SOURCE:
		if (unavail) {
			*status = SMTPD_XV_UNAVAIL;
			return 0;
		}
		if (strcasecmp(value, "LOCAL") == 0 ||
		    strcasecmp(value, "REMOTE") == 0) {
			for (char *cp = value; *cp; cp++)
				if (*cp >= 'A' && *cp <= 'Z')
					*cp = (char)(*cp - 'A' + 'a');
			return 0;
		}
		break;
	case SMTPD_XA_HELO:
	case SMTPD_XA_IDENT:
		if (unavail)
			*status = SMTPD_XV_UNAVAIL;
		else
			smtpd_xattr_neuter(value);
		return 0;
	case SMTPD_XA_LOGIN:
		if (unavail)
			*status = SMTPD_XV_UNAVAIL;
		return 0;
	}
	str_fmt(reply, "501 5.5.4 Bad %s syntax: %s", smtpd_xattr_names[attr],
	    value);
	return -1;
}

/*
 * Parse "NAME=value ..." of XCLIENT (xforward false) or XFORWARD into xa
 * (which the caller frees).  0, or -1 with Postfix's 501 reply in reply;
 * a later attribute of the same name replaces an earlier one.
 */
int
smtpd_xattr_parse(bool xforward, const char *arg, struct smtpd_xattrs *xa,
    struct str *reply)
{
	unsigned allowed =
	    xforward ? SMTPD_XFORWARD_ATTRS : SMTPD_XCLIENT_ATTRS;
	struct str *tok = str_new(64), *dec = str_new(64);
	const char *cp = arg, *eq;
	int attr, rc = -1;
	size_t n;

	memset(xa, 0, sizeof(*xa));
	for (;;) {
		cp += strspn(cp, " \t");
		if (*cp == 0)
			break;
		n = strcspn(cp, " \t");
		str_setn(tok, cp, n);
		cp += n;
		eq = strchr(str_ptr(tok), '=');
		if (eq == NULL || eq[1] == 0) {
			str_set(reply,
			    "501 5.5.4 Error: attribute=value expected");
			goto out;
		}
		if (strlen(eq + 1) > SMTPD_XATTR_MAX) {
			str_set(reply,
			    "501 5.5.4 Error: attribute value too long");
			goto out;
		}
		for (attr = 0; attr < SMTPD_XA_COUNT; attr++)
			if ((allowed & (1u << attr)) &&
			    strlen(smtpd_xattr_names[attr]) ==
				(size_t)(eq - str_ptr(tok)) &&
			    strncasecmp(str_ptr(tok), smtpd_xattr_names[attr],
				(size_t)(eq - str_ptr(tok))) == 0)
				break;
		if (attr == SMTPD_XA_COUNT) {
			str_fmt(reply, "501 5.5.4 Bad %s attribute name: %.*s",
			    xforward ? "XFORWARD" : "XCLIENT",
			    (int)(eq - str_ptr(tok)), str_ptr(tok));
			goto out;
		}
		/* Postfix uses the raw value when it is not valid xtext. */
		if (smtpd_xtext_decode(dec, eq + 1) < 0 ||
		    memchr(str_ptr(dec), 0, str_len(dec)) != NULL)
			str_set(dec, eq + 1);
		free(xa->value[attr]);
		xa->value[attr] = xstrdup(str_ptr(dec));
		xa->given |= 1u << attr;
		if (smtpd_xattr_value(xforward, attr, xa->value[attr],
			&xa->status[attr], reply) < 0)
			goto out;
	}
	rc = 0;
out:
	str_free(tok);
	str_free(dec);
	return rc;
}

/*
 * The HAProxy PROXY protocol.  The header is peeked at once when the
 * first bytes arrive and must be complete then, as in Postfix (a header
 * split over two segments fails: observed); only its own bytes are then
 * consumed, so pipelined SMTP input after it stays for smtpd_proto().
 */
static const unsigned char smtpd_pp2_sig[12] = { '\r', '\n', '\r', '\n', 0,
	'\r', '\n', 'Q', 'U', 'I', 'T', '\n' };

/* A v1 port: decimal, no leading zero, at most 65535 (Postfix). */
static bool
smtpd_proxy_port(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[n] != 0 || (s[0] == '0' && n > 1))
		return false;
	return atoi(s) <= 65535;
}

/* An address of the given family, printed the way smtpd logs it. */
static bool
smtpd_proxy_addr(const char *s, int family, char *out, size_t size)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(family, s, bin) != 1)
		return false;
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)bin))
		return inet_ntop(AF_INET, bin + 12, out, (socklen_t)size) !=
		       NULL;
	return inet_ntop(family, bin, out, (socklen_t)size) != NULL;
}

static int
smtpd_proxy_v1(const char *buf, size_t len, struct smtpd_proxy_hdr *hdr,
    const char **why)
{
	const char *nl = memchr(buf, '\n', len);
	char *line, *cp, *tok;
	int family = 0, rc = -1;

	if (nl == NULL) {
		*why = "missing protocol header terminator";
		return -1;
	}
	hdr->len = (size_t)(nl - buf) + 1;
	line = xmalloc(hdr->len);
	memcpy(line, buf + 6, hdr->len - 6);
	line[hdr->len - 6 - 1] = 0;
	cp = line;
	do
		tok = strsep(&cp, " \r");
	while (tok && *tok == 0);
	if (tok && strcmp(tok, "TCP4") == 0)
		family = AF_INET;
	else if (tok && strcmp(tok, "TCP6") == 0)
		family = AF_INET6;
	if (family == 0) {
		*why = "bad or missing protocol type";
		goto out;
	}
#define NEXT()                                                                 \
	do                                                                     \
		tok = strsep(&cp, " \r");                                      \
	while (tok && *tok == 0)
	NEXT();
	if (!tok || !smtpd_proxy_addr(tok, family, hdr->client_addr,
			sizeof(hdr->client_addr))) {
		*why = "bad or missing client address";
		goto out;
	}
	NEXT();
	if (!tok || !smtpd_proxy_addr(tok, family, hdr->server_addr,
			sizeof(hdr->server_addr))) {
		*why = "bad or missing server address";
		goto out;
	}
	NEXT();
	if (!tok || !smtpd_proxy_port(tok)) {
		*why = "bad or missing client port";
		goto out;
	}
	str_set(hdr->client_port, tok);
	NEXT();
	if (!tok || !smtpd_proxy_port(tok)) {
		*why = "bad or missing server port";
		goto out;
	}
	str_set(hdr->server_port, tok);
#undef NEXT
	rc = 0;
out:
	free(line);
	return rc;
}

/* A binary IPv6 address as smtpd prints it (IPv4-mapped as IPv4). */
static bool
smtpd_proxy_v6(const unsigned char *bin, char *out, size_t size)
{
	struct in6_addr a;

	memcpy(&a, bin, sizeof(a));
	if (IN6_IS_ADDR_V4MAPPED(&a))
		return inet_ntop(AF_INET, bin + 12, out, (socklen_t)size) !=
		       NULL;
	return inet_ntop(AF_INET6, &a, out, (socklen_t)size) != NULL;
}

static int
smtpd_proxy_v2(const unsigned char *buf, size_t len,
    struct smtpd_proxy_hdr *hdr, const char **why)
{
	size_t body = ((size_t)buf[14] << 8) | buf[15];
	if ((buf[12] & 0xf0) != 0x20) {
		*why = "unrecognized protocol version";
		return -1;
	}
	if ((buf[12] & 0x0f) > 1) {
		*why = "bad command in proxy header";
		return -1;
	}
	if (len < 16 + body) {
		*why = "short version 2 protocol header";
		return -1;
	}
	hdr->len = 16 + body;
	/* LOCAL: a health check from the proxy itself; keep the peer. */
	if ((buf[12] & 0x0f) == 0) {
		hdr->local = true;
		return 0;
	}
	/* TCP over IPv4 or IPv6; TLVs after the addresses are skipped. */
	if (buf[13] == 0x11) {
		if (body < 12) {
			*why = "short address field";
			return -1;
		}
		inet_ntop(AF_INET, buf + 16, hdr->client_addr,
		    sizeof(hdr->client_addr));
		inet_ntop(AF_INET, buf + 20, hdr->server_addr,
		    sizeof(hdr->server_addr));
		buf += 24;
	} else if (buf[13] == 0x21) {
		if (body < 36) {
			*why = "short address field";
			return -1;
		}
		if (!smtpd_proxy_v6(buf + 16, hdr->client_addr,
			sizeof(hdr->client_addr)) ||
		    !smtpd_proxy_v6(buf + 32, hdr->server_addr,
			sizeof(hdr->server_addr))) {
			*why = "short address field";
			return -1;
		}
		buf += 48;
	} else {
		*why = "unsupported network protocol";
		return -1;
	}
	str_fmt(hdr->client_port, "%u", ((unsigned)buf[0] << 8) | buf[1]);
	str_fmt(hdr->server_port, "%u", ((unsigned)buf[2] << 8) | buf[3]);
	return 0;
}

/*
 * Parse a PROXY v1 or v2 header at the start of buf (len bytes, all that
 * had arrived).  0 with hdr filled (hdr->len bytes belong to the header),
 * or -1 with Postfix's reason in *why.  hdr's strings are the caller's.
 */
int
smtpd_proxy_parse(const char *buf, size_t len, struct smtpd_proxy_hdr *hdr,
    const char **why)
{
	hdr->len = 0;
	hdr->local = false;
	hdr->client_addr[0] = hdr->server_addr[0] = 0;
	str_reset(hdr->client_port);
	str_reset(hdr->server_port);
	if (len >= 16 && memcmp(buf, smtpd_pp2_sig, sizeof(smtpd_pp2_sig)) == 0)
		return smtpd_proxy_v2((const unsigned char *)buf, len, hdr,
		    why);
	if (len >= 6 && memcmp(buf, "PROXY ", 6) == 0)
		return smtpd_proxy_v1(buf, len, hdr, why);
	*why =
	    len < 16 ? "short protocol header" : "unrecognized protocol header";
	return -1;
}

/* Bytes as Postfix's warning prints them: C escapes, octal for the rest. */
void
smtpd_proxy_escape(struct str *out, const char *buf, size_t len)
{
	static const char named[] = "\aa\bb\ff\nn\rr\tt\vv\\\\";

	str_reset(out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		const char *np = c ? strchr(named, c) : NULL;

		if (np && (np - named) % 2 == 0)
			str_catfmt(out, "\\%c", np[1]);
		else if (c < 32 || c >= 127)
			str_catfmt(out, "\\%03o", c);
		else
			str_catc(out, (char)c);
	}
}
