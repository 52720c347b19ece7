/* The SSD MobileNetV1 detector reproduces face-api: the raw network on the golden input, the
 * preprocessing of the golden pixels, and the final detections on every golden photo. Also
 * prints how long a detection on a 640x480 image takes. */
#include <stdio.h>
#include <stdlib.h>

#include "detect-golden.h"
#include "harness.h"
#include "image/image.h"
#include "models/models.h"

#define SSD_INPUT (512 * 512 * 3)
#define SSD_ANCHORS 5118

static void test_open_errors(void)
{
    fgm_ssd *m = (fgm_ssd *)1;
    fg_error err = {0};
    int rc = fgm_ssd_open("/nonexistent-model-dir", 1, &m, &err);
    CHECK_EQ_INT(rc, FG_EMODEL_MISSING);
    CHECK_EQ_INT(err.code, rc);
    CHECK(m == NULL);
    fgm_ssd_free(NULL);
}

/* golden/intermediate: sample1's normalised 512 input -> box encodings and class logits. */
static void test_forward(fgm_ssd *m)
{
    float *input = read_golden_f32("golden/intermediate/cpu/ssd_input_512_norm.f32", SSD_INPUT);
    float *boxes =
        read_golden_f32("golden/intermediate/cpu/ssd_box_encodings.f32", SSD_ANCHORS * 4);
    float *logits =
        read_golden_f32("golden/intermediate/cpu/ssd_class_logits.f32", SSD_ANCHORS * 3);
    const float *got_boxes, *got_logits;
    fg_error err = {0};
    if (input && boxes && logits) {
        int rc = fgm_ssd_forward(m, input, &got_boxes, &got_logits, &err);
        CHECKF(rc == FG_OK, "forward: %s", err.message);
        if (rc == FG_OK) {
            double db = max_abs_diff(got_boxes, boxes, SSD_ANCHORS * 4);
            double dl = max_abs_diff(got_logits, logits, SSD_ANCHORS * 3);
            printf("ssd forward: max abs error box encodings %.3g, class logits %.3g\n", db, dl);
            CHECK(db <= 1e-3);
            CHECK(dl <= 1e-3);
        }
    }
    free(input);
    free(boxes);
    free(logits);
}

/* pad + resize of golden/pixels/sample1.png, then x / 127.5 - 1, against the dumped inputs. */
static void test_preprocess(void)
{
    fg_image img;
    fg_error err = {0};
    float *rgb = read_golden_f32("golden/intermediate/cpu/ssd_input_512_rgb.f32", SSD_INPUT);
    float *norm = read_golden_f32("golden/intermediate/cpu/ssd_input_512_norm.f32", SSD_INPUT);
    float *got = malloc(SSD_INPUT * sizeof *got);
    int rc = fg_image_load(fg_test_shared("golden/pixels/sample1.png"), 0, &img, &err);
    CHECKF(rc == FG_OK, "sample1.png: %s", err.message);
    if (rc == FG_OK && rgb && norm && got) {
        CHECK_EQ_INT(fgi_to_batch_tensor(img.rgb, img.width, img.height, 512, 0, got), FG_OK);
        double dr = max_abs_diff(got, rgb, SSD_INPUT);
        for (size_t i = 0; i < SSD_INPUT; i++)
            got[i] = got[i] / 127.5f - 1.0f;
        double dn = max_abs_diff(got, norm, SSD_INPUT);
        printf("ssd preprocessing: max abs error resized %.3g, normalised %.3g\n", dr, dn);
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
    return fgm_ssd_detect(m, img, min_score, out, count, err);
}

/* Not a check: prints how long detection and its pad + resize take on the 640x480 image. */
static void time_detect(fgm_ssd *m, const char *label)
{
    fg_image img;
    fg_error err = {0};
    time_golden_detect(m, detect, "ssd", label, test_quick() ? 1 : 5);
    if (fg_image_load(fg_test_shared("golden/pixels/single640.png"), 0, &img, &err) != FG_OK)
        return;
    float *buf = malloc(SSD_INPUT * sizeof *buf);
    double t0 = now_ms();
    if (buf) fgi_to_batch_tensor(img.rgb, img.width, img.height, 512, 0, buf);
    printf("ssd pad+resize 640x480: %.1f ms\n", now_ms() - t0);
    free(buf);
    fg_image_free(&img);
}

int main(void)
{
    fgm_ssd *m = NULL;
    fg_error err = {0};
    int rc;

    test_open_errors();
    test_preprocess();
    rc = fgm_ssd_open(fg_test_models(), 1, &m, &err);
    CHECKF(rc == FG_OK, "open: %s", err.message);
    if (rc == FG_OK) {
        check_bad_images(m, detect);
        test_forward(m);
        check_golden_detections(m, detect, "ssd");
        time_detect(m, "1 thread");
        fgm_ssd_free(m);
    }
    if (!test_quick() && fgm_ssd_open(fg_test_models(), 0, &m, &err) == FG_OK) {
        time_detect(m, "all cores");
        fgm_ssd_free(m);
    }
    return fg_test_done();
}
