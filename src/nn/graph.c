/*
 * graph.c - a thin builder over XNNPACK's subgraph API.
 *
 * It converts TF weight layouts to XNNPACK's (HWIO -> OHWI, [in,out] -> [out,in]), computes
 * TF 'same' padding explicitly (XNNPACK pads symmetrically unless told; TF puts the odd extra
 * row/column at the bottom/right), and keeps each converted weight buffer alive until the
 * runtime has packed it. Convolutions and fully connected layers pack (copy) their weights when
 * the runtime is created; element-wise ops such as PReLU read their static operand in place at
 * every run, so those buffers move to the runtime and live as long as it does.
 */
#include "nn/nn.h"

#include <math.h>
#include <pthread.h>
#include <pthreadpool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "core/cpu.h"
#include "core/error.h"

/* A list of malloc'd float buffers. */
typedef struct nn_buffers {
    float **items;
    size_t n, cap;
} nn_buffers;

struct nn_graph {
    xnn_subgraph_t subgraph;
    int status;
    fg_error error;
    int num_outputs;
    int outputs_marked;
    int num_inputs;
    nn_t inputs[NN_MAX_INPUTS];
    nn_t outputs[NN_MAX_OUTPUTS];
    nn_buffers buffers;         /* weight copies, freed with the graph */
    nn_buffers kept;            /* static operands read at run time: handed to the runtime */
    uint64_t macs[NN_OP_KINDS]; /* multiply-adds of one run, by kind of operator */
    int batch;                  /* images per run (the leading dimension of every activation) */
};

struct nn_runtime {
    xnn_runtime_t runtime;
    nn_buffers kept; /* static operands the runtime reads in place */
    pthreadpool_t pool;
    float *inputs[NN_MAX_INPUTS];
    size_t input_counts[NN_MAX_INPUTS];
    int input_shapes[NN_MAX_INPUTS][3]; /* h, w, c of one image */
    int num_inputs, batch;
    int run_batch;                    /* images of each run: batch, or fewer (set_batch) */
    uint64_t image_macs[NN_OP_KINDS]; /* multiply-adds of one image */
    int num_outputs;
    float *outputs[NN_MAX_OUTPUTS];
    size_t output_counts[NN_MAX_OUTPUTS];
    nn_profile profile; /* macs always; times only when built with profiling on */
    int profiling;
    size_t num_ops;          /* with profiling: XNNPACK's operators, */
    unsigned char *op_kinds; /* the nn_op_kind of each */
    uint64_t *op_us;         /* and the last run's times in microseconds */
};

/* Appends a new buffer of n floats to list; NULL when out of memory. */
static float *list_buffer(nn_buffers *list, size_t n)
{
    float *b;
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 64;
        float **grown = realloc(list->items, cap * sizeof *grown);
        if (!grown) return NULL;
        list->items = grown;
        list->cap = cap;
    }
    b = malloc((n ? n : 1) * sizeof *b);
    if (b) list->items[list->n++] = b;
    return b;
}

