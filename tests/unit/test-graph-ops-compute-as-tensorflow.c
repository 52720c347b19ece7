/*
 * The graph-model translator computes each TF op it supports as TensorFlow defines it: small
 * model.json graphs built here, run through nn_graph_model_parse, compared with the op written
 * out as plain loops (float, tolerance 1e-4). Covers the convolutions with their fused ops,
 * element-wise ops between two activations and with constants (either side), pooling, padding,
 * reshape, concatenation, bilinear resizing in its three modes, matrix products, transposes,
 * activations, and constant folding.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

#define MAX_BYTES (1 << 20)

/* A graph under construction: nodes, one weight group, its bytes. */
typedef struct model {
    json_t *nodes, *weights;
    unsigned char bytes[MAX_BYTES];
    size_t size;
} model;

static void model_init(model *m, int h, int w, int c)
{
    m->nodes = json_array();
    m->weights = json_array();
    m->size = 0;
    json_array_append_new(m->nodes,
                          json_pack("{s:s, s:s, s:{s:{s:{s:[{s:s},{s:i},{s:i},{s:i}]}}}}", "name",
                                    "x", "op", "Placeholder", "attr", "shape", "shape", "dim",
                                    "size", "-1", "size", h, "size", w, "size", c));
}

static void add_const(model *m, const char *name, const char *dtype, json_t *shape,
                      const float *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(dtype, "int32") == 0) {
            int32_t v = (int32_t)values[i];
            memcpy(m->bytes + m->size, &v, 4);
        } else {
            memcpy(m->bytes + m->size, &values[i], 4);
        }
        m->size += 4;
    }
    json_array_append_new(
        m->weights, json_pack("{s:s, s:O, s:s}", "name", name, "shape", shape, "dtype", dtype));
    json_decref(shape);
    json_array_append_new(m->nodes, json_pack("{s:s, s:s}", "name", name, "op", "Const"));
}

/* A node; attr may be NULL. Takes the references to inputs and attr. */
static void add_node(model *m, const char *name, const char *op, json_t *inputs, json_t *attr)
{
    json_t *n = json_pack("{s:s, s:s, s:o}", "name", name, "op", op, "input", inputs);
    if (attr) json_object_set_new(n, "attr", attr);
    json_array_append_new(m->nodes, n);
}

/* Parses the model with output `out`, runs it on `in`; returns the output (malloc'd) or NULL. */
static float *run(model *m, const char *out, const float *in, int h, int w, int c, size_t *count,
                  fg_error *err)
{
    json_t *root = json_pack("{s:{s:o}, s:[{s:[s], s:o}]}", "modelTopology", "node", m->nodes,
                             "weightsManifest", "paths", "w.bin", "weights", m->weights);
    char *text = json_dumps(root, 0);
    const nn_blob shard = {m->bytes, m->size};
    const char *outputs[1] = {out};
    const nn_graph_model_options opts = {.name = "test.json",
                                         .outputs = outputs,
                                         .num_outputs = 1,
                                         .input = {h, w, c},
                                         .batch = 1,
                                         .threads = 1};
    nn_runtime *rt = NULL;
    float *result = NULL;
    int rc = nn_graph_model_parse(text, strlen(text), &shard, 1, &opts, &rt, err);
    free(text);
    json_decref(root);
    if (rc) return NULL;
    memcpy(nn_runtime_input(rt), in, sizeof(float) * (size_t)h * w * c);
    if (nn_run(rt, err) == FG_OK) {
        const float *o = nn_runtime_output(rt, 0, count);
        result = malloc(*count * sizeof *result);
        memcpy(result, o, *count * sizeof *result);
    }
    nn_runtime_free(rt);
    return result;
}

static void fill(float *v, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(((i * 37 + (size_t)seed * 11) % 23) / 11.0 - 1.0);
}

static void check_close(const char *what, const float *got, size_t n, const float *want,
                        size_t want_n)
{
    double d = 0;
    CHECKF(got != NULL, "%s: did not run", what);
    CHECKF(n == want_n, "%s: %zu values, expected %zu", what, n, want_n);
    if (!got || n != want_n) return;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= d)) d = e;
    }
    CHECKF(d <= 1e-4, "%s: off by %g", what, d);
}

