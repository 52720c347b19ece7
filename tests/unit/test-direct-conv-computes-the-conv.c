/*
 * The direct convolution (src/nn/conv.c) computes act(conv(x) + bias), act ReLU or PReLU, with
 * TF's SAME or VALID padding:
 *  - its SIMD and plain-C paths against the convolution written out in double (tolerance 1e-4
 *    on values of order 1) and against each other (1e-5: the same sums in the same order, fused
 *    or not), on random kernels of the first layers' shapes (5x5 stride 2 3 -> 24 ReLU as
 *    BlazeFace's; 3x3 stride 2 3 -> 16 and 3 -> 64 PReLU as FaceMesh's and the iris net's) and
 *    of others (8, 40 and 48 channels for every slice width, stride 1, 4 input channels; 32
 *    and 64 channels, which the AVX-512 kernel takes, among them the descriptor's VALID 7x7
 *    stride 2 3 -> 32), with AVX-512 where the CPU has it and again with it turned off, on
 *    sizes that are and are not even, narrower than the kernel, or wide enough for the pixel
 *    groups, the last group moved left and the border columns beside them;
 *  - BlazeFace's, FaceMesh's and the iris net's own first layers, read from their model.json,
 *    on random images of their input size;
 *  - a node that is not a SAME-padded convolution with a bias and a ReLU or Prelu reading the
 *    given input, a node that does not exist, a kernel that is not square and a Prelu whose
 *    alpha is not cout values are refused with the node named.
 * The nets as a whole (these layers included) are compared with Human's goldens in
 * test-fast-nets-match-human and with one XNNPACK graph each in
 * test-fused-block-computes-the-block.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "harness.h"
#include "nn/nn.h"

#define PREFIX "StatefulPartitionedCall/functional_1/"
#define FIRST PREFIX "conv2d/Relu"

static double activation(const nn_conv *cv, int o, double sum)
{
    return sum > 0 ? sum : cv->alpha ? cv->alpha[o] * sum : 0.0;
}

static void reference(const nn_conv *cv, const float *x, float *y, int h, int w)
{
    const int k = cv->k, s = cv->stride, cin = cv->cin, cout = cv->cout;
    const int oh = cv->valid ? (h >= k ? (h - k) / s + 1 : 0) : (h + s - 1) / s;
    const int ow = cv->valid ? (w >= k ? (w - k) / s + 1 : 0) : (w + s - 1) / s;
    const int pt = !cv->valid && ((oh - 1) * s + k - h) > 0 ? ((oh - 1) * s + k - h) / 2 : 0;
    const int pl = !cv->valid && ((ow - 1) * s + k - w) > 0 ? ((ow - 1) * s + k - w) / 2 : 0;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
            for (int o = 0; o < cout; o++) {
                double sum = cv->bias[o];
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s - pt + ky, ix = ox * s - pl + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int i = 0; i < cin; i++)
                            sum += (double)x[((size_t)iy * w + ix) * cin + i] *
                                   cv->w[(((size_t)ky * k + kx) * cin + i) * cout + o];
                    }
                y[((size_t)oy * ow + ox) * cout + o] = (float)activation(cv, o, sum);
            }
}

typedef struct conv_shape {
    int k, stride, cin, cout, prelu, valid;
} conv_shape;

static void random_conv(nn_conv *cv, conv_shape sh, unsigned *seed)
{
    const size_t n = (size_t)sh.k * sh.k * sh.cin * sh.cout;
    memset(cv, 0, sizeof *cv); /* HWIO */
    cv->k = sh.k, cv->stride = sh.stride, cv->cin = sh.cin, cv->cout = sh.cout;
    cv->valid = sh.valid;
    cv->w = malloc(n * sizeof *cv->w);
    cv->bias = malloc((size_t)sh.cout * sizeof *cv->bias);
    cv->alpha = sh.prelu ? malloc((size_t)sh.cout * sizeof *cv->alpha) : NULL;
    for (size_t i = 0; i < n; i++)
        cv->w[i] = 0.5f * fg_test_frand(seed);
    for (int i = 0; i < sh.cout; i++)
        cv->bias[i] = 0.2f * fg_test_frand(seed);
    for (int i = 0; sh.prelu && i < sh.cout; i++)
        cv->alpha[i] = 0.5f + fg_test_frand(seed); /* 0 .. 1, as the models' slopes */
}

