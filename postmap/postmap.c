/*
 * postmap - build, query, update and list lookup tables, as Postfix's.
 * A command run by the administrator (as root or as the table's owner);
 * when root it builds as the source file's owner unless -o is given.
 * Reads main.cf (-c DIR or $MAIL_CONFIG) for default_database_type and
 * smtputf8_enable; reads the source file, or stdin for -i, -q - and -d -.
 * Writes "FILE.db" through a temporary file renamed into place
 * (lib/mail/mkmap.c), answers on stdout, complains on stderr.
 * Exit 0 on success and for a key found, 1 otherwise, as Postfix.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util/dict.h"
#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/mail/mkmap.h"

#define POSTMAP_HEADER (1 << 0) /* -h: header lines are keys */
#define POSTMAP_BODY   (1 << 1) /* -b: body lines are keys */
#define POSTMAP_MIME   (1 << 2) /* -m: MIME parsing */

/* -F: source values name files whose contents are stored in base64. */
static bool file_values;

static void __attribute__((noreturn)) usage(void)
{
	msg_fatal(
	    "usage: %s [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
	    msg_program());
}

/* One postmap(1) source line: "key whitespace value". */
static void
postmap_line(struct mkmap *m, char *line, const char *path, int lineno)
{
	struct str *why = str_new(100);
	char *key, *value;

	if (mkmap_parse_line(line, &key, &value, why) < 0) {
		mkmap_warn("%s, line %d: %s", path, lineno, str_ptr(why));
		str_free(why);
		return;
	}
	if (key[strlen(key) - 1] == ':')
		mkmap_warn(
		    "%s, line %d: record is in \"key: value\" format; is this an alias file?",
		    path, lineno);
	if (file_values) {
		struct str *b64 = str_new(1000);

		if (mkmap_file_to_b64(value, b64, why) < 0)
			mkmap_warn("%s, line %d: %s: skipping this entry", path,
			    lineno, str_ptr(why));
		else
			(void)mkmap_append(m, key, str_ptr(b64));
		str_free(b64);
	} else {
		(void)mkmap_append(m, key, value);
	}
	str_free(why);
}

/*
 * A header name as Postfix's is_header() sees it: printable ASCII other
 * than ':' and space, optional blanks, then ':'.
 */
static bool
postmap_is_header(const char *s)
{
	const char *p = s;

	while (*p > 32 && *p < 127 && *p != ':')
		p++;
	if (p == s)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == ':';
}

/*
 * -q - with -h or -b: the message on stdin yields the keys, each logical
 * header (continuation lines joined with newlines) or each body line,
 * looked up in the tables in order.  This is Postfix's non-MIME mode; -m
 * (MIME structure) is not implemented and only draws a warning.
 */
static int
postmap_message(char **specs, int count, const char *deftype, int flags,
    int dict_flags, bool utf8)
{
	struct str *line = str_new(1000), *header = str_new(1000);
	struct mkmap_batch *b;
	bool in_header = true, found = false, eof;
	int c;

	b = mkmap_batch_new(specs, count, deftype, dict_flags, utf8);
	for (;;) {
		str_reset(line);
		while ((c = getchar()) != EOF && c != '\n')
			str_catc(line, c);
		eof = c == EOF && str_len(line) == 0;
		if (in_header) {
			if (!eof && str_len(header) > 0 &&
			    (str_ptr(line)[0] == ' ' ||
				str_ptr(line)[0] == '\t')) {
				str_catc(header, '\n');
				str_catn(header, str_ptr(line), str_len(line));
				continue;
			}
			if (str_len(header) > 0 && (flags & POSTMAP_HEADER))
				found |=
				    mkmap_batch_query(b, str_ptr(header), "\t");
			str_reset(header);
			if (eof)
				break;
			if (postmap_is_header(str_ptr(line))) {
				str_set(header, str_ptr(line));
				continue;
			}
			/*
			 * The first non-header line ends the headers.  Postfix
			 * hands the body an empty separator line first, also
			 * when the message has none.
			 */
			in_header = false;
			if ((flags & POSTMAP_BODY) == 0)
				break;
			found |= mkmap_batch_query(b, "", "\t");
			if (str_len(line) == 0)
				continue;
		}
		if (eof)
			break;
		found |= mkmap_batch_query(b, str_ptr(line), "\t");
	}
	mkmap_batch_free(b);
	str_free(line);
	str_free(header);
	return found;
}

int
main(int argc, char **argv)
{
	struct mkmap_conf conf;
	struct mkmap_opts o;
	int flags = 0, ch;
	bool force_utf8 = false;
	char *type, *name;

	mkmap_init(argv, &o);

	while ((ch = getopt(argc, argv, "bc:d:fFhimnNopq:rsuUvw")) > 0) {
		if (mkmap_option(ch, optarg, &o))
			continue;
		switch (ch) {
		case 'b':
			flags |= POSTMAP_BODY;
			break;
		case 'F':
			file_values = true;
			mkmap_set_base64(true);
			break;
		case 'h':
			flags |= POSTMAP_HEADER;
			break;
		case 'm':
			flags |= POSTMAP_MIME;
			break;
		case 'U':
			force_utf8 = true;
			break;
		default:
			usage();
		}
	}
	mkmap_config(o.confdir, &conf);
	if ((o.query == NULL || strcmp(o.query, "-") != 0) && flags)
		msg_fatal("specify -b -h or -m only with \"-q -\"");
	if (flags == POSTMAP_MIME)
		mkmap_warn("ignoring -m option without -b or -h");
	else if (flags & POSTMAP_MIME)
		mkmap_warn(
		    "-m: MIME parsing is not implemented; treating the input as one plain message");
	/* Postfix: -b and -h turn UTF-8 checks off unless -U forces them. */
	if (o.utf8_off ||
	    ((flags & (POSTMAP_HEADER | POSTMAP_BODY)) && !force_utf8))
		conf.utf8 = false;

	/* Without -N or -n, read both forms; write with the NUL (Linux). */
	if (o.delkey || o.query || o.sequence) {
		if (optind + 1 > argc && (o.delkey || o.query))
			usage();
		o.dict_flags |= mkmap_read_flags(o.nul_flags);
		if (o.query && strcmp(o.query, "-") == 0 && (flags & ~POSTMAP_MIME))
			exit(!postmap_message(argv + optind, argc - optind,
			    conf.db_type, flags, o.dict_flags, conf.utf8));
		exit(mkmap_run(o.delkey, o.query, argv + optind, argc - optind,
		    conf.db_type, o.dict_flags, conf.utf8, "\t"));
	}
	if (optind + 1 > argc)
		usage();
	o.dict_flags |= o.nul_flags ? o.nul_flags : DICT_FLAG_TRY1NULL;
	for (; optind < argc; optind++) {
		mkmap_split(argv[optind], conf.db_type, &type, &name);
		mkmap_build(type, name, o.build_flags, o.open_flags, o.dict_flags,
		    conf.utf8, postmap_line, NULL);
		free(type);
		free(name);
	}
	exit(0);
}