static json_t *ints(int a, int b, int c, int d)
{
    return json_pack("{s:{s:[i,i,i,i]}}", "list", "i", a, b, c, d);
}

static json_t *str(const char *base64)
{
    return json_pack("{s:s}", "s", base64);
}

#define B64_SAME "U0FNRQ=="
#define B64_VALID "VkFMSUQ="
#define B64_BIASADD "Qmlhc0FkZA=="
#define B64_RELU6 "UmVsdTY="
#define B64_PRELU "UHJlbHU="
#define B64_RELU "UmVsdQ=="

/* TF conv2d (NHWC, HWIO filter), 'same' or 'valid', square stride, then bias. */
static void conv_ref(const float *x, int h, int w, int c, const float *f, int k, int cout,
                     int stride, int same, const float *bias, int depthwise, float *y, int *oh,
                     int *ow)
{
    int pt = 0, pl = 0;
    *oh = same ? (h + stride - 1) / stride : (h - k) / stride + 1;
    *ow = same ? (w + stride - 1) / stride : (w - k) / stride + 1;
    if (same) {
        int ph = (*oh - 1) * stride + k - h, pw = (*ow - 1) * stride + k - w;
        pt = (ph > 0 ? ph : 0) / 2, pl = (pw > 0 ? pw : 0) / 2;
    }
    for (int oy = 0; oy < *oh; oy++)
        for (int ox = 0; ox < *ow; ox++)
            for (int o = 0; o < cout; o++) {
                double s = bias ? bias[o] : 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride - pt + ky, ix = ox * stride - pl + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        if (depthwise) {
                            s += x[(iy * w + ix) * c + o] * f[(ky * k + kx) * c + o];
                        } else {
                            for (int i = 0; i < c; i++)
                                s += x[(iy * w + ix) * c + i] *
                                     f[((ky * k + kx) * c + i) * cout + o];
                        }
                    }
                y[(oy * *ow + ox) * cout + o] = (float)s;
            }
}

static void test_fused_conv(void)
{
    enum { H = 9, W = 7, C = 3, K = 3, CO = 5 };
    model *m = calloc(1, sizeof *m);
    float x[H * W * C], f[K * K * C * CO], b[CO], want[H * W * CO];
    int oh, ow;
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 1), fill(f, K * K * C * CO, 2), fill(b, CO, 3);

    model_init(m, H, W, C);
    add_const(m, "f", "float32", json_pack("[i,i,i,i]", K, K, C, CO), f, K * K * C * CO);
    add_const(m, "b", "float32", json_pack("[i]", CO), b, CO);
    add_node(m, "conv", "_FusedConv2D", json_pack("[s,s,s]", "x", "f", "b"),
             json_pack("{s:o, s:o, s:{s:{s:[s,s]}}}", "strides", ints(1, 2, 2, 1), "padding",
                       str(B64_SAME), "fused_ops", "list", "s", B64_BIASADD, B64_RELU6));
    conv_ref(x, H, W, C, f, K, CO, 2, 1, b, 0, want, &oh, &ow);
    for (int i = 0; i < oh * ow * CO; i++)
        want[i] = fminf(fmaxf(want[i], 0), 6);
    float *got = run(m, "conv", x, H, W, C, &n, &err);
    check_close("_FusedConv2D same/2 + bias + relu6", got, n, want, (size_t)(oh * ow * CO));
    free(got);

    /* Plain Conv2D, 'valid', stride 1. */
    model_init(m, H, W, C);
    add_const(m, "f", "float32", json_pack("[i,i,i,i]", K, K, C, CO), f, K * K * C * CO);
    add_node(m, "conv", "Conv2D", json_pack("[s,s]", "x", "f"),
             json_pack("{s:o, s:o}", "strides", ints(1, 1, 1, 1), "padding", str(B64_VALID)));
    conv_ref(x, H, W, C, f, K, CO, 1, 0, NULL, 0, want, &oh, &ow);
    got = run(m, "conv", x, H, W, C, &n, &err);
    check_close("Conv2D valid/1", got, n, want, (size_t)(oh * ow * CO));
    free(got);
    free(m);
}

