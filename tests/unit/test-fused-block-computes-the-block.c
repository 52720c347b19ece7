/*
 * The fused residual blocks (src/nn/block.c) compute act(x + bias + conv1x1(depthwise3x3(x)))
 * (plain) and act(x + bias + conv1x1(depthwise3x3(prelu(conv1x1(x) + b1)))) (bottleneck), act
 * ReLU or PReLU, as the separate ops define them:
 *  - the SIMD and plain-C paths against the ops written out in double, on random blocks of
 *    BlazeFace's, FaceMesh's and the iris net's channel counts (and counts the SIMD path leaves
 *    to the plain loops), on sizes whose width is and is not a multiple of the 4-pixel groups,
 *    1x1 included (tolerance 1e-4 on values of order 1);
 *  - BlazeFace, FaceMesh and the iris net run as their direct first convolution (src/nn/conv.c)
 *    and XNNPACK runtimes with their fused chains between them (src/nn/staged.c) against each
 *    whole graph in one XNNPACK runtime, on the same input: each output within 2e-4 of the
 *    larger of 1 and its value (BlazeFace's regressors and the mesh reach hundreds of pixels;
 *    float32 sums taken in another order through some 30 layers differ by up to 5e-5, as
 *    XNNPACK and tfjs-wasm do), and BlazeFace the same on two threads (the fused chains then
 *    run in bands of rows);
 *  - a chain that is not a residual block (a stride-2 block, a node that does not exist) is
 *    refused with the node named, and a chain given the wrong size is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "models/models.h"
#include "nn/nn.h"

static float frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 65535.0f - 0.5f;
}

/* act(v) in double: ReLU, or PReLU with slope alpha[o]. */
static double act(const float *alpha, int o, double v)
{
    return v > 0 ? v : alpha ? alpha[o] * v : 0.0;
}

/* The block's ops one after another in double. */
static void reference(const nn_block *b, const float *x, float *y, int h, int w)
{
    const int c = b->c, cd = b->m ? b->m : c;
    const size_t pixels = (size_t)h * w;
    double *e = calloc(pixels * cd, sizeof *e), *d = calloc(pixels * cd, sizeof *d);
    for (size_t p = 0; p < pixels; p++) /* the depthwise's input */
        for (int o = 0; o < cd; o++) {
            double s = b->m ? b->b1[o] : x[p * c + o];
            for (int i = 0; b->m && i < c; i++)
                s += (double)x[p * c + i] * b->w1[(size_t)i * cd + o];
            e[p * cd + o] = b->m ? act(b->alpha1, o, s) : s;
        }
    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++)
            for (int ch = 0; ch < cd; ch++) {
                double s = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int yy = py + dy, xx = px + dx;
                        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                        s += e[((size_t)yy * w + xx) * cd + ch] *
                             b->dw[((dy + 1) * 3 + dx + 1) * cd + ch];
                    }
                d[((size_t)py * w + px) * cd + ch] = s;
            }
    for (size_t p = 0; p < pixels; p++)
        for (int o = 0; o < c; o++) {
            double s = (double)b->bias[o] + x[p * c + o];
            for (int i = 0; i < cd; i++)
                s += d[p * cd + i] * b->w[(size_t)i * c + o];
            y[p * c + o] = (float)act(b->alpha, o, s);
        }
    free(e);
    free(d);
}

static float *random_floats(int n, float scale, float offset, unsigned *seed)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++)
        v[i] = offset + scale * frand(seed);
    return v;
}

/* A random block of c channels: a bottleneck through m channels when m > 0, with PReLU slopes
 * in [0, 0.5) when prelu is set (a bottleneck's first convolution always has them). */
static void random_block(nn_block *b, int c, int m, int prelu, unsigned *seed)
{
    const int cd = m ? m : c;
    memset(b, 0, sizeof *b);
    b->c = c;
    b->m = m;
    if (m) {
        b->w1 = random_floats(c * m, 0.4f, 0.0f, seed);
        b->b1 = random_floats(m, 0.2f, 0.0f, seed);
        b->alpha1 = random_floats(m, 0.5f, 0.25f, seed);
    }
    if (prelu) b->alpha = random_floats(c, 0.5f, 0.25f, seed);
    b->dw = random_floats(9 * cd, 1.0f, 0.0f, seed);
    b->w = random_floats(cd * c, 0.4f, 0.0f, seed);
    b->bias = random_floats(c, 0.2f, 0.0f, seed);
}

