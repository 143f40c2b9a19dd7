/*
 * trw_resolve - the address resolver of trivial-rewrite: which transport
 * and next hop deliver a recipient, in Postfix's order of address classes
 * (ADDRESS_CLASS_README): local (mydestination, [address] of
 * inet_interfaces or proxy_interfaces, no domain), virtual alias
 * (virtual_alias_domains: "User unknown in virtual alias table" unless
 * cleanup rewrote the address), virtual mailbox (virtual_mailbox_domains),
 * relay (relay_domains), default.  Then sender_dependent_relayhost_maps or
 * relayhost, sender_dependent_default_transport_maps, a ":nexthop" in the
 * transport parameter, and transport_maps (transport(5) search order).
 *
 * A table that fails gives RESOLVE_FLAG_FAIL with a warning, so that the
 * caller defers; a malformed domain gives RESOLVE_FLAG_ERROR.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/addr.h"
#include "lib/mail/maps.h"
#include "lib/mail/match_list.h"
#include "lib/mail/params.h"
#include "trivial-rewrite/trw.h"

/* A resolver loop strips at least one domain or operator per round. */
#define TRW_MAX_ROUNDS 100

struct iface {
	int family;
	unsigned char addr[16];
};

static struct match_list *trw_mydest, *trw_alias_doms, *trw_mbox_doms,
    *trw_relay_doms;
static struct maps *trw_transport, *trw_snd_relay, *trw_snd_xport;
static bool trw_transport_parent;
static struct iface *trw_ifaces;
static size_t trw_niface, trw_iface_cap;

static void
iface_add(int family, const void *addr)
{
	if (trw_niface == trw_iface_cap) {
		trw_iface_cap = trw_iface_cap ? trw_iface_cap * 2 : 8;
		trw_ifaces = xreallocarray(trw_ifaces, trw_iface_cap,
		    sizeof(*trw_ifaces));
	}
	trw_ifaces[trw_niface].family = family;
	memset(trw_ifaces[trw_niface].addr, 0, 16);
	memcpy(trw_ifaces[trw_niface].addr, addr, family == AF_INET ? 4 : 16);
	trw_niface++;
}

/* The addresses of inet_interfaces or proxy_interfaces. */
static void
iface_list(const char *name, const char *spec)
{
	struct argv *a = argv_split(spec, " \t\r\n,");
	unsigned char buf[16];
	struct ifaddrs *ifa, *i;
	struct addrinfo hints = { 0 }, *res, *r;
	struct str *host = str_new(64);

	for (size_t n = 0; n < a->argc; n++) {
		const char *item = a->argv[n];

		if (strcasecmp(item, "all") == 0) {
			if (getifaddrs(&ifa) < 0) {
				msg_warn("%s: getifaddrs: %m", name);
				continue;
			}
			for (i = ifa; i != NULL; i = i->ifa_next) {
				if (i->ifa_addr == NULL)
					continue;
				if (i->ifa_addr->sa_family == AF_INET)
					iface_add(AF_INET,
					    &((struct sockaddr_in *)(void *)
						    i->ifa_addr)
						 ->sin_addr);
				else if (i->ifa_addr->sa_family == AF_INET6)
					iface_add(AF_INET6,
					    &((struct sockaddr_in6 *)(void *)
						    i->ifa_addr)
						 ->sin6_addr);
			}
			freeifaddrs(ifa);
			continue;
		}
		if (strcasecmp(item, "loopback-only") == 0) {
			(void)inet_pton(AF_INET, "127.0.0.1", buf);
			iface_add(AF_INET, buf);
			(void)inet_pton(AF_INET6, "::1", buf);
			iface_add(AF_INET6, buf);
			continue;
		}
		str_set(host, item);
		if (str_ptr(host)[0] == '[' &&
		    str_ptr(host)[str_len(host) - 1] == ']') {
			str_set(host, item + 1);
			str_truncate(host, str_len(host) - 1);
		}
		if (inet_pton(AF_INET, str_ptr(host), buf) == 1) {
			iface_add(AF_INET, buf);
			continue;
		}
		if (inet_pton(AF_INET6, str_ptr(host), buf) == 1) {
			iface_add(AF_INET6, buf);
			continue;
		}
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(str_ptr(host), NULL, &hints, &res) != 0) {
			msg_warn("%s: host not found: %s", name, item);
			continue;
		}
		for (r = res; r != NULL; r = r->ai_next) {
			if (r->ai_family == AF_INET)
				iface_add(AF_INET,
				    &((struct sockaddr_in *)(void *)r->ai_addr)
					 ->sin_addr);
			else if (r->ai_family == AF_INET6)
				iface_add(AF_INET6,
				    &((struct sockaddr_in6 *)(void *)r->ai_addr)
					 ->sin6_addr);
		}
		freeaddrinfo(res);
	}
	str_free(host);
	argv_free(a);
}

