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

static int detect(void *m, const fg_image *img, float min_score, fgm_detection **out, size_t *count,
                  fg_error *err)
{
    return fgm_tiny_detect(m, img, min_score, out, count, err);
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
        check_bad_images(m, detect);
        test_forward(m);
        check_golden_detections(m, detect, "tiny");
        time_golden_detect(m, detect, "tiny", "1 thread", test_quick() ? 2 : 20);
        fgm_tiny_free(m);
    }
    if (!test_quick() && fgm_tiny_open(fg_test_models(), 0, &m, &err) == FG_OK) {
        time_golden_detect(m, detect, "tiny", "all cores", test_quick() ? 2 : 20);
        fgm_tiny_free(m);
    }
    return fg_test_done();
}
