/*
 * clip.c - a clip's frames through the fast path as the server runs a webcam stream (clip.h).
 */
#include "eval/clip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveness/liveness.h"
#include "video/video.h"

/* A still is shown at this rate (the dev clips' and a webcam's). */
#define STILL_FPS 15.0

struct fg_clip_reader {
    fgv_reader *video;
    fg_image still;
    int still_frames, index;
    fg_clip_frame frame;
    fg_clip_frame still_frame; /* a still's faces, found once */
    fg_face_mesh prev;         /* the last frame's main face, followed when BlazeFace misses */
    int have_prev;
};

static int fail(fg_error *err, int code, const char *msg, const char *path)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s: %s", path, msg);
    }
    return code;
}

int fg_clip_open(const char *path, double still_seconds, uint64_t max_pixels, fg_clip_reader **out,
                 fg_error *err)
{
    fg_clip_reader *r = calloc(1, sizeof *r);
    int rc;
    *out = NULL;
    if (!r) return fail(err, FG_ENOMEM, "out of memory", path);
    rc = fg_image_load(path, max_pixels, &r->still, err);
    if (rc == FG_OK) {
        r->still_frames = still_seconds > 0 ? (int)(still_seconds * STILL_FPS + 0.5) : 1;
    } else if (rc == FG_EIMAGE_FORMAT) {
        if ((rc = fgv_open(path, max_pixels, &r->video, err))) {
            free(r);
            return rc;
        }
    } else {
        free(r);
        return rc;
    }
    *out = r;
    return FG_OK;
}

void fg_clip_close(fg_clip_reader *r)
{
    if (!r) return;
    fgv_close(r->video);
    fg_image_free(&r->still);
    free(r->frame.faces);
    free(r->frame.meshes);
    free(r->still_frame.faces);
    free(r->still_frame.meshes);
    free(r);
}

/* *dst = *src with its own copies of the face arrays. */
static int copy_frame(fg_clip_frame *dst, const fg_clip_frame *src)
{
    *dst = *src;
    dst->faces = NULL;
    dst->meshes = NULL;
    if (!src->count) return 0;
    dst->faces = malloc(src->count * sizeof *src->faces);
    dst->meshes = malloc(src->count * sizeof *src->meshes);
    if (!dst->faces || !dst->meshes) {
        free(dst->faces);
        free(dst->meshes);
        dst->faces = NULL, dst->meshes = NULL, dst->count = 0;
        return -1;
    }
    memcpy(dst->faces, src->faces, src->count * sizeof *src->faces);
    memcpy(dst->meshes, src->meshes, src->count * sizeof *src->meshes);
    return 0;
}

int fg_clip_main_face(const fg_clip_frame *f, float min_confidence)
{
    int best = -1;
    for (size_t i = 0; i < f->count; i++)
        if (f->meshes[i].confidence >= min_confidence &&
            (best < 0 || f->faces[i].box.width > f->faces[best].box.width))
            best = (int)i;
    return best;
}

int fg_clip_next(fg_clip_reader *r, fg_engine *e, fg_clip_frame *frame, fg_image *img,
                 fg_error *err)
{
    fg_image pixels;
    double t;
    int rc;

    free(r->frame.faces);
    free(r->frame.meshes);
    memset(&r->frame, 0, sizeof r->frame);
    if (r->video) {
        if ((rc = fgv_next(r->video, &pixels, &t, err))) return rc == FGV_END ? 1 : rc;
    } else {
        if (r->index >= r->still_frames) return 1;
        pixels = r->still;
        t = r->index / STILL_FPS;
        /* The same pixels give the same faces: the first frame's, copied. */
        if (r->index > 0) {
            r->index++;
            if (copy_frame(&r->frame, &r->still_frame))
                return fail(err, FG_ENOMEM, "out of memory", "frame");
            r->frame.t = t;
            *frame = r->frame;
            if (img) *img = pixels;
            return FG_OK;
        }
    }
    r->index++;
    r->frame.t = t;
    if ((rc = fgl_find_faces(e, &pixels, r->have_prev ? &r->prev : NULL, &r->frame.faces,
                             &r->frame.meshes, &r->frame.count, &r->frame.tracked, err)))
        return rc;
    if (!r->video && copy_frame(&r->still_frame, &r->frame))
        return fail(err, FG_ENOMEM, "out of memory", "frame");
    int main = fg_clip_main_face(&r->frame, 0);
    r->have_prev = main >= 0;
    if (main >= 0) r->prev = r->frame.meshes[main];
    *frame = r->frame;
    if (img) *img = pixels;
    return FG_OK;
}

void fg_clip_free(fg_clip *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->frames[i].faces);
        free(c->frames[i].meshes);
    }
    free(c->frames);
    free(c->descriptors);
    free(c->has_desc);
    memset(c, 0, sizeof *c);
}

int fg_clip_load(fg_engine *e, const char *path, double still_seconds, int describe_every,
                 fg_clip *out, fg_error *err)
{
    fg_clip_reader *r = NULL;
    fg_clip_frame f;
    fg_image img;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = fg_clip_open(path, still_seconds, 0, &r, err))) return rc;
    while ((rc = fg_clip_next(r, e, &f, &img, err)) == FG_OK) {
        if (out->n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            fg_clip_frame *nf = realloc(out->frames, ncap * sizeof *nf);
            float(*nd)[FG_DESCRIPTOR_DIM] = NULL;
            unsigned char *nh = NULL;
            if (nf) out->frames = nf;
            if (nf && describe_every > 0) {
                if ((nd = realloc(out->descriptors, ncap * sizeof *nd))) out->descriptors = nd;
                if (nd && (nh = realloc(out->has_desc, ncap))) out->has_desc = nh;
            }
            if (!nf || (describe_every > 0 && (!nd || !nh))) {
                rc = fail(err, FG_ENOMEM, "out of memory", path);
                break;
            }
            cap = ncap;
        }
        fg_clip_frame *dst = &out->frames[out->n];
        *dst = f;
        /* The reader owns f's arrays until its next call: take them over. */
        r->frame.faces = NULL;
        r->frame.meshes = NULL;
        if (describe_every > 0) {
            int main = fg_clip_main_face(dst, 0);
            out->has_desc[out->n] = 0;
            if (main >= 0 && out->n % (size_t)describe_every == 0 &&
                fg_describe(e, &img, &dst->faces[main], out->descriptors[out->n], err) == FG_OK)
                out->has_desc[out->n] = 1;
        }
        out->n++;
    }
    fg_clip_close(r);
    if (rc != 1) {
        fg_clip_free(out);
        return rc;
    }
    return FG_OK;
}