static void test_depthwise_prelu(void)
{
    enum { H = 6, W = 6, C = 4 };
    model *m = calloc(1, sizeof *m);
    float x[H * W * C], f[9 * C], a[C], want[H * W * C];
    int oh, ow;
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 4), fill(f, 9 * C, 5), fill(a, C, 6);

    model_init(m, H, W, C);
    add_const(m, "f", "float32", json_pack("[i,i,i,i]", 3, 3, C, 1), f, 9 * C);
    add_const(m, "a", "float32", json_pack("[i,i,i]", 1, 1, C), a, C);
    add_node(m, "dw", "DepthwiseConv2dNative", json_pack("[s,s]", "x", "f"),
             json_pack("{s:o, s:o}", "strides", ints(1, 1, 1, 1), "padding", str(B64_SAME)));
    add_node(m, "p", "Prelu", json_pack("[s,s]", "dw", "a"), NULL);
    add_node(m, "out", "Identity", json_pack("[s]", "p"), NULL);
    conv_ref(x, H, W, C, f, 3, C, 1, 1, NULL, 1, want, &oh, &ow);
    for (int i = 0; i < oh * ow * C; i++)
        if (want[i] < 0) want[i] *= a[i % C];
    float *got = run(m, "out", x, H, W, C, &n, &err);
    check_close("DepthwiseConv2dNative + Prelu", got, n, want, (size_t)(oh * ow * C));
    free(got);
    free(m);
}

/* Add (two activations), then Sub (constant - x), then Mul (x * per-channel constant), then
 * Neg and Sigmoid; the constant of the Mul is folded from Const + Const. */
static void test_elementwise_and_folding(void)
{
    enum { H = 3, W = 4, C = 2 };
    model *m = calloc(1, sizeof *m);
    float x[H * W * C], k[C] = {0.5f, -2.0f}, s1[C] = {1.5f, 0.25f}, s2[C] = {-0.5f, 0.75f};
    float want[H * W * C];
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 7);

    model_init(m, H, W, C);
    add_const(m, "k", "float32", json_pack("[i]", C), k, C);
    add_const(m, "s1", "float32", json_pack("[i,i,i]", 1, 1, C), s1, C);
    add_const(m, "s2", "float32", json_pack("[i,i,i]", 1, 1, C), s2, C);
    add_node(m, "s", "AddV2", json_pack("[s,s]", "s1", "s2"), NULL); /* folded: [1.0, 1.0] */
    add_node(m, "relu", "Relu", json_pack("[s]", "x"), NULL);
    add_node(m, "sum", "Add", json_pack("[s,s]", "x", "relu"), NULL);
    add_node(m, "diff", "Sub", json_pack("[s,s]", "k", "sum"), NULL);
    add_node(m, "prod", "Mul", json_pack("[s,s]", "diff", "s"), NULL);
    add_node(m, "neg", "Neg", json_pack("[s]", "prod"), NULL);
    add_node(m, "sig", "Sigmoid", json_pack("[s]", "neg"), NULL);
    for (int i = 0; i < H * W * C; i++) {
        double v = x[i] + fmax(x[i], 0);
        v = (k[i % C] - v) * (s1[i % C] + s2[i % C]);
        want[i] = (float)(1 / (1 + exp(v))); /* sigmoid(-v) */
    }
    float *got = run(m, "sig", x, H, W, C, &n, &err);
    check_close("Add, Sub, Mul (folded constant), Neg, Sigmoid", got, n, want, H * W * C);
    free(got);
    free(m);
}

