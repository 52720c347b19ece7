/*
 * mesh.c - FaceMesh and iris on one face square, as @vladmandic/human 3.3.6 does it, and what
 * is measured from the points.
 *
 * Human's steps (facemesh.ts predict, iris.ts augmentIris, facemeshutil.ts):
 *   1. the face square is cut from the image and resized to 192x192 (tf.image.cropAndResize,
 *      zeros outside the image), / 255; FaceMesh gives 468 (x, y, z) in crop pixels and the
 *      face flag;
 *   2. around each eye (the two corners' bounding box enlarged 2.3 times, made square, rounded)
 *      a 64x64 crop of the 192 crop goes to the iris net, both eyes in one batch. The net sees
 *      the subject's right eye as it is and the left eye flipped left-right (its points are
 *      flipped back). Human 3.3.6 flips both crops but maps only the left eye's points back, so
 *      its right-eye contour comes out mirrored about the middle of the eye's box: against the
 *      68-point net on LFW its right-eye landmarks are off by 0.084 of the distance between the
 *      eyes, 0.052 done right (the left eye's: 0.045). fgf_mesher_human_eyes() restores Human's
 *      way, for the parity tests;
 *   3. the iris net's eye contours replace the mesh's (z averaged), all of them when the two eye
 *      corners' depths differ by less than 30, else only the nearer eye's lids; its iris points
 *      are appended (468..477) with z taken from the lids;
 *   4. the points are scaled from the crop to the square and moved to its centre. Human then
 *      truncates them to integers; these keep the fractions (Human's values are their trunc).
 * Head pose is Human's calculateFaceAngle (angles.ts) on these points.
 */
#include "face/mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/align.h"
#include "core/error.h"
#include "image/image.h"

#define CROP FGM_MESH_INPUT /* 192 */
#define EYE FGM_IRIS_INPUT  /* 64 */
#define EYE_SCALE 2.3       /* config.face.iris.scale */
#define FACE_SCALE 1.4      /* config.face.detector.scale */

struct fgf_mesher {
    fgm_mesh *mesh;
    fgm_iris *iris;
    int human_eyes; /* 1: flip the right eye's crop too, as Human does (see above) */
};

/* The mesh point standing for each iBUG-68 landmark: of the 468, the one nearest on average
 * (in eye distances) to face-api's 68-point net's landmark, on 600 LFW View 1 DevTrain photos
 * (the descriptor's chips are aligned on these points, so they should sit where the 68-point
 * net puts its own). Human's VTX68 (facemeshcoords.ts) is 0.096 eye distances from the net's
 * points on 599 other DevTrain photos, this map 0.068 (the 33 points the
 * alignment uses: 0.063 and 0.043). README ("The fast path") has the table. */
static const short mesh_to_68[FG_LANDMARKS] = {
    127, 234, 93,  132, 138, 136, 150, 140, 175, 369, 395, 365, 367, 435, 323, 447, 356, /* jaw */
    71,  63,  105, 66,  107, 336, 296, 334, 293, 300,                                    /* brows */
    168, 197, 5,   4,   75,  99,  2,   462, 290,                                         /* nose */
    247, 160, 158, 173, 153, 163, 362, 385, 387, 466, 373, 380,                          /* eyes */
    61,  39,  37,  0,   267, 269, 306, 404, 315, 17,  84,  91,                           /* lips */
    76,  81,  12,  268, 308, 317, 14,  87,                                               /* mouth */
};

/* The eye regions of the mesh (Human's meshAnnotations: EyeUpper0..2, EyeLower0..3,
 * EyebrowUpper, EyebrowLower), for the subject's left eye [0] and right eye [1], and the iris
 * net's points that replace them (irisIndices: the same for both eyes). */