/* Runs cv on a random h x w image by both paths and checks them against the double reference
 * and each other; counts the outputs the activation passed (positive) and scaled (negative). */
static void check_conv(const nn_conv *cv, int h, int w, size_t *positive, size_t *negative,
                       unsigned *seed)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    const size_t nin = (size_t)h * w * cv->cin, nout = (size_t)oh * ow * cv->cout;
    float *x = malloc(nin * sizeof *x), *want = malloc(nout * sizeof *want);
    float *plain = malloc(nout * sizeof *plain), *got = malloc(nout * sizeof *got);
    for (size_t i = 0; i < nin; i++)
        x[i] = 2.0f * fg_test_frand(seed);
    reference(cv, x, want, h, w);
    for (size_t i = 0; i < nout; i++) {
        *positive += want[i] > 0;
        *negative += want[i] < 0;
    }
    nn_conv_run_portable(cv, x, plain, h, w);
    nn_conv_run(cv, x, got, h, w);
    CHECKF(fg_test_max_diff(plain, want, nout) <= 1e-4,
           "%dx%d, k %d stride %d, %d -> %d: plain off by %g", h, w, cv->k, cv->stride, cv->cin,
           cv->cout, fg_test_max_diff(plain, want, nout));
    CHECKF(fg_test_max_diff(got, want, nout) <= 1e-4,
           "%dx%d, k %d stride %d, %d -> %d: nn_conv_run off by %g", h, w, cv->k, cv->stride,
           cv->cin, cv->cout, fg_test_max_diff(got, want, nout));
    CHECKF(fg_test_max_diff(got, plain, nout) <= 1e-5,
           "%dx%d, k %d stride %d, %d -> %d: nn_conv_run and the plain loop differ by %g", h, w,
           cv->k, cv->stride, cv->cin, cv->cout, fg_test_max_diff(got, plain, nout));
    free(x);
    free(want);
    free(plain);
    free(got);
}

static void random_convs(void)
{
    /* 1x1, narrower than the kernel, odd, even with one group and its borders, wide enough for
     * groups of 12 and the last one moved left */
    static const int sizes[][2] = {{1, 1}, {3, 4}, {7, 9}, {12, 12}, {9, 40}, {20, 33}, {6, 61}};
    static const conv_shape shapes[] = {
        {5, 2, 3, 24, 0, 0},
        {3, 2, 3, 16, 1, 0},
        {3, 2, 3, 64, 1, 0}, /* the first layers */
        {3, 2, 3, 8, 1, 0},
        {5, 2, 3, 40, 0, 0},
        {3, 1, 3, 48, 1, 0}, /* slices of 8, 24 + 16, 2 x 24 */
        {3, 1, 2, 5, 0, 0},
        {4, 3, 4, 7, 1, 0},
        {1, 1, 6, 24, 0, 0},
        {3, 2, 4, 16, 1, 0},
        /* the descriptor's first layer (VALID) and others of 32 and 64 channels: with AVX-512,
         * slices of 32 and groups of 8 pixels */
        {7, 2, 3, 32, 0, 1},
        {7, 2, 3, 32, 0, 0},
        {3, 1, 4, 64, 1, 0},
        {5, 1, 3, 32, 1, 1},
    };
    unsigned seed = 5;
    for (size_t c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        size_t positive = 0, negative = 0;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            nn_conv cv;
            random_conv(&cv, shapes[c], &seed);
            check_conv(&cv, sizes[s][0], sizes[s][1], &positive, &negative, &seed);
            nn_conv_free(&cv);
        }
        /* both sides of the activation were exercised */
        CHECKF(positive > 100 && (!shapes[c].prelu || negative > 100),
               "k %d, %d -> %d: %zu positive, %zu negative outputs", shapes[c].k, shapes[c].cin,
               shapes[c].cout, positive, negative);
    }
    CHECK(nn_conv_macs(&(nn_conv){.k = 5, .stride = 2, .cin = 3, .cout = 24}, 256, 256) ==
          128u * 128 * 24 * 75);
    nn_conv_free(NULL);
}