static void list_free(nn_buffers *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* A weight buffer of n floats owned by the graph (until the runtime has packed it). */
static float *buffer(nn_graph *g, size_t n)
{
    return list_buffer(&g->buffers, n);
}

static int profiling_on; /* nn_set_profiling: read when a runtime is built */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum xnn_status init_status = xnn_status_uninitialized;

static void init_xnnpack(void)
{
    init_status = xnn_initialize(NULL);
}

static const nn_t bad = {XNN_INVALID_VALUE_ID, 0, 0, 0};

static int failed(nn_graph *g, int code, const char *what)
{
    if (g->status == FG_OK) {
        g->status = code;
        fg_set_error(&g->error, code, "building the network failed at %s", what);
    }
    return 0;
}

int nn_graph_fail(nn_graph *g, int code, const char *fmt, ...)
{
    if (g->status == FG_OK) {
        va_list ap;
        g->status = code;
        g->error.code = code;
        va_start(ap, fmt);
        vsnprintf(g->error.message, sizeof g->error.message, fmt, ap);
        va_end(ap);
    }
    return g->status;
}

static int ok(const nn_graph *g, nn_t x)
{
    return g->status == FG_OK && x.id != XNN_INVALID_VALUE_ID;
}

nn_graph *nn_graph_new(int num_outputs)
{
    nn_graph *g;
    pthread_once(&init_once, init_xnnpack);
    if (init_status != xnn_status_success || num_outputs < 1 || num_outputs > NN_MAX_OUTPUTS)
        return NULL;
    g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->num_outputs = num_outputs;
    g->batch = 1;
    /* External ids: the inputs 0 .. NN_MAX_INPUTS - 1, then the outputs. */
    if (xnn_create_subgraph((uint32_t)(NN_MAX_INPUTS + num_outputs), 0, &g->subgraph) !=
        xnn_status_success) {
        free(g);
        return NULL;
    }
    return g;
}

void nn_graph_free(nn_graph *g)
{
    if (!g) return;
    if (g->subgraph) xnn_delete_subgraph(g->subgraph);
    list_free(&g->buffers);
    list_free(&g->kept);
    free(g);
}

int nn_graph_status(const nn_graph *g)
{
    return g->status;
}

static uint32_t define_tensor(nn_graph *g, size_t rank, const size_t *dims, const void *data,
                              uint32_t external_id, uint32_t flags)
{
    uint32_t id = XNN_INVALID_VALUE_ID;
    if (g->status != FG_OK) return id;
    if (xnn_define_tensor_value(g->subgraph, xnn_datatype_fp32, rank, dims, data, external_id,
                                flags, &id) != xnn_status_success) {
        failed(g, FG_ENN, "a tensor definition");
        return XNN_INVALID_VALUE_ID;
    }
    return id;
}

static nn_t activation_value(nn_graph *g, int h, int w, int c)
{
    size_t dims[4] = {(size_t)g->batch, (size_t)h, (size_t)w, (size_t)c};
    nn_t t = {define_tensor(g, 4, dims, NULL, XNN_INVALID_VALUE_ID, 0), h, w, c};
    return t;
}

/* A copy of src (or zeros when src is NULL) as a static tensor; `kept` for an operand that
 * XNNPACK reads in place at run time rather than packing. */
static uint32_t static_tensor_of(nn_graph *g, size_t rank, const size_t *dims, const float *src,
                                 size_t n, int kept)
{
    float *b;
    if (g->status != FG_OK) return XNN_INVALID_VALUE_ID;
    if (!(b = kept ? list_buffer(&g->kept, n) : buffer(g, n)))
        return failed(g, FG_ENOMEM, "a weight copy"), XNN_INVALID_VALUE_ID;
    if (src) {
        memcpy(b, src, n * sizeof *b);
    } else {
        memset(b, 0, n * sizeof *b);
    }
    return define_tensor(g, rank, dims, b, XNN_INVALID_VALUE_ID, 0);
}

static uint32_t static_tensor(nn_graph *g, size_t rank, const size_t *dims, const float *src,
                              size_t n)
{
    return static_tensor_of(g, rank, dims, src, n, 0);
}

static void act_range(nn_act act, float *lo, float *hi)
{
    *lo = act == NN_ACT_NONE ? -INFINITY : 0.0f;
    *hi = act == NN_ACT_RELU6 ? 6.0f : INFINITY;
}

/* Output size and padding (before, after) along one axis, TF semantics. */
static int window(int in, int k, int s, nn_padding pad, int *before, int *after)
{
    if (pad == NN_VALID) {
        *before = *after = 0;
        return in >= k ? (in - k) / s + 1 : 0;
    }
    int out = (in + s - 1) / s;
    int total = (out - 1) * s + k - in;
    if (total < 0) total = 0;
    *before = total / 2;
    *after = total - *before;
    return out;
}

nn_t nn_input(nn_graph *g, int h, int w, int c)
{
    size_t dims[4] = {(size_t)g->batch, (size_t)h, (size_t)w, (size_t)c};
    if (g->num_inputs == NN_MAX_INPUTS) {
        failed(g, FG_EINVAL, "an input past the last allowed");
        return g->inputs[0];
    }
    nn_t t = {
        define_tensor(g, 4, dims, NULL, (uint32_t)g->num_inputs, XNN_VALUE_FLAG_EXTERNAL_INPUT), h,
        w, c};
    g->inputs[g->num_inputs++] = t;
    return t;
}

void nn_output(nn_graph *g, nn_t t)
{
    if (!ok(g, t)) return;
    if (g->outputs_marked >= g->num_outputs) {
        failed(g, FG_EINVAL, "an extra output");
        return;
    }
    g->outputs[g->outputs_marked++] = t;
}

/* The kernel taps [*first, *last] along one axis that read the input and not only padding, for
 * outputs 0 .. out-1 reading input positions o * s - before + tap. */
static void live_taps(int in, int out, int k, int s, int before, int *first, int *last)
{
    *first = k;
    *last = -1;
    for (int t = 0; t < k; t++)
        for (int o = 0; o < out; o++) {
            int i = o * s - before + t;
            if (i >= 0 && i < in) {
                if (t < *first) *first = t;
                *last = t;
                break;
            }
        }
}

/* Padding after the input so that a kernel of k taps with `before` padding gives `out`
 * outputs, or -1 when no padding >= 0 does. */
static int pad_after(int in, int out, int k, int s, int before)
{
    int after = (out - 1) * s + k - in - before;
    if (after < 0) after = 0;
    return (in + before + after - k) / s + 1 == out ? after : -1;
}

nn_t nn_conv2d(nn_graph *g, nn_t x, const float *filter_hwio, int kh, int kw, int cout,
               const float *bias, int stride, nn_padding pad, nn_act act)
{
    int pt, pb, pl, pr, oh, ow, y0, y1, x0, x1, kh2, kw2, pb2, pr2;
    size_t cin = (size_t)x.c, n;
    float lo, hi, *ohwi;
    uint32_t fid, bid;
    nn_t y;

    if (!ok(g, x) || !filter_hwio) return failed(g, FG_EINVAL, "conv2d input"), bad;
    oh = window(x.h, kh, stride, pad, &pt, &pb);
    ow = window(x.w, kw, stride, pad, &pl, &pr);
    if (oh <= 0 || ow <= 0) return failed(g, FG_EINVAL, "conv2d output size"), bad;

    /* Kernel rows/columns that only ever meet padding (a 3x3 'same' convolution of a 1x1 map
     * reads only its centre) are left out: they add exact zeros, so the output is the same and
     * the work smaller. */
    live_taps(x.h, oh, kh, stride, pt, &y0, &y1);
    live_taps(x.w, ow, kw, stride, pl, &x0, &x1);
    kh2 = y1 - y0 + 1;
    kw2 = x1 - x0 + 1;
    pb2 = pad_after(x.h, oh, kh2, stride, pt - y0);
    pr2 = pad_after(x.w, ow, kw2, stride, pl - x0);
    if (kh2 < 1 || kw2 < 1 || pt < y0 || pl < x0 || pb2 < 0 || pr2 < 0) {
        y0 = x0 = 0, kh2 = kh, kw2 = kw;
    } else {
        pt -= y0, pb = pb2, pl -= x0, pr = pr2;
    }

    n = (size_t)kh2 * kw2 * cin * cout;
    g->macs[kh2 == 1 && kw2 == 1 && stride == 1 ? NN_OP_CONV1X1 : NN_OP_CONV] +=
        (uint64_t)oh * ow * n;
    size_t fdims[4] = {(size_t)cout, (size_t)kh2, (size_t)kw2, cin}, bdims[1] = {(size_t)cout};

    /* HWIO -> OHWI, the live taps only */
    if (!(ohwi = buffer(g, n))) return failed(g, FG_ENOMEM, "conv2d weights"), bad;
    for (int o = 0; o < cout; o++)
        for (int ky = 0; ky < kh2; ky++)
            for (int kx = 0; kx < kw2; kx++)
                for (size_t c = 0; c < cin; c++)
                    ohwi[(((size_t)o * kh2 + ky) * kw2 + kx) * cin + c] =
                        filter_hwio[(((size_t)(ky + y0) * kw + kx + x0) * cin + c) * cout + o];
    fid = define_tensor(g, 4, fdims, ohwi, XNN_INVALID_VALUE_ID, 0);
    bid = static_tensor(g, 1, bdims, bias, (size_t)cout);
    y = activation_value(g, oh, ow, cout);
    act_range(act, &lo, &hi);
    if (g->status == FG_OK &&
        xnn_define_convolution_2d(g->subgraph, pt, pr, pb, pl, kh2, kw2, stride, stride, 1, 1, 1,
                                  cin, cout, lo, hi, x.id, fid, bid, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "conv2d");
    return ok(g, y) ? y : bad;
}

nn_t nn_depthwise(nn_graph *g, nn_t x, const float *filter_hwc, int kh, int kw, const float *bias,
                  int stride, nn_padding pad, nn_act act)
{
    int pt, pb, pl, pr, oh, ow;
    size_t c = (size_t)x.c;
    size_t fdims[4] = {1, (size_t)kh, (size_t)kw, c}, bdims[1] = {c};
    float lo, hi;
    uint32_t fid, bid;
    nn_t y;

    if (!ok(g, x) || !filter_hwc) return failed(g, FG_EINVAL, "depthwise input"), bad;
    oh = window(x.h, kh, stride, pad, &pt, &pb);
    ow = window(x.w, kw, stride, pad, &pl, &pr);
    g->macs[NN_OP_DEPTHWISE] += (uint64_t)oh * ow * kh * kw * c;
    if (oh <= 0 || ow <= 0) return failed(g, FG_EINVAL, "depthwise output size"), bad;
    /* TF [kh, kw, C, 1] is XNNPACK's [1, kh, kw, C] byte for byte. */
    fid = static_tensor(g, 4, fdims, filter_hwc, (size_t)kh * kw * c);
    bid = static_tensor(g, 1, bdims, bias, c);
    y = activation_value(g, oh, ow, x.c);
    act_range(act, &lo, &hi);
    if (g->status == FG_OK && xnn_define_depthwise_convolution_2d(
                                  g->subgraph, pt, pr, pb, pl, kh, kw, stride, stride, 1, 1, 1, c,
                                  lo, hi, x.id, fid, bid, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "depthwise conv");
    return ok(g, y) ? y : bad;
}

nn_t nn_affine(nn_graph *g, nn_t x, const float *scale, const float *shift, nn_act act)
{
    return nn_depthwise(g, x, scale, 1, 1, shift, 1, NN_VALID, act);
}

nn_t nn_fc(nn_graph *g, nn_t x, const float *w_in_out, int cout, const float *bias, nn_act act)
{
    size_t cin = (size_t)x.h * x.w * x.c;
    size_t fdims[2] = {(size_t)cout, cin}, bdims[1] = {(size_t)cout};
    size_t odims[4] = {(size_t)g->batch, 1, 1, (size_t)cout};
    float lo, hi, *oi;
    uint32_t fid, bid;
    nn_t y;

    if (!ok(g, x) || !w_in_out) return failed(g, FG_EINVAL, "fully connected input"), bad;
    if (x.h != 1 || x.w != 1) return failed(g, FG_EINVAL, "fully connected on a 2-D map"), bad;
    g->macs[NN_OP_FC] += (uint64_t)cin * cout;
    if (!(oi = buffer(g, cin * cout))) return failed(g, FG_ENOMEM, "fc weights"), bad;
    for (size_t i = 0; i < cin; i++)
        for (int o = 0; o < cout; o++)
            oi[o * cin + i] = w_in_out[i * cout + o];
    fid = define_tensor(g, 2, fdims, oi, XNN_INVALID_VALUE_ID, 0);
    bid = static_tensor(g, 1, bdims, bias, (size_t)cout);
    y.h = y.w = 1;
    y.c = cout;
    y.id = define_tensor(g, 4, odims, NULL, XNN_INVALID_VALUE_ID, 0);
    act_range(act, &lo, &hi);
    if (g->status == FG_OK && xnn_define_fully_connected(g->subgraph, lo, hi, x.id, fid, bid, y.id,
                                                         0) != xnn_status_success)
        failed(g, FG_ENN, "fully connected");
    return ok(g, y) ? y : bad;
}

nn_t nn_maxpool(nn_graph *g, nn_t x, int k, int stride, nn_padding pad)
{
    int pt, pb, pl, pr, oh, ow;
    nn_t y;
    if (!ok(g, x)) return bad;
    oh = window(x.h, k, stride, pad, &pt, &pb);
    ow = window(x.w, k, stride, pad, &pl, &pr);
    if (oh <= 0 || ow <= 0) return failed(g, FG_EINVAL, "maxpool output size"), bad;
    y = activation_value(g, oh, ow, x.c);
    /* XNNPACK's max pooling never reads padding, which is TF's -inf padding. */
    if (g->status == FG_OK &&
        xnn_define_max_pooling_2d(g->subgraph, pt, pr, pb, pl, k, k, stride, stride, 1, 1,
                                  -INFINITY, INFINITY, x.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "max pooling");
    return ok(g, y) ? y : bad;
}

nn_t nn_avgpool(nn_graph *g, nn_t x, int k, int stride)
{
    int pt, pb, pl, pr, oh, ow;
    nn_t y;
    if (!ok(g, x)) return bad;
    oh = window(x.h, k, stride, NN_VALID, &pt, &pb);
    ow = window(x.w, k, stride, NN_VALID, &pl, &pr);
    if (oh <= 0 || ow <= 0) return failed(g, FG_EINVAL, "avgpool output size"), bad;
    if (oh == 1 && ow == 1 && x.h == k && x.w == k) return nn_global_avgpool(g, x);
    y = activation_value(g, oh, ow, x.c);
    if (g->status == FG_OK &&
        xnn_define_average_pooling_2d(g->subgraph, 0, 0, 0, 0, k, k, stride, stride, -INFINITY,
                                      INFINITY, x.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "average pooling");
    return ok(g, y) ? y : bad;
}

nn_t nn_global_avgpool(nn_graph *g, nn_t x)
{
    nn_t y;
    if (!ok(g, x)) return bad;
    y = activation_value(g, 1, 1, x.c);
    if (g->status == FG_OK &&
        xnn_define_global_average_pooling_2d(g->subgraph, -INFINITY, INFINITY, x.id, y.id, 0) !=
            xnn_status_success)
        failed(g, FG_ENN, "global average pooling");
    return ok(g, y) ? y : bad;
}

nn_t nn_binary(nn_graph *g, nn_binary_op op, nn_t a, nn_t b, nn_act act)
{
    static const enum xnn_binary_operator types[] = {
        [NN_ADD] = xnn_binary_add, [NN_SUB] = xnn_binary_subtract, [NN_MUL] = xnn_binary_multiply};
    float lo, hi;
    nn_t y;
    if (!ok(g, a) || !ok(g, b)) return bad;
    if (a.h != b.h || a.w != b.w || a.c != b.c)
        return failed(g, FG_EINVAL, "an element-wise op on two shapes"), bad;
    if (op < NN_ADD || op > NN_MUL) return failed(g, FG_EINVAL, "an unknown binary op"), bad;
    y = activation_value(g, a.h, a.w, a.c);
    act_range(act, &lo, &hi);
    struct xnn_binary_params params = {lo, hi};
    if (g->status == FG_OK && xnn_define_binary(g->subgraph, types[op], &params, a.id, b.id, y.id,
                                                0) != xnn_status_success)
        failed(g, FG_ENN, "an element-wise op");
    return ok(g, y) ? y : bad;
}

nn_t nn_add(nn_graph *g, nn_t a, nn_t b, nn_act act)
{
    return nn_binary(g, NN_ADD, a, b, act);
}

/* An element-wise op of one input, named `what` in errors. */
static nn_t unary(nn_graph *g, nn_t x, enum xnn_unary_operator op,
                  const union xnn_unary_params *params, const char *what)
{
    nn_t y;
    if (!ok(g, x)) return bad;
    y = activation_value(g, x.h, x.w, x.c);
    if (g->status == FG_OK &&
        xnn_define_unary(g->subgraph, op, params, x.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, what);
    return ok(g, y) ? y : bad;
}

nn_t nn_leaky_relu(nn_graph *g, nn_t x, float slope)
{
    union xnn_unary_params p = {.leaky_relu = {slope}};
    return unary(g, x, xnn_unary_leaky_relu, &p, "leaky relu");
}

nn_t nn_clamp(nn_graph *g, nn_t x, float lo, float hi)
{
    union xnn_unary_params p = {.clamp = {lo, hi}};
    return unary(g, x, xnn_unary_clamp, &p, "clamp");
}

nn_t nn_relu(nn_graph *g, nn_t x)
{
    return nn_clamp(g, x, 0.0f, INFINITY);
}

nn_t nn_sigmoid(nn_graph *g, nn_t x)
{
    return unary(g, x, xnn_unary_sigmoid, NULL, "sigmoid");
}

nn_t nn_prelu(nn_graph *g, nn_t x, const float *slope)
{
    size_t dims[1] = {(size_t)x.c};
    uint32_t sid;
    nn_t y;
    if (!ok(g, x) || !slope) return failed(g, FG_EINVAL, "prelu input"), bad;
    sid = static_tensor_of(g, 1, dims, slope, (size_t)x.c, 1);
    y = activation_value(g, x.h, x.w, x.c);
    if (g->status == FG_OK &&
        xnn_define_prelu(g->subgraph, x.id, sid, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "prelu");
    return ok(g, y) ? y : bad;
}

nn_t nn_concat(nn_graph *g, int axis, nn_t a, nn_t b)
{
    int same_h = a.h == b.h, same_w = a.w == b.w, same_c = a.c == b.c;
    nn_t y;
    if (!ok(g, a) || !ok(g, b)) return bad;
    if ((axis == 1 && same_w && same_c) || (axis == 2 && same_h && same_c) ||
        (axis == 3 && same_h && same_w)) {
        y = activation_value(g, axis == 1 ? a.h + b.h : a.h, axis == 2 ? a.w + b.w : a.w,
                             axis == 3 ? a.c + b.c : a.c);
    } else {
        return failed(g, FG_EINVAL, "a concatenation of mismatched shapes"), bad;
    }
    if (g->status == FG_OK &&
        xnn_define_concatenate2(g->subgraph, axis, a.id, b.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "concatenation");
    return ok(g, y) ? y : bad;
}

nn_t nn_reshape(nn_graph *g, nn_t x, int h, int w, int c)
{
    size_t dims[4] = {(size_t)g->batch, (size_t)h, (size_t)w, (size_t)c};
    nn_t y;
    if (!ok(g, x)) return bad;
    if (h < 1 || w < 1 || c < 1 || (size_t)x.h * x.w * x.c != (size_t)h * w * c)
        return failed(g, FG_EINVAL, "a reshape that changes the element count"), bad;
    y = activation_value(g, h, w, c);
    if (g->status == FG_OK &&
        xnn_define_static_reshape(g->subgraph, 4, dims, x.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "reshape");
    return ok(g, y) ? y : bad;
}

nn_t nn_resize_bilinear(nn_graph *g, nn_t x, int h, int w, nn_resize mode)
{
    uint32_t flags = mode == NN_RESIZE_ALIGN_CORNERS ? XNN_FLAG_ALIGN_CORNERS
                     : mode == NN_RESIZE_LEGACY      ? XNN_FLAG_TENSORFLOW_LEGACY_MODE
                                                     : 0;
    nn_t y;
    if (!ok(g, x)) return bad;
    if (h < 1 || w < 1) return failed(g, FG_EINVAL, "a resize to an empty size"), bad;
    y = activation_value(g, h, w, x.c);
    if (g->status == FG_OK &&
        xnn_define_static_resize_bilinear_2d(g->subgraph, (size_t)h, (size_t)w, x.id, y.id,
                                             flags) != xnn_status_success)
        failed(g, FG_ENN, "bilinear resize");
    return ok(g, y) ? y : bad;
}

nn_t nn_transpose(nn_graph *g, nn_t x, const int perm[3])
{
    const int in[3] = {x.h, x.w, x.c};
    size_t p[4] = {0};
    int seen = 0;
    nn_t y;
    if (!ok(g, x)) return bad;
    for (int i = 0; i < 3; i++) {
        if (perm[i] < 0 || perm[i] > 2 || (seen & (1 << perm[i])))
            return failed(g, FG_EINVAL, "a transpose that is no permutation"), bad;
        seen |= 1 << perm[i];
        p[i + 1] = (size_t)perm[i] + 1;
    }
    y = activation_value(g, in[perm[0]], in[perm[1]], in[perm[2]]);
    if (g->status == FG_OK &&
        xnn_define_static_transpose(g->subgraph, 4, p, x.id, y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "transpose");
    return ok(g, y) ? y : bad;
}

nn_t nn_pad(nn_graph *g, nn_t x, int top, int bottom, int left, int right, int channels_before,
            int channels_after, float value)
{
    size_t pre[4] = {0, (size_t)top, (size_t)left, (size_t)channels_before};
    size_t post[4] = {0, (size_t)bottom, (size_t)right, (size_t)channels_after};
    nn_t y;
    if (!ok(g, x)) return bad;
    if (top < 0 || bottom < 0 || left < 0 || right < 0 || channels_before < 0 || channels_after < 0)
        return failed(g, FG_EINVAL, "negative padding"), bad;
    y = activation_value(g, x.h + top + bottom, x.w + left + right,
                         x.c + channels_before + channels_after);
    if (g->status == FG_OK && xnn_define_static_constant_pad(g->subgraph, pre, post, value, x.id,
                                                             y.id, 0) != xnn_status_success)
        failed(g, FG_ENN, "constant pad");
    return ok(g, y) ? y : bad;
}

/* A value cannot be flagged external after it is defined, so each output is copied into an
 * external tensor by an unbounded clamp. Outputs are small (logits, landmarks, descriptors). */
static uint32_t external_copy(nn_graph *g, nn_t t, uint32_t external_id, size_t *count)
{
    size_t dims4[4] = {(size_t)g->batch, (size_t)t.h, (size_t)t.w, (size_t)t.c};
    uint32_t id;
    *count = (size_t)g->batch * t.h * t.w * t.c;
    id = define_tensor(g, 4, dims4, NULL, external_id, XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
    if (g->status == FG_OK &&
        xnn_define_clamp(g->subgraph, -INFINITY, INFINITY, t.id, id, 0) != xnn_status_success)
        failed(g, FG_ENN, "an output copy");
    return id;
}

/* The thread pools: one per thread count, shared by every runtime built with that count and
 * freed with the last of them. A pool's workers spin for a while after each parallel section
 * waiting for the next one; with a pool per runtime, the workers of the network that just ran
 * spun against those of the next (the two-thread fast path, three networks a frame, ran 2.5x
 * slower than one thread). Shared, the next network's work goes to the workers already
 * spinning. pthreadpool serialises calls on one pool, so engines used from different threads
 * at once take turns in their parallel sections (the server's engines are single-threaded). */
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_pool {
    pthreadpool_t pool;
    int threads, refs;
} pools[8];

static pthreadpool_t pool_get(int threads)
{
    pthreadpool_t pool = NULL;
    struct shared_pool *free_slot = NULL;
    pthread_mutex_lock(&pools_lock);
    for (size_t i = 0; i < sizeof pools / sizeof pools[0] && !pool; i++) {
        if (pools[i].refs && pools[i].threads == threads) {
            pools[i].refs++;
            pool = pools[i].pool;
        } else if (!pools[i].refs && !free_slot) {
            free_slot = &pools[i];
        }
    }
    if (!pool && free_slot &&
        (pool = pthreadpool_create(threads > 1 ? (size_t)threads : 0)) != NULL)
        *free_slot = (struct shared_pool){pool, threads, 1};
    pthread_mutex_unlock(&pools_lock);
    return pool;
}

static void pool_put(pthreadpool_t pool)
{
    pthread_mutex_lock(&pools_lock);
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++)
        if (pools[i].refs && pools[i].pool == pool && --pools[i].refs == 0) {
            pthreadpool_destroy(pool);
            pools[i].pool = NULL;
        }
    pthread_mutex_unlock(&pools_lock);
}

int nn_graph_build(nn_graph *g, int threads, nn_runtime **out, fg_error *err)
{
    nn_runtime *rt;
    struct xnn_external_value ext[NN_MAX_INPUTS + NN_MAX_OUTPUTS];
    int rc;

    *out = NULL;
    if (g->status == FG_OK && (!g->num_inputs || g->outputs_marked != g->num_outputs))
        failed(g, FG_EINVAL, "its inputs/outputs (not all declared)");
    if (!(rt = calloc(1, sizeof *rt))) return fg_fail(err, FG_ENOMEM, "out of memory");
    rt->num_outputs = g->num_outputs;
    for (int k = 0; k < NN_OP_KINDS; k++) {
        rt->image_macs[k] = g->macs[k];
        rt->profile.macs[k] = g->macs[k] * (uint64_t)g->batch;
    }
    rt->profiling = profiling_on;
    for (int i = 0; i < g->num_outputs; i++) {
        uint32_t id =
            external_copy(g, g->outputs[i], (uint32_t)(NN_MAX_INPUTS + i), &rt->output_counts[i]);
        (void)id;
        rt->outputs[i] = fg_alloc_lines(rt->output_counts[i] * sizeof(float));
        if (!rt->outputs[i]) failed(g, FG_ENOMEM, "output buffers");
    }
    if (g->status != FG_OK) {
        rc = g->status;
        if (err) *err = g->error;
        goto fail;
    }
    rt->batch = rt->run_batch = g->batch;
    rt->num_inputs = g->num_inputs;
    for (int i = 0; i < g->num_inputs; i++) {
        const nn_t t = g->inputs[i];
        rt->input_shapes[i][0] = t.h, rt->input_shapes[i][1] = t.w, rt->input_shapes[i][2] = t.c;
        rt->input_counts[i] = (size_t)g->batch * t.h * t.w * t.c;
        /* XNNPACK may read a few bytes past the end of its input (XNN_EXTRA_BYTES). */
        if (!(rt->inputs[i] = fg_calloc_lines(rt->input_counts[i] + 16, sizeof(float)))) {
            rc = fg_fail(err, FG_ENOMEM, "out of memory");
            goto fail;
        }
        ext[i] = (struct xnn_external_value){(uint32_t)i, rt->inputs[i]};
    }
    if (threads != 1) {
        rt->pool = pool_get(threads);
        if (!rt->pool) {
            rc = fg_fail(err, FG_ENOMEM, "cannot create a thread pool");
            goto fail;
        }
    }
    /* With a pool, let its threads sleep between runs instead of spinning: a server runs
     * several engines and a spinning pool starves the others of the cores. */
    if (xnn_create_runtime_v2(g->subgraph, rt->pool,
                              (rt->pool ? XNN_FLAG_YIELD_WORKERS : 0) |
                                  (rt->profiling ? XNN_FLAG_BASIC_PROFILING : 0),
                              &rt->runtime) != xnn_status_success) {
        rc = fg_fail(err, FG_ENN, "XNNPACK could not create the runtime");
        goto fail;
    }
    for (int i = 0; i < g->num_outputs; i++)
        ext[g->num_inputs + i] =
            (struct xnn_external_value){(uint32_t)(NN_MAX_INPUTS + i), rt->outputs[i]};
    if (xnn_setup_runtime(rt->runtime, (size_t)(g->num_inputs + g->num_outputs), ext) !=
        xnn_status_success) {
        rc = fg_fail(err, FG_ENN, "XNNPACK could not set up the runtime");
        goto fail;
    }
    rt->kept = g->kept;
    memset(&g->kept, 0, sizeof g->kept);
    *out = rt;
    return FG_OK;
fail:
    nn_runtime_free(rt);
    return rc;
}

uint64_t nn_runtime_macs(const nn_runtime *rt)
{
    uint64_t total = 0;
    for (int k = 0; k < NN_OP_KINDS; k++)
        total += rt->profile.macs[k];
    return total;
}

void nn_set_profiling(int on)
{
    profiling_on = on;
}

const char *nn_op_kind_name(nn_op_kind kind)
{
    static const char *const names[NN_OP_KINDS] = {"1x1 conv",        "conv",  "depthwise",
                                                   "fully connected", "other", "fused block"};
    return kind >= 0 && kind < NN_OP_KINDS ? names[kind] : "?";
}

void nn_profile_add(nn_profile *sum, const nn_profile *p)
{
    for (int k = 0; k < NN_OP_KINDS; k++) {
        sum->ms[k] += p->ms[k];
        sum->macs[k] += p->macs[k];
    }
    if (p->runs > sum->runs) sum->runs = p->runs;
}

int nn_graph_error(const nn_graph *g, fg_error *err)
{
    if (err && g->status != FG_OK) *err = g->error;
    return g->status;
}

int nn_profiling(void)
{
    return profiling_on;
}

void nn_runtime_profile(const nn_runtime *rt, nn_profile *out)
{
    *out = rt->profile;
}

/* XNNPACK's operator names, e.g. "Convolution (NHWC, F32) GEMM", mapped onto the kinds the
 * builder counted multiply-adds for: the builder only makes 1x1 stride-1 convolutions that
 * XNNPACK runs as a GEMM, every other convolution runs as an IGEMM. */
static nn_op_kind op_kind(const char *name)
{
    if (strstr(name, "DWConv")) return NN_OP_DEPTHWISE;
    if (strstr(name, "IGEMM")) return NN_OP_CONV;
    if (strstr(name, "Convolution")) return NN_OP_CONV1X1;
    if (strstr(name, "Fully Connected")) return NN_OP_FC;
    return NN_OP_OTHER;
}

/* The kind of each of the runtime's operators, from their names (once per runtime). */
static int load_op_kinds(nn_runtime *rt)
{
    size_t n = 0, size = 0, names_size = 0;
    char *names;
    int ok = 0;

    if (xnn_get_runtime_profiling_info(rt->runtime, xnn_profile_info_num_operators, sizeof n, &n,
                                       &size) != xnn_status_success)
        return 0;
    xnn_get_runtime_profiling_info(rt->runtime, xnn_profile_info_operator_name, 0, NULL,
                                   &names_size);
    names = malloc(names_size ? names_size : 1);
    rt->op_kinds = malloc(n ? n : 1);
    rt->op_us = malloc((n ? n : 1) * sizeof *rt->op_us);
    if (names && rt->op_kinds && rt->op_us &&
        xnn_get_runtime_profiling_info(rt->runtime, xnn_profile_info_operator_name, names_size,
                                       names, &size) == xnn_status_success) {
        const char *name = names;
        for (size_t i = 0; i < n; i++, name += strlen(name) + 1)
            rt->op_kinds[i] =
                name < names + names_size ? (unsigned char)op_kind(name) : NN_OP_OTHER;
        rt->num_ops = n;
        ok = 1;
    }
    free(names);
    return ok;
}

/* Adds the last run's operator times to rt->profile; a failed query leaves it as it was. */
static void record_profile(nn_runtime *rt)
{
    size_t size = 0;
    if (!rt->op_kinds && !load_op_kinds(rt)) return;
    if (xnn_get_runtime_profiling_info(rt->runtime, xnn_profile_info_operator_timing,
                                       rt->num_ops * sizeof *rt->op_us, rt->op_us,
                                       &size) != xnn_status_success)
        return;
    for (size_t i = 0; i < rt->num_ops; i++)
        rt->profile.ms[rt->op_kinds[i]] += (double)rt->op_us[i] / 1e3;
    rt->profile.runs++;
}

void *nn_runtime_threadpool(const nn_runtime *rt)
{
    return rt->pool;
}

int nn_runtime_batch(const nn_runtime *rt)
{
    return rt->batch;
}

int nn_runtime_set_batch(nn_runtime *rt, int n, fg_error *err)
{
    struct xnn_external_value ext[NN_MAX_INPUTS + NN_MAX_OUTPUTS];
    if (n < 1 || n > rt->batch) return fg_fail(err, FG_EINVAL, "a batch of %d images", n);
    if (n == rt->run_batch) return FG_OK;
    for (int i = 0; i < rt->num_inputs; i++) {
        const size_t dims[4] = {(size_t)n, (size_t)rt->input_shapes[i][0],
                                (size_t)rt->input_shapes[i][1], (size_t)rt->input_shapes[i][2]};
        if (xnn_reshape_external_value(rt->runtime, (uint32_t)i, 4, dims) != xnn_status_success)
            return fg_fail(err, FG_ENN, "XNNPACK could not reshape the runtime's input");
        ext[i] = (struct xnn_external_value){(uint32_t)i, rt->inputs[i]};
    }
    for (int i = 0; i < rt->num_outputs; i++)
        ext[rt->num_inputs + i] =
            (struct xnn_external_value){(uint32_t)(NN_MAX_INPUTS + i), rt->outputs[i]};
    if (xnn_reshape_runtime(rt->runtime) != xnn_status_success ||
        xnn_setup_runtime_v2(rt->runtime, (size_t)(rt->num_inputs + rt->num_outputs), ext) !=
            xnn_status_success) {
        rt->run_batch = 0; /* unknown: the next call reshapes again */
        return fg_fail(err, FG_ENN, "XNNPACK could not reshape the runtime");
    }
    rt->run_batch = n;
    for (int k = 0; k < NN_OP_KINDS; k++)
        rt->profile.macs[k] = rt->image_macs[k] * (uint64_t)n;
    return FG_OK;
}

void nn_graph_set_batch(nn_graph *g, int batch)
{
    if (g->num_inputs || batch < 1) {
        failed(g, FG_EINVAL, "a batch size set after the input");
        return;
    }
    g->batch = batch;
}

float *nn_runtime_input(nn_runtime *rt)
{
    return rt->inputs[0];
}

float *nn_runtime_input_at(nn_runtime *rt, int i, size_t *count)
{
    if (i < 0 || i >= rt->num_inputs) return NULL;
    if (count) *count = rt->input_counts[i];
    return rt->inputs[i];
}

const float *nn_runtime_output(const nn_runtime *rt, int i, size_t *count)
{
    if (i < 0 || i >= rt->num_outputs) return NULL;
    if (count) *count = rt->output_counts[i];
    return rt->outputs[i];
}

int nn_run(nn_runtime *rt, fg_error *err)
{
    if (xnn_invoke_runtime(rt->runtime) != xnn_status_success)
        return fg_fail(err, FG_ENN, "XNNPACK failed to run the network");
    if (rt->profiling) record_profile(rt);
    return FG_OK;
}

void nn_runtime_free(nn_runtime *rt)
{
    if (!rt) return;
    if (rt->runtime) xnn_delete_runtime(rt->runtime);
    if (rt->pool) pool_put(rt->pool);
    list_free(&rt->kept);
    for (int i = 0; i < rt->num_inputs; i++)
        free(rt->inputs[i]);
    free(rt->op_kinds);
    free(rt->op_us);
    for (int i = 0; i < rt->num_outputs; i++)
        free(rt->outputs[i]);
    free(rt);
}
