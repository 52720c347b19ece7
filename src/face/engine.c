/*
 * engine.c - the face pipeline: detect -> 68 landmarks -> align -> 128-d descriptor.
 * ARCH.md section 6 is the reference's glue; this reproduces it, and adds dlib-style alignment
 * (the default), a second detection pass for faces that fill the frame, and the fast path
 * (BlazeFace -> FaceMesh + iris, whose points give the 68 landmarks: face/mesh.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/align.h"
#include "face/mesh.h"
#include "core/cpu.h"
#include "core/error.h"
#include "image/image.h"
#include "models/models.h"

struct fg_engine {
    fg_engine_options opts;
    fgm_ssd *ssd;
    fgm_tiny *tiny;
    fgm_landmarks *landmarks;
    fgm_resnet *resnet;
    fgm_blaze *blaze; /* the fast path, when fast_model_dir is set */
    fgf_mesher *mesher;
    float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3];
};

/* BlazeFace's NMS (Human's iouThreshold) and the most faces one image may give. */
#define BLAZE_IOU 0.1f
#define BLAZE_MAX_FACES 32
/* Faces fg_describe_faces gives the recognition net in one run. The net reads 25 MB of weights
 * a run, which decoding and detecting an image push out of the cache: the fast pipeline on
 * sample1.jpg (three faces, one thread) took 29.4-29.8 ms with the faces described one by one,
 * 26.7-26.9 ms in one run (best of 60, the two alternated). Buffers for four: `facegate embed`
 * on one face peaks at 133.2 MB instead of 131.0. */
#define DESCRIBE_BATCH 4

const char *fg_detector_name(fg_detector detector)
{
    return detector == FG_DETECTOR_SSD     ? "ssd"
           : detector == FG_DETECTOR_TINY  ? "tiny"
           : detector == FG_DETECTOR_BLAZE ? "blaze"
                                           : "?";
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
    opts->mesh_min_confidence = FG_MESH_MIN_CONFIDENCE;
}

int fg_engine_open(const fg_engine_options *opts, fg_engine **out, fg_error *err)
{
    fg_engine *e;
    int rc;

    *out = NULL;
    if (!opts || !opts->model_dir) return fg_fail(err, FG_EINVAL, "no model directory given");
    if (opts->detector != FG_DETECTOR_SSD && opts->detector != FG_DETECTOR_TINY &&
        opts->detector != FG_DETECTOR_BLAZE)
        return fg_fail(err, FG_EINVAL, "unknown detector %d", (int)opts->detector);
    if (opts->detector == FG_DETECTOR_BLAZE && !opts->fast_model_dir)
        return fg_fail(err, FG_EINVAL, "the blaze detector needs the fast path's model folder");
    if (opts->align != FG_ALIGN_DLIB && opts->align != FG_ALIGN_REFERENCE)
        return fg_fail(err, FG_EINVAL, "unknown alignment %d", (int)opts->align);
    if (opts->threads < 0) return fg_fail(err, FG_EINVAL, "threads must be >= 0");
    if (!(e = calloc(1, sizeof *e))) return fg_fail(err, FG_ENOMEM, "out of memory");
    e->opts = *opts;
    if (!(e->opts.min_score > 0 && e->opts.min_score < 1)) e->opts.min_score = 0.5f;
    if (!(e->opts.mesh_min_confidence >= 0 && e->opts.mesh_min_confidence < 1))
        e->opts.mesh_min_confidence = FG_MESH_MIN_CONFIDENCE;
    if (!e->opts.max_pixels) e->opts.max_pixels = FG_DEFAULT_MAX_PIXELS;
    e->opts.tta = opts->tta != 0;
    if (opts->padding != FG_PADDING_NONE && opts->padding != FG_PADDING_ALWAYS)
        e->opts.padding = FG_PADDING_RETRY;

    rc = opts->detector == FG_DETECTOR_SSD
             ? fgm_ssd_open(opts->model_dir, opts->threads, &e->ssd, err)
         : opts->detector == FG_DETECTOR_TINY
             ? fgm_tiny_open(opts->model_dir, opts->threads, &e->tiny, err)
             : FG_OK;
    /* The fast path finds its landmarks in the mesh: no 68-point net. */
    if (!rc && opts->detector != FG_DETECTOR_BLAZE)
        rc = fgm_landmarks_open(opts->model_dir, opts->threads, &e->landmarks, err);
    if (!rc && opts->fast_model_dir)
        rc = fgm_blaze_open(opts->fast_model_dir, opts->threads, &e->blaze, err);
    if (!rc && opts->fast_model_dir)
        rc = fgf_mesher_open(opts->fast_model_dir, opts->threads, &e->mesher, err);
    /* The net takes up to DESCRIBE_BATCH faces a run (with TTA, each face and its mirror
     * image): its weights are read once for all of them. */
    if (!rc)
        rc = fgm_resnet_open(opts->model_dir, opts->threads, DESCRIBE_BATCH * (opts->tta ? 2 : 1),
                             &e->resnet, err);
    if (rc) {
        fg_engine_free(e);
        return rc;
    }
    /* The caller's strings need not outlive this call. */
    e->opts.model_dir = NULL;
    e->opts.fast_model_dir = NULL;
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
    fgm_blaze_free(e->blaze);
    fgf_mesher_free(e->mesher);
    free(e);
}