#define REGIONS 9
static const short region_mesh[2][REGIONS][9] = {
    {
        {466, 388, 387, 386, 385, 384, 398},
        {467, 260, 259, 257, 258, 286, 414},
        {342, 445, 444, 443, 442, 441, 413},
        {263, 249, 390, 373, 374, 380, 381, 382, 362},
        {359, 255, 339, 254, 253, 252, 256, 341, 463},
        {446, 261, 448, 449, 450, 451, 452, 453, 464},
        {372, 340, 346, 347, 348, 349, 350, 357, 465},
        {383, 300, 293, 334, 296, 336, 285, 417},
        {265, 353, 276, 283, 282, 295},
    },
    {
        {246, 161, 160, 159, 158, 157, 173},
        {247, 30, 29, 27, 28, 56, 190},
        {113, 225, 224, 223, 222, 221, 189},
        {33, 7, 163, 144, 145, 153, 154, 155, 133},
        {130, 25, 110, 24, 23, 22, 26, 112, 243},
        {226, 31, 228, 229, 230, 231, 232, 233, 244},
        {143, 111, 117, 118, 119, 120, 121, 128, 245},
        {156, 70, 63, 105, 66, 107, 55, 193},
        {35, 124, 46, 53, 52, 65},
    },
};
static const struct {
    short iris[9];
    int n;
    int lids; /* EyeUpper0 / EyeLower0: replaced even when the eyes' depths differ */
} regions[REGIONS] = {
    {{9, 10, 11, 12, 13, 14, 15}, 7, 1},
    {{25, 26, 27, 28, 29, 30, 31}, 7, 0},
    {{41, 42, 43, 44, 45, 46, 47}, 7, 0},
    {{0, 1, 2, 3, 4, 5, 6, 7, 8}, 9, 1},
    {{16, 17, 18, 19, 20, 21, 22, 23, 24}, 9, 0},
    {{32, 33, 34, 35, 36, 37, 38, 39, 40}, 9, 0},
    {{54, 55, 56, 57, 58, 59, 60, 61, 62}, 9, 0},
    {{63, 64, 65, 66, 67, 68, 69, 70}, 8, 0},
    {{48, 49, 50, 51, 52, 53}, 6, 0},
};

/* The eye corners that bound each eye's crop (leftEyeLower0 / rightEyeLower0, first and last). */
static const short eye_corners[2][2] = {{263, 362}, {33, 133}};
/* The lid points whose depth the iris points take: EyeUpper0[3], EyeLower0[4]. */
static const short lid_centre[2][2] = {{386, 374}, {159, 145}};

