/*
 * detect-golden.h - what the SSD and tiny detector tests (test-ssd-matches-face-api.c,
 * test-tiny-detector-matches-face-api.c) share: reading golden tensors, bad images,
 * comparing detections with golden/<image>.json, timing. Header-only (static functions) because
 * each unit test is one .c file linked with harness.c only.
 */
#ifndef FG_TEST_DETECT_GOLDEN_H
#define FG_TEST_DETECT_GOLDEN_H

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "models/models.h"

/* The golden photos: golden/pixels/<name>.png, expected outputs in golden/<name>.jpg.json. */
static const char *const golden_images[] = {"sample1", "sample2", "sample3",  "sample4",
                                            "sample5", "sample6", "single640"};
#define GOLDEN_IMAGES ((int)(sizeof golden_images / sizeof golden_images[0]))

static int test_quick(void)
{
    const char *q = getenv("FG_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A golden float32 file of exactly count values (malloc'd), or NULL after a failed check. */
static float *read_golden_f32(const char *relative, size_t count)
{
    size_t size = 0;
    float *v = fg_test_read(fg_test_shared(relative), &size);
    CHECKF(v != NULL, "cannot read %s", relative);
    if (v && size != count * sizeof(float)) {
        CHECKF(0, "%s has %zu bytes, expected %zu", relative, size, count * sizeof(float));
        free(v);
        return NULL;
    }
    return v;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

static double json_num(const json_t *obj, const char *key)
{
    return json_number_value(json_object_get(obj, key));
}

/* Largest errors over every compared face. */
typedef struct detect_errors {
    double score, box_px, rel;
    int faces;
} detect_errors;

/* Compares detections with golden/<image>.jpg.json -> backends.cpu.<detector>.faces[]: same
 * count and order, score within 1e-4, box within 0.05 px, relative box within 0.05 px too. */
static void check_detections(const char *image, const char *detector, const fgm_detection *d,
                             size_t count, int width, int height, detect_errors *e)
{
    char rel[128];
    json_error_t jerr;
    snprintf(rel, sizeof rel, "golden/%s.jpg.json", image);
    json_t *root = json_load_file(fg_test_shared(rel), 0, &jerr);
    CHECKF(root != NULL, "cannot read %s: %s", rel, jerr.text);
    if (!root) return;
    json_t *faces = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "backends"), "cpu"), detector),
        "faces");
    CHECKF(json_is_array(faces), "%s: no backends.cpu.%s.faces", rel, detector);
    CHECKF(count == json_array_size(faces), "%s %s: %zu faces, golden %zu", image, detector, count,
           json_array_size(faces));
    for (size_t i = 0; i < count && i < json_array_size(faces); i++) {
        json_t *f = json_array_get(faces, i), *box = json_object_get(f, "box");
        json_t *rbox = json_object_get(f, "relative_box");
        double gs = json_num(f, "score");
        double got[4] = {d[i].x, d[i].y, d[i].width, d[i].height};
        double want[4] = {json_num(box, "x"), json_num(box, "y"), json_num(box, "w"),
                          json_num(box, "h")};
        double got_rel[4] = {d[i].rel_x, d[i].rel_y, d[i].rel_w, d[i].rel_h};
        double want_rel[4] = {json_num(rbox, "x"), json_num(rbox, "y"), json_num(rbox, "w"),
                              json_num(rbox, "h")};
        double ds = fabs(d[i].score - gs);
        CHECKF(ds <= 1e-4, "%s %s face %zu: score %.7f, golden %.7f", image, detector, i,
               d[i].score, gs);
        if (!(ds <= e->score)) e->score = ds;
        for (int k = 0; k < 4; k++) {
            double db = fabs(got[k] - want[k]);
            /* relative error expressed in pixels of the matching image side */
            double dr = fabs(got_rel[k] - want_rel[k]) * (k % 2 ? height : width);
            CHECKF(db <= 0.05, "%s %s face %zu: box[%d] %.4f, golden %.4f", image, detector, i, k,
                   got[k], want[k]);
            CHECKF(dr <= 0.05, "%s %s face %zu: relative box[%d] %.7f, golden %.7f", image,
                   detector, i, k, got_rel[k], want_rel[k]);
            if (!(db <= e->box_px)) e->box_px = db;
            if (!(dr <= e->rel)) e->rel = dr;
        }
        e->faces++;
    }
    json_decref(root);
}

