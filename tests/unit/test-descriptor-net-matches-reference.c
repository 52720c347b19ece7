/* The recognition ResNet reproduces the reference: raw network on the dumped normalised input,
 * and the whole crop -> descriptor path on the dumped crop (golden/intermediate, sample1 face 0).
 * Tolerance: max abs error per element 1e-3 (ARCH.md expects ~1e-5), L2 < 1e-4. A batch of two
 * gives each image's own descriptor (1e-6). */
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

static void compare(const char *what, const float *got, const float *want, size_t n)
{
    double max = 0, l2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= max)) max = d; /* catches NaN */
        l2 += d * d;
    }
    l2 = sqrt(l2);
    printf("%s: max abs error %.3g, L2 %.3g\n", what, max, l2);
    CHECKF(max <= 1e-3, "%s: max abs error %g > 1e-3", what, max);
    CHECKF(l2 < 1e-4, "%s: L2 %g >= 1e-4", what, l2);
}

int main(void)
{
    fgm_resnet *net = NULL;
    fg_error err = {0};
    float got[FG_DESCRIPTOR_DIM];
    float *input = read_f32("golden/intermediate/cpu/rec_input_150_norm.f32", 150 * 150 * 3);
    float *want = read_f32("golden/intermediate/cpu/rec_descriptor.f32", FG_DESCRIPTOR_DIM);
    size_t crop_size = 0;
    unsigned char *crop =
        fg_test_read(fg_test_shared("golden/intermediate/cpu/rec_crop.u8"), &crop_size);

    CHECKF(fgm_resnet_open(fg_test_models(), 1, 1, &net, &err) == FG_OK, "open: %s", err.message);
    if (!net || !input || !want || !crop) return fg_test_done();
    CHECK_EQ_INT(crop_size, 213 * 213 * 3);

    CHECK(fgm_resnet_forward(net, input, got, &err) == FG_OK);
    compare("forward", got, want, FG_DESCRIPTOR_DIM);

    CHECK(fgm_resnet_describe_crop(net, crop, 213, 213, got, &err) == FG_OK);
    compare("crop -> descriptor", got, want, FG_DESCRIPTOR_DIM);

    /* Not vacuous: a different input gives a clearly different descriptor. */
    for (size_t i = 0; i < 150 * 150 * 3; i++)
        input[i] = -input[i];
    CHECK(fgm_resnet_forward(net, input, got, &err) == FG_OK);
    double d = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        d += (got[i] - want[i]) * (got[i] - want[i]);
    CHECKF(sqrt(d) > 0.1, "a negated input gave nearly the same descriptor (%g)", sqrt(d));

    /* A batch of two (--tta's) gives each image's own descriptor: the batch runs through the
     * tail's convolutions together. */
    float *pair = malloc(sizeof(float) * 150 * 150 * 3 * 2), both[2][FG_DESCRIPTOR_DIM];
    fgm_resnet *two = NULL;
    CHECKF(fgm_resnet_open(fg_test_models(), 1, 2, &two, &err) == FG_OK, "open: %s", err.message);
    if (two && pair) {
        for (size_t i = 0; i < 150 * 150 * 3; i++)
            pair[i] = input[i], pair[150 * 150 * 3 + i] = -input[i]; /* negated, golden */
        CHECK(fgm_resnet_forward(two, pair, both[0], &err) == FG_OK);
        compare("batch of two, second", both[1], want, FG_DESCRIPTOR_DIM);
        double worst = 0;
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            worst = fmax(worst, fabs((double)both[0][i] - got[i]));
        CHECKF(worst <= 1e-6, "batch of two, first: %g from its own run", worst);
    }
    fgm_resnet_free(two);
    free(pair);

    /* Timing, printed for information (make bench is the real measurement). */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 10; i++)
        fgm_resnet_forward(net, input, got, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("forward: %.2f ms per run (1 thread)\n",
           ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / 10);

    fgm_resnet_free(net);
    fgm_resnet_free(NULL);
    free(input);
    free(want);
    free(crop);
    return fg_test_done();
}
