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
 */
#ifndef PARAMS_H
#define PARAMS_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
