/*
 * postfix - start, stop, check and maintain one Postern instance, as
 * Postfix 3.7's postfix command and postfix-script do, in C.
 * Run by root only: "postfix [-Dv] [-c config_dir] command".
 * Reads main.cf and master.cf of the instance that -c or $MAIL_CONFIG
 * names (else the default); acts on that instance only.
 * Talks to $daemon_directory/master (-t, -w, -s, -i) and signals the PID in
 * $queue_directory/pid/master.pid; creates and fixes the queue directories;
 * wakes qmgr and pickup (flush); rotates maillog_file.
 *
 * Messages are postfix-script's, with its tag (syslog_name/postfix-script)
 * and its habit of writing to stderr only when stderr is a terminal, but
 * always to the log; the exit status tells scripts what happened.  Before
 * the command runs, messages are the postfix command's own ("postfix:
 * fatal: ..."), again on stderr only for a terminal.  See postfix.h for the
 * files.
 */
#include <sys/stat.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/argv.h"
#include "lib/util/lline.h"
#include "lib/util/mac_expand.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/mail_owner.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"
#include "postfix/postfix.h"

bool postfix_shared = true;
struct argv *postfix_instances;
bool postfix_debug;

/* The compatibility level whose defaults Postfix 3.7 calls current. */
#define POSTFIX_COMPAT_LEVEL "3.6"

/* The commands postfix-script's unknown-command message lists. */
#define POSTFIX_USAGE                                                          \
	"Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)"

void
postfix_fatal_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_FATAL, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) postfix_usage(void)
{
	msg_fatal("usage: %s [-c config_dir] [-Dv] command", msg_program());
}

/*
 * The environment master and its children inherit, as Postfix's postfix
 * command builds it: import_environment only (MAIL_VERBOSE does not
 * survive, as in 3.7), a fixed PATH, the instance's MAIL_CONFIG, and where
 * the postlog service is for programs that log before reading main.cf.
 */
static void
postfix_environment(void)
{
	struct argv *names = argv_split(var_import_environment, ", \t\r\n");
	struct argv *keep = argv_new();
	struct str *val = str_new(100);
	const char *v;
	char *eq;

	if (postfix_debug)
		setenv("MAIL_DEBUG", "", 1);
	if (msg_verbose)
		setenv("MAIL_VERBOSE", "", 1);
	setenv("MAIL_CONFIG", config_dir(), 1);
	setenv("MAIL_LOGTAG", var_syslog_name, 1);
	for (size_t i = 0; i < names->argc; i++) {
		if (strchr(names->argv[i], '=') != NULL)
			argv_add(keep, names->argv[i]);
		else if ((v = getenv(names->argv[i])) != NULL) {
			str_fmt(val, "%s=%s", names->argv[i], v);
			argv_add(keep, str_ptr(val));
		}
	}
	if (clearenv() != 0)
		msg_fatal("cannot clear the environment");
	for (size_t i = 0; i < keep->argc; i++) {
		eq = strchr(keep->argv[i], '=');
		*eq = 0;
		if (*keep->argv[i] && setenv(keep->argv[i], eq + 1, 1) < 0)
			msg_fatal("setenv %s: %m", keep->argv[i]);
	}
	setenv("PATH", "/bin:/usr/bin:/sbin:/usr/sbin", 1);
	/* This instance, whatever import_environment says. */
	setenv("MAIL_CONFIG", config_dir(), 1);
	if (*var_maillog_file) {
		str_fmt(val, "%s/public/%s", var_queue_directory,
		    var_postlog_service_name);
		setenv("POSTLOG_SERVICE", str_ptr(val), 1);
		setenv("POSTLOG_HOSTNAME", var_myhostname, 1);
	}
	str_free(val);
	argv_free(names);
	argv_free(keep);
}

/*
 * multi_instance_directories of the default instance: ours when we are
 * it, else the last setting in its main.cf (taken as written).
 */
