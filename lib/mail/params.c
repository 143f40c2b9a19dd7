/*
 * params - the typed parameter table generated from params.def.
 *
 * The X-macro defines the var_* globals and one table entry per line of
 * params.def; the table is sorted once, at first use, so that lookups work
 * whatever the order of the file.  params_load() converts each effective
 * value with the checks and fatal messages of Postfix 3.7's
 * get_mail_conf_{str,bool,int,long,time}(), word for word, because log
 * watchers and admins search for them.  Dynamic defaults (install paths,
 * host name, mynetworks) are computed here as Postfix computes them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/htable.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/params.h"

#ifndef DEF_COMMAND_DIR
#define DEF_COMMAND_DIR "/usr/sbin"
#endif
#ifndef DEF_DAEMON_DIR
#define DEF_DAEMON_DIR "/usr/lib/postfix/sbin"
#endif
#ifndef DEF_CONFIG_DIR
#define DEF_CONFIG_DIR "/etc/postfix"
#endif
#ifndef DEF_QUEUE_DIR
#define DEF_QUEUE_DIR "/var/spool/postfix"
#endif
#ifndef DEF_DATA_DIR
#define DEF_DATA_DIR "/var/lib/postfix"
#endif
#ifndef DEF_MANPAGE_DIR
#define DEF_MANPAGE_DIR "/usr/share/man"
#endif
#ifndef MAIL_VERSION
#define MAIL_VERSION "3.7-postern1"
#endif

#define PARAM(type, name, def, min, max, flags) PARAM_TYPE_##type var_##name;
#include "lib/mail/params.def"
#undef PARAM

static const struct param params_decl[] = {
#define PARAM(type, name, def, min, max, flags)                                \
	{ #name, P_TYPE_##type, def, min, max, flags, &var_##name },
#include "lib/mail/params.def"
#undef PARAM
};

#define PARAMS_COUNT (sizeof(params_decl) / sizeof(params_decl[0]))

static struct param *params_sorted;
static size_t params_nsorted;
static struct htable *params_dyn; /* name -> computed default */

static int
params_cmp(const void *a, const void *b)
{
	return strcmp(((const struct param *)a)->name,
	    ((const struct param *)b)->name);
}

static void
params_init(void)
{
	if (params_sorted)
		return;
	params_sorted = xcalloc(PARAMS_COUNT, sizeof(*params_sorted));
	memcpy(params_sorted, params_decl, sizeof(params_decl));
	qsort(params_sorted, PARAMS_COUNT, sizeof(*params_sorted), params_cmp);
	params_nsorted = PARAMS_COUNT;
	params_dyn = htable_new(30);
}

const struct param *
params_find(const char *name)
{
	struct param key;

	params_init();
	key.name = name;
	return bsearch(&key, params_sorted, params_nsorted,
	    sizeof(*params_sorted), params_cmp);
}

const struct param *
params_table(size_t *count)
{
	params_init();
	if (count)
		*count = params_nsorted;
	return params_sorted;
}

/*
 * Per-service names.  Postfix's postconf adds these for every master.cf
 * service whose command is one of the delivery agents below (found by
 * comparing postconf -d with and without such services).
 */
