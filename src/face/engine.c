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
    if (!opts || !opts->model_dir)
        return fg_fail(err, FG_EINVAL, "no model directory given");
    if (opts->detector != FG_DETECTOR_SSD && opts->detector != FG_DETECTOR_TINY)
        return fg_fail(err, FG_EINVAL, "unknown detector %d", (int)opts->detector);
    if (opts->align != FG_ALIGN_DLIB && opts->align != FG_ALIGN_REFERENCE)
        return fg_fail(err, FG_EINVAL, "unknown alignment %d", (int)opts->align);
    if (opts->threads < 0) return fg_fail(err, FG_EINVAL, "threads must be >= 0");
    if (!(e = calloc(1, sizeof *e))) return fg_fail(err, FG_ENOMEM, "out of memory");
    e->opts = *opts;
    if (!(e->opts.min_score > 0 && e->opts.min_score < 1)) e->opts.min_score = 0.5f;
    if (!e->opts.max_pixels) e->opts.max_pixels = FG_DEFAULT_MAX_PIXELS;

    rc = opts->detector == FG_DETECTOR_SSD ? fgm_ssd_open(opts->model_dir, opts->threads,
                                                          &e->ssd, err)
                                           : fgm_tiny_open(opts->model_dir, opts->threads,
                                                           &e->tiny, err);
    if (!rc) rc = fgm_landmarks_open(opts->model_dir, opts->threads, &e->landmarks, err);
    if (!rc) rc = fgm_resnet_open(opts->model_dir, opts->threads, &e->resnet, err);
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
    face->align_rect = fg_align_reference_rect(face->landmarks, img->width, img->height);
    return FG_OK;
}

int fg_detect(fg_engine *e, const fg_image *img, fg_face **faces, size_t *count, fg_error *err)
{
    fgm_detection *dets = NULL;
    size_t n = 0;
    fg_face *out = NULL;
    int rc;

    *faces = NULL;
    *count = 0;
    if (!e || !img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "no image");
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

int fg_describe_aligned(fg_engine *e, const fg_image *img, const fg_face *face, fg_align align,
                        float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (!e || !img || !img->rgb || !face) return fg_fail(err, FG_EINVAL, "no image or face");
    if (align == FG_ALIGN_DLIB) {
        if (fg_align_dlib_chip(img, face->landmarks, e->chip))
            return fg_fail(err, FG_ENOMEM, "out of memory aligning the face");
        return fgm_resnet_describe_chip(e->resnet, e->chip, descriptor, err);
    }
    const fg_rect *a = &face->align_rect;
    fg_rect r = fg_clip_box(a->x, a->y, a->width, a->height, img->width, img->height);
    if (r.width <= 0 || r.height <= 0) {
        /* face-api's computeFaceDescriptor answers 128 zeros for an empty crop. */
        memset(descriptor, 0, sizeof(float) * FG_DESCRIPTOR_DIM);
        return FG_OK;
    }
    fg_image crop = {0};
    int rc = fgi_crop(img, r, &crop, err);
    if (rc) return rc;
    rc = fgm_resnet_describe_crop(e->resnet, crop.rgb, crop.width, crop.height, descriptor, err);
    fg_image_free(&crop);
    return rc;
}

int fg_describe(fg_engine *e, const fg_image *img, const fg_face *face,
                float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (!e) return fg_fail(err, FG_EINVAL, "no engine");
    return fg_describe_aligned(e, img, face, e->opts.align, descriptor, err);
}

float fg_distance(const float a[FG_DESCRIPTOR_DIM], const float b[FG_DESCRIPTOR_DIM])
{
    double s = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return (float)sqrt(s);
}
