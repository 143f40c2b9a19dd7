/*
 * fdio - plain descriptor I/O that must not give up half-way.
 *
 * fdio_write(fd, buf, len)   write all len bytes, retrying short writes and
 *                            EINTR: 0, or -1 with errno
 */
#ifndef FDIO_H
#define FDIO_H

#include <stddef.h>

int fdio_write(int, const void *, size_t);

#endif
