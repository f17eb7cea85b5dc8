/*
 * Shared by the two halves of the settings code (config.c: loading,
 * config_check.c: the checks after loading). Private to src/util/.
 */
#ifndef PC_UTIL_CONFIG_INTERNAL_H
#define PC_UTIL_CONFIG_INTERNAL_H

#include <stddef.h>

#include "util/util.h"

/* Formats an error message into err (nothing when err is NULL). */
void
config_errf(char *err, size_t err_len, const char *fmt, ...) PC_PRINTF(3, 4);

#endif
