/*
 * postcat - show the contents of queue files, as Postfix's postcat.
 * A command run by the administrator (root, to read the queue).
 * Reads main.cf (-c DIR or $MAIL_CONFIG) for queue_directory and the
 * hash_queue_* settings; reads the named files, stdin, or with -q the
 * queue files of the given IDs (maildrop incoming active deferred hold
 * saved corrupt, in that order), never following a symbolic link there.
 * Writes the records to stdout with Postfix's section markers and record
 * names; a corrupt file (truncated, bad record, no end record) gets a
 * message naming the file and exit status 1.
 * Every record length is bounded by POSTCAT_RECORD_MAX before reading.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/msg.h"
#include "lib/util/str.h"
#include "lib/util/stream.h"
#include "lib/mail/config.h"
#include "lib/mail/params.h"
#include "lib/mail/queue.h"
#include "lib/mail/record.h"

/* Longest record shown; cleanup writes far shorter ones. */
#define POSTCAT_RECORD_MAX (16 * 1024 * 1024)

#define PC_ENV     (1 << 0) /* -e */
#define PC_HEADER  (1 << 1) /* -h */
#define PC_BODY    (1 << 2) /* -b */
#define PC_OFFSET  (1 << 3) /* -o */
#define PC_DECIMAL (1 << 4) /* -d */
#define PC_VERBOSE (1 << 5) /* -v: name content records */

/* Where postcat -q looks, in Postfix 3.7's order (observed), then corrupt. */
static const char *const postcat_queues[] = { QUEUE_MAILDROP, QUEUE_INCOMING,
	QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_SAVED, QUEUE_CORRUPT };

enum segment { SEG_ENV, SEG_CONTENT, SEG_EXTRACTED };

struct postcat {
	const char *name; /* as shown in the markers */
	int flags;
	long offset; /* of the current record */
	enum segment seg;
	bool in_header;    /* content: still in the message header */
	bool line_open;    /* content: the last record was an L piece */
	bool line_started; /* content: this logical line began */
	bool show_line;    /* content: show the current logical line */
};

static void __attribute__((noreturn)) usage(const char *argv0)
{
	msg_fatal("usage: %s [-b (body text)] [-c config_dir] "
		  "[-d (decimal record type)] [-e (envelope records)] "
		  "[-h (header text)] [-q (access queue)] [-v] [file(s)...]",
	    argv0);
}

static void
postcat_out(const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, stdout) != n)
		msg_fatal("write error: %m");
}

static void
postcat_puts(const char *s)
{
	postcat_out(s, strlen(s));
}

/* The -o and -d prefixes of a line. */
static void
postcat_prefix(struct postcat *pc, int type)
{
	if (pc->flags & PC_OFFSET)
		printf("%9ld ", pc->offset);
	if (pc->flags & PC_DECIMAL)
		printf("%3d ", type);
}

static void
postcat_marker(struct postcat *pc, int type, const char *what)
{
	if (!(pc->flags & PC_ENV))
		return;
	if (type != 0)
		postcat_prefix(pc, type);
	printf("*** %s %s ***\n", what, pc->name);
}

/* A time as Postfix shows it: asctime() of the local time. */
static void
postcat_time(const char *label, const char *data)
{
	char buf[64];
	struct tm tm;
	time_t t = (time_t)atol(data);

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(buf, sizeof(buf), "%ld", (long)t);
	printf("%s: %s\n", label, buf);
}

/* "name=value" with blanks around both removed; NULL when malformed. */
static const char *
postcat_attr(struct postcat *pc, struct str *data, struct str *name,
    struct str *value)
{
	const char *eq = memchr(str_ptr(data), '=', str_len(data));

	fflush(stdout); /* keep warnings in place on a shared terminal */
	if (eq == NULL) {
		msg_warn("%s: malformed attribute: missing '=' after attribute "
			 "name: %s",
		    pc->name, str_ptr(data));
		return NULL;
	}
	str_setn(name, str_ptr(data), (size_t)(eq - str_ptr(data)));
	str_trim(name);
	str_set(value, eq + 1);
	str_trim(value);
	if (str_len(name) == 0) {
		msg_warn("%s: malformed attribute: missing attribute name: %s",
		    pc->name, str_ptr(data));
		return NULL;
	}
	return str_ptr(name);
}

