/*
 * image-fixtures.h - test images made at test time (no photo is committed) for the
 * test-image-*.c files: patterns, JPEG/PNG/WebP encoders, an EXIF APP1 builder, a PRNG.
 * Everything returned is malloc'd: the caller frees it with free().
 */
#ifndef FG_TEST_IMAGE_FIXTURES_H
#define FG_TEST_IMAGE_FIXTURES_H

#include <spng.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/encode.h>

/* FG_TEST_QUICK=1 (sanitizer runs) asks for shorter loops. */
static inline int fx_quick(void)
{
    const char *q = getenv("FG_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* xorshift64*: deterministic, so a failure reproduces. */
static inline uint32_t fx_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* A w x h RGB8 image with four flat quadrants (red, green, blue, white) so that every
 * rotation is recognisable even after lossy compression, plus a gentle gradient. */
static inline uint8_t *fx_pattern(int w, int h)
{
    static const uint8_t quadrant[4][3] = {
        {220, 30, 30}, {30, 200, 40}, {30, 40, 210}, {235, 235, 235}};
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb) return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *q = quadrant[(y >= h / 2) * 2 + (x >= w / 2)];
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(q[c] - (x + y) % 8);
        }
    return rgb;
}

/* Random RGB8 noise (hard for codecs, good for exactness tests). */
static inline uint8_t *fx_noise(int w, int h, uint64_t seed)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb) return NULL;
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        rgb[i] = (uint8_t)fx_rand(&seed);
    return rgb;
}

/* Compresses pixels (TurboJPEG pixel format pf) to a JPEG. flags: e.g. TJFLAG_PROGRESSIVE. */
static inline uint8_t *fx_jpeg(const uint8_t *pixels, int w, int h, int pf, int subsamp,
                               int quality, int flags, size_t *size)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long jpeg_size = 0;
    uint8_t *copy = NULL;
    if (!tj) return NULL;
    if (tjCompress2(tj, pixels, w, 0, h, pf, &jpeg, &jpeg_size, subsamp, quality, flags) == 0) {
        copy = malloc(jpeg_size);
        if (copy) {
            memcpy(copy, jpeg, jpeg_size);
            *size = jpeg_size;
        }
    }
    tjFree(jpeg);
    tjDestroy(tj);
    return copy;
}

static inline uint8_t *fx_jpeg_rgb(const uint8_t *rgb, int w, int h, size_t *size)
{
    return fx_jpeg(rgb, w, h, TJPF_RGB, TJSAMP_444, 95, 0, size);
}

/* Encodes raw PNG-layout pixels (host-endian 16-bit samples) with libspng. */
static inline uint8_t *fx_png(const void *pixels, size_t len, int w, int h, int color_type,
                              int bit_depth, int interlace, const struct spng_plte *plte,
                              size_t *size)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, (uint8_t)bit_depth, (uint8_t)color_type,
                             0,           0,           (uint8_t)interlace};
    uint8_t *png = NULL;
    int error = 0;
    if (!ctx) return NULL;
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (spng_set_ihdr(ctx, &ihdr) == 0 &&
        (!plte || spng_set_plte(ctx, (struct spng_plte *)plte) == 0) &&
        spng_encode_image(ctx, pixels, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0)
        png = spng_get_png_buffer(ctx, size, &error);
    spng_ctx_free(ctx);
    return error ? NULL : png;
}

static inline uint8_t *fx_png_rgb(const uint8_t *rgb, int w, int h, size_t *size)
{
    return fx_png(rgb, (size_t)w * h * 3, w, h, SPNG_COLOR_TYPE_TRUECOLOR, 8, 0, NULL, size);
}