/* A detector under test: fgm_ssd_detect or fgm_tiny_detect behind one signature. */
typedef int (*detect_fn)(void *model, const fg_image *img, float min_score, fgm_detection **out,
                         size_t *count, fg_error *err);

/* Runs detect on the golden photos and compares with golden/<name>.jpg.json (det is "ssd" or
 * "tiny"). Quick runs: sample1 (3 faces, 1920x1280) and single640 (the 640x480 case). */
/* Empty images are refused (FG_EINVAL, no detections); an image so thin that it shrinks to 0
 * rows in the square input finds nothing (no infinite box). */
static void check_bad_images(void *model, detect_fn detect)
{
    uint8_t pixel[3] = {0};
    fg_image empty = {0, 0, NULL}, no_pixels = {4, 4, NULL}, no_width = {0, 1, pixel};
    const fg_image *bad[3] = {&empty, &no_pixels, &no_width};
    fgm_detection *d;
    size_t n;
    for (int i = 0; i < 3; i++) {
        fg_error err = {0};
        d = (fgm_detection *)1;
        n = 7;
        CHECK_EQ_INT(detect(model, bad[i], 0.5f, &d, &n, &err), FG_EINVAL);
        CHECK(d == NULL);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(err.code, FG_EINVAL);
    }
    uint8_t *row = calloc(3 * 4000, 1);
    fg_image thin = {4000, 1, row};
    fg_error err = {0};
    d = (fgm_detection *)1;
    n = 7;
    CHECK_EQ_INT(detect(model, &thin, 0.5f, &d, &n, &err), FG_OK);
    CHECK(d == NULL);
    CHECK_EQ_INT(n, 0);
    free(row);
}

static void check_golden_detections(void *model, detect_fn detect, const char *det)
{
    detect_errors e = {0};
    int images = test_quick() ? 2 : GOLDEN_IMAGES;
    for (int i = 0; i < images; i++) {
        const char *name = golden_images[i == 1 && images == 2 ? GOLDEN_IMAGES - 1 : i];
        char rel[128];
        fg_image img;
        fg_error err = {0};
        fgm_detection *d = NULL;
        size_t n = 0;
        snprintf(rel, sizeof rel, "golden/pixels/%s.png", name);
        int rc = fg_image_load(fg_test_shared(rel), 0, &img, &err);
        CHECKF(rc == FG_OK, "%s: %s", rel, err.message);
        if (rc != FG_OK) continue;
        rc = detect(model, &img, 0.5f, &d, &n, &err);
        CHECKF(rc == FG_OK, "%s: detect: %s", name, err.message);
        if (rc == FG_OK) check_detections(name, det, d, n, img.width, img.height, &e);
        CHECK((n == 0) == (d == NULL));
        free(d);
        fg_image_free(&img);
    }
    printf("%s detections: %d images, %d faces, max error score %.3g, box %.3g px, "
           "relative box %.3g px\n",
           det, images, e.faces, e.score, e.box_px, e.rel);
    CHECK(e.faces > 0);
}

/* Not a check: prints the mean and best time of detect on the 640x480 golden image. */
static void time_golden_detect(void *model, detect_fn detect, const char *det, const char *label,
                               int runs)
{
    fg_image img;
    fg_error err = {0};
    fgm_detection *d = NULL;
    size_t n = 0;
    int rc;
    if (fg_image_load(fg_test_shared("golden/pixels/single640.png"), 0, &img, &err) != FG_OK) {
        CHECKF(0, "single640.png: %s", err.message);
        return;
    }
    rc = detect(model, &img, 0.5f, &d, &n, &err); /* warm-up */
    free(d);
    double best = 1e30, total = 0;
    for (int i = 0; i < runs && rc == FG_OK; i++) {
        double t0 = now_ms();
        rc = detect(model, &img, 0.5f, &d, &n, &err);
        double t = now_ms() - t0;
        free(d);
        total += t;
        if (t < best) best = t;
    }
    CHECKF(rc == FG_OK, "timing detect: %s", err.message);
    printf("%s detect 640x480, %s: mean %.2f ms, best %.2f ms over %d runs\n", det, label,
           total / runs, best, runs);
    fg_image_free(&img);
}

#endif