static void test_pool_pad_concat(void)
{
    enum { H = 5, W = 6, C = 2 };
    model *m = calloc(1, sizeof *m);
    float x[H * W * C], pads[8] = {0, 0, 1, 0, 0, 2, 1, 1}, axis = -1;
    float want[64 * 8];
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 8);

    /* MaxPool 3x3/2 'same' on 5x6: out 3x3, padding only after (TF puts the odd one last). */
    model_init(m, H, W, C);
    add_node(m, "mp", "MaxPool", json_pack("[s]", "x"),
             json_pack("{s:o, s:o, s:o}", "ksize", ints(1, 3, 3, 1), "strides", ints(1, 2, 2, 1),
                       "padding", str(B64_SAME)));
    for (int oy = 0; oy < 3; oy++)
        for (int ox = 0; ox < 3; ox++)
            for (int c = 0; c < C; c++) {
                float best = -INFINITY;
                /* total padding rows (3-1)*2+3-5 = 2 -> 1 before; cols (3-1)*2+3-6 = 1 -> 0 */
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = oy * 2 - 1 + ky, ix = ox * 2 + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                            best = fmaxf(best, x[(iy * W + ix) * C + c]);
                    }
                want[(oy * 3 + ox) * C + c] = best;
            }
    float *got = run(m, "mp", x, H, W, C, &n, &err);
    check_close("MaxPool 3x3/2 same", got, n, want, 3 * 3 * C);
    free(got);

    /* AvgPool 2x2/2 'valid' on 5x6: 2x3. */
    model_init(m, H, W, C);
    add_node(m, "ap", "AvgPool", json_pack("[s]", "x"),
             json_pack("{s:o, s:o, s:o}", "ksize", ints(1, 2, 2, 1), "strides", ints(1, 2, 2, 1),
                       "padding", str(B64_VALID)));
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 3; ox++)
            for (int c = 0; c < C; c++) {
                double s = 0;
                for (int k = 0; k < 4; k++)
                    s += x[((oy * 2 + k / 2) * W + ox * 2 + k % 2) * C + c];
                want[(oy * 3 + ox) * C + c] = (float)(s / 4);
            }
    got = run(m, "ap", x, H, W, C, &n, &err);
    check_close("AvgPool 2x2/2 valid", got, n, want, 2 * 3 * C);
    free(got);

    /* Pad rows (1, 0), columns (0, 2), channels (1, 1); then concat with itself on channels. */
    model_init(m, H, W, C);
    add_const(m, "p", "int32", json_pack("[i,i]", 4, 2), pads, 8);
    add_const(m, "axis", "int32", json_pack("[]"), &axis, 1);
    add_node(m, "pad", "Pad", json_pack("[s,s]", "x", "p"), NULL);
    add_node(m, "cat", "ConcatV2", json_pack("[s,s,s]", "pad", "pad", "axis"),
             json_pack("{s:{s:i}}", "N", "i", 2));
    int ph = H + 1, pw = W + 2, pc = C + 2;
    for (int y = 0; y < ph; y++)
        for (int xx = 0; xx < pw; xx++)
            for (int c = 0; c < 2 * pc; c++) {
                int sy = y - 1, sx = xx, sc = c % pc - 1;
                float v = sy >= 0 && sx < W && sc >= 0 && sc < C ? x[(sy * W + sx) * C + sc] : 0;
                want[(y * pw + xx) * 2 * pc + c] = v;
            }
    got = run(m, "cat", x, H, W, C, &n, &err);
    check_close("Pad (rows, columns, channels) + ConcatV2 axis -1", got, n, want,
                (size_t)(ph * pw * 2 * pc));
    free(got);

    /* ConcatV2 on rows (axis 1). */
    model_init(m, H, W, C);
    axis = 1;
    add_const(m, "axis", "int32", json_pack("[]"), &axis, 1);
    add_node(m, "cat", "ConcatV2", json_pack("[s,s,s]", "x", "x", "axis"), NULL);
    memcpy(want, x, sizeof x);
    memcpy(want + H * W * C, x, sizeof x);
    got = run(m, "cat", x, H, W, C, &n, &err);
    check_close("ConcatV2 axis 1", got, n, want, 2 * H * W * C);
    free(got);
    free(m);
}

/* Reshape to [1, K] (a folded shape), then _FusedMatMul with transpose_b, bias and Relu. */
static void test_reshape_matmul(void)
{
    enum { H = 2, W = 3, C = 2, K = H * W * C, M = 4 };
    model *m = calloc(1, sizeof *m);
    float x[K], wt[M * K], b[M], shape[2] = {1, -1}, want[M];
    size_t n;
    fg_error err = {0};
    fill(x, K, 9), fill(wt, M * K, 10), fill(b, M, 11);

    model_init(m, H, W, C);
    add_const(m, "shape", "int32", json_pack("[i]", 2), shape, 2);
    add_const(m, "w", "float32", json_pack("[i,i]", M, K), wt, M * K);
    add_const(m, "b", "float32", json_pack("[i]", M), b, M);
    add_node(m, "flat", "Reshape", json_pack("[s,s]", "x", "shape"), NULL);
    add_node(m, "mm", "_FusedMatMul", json_pack("[s,s,s]", "flat", "w", "b"),
             json_pack("{s:{s:b}, s:{s:{s:[s,s]}}}", "transpose_b", "b", 1, "fused_ops", "list",
                       "s", B64_BIASADD, B64_RELU));
    for (int o = 0; o < M; o++) {
        double s = b[o];
        for (int i = 0; i < K; i++)
            s += x[i] * wt[o * K + i];
        want[o] = (float)fmax(s, 0);
    }
    float *got = run(m, "mm", x, H, W, C, &n, &err);
    check_close("Reshape + _FusedMatMul (transpose_b, bias, relu)", got, n, want, M);
    free(got);
    free(m);
}

