/*
 * engine.c - the face pipeline: detect -> 68 landmarks -> align -> 128-d descriptor.
 * ARCH.md section 6 is the reference's glue; this reproduces it, and adds dlib-style alignment
 * (the default) and a second detection pass for faces that fill the frame.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/align.h"
#include "image/error.h"
#include "image/image.h"
#include "models/models.h"

struct fg_engine {
    fg_engine_options opts;
    fgm_ssd *ssd;
    fgm_tiny *tiny;
    fgm_landmarks *landmarks;
    fgm_resnet *resnet;
    float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3];
};

const char *fg_detector_name(fg_detector detector)
{
    return detector == FG_DETECTOR_SSD ? "ssd" : detector == FG_DETECTOR_TINY ? "tiny" : "?";
}

const char *fg_align_name(fg_align align)
{
    return align == FG_ALIGN_DLIB ? "dlib" : align == FG_ALIGN_REFERENCE ? "reference" : "?";
}

const char *fg_padding_name(fg_padding padding)
{
    return padding == FG_PADDING_RETRY    ? "retry"
           : padding == FG_PADDING_NONE   ? "none"
           : padding == FG_PADDING_ALWAYS ? "always"
                                          : "?";
}

void fg_engine_options_init(fg_engine_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->detector = FG_DETECTOR_SSD;
    opts->align = FG_ALIGN_DLIB;
    opts->threads = 1;
    opts->min_score = 0.5f;
    opts->max_pixels = FG_DEFAULT_MAX_PIXELS;
}

int fg_engine_open(const fg_engine_options *opts, fg_engine **out, fg_error *err)
{
    fg_engine *e;
    int rc;

    *out = NULL;
    if (!opts || !opts->model_dir) return fg_fail(err, FG_EINVAL, "no model directory given");
    if (opts->detector != FG_DETECTOR_SSD && opts->detector != FG_DETECTOR_TINY)
        return fg_fail(err, FG_EINVAL, "unknown detector %d", (int)opts->detector);
    if (opts->align != FG_ALIGN_DLIB && opts->align != FG_ALIGN_REFERENCE)
        return fg_fail(err, FG_EINVAL, "unknown alignment %d", (int)opts->align);
    if (opts->threads < 0) return fg_fail(err, FG_EINVAL, "threads must be >= 0");
    if (!(e = calloc(1, sizeof *e))) return fg_fail(err, FG_ENOMEM, "out of memory");
    e->opts = *opts;
    if (!(e->opts.min_score > 0 && e->opts.min_score < 1)) e->opts.min_score = 0.5f;
    if (!e->opts.max_pixels) e->opts.max_pixels = FG_DEFAULT_MAX_PIXELS;
    e->opts.tta = opts->tta != 0;
    if (opts->padding != FG_PADDING_NONE && opts->padding != FG_PADDING_ALWAYS)
        e->opts.padding = FG_PADDING_RETRY;

    rc = opts->detector == FG_DETECTOR_SSD
             ? fgm_ssd_open(opts->model_dir, opts->threads, &e->ssd, err)
             : fgm_tiny_open(opts->model_dir, opts->threads, &e->tiny, err);
    if (!rc) rc = fgm_landmarks_open(opts->model_dir, opts->threads, &e->landmarks, err);
    /* With TTA the face and its mirror image go through the net as one batch of two: the
     * deep layers' weights are read once for both. */
    if (!rc)
        rc = fgm_resnet_open(opts->model_dir, opts->threads, opts->tta ? 2 : 1, &e->resnet, err);
    if (rc) {
        fg_engine_free(e);
        return rc;
    }
    /* The caller's model_dir string need not outlive this call. */
    e->opts.model_dir = NULL;
    *out = e;
    return FG_OK;
}

void fg_engine_free(fg_engine *e)
{
    if (!e) return;
    fgm_ssd_free(e->ssd);
    fgm_tiny_free(e->tiny);
    fgm_landmarks_free(e->landmarks);
    fgm_resnet_free(e->resnet);
    free(e);
}

const fg_engine_options *fg_engine_get_options(const fg_engine *e)
{
    return &e->opts;
}

static int run_detector(fg_engine *e, const fg_image *img, fgm_detection **dets, size_t *n,
                        fg_error *err)
{
    if (e->ssd) return fgm_ssd_detect(e->ssd, img, e->opts.min_score, dets, n, err);
    return fgm_tiny_detect(e->tiny, img, e->opts.min_score, dets, n, err);
}