static const struct param_service params_svc_pipe[] = {
	{ "time_limit", "$command_time_limit" },
	/* The other delivery agents get the names from here on. */
	{ "delivery_slot_cost", "$default_delivery_slot_cost" },
	{ "delivery_slot_discount", "$default_delivery_slot_discount" },
	{ "delivery_slot_loan", "$default_delivery_slot_loan" },
	{ "destination_concurrency_failed_cohort_limit",
	    "$default_destination_concurrency_failed_cohort_limit" },
	{ "destination_concurrency_limit",
	    "$default_destination_concurrency_limit" },
	{ "destination_concurrency_negative_feedback",
	    "$default_destination_concurrency_negative_feedback" },
	{ "destination_concurrency_positive_feedback",
	    "$default_destination_concurrency_positive_feedback" },
	{ "destination_rate_delay", "$default_destination_rate_delay" },
	{ "destination_recipient_limit",
	    "$default_destination_recipient_limit" },
	{ "extra_recipient_limit", "$default_extra_recipient_limit" },
	{ "initial_destination_concurrency",
	    "$initial_destination_concurrency" },
	{ "minimum_delivery_slots", "$default_minimum_delivery_slots" },
	{ "recipient_limit", "$default_recipient_limit" },
	{ "recipient_refill_delay", "$default_recipient_refill_delay" },
	{ "recipient_refill_limit", "$default_recipient_refill_limit" },
	{ "transport_rate_delay", "$default_transport_rate_delay" },
	{ NULL, NULL },
};

static const struct param_service params_svc_spawn[] = {
	{ "time_limit", "$command_time_limit" },
	{ NULL, NULL },
};

const struct param_service *
params_service_names(const char *cmd)
{
	static const char *const agents[] = { "smtp", "lmtp", "local",
		"virtual", "error", NULL };
	size_t i;

	if (cmd == NULL)
		return NULL;
	for (i = 0; agents[i]; i++)
		if (strcmp(cmd, agents[i]) == 0)
			return params_svc_pipe + 1;
	if (strcmp(cmd, "pipe") == 0)
		return params_svc_pipe;
	if (strcmp(cmd, "spawn") == 0)
		return params_svc_spawn;
	return NULL;
}

/* Names that 3.7's built-in defaults refer to but that it does not list. */
bool
params_is_legacy(const char *name)
{
	static const char *const legacy[] = { "authorized_verp_clients",
		"fallback_relay", "lmtp_per_record_deadline",
		"postscreen_blacklist_action", "postscreen_dnsbl_ttl",
		"postscreen_dnsbl_whitelist_threshold",
		"postscreen_whitelist_interfaces", "smtp_per_record_deadline",
		"smtpd_client_connection_limit_exceptions",
		"smtpd_per_record_deadline", "tlsproxy_client_level",
		"tlsproxy_client_policy", "virtual_maps", NULL };
	size_t i;

	for (i = 0; legacy[i]; i++)
		if (strcmp(name, legacy[i]) == 0)
			return true;
	return false;
}

const char *
params_hostname(void)
{
	static char *name;
	char buf[HOST_NAME_MAX + 1];

	if (name == NULL) {
		if (gethostname(buf, sizeof(buf)) < 0)
			msg_fatal("gethostname: %m");
		buf[sizeof(buf) - 1] = 0;
		if (buf[0] == 0)
			msg_fatal("unable to use my own hostname");
		name = xstrdup(buf);
	}
	return name;
}

/* mynetworks support: local interfaces and Postfix's formatting. */
struct params_addr {
	int family;
	unsigned char addr[16];
	unsigned char mask[16];
};

struct params_addrs {
	struct params_addr *a;
	size_t n, cap;
};

static void
params_addr_add(struct params_addrs *l, int family, const void *addr,
    const void *mask)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->a = xreallocarray(l->a, l->cap, sizeof(*l->a));
	}
	memset(&l->a[l->n], 0, sizeof(l->a[l->n]));
	l->a[l->n].family = family;
	memcpy(l->a[l->n].addr, addr, len);
	if (mask)
		memcpy(l->a[l->n].mask, mask, len);
	l->n++;
}

