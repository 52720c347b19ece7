/*
 * The fused residual blocks (src/nn/block.c) compute act(x + bias + conv1x1(depthwise3x3(x)))
 * (plain), act(x + bias + conv1x1(depthwise3x3(prelu(conv1x1(x) + b1)))) (bottleneck) and
 * act(pad(maxpool2x2(x)) + bias + conv1x1(depthwise3x3 stride 2(x))) (strided) and
 * act(pad(maxpool2x2(x)) + bias + conv1x1(depthwise3x3(prelu(conv2x2 stride 2(x) + b1))))
 * (strided bottleneck), act ReLU or PReLU, as the separate ops define them:
 *  - the SIMD and plain-C paths against the ops written out in double, on random blocks of
 *    BlazeFace's, FaceMesh's and the iris net's channel counts (and counts the SIMD path leaves
 *    to the plain loops), on sizes whose (output) width is and is not a multiple of the 4-pixel
 *    groups, wide enough for the 8-pixel groups of narrow blocks, 1x1 included, with the 1x1
 *    convolutions and depthwise on AVX-512 where the CPU has it and with it turned off
 *    (fg_cpu_use_avx512) (tolerance 1e-4 on values of order 1); strided blocks and strided
 *    bottlenecks from cin to c channels, c = cin and c > cin, and refused on odd sizes;
 *  - BlazeFace, FaceMesh and the iris net run as their direct first convolution (src/nn/conv.c)
 *    and XNNPACK runtimes with their fused chains between them (src/nn/staged.c; BlazeFace's and
 *    FaceMesh's trunk, through their strided blocks, FaceMesh's mesh and
 *    face-flag branches, the iris net's trunk through its
 *    strided bottlenecks) against each
 *    whole graph in one XNNPACK runtime, on the same input: each output within 2e-4 of the
 *    larger of 1 and its value (BlazeFace's regressors and the mesh reach hundreds of pixels;
 *    float32 sums taken in another order through some 30 layers differ by up to 5e-5, as
 *    XNNPACK and tfjs-wasm do), and BlazeFace the same on two threads (the fused chains then
 *    run in bands of rows), FaceMesh on two threads bit for bit as on one;
 *  - a runtime with two inputs (the iris net's heads from its two branches' ends) gives what
 *    one runtime per input gives, in the order of its inputs; extra inputs without a named first
 *    one, more than NN_MAX_INPUTS, or naming no node are refused; a branch given the wrong size
 *    is refused;
 *  - what is not a residual block (a stride-2 layer without a residual, a block read from the
 *    wrong input, a node that does not exist, a strided block with a 3x3 pool or a stride-1
 *    depthwise, a strided bottleneck whose first convolution is stride 1 or whose depthwise is
 *    stride 2, a block with its residual from e read from the wrong input or with its first
 *    convolution or depthwise at stride 2) is refused with the node named, and a chain given the
 *    wrong size is refused.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "harness.h"
#include "models/models.h"
#include "nn/nn.h"

/* act(v) in double: ReLU, or PReLU with slope alpha[o]. */
static double act(const float *alpha, int o, double v)
{
    return v > 0 ? v : alpha ? alpha[o] * v : 0.0;
}

/* A strided block's residual at output pixel (py, px), channel o: the 2x2 max of x in the
 * first cin channels, zero above. */
static double pooled(const nn_block *b, const float *x, int w, int py, int px, int o)
{
    double best = -INFINITY;
    if (o >= b->cin) return 0.0;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
            best = fmax(best, x[((size_t)(2 * py + dy) * w + 2 * px + dx) * b->cin + o]);
    return best;
}

/* A bottleneck's first convolution (k x k stride k, k = its stride) at pixel (py, px) of its
 * output, channel o, on an input w wide. */
static double expanded(const nn_block *b, const float *x, int w, int py, int px, int o)
{
    const int k = b->stride;
    double v = b->b1[o];
    for (int dy = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++)
            for (int i = 0; i < b->cin; i++)
                v += (double)x[((size_t)(k * py + dy) * w + k * px + dx) * b->cin + i] *
                     b->w1[((size_t)(dy * k + dx) * b->cin + i) * b->m + o];
    return act(b->alpha1, o, v);
}