/* The convolution `name` (reading `input`) of the model opened from its files, or (parsed)
 * from json and one shard in memory as blazeface.json; cv is zeroed when either fails. */
static int read_conv_of(nn_graph_model *m, int rc, const char *input, const char *name, nn_conv *cv,
                        fg_error *err)
{
    memset(cv, 0, sizeof *cv);
    if (!rc) rc = nn_graph_model_read_conv(m, input, name, cv, err);
    nn_graph_model_close(m);
    return rc;
}

static int model_conv(const char *model, const char *input, const char *name, nn_conv *cv,
                      fg_error *err)
{
    nn_graph_model *m = NULL;
    int rc = nn_graph_model_open(fg_test_fast_models(), model, &m, err);
    return read_conv_of(m, rc, input, name, cv, err);
}

static int parsed_conv(const char *json, size_t size, const nn_blob *shard, const char *input,
                       const char *name, nn_conv *cv, fg_error *err)
{
    nn_graph_model *m = NULL;
    int rc = nn_graph_model_open_parsed(json, size, shard, 1, "blazeface.json", &m, err);
    return read_conv_of(m, rc, input, name, cv, err);
}

/* The first layer of a model, read from its model.json, on a random image of its input size. */
static void first_layer(const char *model, const char *input, const char *name, int size,
                        conv_shape want)
{
    nn_conv cv;
    fg_error err;
    unsigned seed = 9;
    size_t positive = 0, negative = 0;
    int rc = model_conv(model, input, name, &cv, &err);
    CHECKF(rc == FG_OK, "%s", err.message);
    if (rc) return;
    CHECKF(cv.k == want.k && cv.stride == want.stride && cv.cin == want.cin &&
               cv.cout == want.cout && !cv.alpha == !want.prelu,
           "%s: k %d stride %d %d -> %d, %s", model, cv.k, cv.stride, cv.cin, cv.cout,
           cv.alpha ? "PReLU" : "ReLU");
    check_conv(&cv, size, size, &positive, &negative, &seed);
    CHECKF(positive > 1000 && (!want.prelu || negative > 1000), "%s: %zu positive, %zu negative",
           model, positive, negative);
    nn_conv_free(&cv);
}

static void first_layers(void)
{
    first_layer("blazeface", "input", FIRST, 256, (conv_shape){5, 2, 3, 24, 0, 0});
    first_layer("facemesh", "input_1",
                "StatefulPartitionedCall/model_1/batch_normalization_1/FusedBatchNormV3", 192,
                (conv_shape){3, 2, 3, 16, 1, 0});
    first_layer("iris", "input_1",
                "StatefulPartitionedCall/model/batch_normalization/FusedBatchNormV3", 64,
                (conv_shape){3, 2, 3, 64, 1, 0});
}

static void expect_refused(const char *input, const char *name, const char *needle)
{
    nn_conv cv;
    fg_error err = {0};
    int rc = model_conv("blazeface", input, name, &cv, &err);
    CHECKF(rc == FG_EMODEL_CORRUPT, "%s: got %d (%s)", name, rc, err.message);
    CHECKF(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    CHECK(cv.w == NULL && cv.bias == NULL);
}

/* Edits of blazeface.json (its weights unchanged). */
static void declare_not_square(json_t *root)
{
    size_t i;
    json_t *wt;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights"), i,
        wt)
    {
        if (strcmp(json_string_value(json_object_get(wt, "name")), "unknown") == 0)
            json_object_set_new(wt, "shape", json_pack("[i,i,i,i]", 5, 3, 5, 24));
    }
}

/* The first layer's ReLU made a Prelu with the constant `alpha` (NULL: none) as its slopes. */
static void make_prelu(json_t *root, const char *alpha)
{
    size_t i;
    json_t *node;
    json_array_foreach(json_object_get(json_object_get(root, "modelTopology"), "node"), i, node)
    {
        if (strcmp(json_string_value(json_object_get(node, "name")), FIRST) != 0) continue;
        json_t *ops =
            json_object_get(json_object_get(json_object_get(node, "attr"), "fused_ops"), "list");
        json_object_set_new(ops, "s", json_pack("[s,s]", "Qmlhc0FkZA==", "UHJlbHU=")); /* base64 */
        if (alpha) json_array_append_new(json_object_get(node, "input"), json_string(alpha));
    }
}