/* Landmarks and the reference alignment rect of one detection (ARCH.md section 6, 2-4). */
static int locate(fg_engine *e, const fg_image *img, const fgm_detection *d, fg_face *face,
                  fg_error *err)
{
    fg_image crop = {0};
    fg_point pts[FG_LANDMARKS];
    int rc;
    /* det.forSize(W, H).box: the relative box scaled back, as face-api does. */
    double bx = d->x / img->width * img->width, by = d->y / img->height * img->height;

    memset(face, 0, sizeof *face);
    face->score = d->score;
    face->box.x = (float)d->x;
    face->box.y = (float)d->y;
    face->box.width = (float)d->width;
    face->box.height = (float)d->height;
    face->landmark_crop = fg_clip_box(bx, by, d->width, d->height, img->width, img->height);
    if (face->landmark_crop.width <= 0 || face->landmark_crop.height <= 0)
        return fg_fail(err, FG_ENOFACE, "detected face lies outside the image");
    if ((rc = fgi_crop(img, face->landmark_crop, &crop, err))) return rc;
    rc = fgm_landmarks_detect(e->landmarks, crop.rgb, crop.width, crop.height, pts, err);
    fg_image_free(&crop);
    if (rc) return rc;
    /* Shifted by the unrounded box origin, not the crop's: a face-api quirk kept for parity. */
    for (int i = 0; i < FG_LANDMARKS; i++) {
        face->landmarks[i].x = (float)(pts[i].x + d->x);
        face->landmarks[i].y = (float)(pts[i].y + d->y);
    }
    face->align_rect = fg_align_reference_rect(face->landmarks, face->landmark_crop.width,
                                               face->landmark_crop.height);
    return FG_OK;
}

/* Detection + landmarks of every face the detector finds in img. */
static int detect_pass(fg_engine *e, const fg_image *img, fg_face **faces, size_t *count,
                       fg_error *err)
{
    fgm_detection *dets = NULL;
    size_t n = 0;
    fg_face *out = NULL;
    int rc;

    *faces = NULL;
    *count = 0;
    if ((rc = run_detector(e, img, &dets, &n, err))) return rc;
    if (n && !(out = calloc(n, sizeof *out))) {
        free(dets);
        return fg_fail(err, FG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = locate(e, img, &dets[i], &out[i], err))) {
            free(out);
            free(dets);
            return rc;
        }
    }
    free(dets);
    *faces = out;
    *count = n;
    return FG_OK;
}

/* The padded passes work on at most this many pixels a side (the SSD sees 512 anyway). */
#define PAD_MAX_SIDE 1024

/* img scaled by (sx, sy) <= 1 into the middle of a black border of `pad` pixels (after
 * scaling) on every side. */
static int pad_image(const fg_image *img, double scale, int pad, fg_image *out, double *sx,
                     double *sy)
{
    int w = img->width, h = img->height;
    const uint8_t *src = img->rgb;
    uint8_t *small = NULL;

    if (scale < 1) {
        int sw = (int)fmax(1, lround(w * scale)), sh = (int)fmax(1, lround(h * scale));
        float *f = malloc((size_t)sw * sh * 3 * sizeof *f);
        small = malloc((size_t)sw * sh * 3);
        if (!f || !small || fgi_resize_bilinear_u8(img->rgb, w, h, sw, sh, f)) {
            free(f);
            free(small);
            return FG_ENOMEM;
        }
        for (size_t i = 0; i < (size_t)sw * sh * 3; i++)
            small[i] = (uint8_t)lrintf(f[i]);
        free(f);
        src = small, w = sw, h = sh;
    }
    *sx = (double)w / img->width;
    *sy = (double)h / img->height;
    out->width = w + 2 * pad;
    out->height = h + 2 * pad;
    if (!(out->rgb = calloc((size_t)out->width * out->height, 3))) {
        free(small);
        return FG_ENOMEM;
    }
    for (int y = 0; y < h; y++)
        memcpy(out->rgb + (((size_t)(y + pad) * out->width) + pad) * 3, src + (size_t)y * w * 3,
               (size_t)w * 3);
    free(small);
    return FG_OK;
}

/* A retry for a face that fills the frame, which the detector misses: ALIGN.md measured the
 * SSD finding no face in ~10% of tight LFW photos, and finding 58 of 60 of those once the
 * photo is padded with a black border of half its width. The image is padded with `border`
 * times its longer side on every side. Landmarks are located in the padded image too (the
 * landmark net then sees the whole face box, border included, rather than a box cut at the
 * image edge), then everything is mapped back and the box clipped. Faces whose centre lies in
 * the border are dropped. */
