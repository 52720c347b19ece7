/*
 * The whole pipeline (detect -> landmarks -> reference crop -> descriptor) against the
 * reference's outputs.
 *
 * 1. Identical pixels (golden/pixels/<image>.png, decoded by jpeg-js in the reference) vs
 *    golden/<image>.json backends.cpu: same faces in the same order, the same integer landmark
 *    and descriptor crops, landmarks within 0.05 px, descriptor L2 < 1e-4.
 * 2. From the JPEG files themselves (libjpeg-turbo) vs golden/libjpeg/<image>.json: the same
 *    faces (IoU >= 0.95), landmarks within 1.0 px, descriptor cosine similarity >= 0.9999.
 * Both detectors. FG_TEST_QUICK=1 (sanitizer runs) checks two images only.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *images[] = {"single640.jpg", "sample1.jpg", "sample2.jpg", "sample3.jpg",
                               "sample4.jpg",   "sample5.jpg", "sample6.jpg"};

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static int rect_is(fg_rect r, json_t *o)
{
    return r.x == num(o, "x") && r.y == num(o, "y") && r.width == num(o, "w") &&
           r.height == num(o, "h");
}

static double max_landmark_error(const fg_face *f, json_t *landmarks)
{
    double max = 0;
    if (json_array_size(landmarks) != FG_LANDMARKS) return INFINITY;
    for (int i = 0; i < FG_LANDMARKS; i++) {
        json_t *p = json_array_get(landmarks, i);
        double dx = fabs(f->landmarks[i].x - json_number_value(json_array_get(p, 0)));
        double dy = fabs(f->landmarks[i].y - json_number_value(json_array_get(p, 1)));
        if (!(dx <= max)) max = dx;
        if (!(dy <= max)) max = dy;
    }
    return max;
}

static void descriptor_compare(const float *d, json_t *want, double *l2, double *cosine)
{
    double s = 0, ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        double w = json_number_value(json_array_get(want, i));
        s += (d[i] - w) * (d[i] - w);
        ab += d[i] * w, aa += (double)d[i] * d[i], bb += w * w;
    }
    *l2 = sqrt(s);
    *cosine = ab / sqrt(aa * bb);
}

static double iou(const fg_box *a, json_t *b)
{
    double bx = num(b, "x"), by = num(b, "y"), bw = num(b, "w"), bh = num(b, "h");
    double x0 = fmax(a->x, bx), y0 = fmax(a->y, by);
    double x1 = fmin(a->x + a->width, bx + bw), y1 = fmin(a->y + a->height, by + bh);
    double inter = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    return inter / (a->width * a->height + bw * bh - inter);
}

/* Runs the pipeline on one file; returns the faces (caller frees) and their descriptors. */
static fg_face *run(fg_engine *e, const char *path, size_t *n, float (**desc)[FG_DESCRIPTOR_DIM])
{
    fg_image img = {0};
    fg_face *faces = NULL;
    fg_error err = {0};
    *n = 0;
    *desc = NULL;
    CHECKF(fg_image_load(path, 0, &img, &err) == FG_OK, "%s: %s", path, err.message);
    if (!img.rgb) return NULL;
    CHECKF(fg_detect(e, &img, &faces, n, &err) == FG_OK, "%s: %s", path, err.message);
    *desc = calloc(*n ? *n : 1, sizeof **desc);
    for (size_t i = 0; i < *n; i++)
        CHECKF(fg_describe(e, &img, &faces[i], (*desc)[i], &err) == FG_OK, "%s: %s", path,
               err.message);
    fg_image_free(&img);
    return faces;
}

