/*
 * jpeg.c - JPEG decoding with TurboJPEG, plus the EXIF orientation.
 *
 * Pixels must match libjpeg-turbo's defaults exactly (tjDecompress2, TJPF_RGB, flags 0): the
 * golden end-to-end outputs were computed on them, so no fast-DCT or fast-upsample flags.
 *
 * On two threads (a runner of 2 or more bands), a baseline JPEG is decoded in two parts at once
 * with libjpeg's own API and the same settings: the rows above a cut by one decompressor, the
 * rows below it by another that first skips to the cut (jpeg_skip_scanlines, which must still
 * entropy-decode the rows it skips but not transform them: on single640.jpg skipping 70% of the
 * rows took 0.42 ms where decoding them took 0.72). With the cut at 2/3 of the rows both parts
 * take about as long: on this project's machine single640.jpg 1.11 -> about 0.76 ms, sample1.jpg
 * (1920x1280) 4.65 -> about 3.1 ms. Every row is the same as tjDecompress2's (the test compares
 * them); a corrupt or truncated stream is found by the lower part, which reads all of it.
 * Progressive JPEGs (which would decode every scan before skipping), CMYK ones and images under
 * 64 rows take the one-call path.
 */
#include <limits.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include <jpeglib.h> /* after stdio.h and stddef.h, which it needs */

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

/* The two parts' decoders: libjpeg with an error manager that returns (longjmp) instead of
 * exiting and keeps the first warning that is not benign. */
typedef struct part_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int corrupt;
    char msg[JMSG_LENGTH_MAX];
} part_err;

static void part_exit(j_common_ptr c)
{
    part_err *e = (part_err *)c->err;
    (*c->err->format_message)(c, e->msg);
    e->corrupt = 1;
    longjmp(e->jump, 1);
}

static void part_emit(j_common_ptr c, int level)
{
    part_err *e = (part_err *)c->err;
    char msg[JMSG_LENGTH_MAX];
    if (level >= 0 || e->corrupt) return;
    (*c->err->format_message)(c, msg);
    if (warning_is_benign(msg)) return;
    e->corrupt = 1;
    memcpy(e->msg, msg, sizeof msg);
}

typedef struct split {
    const uint8_t *bytes;
    size_t size;
    int eighths; /* the DCT scaling: output = stored * eighths / 8, as tjDecompress2 picks it */
    int w, h, cut;
    uint8_t *rgb;
    part_err errs[2];
} split;

/* Part k of t: rows [0, cut) or [cut, h). */
static void decode_part(split *t, int k)
{
    struct jpeg_decompress_struct c;
    part_err *e = &t->errs[k];
    c.err = jpeg_std_error(&e->mgr);
    e->mgr.error_exit = part_exit;
    e->mgr.emit_message = part_emit;
    jpeg_create_decompress(&c);
    if (setjmp(e->jump)) {
        jpeg_destroy_decompress(&c);
        return;
    }
    jpeg_mem_src(&c, t->bytes, (unsigned long)t->size);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    c.scale_num = (unsigned)t->eighths;
    c.scale_denom = 8;
    jpeg_start_decompress(&c);
    if ((int)c.output_width != t->w || (int)c.output_height != t->h || c.output_components != 3) {
        snprintf(e->msg, sizeof e->msg, "decodes to %ux%u, not %dx%d", c.output_width,
                 c.output_height, t->w, t->h);
        e->corrupt = 1;
    } else {
        const int y1 = k ? t->h : t->cut;
        if (k) jpeg_skip_scanlines(&c, (JDIMENSION)t->cut);
        while ((int)c.output_scanline < y1) {
            JSAMPROW row = t->rgb + (size_t)c.output_scanline * (size_t)t->w * 3;
            jpeg_read_scanlines(&c, &row, 1);
        }
        /* The lower part reads to the end, where a truncated file shows. */
        if (k) jpeg_finish_decompress(&c);
    }
    jpeg_destroy_decompress(&c);
}

static void split_band(void *ctx, int band, int from, int to)
{
    (void)band;
    for (int k = from; k < to; k++)
        decode_part(ctx, k);
}

/* Decodes into rgb (w x h) in two parts on `on`; FG_EIMAGE_CORRUPT as the one-call path. */
static int decode_split(const uint8_t *bytes, size_t size, int eighths, int w, int h,
                        const fgi_runner *on, uint8_t *rgb, fg_error *err)
{
    split t;
    memset(&t, 0, sizeof t);
    t.bytes = bytes, t.size = size, t.eighths = eighths, t.w = w, t.h = h, t.cut = h * 2 / 3;
    t.rgb = rgb;
    on->run(on->pool, 2, 2, split_band, &t);
    for (int k = 1; k >= 0; k--)
        if (t.errs[k].corrupt)
            return fg_fail(err, FG_EIMAGE_CORRUPT, "JPEG data is truncated or corrupt: %s",
                           t.errs[k].msg);
    return FG_OK;
}

int fgi_decode_jpeg(const uint8_t *bytes, size_t size, uint64_t max_pixels, int need_side,
                    const fgi_runner *on, fg_image *out, fgi_decode_info *info, fg_error *err)
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
    /* TurboJPEG picks the DCT scaling factor that yields exactly sw x sh, eighths / 8 of w x h
     * (the largest that fits both sides; unique when a side has 8 or more pixels, as in the
     * two-part decode, which needs 64 rows). */
    const int eighths = fgi_scaled_size(w, h, need_side, &sw, &sh);
    info->scale = (double)sw / (double)w;

    rgb = fgi_pixels_alloc(sw, sh, 3);
    /* libjpeg cannot convert CMYK/YCCK to RGB: take CMYK out and convert it here. */
    const int is_cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    if (is_cmyk) cmyk = fgi_pixels_alloc(sw, sh, 4);
    if (!rgb || (is_cmyk && !cmyk)) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory decoding a %dx%d JPEG", sw, sh);
        goto fail;
    }
    if (!is_cmyk && on && on->bands >= 2 && layout.scans == 1 && sh >= 64) {
        rc = decode_split(bytes, size, eighths, sw, sh, on, rgb, err);
        if (rc != FG_OK) goto fail;
    } else if (tjDecompress2(tj, bytes, (unsigned long)size, is_cmyk ? cmyk : rgb, sw, 0, sh,
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