/* An envelope or extracted record as "name: value". */
static void
postcat_env(struct postcat *pc, int type, struct str *data)
{
	struct str *name, *value;
	struct queue_size sz;

	if (!(pc->flags & PC_ENV))
		return;
	switch (type) {
	case REC_TYPE_VERSION:
		/* Ours, not Postfix's: shown only with -v. */
		if (!(pc->flags & PC_VERBOSE))
			return;
		break;
	case REC_TYPE_TIME:
	case REC_TYPE_WARN:
		postcat_prefix(pc, type);
		postcat_time(rec_name(type), str_ptr(data));
		return;
	case REC_TYPE_ATTR:
		name = str_new(50);
		value = str_new(50);
		if (postcat_attr(pc, data, name, value) != NULL) {
			postcat_prefix(pc, type);
			if (strcmp(str_ptr(name), "create_time") == 0)
				postcat_time("create_time", str_ptr(value));
			else
				printf("%s: %s=%s\n", rec_name(type),
				    str_ptr(name), str_ptr(value));
		}
		str_free(name);
		str_free(value);
		return;
	}
	postcat_prefix(pc, type);
	printf("%s: ", rec_name(type));
	postcat_out(str_ptr(data), str_len(data));
	postcat_puts("\n");
	if (type == REC_TYPE_SIZE && queue_size_parse(str_ptr(data), &sz) < 0) {
		fflush(stdout);
		msg_warn("invalid size record: %s", str_ptr(data));
	}
}

/* Does a header line start here ("Name:" or "Name :")? */
static bool
postcat_is_header(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < len && p[i] == ':';
}

/* A content record: N is a whole line, L a piece of a longer one. */
static void
postcat_text(struct postcat *pc, int type, struct str *data)
{
	bool each_line = (pc->flags & (PC_OFFSET | PC_VERBOSE)) != 0;

	if (!pc->line_open) {
		/* A new logical line: does the header end here? */
		if (pc->in_header &&
		    (str_len(data) == 0 ||
			(str_ptr(data)[0] != ' ' && str_ptr(data)[0] != '\t' &&
			    !postcat_is_header(str_ptr(data), str_len(data)))))
			pc->in_header = false;
		pc->show_line = pc->in_header ? (pc->flags & PC_HEADER) != 0
					      : (pc->flags & PC_BODY) != 0;
	}
	pc->line_open = type == REC_TYPE_CONT;
	if (!pc->show_line)
		return;
	if (each_line || !pc->line_started)
		postcat_prefix(pc, type);
	if (pc->flags & PC_VERBOSE)
		printf("%s: ", type == REC_TYPE_CONT ? "unterminated_text"
						     : "regular_text");
	postcat_out(str_ptr(data), str_len(data));
	pc->line_started = pc->line_open && !each_line;
	if (!pc->line_open || each_line)
		postcat_puts("\n");
}

/* Why a record could not be read, in Postfix's words where it has them. */
static void __attribute__((noreturn))
postcat_bad_record(struct postcat *pc, int rc, const struct rec_meta *m)
{
	fflush(stdout);
	switch (rc) {
	case REC_TRUNC:
		if (m->bytes > 1 && m->len > 0)
			msg_warn("%s: unexpected EOF in data, record type %d "
				 "length %zu",
			    pc->name, m->type, m->len);
		else
			msg_warn("%s: unexpected EOF in length, record type %d",
			    pc->name, m->type);
		break;
	case REC_TOOLONG:
		if (m->len == 0)
			msg_warn("%s: too many length bits, record type %d",
			    pc->name, m->type);
		else
			msg_warn("%s: record too long, record type %d length "
				 "%zu (limit %d)",
			    pc->name, m->type, m->len, POSTCAT_RECORD_MAX);
		break;
	case REC_BADTYPE:
		msg_warn("%s: unknown record type %d at offset %ld", pc->name,
		    m->type, pc->offset);
		break;
	default:
		msg_warn("%s: read error: %m", pc->name);
		break;
	}
	msg_fatal("record read error");
}