/* |a - b| relative to max(1, |b|). */
static double scaled(double a, double b)
{
    return fabs(a - b) / fmax(1.0, fabs(b));
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

static void random_blocks(void)
{
    static const int sizes[][2] = {{1, 1}, {5, 7}, {9, 4}, {16, 13}, {3, 2}};
    /* c, m, PReLU: BlazeFace's 24 (ReLU), FaceMesh's 16 to 128 (PReLU), the iris net's
     * bottlenecks 64 through 32 and 128 through 64, and 12 and 64 through 12, which the SIMD
     * path leaves to the plain loops. */
    static const int kinds[][3] = {{24, 0, 0},  {8, 0, 0},    {16, 0, 1}, {32, 0, 1},
                                   {64, 0, 1},  {128, 0, 1},  {40, 0, 1}, {12, 0, 1},
                                   {64, 32, 1}, {128, 64, 1}, {24, 8, 0}, {64, 12, 1}};
    unsigned seed = 7;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int h = sizes[s][0], w = sizes[s][1], c = kinds[k][0];
            const size_t n = (size_t)h * w * c;
            nn_block b;
            float *x = malloc(n * sizeof *x), *want = malloc(n * sizeof *want);
            float *fast = malloc(n * sizeof *fast), *plain = malloc(n * sizeof *plain);
            random_block(&b, c, kinds[k][1], kinds[k][2], &seed);
            for (size_t i = 0; i < n; i++)
                x[i] = 2.0f * frand(&seed);
            reference(&b, x, want, h, w);
            nn_block_run(&b, x, fast, h, w);
            nn_block_run_portable(&b, x, plain, h, w);
            CHECKF(max_diff(fast, want, n) <= 1e-4, "%dx%dx%d/%d: nn_block_run off by %g", h, w, c,
                   b.m, max_diff(fast, want, n));
            CHECKF(max_diff(plain, want, n) <= 1e-4, "%dx%dx%d/%d: the plain loop off by %g", h, w,
                   c, b.m, max_diff(plain, want, n));
            nn_block_free(&b);
            free(x);
            free(want);
            free(fast);
            free(plain);
        }
}

