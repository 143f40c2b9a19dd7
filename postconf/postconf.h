/*
 * postconf.h - what the postconf_*.c files share.
 *
 * pc_print_line(mode, fmt, ...)   print one "name = value" line the way
 *                                 Postfix does: white space between words
 *                                 collapsed, folded at 80 columns with -f
 * pc_master_read(fail_on_open)    read master.cf (all entries, duplicates kept)
 * pc_master_show_entries(mode, names)  -M
 * pc_master_show_fields(mode, names)   -F
 * pc_master_show_params(mode, names)   -P
 * pc_master_format(out, mode, e)  one entry in postconf -M layout
 * pc_master_parse_entry(text, path, lineno, arg)  one entry for editing; fatal
 *                                 with postconf's texts when it is bad
 * pc_entry_param(e, name)         the value of "-o name=..." (last wins) or NULL
 * pc_entry_param_names(e)         the -o names of e, once each, sorted
 * pc_entry_drop_param(e, name)    forget -o name (read-only names)
 * pc_service_pattern(text, min, max)  split "name/type[/x]" (NULL when bad)
 * pc_service_match(pattern, name, type)  "*" matches anything
 * pc_field_index(name)            "service".."command" -> 0..7, "*" -> 8, -1
 * pc_field_names[]                the -F field names
 * pc_edit_main(mode, args)        -e, -X, -# on main.cf
 * pc_edit_master(mode, args)      -Me, -MX, -M#, -Fe, -Pe, -PX on master.cf
 * pc_edit_abort()                 remove an unfinished edit's temp file
 * pc_params_*                     the parameter model (postconf_params.c);
 *                                 pc_params_class(list) takes -C's argument
 * pc_show_maps(), pc_show_locks(), pc_show_sasl(mode)  -m, -l, -a/-A
 */
#ifndef POSTCONF_H
#define POSTCONF_H

#include <stdbool.h>

#include "lib/util/argv.h"
#include "lib/util/str.h"
#include "lib/mail/mastercf.h"

/* Command modes, in the order Postfix names them in its messages. */
#define PC_SASL_SERV    (1 << 0)  /* -a */
#define PC_SASL_CLNT    (1 << 1)  /* -A */
#define PC_EXP_DSN      (1 << 2)  /* -b */
#define PC_PARAM_CLASS  (1 << 3)  /* -C */
#define PC_SHOW_DEFS    (1 << 4)  /* -d */
#define PC_EDIT_CONF    (1 << 5)  /* -e */
#define PC_FOLD_LINE    (1 << 6)  /* -f */
#define PC_MASTER_FLD   (1 << 7)  /* -F */
#define PC_HIDE_NAME    (1 << 8)  /* -h */
#define PC_HIDE_VALUE   (1 << 9)  /* -H */
#define PC_SHOW_LOCKS   (1 << 10) /* -l */
#define PC_SHOW_MAPS    (1 << 11) /* -m */
#define PC_MASTER_ENTRY (1 << 12) /* -M */
#define PC_SHOW_NONDEF  (1 << 13) /* -n */
#define PC_MAIN_OVER    (1 << 14) /* -o */
#define PC_MAIN_PARAM   (1 << 15) /* -p */
#define PC_MASTER_PARAM (1 << 16) /* -P */
#define PC_DUMP_DSN     (1 << 17) /* -t */
#define PC_SHOW_TLS     (1 << 18) /* -T */
#define PC_SHOW_EVAL    (1 << 19) /* -x */
#define PC_EDIT_EXCL    (1 << 20) /* -X */
#define PC_COMMENT_OUT  (1 << 21) /* -# */

#define PC_LINE_LIMIT  80
#define PC_INDENT_LEN  4
#define PC_INDENT_TEXT "    "

/* The -F field indexes; PC_FIELD_ANY is the "*" wild card. */
#define PC_FIELD_CMD 7
#define PC_FIELD_ANY 8

extern struct mastercf *pc_master;
extern const char *const pc_field_names[];

/* postconf.c */
const char *pc_config_dir(void);
const char *pc_main_path(void);
const char *pc_master_path(void);

/* postconf_print.c */
void pc_print_line(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void pc_flush(void);

/* postconf_master.c */
void pc_master_read(bool);
void pc_master_show_entries(int, char **);
void pc_master_show_fields(int, char **);
void pc_master_show_params(int, char **);
void pc_master_format(struct str *, int, const struct mastercf_entry *);
struct mastercf_entry *pc_master_parse_entry(const char *, const char *, int,
    const char *);
const char *pc_entry_param(const struct mastercf_entry *, const char *);
struct argv *pc_entry_param_names(const struct mastercf_entry *);
void pc_entry_drop_param(struct mastercf_entry *, const char *);
struct argv *pc_service_pattern(const char *, size_t, size_t);
bool pc_service_match(const struct argv *, const char *, const char *);
int pc_field_index(const char *);

/* postconf_edit.c */
void pc_edit_main(int, char **);
void pc_edit_master(int, char **);
void pc_edit_abort(void);

/* postconf_params.c */
void pc_params_class(const char *);
void pc_params_init(bool, struct argv *);
void pc_params_show(int, char **);
const char *pc_params_expand(const char *, const struct mastercf_entry *);
void pc_params_warn_unused_main(void);
void pc_params_warn_unused_master(void);

/* postconf_other.c */
void pc_show_maps(void);
void pc_show_locks(void);
void pc_show_sasl(int);

#endif
