/*
 * postalias.h - postalias's own parts.
 *
 * postalias_parse(line, key, value, why)  one aliases(5) logical line to
 *                        key (internal form) and value (external form):
 *                        0 ok, 1 nothing on the line, -1 with why ("need
 *                        name:value pair", "name must be local")
 */
#ifndef POSTALIAS_H
#define POSTALIAS_H

#include "lib/util/str.h"

int postalias_parse(const char *, struct str *, struct str *, struct str *)
    __attribute__((warn_unused_result));

#endif
