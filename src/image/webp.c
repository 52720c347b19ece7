/*
 * webp.c - WebP decoding with libwebp (lossy and lossless, alpha dropped; no animation).
 */
#include <stdlib.h>
#include <webp/decode.h>

#include "image/codec.h"
#include "core/error.h"

static const char *webp_status_text(VP8StatusCode status)
{
    switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_INVALID_PARAM:
        return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR:
        return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_SUSPENDED:
        return "suspended";
    case VP8_STATUS_USER_ABORT:
        return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "truncated data";
    default:
        return "unknown error";
    }
}

static int webp_status_code(VP8StatusCode status)
{
    if (status == VP8_STATUS_OUT_OF_MEMORY) return FG_ENOMEM;
    if (status == VP8_STATUS_UNSUPPORTED_FEATURE) return FG_EIMAGE_FORMAT;
    return FG_EIMAGE_CORRUPT;
}

int fgi_decode_webp(const uint8_t *bytes, size_t size, uint64_t max_pixels, int need_side,
                    fg_image *out, fgi_decode_info *info, fg_error *err)
{
    int rc = FG_OK, sw = 0, sh = 0;
    uint8_t *rgb = NULL;
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return fg_fail(err, FG_EINVAL, "libwebp version mismatch");

    VP8StatusCode status = WebPGetFeatures(bytes, size, &config.input);
    if (status != VP8_STATUS_OK)
        return fg_fail(err, webp_status_code(status), "corrupt WebP header: %s",
                       webp_status_text(status));
    if (config.input.has_animation)
        return fg_fail(err, FG_EIMAGE_FORMAT, "animated WebP is not supported");
    const int w = config.input.width, h = config.input.height;
    rc = fgi_check_header(FGI_FORMAT_WEBP, (uint64_t)(w > 0 ? w : 0), (uint64_t)(h > 0 ? h : 0),
                          size, max_pixels, err);
    if (rc != FG_OK) return rc;
    info->stored_width = w;
    info->stored_height = h;
    /* libwebp rescales row by row as it decodes: the full-size picture is never held. */
    fgi_scaled_size(w, h, need_side, &sw, &sh);
    if (sw != w) {
        config.options.use_scaling = 1;
        config.options.scaled_width = sw;
        config.options.scaled_height = sh;
        info->scale = (double)sw / (double)w;
    }

    rgb = fgi_pixels_alloc(sw, sh, 3);
    if (!rgb) return fg_fail(err, FG_ENOMEM, "out of memory decoding a %dx%d WebP", sw, sh);
    config.output.colorspace = MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = rgb;
    config.output.u.RGBA.stride = sw * 3;
    config.output.u.RGBA.size = (size_t)sw * (size_t)sh * 3;
    status = WebPDecode(bytes, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (status != VP8_STATUS_OK) {
        rc = fg_fail(err, webp_status_code(status), "corrupt WebP data: %s",
                     webp_status_text(status));
        goto fail;
    }
    out->width = sw;
    out->height = sh;
    out->rgb = rgb;
    return FG_OK;
fail:
    free(rgb);
    return rc;
}