int fgf_mesher_open(const char *model_dir, int threads, fgf_mesher **out, fg_error *err)
{
    fgf_mesher *m;
    int rc;
    *out = NULL;
    if (!(m = calloc(1, sizeof *m))) return fg_fail(err, FG_ENOMEM, "out of memory for FaceMesh");
    rc = fgm_mesh_open(model_dir, threads, &m->mesh, err);
    if (!rc) rc = fgm_iris_open(model_dir, threads, &m->iris, err);
    if (rc) {
        fgf_mesher_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgf_mesher_free(fgf_mesher *m)
{
    if (!m) return;
    fgm_mesh_free(m->mesh);
    fgm_iris_free(m->iris);
    free(m);
}

fgm_mesh *fgf_mesher_mesh(fgf_mesher *m)
{
    return m->mesh;
}

fgm_iris *fgf_mesher_iris(fgf_mesher *m)
{
    return m->iris;
}

/* JavaScript's Math.round: the nearest integer, halves towards +infinity. */
static double js_round(double x)
{
    double f = floor(x);
    return x - f >= 0.5 ? f + 1 : f;
}

/* enlargeBox(box, factor) then squarifyBox: a square of the longer enlarged side about the same
 * centre, corners rounded. */
static void enlarge_square(double x1, double y1, double x2, double y2, double factor, double out[4])
{
    double cx = x1 + (x2 - x1) / 2, cy = y1 + (y2 - y1) / 2;
    double hw = factor * fabs(x2 - x1) / 2, hh = factor * fabs(y2 - y1) / 2;
    double ex1 = cx - hw, ey1 = cy - hh, ex2 = cx + hw, ey2 = cy + hh;
    double scx = ex1 + (ex2 - ex1) / 2, scy = ey1 + (ey2 - ey1) / 2;
    double half = fmax(fabs(ex2 - ex1), fabs(ey2 - ey1)) / 2;
    out[0] = js_round(scx - half);
    out[1] = js_round(scy - half);
    out[2] = js_round(scx + half);
    out[3] = js_round(scy + half);
}

void fgf_blaze_square(const fgm_blaze_box *d, double box[4])
{
    enlarge_square(d->x1, d->y1, d->x2, d->y2, FACE_SCALE, box);
}

void fgf_track_square(const fg_face_mesh *p, double box[4])
{
    double minx = INFINITY, miny = INFINITY, maxx = -INFINITY, maxy = -INFINITY;
    double w = p->crop.width, h = p->crop.height;
    for (int i = 0; i < FG_MESH_POINTS; i++) {
        minx = fmin(minx, p->points[i].x), maxx = fmax(maxx, p->points[i].x);
        miny = fmin(miny, p->points[i].y), maxy = fmax(maxy, p->points[i].y);
    }
    double cx = minx + (maxx - minx) / 2, cy = miny + (maxy - miny) / 2;
    box[0] = cx - w / 2;
    box[1] = cy - h / 2;
    box[2] = cx + w / 2;
    box[3] = cy + h / 2;
}

/* Crops box (x1, y1, x2, y2 in src pixels) to size x size as cutAndResize / getEyeBox do. */
static int crop_square(const fgi_pixels *src, const double box[4], double scale_w, double scale_h,
                       int size, const fgi_norm *norm, float *out, const fgi_runner *on)
{
    const float rel[4] = {(float)(box[1] / scale_h), (float)(box[0] / scale_w),
                          (float)(box[3] / scale_h), (float)(box[2] / scale_w)};
    return fgi_crop_and_resize_on(src, rel, size, size, 0.0f, norm, out, on);
}

/* getEyeBox: the square around an eye's two corners (192-crop pixels), enlarged 2.3 times. */
static void eye_square(const float *raw, int eye, double box[4])
{
    const float *a = raw + 3 * eye_corners[eye][0], *b = raw + 3 * eye_corners[eye][1];
    enlarge_square(fmin(a[0], b[0]), fmin(a[1], b[1]), fmax(a[0], b[0]), fmax(a[1], b[1]),
                   EYE_SCALE, box);
}

int fgf_face_crop_on(const fg_image *img, const double box[4], float *out, const fgi_runner *on)
{
    const fgi_pixels image = {img->rgb, NULL, img->width, img->height, 3};
    const fgi_norm norm = {255.0f, 0.0f}; /* tf.div(crop, 255) */
    return crop_square(&image, box, img->width, img->height, CROP, &norm, out, on);
}

int fgf_face_crop(const fg_image *img, const double box[4], float *out)
{
    return fgf_face_crop_on(img, box, out, NULL);
}

int fgf_eye_crops(const float *face, const float *raw, int human_eyes, float *out, double box[2][4])
{
    const fgi_pixels src = {NULL, face, CROP, CROP, 3};
    for (int e = 0; e < 2; e++) {
        float *slot = out + (size_t)e * EYE * EYE * 3;
        int rc;
        eye_square(raw, e, box[e]);
        if ((rc = crop_square(&src, box[e], CROP, CROP, EYE, NULL, slot, NULL))) return rc;
        if (e == 0 || human_eyes) fgi_flip_left_right(slot, EYE, EYE, 3);
    }
    return FG_OK;
}

int fgf_right_eye_point(int index)
{
    if (index >= FG_MESH_IRIS_RIGHT && index < FG_MESH_POINTS) return 1;
    for (int r = 0; r < REGIONS; r++)
        for (int j = 0; j < regions[r].n; j++)
            if (region_mesh[1][r][j] == index) return 1;
    return 0;
}

void fgf_mesher_human_eyes(fgf_mesher *m, int on)
{
    m->human_eyes = on != 0;
}

/* Runs the iris net on both eyes and merges its points into pts (478 x 3, crop pixels), as
 * augmentIris does. raw: FaceMesh's 468 points. */
static int add_iris(fgf_mesher *m, const float *raw, double pts[FG_MESH_POINTS][3], fg_error *err)
{
    double box[2][4];
    const float *out;
    double eye[2][FGM_IRIS_POINTS][3];
    int rc;

    /* The eyes are cut from the face crop, still in FaceMesh's input: the net only reads it. */
    if ((rc = fgf_eye_crops(fgm_mesh_input(m->mesh), raw, m->human_eyes, fgm_iris_input(m->iris),
                            box)))
        return fg_fail(err, rc, "cannot crop the eyes");
    if ((rc = fgm_iris_forward(m->iris, &out, err))) return rc;
    /* getEyeCoords: eye 0 (the subject's left) mapped back flipped, eye 1 as it is. */
    for (int e = 0; e < 2; e++) {
        double bw = fabs(box[e][2] - box[e][0]), bh = fabs(box[e][3] - box[e][1]);
        for (int i = 0; i < FGM_IRIS_POINTS; i++) {
            const float *p = out + ((size_t)e * FGM_IRIS_POINTS + i) * 3;
            double x = (double)p[0] / EYE;
            eye[e][i][0] = (e == 0 ? 1 - x : x) * bw + box[e][0];
            eye[e][i][1] = (double)p[1] / EYE * bh + box[e][1];
            eye[e][i][2] = p[2];
        }
    }
    /* Both eyes' contours when the corners' depths are close, else only the lids of the eye
     * whose outer corner is the deeper one (Human's leftToRightEyeDepthDifference). */
    double depth = (double)raw[3 * eye_corners[0][0] + 2] - raw[3 * eye_corners[1][0] + 2];
    for (int e = 0; e < 2; e++) {
        int all = fabs(depth) < 30, lids = !all && (e == 0 ? depth < 1 : depth >= 1);
        if (!all && !lids) continue;
        for (int r = 0; r < REGIONS; r++) {
            if (!all && !regions[r].lids) continue;
            for (int j = 0; j < regions[r].n; j++) {
                double *p = pts[region_mesh[e][r][j]];
                const double *q = eye[e][regions[r].iris[j]];
                p[0] = q[0];
                p[1] = q[1];
                p[2] = (q[2] + p[2]) / 2;
            }
        }
    }
    /* getAdjustedIrisCoords: the iris's own z is unreliable; take the lids' depths. */
    for (int e = 0; e < 2; e++) {
        double upper = pts[lid_centre[e][0]][2], lower = pts[lid_centre[e][1]][2];
        for (int i = 0; i < 5; i++) {
            double *p = pts[FG_MESH_IRIS_LEFT + 5 * e + i];
            p[0] = eye[e][71 + i][0];
            p[1] = eye[e][71 + i][1];
            p[2] = i == 2 ? upper : i == 4 ? lower : (upper + lower) / 2;
        }
    }
    return FG_OK;
}

static double dist3(const fg_point3 *a, const fg_point3 *b)
{
    double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
    return sqrt(dx * dx + dy * dy + dz * dz);
}

/* calculateFaceAngle (angles.ts): an orthonormal frame from the top-bottom (10 -> 152) and
 * side-side (234 -> 454) axes, x and y scaled by 1.5 / the box size, z the raw crop depth / 192,
 * then the YZX Euler angles of that rotation, signs as Human returns them. */
static void head_pose(const double pts[FG_MESH_POINTS][3], double box_side, fg_face_mesh *out)
{
    static const short axis[4] = {10, 152, 234, 454};
    double p[4][3], x[3], y[3], z[3], n;
    double size = box_side / 1.5;
    for (int i = 0; i < 4; i++) {
        p[i][0] = pts[axis[i]][0] / size;
        p[i][1] = pts[axis[i]][1] / size;
        p[i][2] = pts[axis[i]][2] / CROP;
    }
    for (int k = 0; k < 3; k++)
        y[k] = p[1][k] - p[0][k], x[k] = p[3][k] - p[2][k];
    n = sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]);
    for (int k = 0; k < 3; k++)
        y[k] /= n;
    n = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    for (int k = 0; k < 3; k++)
        x[k] /= n;
    z[0] = x[1] * y[2] - x[2] * y[1];
    z[1] = x[2] * y[0] - x[0] * y[2];
    z[2] = x[0] * y[1] - x[1] * y[0];
    n = sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
    for (int k = 0; k < 3; k++)
        z[k] /= n;
    x[0] = y[1] * z[2] - y[2] * z[1];
    x[1] = y[2] * z[0] - y[0] * z[2];
    x[2] = y[0] * z[1] - y[1] * z[0];
    /* Rows x, y, z: r10 = y[0], r00 = x[0], r20 = z[0], r11 = y[1], r12 = y[2]. */
    double tz, ty, tx;
    if (y[0] < 1 && y[0] > -1) {
        tz = atan2(y[0], sqrt(x[0] * x[0] + z[0] * z[0]));
        ty = atan2(-z[0], x[0]);
        tx = atan2(-y[2], y[1]);
    } else {
        tz = y[0] >= 1 ? M_PI / 2 : -M_PI / 2;
        ty = y[0] >= 1 ? atan2(z[1], z[2]) : -atan2(z[1], z[2]);
        tx = 0;
    }
    const double deg = 180 / M_PI;
    out->pitch = (float)(isnan(tx) ? 0 : -tx * deg);
    out->yaw = (float)(isnan(ty) ? 0 : -ty * deg);
    out->roll = (float)(isnan(tz) ? 0 : -tz * deg);
}

