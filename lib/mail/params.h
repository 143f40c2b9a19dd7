/*
 * params - the typed main.cf parameter table (generated from params.def).
 *
 * var_NAME globals, one per parameter: STR/RAW -> char *, BOOL -> bool,
 * INT -> int, LONG -> long, TIME -> int (seconds).
 *
 * params_find(name)          table entry of a built-in parameter, or NULL
 * params_table(&count)       all entries, sorted by name
 * params_default(p)          the default as postconf -d prints it (dynamic defaults
 *                            computed once)
 * params_load()              set every var_* from the effective configuration
 *                            (config_*): expand, parse, check bounds; a bad value is
 *                            fatal with Postfix's message, e.g.
 *                            "bad numerical configuration: smtpd_timeout = x"
 * params_warn_notyet()       log one warning per explicitly set P_NOTYET parameter:
 *                            "NAME is set but not yet supported by Postern: ignored"
 * params_service_names(type_cmd) the per-service parameter suffixes that postconf -d
 *                            adds for master.cf services running a delivery agent
 *
 * Added by the config work (additive):
 * params_service_names(cmd)  for a master.cf command (program name, e.g. "smtp"):
 *                            {suffix, default} pairs ending with {NULL, NULL}, or
 *                            NULL when cmd is not a delivery agent.  Postfix 3.7:
 *                            smtp lmtp local virtual error pipe get 16 names
 *                            (NAME_destination_concurrency_limit = $default_...),
 *                            pipe also NAME_time_limit = $command_time_limit, and
 *                            spawn only that one
 * params_is_legacy(name)     a pre-3.7 name that built-in defaults still refer to
 *                            (virtual_maps, fallback_relay, ...): valid when set,
 *                            silently empty when not
 * params_hostname()          gethostname() as myhostname's default starts from
 * params_mynetworks(style, interfaces, protocols, out, why)  mynetworks for the
 *                            given mynetworks_style, inet_interfaces and
 *                            inet_protocols values, in Postfix's format
 *                            ("127.0.0.0/8 [::1]/128"): 0, or -1 with Postfix's
 *                            fatal text in why
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/str.h"

enum param_type { P_TYPE_STR, P_TYPE_RAW, P_TYPE_BOOL, P_TYPE_INT,
	P_TYPE_LONG, P_TYPE_TIME };

#define P_NOTYET (1 << 0)
#define P_DYN	 (1 << 1)
#define P_DIFF	 (1 << 2)

struct param {
	const char *name;
	enum param_type type;
	const char *defval;	/* as declared; "" for P_DYN */
	long min, max;
	int flags;
	void *var;		/* &var_NAME */
};

#define PARAM_TYPE_STR	char *
#define PARAM_TYPE_RAW	char *
#define PARAM_TYPE_BOOL bool
#define PARAM_TYPE_INT	int
#define PARAM_TYPE_LONG long
#define PARAM_TYPE_TIME int
#define PARAM(type, name, def, min, max, flags) extern PARAM_TYPE_##type var_##name;
#include "lib/mail/params.def"
#undef PARAM

const struct param *params_find(const char *);
const struct param *params_table(size_t *);
const char *params_default(const struct param *);
void params_load(void);
void params_warn_notyet(void);

struct param_service {
	const char *suffix;	/* "destination_concurrency_limit" */
	const char *defval;	/* "$default_destination_concurrency_limit" */
};

const struct param_service *params_service_names(const char *);
bool params_is_legacy(const char *);
const char *params_hostname(void);
int params_mynetworks(const char *, const char *, const char *, struct str *,
    struct str *) __attribute__((warn_unused_result));

#endif
