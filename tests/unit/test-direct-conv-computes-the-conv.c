/*
 * The direct convolution (src/nn/conv.c) computes relu(conv(x) + bias) with TF's SAME padding:
 *  - its SIMD and plain-C paths against the convolution written out in double, on random
 *    5x5 stride-2 3 -> 24 kernels (BlazeFace's first layer) and sizes that are and are not even,
 *    narrower than the kernel, or wide enough for the 4-pixel groups and the border columns
 *    beside them; the plain path also on other kernels, strides and channel counts (tolerance
 *    1e-4 on values of order 1);
 *  - BlazeFace's own first layer, read from blazeface.json, on a random 256x256 image;
 *  - a node that is not a SAME-padded convolution with a bias and a ReLU reading the given
 *    input, a node that does not exist, and a kernel that is not square are refused with the
 *    node named.
 * BlazeFace as a whole (this layer included) is compared with Human's goldens in
 * test-fast-nets-match-human and with one XNNPACK graph in test-fused-block-computes-the-block.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

#define PREFIX "StatefulPartitionedCall/functional_1/"
#define FIRST PREFIX "conv2d/Relu"

static float frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 65535.0f - 0.5f;
}

static void reference(const nn_conv *cv, const float *x, float *y, int h, int w)
{
    const int k = cv->k, s = cv->stride, cin = cv->cin, cout = cv->cout;
    const int oh = (h + s - 1) / s, ow = (w + s - 1) / s;
    const int pt = ((oh - 1) * s + k - h) > 0 ? ((oh - 1) * s + k - h) / 2 : 0;
    const int pl = ((ow - 1) * s + k - w) > 0 ? ((ow - 1) * s + k - w) / 2 : 0;
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
                y[((size_t)oy * ow + ox) * cout + o] = sum > 0 ? (float)sum : 0.0f;
            }
}

static void random_conv(nn_conv *cv, int k, int stride, int cin, int cout, unsigned *seed)
{
    const size_t n = (size_t)k * k * cin * cout;
    cv->k = k, cv->stride = stride, cv->cin = cin, cv->cout = cout;
    cv->w = malloc(n * sizeof *cv->w);
    cv->bias = malloc((size_t)cout * sizeof *cv->bias);
    for (size_t i = 0; i < n; i++)
        cv->w[i] = 0.5f * frand(seed);
    for (int i = 0; i < cout; i++)
        cv->bias[i] = 0.2f * frand(seed);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    return worst;
}

/* Runs cv on a random h x w image by both paths (only the plain one when !fast) and checks
 * them against the double reference; returns how many outputs were positive (not all ReLU'd). */
static size_t check_conv(const nn_conv *cv, int h, int w, int fast, unsigned *seed)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    const size_t nin = (size_t)h * w * cv->cin, nout = (size_t)oh * ow * cv->cout;
    float *x = malloc(nin * sizeof *x), *want = malloc(nout * sizeof *want);
    float *got = malloc(nout * sizeof *got);
    size_t positive = 0;
    for (size_t i = 0; i < nin; i++)
        x[i] = 2.0f * frand(seed);
    reference(cv, x, want, h, w);
    for (size_t i = 0; i < nout; i++)
        positive += want[i] > 0;
    nn_conv_run_portable(cv, x, got, h, w);
    CHECKF(max_diff(got, want, nout) <= 1e-4, "%dx%d, k %d stride %d, %d -> %d: plain off by %g", h,
           w, cv->k, cv->stride, cv->cin, cv->cout, max_diff(got, want, nout));
    if (fast) {
        nn_conv_run(cv, x, got, h, w);
        CHECKF(max_diff(got, want, nout) <= 1e-4,
               "%dx%d, k %d stride %d, %d -> %d: nn_conv_run off by %g", h, w, cv->k, cv->stride,
               cv->cin, cv->cout, max_diff(got, want, nout));
    }
    free(x);
    free(want);
    free(got);
    return positive;
}

