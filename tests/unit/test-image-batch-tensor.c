/*
 * test-image-batch-tensor.c - fgi_to_batch_tensor is bit-exact with face-api's
 * NetInput.toBatchTensor (padToSquare + tfjs resizeBilinear) on the golden intermediates.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "image/image.h"

/* Max abs difference between out and the golden float32 file (HUGE_VAL if it is missing). */
static double max_diff_to_golden(const float *out, size_t count, const char *relative)
{
    size_t size = 0;
    float *golden = fg_test_read(fg_test_shared(relative), &size);
    double worst = HUGE_VAL;
    CHECKF(golden && size == count * sizeof(float), "%s: missing or wrong size", relative);
    if (golden && size == count * sizeof(float)) {
        worst = 0;
        for (size_t i = 0; i < count; i++) {
            double d = fabs((double)out[i] - (double)golden[i]);
            if (d > worst) worst = d;
        }
    }
    free(golden);
    return worst;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* sample1 (1920x1280) padded at the bottom and resized, as the SSD and tiny detectors do. */
static void check_detector_input(const fg_image *img, int size, const char *golden)
{
    float *out = malloc((size_t)size * size * 3 * sizeof(float));
    CHECK(out != NULL);
    if (!out) return;
    double t0 = seconds_now();
    CHECK_EQ_INT(fgi_to_batch_tensor(img->rgb, img->width, img->height, size, 0, out), FG_OK);
    double t1 = seconds_now();
    double diff = max_diff_to_golden(out, (size_t)size * size * 3, golden);
    CHECKF(diff == 0, "%s: max abs diff %g, expected 0", golden, diff);
    printf("%s: max abs diff %g, %.2f ms\n", golden, diff, (t1 - t0) * 1e3);
    free(out);
}

/* A landmark / recognition crop (golden u8 HWC) padded centred and resized. Also checks that the
 * same rectangle of the full image gives the same crop and, without copying, the same tensor. */
static void check_crop_input(const fg_image *img, fg_rect rect, const char *crop_file, int size,
                             const char *golden)
{
    size_t crop_size = 0;
    uint8_t *crop = fg_test_read(fg_test_shared(crop_file), &crop_size);
    float *out = malloc((size_t)size * size * 3 * sizeof(float));
    fg_image mine = {0};
    CHECK(out != NULL);
    CHECKF(crop && crop_size == (size_t)rect.width * rect.height * 3, "%s", crop_file);
    if (!out || !crop || crop_size != (size_t)rect.width * rect.height * 3) goto done;

    CHECK_EQ_INT(fgi_crop(img, rect, &mine, NULL), FG_OK);
    CHECKF(mine.rgb && memcmp(mine.rgb, crop, crop_size) == 0, "%s differs from fgi_crop",
           crop_file);

    CHECK_EQ_INT(fgi_to_batch_tensor(crop, rect.width, rect.height, size, 1, out), FG_OK);
    double diff = max_diff_to_golden(out, (size_t)size * size * 3, golden);
    CHECKF(diff == 0, "%s: max abs diff %g, expected 0", golden, diff);
    printf("%s: max abs diff %g\n", golden, diff);

    memset(out, 0xff, (size_t)size * size * 3 * sizeof(float));
    CHECK_EQ_INT(fgi_rect_to_batch_tensor(img, rect, size, 1, out), FG_OK);
    diff = max_diff_to_golden(out, (size_t)size * size * 3, golden);
    CHECKF(diff == 0, "%s via rect: max abs diff %g, expected 0", golden, diff);
done:
    fg_image_free(&mine);
    free(crop);
    free(out);
}

int main(void)
{
    fg_image img = {0};
    fg_error err = {0};
    int rc = fg_image_load(fg_test_shared("golden/pixels/sample1.png"), 0, &img, &err);
    CHECKF(rc == FG_OK, "load sample1.png: %s", err.message);
    if (rc != FG_OK) return fg_test_done();
    CHECK_EQ_INT(img.width, 1920);
    CHECK_EQ_INT(img.height, 1280);

    check_detector_input(&img, 512, "golden/intermediate/cpu/ssd_input_512_rgb.f32");
    check_detector_input(&img, 416, "golden/intermediate/cpu/tiny_input_416_rgb.f32");
    /* Crop rectangles from golden/intermediate/index.json (landmarks.crop_box and
     * recognition.crop_box); lm is 177x238, so it is padded 30 columns before, 31 after. */
    check_crop_input(&img, (fg_rect){413, 355, 177, 238}, "golden/intermediate/cpu/lm_crop.u8", 112,
                     "golden/intermediate/cpu/lm_input_112_rgb.f32");
    check_crop_input(&img, (fg_rect){369, 394, 213, 213}, "golden/intermediate/cpu/rec_crop.u8",
                     150, "golden/intermediate/cpu/rec_input_150_rgb.f32");
    fg_image_free(&img);
    return fg_test_done();
}
