/*
 * error.c - error codes: their names and generic text (from facegate.h's FG_ERRNO_MAP), and
 * filling an fg_error.
 */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct fg_error_desc {
    int code;
    const char *name;
    const char *text;
} fg_error_table[] = {
#define FG_ERROR_ROW_(symbol, value, name, text) {symbol, name, text},
    FG_ERRNO_MAP(FG_ERROR_ROW_)
#undef FG_ERROR_ROW_
};

static const struct fg_error_desc *fg_error_find(int code)
{
    for (size_t i = 0; i < sizeof fg_error_table / sizeof fg_error_table[0]; i++)
        if (fg_error_table[i].code == code) return &fg_error_table[i];
    return NULL;
}

const char *fg_strerror(int code)
{
    const struct fg_error_desc *d = fg_error_find(code);
    return d ? d->text : "unknown error";
}

const char *fg_error_name(int code)
{
    const struct fg_error_desc *d = fg_error_find(code);
    return d ? d->name : "unknown_error";
}

static void fg_set_error_va(fg_error *err, int code, const char *fmt, va_list ap)
{
    if (!err) return;
    err->code = code;
    /* vsnprintf truncates and always terminates; a truncated message is still useful. */
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) < 0) err->message[0] = '\0';
}

void fg_set_error(fg_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fg_set_error_va(err, code, fmt, ap);
    va_end(ap);
}

int fg_fail(fg_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fg_set_error_va(err, code, fmt, ap);
    va_end(ap);
    return code;
}