/* The block's ops one after another in double, on an h x w input. */
static void reference(const nn_block *b, const float *x, float *y, int h, int w)
{
    const int c = b->c, cin = b->cin, cd = b->m ? b->m : cin;
    const int s = b->m ? 1 : b->stride, pad = s == 1; /* the depthwise's stride */
    const int oh = h / b->stride, ow = w / b->stride;
    const int eh = b->m ? oh : h, ew = b->m ? ow : w; /* the depthwise's input */
    double *e = calloc((size_t)eh * ew * cd, sizeof *e),
           *d = calloc((size_t)oh * ow * cd, sizeof *d);
    for (int py = 0; py < eh; py++)
        for (int px = 0; px < ew; px++)
            for (int o = 0; o < cd; o++) {
                const size_t p = (size_t)py * ew + px;
                e[p * cd + o] = b->m ? expanded(b, x, w, py, px, o) : x[p * cin + o];
            }
    for (int py = 0; py < oh; py++) /* TF's SAME: 1 before at stride 1, 0 at stride 2 */
        for (int px = 0; px < ow; px++)
            for (int ch = 0; ch < cd; ch++) {
                double v = 0;
                for (int dy = 0; dy < 3; dy++)
                    for (int dx = 0; dx < 3; dx++) {
                        int yy = s * py - pad + dy, xx = s * px - pad + dx;
                        if (yy < 0 || yy >= eh || xx < 0 || xx >= ew) continue;
                        v += e[((size_t)yy * ew + xx) * cd + ch] * b->dw[(dy * 3 + dx) * cd + ch];
                    }
                d[((size_t)py * ow + px) * cd + ch] = v;
            }
    for (int py = 0; py < oh; py++)
        for (int px = 0; px < ow; px++) {
            const size_t p = (size_t)py * ow + px;
            for (int o = 0; o < c; o++) {
                double v = (double)b->bias[o] + (b->res_from_e    ? e[p * cd + o]
                                                 : b->stride == 1 ? x[p * c + o]
                                                                  : pooled(b, x, w, py, px, o));
                for (int i = 0; i < cd; i++)
                    v += d[p * cd + i] * b->w[(size_t)i * c + o];
                y[p * c + o] = (float)act(b->alpha, o, v);
            }
        }
    free(e);
    free(d);
}

static float *random_floats(int n, float scale, float offset, unsigned *seed)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++)
        v[i] = offset + scale * fg_test_frand(seed);
    return v;
}

/* A random block from cin to c channels at stride `stride`: a bottleneck through m channels
 * when m > 0, with PReLU slopes in [0, 0.5) when prelu is set (a bottleneck's first convolution
 * always has them). */
