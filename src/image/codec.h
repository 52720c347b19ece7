/*
 * codec.h - the per-format decoders behind fgi_image_decode (private to src/image).
 *
 * Each decoder checks the header with fgi_check_header before allocating pixels, fills
 * info->stored_width/height (and info->orientation for JPEG, info->scale when it decoded scaled
 * down for need_side), and on failure frees everything and leaves *out zeroed.
 */
#ifndef FG_IMAGE_CODEC_H
#define FG_IMAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* on (may be NULL): a runner of 2 or more bands decodes a baseline JPEG in two parts at once
 * (jpeg.c says how); the pixels are the same. */
int fgi_decode_jpeg(const uint8_t *bytes, size_t size, uint64_t max_pixels, int need_side,
                    const fgi_runner *on, fg_image *out, fgi_decode_info *info, fg_error *err);
int fgi_decode_png(const uint8_t *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                   fgi_decode_info *info, fg_error *err);
int fgi_decode_webp(const uint8_t *bytes, size_t size, uint64_t max_pixels, int need_side,
                    fg_image *out, fgi_decode_info *info, fg_error *err);

/* What a walk over a JPEG's markers found (without decoding anything). */
typedef struct fgi_jpeg_layout {
    const uint8_t *exif; /* APP1 payload starting "Exif\0\0", or NULL */
    size_t exif_size;
    int scans; /* SOS markers: a progressive bomb has thousands */
} fgi_jpeg_layout;

void fgi_jpeg_scan_layout(const uint8_t *bytes, size_t size, fgi_jpeg_layout *layout);

/* Orientation (tag 0x0112 of IFD0) of an APP1 EXIF payload: 1..8, 1 when absent or invalid,
 * FG_ENOMEM when libexif cannot allocate. */
int fgi_exif_orientation(const uint8_t *exif, size_t size);

/* width*height*channels bytes on a cache line (fg_alloc_lines), freed by free(); the dimensions
 * were checked by fgi_check_header. */
uint8_t *fgi_pixels_alloc(int width, int height, int channels);

#endif
