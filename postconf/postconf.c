/*
 * postconf - show and change the Postern (Postfix) configuration.
 * Run by administrators and packaging scripts, any user, never set-id.
 * Reads main.cf and master.cf in $config_directory (-c DIR or MAIL_CONFIG);
 * with -e/-X/-# and -Me/-MX/-M#/-Fe/-Pe/-PX rewrites one of them in
 * place, keeping every untouched line byte for byte.  Its output is
 * Postfix 3.7's, byte for byte: scripts parse it.
 *
 * postconf.c          options, their compatibility rules, dispatch
 * postconf_params.c   the parameter model: built-in, per-service, user
 *                     names; -d, -n, -h, -x, names; unused warnings
 * postconf_master.c   master.cf: -M, -F, -P
 * postconf_edit.c     in-place edits of main.cf and master.cf
 * postconf_print.c    Postfix's line printing (white space, -f folding)
 * postconf_other.c    -m, -l, -a, -A
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/alloc.h"
#include "lib/util/argv.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "postconf/postconf.h"

#ifndef DEF_CONFIG_DIR
#define DEF_CONFIG_DIR "/etc/postfix"
#endif

static char *pc_dir;
static char *pc_main;
static char *pc_mastercf;

/* The option letters, in the order Postfix lists them in its messages. */
static const struct {
	const char *name;
	int mask;
} pc_option_names[] = {
	{ "-a", PC_SASL_SERV },
	{ "-A", PC_SASL_CLNT },
	{ "-b", PC_EXP_DSN },
	{ "-C", PC_PARAM_CLASS },
	{ "-d", PC_SHOW_DEFS },
	{ "-e", PC_EDIT_CONF },
	{ "-f", PC_FOLD_LINE },
	{ "-F", PC_MASTER_FLD },
	{ "-h", PC_HIDE_NAME },
	{ "-H", PC_HIDE_VALUE },
	{ "-l", PC_SHOW_LOCKS },
	{ "-m", PC_SHOW_MAPS },
	{ "-M", PC_MASTER_ENTRY },
	{ "-n", PC_SHOW_NONDEF },
	{ "-o", PC_MAIN_OVER },
	{ "-p", PC_MAIN_PARAM },
	{ "-P", PC_MASTER_PARAM },
	{ "-t", PC_DUMP_DSN },
	{ "-T", PC_SHOW_TLS },
	{ "-x", PC_SHOW_EVAL },
	{ "-X", PC_EDIT_EXCL },
	{ "-#", PC_COMMENT_OUT },
};

#define PC_NOPTIONS (sizeof(pc_option_names) / sizeof(pc_option_names[0]))

#define PC_MAJOR_MODES                                                         \
	(PC_SASL_SERV | PC_SASL_CLNT | PC_EXP_DSN | PC_SHOW_LOCKS |            \
	    PC_SHOW_MAPS | PC_DUMP_DSN | PC_MAIN_PARAM | PC_MASTER_ENTRY |     \
	    PC_MASTER_FLD | PC_MASTER_PARAM | PC_SHOW_TLS)
#define PC_EDITS        (PC_EDIT_CONF | PC_COMMENT_OUT | PC_EDIT_EXCL)
#define PC_MASTER_MODES (PC_MASTER_ENTRY | PC_MASTER_FLD | PC_MASTER_PARAM)

/* Groups of options of which at most one may be given. */
static const int pc_exclusive[] = {
	PC_MAJOR_MODES,
	PC_SHOW_DEFS | PC_EDIT_CONF | PC_SHOW_NONDEF | PC_COMMENT_OUT |
	    PC_EDIT_EXCL,
	PC_FOLD_LINE | PC_EDITS,
	PC_SHOW_EVAL | PC_EDITS,
	PC_MAIN_OVER | PC_SHOW_DEFS | PC_EDITS,
	PC_HIDE_NAME | PC_EDITS | PC_HIDE_VALUE,
	0,
};

