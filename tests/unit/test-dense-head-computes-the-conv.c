/*
 * The heads to one pixel (src/nn/dense.c) compute y = bias + x W as the plain product defines it:
 *  - the SIMD and plain-C paths against the product in double, on FaceMesh's (288 -> 1404, 288
 *    -> 1) and the iris net's (512 -> 213, 512 -> 15) shapes and others around the 64-channel
 *    slabs and 8-channel vectors, one and two images, on one thread and on two (tolerance 1e-5
 *    of max(1, |bias| + sum |x W|), the scale of a float32 sum's rounding);
 *  - weights that are all exactly float16 (normal, subnormal, zero, up to 65504) are held as
 *    float16, with the same results; one that is not (1 + 2^-12) keeps the whole head float32;
 *  - what is not a head to one pixel is refused with the node named: a convolution with a
 *    Prelu, a kernel smaller than the map, a head read from the wrong input, a node that does
 *    not exist, and a map larger than NN_CONV_MAX_K.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

/* y = bias + x W in double, `images` images; mag gets |bias| + sum |x W|, the scale of the
 * float32 sum's rounding. */
static void reference(const float *w, const float *bias, int cin, int cout, const float *x,
                      double *y, double *mag, int images)
{
    for (int n = 0; n < images; n++)
        for (int o = 0; o < cout; o++) {
            double v = bias[o], m = fabs(bias[o]);
            for (int i = 0; i < cin; i++) {
                const double t = (double)x[(size_t)n * cin + i] * w[(size_t)i * cout + o];
                v += t, m += fabs(t);
            }
            y[(size_t)n * cout + o] = v, mag[(size_t)n * cout + o] = m;
        }
}

