/*
 * decode.c - fg_image_decode: sniff the format, enforce the size limits, dispatch to a codec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "core/cpu.h"
#include "core/error.h"

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};

fgi_format fgi_sniff(const void *bytes, size_t size)
{
    const uint8_t *b = bytes;
    if (!b) return FGI_FORMAT_UNKNOWN;
    if (size >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) return FGI_FORMAT_JPEG;
    if (size >= 8 && memcmp(b, png_magic, 8) == 0) return FGI_FORMAT_PNG;
    if (size >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return FGI_FORMAT_WEBP;
    return FGI_FORMAT_UNKNOWN;
}

const char *fgi_format_name(fgi_format format)
{
    switch (format) {
    case FGI_FORMAT_JPEG:
        return "JPEG";
    case FGI_FORMAT_PNG:
        return "PNG";
    case FGI_FORMAT_WEBP:
        return "WebP";
    default:
        return "unknown";
    }
}

int fgi_check_dims(uint64_t width, uint64_t height, uint64_t max_pixels, fg_error *err)
{
    if (max_pixels == 0) max_pixels = FG_DEFAULT_MAX_PIXELS;
    if (width == 0 || height == 0)
        return fg_fail(err, FG_EIMAGE_CORRUPT, "image header says %llux%llu: a side is zero",
                       (unsigned long long)width, (unsigned long long)height);
    if (width > FG_MAX_SIDE || height > FG_MAX_SIDE)
        return fg_fail(err, FG_EIMAGE_TOO_LARGE,
                       "image is %llux%llu, larger than the %d-pixel side limit",
                       (unsigned long long)width, (unsigned long long)height, FG_MAX_SIDE);
    /* Both sides are <= FG_MAX_SIDE, so the product cannot overflow 64 bits. */
    uint64_t pixels = width * height;
    if (pixels > max_pixels)
        return fg_fail(err, FG_EIMAGE_TOO_LARGE,
                       "image is %llux%llu (%llu pixels), larger than the %llu-pixel limit",
                       (unsigned long long)width, (unsigned long long)height,
                       (unsigned long long)pixels, (unsigned long long)max_pixels);
    /* 4 bytes per pixel is the most any codec buffer needs (CMYK). */
    if (pixels > SIZE_MAX / 4)
        return fg_fail(err, FG_EIMAGE_TOO_LARGE,
                       "image is %llux%llu, too large for this platform's address space",
                       (unsigned long long)width, (unsigned long long)height);
    return FG_OK;
}

/* Most pixels per byte of file a real picture reaches, per format, with a wide margin: a flat
 * grey 6000x6000 is 170 px/byte as a JPEG at quality 95 and 290 as a PNG; a photo upscaled until
 * it is smooth, 245 as a WebP at quality 0, 40 as a JPEG, under 1 as a PNG. */
static uint64_t max_pixels_per_byte(fgi_format format)
{
    return format == FGI_FORMAT_PNG ? 100 : 1000;
}

int fgi_check_header(fgi_format format, uint64_t width, uint64_t height, size_t file_size,
                     uint64_t max_pixels, fg_error *err)
{
    int rc = fgi_check_dims(width, height, max_pixels, err);
    uint64_t pixels = width * height, ratio = max_pixels_per_byte(format);
    if (rc != FG_OK || pixels <= FGI_BOMB_MIN_PIXELS) return rc;
    if (file_size == 0 || pixels / ratio > file_size)
        return fg_fail(err, FG_EIMAGE_TOO_LARGE,
                       "%s header claims %llux%llu pixels from %zu bytes: more than %llu pixels "
                       "per byte, a decompression bomb, not a photo",
                       fgi_format_name(format), (unsigned long long)width,
                       (unsigned long long)height, file_size, (unsigned long long)ratio);
    return FG_OK;
}

int fgi_scaled_size(int width, int height, int need_side, int *out_w, int *out_h)
{
    int longer = width > height ? width : height, n = 8;
    while (need_side > 0 && n > 1 && ((int64_t)longer * (n - 1) + 7) / 8 >= need_side)
        n--;
    *out_w = (int)(((int64_t)width * n + 7) / 8);
    *out_h = (int)(((int64_t)height * n + 7) / 8);
    return n;
}

uint8_t *fgi_pixels_alloc(int width, int height, int channels)
{
    return fg_alloc_lines((size_t)width * (size_t)height * (size_t)channels);
}

/* "3c 68 74 6d" for the message about an unrecognised image. */
static void hex_prefix(const uint8_t *b, size_t size, char *buf, size_t buf_size)
{
    size_t n = size < 4 ? size : 4, used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 4 <= buf_size; i++)
        used += (size_t)snprintf(buf + used, buf_size - used, i ? " %02x" : "%02x", b[i]);
}

int fgi_image_decode_scaled(const void *bytes, size_t size, uint64_t max_pixels, int need_side,
                            fg_image *out, fgi_decode_info *info, fg_error *err)
{
    return fgi_image_decode_on(bytes, size, max_pixels, need_side, NULL, out, info, err);
}

int fgi_image_decode_on(const void *bytes, size_t size, uint64_t max_pixels, int need_side,
                        const fgi_runner *on, fg_image *out, fgi_decode_info *info, fg_error *err)
{
    fgi_decode_info local_info;
    if (!info) info = &local_info;
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    info->scale = 1.0;
    if (!out) return fg_fail(err, FG_EINVAL, "fg_image_decode: out is NULL");
    memset(out, 0, sizeof *out);
    if (size == 0) return fg_fail(err, FG_EIMAGE_EMPTY, "the image is empty (0 bytes)");
    if (!bytes) return fg_fail(err, FG_EINVAL, "fg_image_decode: bytes is NULL");

    info->format = fgi_sniff(bytes, size);
    switch (info->format) {
    case FGI_FORMAT_JPEG:
        return fgi_decode_jpeg(bytes, size, max_pixels, need_side, on, out, info, err);
    case FGI_FORMAT_PNG:
        return fgi_decode_png(bytes, size, max_pixels, out, info, err);
    case FGI_FORMAT_WEBP:
        return fgi_decode_webp(bytes, size, max_pixels, need_side, out, info, err);
    default:
        break;
    }
    char seen[16];
    hex_prefix(bytes, size, seen, sizeof seen);
    return fg_fail(err, FG_EIMAGE_FORMAT, "not a JPEG, PNG or WebP image (starts with %s)", seen);
}

int fgi_image_decode(const void *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                     fgi_decode_info *info, fg_error *err)
{
    return fgi_image_decode_scaled(bytes, size, max_pixels, 0, out, info, err);
}

int fg_image_decode(const void *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                    fg_error *err)
{
    return fgi_image_decode_scaled(bytes, size, max_pixels, 0, out, NULL, err);
}

int fg_image_decode_scaled(const void *bytes, size_t size, uint64_t max_pixels, int need_side,
                           fg_image *out, double *scale, fg_error *err)
{
    fgi_decode_info info;
    int rc = fgi_image_decode_scaled(bytes, size, max_pixels, need_side, out, &info, err);
    if (scale) *scale = rc == FG_OK ? info.scale : 1.0;
    return rc;
}

void fg_image_free(fg_image *img)
{
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}