static int detect_padded(fg_engine *e, const fg_image *img, double border, fg_face **faces,
                         size_t *count, fg_error *err)
{
    int side = img->width > img->height ? img->width : img->height;
    double scale = fmin(1.0, (double)PAD_MAX_SIDE / ((1 + 2 * border) * side)), sx, sy;
    int pad = (int)lround(side * border * scale);
    fg_image padded = {0};
    fg_face *found = NULL;
    size_t n = 0, kept = 0;
    int rc;

    *faces = NULL;
    *count = 0;
    if (pad_image(img, scale, pad, &padded, &sx, &sy))
        return fg_fail(err, FG_ENOMEM, "out of memory padding the image");
    rc = detect_pass(e, &padded, &found, &n, err);
    fg_image_free(&padded);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        fg_face f = found[i];
        double x = (f.box.x - pad) / sx, y = (f.box.y - pad) / sy;
        double w = f.box.width / sx, h = f.box.height / sy;
        double cx = x + w / 2, cy = y + h / 2;
        if (cx < 0 || cy < 0 || cx >= img->width || cy >= img->height) continue;
        for (int k = 0; k < FG_LANDMARKS; k++) {
            f.landmarks[k].x = (float)((f.landmarks[k].x - pad) / sx);
            f.landmarks[k].y = (float)((f.landmarks[k].y - pad) / sy);
        }
        f.landmark_crop = fg_clip_box(x, y, w, h, img->width, img->height);
        f.box.x = (float)f.landmark_crop.x;
        f.box.y = (float)f.landmark_crop.y;
        f.box.width = (float)f.landmark_crop.width;
        f.box.height = (float)f.landmark_crop.height;
        f.align_rect =
            fg_align_reference_rect(f.landmarks, f.landmark_crop.width, f.landmark_crop.height);
        f.padded = 1;
        found[kept++] = f;
    }
    if (!kept) {
        free(found);
        found = NULL;
    }
    *faces = found;
    *count = kept;
    return FG_OK;
}

/* Appends to *faces (n of them) the padded faces that overlap none of the first `plain` by
 * more than IoU 0.3. Takes ownership of extra. */
static int add_new_faces(fg_face **faces, size_t *n, size_t plain, fg_face *extra, size_t m,
                         fg_error *err)
{
    fg_face *all;
    if (!m) return FG_OK;
    if (!(all = realloc(*faces, (*n + m) * sizeof *all))) {
        free(extra);
        return fg_fail(err, FG_ENOMEM, "out of memory");
    }
    *faces = all;
    for (size_t i = 0; i < m; i++) {
        const fg_box *b = &extra[i].box;
        int seen = 0;
        for (size_t j = 0; j < plain && !seen; j++) {
            const fg_box *a = &all[j].box;
            double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
            double x1 = fmin(a->x + a->width, b->x + b->width);
            double y1 = fmin(a->y + a->height, b->y + b->height);
            double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
            double uni = (double)a->width * a->height + (double)b->width * b->height - inter;
            seen = inter > 0.3 * uni;
        }
        if (!seen) all[(*n)++] = extra[i];
    }
    free(extra);
    return FG_OK;
}

/* Whether one of the faces covers the middle of the image, where the subject of a login frame
 * (or of a portrait) is. When none does, the plain pass may have found only someone beside or
 * behind a subject too large or too close to the edges for it. */
static int covers_centre(const fg_face *faces, size_t n, const fg_image *img)
{
    double cx = img->width / 2.0, cy = img->height / 2.0;
    for (size_t i = 0; i < n; i++) {
        const fg_box *b = &faces[i].box;
        if (b->x <= cx && cx <= b->x + b->width && b->y <= cy && cy <= b->y + b->height) return 1;
    }
    return 0;
}

