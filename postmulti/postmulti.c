/*
 * postmulti - Postfix's multi-instance manager, reduced to the one
 * instance Postern runs: "postmulti -i - -p start|stop|reload|status"
 * (what Debian's postfix@.service and init script run), -x, and -l.
 * Run by root (or anyone for -l and -x); reads the instance's main.cf.
 * -p runs $command_directory/postfix (else the postfix beside this
 * program) with the given command; -x runs any command; both with
 * MAIL_CONFIG and the instance's directories in the environment and
 * command_directory first in PATH, as Postfix's postmulti does.  Life-cycle
 * management (-e create, import, destroy, ...) is refused: Postern
 * supports only the default instance.
 *
 * Option syntax and texts are Postfix 3.7's (observed with Debian's
 * postmulti): "Specify exactly one of '-e', '-l', '-p', '-x'", "Command
 * required with '-p' or '-x' option", "No matching instances"; like
 * Postfix, a non-default MAIL_CONFIG is refused.  Addition: -c DIR selects
 * the instance's configuration directory (Postfix's postmulti has no -c;
 * tests and private instances need one).  Messages go to stderr only when
 * it is a terminal, and to the log.
 */
#include <sys/wait.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/config.h"
#include "lib/mail/maillog.h"
#include "lib/mail/params.h"

enum postmulti_mode { PM_NONE, PM_EDIT, PM_LIST, PM_POSTFIX, PM_EXEC };

static const char *const postmulti_actions[] = { "create", "destroy", "import",
	"deport", "enable", "disable", "assign", "init" };

static void __attribute__((noreturn)) postmulti_usage(void)
{
	const char *p = msg_program();

	msg_fatal(
	    "Usage:%s -l [-v] [-a] [-g group] [-i instance] | %s -p [-v] [-a] [-g group] [-i instance] command... | %s -x [-v] [-a] [-i name] [-g group] command... | %s -e action [-v] [-a] [-i name] [-g group] [-I name] [-G group] [param=value ...]",
	    p, p, p, p);
}

static void
postmulti_set_mode(enum postmulti_mode *mode, enum postmulti_mode want)
{
	if (*mode != PM_NONE && *mode != want)
		msg_fatal("Specify exactly one of '-e', '-l', '-p', '-x'");
	*mode = want;
}

/* -e ACTION: name Postfix's actions, then say why Postern has none. */
static void __attribute__((noreturn)) postmulti_edit(const char *action)
{
	size_t n = sizeof(postmulti_actions) / sizeof(postmulti_actions[0]);

	for (size_t i = 0; i < n; i++)
		if (strcmp(action, postmulti_actions[i]) == 0)
			msg_fatal(
			    "'-e %s': Postern supports only the default instance; multi-instance management is not available",
			    action);
	msg_fatal(
	    "Invalid '-e' edit action '%s'. Specify 'create', 'destroy', 'import', 'deport', 'enable', 'disable', 'assign' or 'init'",
	    action);
}

/*
 * Does -i NAME or -g GROUP select this (the primary) instance?  "-" and
 * the config directory name it, and so does its multi_instance_name.  A
 * secondary instance of a Postfix multi-instance setup is refused loudly.
 */
static void
postmulti_select(const char *name, const char *group)
{
	struct str *list = str_new(100);
	const char *p;
	size_t n;

	if (name) {
		if (strcmp(name, "-") == 0 || strcmp(name, config_dir()) == 0 ||
		    (*var_multi_instance_name &&
			strcmp(name, var_multi_instance_name) == 0))
			goto out;
		str_set(list, var_multi_instance_directories);
		for (p = str_ptr(list); *(p += strspn(p, ", \t\r\n")); p += n) {
			n = strcspn(p, ", \t\r\n");
			if (strlen(name) == n && strncmp(p, name, n) == 0)
				msg_fatal(
				    "instance %s: Postern supports only the default instance",
				    name);
		}
		msg_fatal("No matching instances");
	}
	if (group && strcmp(group, var_multi_instance_group) != 0)
		msg_fatal("No matching instances");
out:
	str_free(list);
}

/* What postmulti exports for an instance, and command_directory in PATH. */
static void
postmulti_environment(void)
{
	struct str *path = str_new(200);
	const char *old = getenv("PATH");

	if (msg_verbose)
		setenv("MAIL_VERBOSE", "", 1);
	setenv("MAIL_LOGTAG", var_syslog_name, 1);
	setenv("MAIL_CONFIG", config_dir(), 1);
	setenv("daemon_directory", var_daemon_directory, 1);
	setenv("command_directory", var_command_directory, 1);
	setenv("config_directory", config_dir(), 1);
	setenv("queue_directory", var_queue_directory, 1);
	setenv("data_directory", var_data_directory, 1);
	setenv("multi_instance_name", var_multi_instance_name, 1);
	setenv("multi_instance_group", var_multi_instance_group, 1);
	/* The primary instance is always enabled. */
	setenv("multi_instance_enable", "yes", 1);
	str_set(path, var_command_directory);
	if (old && *old) {
		str_catc(path, ':');
		str_cat(path, old);
	}
	setenv("PATH", str_ptr(path), 1);
	str_free(path);
}