/* A mode, and the only options that go with it. */
static const int pc_compatible[][2] = {
	{ PC_SASL_SERV, 0 },
	{ PC_SASL_CLNT, 0 },
	{ PC_EXP_DSN, 0 },
	{ PC_SHOW_LOCKS, 0 },
	{ PC_SHOW_MAPS, 0 },
	{ PC_SHOW_TLS, 0 },
	{ PC_DUMP_DSN, 0 },
	{ PC_MAIN_PARAM, PC_EDITS | PC_FOLD_LINE | PC_HIDE_NAME |
			     PC_PARAM_CLASS | PC_SHOW_EVAL | PC_SHOW_DEFS |
			     PC_SHOW_NONDEF | PC_MAIN_OVER | PC_HIDE_VALUE },
	{ PC_MASTER_ENTRY,
	    PC_EDITS | PC_FOLD_LINE | PC_MAIN_OVER | PC_SHOW_EVAL },
	{ PC_MASTER_FLD, PC_EDIT_CONF | PC_FOLD_LINE | PC_HIDE_NAME |
			     PC_MAIN_OVER | PC_SHOW_EVAL | PC_HIDE_VALUE },
	{ PC_MASTER_PARAM, PC_EDIT_CONF | PC_EDIT_EXCL | PC_FOLD_LINE |
			       PC_HIDE_NAME | PC_MAIN_OVER | PC_SHOW_EVAL |
			       PC_HIDE_VALUE },
	{ PC_PARAM_CLASS, PC_MAIN_PARAM | PC_SHOW_DEFS | PC_SHOW_NONDEF },
	{ 0, 0 },
};

const char *
pc_config_dir(void)
{
	return pc_dir;
}

const char *
pc_main_path(void)
{
	return pc_main;
}

const char *
pc_master_path(void)
{
	return pc_mastercf;
}

/* "-d -n": the names of the options in mask, in Postfix's order. */
static const char *
pc_option_list(struct str *buf, int mask)
{
	str_reset(buf);
	for (size_t i = 0; i < PC_NOPTIONS; i++)
		if (mask & pc_option_names[i].mask)
			str_catfmt(buf, "%s%s", str_len(buf) ? " " : "",
			    pc_option_names[i].name);
	return str_ptr(buf);
}

static void
pc_check_options(int mode)
{
	struct str *a = str_new(50), *b = str_new(50);
	int m, excess;

	for (const int *op = pc_exclusive; *op; op++) {
		m = *op & mode;
		if (m & (m - 1))
			msg_fatal("specify one of %s", pc_option_list(a, m));
	}
	for (size_t i = 0; pc_compatible[i][0]; i++) {
		if ((mode & pc_compatible[i][0]) == 0)
			continue;
		excess = mode & ~(pc_compatible[i][0] | pc_compatible[i][1]);
		if (excess)
			msg_fatal("with option %s, do not specify %s",
			    pc_option_list(a, pc_compatible[i][0]),
			    pc_option_list(b, excess));
	}
	str_free(a);
	str_free(b);
}

/*
 * On a fatal error: leave no temp file, and drop the output still in the
 * buffer, as Postfix's postconf does (its fatal exit does not flush).
 */
static void
pc_cleanup(void)
{
	pc_edit_abort();
	__fpurge(stdout);
}

static void __attribute__((noreturn)) pc_usage(const char *prog)
{
	msg_fatal("usage: %s"
		  " [-a (server SASL types)]"
		  " [-A (client SASL types)]"
		  " [-b (bounce templates)]"
		  " [-c config_dir]"
		  " [-c param_class]"
		  " [-d (parameter defaults)]"
		  " [-e (edit configuration)]"
		  " [-f (fold lines)]"
		  " [-F (master.cf fields)]"
		  " [-h (no names)]"
		  " [-H (no values)]"
		  " [-l (lock types)]"
		  " [-m (map types)]"
		  " [-M (master.cf)]"
		  " [-n (non-default parameters)]"
		  " [-o name=value (override parameter value)]"
		  " [-p (main.cf, default)]"
		  " [-P (master.cf parameters)]"
		  " [-t (bounce templates)]"
		  " [-T compile-version|run-version|public-key-algorithms]"
		  " [-v (verbose)]"
		  " [-x (expand parameter values)]"
		  " [-X (exclude)]"
		  " [-# (comment-out)]"
		  " [name...]",
	    prog);
}

static char *
pc_concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 1);

	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

