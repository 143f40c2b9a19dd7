/* temporary stub until config.c exists */
#include <stdio.h>
#include "postconf/postconf.h"
void pc_params_init(bool a, struct argv *b) { (void)a; (void)b; }
void pc_params_show(int a, char **b) { (void)a; (void)b; }
const char *pc_params_expand(const char *v, const struct mastercf_entry *e) { (void)e; return v; }
void pc_params_warn_unused_main(void) {}
void pc_params_warn_unused_master(void) {}