static void random_block(nn_block *b, int cin, int c, int m, int stride, int prelu, unsigned *seed)
{
    const int cd = m ? m : cin;
    memset(b, 0, sizeof *b);
    b->cin = cin;
    b->c = c;
    b->stride = stride;
    b->m = m;
    if (m) {
        b->w1 = random_floats(stride * stride * cin * m, 0.4f / stride, 0.0f, seed);
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

/* nn_block_run and the plain loop against the reference on a random h x w input. */
static void check_block(const nn_block *b, int h, int w, unsigned *seed)
{
    int oh, ow;
    nn_block_output_size(b, h, w, &oh, &ow);
    const size_t in = (size_t)h * w * b->cin, out = (size_t)oh * ow * b->c;
    float *x = malloc(in * sizeof *x), *want = malloc(out * sizeof *want);
    float *fast = malloc(out * sizeof *fast), *plain = malloc(out * sizeof *plain);
    CHECK(nn_block_fits(b, h, w));
    for (size_t i = 0; i < in; i++)
        x[i] = 2.0f * fg_test_frand(seed);
    reference(b, x, want, h, w);
    nn_block_run(b, x, fast, h, w);
    nn_block_run_portable(b, x, plain, h, w);
    CHECKF(fg_test_max_diff(fast, want, out) <= 1e-4,
           "%dx%dx%d/%d -> %d stride %d: nn_block_run off by %g", h, w, b->cin, b->m, b->c,
           b->stride, fg_test_max_diff(fast, want, out));
    CHECKF(fg_test_max_diff(plain, want, out) <= 1e-4,
           "%dx%dx%d/%d -> %d stride %d: the plain loop off by %g", h, w, b->cin, b->m, b->c,
           b->stride, fg_test_max_diff(plain, want, out));
    free(x);
    free(want);
    free(fast);
    free(plain);
}

static void random_blocks(void)
{
    /* Widths 20 and 27 take the 8-pixel groups of 24 or fewer channels inside the row (and 27
     * two of them, then 3 pixels); the others only the groups at the row's edges. */
    static const int sizes[][2] = {{1, 1}, {5, 7}, {9, 4}, {16, 13}, {3, 2}, {4, 20}, {3, 27}};
    /* c, m, PReLU: BlazeFace's 24 to 96 (ReLU), FaceMesh's 16 to 128 (PReLU), the iris net's
     * bottlenecks 64 through 32 and 128 through 64, 80 (AVX-512's 1x1 in 48 + 32), and 12 and
     * 64 through 12, which the SIMD path leaves to the plain loops. */
    static const int kinds[][3] = {{24, 0, 0},  {8, 0, 0},   {16, 0, 1}, {32, 0, 1},  {64, 0, 1},
                                   {128, 0, 1}, {40, 0, 1},  {12, 0, 1}, {64, 32, 1}, {128, 64, 1},
                                   {24, 8, 0},  {64, 12, 1}, {48, 0, 0}, {96, 0, 0},  {80, 0, 1}};
    unsigned seed = 7;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            nn_block b;
            random_block(&b, kinds[k][0], kinds[k][0], kinds[k][1], 1, kinds[k][2], &seed);
            check_block(&b, sizes[s][0], sizes[s][1], &seed);
            nn_block_free(&b);
        }
}

/* Bottlenecks whose residual is their first convolution's output (FaceMesh's 128 -> 32 at 3x3),
 * cin -> c = m, on the sizes of random_blocks. */
static void random_res_from_e_blocks(void)
{
    static const int sizes[][2] = {{1, 1}, {3, 3}, {5, 7}, {9, 4}, {16, 13}};
    /* cin, c, PReLU: FaceMesh's 128 -> 32, 32 -> 64, 24 -> 8 (ReLU), and 16 -> 12 and 12 -> 12,
     * which the SIMD path leaves to the plain loops. */
    static const int kinds[][3] = {{128, 32, 1}, {32, 64, 1}, {24, 8, 0}, {16, 12, 1}, {12, 12, 1}};
    unsigned seed = 23;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            nn_block b;
            random_block(&b, kinds[k][0], kinds[k][1], kinds[k][1], 1, kinds[k][2], &seed);
            b.res_from_e = 1;
            check_block(&b, sizes[s][0], sizes[s][1], &seed);
            nn_block_free(&b);
        }
}

/* Strided blocks and strided bottlenecks: even inputs whose halves are and are not multiples of
 * the 4-pixel groups (FaceMesh's last is 12x12 -> 6x6, the iris net's 4x4 -> 2x2), 1x1 out
 * included. */
