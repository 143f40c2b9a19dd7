/*
 * confdir - may this caller choose the configuration directory?  Shared
 * by the set-gid commands (postdrop, postlog) and sendmail, as Postfix's
 * mail_conf_checkdir() is.
 *
 * confdir_untrusted()   the process runs with privileges its real user does
 *                       not have (set-gid or set-uid, AT_SECURE) and that
 *                       user is not root
 * confdir_check(dir)    fatal unless dir is the default configuration
 *                       directory or is named by alternate_config_directories
 *                       or multi_instance_directories in the default
 *                       main.cf (read as text: no $name expansion there, as
 *                       postconf(5) says).  Postfix's texts:
 *                       "unauthorized configuration directory name: DIR",
 *                       then the fatal "specify \"alternate_config_directories
 *                       = DIR\" or ..."; a missing default main.cf is
 *                       "open file /etc/postfix/main.cf: REASON".
 *
 * Without the check an untrusted caller would pick main.cf and with it
 * queue_directory, maillog_file and the tables that a set-gid program opens
 * with its group's rights.
 */
#ifndef CONFDIR_H
#define CONFDIR_H

#include <stdbool.h>

bool confdir_untrusted(void);
void confdir_check(const char *);

#endif
