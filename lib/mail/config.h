/*
 * config - main.cf as Postfix reads it, plus overrides and expansion.
 *
 * Precedence of a name's raw value: config_override() (-o name=value) >
 * main.cf > built-in default (params_default) > per-service default
 * (e.g. relay_destination_concurrency_limit = $default_..., for a master.cf
 * service running a delivery agent) > undefined.
 *
 * config_init(dir)            remember the config directory (NULL: $MAIL_CONFIG,
 *                             else the compiled-in default)
 * config_dir()                that directory
 * config_read(why)            read DIR/main.cf: 0 ok, -1 (why: "open DIR/main.cf: %m").
 *                             Syntax errors are fatal with file and line, as in
 *                             Postfix: "/etc/postfix/main.cf, line 3: missing '=' after
 *                             attribute name: \"foo\""
 * config_override(name, val)  set a value that beats main.cf (daemon -o, postconf -o);
 *                             (additive) val NULL removes the override
 * config_explicit(name)       the raw value set in main.cf or by override, or NULL
 * config_raw(name)            the raw value in effect (see precedence), or NULL
 * config_eval(name, out, why) the expanded value in effect: 0 ok, -1 with why
 *                             (recursion); undefined names referenced warn once:
 *                             "PATH, line N: overriding earlier entry" is not this;
 *                             it is "undefined parameter: NAME" as postconf says it
 * config_expand(text, out, why) expand text against the configuration
 * config_names()              NULL-terminated array of the names set in main.cf, in
 *                             file order (caller frees array only)
 * config_line(name)           the main.cf line number of name's setting, or 0
 * config_services(mastercf)   add the per-service names for the services of a
 *                             parsed master.cf (see mastercf.h)
 * config_service_names()      (additive) NULL-terminated array of the names that
 *                             config_services() added, for postconf -d (caller
 *                             frees the array only)
 *
 * config_read() warns as Postfix does: "PATH, line N: overriding earlier entry:
 * NAME=OLDVALUE", "PATH: logical line must not start with whitespace: \"TEXT\""
 * (the line is ignored).  With -c DIR or $MAIL_CONFIG, config_directory = DIR
 * is entered as an explicit setting before main.cf (line 0), as postconf does.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "lib/util/str.h"

struct mastercf;

void config_init(const char *);
const char *config_dir(void);
int config_read(struct str *) __attribute__((warn_unused_result));
void config_override(const char *, const char *);
const char *config_explicit(const char *);
const char *config_raw(const char *);
int config_eval(const char *, struct str *, struct str *)
    __attribute__((warn_unused_result));
int config_expand(const char *, struct str *, struct str *)
    __attribute__((warn_unused_result));
const char **config_names(void);
int config_line(const char *);
void config_services(const struct mastercf *);
const char **config_service_names(void);

#endif