static void random_convs(void)
{
    /* 1x1, narrower than the kernel, odd, even with one group and its borders, wide */
    static const int sizes[][2] = {{1, 1}, {3, 4}, {7, 9}, {12, 12}, {9, 40}, {20, 33}};
    static const struct {
        int k, stride, cin, cout;
    } others[] = {{3, 1, 2, 5}, {4, 3, 4, 7}, {5, 2, 3, 8}, {1, 1, 6, 24}};
    unsigned seed = 5;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        nn_conv cv;
        random_conv(&cv, 5, 2, 3, 24, &seed);
        CHECK(check_conv(&cv, sizes[s][0], sizes[s][1], 1, &seed) > 0);
        nn_conv_free(&cv);
    }
    for (size_t o = 0; o < sizeof others / sizeof others[0]; o++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            nn_conv cv;
            random_conv(&cv, others[o].k, others[o].stride, others[o].cin, others[o].cout, &seed);
            check_conv(&cv, sizes[s][0], sizes[s][1], 1, &seed);
            nn_conv_free(&cv);
        }
    CHECK(nn_conv_macs(&(nn_conv){5, 2, 3, 24, NULL, NULL}, 256, 256) == 128u * 128 * 24 * 75);
    nn_conv_free(NULL);
}

static void blazeface_first_layer(void)
{
    nn_conv cv;
    fg_error err;
    unsigned seed = 9;
    int rc = nn_graph_model_conv(fg_test_fast_models(), "blazeface", "input", FIRST, &cv, &err);
    CHECKF(rc == FG_OK, "%s", err.message);
    if (rc) return;
    CHECK(cv.k == 5 && cv.stride == 2 && cv.cin == 3 && cv.cout == 24);
    CHECK(check_conv(&cv, 256, 256, 1, &seed) > 1000);
    nn_conv_free(&cv);
}

static void expect_refused(const char *input, const char *name, const char *needle)
{
    nn_conv cv;
    fg_error err = {0};
    int rc = nn_graph_model_conv(fg_test_fast_models(), "blazeface", input, name, &cv, &err);
    CHECKF(rc == FG_EMODEL_CORRUPT, "%s: got %d (%s)", name, rc, err.message);
    CHECKF(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message, needle);
    CHECK(cv.w == NULL && cv.bias == NULL);
}

/* blazeface.json with its first kernel [5, 5, 3, 24] declared [5, 3, 5, 24]: the same bytes. */
static void not_square(const char *json_path, const char *bin_path)
{
    size_t json_size, bin_size, i;
    char *text = fg_test_read(json_path, &json_size), *edited = NULL;
    unsigned char *bin = (unsigned char *)fg_test_read(bin_path, &bin_size);
    json_t *root = text ? json_loadb(text, json_size, 0, NULL) : NULL, *wt;
    nn_conv cv;
    fg_error err = {0};
    CHECK(root && bin);
    if (!root || !bin) goto done;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights"), i,
        wt)
    {
        if (strcmp(json_string_value(json_object_get(wt, "name")), "unknown") == 0)
            json_object_set_new(wt, "shape", json_pack("[i,i,i,i]", 5, 3, 5, 24));
    }
    edited = json_dumps(root, JSON_COMPACT);
    const nn_blob shard = {bin, bin_size};
    /* the unedited text is read (the parse path works), the edited one refused */
    CHECK(nn_graph_model_conv_parse(text, json_size, &shard, 1, "blazeface.json", "input", FIRST,
                                    &cv, &err) == FG_OK);
    nn_conv_free(&cv);
    CHECK(nn_graph_model_conv_parse(edited, strlen(edited), &shard, 1, "blazeface.json", "input",
                                    FIRST, &cv, &err) == FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "node " FIRST " (_FusedConv2D): has no k x k x cin x cout kernel"),
           "%s", err.message);
done:
    free(edited);
    json_decref(root);
    free(text);
    free(bin);
}

static void not_a_conv_is_refused(void)
{
    char json_path[4096], bin_path[4096];
    expect_refused("input", PREFIX "re_lu/Relu",
                   "node " PREFIX "re_lu/Relu (Relu): is not a "
                   "_FusedConv2D");
    expect_refused("input", PREFIX "conv2d_1/BiasAdd",
                   "is not a convolution with a bias and a ReLU");
    expect_refused("input", PREFIX "re_lu_31/Relu", "is not SAME padded");
    expect_refused("elsewhere", FIRST, "node " FIRST " (_FusedConv2D): does not read elsewhere");
    expect_refused("input", "no/such/node", "no node named no/such/node");
    snprintf(json_path, sizeof json_path, "%s/blazeface.json", fg_test_fast_models());
    snprintf(bin_path, sizeof bin_path, "%s/blazeface.bin", fg_test_fast_models());
    not_square(json_path, bin_path);
}

int main(void)
{
    random_convs();
    blazeface_first_layer();
    not_a_conv_is_refused();
    return fg_test_done();
}