static bool
in_list(const char *list, const char *name)
{
	struct argv *a = argv_split(list, " \t\r\n,");
	bool found = false;

	for (size_t i = 0; i < a->argc && !found; i++)
		found = strcmp(a->argv[i], name) == 0;
	argv_free(a);
	return found;
}

static struct maps *
maps_or_null(const char *title, const char *spec)
{
	return spec != NULL && *spec != 0
		   ? maps_new(title, spec, DICT_FLAGS_READ)
		   : NULL;
}

void
trw_resolve_init(void)
{
	trw_mydest = match_list_new("mydestination", var_mydestination, 0);
	trw_alias_doms = match_list_new("virtual_alias_domains",
	    var_virtual_alias_domains, 0);
	trw_mbox_doms = match_list_new("virtual_mailbox_domains",
	    var_virtual_mailbox_domains, 0);
	trw_relay_doms = match_list_new("relay_domains", var_relay_domains, 0);
	trw_transport = maps_or_null("transport_maps", var_transport_maps);
	trw_snd_relay = maps_or_null("sender_dependent_relayhost_maps",
	    var_sender_dependent_relayhost_maps);
	trw_snd_xport = maps_or_null("sender_dependent_default_transport_maps",
	    var_sender_dependent_default_transport_maps);
	trw_transport_parent =
	    in_list(var_parent_domain_matches_subdomains, "transport_maps");
	iface_list("inet_interfaces", var_inet_interfaces);
	iface_list("proxy_interfaces", var_proxy_interfaces);
}