/* BlazeFace staged and fused vs BlazeFace as one XNNPACK graph. */
static void blazeface_split_matches_whole(void)
{
    static const char *const heads[4] = {"Identity", "Identity_2", "Identity_1", "Identity_3"};
    const nn_graph_model_options opts = {NULL, heads, 4, {256, 256, 3}, 1, 1, NULL};
    const size_t values = 256 * 256 * 3;
    nn_runtime *whole = NULL;
    fgm_blaze *blaze = NULL, *two = NULL;
    const float *rows, *rows2;
    fg_error err;
    unsigned seed = 11;

    CHECKF(nn_graph_model_load(fg_test_fast_models(), "blazeface", &opts, &whole, &err) == FG_OK,
           "%s", err.message);
    CHECKF(fgm_blaze_open(fg_test_fast_models(), 1, &blaze, &err) == FG_OK, "%s", err.message);
    if (!whole || !blaze) goto done;
    /* A smooth random image in [-1, 1], so that the network's activations are not all zero. */
    for (size_t i = 0; i < values; i++) {
        size_t px = i / 3, y = px / 256, x = px % 256;
        float v = 0.6f * sinf((float)x / 17.0f + (float)(i % 3)) * cosf((float)y / 23.0f) +
                  0.3f * frand(&seed);
        nn_runtime_input(whole)[i] = fgm_blaze_input(blaze)[i] = v;
    }
    CHECK(nn_run(whole, &err) == FG_OK);
    CHECK(fgm_blaze_forward(blaze, &rows, &err) == FG_OK);
    /* rows[r] = [logit | 16 regressors]: the 16x16 head's 512 rows, then the 8x8 head's 384. */
    double worst = 0, range = 0;
    for (int head = 0; head < 2; head++) {
        const float *logits = nn_runtime_output(whole, 2 * head, NULL);
        const float *regs = nn_runtime_output(whole, 2 * head + 1, NULL);
        const int first = head ? 512 : 0, n = head ? 384 : 512;
        for (int r = 0; r < n; r++) {
            const float *row = rows + (size_t)(first + r) * FGM_BLAZE_ROW;
            worst = fmax(worst, scaled(row[0], logits[r]));
            range = fmax(range, fabs((double)logits[r]));
            for (int k = 0; k < 16; k++) {
                worst = fmax(worst, scaled(row[1 + k], regs[r * 16 + k]));
                range = fmax(range, fabs((double)regs[r * 16 + k]));
            }
        }
    }
    printf("BlazeFace fused vs one XNNPACK graph: max difference %.3g of max(1, |value|) "
           "(outputs up to %.3g)\n",
           worst, range);
    CHECKF(worst <= 2e-4, "fused BlazeFace off by %g", worst);
    CHECK(range > 1.0); /* the comparison saw real outputs */

    /* On two threads the fused stages run in bands of rows: the same rows. */
    CHECKF(fgm_blaze_open(fg_test_fast_models(), 2, &two, &err) == FG_OK, "%s", err.message);
    if (!two) goto done;
    memcpy(fgm_blaze_input(two), fgm_blaze_input(blaze), values * sizeof(float));
    CHECK(fgm_blaze_forward(two, &rows2, &err) == FG_OK);
    worst = 0;
    for (size_t i = 0; i < (size_t)FGM_BLAZE_ANCHORS * FGM_BLAZE_ROW; i++)
        worst = fmax(worst, scaled(rows2[i], rows[i]));
    CHECKF(worst <= 2e-4, "two threads off by %g", worst);
done:
    nn_runtime_free(whole);
    fgm_blaze_free(blaze);
    fgm_blaze_free(two);
}

/* A smooth random image in about [0, 1.2], so that the networks' activations are not all zero. */
static void smooth_image(float *v, int side, int images, unsigned *seed)
{
    for (size_t i = 0; i < (size_t)side * side * 3 * images; i++) {
        size_t px = i / 3 % ((size_t)side * side), y = px / side, x = px % side;
        v[i] = 0.6f + 0.45f * sinf((float)x / 7.0f + (float)(i % 3)) * cosf((float)y / 9.0f) +
               0.3f * frand(seed);
    }
}