/* The per-frame measures from the points in image units. */
static void measures(fg_face_mesh *out)
{
    /* Eye aspect ratio on the six points the 68-point map uses per eye: corners (p1, p4), upper
     * lid (p2, p3), lower lid (p6, p5): (|p2 p6| + |p3 p5|) / (2 |p1 p4|). */
    static const short eye6[2][6] = {{362, 385, 387, 263, 373, 380}, {33, 160, 158, 133, 153, 144}};
    const fg_point3 *q = out->points;
    for (int e = 0; e < 2; e++) {
        const short *k = eye6[e == FG_EYE_RIGHT ? 1 : 0];
        double width = dist3(&q[k[0]], &q[k[3]]);
        double gap = dist3(&q[k[1]], &q[k[5]]) + dist3(&q[k[2]], &q[k[4]]);
        out->eye_openness[e] = width > 0 ? (float)(gap / (2 * width)) : 0.0f;
        /* The subject's left eye's iris is 468..472, the right eye's 473..477. */
        const fg_point3 *iris = &q[e == FG_EYE_LEFT ? FG_MESH_IRIS_LEFT : FG_MESH_IRIS_RIGHT];
        double r = 0;
        for (int i = 1; i <= 4; i++)
            r += dist3(&iris[0], &iris[i]);
        out->iris[e] = iris[0];
        out->iris_radius[e] = (float)(r / 4);
    }
    /* Inner lips: 13 (upper middle), 14 (lower middle) over the corners 78, 308. */
    double mouth = dist3(&q[78], &q[308]);
    out->mouth_openness = mouth > 0 ? (float)(dist3(&q[13], &q[14]) / mouth) : 0.0f;
}