const fg_engine_options *fg_engine_get_options(const fg_engine *e)
{
    return &e->opts;
}

int fg_engine_decode_image(fg_engine *e, const void *bytes, size_t size, fg_image *out,
                           fg_error *err)
{
    if (!e) return fg_fail(err, FG_EINVAL, "fg_engine_decode_image: engine is NULL");
    const fgi_runner on = fgm_resnet_runner(e->resnet);
    return fgi_image_decode_on(bytes, size, e->opts.max_pixels, 0, &on, out, NULL, err);
}

int fg_engine_load_image(fg_engine *e, const char *path, fg_image *out, fg_error *err)
{
    if (!e) return fg_fail(err, FG_EINVAL, "fg_engine_load_image: engine is NULL");
    const fgi_runner on = fgm_resnet_runner(e->resnet);
    return fgi_image_load_on(path, e->opts.max_pixels, &on, out, err);
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

/* What a detection pass runs: face-api's detector and 68-point net, or the fast path, with the
 * iris net on each face when the caller wants the meshes' eyes (fg_detect_mesh) and without it
 * when only the faces are wanted (fg_detect: the 68 landmarks are FaceMesh's own points). */
typedef enum pass_kind { PASS_FACE_API, PASS_FAST, PASS_FAST_EYES } pass_kind;

/* The faces found in one image; on the fast path meshes[i] goes with faces[i]. */
typedef struct face_list {
    fg_face *faces;
    fg_face_mesh *meshes; /* NULL off the fast path */
    size_t n;
} face_list;

static void list_free(face_list *l)
{
    free(l->faces);
    free(l->meshes);
    memset(l, 0, sizeof *l);
}

static int list_alloc(face_list *l, size_t n, int meshes, fg_error *err)
{
    memset(l, 0, sizeof *l);
    if (!n) return FG_OK;
    l->faces = calloc(n, sizeof *l->faces);
    if (meshes) l->meshes = calloc(n, sizeof *l->meshes);
    if (!l->faces || (meshes && !l->meshes)) {
        list_free(l);
        return fg_fail(err, FG_ENOMEM, "out of memory for %zu faces", n);
    }
    return FG_OK;
}

/* Detection + landmarks of every face the SSD or tiny detector finds in img. */
static int face_api_pass(fg_engine *e, const fg_image *img, face_list *out, fg_error *err)
{
    fgm_detection *dets = NULL;
    size_t n = 0;
    int rc;

    if ((rc = run_detector(e, img, &dets, &n, err))) return rc;
    if ((rc = list_alloc(out, n, 0, err))) {
        free(dets);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = locate(e, img, &dets[i], &out->faces[i], err);
    free(dets);
    if (rc) return list_free(out), rc;
    out->n = n;
    return FG_OK;
}

/* Intersection over union of two boxes. */
static double box_iou(double ax, double ay, double aw, double ah, double bx, double by, double bw,
                      double bh)
{
    double x0 = fmax(ax, bx), y0 = fmax(ay, by);
    double x1 = fmin(ax + aw, bx + bw), y1 = fmin(ay + ah, by + bh);
    double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    double uni = aw * ah + bw * bh - inter;
    return uni > 0 ? inter / uni : 0;
}

/* A face found again overlaps the one found before by more than this (IoU). */
#define SAME_FACE_IOU 0.3

/* The faces a padded pass already knows (the plain pass's), and where the padded image puts
 * the original's pixels: x' = pad + x * sx, y' = pad + y * sy. */
typedef struct known_faces {
    const fg_face *faces;
    size_t n;
    double pad, sx, sy;
} known_faces;

static int is_known(const known_faces *k, const fgm_blaze_box *b)
{
    for (size_t i = 0; k && i < k->n; i++) {
        const fg_box *f = &k->faces[i].box;
        if (box_iou(k->pad + f->x * k->sx, k->pad + f->y * k->sy, f->width * k->sx,
                    f->height * k->sy, b->x1, b->y1, b->x2 - b->x1, b->y2 - b->y1) > SAME_FACE_IOU)
            return 1;
    }
    return 0;
}

/* The fast path's faces: BlazeFace boxes, then FaceMesh (+ iris when `eyes`) in each one's
 * square; faces whose face flag is under the gate are dropped. A box that overlaps a known face
 * (a padded pass finding the plain pass's faces again) is dropped before its FaceMesh run. */
static int fast_pass(fg_engine *e, const fg_image *img, int eyes, const known_faces *known,
                     face_list *out, fg_error *err)
{
    fgm_blaze_box *boxes = NULL;
    size_t n = 0;
    int rc;

    if ((rc = fgm_blaze_detect(e->blaze, img, e->opts.min_score, BLAZE_IOU, BLAZE_MAX_FACES, &boxes,
                               &n, err)))
        return rc;
    if ((rc = list_alloc(out, n, 1, err))) {
        free(boxes);
        return rc;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        double square[4];
        fg_face_mesh *mesh = &out->meshes[out->n];
        fg_face *face = &out->faces[out->n];
        if (is_known(known, &boxes[i])) continue;
        fgf_blaze_square(&boxes[i], square);
        rc = fgf_mesh_square(e->mesher, img, square, eyes, mesh, face, err);
        if (rc || mesh->confidence < e->opts.mesh_min_confidence) continue;
        face->score = boxes[i].score;
        out->n++;
    }
    free(boxes);
    if (rc) list_free(out);
    return rc;
}

/* known: NULL, or the faces a padded pass need not find again (the fast path only). */
static int detect_pass(fg_engine *e, pass_kind kind, const fg_image *img, const known_faces *known,
                       face_list *out, fg_error *err)
{
    memset(out, 0, sizeof *out);
    if (kind == PASS_FACE_API) return face_api_pass(e, img, out, err);
    return fast_pass(e, img, kind == PASS_FAST_EYES, known, out, err);
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
        if (!f || !small || fgi_resize_bilinear_u8(img->rgb, w, h, sw, sh, NULL, f)) {
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
    if (!(out->rgb = fg_calloc_lines((size_t)out->width * out->height, 3))) {
        free(small);
        return FG_ENOMEM;
    }
    for (int y = 0; y < h; y++)
        memcpy(out->rgb + (((size_t)(y + pad) * out->width) + pad) * 3, src + (size_t)y * w * 3,
               (size_t)w * 3);
    free(small);
    return FG_OK;
}

/* A mesh found in the padded image, moved back to the original's pixels. The measures are
 * ratios and angles of the same shape, so they stay. */
static void unpad_mesh(fg_face_mesh *m, int pad, double sx, double sy)
{
    for (int k = 0; k < FG_MESH_POINTS; k++) {
        m->points[k].x = (float)((m->points[k].x - pad) / sx);
        m->points[k].y = (float)((m->points[k].y - pad) / sy);
        m->points[k].z = (float)(m->points[k].z / sx);
    }
    for (int e = 0; e < 2; e++) {
        m->iris[e].x = (float)((m->iris[e].x - pad) / sx);
        m->iris[e].y = (float)((m->iris[e].y - pad) / sy);
        m->iris[e].z = (float)(m->iris[e].z / sx);
        m->iris_radius[e] = (float)(m->iris_radius[e] / sx);
    }
    m->crop.x = (float)((m->crop.x - pad) / sx);
    m->crop.y = (float)((m->crop.y - pad) / sy);
    m->crop.width = (float)(m->crop.width / sx);
    m->crop.height = (float)(m->crop.height / sy);
}

/* A retry for a face that fills the frame, which the detector misses: ALIGN.md measured the
 * SSD finding no face in ~10% of tight LFW photos, and finding 58 of 60 of those once the
 * photo is padded with a black border of half its width. The image is padded with `border`
 * times its longer side on every side. Landmarks are located in the padded image too (the
 * landmark net then sees the whole face box, border included, rather than a box cut at the
 * image edge), then everything is mapped back and the box clipped. Faces whose centre lies in
 * the border are dropped. */
static int detect_padded(fg_engine *e, pass_kind kind, const fg_image *img, double border,
                         const face_list *plain, face_list *out, fg_error *err)
{
    int side = img->width > img->height ? img->width : img->height;
    double scale = fmin(1.0, (double)PAD_MAX_SIDE / ((1 + 2 * border) * side)), sx, sy;
    int pad = (int)lround(side * border * scale);
    fg_image padded = {0};
    face_list found;
    size_t kept = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (pad_image(img, scale, pad, &padded, &sx, &sy))
        return fg_fail(err, FG_ENOMEM, "out of memory padding the image");
    const known_faces known = {plain->faces, plain->n, pad, sx, sy};
    rc = detect_pass(e, kind, &padded, &known, &found, err);
    fg_image_free(&padded);
    if (rc) return rc;
    for (size_t i = 0; i < found.n; i++) {
        fg_face f = found.faces[i];
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
        if (found.meshes) {
            found.meshes[kept] = found.meshes[i];
            unpad_mesh(&found.meshes[kept], pad, sx, sy);
        }
        found.faces[kept++] = f;
    }
    found.n = kept;
    if (!kept) list_free(&found);
    *out = found;
    return FG_OK;
}

/* Appends to `all` the faces of `extra` that overlap none of its first `plain` by more than
 * SAME_FACE_IOU. Takes ownership of extra. */
static int add_new_faces(face_list *all, size_t plain, face_list *extra, fg_error *err)
{
    fg_face *faces;
    fg_face_mesh *meshes;
    if (!extra->n) return list_free(extra), FG_OK;
    faces = realloc(all->faces, (all->n + extra->n) * sizeof *faces);
    if (faces) all->faces = faces;
    meshes = extra->meshes ? realloc(all->meshes, (all->n + extra->n) * sizeof *meshes) : NULL;
    if (meshes) all->meshes = meshes;
    if (!faces || (extra->meshes && !meshes)) {
        list_free(extra);
        return fg_fail(err, FG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < extra->n; i++) {
        const fg_box *b = &extra->faces[i].box;
        int seen = 0;
        for (size_t j = 0; j < plain && !seen; j++) {
            const fg_box *a = &all->faces[j].box;
            seen = box_iou(a->x, a->y, a->width, a->height, b->x, b->y, b->width, b->height) >
                   SAME_FACE_IOU;
        }
        if (seen) continue;
        if (extra->meshes) all->meshes[all->n] = extra->meshes[i];
        all->faces[all->n++] = extra->faces[i];
    }
    list_free(extra);
    return FG_OK;
}

/* Whether one of the faces covers the middle of the image, where the subject of a login frame
 * (or of a portrait) is. When none does, the plain pass may have found only someone beside or
 * behind a subject too large or too close to the edges for it. */
static int covers_centre(const face_list *l, const fg_image *img)
{
    double cx = img->width / 2.0, cy = img->height / 2.0;
    for (size_t i = 0; i < l->n; i++) {
        const fg_box *b = &l->faces[i].box;
        if (b->x <= cx && cx <= b->x + b->width && b->y <= cy && cy <= b->y + b->height) return 1;
    }
    return 0;
}

/* The plain pass is the reference's, unchanged (parity); FG_PADDING_NONE stops there. The
 * padded passes run when none of its faces covers the image centre (FG_PADDING_RETRY: it found
 * nothing, or only someone beside a subject too large or close for it) or always
 * (FG_PADDING_ALWAYS), adding only the faces it missed. A border of half the image finds the
 * tight LFW faces; faces cropped tighter still (chin and forehead cut off, as in
 * ../shared/faces/bbt) need a whole one, tried when nothing else was found. */
static int detect_all(fg_engine *e, pass_kind kind, const fg_image *img, face_list *out,
                      fg_error *err)
{
    face_list extra;
    int rc;

    memset(out, 0, sizeof *out);
    if (!e || !img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "no image");
    if ((rc = detect_pass(e, kind, img, NULL, out, err))) return rc;
    if (e->opts.padding == FG_PADDING_NONE ||
        (e->opts.padding == FG_PADDING_RETRY && covers_centre(out, img)))
        return FG_OK;
    rc = detect_padded(e, kind, img, 0.5, out, &extra, err);
    if (!rc && !extra.n && !out->n) rc = detect_padded(e, kind, img, 1.0, out, &extra, err);
    if (!rc) rc = add_new_faces(out, out->n, &extra, err);
    if (rc) list_free(out);
    return rc;
}

int fg_detect(fg_engine *e, const fg_image *img, fg_face **faces, size_t *count, fg_error *err)
{
    face_list l;
    int rc;
    *faces = NULL;
    *count = 0;
    if (!e) return fg_fail(err, FG_EINVAL, "no engine");
    const pass_kind kind = e->opts.detector == FG_DETECTOR_BLAZE ? PASS_FAST : PASS_FACE_API;
    if ((rc = detect_all(e, kind, img, &l, err))) return rc;
    free(l.meshes);
    *faces = l.faces;
    *count = l.n;
    return FG_OK;
}

int fg_detect_mesh(fg_engine *e, const fg_image *img, fg_face **faces, fg_face_mesh **meshes,
                   size_t *count, fg_error *err)
{
    face_list l;
    int rc;
    *faces = NULL;
    *meshes = NULL;
    *count = 0;
    if (!e || !e->blaze) return fg_fail(err, FG_EINVAL, "the engine has no fast path");
    if ((rc = detect_all(e, PASS_FAST_EYES, img, &l, err))) return rc;
    *faces = l.faces;
    *meshes = l.meshes;
    *count = l.n;
    return FG_OK;
}

int fg_track_mesh(fg_engine *e, const fg_image *img, fg_face_mesh *mesh, fg_face *face,
                  fg_error *err)
{
    fg_face_mesh next;
    fg_face found;
    double square[4];
    int rc;
    if (!e || !e->mesher) return fg_fail(err, FG_EINVAL, "the engine has no fast path");
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || !mesh)
        return fg_fail(err, FG_EINVAL, "no image or mesh");
    if (!(mesh->crop.width > 0 && mesh->crop.height > 0))
        return fg_fail(err, FG_EINVAL, "the mesh has no square to track from");
    fgf_track_square(mesh, square);
    if ((rc = fgf_mesh_square(e->mesher, img, square, 1, &next, &found, err))) return rc;
    if (next.confidence < fminf(e->opts.mesh_min_confidence, FG_MESH_TRACK_MIN_CONFIDENCE))
        return fg_fail(err, FG_ENOFACE, "the face was lost (face flag %.2f)",
                       (double)next.confidence);
    *mesh = next;
    if (face) *face = found;
    return FG_OK;
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

/* Sets the net's slot for a face (and, with test-time augmentation, the next slot for its mirror
 * image). *empty = 1 when its crop is empty: face-api's computeFaceDescriptor answers 128 zeros
 * for one, and the slot is left as it was. */
static int set_face(fg_engine *e, const fg_image *img, const fg_face *face, fg_align align,
                    int slot, int *empty, fg_error *err)
{
    const int tta = e->opts.tta;
    *empty = 0;
    if (align == FG_ALIGN_DLIB) {
        const fgi_runner on = fgm_resnet_runner(e->resnet);
        if (fg_align_dlib_chip_on(img, face->landmarks, e->chip, &on))
            return fg_fail(err, FG_ENOMEM, "out of memory aligning the face");
        fgm_resnet_set_chip(e->resnet, slot, e->chip);
        if (tta) {
            mirror_rows(e->chip, FG_CHIP_SIZE, FG_CHIP_SIZE, 3 * sizeof(float));
            fgm_resnet_set_chip(e->resnet, slot + 1, e->chip);
        }
        return FG_OK;
    }
    const fg_rect *a = &face->align_rect;
    fg_rect r = fg_clip_box(a->x, a->y, a->width, a->height, img->width, img->height);
    fg_image crop = {0};
    int rc;
    if (r.width <= 0 || r.height <= 0) {
        *empty = 1;
        return FG_OK;
    }
    if ((rc = fgi_crop(img, r, &crop, err))) return rc;
    fgm_resnet_set_crop(e->resnet, slot, crop.rgb, crop.width, crop.height);
    if (tta) {
        mirror_rows(crop.rgb, crop.width, crop.height, 3);
        fgm_resnet_set_crop(e->resnet, slot + 1, crop.rgb, crop.width, crop.height);
    }
    fg_image_free(&crop);
    return FG_OK;
}

/* Descriptors of n <= DESCRIBE_BATCH faces in one run of the net. With test-time augmentation a
 * face's descriptor is the mean of its own and its mirror image's. */
static int describe_run(fg_engine *e, const fg_image *img, const fg_face *faces, size_t n,
                        fg_align align, float (*out)[FG_DESCRIPTOR_DIM], fg_error *err)
{
    float run[2 * DESCRIBE_BATCH][FG_DESCRIPTOR_DIM];
    int empty[DESCRIBE_BATCH], live = 0, rc;
    const int per = e->opts.tta ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        if ((rc = set_face(e, img, &faces[i], align, (int)i * per, &empty[i], err))) return rc;
        live += !empty[i];
    }
    if (live && (rc = fgm_resnet_run(e->resnet, (int)n * per, run, err))) return rc;
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < FG_DESCRIPTOR_DIM; d++)
            out[i][d] = empty[i]   ? 0.0f
                        : per == 1 ? run[i][d]
                                   : (run[2 * i][d] + run[2 * i + 1][d]) * 0.5f;
    return FG_OK;
}

int fg_describe_aligned(fg_engine *e, const fg_image *img, const fg_face *face, fg_align align,
                        float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (!e || !img || !img->rgb || !face) return fg_fail(err, FG_EINVAL, "no image or face");
    return describe_run(e, img, face, 1, align, (float(*)[FG_DESCRIPTOR_DIM])descriptor, err);
}

int fg_describe_faces(fg_engine *e, const fg_image *img, const fg_face *faces, size_t n,
                      float (*descriptors)[FG_DESCRIPTOR_DIM], fg_error *err)
{
    int rc;
    if (!e || !img || !img->rgb || (n && (!faces || !descriptors)))
        return fg_fail(err, FG_EINVAL, "no image or faces");
    for (size_t i = 0; i < n; i += DESCRIBE_BATCH) {
        const size_t k = n - i < DESCRIBE_BATCH ? n - i : DESCRIBE_BATCH;
        if ((rc = describe_run(e, img, faces + i, k, e->opts.align, descriptors + i, err)))
            return rc;
    }
    return FG_OK;
}

int fg_describe(fg_engine *e, const fg_image *img, const fg_face *face,
                float descriptor[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (!e) return fg_fail(err, FG_EINVAL, "no engine");
    return fg_describe_aligned(e, img, face, e->opts.align, descriptor, err);
}