/* $command_directory/postfix, else the postfix installed beside us. */
static char *
postmulti_postfix_path(void)
{
	struct str *path = str_new(100);
	char *self, *slash;

	str_fmt(path, "%s/postfix", var_command_directory);
	if (access(str_ptr(path), X_OK) == 0)
		return str_steal(path);
	if ((self = realpath("/proc/self/exe", NULL)) != NULL &&
	    (slash = strrchr(self, '/')) != NULL) {
		*slash = 0;
		str_fmt(path, "%s/postfix", self);
		free(self);
		if (access(str_ptr(path), X_OK) == 0)
			return str_steal(path);
	} else {
		free(self);
	}
	str_fmt(path, "%s/postfix", var_command_directory);
	return str_steal(path);
}

/* Run the command, wait; like Postfix, any failure is exit status 1. */
static int
postmulti_run(const char *file, char **args)
{
	int status;
	pid_t pid;

	if (msg_verbose)
		msg_info("%s: running %s", config_dir(), file);
	fflush(NULL);
	if ((pid = fork()) < 0)
		msg_fatal("fork %s: %m", file);
	if (pid == 0) {
		if (strchr(file, '/'))
			execv(file, args);
		else
			execvp(file, args);
		msg_fatal("execvp %s: %m", file);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			msg_fatal("waitpid: %m");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* -p: "postfix COMMAND..." with argv[0] "postfix", as execvp gives it. */
static int
postmulti_postfix(char **cmd)
{
	char **args, *postfix;
	size_t n = 0;
	int rc;

	while (cmd[n])
		n++;
	args = xcalloc(n + 2, sizeof(*args));
	args[0] = xstrdup("postfix");
	for (size_t i = 0; i < n; i++)
		args[i + 1] = cmd[i];
	postfix = postmulti_postfix_path();
	rc = postmulti_run(postfix, args);
	free(args[0]);
	free(args);
	free(postfix);
	return rc;
}

int
main(int argc, char **argv)
{
	enum postmulti_mode mode = PM_NONE;
	const char *confdir = NULL, *name = NULL, *group = NULL;
	const char *action = NULL, *env_dir;
	const struct param *def;
	bool reverse = false, assign = false;
	struct str *why = str_new(100);
	char **cmd;
	int ch;

	msg_init(argv[0]);
	msg_stderr(isatty(2));
	(void)msg_syslog(NULL, "mail");
	while ((ch = getopt(argc, argv, "+ac:e:g:i:G:I:lpRvx")) != -1) {
		switch (ch) {
		case 'a':
			break;
		case 'c':
			confdir = optarg;
			break;
		case 'e':
			postmulti_set_mode(&mode, PM_EDIT);
			action = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'i':
			name = optarg;
			break;
		case 'G':
		case 'I':
			assign = true;
			break;
		case 'l':
			postmulti_set_mode(&mode, PM_LIST);
			break;
		case 'p':
			postmulti_set_mode(&mode, PM_POSTFIX);
			break;
		case 'R':
			reverse = true;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'x':
			postmulti_set_mode(&mode, PM_EXEC);
			break;
		default:
			postmulti_usage();
		}
	}
	cmd = argv + optind;

	/* Postfix's checks, in its order. */
	if (mode == PM_NONE)
		msg_fatal("Specify exactly one of '-e', '-l', '-p', '-x'");
	if (reverse && (mode == PM_POSTFIX || mode == PM_EDIT))
		msg_fatal("The '-p' and '-e' options preclude the use of '-R'");
	if (assign && mode != PM_EDIT)
		msg_fatal(
		    "Cannot assign instance name or group without '-e assign'");
	if ((mode == PM_POSTFIX || mode == PM_EXEC) && *cmd == NULL)
		msg_fatal("Command required with '-p' or '-x' option");
	if (mode == PM_LIST && *cmd != NULL)
		msg_fatal("Command not allowed with '-l'");
	if (mode == PM_EDIT)
		postmulti_edit(action);

	/* The primary instance: -c, else the default (MAIL_CONFIG must agree). */
	def = params_find("config_directory");
	if (confdir == NULL && (env_dir = getenv("MAIL_CONFIG")) != NULL &&
	    strcmp(env_dir, def ? params_default(def) : DEF_CONFIG_DIR) != 0)
		msg_fatal("Non-default configuration directory: MAIL_CONFIG=%s",
		    env_dir);
	config_init(confdir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();
	maillog_init(isatty(2) ? MAILLOG_STDERR : 0);
	str_free(why);
	postmulti_select(name, group);

	if (mode == PM_LIST) {
		printf("%-15s %-15s %-9s %s\n",
		    *var_multi_instance_name ? var_multi_instance_name : "-",
		    *var_multi_instance_group ? var_multi_instance_group : "-",
		    "y", config_dir());
		return 0;
	}
	postmulti_environment();
	if (mode == PM_EXEC)
		return postmulti_run(cmd[0], cmd);
	return postmulti_postfix(cmd);
}