/* transformRawCoords without rotation: crop pixels -> image pixels about the square's centre.
 * z is scaled like x, so that the points are one 3-D shape in image units. */
typedef struct square_map {
    double bw, bh, cx, cy;
} square_map;

static void to_image(const square_map *s, const double p[3], double q[3])
{
    q[0] = s->bw / CROP * (p[0] - CROP / 2.0) + s->cx;
    q[1] = s->bh / CROP * (p[1] - CROP / 2.0) + s->cy;
    q[2] = p[2] * s->bw / CROP;
}

/* The fg_face of FaceMesh's own points (crop pixels; before the iris net refines the eyes):
 * the face's extent (forehead to chin, cheek to cheek) clipped to the image, as tight as the
 * other detectors' boxes, so size and centring rules mean the same for all; the 68 landmarks;
 * the reference alignment rect. */
static void face_of(const double pts[][3], const square_map *s, const fg_box *crop, float score,
                    int image_w, int image_h, fg_face *out)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    memset(out, 0, sizeof *out);
    out->score = score;
    double q[3];
    for (int i = 0; i < FGM_MESH_POINTS; i++) {
        to_image(s, pts[i], q);
        x0 = fmin(x0, (float)q[0]), x1 = fmax(x1, (float)q[0]);
        y0 = fmin(y0, (float)q[1]), y1 = fmax(y1, (float)q[1]);
    }
    x0 = fmax(0, x0), y0 = fmax(0, y0), x1 = fmin(image_w, x1), y1 = fmin(image_h, y1);
    out->box.x = (float)x0;
    out->box.y = (float)y0;
    out->box.width = (float)fmax(0, x1 - x0);
    out->box.height = (float)fmax(0, y1 - y0);
    for (int i = 0; i < FG_LANDMARKS; i++) {
        to_image(s, pts[mesh_to_68[i]], q);
        out->landmarks[i].x = (float)q[0];
        out->landmarks[i].y = (float)q[1];
    }
    out->landmark_crop = fg_clip_box(crop->x, crop->y, crop->width, crop->height, image_w, image_h);
    out->align_rect = fg_align_reference_rect(out->landmarks, image_w, image_h);
}

