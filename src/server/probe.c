/*
 * probe.c - decode (scaled down when larger than the pipeline needs), then detect and describe
 * on the request's engine; faces are mapped back to the image's own pixels.
 */
#include "server/probe.h"

#include <stdlib.h>

/* Maps an engine error to the HTTP error the API documents: a bad image is the client's fault
 * and keeps its code's name (fg_error_name); anything else is the server's. */
static int engine_error(const fg_error *err, const char *what, fg_http_error *e)
{
    int status = 500;
    switch (err->code) {
    case FG_EIMAGE_EMPTY:
    case FG_EIMAGE_CORRUPT:
        status = 400;
        break;
    case FG_EIMAGE_FORMAT:
        status = 415;
        break;
    case FG_EIMAGE_TOO_LARGE:
        status = 413;
        break;
    default:
        break;
    }
    return fg_http_fail(e, status, status == 500 ? "internal" : fg_error_name(err->code), "%s: %s",
                        what, err->message[0] ? err->message : fg_strerror(err->code));
}

static int decode(const fg_server *s, fg_probe_kind kind, const fg_blob *image, const char *what,
                  fg_image *img, double *scale, fg_http_error *e)
{
    fg_error err = {0};
    uint64_t limit =
        kind == FG_PROBE_FRAME ? s->config.frame_max_pixels : s->config.engine.max_pixels;
    int rc = fg_image_decode_scaled(image->data, image->size, limit, FG_PROBE_NEED_SIDE, img, scale,
                                    &err);
    if (rc == FG_OK) return 0;
    engine_error(&err, what, e);
    if (rc == FG_EIMAGE_TOO_LARGE && kind == FG_PROBE_FRAME)
        fg_http_fail(e, 413, fg_error_name(FG_EIMAGE_TOO_LARGE),
                     "%s: a camera frame may have at most %llu pixels (--frame-max-pixels; "
                     "1920x1080 fits): %s",
                     what, (unsigned long long)limit, err.message);
    return -1;
}

static int detect(fg_engine *engine, const fg_image *img, const char *what, fg_face **faces,
                  size_t *count, fg_http_error *e)
{
    fg_error err = {0};
    *faces = NULL;
    *count = 0;
    if (fg_detect(engine, img, faces, count, &err) != FG_OK) return engine_error(&err, what, e);
    return 0;
}

static float shorter_side(const fg_face *f)
{
    return f->box.width < f->box.height ? f->box.width : f->box.height;
}

/* From the decoded (scaled) image's pixels to the image's own. */
static void unscale_face(fg_face *f, double scale)
{
    float k = (float)(1.0 / scale);
    if (scale == 1.0) return;
    f->box.x *= k, f->box.y *= k, f->box.width *= k, f->box.height *= k;
    for (int i = 0; i < FG_LANDMARKS; i++)
        f->landmarks[i].x *= k, f->landmarks[i].y *= k;
}

/* The same for a mesh: its points, crop and iris are in pixels (z too: the same units). */
static void unscale_mesh(fg_face_mesh *m, double scale)
{
    float k = (float)(1.0 / scale);
    if (scale == 1.0) return;
    m->crop.x *= k, m->crop.y *= k, m->crop.width *= k, m->crop.height *= k;
    for (int i = 0; i < FG_MESH_POINTS; i++)
        m->points[i].x *= k, m->points[i].y *= k, m->points[i].z *= k;
    for (int i = 0; i < 2; i++) {
        m->iris[i].x *= k, m->iris[i].y *= k, m->iris[i].z *= k;
        m->iris_radius[i] *= k;
    }
}

/* Decoded size back to the size as sent (the EXIF orientation is already applied to both). */
static int unscaled_side(int side, double scale)
{
    return scale == 1.0 ? side : (int)(side / scale + 0.5);
}

/* The index of the one usable face (box at least min_side, in decoded pixels), -1 when there is
 * none, -2 when there are several; *usable gets how many. */
static long usable_face(float min_side, const fg_face *faces, size_t count, size_t *usable)
{
    long pick = -1;
    *usable = 0;
    for (size_t i = 0; i < count; i++) {
        if (shorter_side(&faces[i]) >= min_side) {
            if (*usable == 0) pick = (long)i;
            (*usable)++;
        }
    }
    return *usable > 1 ? -2 : pick;
}