/* The up interfaces' addresses: IPv4 first, then IPv6, in system order. */
static int
params_local_addrs(struct params_addrs *l, bool v4, bool v6, struct str *why)
{
	struct ifaddrs *ifap, *ifa;
	int pass;

	if (getifaddrs(&ifap) < 0) {
		str_fmt(why, "getifaddrs: %s", strerror(errno));
		return -1;
	}
	for (pass = 0; pass < 2; pass++) {
		int family = pass == 0 ? AF_INET : AF_INET6;

		if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6))
			continue;
		for (ifa = ifap; ifa; ifa = ifa->ifa_next) {
			if (!(ifa->ifa_flags & IFF_UP) ||
			    ifa->ifa_addr == NULL ||
			    ifa->ifa_addr->sa_family != family)
				continue;
			if (family == AF_INET) {
				struct sockaddr_in *sa = (void *)ifa->ifa_addr;
				struct sockaddr_in *sm =
				    (void *)ifa->ifa_netmask;

				params_addr_add(l, family, &sa->sin_addr,
				    sm ? (void *)&sm->sin_addr : NULL);
			} else {
				struct sockaddr_in6 *sa = (void *)ifa->ifa_addr;
				struct sockaddr_in6 *sm =
				    (void *)ifa->ifa_netmask;

				params_addr_add(l, family, &sa->sin6_addr,
				    sm ? (void *)&sm->sin6_addr : NULL);
			}
		}
	}
	freeifaddrs(ifap);
	return 0;
}

static int
params_addr_cmp(const void *a, const void *b)
{
	const struct params_addr *x = a, *y = b;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	return memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16);
}

/* Resolve one inet_interfaces entry (address, [address] or host name). */
static int
params_resolve(struct params_addrs *l, const char *tok, bool v4, bool v6,
    struct str *why)
{
	struct addrinfo hints, *res, *ai;
	unsigned char buf[16];
	char *host = xstrdup(tok);
	size_t len = strlen(host);
	int found = 0;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		memmove(host, host + 1, len - 2);
		host[len - 2] = 0;
	}
	if (inet_pton(AF_INET, host, buf) == 1) {
		if (v4)
			params_addr_add(l, AF_INET, buf, NULL), found = 1;
	} else if (inet_pton(AF_INET6, host, buf) == 1) {
		if (v6)
			params_addr_add(l, AF_INET6, buf, NULL), found = 1;
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = v4 && v6 ? AF_UNSPEC
				  : v4     ? AF_INET
					   : AF_INET6;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, NULL, &hints, &res) == 0) {
			for (ai = res; ai; ai = ai->ai_next) {
				if (ai->ai_family == AF_INET && v4)
					params_addr_add(l, AF_INET,
					    &((struct sockaddr_in *)(void *)
						    ai->ai_addr)
						 ->sin_addr,
					    NULL),
					    found = 1;
				else if (ai->ai_family == AF_INET6 && v6)
					params_addr_add(l, AF_INET6,
					    &((struct sockaddr_in6 *)(void *)
						    ai->ai_addr)
						 ->sin6_addr,
					    NULL),
					    found = 1;
			}
			freeaddrinfo(res);
		}
	}
	if (!found)
		str_fmt(why,
		    "config variable inet_interfaces: host not found: %s", tok);
	free(host);
	return found ? 0 : -1;
}

static int
params_prefix_len(const unsigned char *mask, size_t len)
{
	int bits = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char m = mask[i];

		while (m & 0x80) {
			bits++;
			m <<= 1;
		}
		if (mask[i] != 0xff)
			break;
	}
	return bits;
}

static void
params_format(struct str *out, const struct params_addr *a, int style)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char net[16];
	size_t len = a->family == AF_INET ? 4 : 16, i;
	int bits;

	memcpy(net, a->addr, len);
	if (style == 'h') {
		bits = (int)len * 8;
	} else if (style == 'c' && a->family == AF_INET) {
		if ((net[0] & 0x80) == 0)
			bits = 8;
		else if ((net[0] & 0xc0) == 0x80)
			bits = 16;
		else if ((net[0] & 0xe0) == 0xc0)
			bits = 24;
		else
			bits = 4;
		for (i = 0; i < len; i++) {
			int keep = bits - (int)i * 8;

			if (keep <= 0)
				net[i] = 0;
			else if (keep < 8)
				net[i] &= (unsigned char)(0xff << (8 - keep));
		}
	} else {
		bits = params_prefix_len(a->mask, len);
		for (i = 0; i < len; i++)
			net[i] &= a->mask[i];
	}
	inet_ntop(a->family, net, text, sizeof(text));
	if (str_len(out))
		str_catc(out, ' ');
	if (a->family == AF_INET)
		str_catfmt(out, "%s/%d", text, bits);
	else
		str_catfmt(out, "[%s]/%d", text, bits);
}