int fgf_mesh_square(fgf_mesher *m, const fg_image *img, const double box[4], int iris,
                    fg_face_mesh *out, fg_face *face, fg_error *err)
{
    float *in = fgm_mesh_input(m->mesh), confidence;
    const float *raw;
    double pts[FG_MESH_POINTS][3];
    int rc;

    const fgi_runner on = fgm_mesh_runner(m->mesh);
    memset(out, 0, sizeof *out);
    if ((rc = fgf_face_crop_on(img, box, in, &on)))
        return fg_fail(err, rc, "cannot crop the face for FaceMesh");
    if ((rc = fgm_mesh_forward(m->mesh, &raw, &confidence, err))) return rc;
    out->confidence = confidence;
    for (int i = 0; i < FGM_MESH_POINTS; i++)
        for (int k = 0; k < 3; k++)
            pts[i][k] = raw[3 * i + k];

    const square_map s = {fabs(box[2] - box[0]), fabs(box[3] - box[1]),
                          box[0] + (box[2] - box[0]) / 2, box[1] + (box[3] - box[1]) / 2};
    out->crop = (fg_box){(float)box[0], (float)box[1], (float)s.bw, (float)s.bh};
    if (face)
        face_of((const double(*)[3])pts, &s, &out->crop, confidence, img->width, img->height, face);
    if (iris && (rc = add_iris(m, raw, pts, err))) return rc;
    for (int i = 0; i < (iris ? FG_MESH_POINTS : FGM_MESH_POINTS); i++) {
        double q[3];
        to_image(&s, pts[i], q);
        out->points[i] = (fg_point3){(float)q[0], (float)q[1], (float)q[2]};
        pts[i][0] = q[0];
        pts[i][1] = q[1];
    }
    head_pose((const double(*)[3])pts, fmax(s.bw, s.bh), out);
    if (iris) measures(out);
    return FG_OK;
}

void fgf_human_box(const fg_face_mesh *mesh, int image_w, int image_h, fg_box *out)
{
    double box[4];
    /* calculateFaceBox then clampBox: the square's size about the points' middle. */
    fgf_track_square(mesh, box);
    double x0 = fmax(0, box[0]), y0 = fmax(0, box[1]);
    out->x = (float)trunc(x0);
    out->y = (float)trunc(y0);
    out->width = (float)trunc(fmin(image_w, box[2]) - x0);
    out->height = (float)trunc(fmin(image_h, box[3]) - y0);
}