/* The quality measures of a face of the decoded image; its size in the image's own pixels. */
static int measure_quality(const fg_image *img, const fg_face *face, double scale,
                           fg_face_quality *q, fg_error *err)
{
    int rc = fg_face_quality_measure(img, face, NULL, q, err);
    q->face_px = (float)(q->face_px / scale);
    return rc;
}

/* Refuses a face under the enrolment limits with the check's code and message. */
static int quality_gate(const fg_image *img, const fg_face *face, double scale,
                        const fg_quality_limits *gate, const char *what, fg_http_error *e)
{
    fg_face_quality q;
    fg_error err = {0};
    char message[200];
    if (measure_quality(img, face, scale, &q, &err) != FG_OK)
        return fg_http_fail(e, 500, "internal", "%s: %s", what, err.message);
    fg_quality_verdict v = fg_quality_check(&q, gate, message, sizeof message);
    if (v != FG_QUALITY_OK)
        return fg_http_fail(e, 400, fg_quality_code(v), "%s: %s", what, message);
    return 0;
}

int fg_probe_face(fg_request *req, fg_probe_kind kind, const fg_blob *image, const char *what,
                  const fg_quality_limits *gate, fg_probe *out, fg_http_error *e)
{
    fg_server *s = req->server;
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t count = 0, usable = 0;
    long pick;
    fg_error err = {0};
    double scale = 1.0;
    int rc = -1;

    if (decode(s, kind, image, what, &img, &scale, e) != 0) return -1;
    out->width = unscaled_side(img.width, scale);
    out->height = unscaled_side(img.height, scale);
    if (detect(req->engine, &img, what, &faces, &count, e) != 0) goto out;
    /* the minimum, in decoded pixels */
    pick = usable_face((float)(s->config.min_face_px * scale), faces, count, &usable);
    if (count == 0) {
        fg_http_fail(e, 400, fg_error_name(FG_ENOFACE), "%s: no face found", what);
    } else if (usable == 0) {
        fg_http_fail(e, 400, "face_too_small",
                     "%s: the face is %.0f px across, smaller than the %d px minimum; come closer "
                     "to the camera",
                     what, shorter_side(&faces[0]) / scale, s->config.min_face_px);
    } else if (usable > 1) {
        fg_http_fail(e, 400, "multiple_faces",
                     "%s: %zu faces found; exactly one person must be in the picture", what,
                     usable);
    } else if (!gate || quality_gate(&img, &faces[pick], scale, gate, what, e) == 0) {
        if (fg_describe(req->engine, &img, &faces[pick], out->descriptor, &err) != FG_OK) {
            engine_error(&err, what, e);
        } else {
            out->face = faces[pick];
            unscale_face(&out->face, scale);
            rc = 0;
        }
    }
out:
    free(faces);
    fg_image_free(&img);
    return rc;
}

int fg_probe_detect(fg_request *req, const fg_blob *image, int *width, int *height, fg_face **faces,
                    fg_face_mesh **meshes, size_t *count, fg_face_quality *quality, int *measured,
                    fg_http_error *e)
{
    fg_server *s = req->server;
    fg_image img = {0};
    fg_error err = {0};
    double scale = 1.0;
    size_t usable;
    long pick;
    int rc = 0;
    *meshes = NULL;
    *measured = 0;
    if (decode(s, FG_PROBE_FRAME, image, "image", &img, &scale, e) != 0) return -1;
    *width = unscaled_side(img.width, scale);
    *height = unscaled_side(img.height, scale);
    if (s->config.guidance == FG_GUIDANCE_FAST) {
        if (fg_detect_mesh(req->engine, &img, faces, meshes, count, &err) != FG_OK)
            rc = engine_error(&err, "image", e);
    } else {
        rc = detect(req->engine, &img, "image", faces, count, e);
    }
    if (rc == 0 &&
        (pick = usable_face((float)(s->config.min_face_px * scale), *faces, *count, &usable)) >= 0)
        *measured = measure_quality(&img, &(*faces)[pick], scale, quality, NULL) == FG_OK;
    for (size_t i = 0; rc == 0 && i < *count; i++) {
        unscale_face(&(*faces)[i], scale);
        if (*meshes) unscale_mesh(&(*meshes)[i], scale);
    }
    fg_image_free(&img);
    return rc;
}

int fg_probe_decode_frame(fg_server *s, const fg_blob *image, const char *what, fg_image *img,
                          fg_http_error *e)
{
    double scale = 1.0; /* a frame over FG_PROBE_NEED_SIDE is followed in its scaled pixels */
    return decode(s, FG_PROBE_FRAME, image, what, img, &scale, e);
}