static void random_strided_blocks(void)
{
    static const int sizes[][2] = {{2, 2}, {6, 10}, {12, 12}, {4, 26}, {10, 14}, {8, 16}};
    /* cin, c, m, PReLU: BlazeFace's 24 -> 24, 24 -> 48, 48 -> 96, 96 -> 96 (ReLU), FaceMesh's
     * 16 -> 32 ... 128 -> 128 (PReLU), the iris net's strided bottlenecks 64 -> 128 and 128 ->
     * 128 through 64, and 12 -> 20 (through 12), which the SIMD path leaves to the plain loops. */
    static const int kinds[][4] = {
        {24, 24, 0, 0}, {24, 48, 0, 0},   {48, 96, 0, 0},    {96, 96, 0, 0}, {16, 32, 0, 1},
        {32, 64, 0, 1}, {64, 128, 0, 1},  {128, 128, 0, 1},  {8, 8, 0, 1},   {12, 20, 0, 1},
        {16, 24, 0, 0}, {64, 128, 64, 1}, {128, 128, 64, 1}, {16, 24, 8, 0}, {12, 20, 12, 1}};
    unsigned seed = 17;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            nn_block b;
            random_block(&b, kinds[k][0], kinds[k][1], kinds[k][2], 2, kinds[k][3], &seed);
            check_block(&b, sizes[s][0], sizes[s][1], &seed);
            nn_block_free(&b);
        }
    /* An odd size does not fit: TF's SAME would pad the depthwise 1 before, the pool not. */
    nn_block b;
    random_block(&b, 16, 32, 0, 2, 1, &seed);
    CHECK(!nn_block_fits(&b, 7, 8) && !nn_block_fits(&b, 8, 7) && nn_block_fits(&b, 8, 8));
    nn_block_free(&b);
    random_block(&b, 16, 32, 16, 2, 1, &seed);
    CHECK(!nn_block_fits(&b, 7, 8) && !nn_block_fits(&b, 8, 7) && nn_block_fits(&b, 8, 8));
    nn_block_free(&b);
}

/* BlazeFace staged and fused vs BlazeFace as one XNNPACK graph. */
static void blazeface_split_matches_whole(void)
{
    static const char *const heads[4] = {"Identity", "Identity_2", "Identity_1", "Identity_3"};
    const nn_graph_model_options opts = {
        .outputs = heads, .num_outputs = 4, .input = {256, 256, 3}, .batch = 1, .threads = 1};
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
                  0.3f * fg_test_frand(&seed);
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
               0.3f * fg_test_frand(seed);
    }
}

/* FaceMesh and the iris net, staged and fused, against each as one XNNPACK graph. */
static void mesh_and_iris_split_match_whole(void)
{
    static const char *const mesh_outputs[2] = {"Identity_2", "Identity_1"};
    static const char *const iris_outputs[1] = {"Identity"};
    const nn_graph_model_options mesh_opts = {.outputs = mesh_outputs,
                                              .num_outputs = 2,
                                              .input = {192, 192, 3},
                                              .batch = 1,
                                              .threads = 1};
    const nn_graph_model_options iris_opts = {
        .outputs = iris_outputs, .num_outputs = 1, .input = {64, 64, 3}, .batch = 2, .threads = 1};
    nn_runtime *mesh_whole = NULL, *iris_whole = NULL;
    fgm_mesh *mesh = NULL, *mesh2 = NULL;
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

    /* On two threads, its maps of 24 and 12 rows in equal bands (2 x 12, 2 x 6): the same rows. */
    CHECKF(fgm_mesh_open(fg_test_fast_models(), 2, &mesh2, &err) == FG_OK, "%s", err.message);
    if (mesh2) {
        const float *points2;
        float confidence2;
        memcpy(fgm_mesh_input(mesh2), nn_runtime_input(mesh_whole), sizeof(float) * 192 * 192 * 3);
        CHECK(fgm_mesh_forward(mesh2, &points2, &confidence2, &err) == FG_OK);
        CHECK(memcmp(points2, points, sizeof(float) * FGM_MESH_POINTS * 3) == 0);
        CHECK(confidence2 == confidence);
    }

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
    fgm_mesh_free(mesh2);
    fgm_iris_free(iris);
}

