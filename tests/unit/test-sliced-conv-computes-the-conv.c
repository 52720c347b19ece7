/*
 * The sliced convolution (nn_conv_slice, nn_conv_run_sliced in src/nn/conv.c) computes
 * act(conv(x) + bias [+ res]), act ReLU or PReLU, SAME or VALID padding:
 *  - its SIMD and plain-C paths against the convolution written out in double (tolerance 1e-4
 *    on values of order 1) and against each other (1e-5: the same sums in the same order, fused
 *    or not), with and without the residual, on random kernels of the descriptor's tail (8x8x128
 *    3x3 stride 2 VALID -> 256, 3x3x256 and 4x4x256 SAME -> 256, 4x4x256 stride 2 VALID -> 1x1,
 *    1x1x256 SAME: its centre tap alone) and of others (slices of 8, 24 + 16, channels that are
 *    not multiples of 8, which take the plain path; 5x5 kernels);
 *  - in slices of 32 channels for the AVX-512 kernel (where the CPU has it and cout is a multiple
 *    of 32) and, with AVX-512 turned off (fg_cpu_use_avx512), of 24 for the AVX2 one;
 *  - sliced weights by the row kernel (nn_conv_run) and HWIO weights by the sliced run: the same
 *    values;
 *  - on batches of maps (one patch matrix or several, the last smaller than a pixel group);
 *  - on one thread and in bands of slices on a runtime's thread pool (the same values);
 *  - the descriptor net as a whole (whose tail runs this way) against face-api's own outputs in
 *    test-descriptor-net-matches-reference and test-pipeline-matches-reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "harness.h"
#include "nn/nn.h"

typedef struct conv_shape {
    int k, stride, cin, cout, valid, prelu;
} conv_shape;

static float *random_floats(size_t n, float scale, unsigned *seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n && v; i++)
        v[i] = scale * fg_test_frand(seed);
    return v;
}

/* The convolution in double from the HWIO kernel k (SAME as TF pads, or VALID). */
static void reference(conv_shape sh, const float *k, const float *bias, const float *alpha,
                      const float *x, const float *res, int h, int w, float *y)
{
    const int s = sh.stride, n = sh.k;
    const int oh = sh.valid ? (h - n) / s + 1 : (h + s - 1) / s;
    const int ow = sh.valid ? (w - n) / s + 1 : (w + s - 1) / s;
    const int pt = sh.valid ? 0 : ((oh - 1) * s + n - h) > 0 ? ((oh - 1) * s + n - h) / 2 : 0;
    const int pl = sh.valid ? 0 : ((ow - 1) * s + n - w) > 0 ? ((ow - 1) * s + n - w) / 2 : 0;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int o = 0; o < sh.cout; o++) {
                const size_t at = ((size_t)oy * ow + ox) * sh.cout + o;
                double sum = bias[o];
                for (int ky = 0; ky < n; ky++)
                    for (int kx = 0; kx < n; kx++) {
                        const int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int i = 0; i < sh.cin; i++)
                            sum += (double)x[((size_t)iy * w + ix) * sh.cin + i] *
                                   k[(((size_t)ky * n + kx) * sh.cin + i) * sh.cout + o];
                    }
                if (res) sum += res[at];
                y[at] = (float)(sum > 0 ? sum : alpha ? alpha[o] * sum : 0.0);
            }
}

/* reference() on each of `images` maps. */
static void reference_batch(conv_shape sh, const float *k, const float *bias, const float *alpha,
                            const float *x, const float *res, int images, int h, int w, size_t nin,
                            size_t nout, float *y)
{
    for (int i = 0; i < images; i++)
        reference(sh, k, bias, alpha, x + nin * i, res ? res + nout * i : NULL, h, w, y + nout * i);
}

/* cv (HWIO, then sliced) on `images` random h x w maps by every path, with and without a
 * residual. */