/* Show one queue file; returns only when it is well-formed. */
static void
postcat_file(int fd, const char *name, int flags, long start)
{
	struct postcat pc = { name, flags, start, SEG_ENV, true, false, false,
		true };
	struct stream *st = stream_open(fd);
	struct str *data = str_new(1000);
	struct rec_meta m;
	bool first = start == 0;
	int type;

	if (start == 0)
		postcat_marker(&pc, 0, "ENVELOPE RECORDS");
	for (;;) {
		type = rec_get_meta(st, data, POSTCAT_RECORD_MAX, &m);
		if (type == REC_EOF) {
			fflush(stdout);
			msg_fatal("%s: no end record: the file is truncated or "
				  "incomplete",
			    name);
		}
		if (type < 0)
			postcat_bad_record(&pc, type, &m);
		if (first && type == REC_TYPE_VERSION &&
		    strcmp(str_ptr(data), QUEUE_FORMAT) != 0) {
			fflush(stdout);
			msg_fatal("%s: unsupported queue file format: %s", name,
			    str_ptr(data));
		}
		first = false;
		if (type == REC_TYPE_MESG) {
			postcat_marker(&pc, type, "MESSAGE CONTENTS");
			pc.seg = SEG_CONTENT;
		} else if (type == REC_TYPE_XTRA) {
			postcat_marker(&pc, type, "HEADER EXTRACTED");
			pc.seg = SEG_EXTRACTED;
		} else if (type == REC_TYPE_END) {
			postcat_marker(&pc, type, "MESSAGE FILE END");
			pc.offset += (long)m.bytes;
			break;
		} else if (type == REC_TYPE_NORM ||
			   (type == REC_TYPE_CONT && pc.seg == SEG_CONTENT)) {
			postcat_text(&pc, type, data);
		} else {
			postcat_env(&pc, type, data);
		}
		pc.offset += (long)m.bytes;
	}
	/* Our format ends at E; anything after it is damage. */
	if (rec_get_meta(st, data, POSTCAT_RECORD_MAX, &m) != REC_EOF) {
		fflush(stdout);
		msg_fatal("%s: data after the end record at offset %ld", name,
		    pc.offset);
	}
	str_free(data);
	stream_close(st);
}

/* Open QUEUE/ID in the first queue that has it, without following links. */
static int
postcat_open_queue(const char *id, struct str *name)
{
	int fd;

	if (!queue_id_ok(id))
		msg_fatal("bad mail queue ID: %s", id);
	for (size_t i = 0;
	     i < sizeof(postcat_queues) / sizeof(postcat_queues[0]); i++) {
		queue_path(name, postcat_queues[i], id);
		fd = open(str_ptr(name),
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT)
			msg_fatal("open queue file %s: %m", str_ptr(name));
	}
	errno = ENOENT;
	msg_fatal("open queue file %s: %m", id);
}

/* Only regular files: never wait on a FIFO or read a device. */
static void
postcat_check_file(int fd, const char *name)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		msg_fatal("fstat %s: %m", name);
	if (!S_ISREG(st.st_mode))
		msg_fatal("%s: not a regular file", name);
}

int
main(int argc, char **argv)
{
	struct str *why = str_new(100), *name = str_new(100);
	const char *dir = NULL;
	char *end;
	bool by_id = false;
	long start = 0;
	int flags = 0, ch, fd;

	msg_init(argv[0]);
	while ((ch = getopt(argc, argv, "bc:dehoqrs:v")) > 0) {
		switch (ch) {
		case 'b':
			flags |= PC_BODY;
			break;
		case 'c':
			dir = optarg;
			break;
		case 'd':
			flags |= PC_DECIMAL;
			break;
		case 'e':
			flags |= PC_ENV;
			break;
		case 'h':
			flags |= PC_HEADER;
			break;
		case 'o':
			flags |= PC_OFFSET;
			break;
		case 'q':
			by_id = true;
			break;
		case 'r':
			/* Records are always shown in file order: no pointers. */
			break;
		case 's':
			errno = 0;
			start = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    start < 0)
				msg_fatal("bad offset: %s", optarg);
			break;
		case 'v':
			msg_verbose++;
			flags |= PC_VERBOSE;
			break;
		default:
			usage(argv[0]);
		}
	}
	if ((flags & (PC_ENV | PC_HEADER | PC_BODY)) == 0)
		flags |= PC_ENV | PC_HEADER | PC_BODY;

	config_init(dir);
	if (config_read(why) < 0)
		msg_fatal("%s", str_ptr(why));
	params_load();

	if (by_id) {
		if (chdir(var_queue_directory) < 0)
			msg_fatal("chdir %s: %m", var_queue_directory);
		for (; optind < argc; optind++) {
			fd = postcat_open_queue(argv[optind], name);
			postcat_check_file(fd, str_ptr(name));
			if (start > 0 && lseek(fd, start, SEEK_SET) < 0)
				msg_fatal("seek %s: %m", str_ptr(name));
			postcat_file(fd, str_ptr(name), flags, start);
		}
	} else if (optind == argc) {
		if (start > 0 && lseek(0, start, SEEK_SET) < 0)
			msg_fatal("seek stdin: %m");
		postcat_file(dup(0), "stdin", flags, start);
	} else {
		for (; optind < argc; optind++) {
			if ((fd = open(argv[optind],
				 O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
				msg_fatal("open %s: %m", argv[optind]);
			postcat_check_file(fd, argv[optind]);
			if (start > 0 && lseek(fd, start, SEEK_SET) < 0)
				msg_fatal("seek %s: %m", argv[optind]);
			postcat_file(fd, argv[optind], flags, start);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		msg_fatal("write error: %m");
	str_free(why);
	str_free(name);
	return 0;
}