/* FaceMesh and the iris net, staged and fused, against each as one XNNPACK graph. */
static void mesh_and_iris_split_match_whole(void)
{
    static const char *const mesh_outputs[2] = {"Identity_2", "Identity_1"};
    static const char *const iris_outputs[1] = {"Identity"};
    const nn_graph_model_options mesh_opts = {NULL, mesh_outputs, 2, {192, 192, 3}, 1, 1, NULL};
    const nn_graph_model_options iris_opts = {NULL, iris_outputs, 1, {64, 64, 3}, 2, 1, NULL};
    nn_runtime *mesh_whole = NULL, *iris_whole = NULL;
    fgm_mesh *mesh = NULL;
    fgm_iris *iris = NULL;
    const float *points;
    float confidence;
    fg_error err;
    unsigned seed = 13;

    CHECKF(nn_graph_model_load(fg_test_fast_models(), "facemesh", &mesh_opts, &mesh_whole, &err) ==
               FG_OK,
           "%s", err.message);
    CHECKF(nn_graph_model_load(fg_test_fast_models(), "iris", &iris_opts, &iris_whole, &err) ==
               FG_OK,
           "%s", err.message);
    CHECKF(fgm_mesh_open(fg_test_fast_models(), 1, &mesh, &err) == FG_OK, "%s", err.message);
    CHECKF(fgm_iris_open(fg_test_fast_models(), 1, &iris, &err) == FG_OK, "%s", err.message);
    if (!mesh_whole || !iris_whole || !mesh || !iris) goto done;

    smooth_image(fgm_mesh_input(mesh), 192, 1, &seed);
    memcpy(nn_runtime_input(mesh_whole), fgm_mesh_input(mesh), sizeof(float) * 192 * 192 * 3);
    CHECK(nn_run(mesh_whole, &err) == FG_OK);
    CHECK(fgm_mesh_forward(mesh, &points, &confidence, &err) == FG_OK);
    double worst = 0, range = 0;
    const float *want = nn_runtime_output(mesh_whole, 0, NULL);
    for (int i = 0; i < FGM_MESH_POINTS * 3; i++) {
        worst = fmax(worst, scaled(points[i], want[i]));
        range = fmax(range, fabs((double)want[i]));
    }
    worst = fmax(worst, scaled(confidence, nn_runtime_output(mesh_whole, 1, NULL)[0]));
    printf("FaceMesh fused vs one XNNPACK graph: max difference %.3g (outputs up to %.3g)\n", worst,
           range);
    CHECKF(worst <= 2e-4, "fused FaceMesh off by %g", worst);
    CHECK(range > 10.0);

    smooth_image(fgm_iris_input(iris), 64, 2, &seed);
    memcpy(nn_runtime_input(iris_whole), fgm_iris_input(iris), sizeof(float) * 2 * 64 * 64 * 3);
    CHECK(nn_run(iris_whole, &err) == FG_OK);
    CHECK(fgm_iris_forward(iris, &points, &err) == FG_OK);
    worst = 0, range = 0;
    want = nn_runtime_output(iris_whole, 0, NULL);
    for (int i = 0; i < 2 * FGM_IRIS_POINTS * 3; i++) {
        worst = fmax(worst, scaled(points[i], want[i]));
        range = fmax(range, fabs((double)want[i]));
    }
    printf("iris fused vs one XNNPACK graph: max difference %.3g (outputs up to %.3g)\n", worst,
           range);
    CHECKF(worst <= 2e-4, "fused iris net off by %g", worst);
    CHECK(range > 10.0);
done:
    nn_runtime_free(mesh_whole);
    nn_runtime_free(iris_whole);
    fgm_mesh_free(mesh);
    fgm_iris_free(iris);
}

/* A chain whose size is not its input's is refused before anything runs. */
static void wrong_chain_size_is_refused(void)
{
    static const char *const outputs[1] = {"Identity"};
    static const char *const ends[1] = {"StatefulPartitionedCall/functional_1/re_lu/Relu"};
    const nn_chain_spec chain = {"StatefulPartitionedCall/functional_1/conv2d/Relu", 64, 64, 1,
                                 ends};
    const nn_graph_model_options opts = {NULL, outputs, 1, {256, 256, 3}, 1, 1, NULL};
    nn_staged *s = NULL;
    nn_graph_model *gm;
    fg_error err;
    CHECKF(nn_graph_model_open(fg_test_fast_models(), "blazeface", &gm, &err) == FG_OK, "%s",
           err.message);
    CHECK_EQ_INT(nn_staged_open(gm, &opts, &chain, 1, &s, &err), FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "blazeface.json: StatefulPartitionedCall/functional_1/conv2d/Relu "
                               "is not 64x64x24") != NULL,
           "%s", err.message);
    CHECK(s == NULL);
    nn_graph_model_close(gm);
    nn_graph_model_close(NULL);
}

static void not_a_block_is_refused(void)
{
    static const char *const stride2[1] = {"StatefulPartitionedCall/functional_1/re_lu_7/Relu"};
    static const char *const missing[1] = {"no/such/node"};
    nn_block b[1];
    fg_error err;
    int rc = nn_graph_model_blocks(fg_test_fast_models(), "blazeface",
                                   "StatefulPartitionedCall/functional_1/re_lu_6/Relu", stride2, 1,
                                   b, &err);
    CHECK_EQ_INT(rc, FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "node StatefulPartitionedCall/functional_1/") != NULL, "%s",
           err.message);
    rc = nn_graph_model_blocks(fg_test_fast_models(), "blazeface",
                               "StatefulPartitionedCall/functional_1/re_lu_6/Relu", missing, 1, b,
                               &err);
    CHECK_EQ_INT(rc, FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "no/such/node") != NULL, "%s", err.message);
}

int main(void)
{
    random_blocks();
    blazeface_split_matches_whole();
    mesh_and_iris_split_match_whole();
    wrong_chain_size_is_refused();
    not_a_block_is_refused();
    return fg_test_done();
}