/* Lossy (quality > 0) or lossless (quality 0) WebP; copied so that free() releases it. */
static inline uint8_t *fx_webp(const uint8_t *rgb, int w, int h, int quality, size_t *size)
{
    uint8_t *webp = NULL, *copy = NULL;
    size_t n = quality > 0 ? WebPEncodeRGB(rgb, w, h, w * 3, (float)quality, &webp)
                           : WebPEncodeLosslessRGB(rgb, w, h, w * 3, &webp);
    if (n > 0 && (copy = malloc(n))) {
        memcpy(copy, webp, n);
        *size = n;
    }
    WebPFree(webp);
    return copy;
}

/* Appends a 16- or 32-bit value in EXIF byte order. */
static inline void fx_put(uint8_t *buf, size_t *n, uint32_t v, int bytes, int big_endian)
{
    for (int i = 0; i < bytes; i++) {
        int shift = 8 * (big_endian ? bytes - 1 - i : i);
        buf[(*n)++] = (uint8_t)(v >> shift);
    }
}

/* CRC-32 of PNG chunks (bitwise: tests only). */
static inline uint32_t fx_crc32(const uint8_t *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* Appends a PNG chunk (length, type, data, CRC) at buf + *n; buf must have room. */
static inline void fx_png_chunk(uint8_t *buf, size_t *n, const char type[4], const uint8_t *data,
                                uint32_t len)
{
    uint8_t *start = buf + *n;
    fx_put(buf, n, len, 4, 1);
    memcpy(buf + *n, type, 4);
    if (len) memcpy(buf + *n + 4, data, len);
    *n += 4 + len;
    fx_put(buf, n, fx_crc32(start + 4, 4 + (size_t)len, 0), 4, 1);
}

/* A PNG signature and an IHDR chunk declaring w x h (grey, 1 bit): no pixel data follows.
 * buf needs 33 bytes; returns the length written. */
static inline size_t fx_png_header(uint8_t *buf, uint32_t w, uint32_t h)
{
    uint8_t ihdr[13] = {0};
    size_t n = 0, k = 0;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    fx_put(ihdr, &k, w, 4, 1);
    fx_put(ihdr, &k, h, 4, 1);
    ihdr[8] = 1; /* bit depth; colour type 0, deflate, no filter, no interlace */
    fx_png_chunk(buf, &n, "IHDR", ihdr, sizeof ihdr);
    return n;
}

/* Copies a JPEG with an EXIF APP1 segment (IFD0 holding only Orientation) inserted right after
 * SOI, as cameras write it. big_endian picks "MM" or "II" byte order. */
static inline uint8_t *fx_jpeg_with_orientation(const uint8_t *jpeg, size_t size, int orientation,
                                                int big_endian, size_t *out_size)
{
    uint8_t app1[2 + 2 + 6 + 26];
    size_t n = 0;
    fx_put(app1, &n, 0xffe1, 2, 1);          /* APP1 marker */
    fx_put(app1, &n, sizeof app1 - 2, 2, 1); /* segment length */
    memcpy(app1 + n, "Exif\0\0", 6);
    n += 6;
    app1[n++] = big_endian ? 'M' : 'I'; /* TIFF header */
    app1[n++] = big_endian ? 'M' : 'I';
    fx_put(app1, &n, 42, 2, big_endian);
    fx_put(app1, &n, 8, 4, big_endian);      /* offset of IFD0 */
    fx_put(app1, &n, 1, 2, big_endian);      /* one entry: */
    fx_put(app1, &n, 0x0112, 2, big_endian); /*   Orientation */
    fx_put(app1, &n, 3, 2, big_endian);      /*   SHORT */
    fx_put(app1, &n, 1, 4, big_endian);      /*   one value, padded to 4 bytes */
    fx_put(app1, &n, (uint32_t)orientation, 2, big_endian);
    fx_put(app1, &n, 0, 2, big_endian);
    fx_put(app1, &n, 0, 4, big_endian); /* no next IFD */

    uint8_t *out = malloc(size + n);
    if (!out) return NULL;
    memcpy(out, jpeg, 2);
    memcpy(out + 2, app1, n);
    memcpy(out + 2 + n, jpeg + 2, size - 2);
    *out_size = size + n;
    return out;
}

#endif
