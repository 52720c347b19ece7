/*
 * jpeg.c - JPEG decoding with TurboJPEG, plus the EXIF orientation.
 *
 * Pixels must match libjpeg-turbo's defaults exactly (tjDecompress2, TJPF_RGB, flags 0): the
 * golden end-to-end outputs were computed on them, so no fast-DCT or fast-upsample flags.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "image/codec.h"
#include "core/error.h"

/* libjpeg-turbo's own fuzzers cap progressive scans at 500; real encoders emit about 10. */
#define FGI_JPEG_MAX_SCANS 500

/* libjpeg warnings that leave the pixels intact. Everything else it warns about (premature end
 * of data, bad Huffman code, ...) means grey or garbled blocks: for us a corrupt image. */
static int warning_is_benign(const char *msg)
{
    static const char *const benign[] = {
        "extraneous bytes before marker", /* common in camera files, pixels unaffected */
        "unknown JFIF revision number",
        "Unknown Adobe color transform code",
    };
    for (size_t i = 0; i < sizeof benign / sizeof benign[0]; i++)
        if (strstr(msg, benign[i])) return 1;
    return 0;
}

/* Adobe CMYK JPEGs store inverted ink values (255 = no ink), so RGB = C*K/255 per channel. */
static void cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++, cmyk += 4, rgb += 3) {
        unsigned k = cmyk[3];
        rgb[0] = (uint8_t)((cmyk[0] * k + 127) / 255);
        rgb[1] = (uint8_t)((cmyk[1] * k + 127) / 255);
        rgb[2] = (uint8_t)((cmyk[2] * k + 127) / 255);
    }
}

int fgi_decode_jpeg(const uint8_t *bytes, size_t size, uint64_t max_pixels, int need_side,
                    fg_image *out, fgi_decode_info *info, fg_error *err)
{
    int rc = FG_OK;
    tjhandle tj = NULL;
    uint8_t *rgb = NULL, *cmyk = NULL;
    int w = 0, h = 0, sw = 0, sh = 0, subsamp = 0, colorspace = 0;

    if (size > ULONG_MAX)
        return fg_fail(err, FG_EIMAGE_TOO_LARGE, "JPEG of %zu bytes is too large", size);

    fgi_jpeg_layout layout;
    fgi_jpeg_scan_layout(bytes, size, &layout);
    if (layout.scans > FGI_JPEG_MAX_SCANS)
        return fg_fail(err, FG_EIMAGE_CORRUPT, "corrupt JPEG: %d scans, more than the %d allowed",
                       layout.scans, FGI_JPEG_MAX_SCANS);

    tj = tjInitDecompress();
    if (!tj)
        return fg_fail(err, FG_ENOMEM, "cannot create a JPEG decoder: %s", tjGetErrorStr2(NULL));
    if (tjDecompressHeader3(tj, bytes, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0) {
        rc = fg_fail(err, FG_EIMAGE_CORRUPT, "corrupt JPEG header: %s", tjGetErrorStr2(tj));
        goto fail;
    }
    rc = fgi_check_header(FGI_FORMAT_JPEG, (uint64_t)(w > 0 ? w : 0), (uint64_t)(h > 0 ? h : 0),
                          size, max_pixels, err);
    if (rc != FG_OK) goto fail;
    info->stored_width = w;
    info->stored_height = h;
    /* TurboJPEG picks the DCT scaling factor that yields exactly sw x sh (an n/8 of w x h). */
    fgi_scaled_size(w, h, need_side, &sw, &sh);
    info->scale = (double)sw / (double)w;

    rgb = fgi_pixels_alloc(sw, sh, 3);
    /* libjpeg cannot convert CMYK/YCCK to RGB: take CMYK out and convert it here. */
    const int is_cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    if (is_cmyk) cmyk = fgi_pixels_alloc(sw, sh, 4);
    if (!rgb || (is_cmyk && !cmyk)) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory decoding a %dx%d JPEG", sw, sh);
        goto fail;
    }
    if (tjDecompress2(tj, bytes, (unsigned long)size, is_cmyk ? cmyk : rgb, sw, 0, sh,
                      is_cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0) {
        const char *msg = tjGetErrorStr2(tj);
        if (tjGetErrorCode(tj) == TJERR_FATAL || !warning_is_benign(msg)) {
            rc = fg_fail(err, FG_EIMAGE_CORRUPT, "JPEG data is truncated or corrupt: %s", msg);
            goto fail;
        }
    }
    if (is_cmyk) cmyk_to_rgb(cmyk, rgb, (size_t)sw * (size_t)sh);

    out->width = sw;
    out->height = sh;
    out->rgb = rgb;
    rgb = NULL;

    int orientation = fgi_exif_orientation(layout.exif, layout.exif_size);
    if (orientation < 0) {
        rc = fg_fail(err, orientation, "out of memory reading the JPEG's EXIF data");
        goto fail;
    }
    rc = fgi_orient(out, orientation, err);
    if (rc != FG_OK) goto fail;
    info->orientation = orientation;

    free(cmyk);
    tjDestroy(tj);
    return FG_OK;
fail:
    fg_image_free(out);
    free(rgb);
    free(cmyk);
    if (tj) tjDestroy(tj);
    return rc;
}
