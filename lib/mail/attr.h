/*
 * attr - typed attribute lists, the messages that Postern's own programs
 * exchange over UNIX-domain sockets and pipes (cleanup, trivial-rewrite,
 * postdrop; later qmgr and the delivery agents).
 *
 * attr_new()                     an empty list
 * attr_free(al)                  free (NULL ok); returns NULL
 * attr_reset(al)                 make empty, keep the memory
 * attr_put(al, name, value)      append name=value (a C string)
 * attr_putn(al, name, p, len)    append a binary-safe value
 * attr_put_long(al, name, n)     append a decimal value
 * attr_count(al)                 how many attributes
 * attr_name(al, i), attr_value(al, i), attr_value_len(al, i)  the i-th one
 * attr_get(al, name)             value of the first attribute called name,
 *                                or NULL
 * attr_get_long(al, name, &n)    its value as a decimal number: 0, or -1
 *                                when absent or not a well-formed number
 *                                (sign, digits, nothing else, no overflow)
 * attr_write(st, al)             send the list and its terminator, then
 *                                flush: 0, or -1 on a write error
 * attr_read(st, al, limit)       replace al with the next list read from
 *                                st: 0, or -1 (EOF
 *                                before a list, truncated list, a name or
 *                                value longer than limit, more than
 *                                ATTR_MAX_COUNT attributes, a timeout)
 * attr_expect(al, name, value)   true when attribute name is present with
 *                                exactly value (protocol greetings)
 *
 * Encoding (ours, see COMPAT.md): each attribute is its name, a NUL, its
 * value, a NUL; a list ends with one more NUL (an empty name).  Names are
 * at most ATTR_NAME_MAX bytes of [a-z0-9_]; values are text without NUL
 * (binary values are not carried).  A reader bounds every value by the
 * caller's limit and refuses anything else, so a malformed message ends
 * the conversation instead of being guessed at.
 *
 * Every server speaks first with "protocol=NAME" (cleanup_protocol,
 * rewrite_protocol, postdrop_protocol...), so a client that reached the
 * wrong service notices at once (as Postfix 3.6+ does).
 */
#ifndef ATTR_H
#define ATTR_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util/stream.h"

#define ATTR_NAME_MAX  100
#define ATTR_MAX_COUNT 1024

struct attr_list;

struct attr_list *attr_new(void);
struct attr_list *attr_free(struct attr_list *);
void attr_reset(struct attr_list *);
void attr_put(struct attr_list *, const char *, const char *);
void attr_putn(struct attr_list *, const char *, const char *, size_t);
void attr_put_long(struct attr_list *, const char *, long);
size_t attr_count(const struct attr_list *);
const char *attr_name(const struct attr_list *, size_t);
const char *attr_value(const struct attr_list *, size_t);
size_t attr_value_len(const struct attr_list *, size_t);
const char *attr_get(const struct attr_list *, const char *);
int attr_get_long(const struct attr_list *, const char *, long *)
    __attribute__((warn_unused_result));
int attr_write(struct stream *, const struct attr_list *);
int attr_read(struct stream *, struct attr_list *, size_t)
    __attribute__((warn_unused_result));
bool attr_expect(const struct attr_list *, const char *, const char *);

#endif