static void check_case(conv_shape sh, int images, int h, int w, const nn_runtime *pool,
                       unsigned *seed)
{
    const size_t taps = (size_t)sh.k * sh.k * sh.cin;
    nn_conv cv = {sh.k, sh.stride, sh.cin, sh.cout, NULL, NULL, NULL, sh.valid, 0};
    cv.w = random_floats(taps * sh.cout, 1.0f / sqrtf((float)taps), seed);
    cv.bias = random_floats((size_t)sh.cout, 0.2f, seed);
    if (sh.prelu) {
        cv.alpha = random_floats((size_t)sh.cout, 1.0f, seed);
        for (int o = 0; o < sh.cout; o++)
            cv.alpha[o] += 0.5f; /* 0 .. 1, as the models' slopes */
    }
    float *hwio = malloc(taps * sh.cout * sizeof *hwio);
    memcpy(hwio, cv.w, taps * sh.cout * sizeof *hwio);
    int oh, ow;
    nn_conv_output_size(&cv, h, w, &oh, &ow);
    const size_t nin = (size_t)h * w * sh.cin, nout = (size_t)oh * ow * sh.cout;
    const size_t all = nout * images;
    float *x = random_floats(nin * images, 2.0f, seed), *res = random_floats(all, 1.0f, seed);
    float *want = malloc(all * sizeof *want), *plain = malloc(all * sizeof *plain);
    float *got = malloc(all * sizeof *got);
    float *scratch = malloc(sizeof(float) * (nn_conv_sliced_scratch(&cv, images, h, w) + 1));
    fg_error err;
    CHECKF(oh > 0 && ow > 0, "%dx%d gives no output", h, w);
    for (int layout = 0; layout < 2; layout++) {
        if (layout == 1) {
            CHECKF(nn_conv_slice(&cv, &err) == FG_OK, "%s", err.message);
            CHECK(cv.sliced && nn_conv_slice(&cv, &err) == FG_OK); /* once only */
            CHECKF(cv.sliced == (sh.cout % 32 == 0 && fg_cpu_avx512() ? 32 : 24),
                   "%d -> %d: slices of %d", sh.cin, sh.cout, cv.sliced);
        }
        for (int with_res = 0; with_res < 2; with_res++) {
            const float *r = with_res ? res : NULL;
            reference_batch(sh, hwio, cv.bias, cv.alpha, x, r, images, h, w, nin, nout, want);
            memset(plain, 0xff, all * sizeof *plain); /* NaN: every output must be written */
            nn_conv_run_sliced_portable(&cv, x, r, plain, images, h, w);
            CHECKF(fg_test_max_diff(plain, want, all) <= 1e-4,
                   "%d x %dx%d k %d s %d %s, %d -> %d, sliced %d res %d: plain off by %g", images,
                   h, w, sh.k, sh.stride, sh.valid ? "VALID" : "SAME", sh.cin, sh.cout, layout,
                   with_res, fg_test_max_diff(plain, want, all));
            for (int threads = 0; threads < 2; threads++) {
                memset(got, 0xff, all * sizeof *got);
                nn_conv_run_sliced(&cv, x, r, got, images, h, w, scratch, threads ? pool : NULL);
                CHECKF(fg_test_max_diff(got, want, all) <= 1e-4 &&
                           fg_test_max_diff(got, plain, all) <= 1e-5,
                       "%d x %dx%d k %d s %d %s, %d -> %d, sliced %d res %d threads %d: off by "
                       "%g, %g from the plain loop",
                       images, h, w, sh.k, sh.stride, sh.valid ? "VALID" : "SAME", sh.cin, sh.cout,
                       layout, with_res, threads + 1, fg_test_max_diff(got, want, all),
                       fg_test_max_diff(got, plain, all));
            }
        }
        /* the row kernel reads either layout */
        reference(sh, hwio, cv.bias, cv.alpha, x, NULL, h, w, want);
        memset(got, 0xff, nout * sizeof *got);
        nn_conv_run(&cv, x, got, h, w);
        CHECKF(fg_test_max_diff(got, want, nout) <= 1e-4,
               "%dx%d, %d -> %d, sliced %d: nn_conv_run off by %g", h, w, sh.cin, sh.cout, layout,
               fg_test_max_diff(got, want, nout));
    }
    CHECK(nn_conv_macs(&cv, h, w) == (uint64_t)oh * ow * taps * sh.cout);
    nn_conv_free(&cv);
    free(hwio);
    free(x);
    free(res);
    free(want);
    free(plain);
    free(got);
    free(scratch);
}

int main(void)
{
    unsigned seed = 17;
    nn_runtime *pool = fg_test_pool(2);
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        fg_cpu_use_avx512(avx512);
        /* the descriptor's tail */
        check_case((conv_shape){3, 2, 128, 256, 1, 0}, 1, 8, 8, pool, &seed);
        check_case((conv_shape){3, 1, 256, 256, 0, 0}, 1, 3, 3, pool, &seed);
        check_case((conv_shape){3, 1, 256, 256, 0, 0}, 1, 4, 4, pool, &seed);
        check_case((conv_shape){3, 2, 256, 256, 1, 0}, 1, 4, 4, pool, &seed);
        check_case((conv_shape){3, 1, 256, 256, 0, 0}, 1, 1, 1, pool, &seed);
        /* slices of 24 + 16, 8 and 2 x 24; plain-path channels; PReLU; 5x5; even/odd sizes */
        check_case((conv_shape){3, 1, 16, 40, 0, 1}, 1, 5, 7, pool, &seed);
        check_case((conv_shape){3, 2, 8, 8, 0, 0}, 1, 9, 6, pool, &seed);
        check_case((conv_shape){3, 1, 24, 48, 1, 1}, 1, 6, 5, pool, &seed);
        check_case((conv_shape){3, 1, 5, 12, 0, 1}, 1, 4, 4, pool, &seed);
        check_case((conv_shape){5, 2, 3, 24, 0, 0}, 1, 11, 12, pool, &seed);
        check_case((conv_shape){5, 1, 8, 16, 1, 0}, 1, 7, 9, pool, &seed);
        /* batches: the tail's of two, three (48 pixels: six groups) and four (one patch matrix
         * each), and 572 pixels of 576 taps (patch matrices of 256 pixels, the last of 60) */
        check_case((conv_shape){3, 1, 256, 256, 0, 0}, 2, 4, 4, pool, &seed);
        check_case((conv_shape){3, 2, 256, 256, 1, 0}, 2, 4, 4, pool, &seed);
        check_case((conv_shape){3, 1, 256, 256, 0, 0}, 3, 4, 4, pool, &seed);
        check_case((conv_shape){3, 2, 128, 256, 1, 0}, 4, 8, 8, pool, &seed);
        check_case((conv_shape){3, 1, 64, 32, 0, 0}, 4, 13, 11, pool, &seed);
        check_case((conv_shape){3, 1, 64, 32, 0, 1}, 3, 2, 3, pool, &seed);
    }
    fg_cpu_use_avx512(1);
    nn_conv_free(NULL);
    nn_runtime_free(pool);
    return fg_test_done();
}