/* tf.image.resizeBilinear in its three coordinate modes, 3x4 -> 5x7. */
static void test_resize(void)
{
    enum { H = 3, W = 4, C = 1, OH = 5, OW = 7 };
    static const char *const modes[3] = {"legacy", "half_pixel_centers", "align_corners"};
    float x[H * W * C], size[2] = {OH, OW}, want[OH * OW];
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 12);
    for (int mode = 0; mode < 3; mode++) {
        model *m = calloc(1, sizeof *m);
        model_init(m, H, W, C);
        add_const(m, "size", "int32", json_pack("[i]", 2), size, 2);
        json_t *attr = json_object();
        if (mode) json_object_set_new(attr, modes[mode], json_pack("{s:b}", "b", 1));
        add_node(m, "r", "ResizeBilinear", json_pack("[s,s]", "x", "size"), attr);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double sy, sx;
                if (mode == 2) {
                    sy = oy * (H - 1.0) / (OH - 1), sx = ox * (W - 1.0) / (OW - 1);
                } else if (mode == 1) {
                    sy = fmax(0, (oy + 0.5) * H / OH - 0.5),
                    sx = fmax(0, (ox + 0.5) * W / OW - 0.5);
                } else {
                    sy = oy * (double)H / OH, sx = ox * (double)W / OW;
                }
                int y0 = (int)floor(sy), x0 = (int)floor(sx);
                int y1 = y0 + 1 < H ? y0 + 1 : H - 1, x1 = x0 + 1 < W ? x0 + 1 : W - 1;
                double fy = sy - y0, fx = sx - x0;
                double top = x[y0 * W + x0] + (x[y0 * W + x1] - x[y0 * W + x0]) * fx;
                double bot = x[y1 * W + x0] + (x[y1 * W + x1] - x[y1 * W + x0]) * fx;
                want[oy * OW + ox] = (float)(top + (bot - top) * fy);
            }
        float *got = run(m, "r", x, H, W, C, &n, &err);
        char what[64];
        snprintf(what, sizeof what, "ResizeBilinear %s", modes[mode]);
        check_close(what, got, n, want, OH * OW);
        free(got);
        free(m);
    }
}

static void test_transpose_leaky(void)
{
    enum { H = 2, W = 3, C = 4 };
    model *m = calloc(1, sizeof *m);
    float x[H * W * C], perm[4] = {0, 2, 1, 3}, want[H * W * C];
    size_t n;
    fg_error err = {0};
    fill(x, H * W * C, 13);
    model_init(m, H, W, C);
    add_const(m, "perm", "int32", json_pack("[i]", 4), perm, 4);
    add_node(m, "t", "Transpose", json_pack("[s,s]", "x", "perm"), NULL);
    add_node(m, "l", "LeakyRelu", json_pack("[s]", "t"), json_pack("{s:{s:f}}", "alpha", "f", 0.1));
    for (int y = 0; y < H; y++)
        for (int xx = 0; xx < W; xx++)
            for (int c = 0; c < C; c++) {
                float v = x[(y * W + xx) * C + c];
                want[(xx * H + y) * C + c] = v > 0 ? v : 0.1f * v;
            }
    float *got = run(m, "l", x, H, W, C, &n, &err);
    check_close("Transpose [0, 2, 1, 3] + LeakyRelu", got, n, want, H * W * C);
    free(got);
    free(m);
}

int main(void)
{
    test_fused_conv();
    test_depthwise_prelu();
    test_elementwise_and_folding();
    test_pool_pad_concat();
    test_reshape_matmul();
    test_resize();
    test_transpose_leaky();
    return fg_test_done();
}
