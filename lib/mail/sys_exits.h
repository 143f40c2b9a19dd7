/*
 * sys_exits - what a command's sysexits.h exit status means for a
 * delivery: the DSN status and text Postfix gives each code, shared by the
 * delivery agents that run commands (local, pipe).
 *
 * sys_exits_find(status)   the entry for an exit status, or NULL when it
 *                          is not a sysexits.h code (64..78)
 * sys_exits_soft(entry)    true: the DSN status is 4.x.x (defer)
 */
#ifndef SYS_EXITS_H
#define SYS_EXITS_H

#include <stdbool.h>

struct sys_exit {
	int status;
	const char *dsn;
	const char *text;
};

const struct sys_exit *sys_exits_find(int);
bool sys_exits_soft(const struct sys_exit *);

#endif
