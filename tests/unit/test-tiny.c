/* The tiny face detector reproduces face-api: the raw network on the golden input, the
 * preprocessing (pad, resize, fgm_normalize) of the golden pixels, and the final detections on
 * every golden photo. Also prints how long a detection on a 640x480 image takes. */
#include <stdio.h>
#include <stdlib.h>

#include "detect-golden.h"
#include "harness.h"
#include "image/image.h"
#include "models/models.h"

#define TINY_INPUT (416 * 416 * 3)
#define TINY_OUTPUT (13 * 13 * 25)

static void test_open_errors(void)
{
    fgm_tiny *m = (fgm_tiny *)1;
    fg_error err = {0};
    int rc = fgm_tiny_open("/nonexistent-model-dir", 1, &m, &err);
    CHECK_EQ_INT(rc, FG_EMODEL_MISSING);
    CHECK_EQ_INT(err.code, rc);
    CHECK(m == NULL);
    fgm_tiny_free(NULL);
}

static void test_bad_image(fgm_tiny *m)
{
    uint8_t pixel[3] = {0};
    fg_image no_pixels = {4, 4, NULL}, no_width = {0, 1, pixel};
    fgm_detection *d = (fgm_detection *)1;
    size_t n = 7;
    fg_error err = {0};
    CHECK_EQ_INT(fgm_tiny_detect(m, &no_pixels, 0.5f, &d, &n, &err), FG_EINVAL);
    CHECK(d == NULL);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(fgm_tiny_detect(m, &no_width, 0.5f, &d, &n, &err), FG_EINVAL);
    CHECK_EQ_INT(err.code, FG_EINVAL);
    /* So thin that it shrinks to 0 rows in the square input: no face, no infinite box. */
    uint8_t *row = calloc(3 * 4000, 1);
    fg_image thin = {4000, 1, row};
    d = (fgm_detection *)1;
    n = 7;
    CHECK_EQ_INT(fgm_tiny_detect(m, &thin, 0.5f, &d, &n, &err), FG_OK);
    CHECK(d == NULL);
    CHECK_EQ_INT(n, 0);
    free(row);
}

/* golden/intermediate: sample1's normalised 416 input -> the 13x13x25 output. */
static void test_forward(fgm_tiny *m)
{
    float *input = read_golden_f32("golden/intermediate/cpu/tiny_input_416_norm.f32", TINY_INPUT);
    float *want = read_golden_f32("golden/intermediate/cpu/tiny_raw_output.f32", TINY_OUTPUT);
    const float *got;
    fg_error err = {0};
    if (input && want) {
        int rc = fgm_tiny_forward(m, input, &got, &err);
        CHECKF(rc == FG_OK, "forward: %s", err.message);
        if (rc == FG_OK) {
            double d = max_abs_diff(got, want, TINY_OUTPUT);
            printf("tiny forward: max abs error %.3g (outputs up to ~56)\n", d);
            CHECK(d <= 1e-3);
        }
    }
    free(input);
    free(want);
}

/* pad + resize of golden/pixels/sample1.png, then fgm_normalize with the tiny detector's mean,
 * against the dumped inputs: both bit-exact. */
static void test_preprocess(void)
{
    static const float mean[3] = {117.001f, 114.697f, 97.404f};
    fg_image img;
    fg_error err = {0};
    float *rgb = read_golden_f32("golden/intermediate/cpu/tiny_input_416_rgb.f32", TINY_INPUT);
    float *norm = read_golden_f32("golden/intermediate/cpu/tiny_input_416_norm.f32", TINY_INPUT);
    float *got = malloc(TINY_INPUT * sizeof *got);
    int rc = fg_image_load(fg_test_shared("golden/pixels/sample1.png"), 0, &img, &err);
    CHECKF(rc == FG_OK, "sample1.png: %s", err.message);
    if (rc == FG_OK && rgb && norm && got) {
        CHECK_EQ_INT(fgi_to_batch_tensor(img.rgb, img.width, img.height, 416, 0, got), FG_OK);
        double dr = max_abs_diff(got, rgb, TINY_INPUT);
        fgm_normalize(got, 416 * 416, mean, 1);
        double dn = max_abs_diff(got, norm, TINY_INPUT);
        printf("tiny preprocessing: max abs error resized %.3g, normalised %.3g\n", dr, dn);
        CHECK(dr == 0);
        CHECK(dn == 0);
    }
    if (rc == FG_OK) fg_image_free(&img);
    free(rgb);
    free(norm);
    free(got);
}

static void test_detections(fgm_tiny *m)
{
    detect_errors e = {0};
    int images = test_quick() ? 2 : GOLDEN_IMAGES;
    for (int i = 0; i < images; i++) {
        /* quick: sample1 (3 faces) and single640 (no face for this detector) */
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
        rc = fgm_tiny_detect(m, &img, 0.5f, &d, &n, &err);
        CHECKF(rc == FG_OK, "%s: detect: %s", name, err.message);
        if (rc == FG_OK) check_detections(name, "tiny", d, n, img.width, img.height, &e);
        CHECK((n == 0) == (d == NULL));
        free(d);
        fg_image_free(&img);
    }
    printf("tiny detections: %d images, %d faces, max error score %.3g, box %.3g px, "
           "relative box %.3g px\n",
           images, e.faces, e.score, e.box_px, e.rel);
    CHECK(e.faces > 0);
}

/* Not a check: prints the mean time of a detection on the 640x480 golden image. */
static void time_detect(fgm_tiny *m, const char *label)
{
    fg_image img;
    fg_error err = {0};
    fgm_detection *d = NULL;
    size_t n = 0;
    int runs = test_quick() ? 2 : 20, rc;
    if (fg_image_load(fg_test_shared("golden/pixels/single640.png"), 0, &img, &err) != FG_OK) {
        CHECKF(0, "single640.png: %s", err.message);
        return;
    }
    rc = fgm_tiny_detect(m, &img, 0.5f, &d, &n, &err); /* warm-up */
    free(d);
    double best = 1e30, total = 0;
    for (int i = 0; i < runs && rc == FG_OK; i++) {
        double t0 = now_ms();
        rc = fgm_tiny_detect(m, &img, 0.5f, &d, &n, &err);
        double t = now_ms() - t0;
        free(d);
        total += t;
        if (t < best) best = t;
    }
    CHECKF(rc == FG_OK, "timing detect: %s", err.message);
    printf("tiny detect 640x480, %s: mean %.2f ms, best %.2f ms over %d runs\n", label,
           total / runs, best, runs);
    fg_image_free(&img);
}

int main(void)
{
    fgm_tiny *m = NULL;
    fg_error err = {0};
    int rc;

    test_open_errors();
    test_preprocess();
    rc = fgm_tiny_open(fg_test_models(), 1, &m, &err);
    CHECKF(rc == FG_OK, "open: %s", err.message);
    if (rc == FG_OK) {
        test_bad_image(m);
        test_forward(m);
        test_detections(m);
        time_detect(m, "1 thread");
        fgm_tiny_free(m);
    }
    if (!test_quick() && fgm_tiny_open(fg_test_models(), 0, &m, &err) == FG_OK) {
        time_detect(m, "all cores");
        fgm_tiny_free(m);
    }
    return fg_test_done();
}
