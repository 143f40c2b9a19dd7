/*
 * postalias - build, query, update and list alias databases (aliases(5)
 * source), as Postfix's postalias; newaliases is this on alias_database.
 * A command run by the administrator; when root it builds as the source
 * file's owner unless -o is given.  Reads main.cf (-c DIR or $MAIL_CONFIG)
 * for default_database_type, smtputf8_enable and myhostname.
 * Besides the aliases it stores "@" -> "@" (Sendmail's "database complete"
 * mark) and the NIS entries YP_LAST_MODIFIED and YP_MASTER_NAME, as
 * Debian's Postfix (built with NIS) does.  The table work is shared with
 * postmap in lib/mail/mkmap.c.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mkmap.h"
#include "postalias/postalias.h"

static struct mkmap_conf conf;

static void __attribute__((noreturn)) usage(void)
{
	msg_fatal(
	    "usage: %s [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
	    msg_program());
}

static void
postalias_line(struct mkmap *m, char *line, const char *path, int lineno)
{
	struct str *key = str_new(100), *value = str_new(100);
	struct str *why = str_new(100);
	int rc;

	if ((rc = postalias_parse(line, key, value, why)) < 0)
		mkmap_warn("%s, line %d: %s", path, lineno, str_ptr(why));
	else if (rc == 0)
		(void)mkmap_append(m, str_ptr(key), str_ptr(value));
	str_free(key);
	str_free(value);
	str_free(why);
}

/*
 * The signatures Postfix appends: "@" with the table's NUL convention
 * (replacing an old one on -i), then the NIS entries without NUL and
 * without case folding.
 */
static void
postalias_end(struct mkmap *m, int open_flags)
{
	struct str *stamp = str_new(20);

	if ((open_flags & O_TRUNC) == 0) {
		m->dict->flags &= ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE);
		m->dict->flags |= DICT_FLAG_DUP_REPLACE;
		m->dup_flags = DICT_FLAG_DUP_REPLACE;
	}
	(void)mkmap_append(m, "@", "@");
	m->dict->flags &= ~(DICT_FLAG_TRY1NULL | DICT_FLAG_FOLD_FIX);
	m->dict->flags |= DICT_FLAG_TRY0NULL;
	str_fmt(stamp, "%010ld", (long)time(NULL));
	(void)mkmap_append(m, "YP_LAST_MODIFIED", str_ptr(stamp));
	(void)mkmap_append(m, "YP_MASTER_NAME", conf.myhostname);
	str_free(stamp);
}

int
main(int argc, char **argv)
{
	struct mkmap_opts o;
	int ch;
	char *type, *name;

	mkmap_init(argv, &o);

	while ((ch = getopt(argc, argv, "Nc:d:finopq:rsuvw")) > 0) {
		if (!mkmap_option(ch, optarg, &o))
			usage();
	}
	mkmap_config(o.confdir, &conf);
	if (o.utf8_off)
		conf.utf8 = false;

	/* Without -N or -n, read both forms; write with the NUL (Linux). */
	if (o.delkey || o.query || o.sequence) {
		if (optind + 1 > argc && (o.delkey || o.query))
			usage();
		exit(mkmap_run(o.delkey, o.query, argv + optind, argc - optind,
		    conf.db_type, o.dict_flags | mkmap_read_flags(o.nul_flags),
		    conf.utf8, ":\t"));
	}
	if (optind + 1 > argc)
		usage();
	o.dict_flags |= o.nul_flags ? o.nul_flags : DICT_FLAG_TRY1NULL;
	for (; optind < argc; optind++) {
		mkmap_split(argv[optind], conf.db_type, &type, &name);
		mkmap_build(type, name, o.build_flags, o.open_flags, o.dict_flags,
		    conf.utf8, postalias_line, postalias_end);
		free(type);
		free(name);
	}
	exit(0);
}
