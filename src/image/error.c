/*
 * error.c - error codes: their names, their generic text, and filling an fg_error.
 */
#include "image/error.h"

#include <stdarg.h>
#include <stdio.h>

/* One row per code so the name and the text cannot drift apart. */
static const struct fg_error_desc {
    int code;
    const char *name;
    const char *text;
} fg_error_table[] = {
    {FG_OK, "ok", "success"},
    {FG_ENOMEM, "out_of_memory", "out of memory"},
    {FG_EINVAL, "invalid_argument", "invalid argument"},
    {FG_EIO, "io_error", "file could not be read"},
    {FG_EIMAGE_EMPTY, "empty_image", "the image is empty (0 bytes)"},
    {FG_EIMAGE_FORMAT, "unsupported_image", "not a JPEG, PNG or WebP image"},
    {FG_EIMAGE_CORRUPT, "corrupt_image", "the image data is truncated or corrupt"},
    {FG_EIMAGE_TOO_LARGE, "image_too_large", "the image dimensions exceed the limit"},
    {FG_EMODEL_MISSING, "model_missing", "a model file is missing"},
    {FG_EMODEL_CORRUPT, "model_corrupt", "a model file is corrupt or fails its checksum"},
    {FG_ENN, "inference_failed", "the inference engine failed"},
    {FG_ENOFACE, "no_face", "no face found"},
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
