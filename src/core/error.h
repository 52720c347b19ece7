/*
 * error.h - filling an fg_error (internal to libfacegate; every module uses it).
 */
#ifndef FG_CORE_ERROR_H
#define FG_CORE_ERROR_H

#include "facegate.h"

/* Sets err->code and formats err->message (truncated to fit). No-op when err is NULL. */
void fg_set_error(fg_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same as fg_set_error, and returns code: `return fg_fail(err, FG_EINVAL, "...", ...);`. */
int fg_fail(fg_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