/* max |a - b| / max(1, mag). */
static double worst_scaled(const float *a, const double *b, const double *mag, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs(a[i] - b[i]) / fmax(1.0, mag[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

/* A float16 value in [-2, 2) (a multiple of 2^-10), now and then a subnormal one, a zero or a
 * large one. */
static float half_value(unsigned *seed)
{
    const float r = fg_test_frand(seed);
    const int k = (int)((fg_test_frand(seed) + 0.5f) * 2048.0f) - 1024;
    if (r < -0.45f) return ldexpf((float)k, -24); /* subnormal */
    if (r < -0.44f) return -0.0f;
    if (r > 0.49f) return k < 0 ? -65504.0f : 65504.0f;
    return ldexpf((float)k, -9);
}

/* nn_dense_run (on rt) and the plain loop against the reference on random x. */
static void check_head(const float *w, const float *bias, int cin, int cout, int images,
                       const nn_runtime *rt, int want_half, unsigned *seed)
{
    nn_dense d;
    fg_error err;
    const size_t nx = (size_t)images * cin, ny = (size_t)images * cout;
    float *x = malloc(nx * sizeof *x), *fast = malloc(ny * sizeof *fast),
          *plain = malloc(ny * sizeof *plain);
    double *want = malloc(ny * sizeof *want), *mag = malloc(ny * sizeof *mag);
    for (size_t i = 0; i < nx; i++)
        x[i] = 2.0f * fg_test_frand(seed);
    reference(w, bias, cin, cout, x, want, mag, images);
    CHECKF(nn_dense_init(&d, w, bias, cin, cout, &err) == FG_OK, "%s", err.message);
    CHECKF(nn_dense_is_half(&d) == want_half, "%d -> %d: float16 %d, not %d", cin, cout,
           nn_dense_is_half(&d), want_half);
    nn_dense_run(&d, x, fast, images, rt);
    nn_dense_run_portable(&d, x, plain, images);
    /* Terms reach 65504: the tolerance is relative to the sum of their sizes. */
    CHECKF(worst_scaled(fast, want, mag, ny) <= 1e-5, "%d -> %d x%d: nn_dense_run off by %g", cin,
           cout, images, worst_scaled(fast, want, mag, ny));
    CHECKF(worst_scaled(plain, want, mag, ny) <= 1e-5, "%d -> %d x%d: the plain loop off by %g",
           cin, cout, images, worst_scaled(plain, want, mag, ny));
    nn_dense_free(&d);
    nn_dense_free(&d); /* a freed head frees again as nothing */
    free(x);
    free(fast);
    free(plain);
    free(want);
    free(mag);
}

static void random_heads(void)
{
    /* cin, cout: FaceMesh's mesh and face flag, the iris net's two, and around the slabs. */
    static const int shapes[][2] = {{288, 1404}, {288, 1},  {512, 213}, {512, 15}, {7, 8},
                                    {33, 64},    {33, 65},  {9, 72},    {40, 127}, {1, 129},
                                    {288, 266},  {16, 200}, {5, 3}};
    nn_runtime *two = fg_test_pool(2);
    unsigned seed = 29;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int cin = shapes[s][0], cout = shapes[s][1];
        const size_t n = (size_t)cin * cout;
        float *w = malloc(n * sizeof *w), *h = malloc(n * sizeof *h);
        float *bias = malloc(sizeof *bias * (size_t)cout), *hbias = malloc(sizeof *hbias * cout);
        for (size_t i = 0; i < n; i++) {
            w[i] = fg_test_frand(&seed) / sqrtf((float)cin);
            h[i] = half_value(&seed);
        }
        for (int o = 0; o < cout; o++) {
            bias[o] = fg_test_frand(&seed);
            hbias[o] = 3.0f * fg_test_frand(&seed); /* the bias is float32 either way */
        }
        w[n / 2] = 1.0f / 3.0f; /* not a float16 */
        for (int images = 1; images <= 2; images++) {
            check_head(w, bias, cin, cout, images, NULL, 0, &seed);
            check_head(h, hbias, cin, cout, images, NULL, 1, &seed);
            check_head(h, hbias, cin, cout, images, two, 1, &seed);
        }
        h[n - 1] = 1.0f + ldexpf(1.0f, -12); /* one weight between two float16s */
        check_head(h, hbias, cin, cout, 1, two, 0, &seed);
        free(w);
        free(h);
        free(bias);
        free(hbias);
    }
    nn_runtime_free(two);
}

#define MESH "StatefulPartitionedCall/model_1/"

/* Reads the head `name` from `input` (h x w) of FaceMesh; expects an error code and a message
 * containing needle. */
static void expect_refused(const nn_graph_model *gm, const char *input, const char *name, int h,
                           int w, int code, const char *needle)
{
    nn_dense d;
    fg_error err = {0};
    int rc = nn_graph_model_read_head(gm, input, name, h, w, &d, &err);
    CHECKF(rc == code, "%s: got %d (%s)", name, rc, err.message);
    CHECKF(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    CHECK(d.w == NULL && d.w16 == NULL && d.bias == NULL);
}

static void not_a_head_is_refused(void)
{
    nn_graph_model *gm = NULL;
    nn_dense d;
    fg_error err;
    CHECKF(nn_graph_model_open(fg_test_fast_models(), "facemesh", &gm, &err) == FG_OK, "%s",
           err.message);
    if (!gm) return;
    /* FaceMesh's mesh head reads as float16 weights, 3x3x32 -> 1404. */
    CHECKF(nn_graph_model_read_head(gm, MESH "p_re_lu_20/Relu", MESH "conv2d_21/BiasAdd", 3, 3, &d,
                                    &err) == FG_OK,
           "%s", err.message);
    CHECK(d.cin == 288 && d.cout == 1404 && nn_dense_is_half(&d));
    nn_dense_free(&d);
    expect_refused(gm, MESH "p_re_lu_18/Relu", MESH "batch_normalization_19/FusedBatchNormV3", 3, 3,
                   FG_EMODEL_CORRUPT,
                   "facemesh.json: node " MESH "batch_normalization_19/FusedBatchNormV3 "
                   "(_FusedConv2D): is not a VALID convolution with a bias only");
    expect_refused(gm, MESH "p_re_lu_20/Relu", MESH "conv2d_21/BiasAdd", 6, 6, FG_EMODEL_CORRUPT,
                   "node " MESH "conv2d_21/BiasAdd (_FusedConv2D): has no 6 x 6 x cin x cout "
                   "kernel");
    expect_refused(gm, MESH "p_re_lu_19/Relu", MESH "conv2d_21/BiasAdd", 3, 3, FG_EMODEL_CORRUPT,
                   "node " MESH "conv2d_21/BiasAdd (_FusedConv2D): does not read " MESH
                   "p_re_lu_19/Relu");
    expect_refused(gm, MESH "p_re_lu_20/Relu", "no/such/node", 3, 3, FG_EMODEL_CORRUPT,
                   "no node named no/such/node");
    expect_refused(gm, MESH "p_re_lu_20/Relu", MESH "conv2d_21/BiasAdd", NN_CONV_MAX_K + 1, 3,
                   FG_EINVAL, "a head to one pixel from");
    nn_graph_model_close(gm);
}

int main(void)
{
    random_heads();
    not_a_head_is_refused();
    return fg_test_done();
}