/* A chain whose size is not its input's is refused before anything runs. */
static void wrong_chain_size_is_refused(void)
{
    static const char *const outputs[1] = {"Identity"};
    static const char *const ends[1] = {"StatefulPartitionedCall/functional_1/re_lu/Relu"};
    const nn_chain_spec chain = {
        "StatefulPartitionedCall/functional_1/conv2d/Relu", 64, 64, 1, ends, NULL};
    const nn_graph_model_options opts = {
        .outputs = outputs, .num_outputs = 1, .input = {256, 256, 3}, .batch = 1, .threads = 1};
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

#define BLAZE "StatefulPartitionedCall/functional_1/"
#define IRIS "StatefulPartitionedCall/model/"
#define MESH "StatefulPartitionedCall/model_1/"

/* The iris net's two heads from its branches' ends (2x2x128 each) in one runtime with two inputs
 * against each head alone; then the refused variants. */
static void runtime_with_two_inputs(void)
{
    static const char *const both[1] = {"Identity"};
    static const char *const contour[1] = {IRIS "conv_eyes_contours_and_brows/BiasAdd"};
    static const char *const iris_head[1] = {IRIS "conv_iris/BiasAdd"};
    static const char *const extra[1] = {IRIS "p_re_lu_52/Relu"};
    nn_graph_model_options o = {.outputs = both,
                                .num_outputs = 1,
                                .input = {2, 2, 128},
                                .batch = 1,
                                .threads = 1,
                                .input_node = IRIS "p_re_lu_36/Relu",
                                .extra_inputs = extra,
                                .num_extra_inputs = 1,
                                .extra_input = {{2, 2, 128}}};
    nn_graph_model *gm = NULL;
    nn_runtime *two = NULL, *a = NULL, *b = NULL;
    fg_error err;
    size_t count = 0, na = 0, nb = 0;
    unsigned seed = 5;

    CHECKF(nn_graph_model_open(fg_test_fast_models(), "iris", &gm, &err) == FG_OK, "%s",
           err.message);
    if (!gm) return;
    CHECKF(nn_graph_model_runtime(gm, &o, &two, &err) == FG_OK, "%s", err.message);
    nn_graph_model_options oa = o, ob = o;
    oa.outputs = contour, oa.num_extra_inputs = 0;
    ob.outputs = iris_head, ob.num_extra_inputs = 0, ob.input_node = extra[0];
    CHECKF(nn_graph_model_runtime(gm, &oa, &a, &err) == FG_OK, "%s", err.message);
    CHECKF(nn_graph_model_runtime(gm, &ob, &b, &err) == FG_OK, "%s", err.message);
    if (two && a && b) {
        float *in0 = nn_runtime_input_at(two, 0, &count), *in1 = nn_runtime_input_at(two, 1, NULL);
        CHECK(count == 2 * 2 * 128 && in1 && !nn_runtime_input_at(two, 2, NULL));
        for (size_t i = 0; i < count; i++) {
            nn_runtime_input(a)[i] = in0[i] = 2.0f * fg_test_frand(&seed);
            nn_runtime_input(b)[i] = in1[i] = 2.0f * fg_test_frand(&seed);
        }
        CHECK(nn_run(two, &err) == FG_OK && nn_run(a, &err) == FG_OK && nn_run(b, &err) == FG_OK);
        const float *y = nn_runtime_output(two, 0, &count);
        const float *ya = nn_runtime_output(a, 0, &na), *yb = nn_runtime_output(b, 0, &nb);
        CHECK(count == na + nb && na == 213 && nb == 15);
        if (count == na + nb) {
            double worst = fmax(fg_test_max_diff(y, ya, na), fg_test_max_diff(y + na, yb, nb));
            CHECKF(worst <= 1e-5, "two inputs off by %g", worst);
        }
    }
    nn_runtime_free(two);
    nn_runtime_free(a);
    nn_runtime_free(b);

    nn_runtime *rt = NULL;
    o.input_node = NULL; /* extra inputs after the Placeholder */
    CHECK_EQ_INT(nn_graph_model_runtime(gm, &o, &rt, &err), FG_EINVAL);
    o.input_node = IRIS "p_re_lu_36/Relu", o.num_extra_inputs = NN_MAX_INPUTS;
    CHECK_EQ_INT(nn_graph_model_runtime(gm, &o, &rt, &err), FG_EINVAL);
    CHECKF(strstr(err.message, "extra inputs") != NULL, "%s", err.message);
    static const char *const nowhere[1] = {"no/such/node"};
    o.extra_inputs = nowhere, o.num_extra_inputs = 1;
    CHECK_EQ_INT(nn_graph_model_runtime(gm, &o, &rt, &err), FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "iris.json: no input node named no/such/node") != NULL, "%s",
           err.message);
    CHECK(rt == NULL);

    /* A branch whose size is not its source chain's end. */
    static const char *const trunk[1] = {IRIS "p_re_lu_20/Relu"};
    static const char *const branch[1] = {IRIS "p_re_lu_22/Relu"};
    const nn_chain_spec chains[2] = {{IRIS "p_re_lu_18/Relu", 16, 16, 1, trunk, NULL},
                                     {IRIS "p_re_lu_20/Relu", 16, 16, 1, branch, NULL}};
    const nn_graph_model_options whole = {
        .outputs = both, .num_outputs = 1, .input = {64, 64, 3}, .batch = 1, .threads = 1};
    nn_staged *st = NULL;
    CHECK_EQ_INT(nn_staged_open(gm, &whole, chains, 2, &st, &err), FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "iris.json: " IRIS "p_re_lu_20/Relu is not 16x16x128") != NULL, "%s",
           err.message);
    CHECK(st == NULL);
    nn_graph_model_close(gm);
}