/* Is the text (an address literal's inside, maybe "IPv6:...") ours? */
static bool
is_own_address(const char *text)
{
	unsigned char buf[16];
	int family;

	if (strncasecmp(text, "ipv6:", 5) == 0)
		text += 5;
	if (inet_pton(AF_INET, text, buf) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, text, buf) == 1)
		family = AF_INET6;
	else
		return false;
	for (size_t i = 0; i < trw_niface; i++)
		if (trw_ifaces[i].family == family &&
		    memcmp(trw_ifaces[i].addr, buf,
			family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

/* Postfix's resolve_local(): 1 local, 0 not, -1 table failure. */
static int
resolve_local(const char *domain)
{
	struct str *d = str_new(64);
	size_t len;
	int rc;

	str_set(d, domain);
	str_lower(d);
	len = str_len(d);
	if (len > 0 && str_ptr(d)[len - 1] == '.')
		str_truncate(d, --len);
	rc = 0;
	if (len == 0)
		goto out;
	if ((rc = match_list_domain(trw_mydest, str_ptr(d))) != 0) {
		if (rc < 0)
			msg_warn("mydestination lookup failure");
		goto out;
	}
	if (str_ptr(d)[0] == '[' && str_ptr(d)[len - 1] == ']') {
		str_truncate(d, len - 1);
		rc = is_own_address(str_ptr(d) + 1);
	} else if (var_resolve_numeric_domain) {
		rc = is_own_address(str_ptr(d));
	}
out:
	str_free(d);
	return rc;
}

/* Postfix's valid_hostname() after its numeric short cut. */
static bool
valid_domain(const char *d)
{
	size_t len = strlen(d), label = 0;

	if (len == 0)
		return false;
	if (strspn(d, "[]0123456789.") == len)
		return true;
	if (len > 255)
		return false;
	for (const char *p = d;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.' || c == 0) {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (c == 0)
				return true;
			label = 0;
			continue;
		}
		if (label == 0 && c == '-')
			return false;
		if (!isalnum(c) && c != '-' && c != '_' &&
		    !(c >= 0x80 && var_smtputf8_enable))
			return false;
		label++;
	}
}

/*
 * A transport(5) result: "transport:nexthop", "transport", ":nexthop".
 * A new transport without a nexthop resets it to the recipient domain
 * (error and retry: "Address is undeliverable"); ":" changes nothing.
 */
static void
update_entry(const char *value, const char *rcpt_domain, struct str *channel,
    struct str *nexthop)
{
	const char *colon = strchr(value, ':');
	size_t tlen = colon ? (size_t)(colon - value) : strlen(value);
	const char *hop = colon ? colon + 1 : "";

	if (tlen == 0) {
		if (*hop != 0)
			str_set(nexthop, hop);
		return;
	}
	str_setn(channel, value, tlen);
	if (*hop != 0)
		str_set(nexthop, hop);
	else if (strcmp(str_ptr(channel), "error") != 0 &&
		 strcmp(str_ptr(channel), "retry") != 0)
		str_set(nexthop, rcpt_domain);
	else
		str_set(nexthop, "Address is undeliverable");
}

/* transport(5): user+ext@domain, user@domain, domain, parents, "*". */
static int
transport_lookup(const char *addr, const char *rcpt_domain, struct str *channel,
    struct str *nexthop)
{
	const char *value;

	value = maps_find_addr(trw_transport, addr,
	    MAPS_FIND_FULL | MAPS_FIND_NOEXT, var_recipient_delimiter, false,
	    NULL);
	if (value == NULL && trw_transport->error == 0)
		value = maps_find_domain(trw_transport, rcpt_domain,
		    DICT_FLAG_FIXED, trw_transport_parent);
	if (value == NULL && trw_transport->error == 0)
		value = maps_find(trw_transport, "*", DICT_FLAG_FIXED);
	if (value == NULL)
		return trw_transport->error != 0 ? -1 : 0;
	update_entry(value, rcpt_domain, channel, nexthop);
	return 1;
}

/* A sender-dependent table: by the sender, or the "<>" key for <>. */
static const char *
sender_lookup(struct maps *maps, const char *sender, const char *null_key)
{
	char *local, *domain;
	const char *value;
	bool is_local;

	if (*sender == 0)
		return maps_find(maps, null_key, 0);
	addr_split(sender, &local, &domain);
	is_local = *domain == 0 || resolve_local(domain) > 0;
	value = maps_find_addr(maps, sender, MAPS_FIND_DEFAULT,
	    var_recipient_delimiter, is_local, NULL);
	free(local);
	free(domain);
	return value;
}

static void
set_reply(struct resolve_reply *r, int flags, const char *channel,
    const char *nexthop, const char *rcpt)
{
	r->flags = flags;
	str_set(r->transport, channel);
	str_set(r->nexthop, nexthop);
	str_set(r->recipient, rcpt);
}

/*
 * Strip every local domain, undoing % and ! routing and routes on the
 * way; *domain_at is the offset of the remote domain's '@', or -1 when
 * the address ended up local.  Returns -1 on a table failure.
 */
static int
resolve_strip(struct str *addr, long *domain_at, struct str *saved)
{
	int rounds = 0, rc;
	char *p, *at;
	size_t len;

	*domain_at = -1;
	str_reset(saved);
	while (rounds++ < TRW_MAX_ROUNDS) {
		p = str_ptr(addr);
		len = str_len(addr);
		/* A trailing dot goes, but not dot-dot or at-dot. */
		if (strchr(p, '@') != NULL && len >= 2 && p[len - 1] == '.' &&
		    p[len - 2] != '.' && p[len - 2] != '@')
			str_truncate(addr, --len);
		if (var_resolve_null_domain && len > 0 && p[len - 1] == '@')
			str_truncate(addr, --len);
		if ((at = strrchr(p, '@')) != NULL) {
			if ((rc = resolve_local(at + 1)) < 0)
				return -1;
			if (rc == 0) {
				*domain_at = at - p;
				return 0;
			}
			str_set(saved, at);
			str_truncate(addr, (size_t)(at - p));
		}
		/* What is left may route further: a@b, b!a, a%b. */
		p = str_ptr(addr);
		if (trw_ops_visible(p, var_resolve_dequoted_address) &&
		    (strchr(p, '@') != NULL ||
			(var_swap_bangpath && strchr(p, '!') != NULL) ||
			(var_allow_percent_hack && strchr(p, '%') != NULL))) {
			trw_rewrite_context(addr, var_myorigin, var_mydomain);
			/* An operator that rewriting leaves alone stays. */
			if (strchr(str_ptr(addr), '@') == NULL)
				break;
			continue;
		}
		break;
	}
	/* An empty localpart is the local MAILER-DAEMON. */
	if (str_len(addr) == 0)
		str_set(addr, var_empty_address_recipient);
	return 0;
}

void
trw_resolve(const char *sender, const char *in, struct resolve_reply *r)
{
	struct str *addr = str_new(64), *saved = str_new(64);
	struct str *channel = str_new(32), *nexthop = str_new(64);
	const char *rcpt_domain, *value, *colon;
	long domain_at;
	int flags = 0, rc;
	size_t cut;

	str_set(addr, *in ? in : var_empty_address_recipient);
	if (resolve_strip(addr, &domain_at, saved) < 0) {
		set_reply(r, RESOLVE_FLAG_FAIL, "", "", in);
		goto out;
	}
	if (domain_at < 0) {
		/* Local: user@$myhostname unless a local domain was given. */
		if (str_len(saved) > 0)
			str_cat(addr, str_ptr(saved));
		else
			str_catfmt(addr, "@%s", var_myhostname);
	}
	rcpt_domain = strrchr(str_ptr(addr), '@') + 1;

	/* Routing operators in the localpart (any MX may honour them). */
	cut = strcspn(str_ptr(addr), "@!%");
	if (strcmp(str_ptr(addr) + cut + 1, rcpt_domain) != 0)
		flags |= RESOLVE_FLAG_ROUTED;
	if (domain_at >= 0 && !valid_domain(rcpt_domain))
		flags |= RESOLVE_FLAG_ERROR;

	if (domain_at < 0) {
		str_set(channel, var_local_transport);
		str_set(nexthop, var_myhostname);
		flags |= RESOLVE_CLASS_LOCAL | RESOLVE_FLAG_FINAL;
	} else if ((rc = match_list_domain(trw_alias_doms, rcpt_domain)) != 0) {
		if (rc < 0) {
			msg_warn("virtual_alias_domains lookup failure");
			set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
			goto out;
		}
		if (var_helpful_warnings &&
		    match_list_domain(trw_mbox_doms, rcpt_domain) > 0)
			msg_warn("do not list domain %s in BOTH "
				 "virtual_alias_domains and "
				 "virtual_mailbox_domains",
			    rcpt_domain);
		str_set(channel, "error");
		str_fmt(nexthop, "5.1.1 User unknown%s",
		    var_show_user_unknown_table_name ? " in virtual alias table"
						     : "");
		flags |= RESOLVE_CLASS_ALIAS | RESOLVE_FLAG_FINAL;
	} else if ((rc = match_list_domain(trw_mbox_doms, rcpt_domain)) != 0) {
		if (rc < 0) {
			msg_warn("virtual_mailbox_domains lookup failure");
			set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
			goto out;
		}
		str_set(channel, var_virtual_transport);
		str_set(nexthop, rcpt_domain);
		flags |= RESOLVE_CLASS_VIRTUAL | RESOLVE_FLAG_FINAL;
	} else {
		if ((rc = match_list_domain(trw_relay_doms, rcpt_domain)) < 0) {
			msg_warn("relay_domains lookup failure");
			set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
			goto out;
		}
		if (rc > 0) {
			str_set(channel, var_relay_transport);
			flags |= RESOLVE_CLASS_RELAY;
		} else {
			value = NULL;
			if (trw_snd_xport != NULL &&
			    (value = sender_lookup(trw_snd_xport, sender,
				 var_empty_address_default_transport_maps_lookup_key)) ==
				NULL &&
			    trw_snd_xport->error != 0) {
				msg_warn(
				    "sender_dependent_default_transport_maps lookup failure");
				set_reply(r, RESOLVE_FLAG_FAIL, "", "",
				    str_ptr(addr));
				goto out;
			}
			str_set(channel,
			    value != NULL && strcasecmp(value, "DUNNO") != 0
				? value
				: var_default_transport);
			flags |= RESOLVE_CLASS_DEFAULT;
		}
		/* Off-host: the sender's relayhost, relayhost, the domain. */
		value = NULL;
		if (trw_snd_relay != NULL &&
		    (value = sender_lookup(trw_snd_relay, sender,
			 var_empty_address_relayhost_maps_lookup_key)) ==
			NULL &&
		    trw_snd_relay->error != 0) {
			msg_warn(
			    "sender_dependent_relayhost_maps lookup failure");
			set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
			goto out;
		}
		if (value != NULL && strcasecmp(value, "DUNNO") != 0)
			str_set(nexthop, value);
		else if (*var_relayhost != 0)
			str_set(nexthop, var_relayhost);
		else
			str_set(nexthop, rcpt_domain);
	}

	/* "transport:nexthop" in the parameter beats relayhost. */
	if ((colon = strchr(str_ptr(channel), ':')) != NULL) {
		if (colon[1] != 0)
			str_set(nexthop, colon + 1);
		str_truncate(channel, (size_t)(colon - str_ptr(channel)));
	}
	if (str_len(channel) == 0) {
		msg_warn("file %s/main.cf: parameter %s: null transport is "
			 "not allowed",
		    var_config_directory,
		    flags & RESOLVE_CLASS_LOCAL     ? "local_transport"
		    : flags & RESOLVE_CLASS_VIRTUAL ? "virtual_transport"
		    : flags & RESOLVE_CLASS_RELAY   ? "relay_transport"
						    : "default_transport");
		set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
		goto out;
	}

	/* transport_maps overrides all but the virtual alias class. */
	if (trw_transport != NULL && !(flags & RESOLVE_CLASS_ALIAS) &&
	    transport_lookup(str_ptr(addr), rcpt_domain, channel, nexthop) <
		0) {
		msg_warn("transport_maps lookup failure");
		set_reply(r, RESOLVE_FLAG_FAIL, "", "", str_ptr(addr));
		goto out;
	}
	set_reply(r, flags, str_ptr(channel), str_ptr(nexthop), str_ptr(addr));
out:
	str_free(addr);
	str_free(saved);
	str_free(channel);
	str_free(nexthop);
}