int
params_mynetworks(const char *style, const char *ifaces, const char *protos,
    struct str *out, struct str *why)
{
	struct params_addrs local = { 0 }, want = { 0 };
	struct argv *toks = NULL;
	bool v4 = false, v6 = false, all = false;
	int st, rc = -1;
	size_t i, j;
	char text[INET6_ADDRSTRLEN];

	str_reset(out);
	toks = argv_split(protos, ", \t\r\n");
	for (i = 0; i < toks->argc; i++) {
		if (strcasecmp(toks->argv[i], "all") == 0)
			v4 = v6 = true;
		else if (strcasecmp(toks->argv[i], "ipv4") == 0)
			v4 = true;
		else if (strcasecmp(toks->argv[i], "ipv6") == 0)
			v6 = true;
		else {
			str_fmt(why,
			    "unknown inet_protocols value \"%s\" in \"%s\"",
			    toks->argv[i], protos);
			goto out;
		}
	}
	toks = argv_free(toks);
	toks = argv_split(style, ", \t\r\n");
	if (toks->argc == 1 && strcmp(toks->argv[0], "host") == 0)
		st = 'h';
	else if (toks->argc == 1 && strcmp(toks->argv[0], "subnet") == 0)
		st = 's';
	else if (toks->argc == 1 && strcmp(toks->argv[0], "class") == 0)
		st = 'c';
	else {
		str_fmt(why,
		    "unknown mynetworks mask style value \"%s\" in \"%s\"",
		    toks->argc ? toks->argv[0] : "", style);
		goto out;
	}
	toks = argv_free(toks);
	if (params_local_addrs(&local, v4, v6, why) < 0)
		goto out;

	toks = argv_split(ifaces, ", \t\r\n");
	for (i = 0; i < toks->argc; i++)
		if (strcasecmp(toks->argv[i], "all") == 0)
			all = true;
	if (all) {
		for (i = 0; i < local.n; i++)
			params_format(out, &local.a[i], st);
		rc = 0;
		goto out;
	}
	for (i = 0; i < toks->argc; i++) {
		if (strcasecmp(toks->argv[i], "loopback-only") == 0) {
			unsigned char lo4[4] = { 127, 0, 0, 1 },
				      lo6[16] = { 0 };

			lo6[15] = 1;
			if (v4)
				params_addr_add(&want, AF_INET, lo4, NULL);
			if (v6)
				params_addr_add(&want, AF_INET6, lo6, NULL);
		} else if (params_resolve(&want, toks->argv[i], v4, v6, why) <
			   0)
			goto out;
	}
	/* Postfix sorts and de-duplicates the addresses, then finds masks. */
	if (want.n)
		qsort(want.a, want.n, sizeof(*want.a), params_addr_cmp);
	for (i = 0; i < want.n; i++) {
		if (i > 0 && params_addr_cmp(&want.a[i - 1], &want.a[i]) == 0)
			continue;
		for (j = 0; j < local.n; j++)
			if (params_addr_cmp(&want.a[i], &local.a[j]) == 0)
				break;
		if (j == local.n) {
			inet_ntop(want.a[i].family, want.a[i].addr, text,
			    sizeof(text));
			str_fmt(why,
			    "parameter inet_interfaces: no local interface found for %s",
			    text);
			goto out;
		}
		params_format(out, &local.a[j], st);
	}
	rc = 0;
out:
	argv_free(toks);
	free(local.a);
	free(want.a);
	return rc;
}