int
main(int argc, char **argv)
{
	struct argv *overrides = argv_new();
	const char *dir = NULL;
	struct stat st;
	int ch, mode = 0;
	char **names;

	umask(022);
	/* Keep descriptors 0-2 taken, so nothing we open becomes stdout. */
	for (int fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) < 0 && open("/dev/null", O_RDWR) != fd)
			msg_fatal("open /dev/null: %m");
	msg_init(argv[0]);
	msg_cleanup(pc_cleanup);

	/* "+": stop at the first name, as Postfix's getopt does. */
	while (
	    (ch = getopt(argc, argv, "+aAbc:C:deEfFhHlmMno:pPtT:vxX#")) > 0) {
		switch (ch) {
		case 'a':
			mode |= PC_SASL_SERV;
			break;
		case 'A':
			mode |= PC_SASL_CLNT;
			break;
		case 'b':
			mode |= PC_EXP_DSN;
			break;
		case 'c':
			dir = optarg;
			break;
		case 'C':
			mode |= PC_PARAM_CLASS;
			pc_params_class(optarg);
			break;
		case 'd':
			mode |= PC_SHOW_DEFS;
			break;
		case 'e':
			mode |= PC_EDIT_CONF;
			break;
		case 'E':
			break;
		case 'f':
			mode |= PC_FOLD_LINE;
			break;
		case 'F':
			mode |= PC_MASTER_FLD;
			break;
		case '#':
			mode |= PC_COMMENT_OUT;
			break;
		case 'h':
			mode |= PC_HIDE_NAME;
			break;
		case 'H':
			mode |= PC_HIDE_VALUE;
			break;
		case 'l':
			mode |= PC_SHOW_LOCKS;
			break;
		case 'm':
			mode |= PC_SHOW_MAPS;
			break;
		case 'M':
			mode |= PC_MASTER_ENTRY;
			break;
		case 'n':
			mode |= PC_SHOW_NONDEF;
			break;
		case 'o':
			mode |= PC_MAIN_OVER;
			argv_add(overrides, optarg);
			break;
		case 'p':
			mode |= PC_MAIN_PARAM;
			break;
		case 'P':
			mode |= PC_MASTER_PARAM;
			break;
		case 't':
			mode |= PC_DUMP_DSN;
			break;
		case 'T':
			if (mode & PC_SHOW_TLS)
				msg_fatal(
				    "At most one -T <mode> option may be specified");
			mode |= PC_SHOW_TLS;
			break;
		case 'v':
			msg_verbose++;
			break;
		case 'x':
			mode |= PC_SHOW_EVAL;
			break;
		case 'X':
			mode |= PC_EDIT_EXCL;
			break;
		default:
			pc_usage(argv[0]);
		}
	}
	names = argv + optind;

	/* Like Postfix, -c works through MAIL_CONFIG (config_init reads it). */
	if (dir != NULL && setenv("MAIL_CONFIG", dir, 1) < 0)
		msg_fatal("setenv: %m");
	if ((dir = getenv("MAIL_CONFIG")) == NULL || *dir == 0)
		dir = DEF_CONFIG_DIR;
	pc_dir = xstrdup(dir);
	pc_main = pc_concat(pc_dir, "/main.cf");
	pc_mastercf = pc_concat(pc_dir, "/master.cf");

	/* Make the implied options explicit, then check the combination. */
	if ((mode & PC_MAJOR_MODES) == 0)
		mode |= PC_MAIN_PARAM;
	if ((mode & (PC_MAIN_PARAM | PC_MASTER_MODES)) && names[0] &&
	    strchr(names[0], '='))
		mode |= PC_EDIT_CONF;
	pc_check_options(mode);
	if ((mode & PC_EDIT_CONF) && names[0] == NULL)
		msg_fatal("-e requires name=value argument");

	if (mode & (PC_EXP_DSN | PC_DUMP_DSN | PC_SHOW_TLS))
		msg_fatal("options -b, -t and -T are not supported by Postern");
	if (mode & PC_SHOW_MAPS) {
		pc_show_maps();
	} else if (mode & PC_SHOW_LOCKS) {
		pc_show_locks();
	} else if ((mode & PC_MASTER_MODES) && (mode & PC_EDITS) == 0) {
		pc_master_read(true);
		pc_params_init(true, overrides);
		if (mode & PC_MASTER_FLD)
			pc_master_show_fields(mode, names);
		else if (mode & PC_MASTER_PARAM)
			pc_master_show_params(mode, names);
		else
			pc_master_show_entries(mode, names);
		pc_flush();
		pc_params_warn_unused_master();
	} else if (mode & (PC_SASL_SERV | PC_SASL_CLNT)) {
		pc_show_sasl(mode);
	} else if (mode & PC_EDITS) {
		if (names[0] == NULL)
			msg_fatal("missing service argument");
		if (mode & PC_MASTER_MODES)
			pc_edit_master(mode, names);
		else
			pc_edit_main(mode, names);
	} else {
		pc_master_read(false);
		pc_params_init((mode & PC_SHOW_DEFS) == 0, overrides);
		pc_params_show(mode, names);
		pc_flush();
		if ((mode & PC_SHOW_DEFS) == 0) {
			pc_params_warn_unused_main();
			pc_params_warn_unused_master();
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		msg_fatal("write error: %m");
	argv_free(overrides);
	return 0;
}
