/*
 * The Winograd convolution (src/nn/winograd.c) computes act(conv3x3(x) + bias [+ res]) with
 * SAME padding, stride 1, by tiles of 2x2 and of 4x4 outputs:
 *  - its SIMD and plain-C paths against the convolution written out in double, on random
 *    kernels and maps of the descriptor's sizes (35x35x32, 17x17x64, 8x8x128) and of every
 *    border case of the tiles (1x1, heights and widths of every remainder by 2 and by 4, one
 *    tile row), with and without the residual and the ReLU; channel counts that are not
 *    multiples of 8 take the plain path (tolerance 1e-4 on values of order 1: the transforms add
 *    a few float32 roundings to a direct convolution's);
 *  - on one thread and on a runtime's thread pool, where maps of one band of tiles (8x8 and
 *    less) split their output channels and larger ones their tiles (the same values);
 *  - with the AVX-512 products (U in slices of 32 channels, where the CPU has AVX-512 and cout
 *    is a multiple of 32) and, with AVX-512 turned off (fg_cpu_use_avx512), the AVX2 ones
 *    (slices of 8 to 24);
 *  - a tile size other than 2 or 4 is refused;
 *  - the descriptor net as a whole (whose residual stages run this way) against face-api's own
 *    outputs in test-descriptor-net-matches-reference and test-pipeline-matches-reference.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "harness.h"
#include "nn/nn.h"

static void reference(const float *k, const float *bias, int cin, int cout, const float *x,
                      const float *res, int relu, int h, int w, float *y)
{
    for (int oy = 0; oy < h; oy++)
        for (int ox = 0; ox < w; ox++)
            for (int o = 0; o < cout; o++) {
                double sum = bias[o];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        const int iy = oy - 1 + ky, ix = ox - 1 + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int i = 0; i < cin; i++)
                            sum += (double)x[((size_t)iy * w + ix) * cin + i] *
                                   k[(((size_t)ky * 3 + kx) * cin + i) * cout + o];
                    }
                const size_t at = ((size_t)oy * w + ox) * cout + o;
                if (res) sum += res[at];
                y[at] = (float)(relu && sum < 0 ? 0 : sum);
            }
}

static float *random_floats(size_t n, float scale, unsigned *seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n && v; i++)
        v[i] = scale * fg_test_frand(seed);
    return v;
}

/* One h x w x cin -> cout case by every path, with and without the residual and the ReLU. */
static void check_case(int h, int w, int cin, int cout, int m, const nn_runtime *pool,
                       unsigned *seed)
{
    const size_t nin = (size_t)h * w * cin, nout = (size_t)h * w * cout;
    float *k = random_floats((size_t)9 * cin * cout, 1.0f / sqrtf(9.0f * cin), seed);
    float *bias = random_floats((size_t)cout, 0.2f, seed);
    float *x = random_floats(nin, 2.0f, seed), *res = random_floats(nout, 1.0f, seed);
    float *want = malloc(nout * sizeof *want), *got = malloc(nout * sizeof *got);
    nn_wino wc;
    fg_error err;
    int rc = nn_wino_init(&wc, k, bias, cin, cout, m, &err);
    CHECKF(rc == FG_OK, "%s", err.message);
    if (rc) goto done;
    CHECKF(wc.wide == (cin % 8 == 0 && cout % 32 == 0 && fg_cpu_avx512()),
           "F(%d), %d -> %d: wide %d", m, cin, cout, wc.wide);
    const int slots = nn_runtime_threads(pool);
    float *scratch = malloc(sizeof(float) * nn_wino_scratch(&wc) * (size_t)slots);
    for (int variant = 0; variant < 4; variant++) {
        const float *r = variant & 1 ? res : NULL;
        const int relu = variant >> 1;
        reference(k, bias, cin, cout, x, r, relu, h, w, want);
        memset(got, 0xff, nout * sizeof *got); /* NaN: every output must be written */
        nn_wino_run_portable(&wc, x, r, relu, got, h, w, scratch);
        CHECKF(fg_test_max_diff(got, want, nout) <= 1e-4,
               "F(%d), %dx%d, %d -> %d, res %d relu %d: plain off by %g", m, h, w, cin, cout,
               r != NULL, relu, fg_test_max_diff(got, want, nout));
        memset(got, 0xff, nout * sizeof *got);
        nn_wino_run(&wc, x, r, relu, got, h, w, scratch, 1, NULL);
        CHECKF(fg_test_max_diff(got, want, nout) <= 1e-4,
               "F(%d), %dx%d, %d -> %d, res %d relu %d: off by %g", m, h, w, cin, cout, r != NULL,
               relu, fg_test_max_diff(got, want, nout));
        memset(got, 0xff, nout * sizeof *got);
        nn_wino_run(&wc, x, r, relu, got, h, w, scratch, slots, pool);
        CHECKF(fg_test_max_diff(got, want, nout) <= 1e-4,
               "F(%d), %dx%d, %d -> %d, res %d relu %d: %d bands off by %g", m, h, w, cin, cout,
               r != NULL, relu, slots, fg_test_max_diff(got, want, nout));
    }
    /* The products' multiply-adds: (m + 2)^2 per m x m tile (partial tiles count whole), not 9
     * per pixel. */
    CHECK(nn_wino_macs(&wc, h, w) ==
          (uint64_t)((h + m - 1) / m) * ((w + m - 1) / m) * (m + 2) * (m + 2) * cin * cout);
    free(scratch);
    nn_wino_free(&wc);
done:
    free(k);
    free(bias);
    free(x);
    free(res);
    free(want);
    free(got);
}

int main(void)
{
    static const int sizes[][2] = {{1, 1}, {1, 6}, {2, 2},   {3, 3},  {4, 7},
                                   {8, 8}, {9, 2}, {17, 17}, {35, 35}};
    static const int channels[][2] = {{8, 8}, {32, 32}, {16, 24}, {3, 5}, {8, 12}};
    unsigned seed = 11;
    nn_runtime *pool = fg_test_pool(2);
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        fg_cpu_use_avx512(avx512);
        for (int m = 2; m <= 4; m += 2) {
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (size_t c = 0; c < sizeof channels / sizeof channels[0]; c++)
                    check_case(sizes[s][0], sizes[s][1], channels[c][0], channels[c][1], m, pool,
                               &seed);
            check_case(17, 17, 64, 64, m, pool, &seed);
            check_case(8, 8, 128, 128, m, pool, &seed);
        }
    }
    CHECK(!fg_cpu_avx512()); /* fg_cpu_use_avx512(0) turns it off */
    fg_cpu_use_avx512(1);
    CHECK(nn_wino_init(&(nn_wino){0}, NULL, NULL, 0, 8, 2, &(fg_error){0}) == FG_EINVAL);
    CHECK(nn_wino_init(&(nn_wino){0}, NULL, NULL, 8, 8, 3, &(fg_error){0}) == FG_EINVAL);
    nn_wino_free(NULL);
    nn_runtime_free(pool);
    return fg_test_done();
}