static struct argv *
postfix_default_instances(const char *def_dir)
{
	struct str *path = str_new(100), *line = str_new(200);
	struct str *value = str_new(100);
	struct argv *res;
	struct lline ll;
	const char *p;
	FILE *fp;
	size_t n;
	int rc;

	if (strcmp(def_dir, config_dir()) == 0) {
		str_set(value, var_multi_instance_directories);
	} else {
		str_fmt(path, "%s/main.cf", def_dir);
		if ((fp = fopen(str_ptr(path), "r")) != NULL) {
			lline_open(&ll, fp, str_ptr(path), 1 << 20);
			while ((rc = lline_read(&ll, line)) != 0) {
				if (rc < 0)
					continue;
				p = str_ptr(line);
				n = strlen("multi_instance_directories");
				if (strncmp(p, "multi_instance_directories", n))
					continue;
				p += n;
				p += strspn(p, " \t");
				if (*p++ != '=')
					continue;
				str_set(value, p);
				str_trim(value);
			}
			lline_close(&ll);
			fclose(fp);
		}
	}
	res = argv_split(str_ptr(value), ", \t\r\n");
	str_free(path);
	str_free(line);
	str_free(value);
	return res;
}

/* Postfix logs this when compatibility_level is below the current one. */
static void
postfix_compat_notice(void)
{
	if (mac_compat_cmp(var_compatibility_level, "0") == -2 ||
	    mac_compat_cmp(var_compatibility_level, POSTFIX_COMPAT_LEVEL) >= 0)
		return;
	msg_info("Postfix is using backwards-compatible default settings");
	msg_info(
	    "See http://www.postfix.org/COMPATIBILITY_README.html for details");
	msg_info(
	    "To disable backwards compatibility use \"postconf compatibility_level=%s\" and \"postfix reload\"",
	    POSTFIX_COMPAT_LEVEL);
}

static bool
postfix_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * postfix-script's first checks, for every command: "Can't do much
 * without these in place."  Postern has no shared libraries, so
 * shlib_directory is not required to exist.
 */
static void
postfix_check_dirs(void)
{
	struct str *master = str_new(100);
	struct stat st;

	if (!postfix_is_dir(var_command_directory))
		msg_fatal("no Postfix command directory %s!",
		    var_command_directory);
	if (!postfix_is_dir(var_daemon_directory))
		msg_fatal("no Postfix daemon directory %s!",
		    var_daemon_directory);
	str_fmt(master, "%s/master", var_daemon_directory);
	if (stat(str_ptr(master), &st) < 0 || !S_ISREG(st.st_mode))
		msg_fatal("no Postfix master program %s/master!",
		    var_daemon_directory);
	if (!postfix_is_dir(var_config_directory))
		msg_fatal("no Postfix configuration directory %s!",
		    var_config_directory);
	if (!postfix_is_dir(var_meta_directory))
		msg_fatal("no Postfix meta directory %s!", var_meta_directory);
	if (!postfix_is_dir("."))
		msg_fatal("no Postfix queue directory %s!",
		    var_queue_directory);
	str_free(master);
}

/*
 * A secondary instance (listed in the default instance's
 * multi_instance_directories) leaves the shared files alone.
 */
static void
postfix_find_instance(void)
{
	const struct param *p = params_find("config_directory");
	const char *def_dir = p ? params_default(p) : DEF_CONFIG_DIR;

	postfix_instances = postfix_default_instances(def_dir);
	for (size_t i = 0; i < postfix_instances->argc; i++) {
		if (strcmp(postfix_instances->argv[i], def_dir) == 0)
			continue;
		if (strcmp(postfix_instances->argv[i], config_dir()) == 0) {
			postfix_shared = false;
			break;
		}
	}
}

/* "postfix /path/to/program args": run it in this environment. */
static void __attribute__((noreturn)) postfix_exec(char **args)
{
	(void)signal(SIGHUP, SIG_DFL);
	execv(args[0], args);
	msg_fatal("execute %s: %m", args[0]);
}