static void same_pixels(fg_engine *e, const char *det, const char *image)
{
    char rel[256], png[256];
    json_error_t jerr;
    snprintf(rel, sizeof rel, "golden/%s.json", image);
    json_t *golden = json_load_file(fg_test_shared(rel), 0, &jerr);
    CHECKF(golden != NULL, "%s: %s", rel, jerr.text);
    if (!golden) return;
    json_t *want = json_object_get(
        json_object_get(json_object_get(json_object_get(golden, "backends"), "cpu"), det),
        "faces");
    size_t n;
    float(*desc)[FG_DESCRIPTOR_DIM];
    char base[64];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(image) - 4), image);
    snprintf(png, sizeof png, "%s", fg_test_shared("golden/pixels/"));
    strncat(png, base, sizeof png - strlen(png) - 5);
    strcat(png, ".png");
    fg_face *faces = run(e, png, &n, &desc);

    CHECKF(n == json_array_size(want), "%s/%s pixels: %zu faces, reference %zu", det, image, n,
           json_array_size(want));
    double worst_lm = 0, worst_l2 = 0, worst_score = 0;
    for (size_t i = 0; i < n && i < json_array_size(want); i++) {
        json_t *w = json_array_get(want, i);
        double l2, cosine, lm = max_landmark_error(&faces[i], json_object_get(w, "landmarks"));
        double ds = fabs(faces[i].score - num(w, "score"));
        CHECKF(rect_is(faces[i].landmark_crop, json_object_get(w, "landmark_input_crop")),
               "%s/%s face %zu: landmark crop %d,%d %dx%d differs", det, image, i,
               faces[i].landmark_crop.x, faces[i].landmark_crop.y, faces[i].landmark_crop.width,
               faces[i].landmark_crop.height);
        CHECKF(rect_is(faces[i].align_rect, json_object_get(w, "descriptor_align_rect")),
               "%s/%s face %zu: align rect %d,%d %dx%d differs", det, image, i,
               faces[i].align_rect.x, faces[i].align_rect.y, faces[i].align_rect.width,
               faces[i].align_rect.height);
        CHECKF(lm <= 0.05, "%s/%s face %zu: landmarks off by %g px", det, image, i, lm);
        descriptor_compare(desc[i], json_object_get(w, "descriptor"), &l2, &cosine);
        CHECKF(l2 < 1e-4, "%s/%s face %zu: descriptor L2 %g", det, image, i, l2);
        CHECKF(ds < 1e-4, "%s/%s face %zu: score off by %g", det, image, i, ds);
        worst_lm = fmax(worst_lm, lm), worst_l2 = fmax(worst_l2, l2);
        worst_score = fmax(worst_score, ds);
    }
    printf("%-4s %-14s pixels: %zu faces, max landmark err %.2g px, max descriptor L2 %.2g, "
           "max score err %.2g\n",
           det, image, n, worst_lm, worst_l2, worst_score);
    free(faces);
    free(desc);
    json_decref(golden);
}

static void from_jpeg(fg_engine *e, const char *det, const char *image)
{
    char rel[256], path[1024];
    json_error_t jerr;
    snprintf(rel, sizeof rel, "golden/libjpeg/%s.json", image);
    json_t *golden = json_load_file(fg_test_shared(rel), 0, &jerr);
    CHECKF(golden != NULL, "%s: %s", rel, jerr.text);
    if (!golden) return;
    json_t *want = json_object_get(
        json_object_get(json_object_get(golden, "detectors"), det), "faces");
    /* single640.jpg lives beside the golden files; the samples ship in the face-api package. */
    if (strcmp(image, "single640.jpg") == 0) {
        snprintf(path, sizeof path, "%s", fg_test_shared("golden/single640.jpg"));
    } else {
        snprintf(path, sizeof path, "%s/../demo/%s", fg_test_models(), image);
    }
    size_t n;
    float(*desc)[FG_DESCRIPTOR_DIM];
    fg_face *faces = run(e, path, &n, &desc);

    CHECKF(n == json_array_size(want), "%s/%s jpeg: %zu faces, reference %zu", det, image, n,
           json_array_size(want));
    double worst_iou = 1, worst_lm = 0, worst_cos = 1;
    for (size_t i = 0; i < n && i < json_array_size(want); i++) {
        json_t *w = json_array_get(want, i);
        double l2, cosine, lm = max_landmark_error(&faces[i], json_object_get(w, "landmarks"));
        double o = iou(&faces[i].box, json_object_get(w, "box"));
        descriptor_compare(desc[i], json_object_get(w, "descriptor"), &l2, &cosine);
        CHECKF(o >= 0.95, "%s/%s face %zu: IoU %g with the reference box", det, image, i, o);
        CHECKF(lm <= 1.0, "%s/%s face %zu: landmarks off by %g px", det, image, i, lm);
        CHECKF(cosine >= 0.9999, "%s/%s face %zu: descriptor cosine %g", det, image, i, cosine);
        worst_iou = fmin(worst_iou, o), worst_lm = fmax(worst_lm, lm);
        worst_cos = fmin(worst_cos, cosine);
    }
    printf("%-4s %-14s jpeg:   %zu faces, min IoU %.4f, max landmark err %.2g px, min cosine "
           "%.6f\n",
           det, image, n, worst_iou, worst_lm, worst_cos);
    free(faces);
    free(desc);
    json_decref(golden);
}

int main(void)
{
    const char *quick = getenv("FG_TEST_QUICK");
    size_t count = quick && *quick == '1' ? 2 : sizeof images / sizeof images[0];
    const char *det_names[2] = {"ssd", "tiny"};

    for (int d = 0; d < 2; d++) {
        fg_engine_options o;
        fg_engine *e = NULL;
        fg_error err = {0};
        fg_engine_options_init(&o);
        o.model_dir = fg_test_models();
        o.detector = d == 0 ? FG_DETECTOR_SSD : FG_DETECTOR_TINY;
        o.align = FG_ALIGN_REFERENCE;
        o.padding = FG_PADDING_NONE; /* the reference has no padded detection pass */
        o.threads = 0;
        CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "%s: %s", det_names[d], err.message);
        if (!e) continue;
        for (size_t i = 0; i < count; i++) {
            same_pixels(e, det_names[d], images[i]);
            from_jpeg(e, det_names[d], images[i]);
        }
        fg_engine_free(e);
    }
    return fg_test_done();
}
