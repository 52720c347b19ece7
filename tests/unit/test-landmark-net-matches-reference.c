/* The 68-landmark net reproduces the reference on golden/intermediate (sample1 face 0): the raw
 * fc output from the dumped input (max abs 1e-3, expect ~1e-6), and crop -> landmarks in crop
 * pixels against the post-processed output (within 0.05 px). */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "models/models.h"

static float *read_f32(const char *rel, size_t count)
{
    size_t n = 0;
    float *v = fg_test_read(fg_test_shared(rel), &n);
    CHECKF(v && n == count * sizeof(float), "%s: %zu bytes, want %zu", rel, n,
           count * sizeof(float));
    return v;
}

int main(void)
{
    fgm_landmarks *net = NULL;
    fg_error err = {0};
    const float *raw;
    fg_point pts[FG_LANDMARKS];
    float *input = read_f32("golden/intermediate/cpu/lm_input_112_norm.f32", 112 * 112 * 3);
    float *want_raw = read_f32("golden/intermediate/cpu/lm_raw_fc.f32", 136);
    float *want_post = read_f32("golden/intermediate/cpu/lm_post.f32", 136);
    size_t crop_size = 0;
    unsigned char *crop = fg_test_read(fg_test_shared("golden/intermediate/cpu/lm_crop.u8"),
                                       &crop_size);
    const int w = 177, h = 238;
    double max = 0;

    CHECKF(fgm_landmarks_open(fg_test_models(), 1, &net, &err) == FG_OK, "open: %s",
           err.message);
    if (!net || !input || !want_raw || !want_post || !crop) return fg_test_done();
    CHECK_EQ_INT(crop_size, (size_t)w * h * 3);

    CHECK(fgm_landmarks_forward(net, input, &raw, &err) == FG_OK);
    for (int i = 0; i < 136; i++) {
        double d = fabs((double)raw[i] - want_raw[i]);
        if (!(d <= max)) max = d;
    }
    printf("forward: max abs error %.3g\n", max);
    CHECKF(max <= 1e-3, "raw fc max abs error %g", max);

    CHECK(fgm_landmarks_detect(net, crop, w, h, pts, &err) == FG_OK);
    max = 0;
    for (int i = 0; i < FG_LANDMARKS; i++) {
        double dx = fabs(pts[i].x - (double)want_post[2 * i] * w);
        double dy = fabs(pts[i].y - (double)want_post[2 * i + 1] * h);
        if (!(dx <= max)) max = dx;
        if (!(dy <= max)) max = dy;
    }
    printf("crop -> landmarks: max error %.3g px\n", max);
    CHECKF(max <= 0.05, "landmarks off by %g px", max);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 20; i++) fgm_landmarks_forward(net, input, &raw, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("forward: %.2f ms per run (1 thread)\n",
           ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / 20);

    fgm_landmarks_free(net);
    free(input);
    free(want_raw);
    free(want_post);
    free(crop);
    return fg_test_done();
}