static void slopes_of_bias(json_t *root)
{
    make_prelu(root, "unknown_0"); /* the bias: 24 values */
}

static void slopes_of_kernel(json_t *root)
{
    make_prelu(root, "unknown"); /* the kernel: 5 x 5 x 3 x 24 values */
}

static void no_slopes(json_t *root)
{
    make_prelu(root, NULL);
}

/* The first convolution of blazeface.json after edit, parsed from memory: refused with a message
 * containing needle, or (needle NULL) read, with the bias as PReLU slopes. The unedited text is
 * read. */
static void edited(const char *models, void (*edit)(json_t *root), const char *needle)
{
    char json_path[4096], bin_path[4096];
    size_t json_size, bin_size;
    snprintf(json_path, sizeof json_path, "%s/blazeface.json", models);
    snprintf(bin_path, sizeof bin_path, "%s/blazeface.bin", models);
    char *text = fg_test_read(json_path, &json_size), *changed = NULL;
    unsigned char *bin = (unsigned char *)fg_test_read(bin_path, &bin_size);
    json_t *root = text ? json_loadb(text, json_size, 0, NULL) : NULL;
    nn_conv cv;
    fg_error err = {0};
    CHECK(root && bin);
    if (!root || !bin) goto done;
    edit(root);
    changed = json_dumps(root, JSON_COMPACT);
    const nn_blob shard = {bin, bin_size};
    CHECK(parsed_conv(text, json_size, &shard, "input", FIRST, &cv, &err) == FG_OK);
    CHECK(cv.alpha == NULL);
    nn_conv_free(&cv);
    int rc = parsed_conv(changed, strlen(changed), &shard, "input", FIRST, &cv, &err);
    if (needle) {
        CHECKF(rc == FG_EMODEL_CORRUPT, "got %d", rc);
        CHECKF(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
        CHECK(cv.w == NULL && cv.bias == NULL && cv.alpha == NULL);
    } else {
        CHECKF(rc == FG_OK, "%s", err.message);
        CHECK(rc == FG_OK && cv.alpha && memcmp(cv.alpha, cv.bias, 24 * sizeof *cv.alpha) == 0);
    }
    nn_conv_free(&cv);
done:
    free(changed);
    json_decref(root);
    free(text);
    free(bin);
}

static void not_a_conv_is_refused(void)
{
    expect_refused("input", PREFIX "re_lu/Relu",
                   "node " PREFIX "re_lu/Relu (Relu): is not a "
                   "_FusedConv2D");
    expect_refused("input", PREFIX "conv2d_1/BiasAdd",
                   "is not a convolution with a bias and a ReLU or a Prelu");
    expect_refused("input", PREFIX "re_lu_31/Relu", "is not SAME padded");
    expect_refused("elsewhere", FIRST, "node " FIRST " (_FusedConv2D): does not read elsewhere");
    expect_refused("input", "no/such/node", "no node named no/such/node");
    edited(fg_test_fast_models(), declare_not_square,
           "node " FIRST " (_FusedConv2D): has no k x k x cin x cout kernel");
    edited(fg_test_fast_models(), slopes_of_kernel,
           "node " FIRST " (_FusedConv2D): the alpha is not a constant of 24 values");
    edited(fg_test_fast_models(), no_slopes, "node " FIRST " (_FusedConv2D): has no input 3");
    edited(fg_test_fast_models(), slopes_of_bias, NULL);
}

int main(void)
{
    /* With AVX-512 (where the CPU has it), then the AVX2 kernels alone. */
    for (int avx512 = 1; avx512 >= 0; avx512--) {
        fg_cpu_use_avx512(avx512);
        random_convs();
    }
    fg_cpu_use_avx512(1);
    first_layers();
    not_a_conv_is_refused();
    return fg_test_done();
}
