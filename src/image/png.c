/*
 * png.c - PNG decoding with libspng: any bit depth and colour type to RGB8, alpha dropped.
 */
#include <spng.h>
#include <stdlib.h>

#include "image/codec.h"
#include "core/error.h"

/* Ancillary chunks (text, ICC, EXIF) are read into memory: bound them. IDAT is streamed. */
#define FGI_PNG_CHUNK_LIMIT ((size_t)16 << 20)
#define FGI_PNG_CACHE_LIMIT ((size_t)64 << 20)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int fgi_decode_png(const uint8_t *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                   fgi_decode_info *info, fg_error *err)
{
    int rc = FG_OK, ret;
    uint8_t *rgb = NULL;
    struct spng_ihdr ihdr;
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return fg_fail(err, FG_ENOMEM, "cannot create a PNG decoder");

    /* spng refuses larger IHDRs itself, before any image buffer exists. */
    spng_set_image_limits(ctx, FG_MAX_SIDE, FG_MAX_SIDE);
    spng_set_chunk_limits(ctx, FGI_PNG_CHUNK_LIMIT, FGI_PNG_CACHE_LIMIT);
    ret = spng_set_png_buffer(ctx, bytes, size);
    if (ret == 0) ret = spng_get_ihdr(ctx, &ihdr);
    if (ret == SPNG_EUSER_WIDTH || ret == SPNG_EUSER_HEIGHT) {
        /* Only a well-formed first chunk gets this far: IHDR's width/height at 16 and 20. */
        rc = fgi_check_header(FGI_FORMAT_PNG, be32(bytes + 16), be32(bytes + 20), size, max_pixels,
                              err);
        if (rc == FG_OK) rc = fg_fail(err, FG_EIMAGE_TOO_LARGE, "PNG larger than the side limit");
        goto fail;
    }
    if (ret != 0) {
        rc = fg_fail(err, FG_EIMAGE_CORRUPT, "corrupt PNG header: %s", spng_strerror(ret));
        goto fail;
    }
    rc = fgi_check_header(FGI_FORMAT_PNG, ihdr.width, ihdr.height, size, max_pixels, err);
    if (rc != FG_OK) goto fail;
    info->stored_width = (int)ihdr.width;
    info->stored_height = (int)ihdr.height;

    size_t len = 0;
    ret = spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &len);
    if (ret != 0 || len != (size_t)ihdr.width * ihdr.height * 3) {
        rc = fg_fail(err, FG_EIMAGE_CORRUPT, "PNG cannot be decoded to RGB: %s",
                     ret ? spng_strerror(ret) : "unexpected size");
        goto fail;
    }
    rgb = fgi_pixels_alloc((int)ihdr.width, (int)ihdr.height, 3);
    if (!rgb) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory decoding a %ux%u PNG", ihdr.width, ihdr.height);
        goto fail;
    }
    /* flags 0: no gamma, no tRNS; 16-bit samples are scaled to 8, alpha is dropped. */
    ret = spng_decode_image(ctx, rgb, len, SPNG_FMT_RGB8, 0);
    if (ret != 0) {
        rc = fg_fail(err, FG_EIMAGE_CORRUPT, "corrupt PNG data: %s", spng_strerror(ret));
        goto fail;
    }
    out->width = (int)ihdr.width;
    out->height = (int)ihdr.height;
    out->rgb = rgb;
    spng_ctx_free(ctx);
    return FG_OK;
fail:
    free(rgb);
    spng_ctx_free(ctx);
    return rc;
}
