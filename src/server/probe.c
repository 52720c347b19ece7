/*
 * probe.c - decode (any thread), then detect and describe on an engine from the pool.
 */
#include "server/probe.h"

#include <stdlib.h>

/* Maps an engine error to the HTTP error the API documents. */
static int engine_error(const fg_error *err, const char *what, fg_http_error *e)
{
    int status = 500;
    const char *code = "internal";
    switch (err->code) {
    case FG_EIMAGE_EMPTY:
        status = 400, code = "empty_image";
        break;
    case FG_EIMAGE_FORMAT:
        status = 415, code = "unsupported_image";
        break;
    case FG_EIMAGE_CORRUPT:
        status = 400, code = "corrupt_image";
        break;
    case FG_EIMAGE_TOO_LARGE:
        status = 413, code = "image_too_large";
        break;
    default:
        break;
    }
    return fg_http_fail(e, status, code, "%s: %s", what,
                        err->message[0] ? err->message : fg_strerror(err->code));
}

static int decode(fg_server *s, const fg_blob *image, const char *what, fg_image *img,
                  fg_http_error *e)
{
    fg_error err = {0};
    if (fg_image_decode(image->data, image->size, s->config.engine.max_pixels, img, &err) != FG_OK)
        return engine_error(&err, what, e);
    return 0;
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

/* The index of the one usable face (box at least min_face_px), -1 when there is none, -2
 * when there are several; *usable gets how many. */
static long usable_face(const fg_server *s, const fg_face *faces, size_t count, size_t *usable)
{
    long pick = -1;
    *usable = 0;
    for (size_t i = 0; i < count; i++) {
        if (shorter_side(&faces[i]) >= (float)s->config.min_face_px) {
            if (*usable == 0) pick = (long)i;
            (*usable)++;
        }
    }
    return *usable > 1 ? -2 : pick;
}

/* Refuses a face under the enrolment limits with the check's code and message. */
static int quality_gate(const fg_image *img, const fg_face *face, const fg_quality_limits *gate,
                        const char *what, fg_http_error *e)
{
    fg_face_quality q;
    fg_error err = {0};
    char message[200];
    if (fg_face_quality_measure(img, face, NULL, &q, &err) != FG_OK)
        return fg_http_fail(e, 500, "internal", "%s: %s", what, err.message);
    fg_quality_verdict v = fg_quality_check(&q, gate, message, sizeof message);
    if (v != FG_QUALITY_OK)
        return fg_http_fail(e, 400, fg_quality_code(v), "%s: %s", what, message);
    return 0;
}

int fg_probe_face(fg_server *s, const fg_blob *image, const char *what,
                  const fg_quality_limits *gate, fg_probe *out, fg_http_error *e)
{
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t count = 0, usable = 0;
    long pick;
    fg_engine *engine;
    fg_error err = {0};
    int rc = -1;

    if (decode(s, image, what, &img, e) != 0) return -1;
    out->width = img.width;
    out->height = img.height;
    engine = fg_pool_acquire(s->pool);
    if (detect(engine, &img, what, &faces, &count, e) != 0) goto out;
    pick = usable_face(s, faces, count, &usable);
    if (count == 0) {
        fg_http_fail(e, 400, "no_face", "%s: no face found", what);
    } else if (usable == 0) {
        fg_http_fail(e, 400, "face_too_small",
                     "%s: the face is %.0f px across, smaller than the %d px minimum; come closer "
                     "to the camera",
                     what, shorter_side(&faces[0]), s->config.min_face_px);
    } else if (usable > 1) {
        fg_http_fail(e, 400, "multiple_faces",
                     "%s: %zu faces found; exactly one person must be in the picture", what,
                     usable);
    } else if (!gate || quality_gate(&img, &faces[pick], gate, what, e) == 0) {
        if (fg_describe(engine, &img, &faces[pick], out->descriptor, &err) != FG_OK) {
            engine_error(&err, what, e);
        } else {
            out->face = faces[pick];
            rc = 0;
        }
    }
out:
    fg_pool_release(s->pool, engine);
    free(faces);
    fg_image_free(&img);
    return rc;
}

int fg_probe_detect(fg_server *s, const fg_blob *image, int *width, int *height, fg_face **faces,
                    size_t *count, fg_face_quality *quality, int *measured, fg_http_error *e)
{
    fg_image img = {0};
    fg_engine *engine;
    size_t usable;
    long pick;
    int rc;
    *measured = 0;
    if (decode(s, image, "image", &img, e) != 0) return -1;
    *width = img.width;
    *height = img.height;
    engine = fg_pool_acquire(s->pool);
    rc = detect(engine, &img, "image", faces, count, e);
    fg_pool_release(s->pool, engine);
    if (rc == 0 && (pick = usable_face(s, *faces, *count, &usable)) >= 0)
        *measured = fg_face_quality_measure(&img, &(*faces)[pick], NULL, quality, NULL) == FG_OK;
    fg_image_free(&img);
    return rc;
}
