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

static void test_bad_image(fgm_ssd *m)
{
    fg_image empty = {0, 0, NULL};
    fgm_detection *d = (fgm_detection *)1;
    size_t n = 7;
    fg_error err = {0};
    CHECK_EQ_INT(fgm_ssd_detect(m, &empty, 0.5f, &d, &n, &err), FG_EINVAL);
    CHECK(d == NULL);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(err.code, FG_EINVAL);
    /* So thin that it shrinks to 0 rows in the square input: no face, no infinite box. */
    uint8_t *row = calloc(3 * 4000, 1);
    fg_image thin = {4000, 1, row};
    d = (fgm_detection *)1;
    n = 7;
    CHECK_EQ_INT(fgm_ssd_detect(m, &thin, 0.5f, &d, &n, &err), FG_OK);
    CHECK(d == NULL);
    CHECK_EQ_INT(n, 0);
    free(row);
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

static void test_detections(fgm_ssd *m)
{
    detect_errors e = {0};
    int images = test_quick() ? 2 : GOLDEN_IMAGES;
    for (int i = 0; i < images; i++) {
        /* quick: sample1 (3 faces, 1920x1280) and single640 (the 640x480 case) */
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
        rc = fgm_ssd_detect(m, &img, 0.5f, &d, &n, &err);
        CHECKF(rc == FG_OK, "%s: detect: %s", name, err.message);
        if (rc == FG_OK) check_detections(name, "ssd", d, n, img.width, img.height, &e);
        free(d);
        fg_image_free(&img);
    }
    printf("ssd detections: %d images, %d faces, max error score %.3g, box %.3g px, "
           "relative box %.3g px\n",
           images, e.faces, e.score, e.box_px, e.rel);
    CHECK(e.faces > 0);
}

/* Not a check: prints the mean time of a detection on the 640x480 golden image. */
static void time_detect(fgm_ssd *m, const char *label)
{
    fg_image img;
    fg_error err = {0};
    fgm_detection *d = NULL;
    size_t n = 0;
    int runs = test_quick() ? 1 : 5, rc;
    if (fg_image_load(fg_test_shared("golden/pixels/single640.png"), 0, &img, &err) != FG_OK) {
        CHECKF(0, "single640.png: %s", err.message);
        return;
    }
    rc = fgm_ssd_detect(m, &img, 0.5f, &d, &n, &err); /* warm-up */
    free(d);
    double best = 1e30, total = 0;
    for (int i = 0; i < runs && rc == FG_OK; i++) {
        double t0 = now_ms();
        rc = fgm_ssd_detect(m, &img, 0.5f, &d, &n, &err);
        double t = now_ms() - t0;
        free(d);
        total += t;
        if (t < best) best = t;
    }
    CHECKF(rc == FG_OK, "timing detect: %s", err.message);
    float *buf = malloc(SSD_INPUT * sizeof *buf);
    double t0 = now_ms();
    if (buf) fgi_to_batch_tensor(img.rgb, img.width, img.height, 512, 0, buf);
    double pre = now_ms() - t0;
    printf("ssd detect 640x480, %s: mean %.1f ms, best %.1f ms over %d runs "
           "(of which pad+resize %.1f ms)\n",
           label, total / runs, best, runs, pre);
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
        test_bad_image(m);
        test_forward(m);
        test_detections(m);
        time_detect(m, "1 thread");
        fgm_ssd_free(m);
    }
    if (!test_quick() && fgm_ssd_open(fg_test_models(), 0, &m, &err) == FG_OK) {
        time_detect(m, "all cores");
        fgm_ssd_free(m);
    }
    return fg_test_done();
}