/* Reads one block ending in `end` from `input` of gm; expects a model_corrupt error
 * containing needle. */
static void expect_refused(const nn_graph_model *gm, const char *input, const char *end,
                           const char *needle)
{
    nn_block b[1];
    fg_error err = {0};
    int rc = nn_graph_model_read_blocks(gm, input, &end, 1, b, &err);
    CHECKF(rc == FG_EMODEL_CORRUPT, "%s: got %d (%s)", end, rc, err.message);
    CHECKF(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
}

/* <model>.json with node's attribute key set to the list of ints [1, v, v, 1]. */
static nn_graph_model *edited_model(const char *model, const char *node, const char *key, int v)
{
    char path[4096], what[64];
    size_t json_size = 0, bin_size = 0;
    nn_graph_model *gm = NULL;
    fg_error err;
    snprintf(path, sizeof path, "%s/%s.json", fg_test_fast_models(), model);
    char *text = fg_test_read(path, &json_size);
    snprintf(path, sizeof path, "%s/%s.bin", fg_test_fast_models(), model);
    unsigned char *bin = fg_test_read(path, &bin_size);
    json_t *root = text ? json_loadb(text, json_size, 0, NULL) : NULL, *n;
    size_t i;
    CHECK(root && bin);
    json_array_foreach(json_object_get(json_object_get(root, "modelTopology"), "node"), i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, "name")), node) != 0) continue;
        json_object_set_new(json_object_get(n, "attr"), key,
                            json_pack("{s:{s:[s,i,i,s]}}", "list", "i", "1", v, v, "1"));
    }
    char *changed = root ? json_dumps(root, JSON_COMPACT) : NULL;
    const nn_blob shard = {bin, bin_size};
    snprintf(what, sizeof what, "%s.json", model);
    if (changed)
        CHECKF(nn_graph_model_open_parsed(changed, strlen(changed), &shard, 1, what, &gm, &err) ==
                   FG_OK,
               "%s", err.message);
    free(changed);
    json_decref(root);
    free(text);
    free(bin);
    return gm;
}

/* What is not a residual block is refused with the node named: a stride-2 layer without a
 * residual (BlazeFace's last), a block read from the wrong input, a node that does not exist,
 * strided blocks whose pool is 3x3 or whose depthwise is stride 1, strided bottlenecks whose
 * first convolution is stride 1 or whose depthwise is stride 2, and a block with its residual
 * from its first convolution read from the wrong input or with that convolution or its
 * depthwise at stride 2. */