static int
postfix_command(int argc, char **argv)
{
	const char *cmd = argc > 0 ? argv[0] : "";

	if (strcmp(cmd, "start") == 0)
		return postfix_master_start(false);
	if (strcmp(cmd, "start-fg") == 0)
		return postfix_master_start(true);
	if (strcmp(cmd, "stop") == 0)
		return postfix_master_stop(POSTFIX_STOP);
	if (strcmp(cmd, "abort") == 0)
		return postfix_master_stop(POSTFIX_ABORT);
	if (strcmp(cmd, "drain") == 0)
		return postfix_master_stop(POSTFIX_DRAIN);
	if (strcmp(cmd, "quick-stop") == 0)
		return postfix_master_stop(POSTFIX_QUICK_STOP);
	if (strcmp(cmd, "reload") == 0)
		return postfix_master_reload();
	if (strcmp(cmd, "status") == 0)
		return postfix_master_status();
	if (strcmp(cmd, "check") == 0) {
		if (postfix_check_fatal() < 0)
			return 1;
		postfix_check_warn();
		return 0;
	}
	if (strcmp(cmd, "set-permissions") == 0) {
		/* post-install's name=value would edit main.cf: not ours. */
		if (argc > 1)
			msg_fatal(
			    "set-permissions: name=value arguments are not supported by Postern; set them with \"postconf -e\" first");
		postfix_perms_set();
		return 0;
	}
	if (strcmp(cmd, "flush") == 0)
		postfix_maint_flush();
	if (strcmp(cmd, "logrotate") == 0)
		postfix_maint_logrotate(argc);
	/* Old rc-script helpers that postfix-script still answers. */
	if (strcmp(cmd, "start_msg") == 0 || strcmp(cmd, "stop_msg") == 0) {
		printf("%s postfix\n",
		    strcmp(cmd, "start_msg") == 0 ? "Start" : "Stop");
		return 0;
	}
	if (strcmp(cmd, "upgrade-configuration") == 0 ||
	    strcmp(cmd, "tls") == 0 || strcmp(cmd, "post-install") == 0)
		msg_fatal(
		    "'%s' is not supported by Postern: edit main.cf and master.cf with postconf",
		    cmd);
	if (cmd[0] == '/')
		postfix_exec(argv);
	msg_fatal("unknown command: '%s'. " POSTFIX_USAGE, cmd);
}

/* Commands that may create a missing queue directory before using it. */
static bool
postfix_creates(const char *cmd)
{
	return strcmp(cmd, "start") == 0 || strcmp(cmd, "start-fg") == 0 ||
	       strcmp(cmd, "check") == 0 || strcmp(cmd, "set-permissions") == 0;
}

int
main(int argc, char **argv)
{
	struct str *why = str_new(100), *ident = str_new(100);
	const char *confdir = NULL;
	bool explicit_dir;
	int ch;

	/* The postfix command's own messages: "postfix: ...", syslog "postfix". */
	msg_init(argv[0]);
	msg_set_ident("postfix");
	/* Until the log is set up, a fatal error must be seen somewhere. */
	msg_stderr(true);
	(void)msg_syslog(NULL, "mail");
	umask(022);
	/* As postfix-script: "avoid POSIX death due to SIGHUP". */
	(void)signal(SIGHUP, SIG_IGN);

	if (getuid() != 0) {
		msg_error("to submit mail, use the Postfix sendmail command");
		msg_fatal("the postfix command is reserved for the superuser");
	}
	while ((ch = getopt(argc, argv, "+c:Dv")) != -1) {
		switch (ch) {
		case 'c':
			confdir = optarg;
			break;
		case 'D':
			postfix_debug = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		default:
			postfix_usage();
		}
	}
	argc -= optind;
	argv += optind;

	explicit_dir = confdir != NULL || getenv("MAIL_CONFIG") != NULL;
	config_init(confdir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	mail_owner_init();
	maillog_init(MAILLOG_FALLBACK | (isatty(2) ? MAILLOG_STDERR : 0));
	msg_set_ident("postfix");
	postfix_compat_notice();
	if (*var_multi_instance_directories && !explicit_dir)
		msg_warn(
		    "multi_instance_directories is set, but Postern manages only the instance in %s",
		    config_dir());
	postfix_environment();

	if (argc > 0 && postfix_creates(argv[0]) &&
	    postfix_perms_create_queue(why) < 0)
		msg_fatal("%s", str_ptr(why));
	if (chdir(var_queue_directory) < 0)
		msg_fatal("chdir(%s): %m", var_queue_directory);

	/* From here on postfix-script speaks. */
	str_fmt(ident, "%s/postfix-script", var_syslog_name);
	msg_set_ident(str_ptr(ident));
	postfix_check_dirs();
	postfix_find_instance();
	str_free(why);
	str_free(ident);
	return postfix_command(argc, argv);
}