/* The default of a P_DYN parameter, computed once (process_id: per call). */
static const char *
params_dynamic(const char *name)
{
	static char pid[32];
	struct str *s;
	const char *host, *dot, *v;
	char *val;

	if (strcmp(name, "process_id") == 0) {
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		return pid;
	}
	if (strcmp(name, "process_name") == 0)
		return msg_program() ? msg_program() : "";
	if ((v = htable_find(params_dyn, name)) != NULL)
		return v;

	s = str_new(100);
	if (strcmp(name, "command_directory") == 0)
		str_set(s, DEF_COMMAND_DIR);
	else if (strcmp(name, "daemon_directory") == 0)
		str_set(s, DEF_DAEMON_DIR);
	else if (strcmp(name, "config_directory") == 0 ||
		 strcmp(name, "meta_directory") == 0 ||
		 strcmp(name, "sample_directory") == 0)
		str_set(s, DEF_CONFIG_DIR);
	else if (strcmp(name, "queue_directory") == 0)
		str_set(s, DEF_QUEUE_DIR);
	else if (strcmp(name, "data_directory") == 0)
		str_set(s, DEF_DATA_DIR);
	else if (strcmp(name, "manpage_directory") == 0)
		str_set(s, DEF_MANPAGE_DIR);
	else if (strcmp(name, "shlib_directory") == 0)
		str_set(s, "/usr/lib/postfix");
	else if (strcmp(name, "readme_directory") == 0)
		str_set(s, "/usr/share/doc/postfix");
	else if (strcmp(name, "html_directory") == 0)
		str_set(s, "/usr/share/doc/postfix/html");
	else if (strcmp(name, "mail_version") == 0)
		str_set(s, MAIL_VERSION);
	else if (strcmp(name, "myhostname") == 0) {
		/* Postfix does no DNS lookup: a dotless name gets .localdomain. */
		host = params_hostname();
		str_set(s, host);
		if (strchr(host, '.') == NULL)
			str_cat(s, ".localdomain");
	} else if (strcmp(name, "mydomain") == 0) {
		const struct param *hp = params_find("myhostname");

		host = hp ? params_default(hp) : params_hostname();
		dot = strchr(host, '.');
		str_set(s, dot ? dot + 1 : "localdomain");
	} else if (strcmp(name, "mynetworks") == 0) {
		struct str *why = str_new(100);
		/* The built-in style at the built-in compatibility level 0. */
		if (params_mynetworks("subnet", "all", "all", s, why) < 0)
			msg_fatal("%s", str_ptr(why));
		str_free(why);
	} else {
		const struct param *p = params_find(name);

		str_set(s, p ? p->defval : "");
	}
	val = str_steal(s);
	htable_enter(params_dyn, name, val);
	return val;
}

const char *
params_default(const struct param *p)
{
	params_init();
	if (p->flags & P_DYN)
		return params_dynamic(p->name);
	return p->defval;
}

/* Postfix's conv_time(): strtol, then one unit letter; the rest ignored. */
static bool
params_conv_time(const char *s, int *out, int def_unit)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == 0 || errno == ERANGE || v != (int)v || v < 0)
		return false;
	switch (*end ? *end : def_unit) {
	case 'w':
		if (v >= INT_MAX / (7 * 86400))
			return false;
		*out = (int)v * 7 * 86400;
		return true;
	case 'd':
		if (v >= INT_MAX / 86400)
			return false;
		*out = (int)v * 86400;
		return true;
	case 'h':
		if (v >= INT_MAX / 3600)
			return false;
		*out = (int)v * 3600;
		return true;
	case 'm':
		if (v >= INT_MAX / 60)
			return false;
		*out = (int)v * 60;
		return true;
	case 's':
		*out = (int)v;
		return true;
	}
	return false;
}