static void not_a_block_is_refused(void)
{
    nn_graph_model *gm = NULL;
    fg_error err;
    CHECKF(nn_graph_model_open(fg_test_fast_models(), "blazeface", &gm, &err) == FG_OK, "%s",
           err.message);
    if (!gm) return;
    expect_refused(gm, BLAZE "re_lu_30/Relu", BLAZE "re_lu_31/Relu",
                   "node " BLAZE "re_lu_31/Relu (_FusedConv2D): is not a Relu or Prelu");
    expect_refused(gm, BLAZE "re_lu_5/Relu", BLAZE "re_lu_7/Relu",
                   "node " BLAZE "max_pooling2d/MaxPool (MaxPool): does not pool the block's "
                   "input " BLAZE "re_lu_5/Relu");
    expect_refused(gm, BLAZE "re_lu_5/Relu", "no/such/node", "no node named no/such/node");
    nn_graph_model_close(gm);
    /* FaceMesh's p_re_lu_20, whose residual is its first convolution's output, read from the
     * wrong input. */
    CHECKF(nn_graph_model_open(fg_test_fast_models(), "facemesh", &gm, &err) == FG_OK, "%s",
           err.message);
    if (!gm) return;
    expect_refused(gm, MESH "p_re_lu_17/Relu", MESH "p_re_lu_20/Relu",
                   "node " MESH "add_18/add (AddV2): does not add the block's input " MESH
                   "p_re_lu_17/Relu, a max pool of it or a convolution of it");
    nn_graph_model_close(gm);

    /* model, the node edited (its attribute key set to [1, v, v, 1]), the block read, the
     * message */
    static const struct {
        const char *model, *node, *key;
        int v;
        const char *input, *end, *needle;
    } edits[] = {
        {"blazeface", BLAZE "max_pooling2d/MaxPool", "ksize", 3, BLAZE "re_lu_6/Relu",
         BLAZE "re_lu_7/Relu",
         "node " BLAZE "max_pooling2d/MaxPool (MaxPool): is not a 2x2 stride-2 max pool"},
        {"blazeface", BLAZE "depthwise_conv2d_15/depthwise", "strides", 1, BLAZE "re_lu_14/Relu",
         BLAZE "re_lu_15/Relu",
         "node " BLAZE "depthwise_conv2d_15/depthwise (DepthwiseConv2dNative): is not stride 2, "
         "SAME"},
        {"iris", IRIS "batch_normalization_9/FusedBatchNormV3", "strides", 1, IRIS "p_re_lu_8/Relu",
         IRIS "p_re_lu_10/Relu",
         "iris.json: node " IRIS "batch_normalization_9/FusedBatchNormV3 (_FusedConv2D): is not "
         "a stride-2 convolution with a bias and a Prelu"},
        {"iris", IRIS "depthwise_conv2d_9/depthwise", "strides", 2, IRIS "p_re_lu_18/Relu",
         IRIS "p_re_lu_20/Relu",
         "node " IRIS "depthwise_conv2d_9/depthwise (DepthwiseConv2dNative): is not stride 1, "
         "SAME"},
        {"facemesh", MESH "batch_normalization_19/FusedBatchNormV3", "strides", 2,
         MESH "p_re_lu_18/Relu", MESH "p_re_lu_20/Relu",
         "facemesh.json: node " MESH "batch_normalization_19/FusedBatchNormV3 (_FusedConv2D): is "
         "not a stride-1 convolution with a bias and a Prelu"},
        {"facemesh", MESH "depthwise_conv2d_18/depthwise", "strides", 2, MESH "p_re_lu_18/Relu",
         MESH "p_re_lu_20/Relu",
         "node " MESH "depthwise_conv2d_18/depthwise (DepthwiseConv2dNative): is not stride 1, "
         "SAME"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        if (!(gm = edited_model(edits[i].model, edits[i].node, edits[i].key, edits[i].v))) continue;
        expect_refused(gm, edits[i].input, edits[i].end, edits[i].needle);
        nn_graph_model_close(gm);
    }
}

int main(void)
{
    /* With the 1x1 convolutions of 16-multiple channel counts on AVX-512 (where the CPU has it),
     * then on AVX2 alone. */
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        fg_cpu_use_avx512(avx512);
        random_blocks();
        random_res_from_e_blocks();
        random_strided_blocks();
        blazeface_split_matches_whole();
        mesh_and_iris_split_match_whole();
    }
    fg_cpu_use_avx512(1);
    wrong_chain_size_is_refused();
    runtime_with_two_inputs();
    not_a_block_is_refused();
    return fg_test_done();
}