int fg_detect(fg_engine *e, const fg_image *img, fg_face **faces, size_t *count, fg_error *err)
{
    fg_face *extra = NULL;
    size_t m = 0;
    int rc;

    *faces = NULL;
    *count = 0;
    if (!e || !img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "no image");
    /* The plain pass is the reference's, unchanged (parity); FG_PADDING_NONE stops there. The
     * padded passes run when none of its faces covers the image centre (FG_PADDING_RETRY: it
     * found nothing, or only someone beside a subject too large or close for it) or always
     * (FG_PADDING_ALWAYS), adding only the faces it missed. A border of half the image finds the
     * tight LFW faces; faces cropped tighter still (chin and forehead cut off, as in
     * ../shared/faces/bbt) need a whole one, tried when nothing else was found. */
    if ((rc = detect_pass(e, img, faces, count, err))) return rc;
    if (e->opts.padding == FG_PADDING_NONE ||
        (e->opts.padding == FG_PADDING_RETRY && covers_centre(*faces, *count, img)))
        return FG_OK;
    if ((rc = detect_padded(e, img, 0.5, &extra, &m, err))) goto fail;
    if (!m && !*count && (rc = detect_padded(e, img, 1.0, &extra, &m, err))) goto fail;
    if (!(rc = add_new_faces(faces, count, *count, extra, m, err))) return FG_OK;
    extra = NULL;
fail:
    free(extra);
    free(*faces);
    *faces = NULL;
    *count = 0;
    return rc;
}

/* Mirrors an image left to right in place; a pixel is pixel_bytes bytes (RGB8 or RGB float). */
static void mirror_rows(void *pixels, int w, int h, size_t pixel_bytes)
{
    uint8_t tmp[3 * sizeof(float)];
    for (int y = 0; y < h; y++) {
        uint8_t *row = (uint8_t *)pixels + (size_t)y * w * pixel_bytes;
        for (int l = 0, r = w - 1; l < r; l++, r--) {
            memcpy(tmp, row + l * pixel_bytes, pixel_bytes);
            memcpy(row + l * pixel_bytes, row + r * pixel_bytes, pixel_bytes);
            memcpy(row + r * pixel_bytes, tmp, pixel_bytes);
        }
    }
}

/* Test-time augmentation: descriptor = the mean of those of slot 0 (the face) and slot 1 (its
 * mirror image), set by the caller. */
static int describe_pair(fg_engine *e, float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    float pair[2][FG_DESCRIPTOR_DIM];
    int rc = fgm_resnet_run(e->resnet, pair, err);
    if (rc) return rc;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        descriptor[i] = (pair[0][i] + pair[1][i]) * 0.5f;
    return FG_OK;
}

int fg_describe_aligned(fg_engine *e, const fg_image *img, const fg_face *face, fg_align align,
                        float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    int rc;

    if (!e || !img || !img->rgb || !face) return fg_fail(err, FG_EINVAL, "no image or face");
    if (align == FG_ALIGN_DLIB) {
        if (fg_align_dlib_chip(img, face->landmarks, e->chip))
            return fg_fail(err, FG_ENOMEM, "out of memory aligning the face");
        if (!e->opts.tta) return fgm_resnet_describe_chip(e->resnet, e->chip, descriptor, err);
        fgm_resnet_set_chip(e->resnet, 0, e->chip);
        mirror_rows(e->chip, FG_CHIP_SIZE, FG_CHIP_SIZE, 3 * sizeof(float));
        fgm_resnet_set_chip(e->resnet, 1, e->chip);
        return describe_pair(e, descriptor, err);
    }
    const fg_rect *a = &face->align_rect;
    fg_rect r = fg_clip_box(a->x, a->y, a->width, a->height, img->width, img->height);
    if (r.width <= 0 || r.height <= 0) {
        /* face-api's computeFaceDescriptor answers 128 zeros for an empty crop. */
        memset(descriptor, 0, sizeof(float) * FG_DESCRIPTOR_DIM);
        return FG_OK;
    }
    fg_image crop = {0};
    if ((rc = fgi_crop(img, r, &crop, err))) return rc;
    if (!e->opts.tta) {
        rc =
            fgm_resnet_describe_crop(e->resnet, crop.rgb, crop.width, crop.height, descriptor, err);
    } else {
        fgm_resnet_set_crop(e->resnet, 0, crop.rgb, crop.width, crop.height);
        mirror_rows(crop.rgb, crop.width, crop.height, 3);
        fgm_resnet_set_crop(e->resnet, 1, crop.rgb, crop.width, crop.height);
        rc = describe_pair(e, descriptor, err);
    }
    fg_image_free(&crop);
    return rc;
}

int fg_describe(fg_engine *e, const fg_image *img, const fg_face *face,
                float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (!e) return fg_fail(err, FG_EINVAL, "no engine");
    return fg_describe_aligned(e, img, face, e->opts.align, descriptor, err);
}