/* The unit of a bare number: the last letter of the expanded default. */
static int
params_time_unit(const struct param *p)
{
	struct str *val = str_new(20), *why = str_new(20);
	int unit = 's';

	if (config_expand(p->defval, val, why) == 0 && str_len(val) > 0) {
		int last = (unsigned char)str_ptr(val)[str_len(val) - 1];

		if (last >= 'a' && last <= 'z')
			unit = last;
	}
	str_free(val);
	str_free(why);
	return unit;
}

static void
params_set_one(const struct param *p, const char *val)
{
	char *end;
	long lv;
	int tv;

	switch (p->type) {
	case P_TYPE_STR:
	case P_TYPE_RAW: {
		char **var = p->var;
		long len = (long)strlen(val);

		if (p->min && len < p->min)
			msg_fatal("bad string length %ld < %ld: %s = %s", len,
			    p->min, p->name, val);
		if (p->max && len > p->max)
			msg_fatal("bad string length %ld > %ld: %s = %s", len,
			    p->max, p->name, val);
		free(*var);
		*var = xstrdup(val);
		break;
	}
	case P_TYPE_BOOL:
		if (strcasecmp(val, "yes") == 0)
			*(bool *)p->var = true;
		else if (strcasecmp(val, "no") == 0)
			*(bool *)p->var = false;
		else
			msg_fatal("bad boolean configuration: %s = %s", p->name,
			    val);
		break;
	case P_TYPE_INT:
	case P_TYPE_LONG:
		errno = 0;
		lv = strtol(val, &end, 10);
		if (*val == 0 || *end != 0 || errno == ERANGE ||
		    (p->type == P_TYPE_INT && lv != (int)lv))
			msg_fatal("bad numerical configuration: %s = %s",
			    p->name, val);
		/* As in Postfix, a bound of 0 is not checked. */
		if (p->min && lv < p->min)
			msg_fatal("invalid %s parameter value %ld < %ld",
			    p->name, lv, p->min);
		if (p->max && lv > p->max)
			msg_fatal("invalid %s parameter value %ld > %ld",
			    p->name, lv, p->max);
		if (p->type == P_TYPE_INT)
			*(int *)p->var = (int)lv;
		else
			*(long *)p->var = lv;
		break;
	case P_TYPE_TIME:
		if (!params_conv_time(val, &tv, params_time_unit(p)))
			msg_fatal("parameter %s: bad time value or unit: %s",
			    p->name, val);
		if (p->min && tv < p->min)
			msg_fatal("invalid %s: %d (min %ld)", p->name, tv,
			    p->min);
		if (p->max && tv > p->max)
			msg_fatal("invalid %s: %d (max %ld)", p->name, tv,
			    p->max);
		*(int *)p->var = tv;
		break;
	}
}

void
params_load(void)
{
	struct str *val = str_new(100), *why = str_new(100);
	const char *raw;
	size_t i;

	params_init();
	for (i = 0; i < params_nsorted; i++) {
		const struct param *p = &params_sorted[i];

		if (p->type == P_TYPE_RAW) {
			raw = config_raw(p->name);
			str_set(val, raw ? raw : "");
		} else if (config_eval(p->name, val, why) < 0) {
			/* Postfix's daemons: the expander's warning, then this. */
			msg_warn("%s", str_ptr(why));
			msg_fatal(
			    "dictionary mail_dict: macro processing error");
		}
		params_set_one(p, str_ptr(val));
	}
	str_free(val);
	str_free(why);
}

void
params_warn_notyet(void)
{
	size_t i;

	params_init();
	for (i = 0; i < params_nsorted; i++)
		if ((params_sorted[i].flags & P_NOTYET) &&
		    config_explicit(params_sorted[i].name) != NULL)
			msg_warn(
			    "%s is set but not yet supported by Postern: ignored",
			    params_sorted[i].name);
}
