/*
 * graph_model.c - TF.js graph models (`model.json`: modelTopology.node[] + weightsManifest)
 * translated into one XNNPACK subgraph, built once and run many times.
 *
 * The nodes the requested outputs depend on are visited in dependency order (an explicit stack,
 * so a deep or cyclic graph cannot overflow ours). A Const node is its weight; an op whose
 * inputs are all constants is evaluated here, once (constant folding); every other op becomes
 * nn_* graph nodes. Activations are NHWC with the batch first; a value of lower rank (the
 * [N, 1404] of a reshaped output) keeps its logical shape beside the 4-D one XNNPACK sees, with
 * the dimensions right-aligned. An op or attribute the translation does not know fails the load
 * with a message naming the op and the node.
 */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/manifest.h"
#include "nn/nn.h"

#define MAX_NODES 100000
#define MAX_VALUE (1 << 24) /* elements of one activation: far above any face model's */

typedef enum { V_UNSEEN, V_BUSY, V_CONST, V_ACT } value_kind;

typedef struct gm_value {
    value_kind kind;
    int rank;           /* logical rank; activations count the batch dimension */
    int dims[4];        /* logical shape */
    nn_t t;             /* V_ACT: the 4-D value, (h, w, c) = the last three dims right-aligned */
    const nn_tensor *c; /* V_CONST */
} gm_value;

typedef struct gm_node {
    const char *name, *op;
    const json_t *json;
    gm_value v;
} gm_node;

/* A model read once (nn_graph_model_open): its JSON, weights and node index, which every
 * runtime, chain of blocks or convolution made from it shares. */
struct nn_graph_model {
    json_t *root;
    nn_weights w;
    gm_node *nodes; /* every value unseen */
    gm_node **by_name;
    size_t n;
    char what[256]; /* the model's name in messages: "<model>.json" */
};

/* One translation or reading of a model: its own copy of the nodes and their values. */
typedef struct gm {
    nn_graph *g;
    const char *what; /* the model's name in messages */
    const nn_weights *w;
    gm_node *nodes;
    gm_node **by_name; /* sorted, for lookups */
    size_t n;
    nn_tensor **folded; /* constants computed at load time, owned */
    size_t nfolded, folded_cap;
    int batch;
    const char *input_node; /* NULL: the Placeholder is the input */
    const nn_graph_model_options *opts;
} gm;

/* Records "<model>: node <name> (<op>): <message>" as the load's error. Returns 0. */
static int node_fail(gm *m, const gm_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int node_fail(gm *m, const gm_node *n, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_graph_fail(m->g, FG_EMODEL_CORRUPT, "%s: node %s (%s): %s", m->what, n->name, n->op, msg);
    return 0;
}

static int by_name_cmp(const void *a, const void *b)
{
    return strcmp((*(gm_node *const *)a)->name, (*(gm_node *const *)b)->name);
}

static gm_node *find_node(const gm *m, const char *name)
{
    gm_node key = {0}, *pk = &key, **hit;
    key.name = name;
    hit = bsearch(&pk, m->by_name, m->n, sizeof *m->by_name, by_name_cmp);
    return hit ? *hit : NULL;
}

/* ---- attributes ------------------------------------------------------------------------- */

static const json_t *attr(const gm_node *n, const char *key)
{
    return json_object_get(json_object_get(n->json, "attr"), key);
}

/* A JSON integer or a string holding one (TF.js writes int64 values as strings). */
static int json_int(const json_t *v, long long *out)
{
    char *end;
    if (json_is_integer(v)) return *out = json_integer_value(v), 1;
    if (!json_is_string(v)) return 0;
    *out = strtoll(json_string_value(v), &end, 10);
    return *json_string_value(v) && !*end;
}

/* attr.list.i as up to max ints; returns their number, -1 when malformed, 0 when absent. */
static int attr_ints(const gm_node *n, const char *key, int *out, int max)
{
    const json_t *list = json_object_get(json_object_get(attr(n, key), "list"), "i");
    size_t i;
    const json_t *v;
    if (!attr(n, key)) return 0;
    if (!json_is_array(list) || json_array_size(list) > (size_t)max) return -1;
    json_array_foreach(list, i, v)
    {
        long long x;
        if (!json_int(v, &x) || x < -(1 << 24) || x > (1 << 24)) return -1;
        out[i] = (int)x;
    }
    return (int)json_array_size(list);
}

/* A base64 attribute string (attr.s, or attr.list.s[index]) into buf; "" when absent. */
static const char *b64_text(const json_t *s, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    if (json_is_string(s) && sodium_base642bin((unsigned char *)buf, size - 1, json_string_value(s),
                                               json_string_length(s), NULL, &len, NULL,
                                               sodium_base64_VARIANT_ORIGINAL) == 0)
        buf[len] = 0;
    else if (json_is_string(s))
        snprintf(buf, size, "?");
    return buf;
}

static const char *attr_text(const gm_node *n, const char *key, char *buf, size_t size)
{
    return b64_text(json_object_get(attr(n, key), "s"), buf, size);
}

static int attr_bool(const gm_node *n, const char *key)
{
    return json_is_true(json_object_get(attr(n, key), "b"));
}

/* ---- values ----------------------------------------------------------------------------- */

static size_t count_of(const gm_value *v)
{
    size_t n = 1;
    for (int i = 0; i < v->rank; i++)
        n *= (size_t)v->dims[i];
    return n;
}

/* An activation of logical shape dims[0..rank) (dims[0] the batch) from t. */
static void set_act(gm_value *v, nn_t t, int rank, const int *dims)
{
    v->kind = V_ACT;
    v->t = t;
    v->rank = rank;
    memcpy(v->dims, dims, sizeof(int) * (size_t)rank);
}

static void set_act4(gm *m, gm_value *v, nn_t t)
{
    int dims[4] = {m->batch, t.h, t.w, t.c};
    set_act(v, t, 4, dims);
}

static void set_const(gm_value *v, const nn_tensor *c)
{
    v->kind = V_CONST;
    v->c = c;
    v->rank = c->rank;
    memcpy(v->dims, c->shape, sizeof v->dims);
}

/* A folded constant of the given shape owned by m, or NULL (error recorded). */
static nn_tensor *new_const(gm *m, const gm_node *n, int rank, const int *dims)
{
    size_t count = 1;
    nn_tensor *t;
    for (int i = 0; i < rank; i++)
        count *= (size_t)dims[i];
    if (m->nfolded == m->folded_cap) {
        size_t cap = m->folded_cap ? 2 * m->folded_cap : 16;
        nn_tensor **grown = realloc(m->folded, cap * sizeof *grown);
        if (!grown) return nn_graph_fail(m->g, FG_ENOMEM, "out of memory"), NULL;
        m->folded = grown;
        m->folded_cap = cap;
    }
    if (!(t = calloc(1, sizeof *t)) || !(t->data = fg_calloc_lines(count, sizeof *t->data))) {
        free(t);
        nn_graph_fail(m->g, FG_ENOMEM, "out of memory folding %s", n->name);
        return NULL;
    }
    t->name = n->name;
    t->rank = rank;
    memcpy(t->shape, dims, sizeof(int) * (size_t)rank);
    t->count = count;
    m->folded[m->nfolded++] = t;
    return t;
}

/* The constant's values as ints (shapes, paddings, axes); 0 when not integral or too many. */
static int const_ints(const gm_value *v, int *out, size_t max, size_t *count)
{
    if (v->kind != V_CONST || v->c->count > max) return 0;
    for (size_t i = 0; i < v->c->count; i++) {
        float x = v->c->data[i];
        if (!(x == floorf(x) && fabsf(x) <= (float)(1 << 24))) return 0;
        out[i] = (int)x;
    }
    *count = v->c->count;
    return 1;
}

/* A per-channel vector for an activation of c channels: a scalar, or a constant whose shape is
 * all ones but a last dimension of c. Fills vec[c]; 0 when it does not broadcast so. */
static int channel_vector(const gm_value *k, int c, float *vec)
{
    const nn_tensor *t = k->c;
    if (t->count == 1) {
        for (int i = 0; i < c; i++)
            vec[i] = t->data[0];
        return 1;
    }
    if (t->rank < 1 || t->shape[t->rank - 1] != c || t->count != (size_t)c) return 0;
    memcpy(vec, t->data, sizeof(float) * (size_t)c);
    return 1;
}

static int check_size(gm *m, const gm_node *n, nn_t t)
{
    if ((size_t)m->batch * t.h * t.w * t.c > MAX_VALUE)
        return node_fail(m, n, "a %dx%dx%d value is too large", t.h, t.w, t.c);
    return 1;
}

/* ---- ops -------------------------------------------------------------------------------- */

typedef int (*op_fn)(gm *m, gm_node *n, gm_value **in, int nin);

static int need_act4(gm *m, gm_node *n, const gm_value *v)
{
    if (v->kind != V_ACT || v->rank != 4)
        return node_fail(m, n, "input is not a 4-D activation (NHWC)");
    return 1;
}

/* The Placeholder's declared shape must be [N, H, W, C] with N = -1 or the batch and H, W, C
 * equal to the expected input (or -1). */
static int op_input(gm *m, gm_node *n, const int expect[3])
{
    const json_t *dims = json_object_get(json_object_get(attr(n, "shape"), "shape"), "dim"), *d;
    long long v[4] = {-1, -1, -1, -1};
    size_t i;
    if (json_is_array(dims)) {
        if (json_array_size(dims) != 4) return node_fail(m, n, "the input is not 4-D (NHWC)");
        json_array_foreach(dims, i, d)
        {
            if (!json_int(json_object_get(d, "size"), &v[i]))
                return node_fail(m, n, "malformed input shape");
        }
    }
    if (v[0] != -1 && v[0] != m->batch)
        return node_fail(m, n, "the model takes a batch of %lld, not %d", v[0], m->batch);
    for (int k = 0; k < 3; k++)
        if (v[k + 1] != -1 && v[k + 1] != expect[k])
            return node_fail(m, n, "the input is [%lld, %lld, %lld], expected [%d, %d, %d]", v[1],
                             v[2], v[3], expect[0], expect[1], expect[2]);
    set_act4(m, &n->v, nn_input(m->g, expect[0], expect[1], expect[2]));
    return 1;
}

static int op_const(gm *m, gm_node *n, gm_value **in, int nin)
{
    const nn_tensor *t = nn_weights_find(m->w, n->name);
    (void)in, (void)nin;
    if (!t) return node_fail(m, n, "the constant has no weights in the manifest");
    set_const(&n->v, t);
    return 1;
}

static int op_identity(gm *m, gm_node *n, gm_value **in, int nin)
{
    if (nin < 1) return node_fail(m, n, "no input");
    n->v = *in[0];
    return 1;
}

/* Stride and padding of a convolution or pooling node (square strides, NHWC, no dilation). */
static int window_attrs(gm *m, gm_node *n, int *stride, nn_padding *pad)
{
    int s[4] = {1, 1, 1, 1}, d[4] = {1, 1, 1, 1}, ns, nd;
    char text[16];
    ns = attr_ints(n, "strides", s, 4);
    nd = attr_ints(n, "dilations", d, 4);
    if (ns < 0 || nd < 0 || (ns && ns != 4) || (nd && nd != 4))
        return node_fail(m, n, "malformed strides or dilations");
    if (s[0] != 1 || s[3] != 1 || s[1] != s[2] || s[1] < 1)
        return node_fail(m, n, "strides [%d, %d, %d, %d] are not supported", s[0], s[1], s[2],
                         s[3]);
    if (d[0] != 1 || d[1] != 1 || d[2] != 1 || d[3] != 1)
        return node_fail(m, n, "dilated convolutions are not supported");
    attr_text(n, "data_format", text, sizeof text);
    if (text[0] && strcmp(text, "NHWC") != 0)
        return node_fail(m, n, "data format %s is not supported", text);
    attr_text(n, "padding", text, sizeof text);
    if (strcmp(text, "SAME") == 0) {
        *pad = NN_SAME;
    } else if (strcmp(text, "VALID") == 0) {
        *pad = NN_VALID;
    } else {
        return node_fail(m, n, "padding '%s' is not supported", text);
    }
    *stride = s[1];
    return 1;
}

/* The fused ops of a _Fused* node: BiasAdd, then at most one activation. */
typedef struct fused {
    int bias;
    enum { F_NONE, F_RELU, F_RELU6, F_PRELU, F_LEAKY } act;
} fused;

static int fused_attrs(gm *m, gm_node *n, fused *f)
{
    const json_t *list = json_object_get(json_object_get(attr(n, "fused_ops"), "list"), "s");
    char text[32];
    size_t i;
    const json_t *s;
    memset(f, 0, sizeof *f);
    json_array_foreach(list, i, s)
    {
        b64_text(s, text, sizeof text);
        if (i == 0 && strcmp(text, "BiasAdd") == 0) {
            f->bias = 1;
        } else if (i == 1 && f->bias && strcmp(text, "Relu") == 0) {
            f->act = F_RELU;
        } else if (i == 1 && f->bias && strcmp(text, "Relu6") == 0) {
            f->act = F_RELU6;
        } else if (i == 1 && f->bias && strcmp(text, "Prelu") == 0) {
            f->act = F_PRELU;
        } else if (i == 1 && f->bias && strcmp(text, "LeakyRelu") == 0) {
            f->act = F_LEAKY;
        } else {
            return node_fail(m, n, "fused op '%s' (position %zu) is not supported", text, i);
        }
    }
    return 1;
}

/* The fused activation after a node whose bias (if any) is already applied. */
static nn_t fused_act(gm *m, gm_node *n, const fused *f, nn_t y, const gm_value *alpha)
{
    if (f->act == F_PRELU) {
        float *slope = malloc(sizeof(float) * (size_t)(y.c > 0 ? y.c : 1));
        if (!slope) return nn_graph_fail(m->g, FG_ENOMEM, "out of memory"), y;
        if (!alpha || alpha->kind != V_CONST || !channel_vector(alpha, y.c, slope))
            node_fail(m, n, "the Prelu alpha is not a constant of %d values", y.c);
        else
            y = nn_prelu(m->g, y, slope);
        free(slope);
    } else if (f->act == F_LEAKY) {
        const json_t *a = json_object_get(attr(n, "leakyrelu_alpha"), "f");
        y = nn_leaky_relu(m->g, y, json_is_number(a) ? (float)json_number_value(a) : 0.2f);
    }
    return y;
}

static nn_act plain_act(const fused *f)
{
    return f->act == F_RELU ? NN_ACT_RELU : f->act == F_RELU6 ? NN_ACT_RELU6 : NN_ACT_NONE;
}

/* Conv2D, _FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2dNative. */
static int op_conv(gm *m, gm_node *n, gm_value **in, int nin)
{
    int depthwise = strstr(n->op, "Depthwise") != NULL, stride;
    nn_padding pad;
    fused f;
    const nn_tensor *w, *bias = NULL;
    nn_t y;

    if (nin < 2 || !need_act4(m, n, in[0]) || !window_attrs(m, n, &stride, &pad) ||
        !fused_attrs(m, n, &f))
        return 0;
    if (in[1]->kind != V_CONST || in[1]->rank != 4)
        return node_fail(m, n, "the filter is not a 4-D constant");
    w = in[1]->c;
    if (w->shape[2] != in[0]->t.c)
        return node_fail(m, n, "the filter is [%d, %d, %d, %d] but the input has %d channels",
                         w->shape[0], w->shape[1], w->shape[2], w->shape[3], in[0]->t.c);
    if (depthwise && w->shape[3] != 1)
        return node_fail(m, n, "depth multiplier %d is not supported", w->shape[3]);
    int cout = depthwise ? w->shape[2] : w->shape[3];
    if (f.bias) {
        if (nin < 3 || in[2]->kind != V_CONST || in[2]->c->count != (size_t)cout)
            return node_fail(m, n, "the bias is not a constant of %d values", cout);
        bias = in[2]->c;
    }
    if (f.act == F_PRELU && nin < 4) return node_fail(m, n, "the Prelu alpha is missing");
    if (depthwise)
        y = nn_depthwise(m->g, in[0]->t, w->data, w->shape[0], w->shape[1],
                         bias ? bias->data : NULL, stride, pad, plain_act(&f));
    else
        y = nn_conv2d(m->g, in[0]->t, w->data, w->shape[0], w->shape[1], cout,
                      bias ? bias->data : NULL, stride, pad, plain_act(&f));
    if (!check_size(m, n, y)) return 0;
    set_act4(m, &n->v, fused_act(m, n, &f, y, f.act == F_PRELU ? in[3] : NULL));
    return 1;
}

/* MatMul and _FusedMatMul: an activation [N, K] times a constant [K, M] (or [M, K] with
 * transpose_b), then the fused bias and activation. */
static int op_matmul(gm *m, gm_node *n, gm_value **in, int nin)
{
    fused f;
    const nn_tensor *w;
    float *w_in_out;
    int tb = attr_bool(n, "transpose_b");
    nn_t y;

    if (nin < 2 || !fused_attrs(m, n, &f)) return 0;
    if (in[0]->kind != V_ACT || in[0]->rank != 2)
        return node_fail(m, n, "the first input is not a 2-D activation");
    if (attr_bool(n, "transpose_a")) return node_fail(m, n, "transpose_a is not supported");
    if (in[1]->kind != V_CONST || in[1]->rank != 2)
        return node_fail(m, n, "the second input is not a 2-D constant");
    w = in[1]->c;
    int k = tb ? w->shape[1] : w->shape[0], cout = tb ? w->shape[0] : w->shape[1];
    if (k != in[0]->dims[1])
        return node_fail(m, n, "[%d, %d] times [%d, %d]", in[0]->dims[0], in[0]->dims[1],
                         w->shape[0], w->shape[1]);
    if (f.bias && (nin < 3 || in[2]->kind != V_CONST || in[2]->c->count != (size_t)cout))
        return node_fail(m, n, "the bias is not a constant of %d values", cout);
    if (!(w_in_out = fg_alloc_lines(sizeof(float) * w->count)))
        return nn_graph_fail(m->g, FG_ENOMEM, "out of memory"), 0;
    for (int i = 0; i < k; i++)
        for (int o = 0; o < cout; o++)
            w_in_out[(size_t)i * cout + o] =
                tb ? w->data[(size_t)o * k + i] : w->data[(size_t)i * cout + o];
    y = nn_fc(m->g, in[0]->t, w_in_out, cout, f.bias ? in[2]->c->data : NULL, plain_act(&f));
    free(w_in_out);
    y = fused_act(m, n, &f, y, f.act == F_PRELU && nin > 3 ? in[3] : NULL);
    int dims[2] = {m->batch, cout};
    set_act(&n->v, y, 2, dims);
    return 1;
}

static int op_pool(gm *m, gm_node *n, gm_value **in, int nin)
{
    int k[4] = {1, 1, 1, 1}, stride;
    nn_padding pad;
    nn_t y;
    if (nin < 1 || !need_act4(m, n, in[0]) || !window_attrs(m, n, &stride, &pad)) return 0;
    if (attr_ints(n, "ksize", k, 4) != 4 || k[0] != 1 || k[3] != 1 || k[1] != k[2] || k[1] < 1)
        return node_fail(m, n, "ksize [%d, %d, %d, %d] is not supported", k[0], k[1], k[2], k[3]);
    if (strcmp(n->op, "MaxPool") == 0) {
        y = nn_maxpool(m->g, in[0]->t, k[1], stride, pad);
    } else if (pad == NN_VALID) {
        y = nn_avgpool(m->g, in[0]->t, k[1], stride);
    } else {
        return node_fail(m, n, "average pooling with SAME padding is not supported");
    }
    set_act4(m, &n->v, y);
    return 1;
}

/* Add, AddV2, Sub, Mul (and Neg, as 0 - x). */
static int binary_kind(const char *op, nn_binary_op *kind)
{
    if (strcmp(op, "Add") == 0 || strcmp(op, "AddV2") == 0) return *kind = NN_ADD, 1;
    if (strcmp(op, "Sub") == 0 || strcmp(op, "Neg") == 0) return *kind = NN_SUB, 1;
    if (strcmp(op, "Mul") == 0) return *kind = NN_MUL, 1;
    return 0;
}

/* y = x * scale[c] + shift[c] as one per-channel affine node (a 1x1 depthwise convolution). */
static int set_affine(gm *m, gm_node *n, const gm_value *x, const float *scale, const float *shift)
{
    set_act(&n->v, nn_affine(m->g, x->t, scale, shift, NN_ACT_NONE), x->rank, x->dims);
    return 1;
}

/* An activation and a per-channel constant k: x + k, x - k, k - x, x * k, or -x (Neg, no k). */
static int affine_with_const(gm *m, gm_node *n, nn_binary_op kind, const gm_value *x,
                             const gm_value *k, int const_first)
{
    int c = x->t.c, ok = 0;
    float *scale = malloc(sizeof(float) * (size_t)(c > 0 ? c : 1));
    float *shift = malloc(sizeof(float) * (size_t)(c > 0 ? c : 1));
    if (!scale || !shift) {
        nn_graph_fail(m->g, FG_ENOMEM, "out of memory");
    } else if (k && !channel_vector(k, c, kind == NN_MUL ? scale : shift)) {
        node_fail(m, n, "a constant of %zu values does not broadcast over %d channels", k->c->count,
                  c);
    } else {
        for (int i = 0; i < c; i++) {
            if (!k) { /* Neg */
                scale[i] = -1.0f, shift[i] = 0.0f;
            } else if (kind == NN_MUL) {
                shift[i] = 0.0f;
            } else {
                scale[i] = kind == NN_SUB && const_first ? -1.0f : 1.0f;
                if (kind == NN_SUB && !const_first) shift[i] = -shift[i];
            }
        }
        ok = set_affine(m, n, x, scale, shift);
    }
    free(scale);
    free(shift);
    return ok;
}

static int op_binary(gm *m, gm_node *n, gm_value **in, int nin)
{
    nn_binary_op kind;
    binary_kind(n->op, &kind);
    if (strcmp(n->op, "Neg") == 0) {
        if (nin < 1 || in[0]->kind != V_ACT) return node_fail(m, n, "no activation input");
        return affine_with_const(m, n, NN_SUB, in[0], NULL, 1);
    }
    if (nin != 2) return node_fail(m, n, "expected 2 inputs, got %d", nin);
    if (in[0]->kind == V_ACT && in[1]->kind == V_ACT) {
        if (in[0]->rank != in[1]->rank ||
            memcmp(in[0]->dims, in[1]->dims, sizeof(int) * (size_t)in[0]->rank) != 0)
            return node_fail(m, n, "broadcasting between two activations is not supported");
        set_act(&n->v, nn_binary(m->g, kind, in[0]->t, in[1]->t, NN_ACT_NONE), in[0]->rank,
                in[0]->dims);
        return 1;
    }
    return in[0]->kind == V_ACT ? affine_with_const(m, n, kind, in[0], in[1], 0)
                                : affine_with_const(m, n, kind, in[1], in[0], 1);
}

static int op_unary(gm *m, gm_node *n, gm_value **in, int nin)
{
    nn_t x, y;
    if (nin < 1 || in[0]->kind != V_ACT) return node_fail(m, n, "no activation input");
    x = in[0]->t;
    if (strcmp(n->op, "Relu") == 0) {
        y = nn_relu(m->g, x);
    } else if (strcmp(n->op, "Relu6") == 0) {
        y = nn_clamp(m->g, x, 0.0f, 6.0f);
    } else if (strcmp(n->op, "Sigmoid") == 0) {
        y = nn_sigmoid(m->g, x);
    } else if (strcmp(n->op, "LeakyRelu") == 0) {
        const json_t *a = json_object_get(attr(n, "alpha"), "f");
        y = nn_leaky_relu(m->g, x, json_is_number(a) ? (float)json_number_value(a) : 0.2f);
    } else { /* Prelu */
        fused f = {1, F_PRELU};
        if (nin < 2) return node_fail(m, n, "the alpha is missing");
        y = fused_act(m, n, &f, x, in[1]);
    }
    set_act(&n->v, y, in[0]->rank, in[0]->dims);
    return 1;
}

/* Pad and PadV2 on a 4-D activation: paddings [[0, 0], [top, bottom], [left, right],
 * [before, after]], constant value 0 (PadV2: its third input). */
static int op_pad(gm *m, gm_node *n, gm_value **in, int nin)
{
    int p[8];
    size_t np = 0;
    float value = 0.0f;
    nn_t y;
    if (nin < 2 || !need_act4(m, n, in[0])) return 0;
    if (!const_ints(in[1], p, 8, &np) || np != 8)
        return node_fail(m, n, "the paddings are not a constant [4, 2]");
    if (p[0] || p[1]) return node_fail(m, n, "padding the batch is not supported");
    for (int i = 2; i < 8; i++)
        if (p[i] < 0 || p[i] > (1 << 16))
            return node_fail(m, n, "padding %d is out of range", p[i]);
    if (strcmp(n->op, "PadV2") == 0) {
        if (nin < 3 || in[2]->kind != V_CONST || in[2]->c->count != 1)
            return node_fail(m, n, "the padding value is not a scalar constant");
        value = in[2]->c->data[0];
    }
    y = nn_pad(m->g, in[0]->t, p[2], p[3], p[4], p[5], p[6], p[7], value);
    if (!check_size(m, n, y)) return 0;
    set_act4(m, &n->v, y);
    return 1;
}

/* The shape a Reshape asks for, with its -1 resolved for `count` elements. */
static int reshape_dims(gm *m, gm_node *n, const gm_value *shape, size_t count, int *dims,
                        int *rank)
{
    size_t nd = 0, known = 1;
    int infer = -1;
    if (!const_ints(shape, dims, 4, &nd) || nd < 1)
        return node_fail(m, n, "the shape is not a constant of 1 to 4 integers");
    for (size_t i = 0; i < nd; i++) {
        if (dims[i] == -1 && infer < 0) {
            infer = (int)i;
        } else if (dims[i] < 1) {
            return node_fail(m, n, "dimension %d is not supported", dims[i]);
        } else {
            known *= (size_t)dims[i];
        }
    }
    if (infer >= 0 && known && count % known == 0 && count / known <= MAX_VALUE)
        dims[infer] = (int)(count / known), known = count;
    if (known != count) return node_fail(m, n, "cannot reshape %zu values", count);
    *rank = (int)nd;
    return 1;
}

static int op_reshape(gm *m, gm_node *n, gm_value **in, int nin)
{
    int dims[4], rank = 0, hwc[3] = {1, 1, 1};
    if (nin < 2) return node_fail(m, n, "expected 2 inputs");
    if (!reshape_dims(m, n, in[1], count_of(in[0]), dims, &rank)) return 0;
    if (in[0]->kind == V_CONST) {
        nn_tensor *t = new_const(m, n, rank, dims);
        if (!t) return 0;
        memcpy(t->data, in[0]->c->data, sizeof(float) * t->count);
        set_const(&n->v, t);
        return 1;
    }
    if (rank < 2 || dims[0] != m->batch)
        return node_fail(m, n, "a reshape must keep the batch (%d) as its first dimension",
                         m->batch);
    for (int i = 1; i < rank; i++)
        hwc[3 - rank + i] = dims[i];
    nn_t x = in[0]->t, y = x;
    if (x.h != hwc[0] || x.w != hwc[1] || x.c != hwc[2])
        y = nn_reshape(m->g, x, hwc[0], hwc[1], hwc[2]);
    set_act(&n->v, y, rank, dims);
    return 1;
}

static int op_concat(gm *m, gm_node *n, gm_value **in, int nin)
{
    int axis = 0;
    size_t na;
    if (nin < 2 || !const_ints(in[nin - 1], &axis, 1, &na))
        return node_fail(m, n, "the axis is not a scalar constant");
    const gm_value *first = in[0];
    if (axis < 0) axis += first->rank;
    if (axis < 1 || axis >= first->rank)
        return node_fail(m, n, "concatenation along axis %d is not supported", axis);
    nn_t y = first->t;
    int dims[4];
    memcpy(dims, first->dims, sizeof dims);
    for (int i = 0; i < nin - 1; i++) {
        if (in[i]->kind != V_ACT || in[i]->rank != first->rank)
            return node_fail(m, n, "input %d is not an activation of rank %d", i, first->rank);
        if (i == 0) continue;
        y = nn_concat(m->g, axis + 4 - first->rank, y, in[i]->t);
        dims[axis] += in[i]->dims[axis];
    }
    set_act(&n->v, y, first->rank, dims);
    return 1;
}

static int op_resize(gm *m, gm_node *n, gm_value **in, int nin)
{
    int size[2];
    size_t ns = 0;
    nn_resize mode = attr_bool(n, "align_corners")        ? NN_RESIZE_ALIGN_CORNERS
                     : attr_bool(n, "half_pixel_centers") ? NN_RESIZE_HALF_PIXEL
                                                          : NN_RESIZE_LEGACY;
    if (nin < 2 || !need_act4(m, n, in[0])) return 0;
    if (!const_ints(in[1], size, 2, &ns) || ns != 2 || size[0] < 1 || size[1] < 1)
        return node_fail(m, n, "the size is not a constant [height, width]");
    nn_t y = nn_resize_bilinear(m->g, in[0]->t, size[0], size[1], mode);
    if (!check_size(m, n, y)) return 0;
    set_act4(m, &n->v, y);
    return 1;
}

static int op_transpose(gm *m, gm_node *n, gm_value **in, int nin)
{
    int perm[4];
    size_t np = 0;
    if (nin < 2 || !need_act4(m, n, in[0])) return 0;
    if (!const_ints(in[1], perm, 4, &np) || np != 4 || perm[0] != 0)
        return node_fail(m, n, "only a constant permutation [0, ...] of a 4-D value is supported");
    int p3[3] = {perm[1] - 1, perm[2] - 1, perm[3] - 1};
    set_act4(m, &n->v, nn_transpose(m->g, in[0]->t, p3));
    return 1;
}

/* Element-wise ops on constants, evaluated once: Add/AddV2/Sub/Mul of equal shapes or with a
 * scalar, Neg. (Reshape and Identity of constants are handled by their ops.) */
static int fold(gm *m, gm_node *n, gm_value **in, int nin)
{
    nn_binary_op kind;
    const nn_tensor *a = in[0]->c, *b = nin > 1 ? in[1]->c : NULL, *big;
    nn_tensor *t;
    int neg = strcmp(n->op, "Neg") == 0;
    if (!binary_kind(n->op, &kind) || (!neg && nin != 2))
        return node_fail(m, n, "this op on constants cannot be folded");
    big = b && b->count > a->count ? b : a;
    if (b && a->count != b->count && a->count != 1 && b->count != 1)
        return node_fail(m, n, "folding these shapes (broadcast) is not supported");
    if (!(t = new_const(m, n, big->rank, big->shape))) return 0;
    for (size_t i = 0; i < t->count; i++) {
        float x = a->data[a->count == 1 ? 0 : i], y = b ? b->data[b->count == 1 ? 0 : i] : 0;
        t->data[i] = neg ? -x : kind == NN_ADD ? x + y : kind == NN_SUB ? x - y : x * y;
    }
    set_const(&n->v, t);
    return 1;
}

static const struct {
    const char *op;
    op_fn fn;
    int folds; /* 1: all-constant inputs are folded rather than translated */
} ops[] = {
    {"Const", op_const, 0},
    {"Identity", op_identity, 0},
    {"StopGradient", op_identity, 0},
    {"Snapshot", op_identity, 0},
    {"Conv2D", op_conv, 0},
    {"_FusedConv2D", op_conv, 0},
    {"DepthwiseConv2dNative", op_conv, 0},
    {"FusedDepthwiseConv2dNative", op_conv, 0},
    {"MatMul", op_matmul, 0},
    {"_FusedMatMul", op_matmul, 0},
    {"MaxPool", op_pool, 0},
    {"AvgPool", op_pool, 0},
    {"Add", op_binary, 1},
    {"AddV2", op_binary, 1},
    {"Sub", op_binary, 1},
    {"Mul", op_binary, 1},
    {"Neg", op_binary, 1},
    {"Relu", op_unary, 0},
    {"Relu6", op_unary, 0},
    {"Sigmoid", op_unary, 0},
    {"LeakyRelu", op_unary, 0},
    {"Prelu", op_unary, 0},
    {"Pad", op_pad, 0},
    {"PadV2", op_pad, 0},
    {"Reshape", op_reshape, 0},
    {"ConcatV2", op_concat, 0},
    {"ResizeBilinear", op_resize, 0},
    {"Transpose", op_transpose, 0},
};

/* ---- traversal ---------------------------------------------------------------------------- */

/* The node an input string names ("name", "name:0"; "^name" is a control edge: NULL, *skip).
 * Other output indices are refused. */
static gm_node *input_node(gm *m, const gm_node *n, const char *ref, int *skip)
{
    char name[512];
    const char *colon = strrchr(ref, ':');
    size_t len = colon ? (size_t)(colon - ref) : strlen(ref);
    gm_node *hit = NULL;
    *skip = ref[0] == '^';
    if (*skip) return NULL;
    if (len >= sizeof name) {
        node_fail(m, n, "input name too long");
    } else if (colon && strcmp(colon, ":0") != 0) {
        node_fail(m, n, "output %s of a node is not supported", colon + 1);
    } else {
        memcpy(name, ref, len);
        name[len] = 0;
        hit = find_node(m, name);
        if (!hit) node_fail(m, n, "input %s is not a node of the graph", name);
    }
    return hit;
}

/* 1 when n is one of the runtime's extra inputs (opts->extra_inputs). */
static int is_extra_input(const gm *m, const gm_node *n)
{
    for (int i = 0; m->opts && i < m->opts->num_extra_inputs; i++)
        if (strcmp(n->name, m->opts->extra_inputs[i]) == 0) return 1;
    return 0;
}

/* Gathers n's data inputs (at most max); returns their number or -1 (error recorded). */
static int gather_inputs(gm *m, gm_node *n, gm_node **out, int max)
{
    const json_t *inputs = json_object_get(n->json, "input"), *ref;
    size_t i;
    int k = 0;
    /* The inputs are leaves. */
    if ((m->input_node && strcmp(n->name, m->input_node) == 0) || is_extra_input(m, n)) return 0;
    json_array_foreach(inputs, i, ref)
    {
        int skip;
        gm_node *in;
        if (!json_is_string(ref)) {
            node_fail(m, n, "an input is not a string");
            return -1;
        }
        in = input_node(m, n, json_string_value(ref), &skip);
        if (skip) continue;
        if (!in) return -1;
        if (k == max) {
            node_fail(m, n, "more than %d inputs", max);
            return -1;
        }
        out[k++] = in;
    }
    return k;
}

#define MAX_INPUTS 16

static int translate_node(gm *m, gm_node *n, gm_node **inputs, int nin, const int expect[3])
{
    gm_value *in[MAX_INPUTS];
    int all_const = nin > 0;
    for (int i = 0; i < nin; i++) {
        in[i] = &inputs[i]->v;
        all_const &= in[i]->kind == V_CONST;
    }
    if (strcmp(n->op, "Placeholder") == 0) return op_input(m, n, expect);
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        if (strcmp(ops[k].op, n->op) != 0) continue;
        if (all_const && ops[k].folds) return fold(m, n, in, nin);
        if (all_const && ops[k].fn != op_identity && ops[k].fn != op_reshape)
            return node_fail(m, n, "an op on constants only is not supported");
        return ops[k].fn(m, n, in, nin);
    }
    return node_fail(m, n, "op '%s' is not supported", n->op);
}

/* Translates what `root` depends on, depth first with an explicit stack. */
static int visit(gm *m, gm_node *root, const int expect[3])
{
    size_t cap = 64, top = 0;
    gm_node **stack = malloc(cap * sizeof *stack), *inputs[MAX_INPUTS];
    int rc = 1;
    if (!stack) return nn_graph_fail(m->g, FG_ENOMEM, "out of memory"), 0;
    if (root->v.kind == V_UNSEEN) stack[top++] = root;
    while (top && rc && nn_graph_status(m->g) == FG_OK) {
        gm_node *n = stack[top - 1];
        int nin = gather_inputs(m, n, inputs, MAX_INPUTS), pending = 0;
        if (nin < 0) break;
        if (n->v.kind == V_CONST || n->v.kind == V_ACT) {
            top--;
            continue;
        }
        for (int i = 0; i < nin; i++) {
            if (inputs[i]->v.kind == V_BUSY) {
                /* Every node above a busy one on the stack is one of its inputs' inputs. */
                rc = node_fail(m, n, "the graph has a cycle through %s", inputs[i]->name);
                break;
            } else if (inputs[i]->v.kind == V_UNSEEN) {
                if (top + 1 >= cap) {
                    gm_node **grown = realloc(stack, 2 * cap * sizeof *stack);
                    if (!grown) {
                        nn_graph_fail(m->g, FG_ENOMEM, "out of memory");
                        rc = 0;
                        break;
                    }
                    stack = grown, cap *= 2;
                }
                stack[top++] = inputs[i];
                pending = 1;
            }
        }
        if (!rc) break;
        if (n->v.kind == V_UNSEEN && pending) {
            n->v.kind = V_BUSY;
            continue;
        }
        if (pending) {
            /* Revisited with an input still unseen: only a cycle leaves one so. */
            rc = node_fail(m, n, "the graph has a cycle");
            break;
        }
        n->v.kind = V_BUSY;
        if (!translate_node(m, n, inputs, nin, expect) || nn_graph_status(m->g) != FG_OK) break;
        if (n->v.kind == V_BUSY) {
            rc = node_fail(m, n, "produced no value");
            break;
        }
        top--;
    }
    free(stack);
    return rc && nn_graph_status(m->g) == FG_OK;
}

static void gm_free(gm *m)
{
    for (size_t i = 0; i < m->nfolded; i++) {
        free(m->folded[i]->data);
        free(m->folded[i]);
    }
    free(m->folded);
    free(m->nodes);
    free(m->by_name);
    nn_graph_free(m->g);
}

/* The nodes of modelTopology.node[], indexed by name. */
static int index_nodes(nn_graph_model *m, fg_error *err)
{
    const json_t *nodes = json_object_get(json_object_get(m->root, "modelTopology"), "node"), *node;
    size_t i;
    if (!json_is_array(nodes) || json_array_size(nodes) == 0 || json_array_size(nodes) > MAX_NODES)
        return fg_fail(err, FG_EMODEL_CORRUPT, "%s: no modelTopology.node list (or too long)",
                       m->what);
    m->n = json_array_size(nodes);
    m->nodes = calloc(m->n, sizeof *m->nodes);
    m->by_name = calloc(m->n, sizeof *m->by_name);
    if (!m->nodes || !m->by_name) return fg_fail(err, FG_ENOMEM, "out of memory");
    json_array_foreach(nodes, i, node)
    {
        gm_node *n = &m->nodes[i];
        n->name = json_string_value(json_object_get(node, "name"));
        n->op = json_string_value(json_object_get(node, "op"));
        n->json = node;
        if (!n->name || !n->op)
            return fg_fail(err, FG_EMODEL_CORRUPT, "%s: node #%zu has no name or op", m->what, i);
        m->by_name[i] = n;
    }
    qsort(m->by_name, m->n, sizeof *m->by_name, by_name_cmp);
    for (i = 1; i < m->n; i++)
        if (strcmp(m->by_name[i - 1]->name, m->by_name[i]->name) == 0)
            return fg_fail(err, FG_EMODEL_CORRUPT, "%s: two nodes are named %s", m->what,
                           m->by_name[i]->name);
    return FG_OK;
}

void nn_graph_model_close(nn_graph_model *m)
{
    if (!m) return;
    free(m->nodes);
    free(m->by_name);
    nn_weights_free(&m->w);
    json_decref(m->root);
    free(m);
}

const char *nn_graph_model_name(const nn_graph_model *m)
{
    return m->what;
}

/* The model from its parsed JSON (which it keeps) and its weight files. */
static int model_from(json_t *root, const nn_blob *shards, size_t nshards, const char *what,
                      nn_graph_model **out, fg_error *err)
{
    nn_graph_model *m = calloc(1, sizeof *m);
    int rc;

    *out = NULL;
    if (!m) {
        json_decref(root);
        return fg_fail(err, FG_ENOMEM, "out of memory");
    }
    m->root = root;
    snprintf(m->what, sizeof m->what, "%s", what);
    if (!json_is_object(root)) {
        rc = fg_fail(err, FG_EMODEL_CORRUPT, "%s: not JSON", m->what);
    } else if (!(rc = index_nodes(m, err))) {
        rc = nn_weights_decode(json_object_get(root, "weightsManifest"), shards, nshards, m->what,
                               &m->w, err);
    }
    if (rc) {
        nn_graph_model_close(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

/* m's copy of the model's nodes (values unseen) and a graph of num_outputs outputs. */
static int gm_begin(gm *m, const nn_graph_model *model, int num_outputs, fg_error *err)
{
    memset(m, 0, sizeof *m);
    m->what = model->what;
    m->w = &model->w;
    m->n = model->n;
    m->nodes = malloc(m->n * sizeof *m->nodes);
    m->by_name = malloc(m->n * sizeof *m->by_name);
    m->g = nn_graph_new(num_outputs);
    if (!m->nodes || !m->by_name || !m->g) {
        gm_free(m);
        return fg_fail(err, FG_ENOMEM, "out of memory");
    }
    memcpy(m->nodes, model->nodes, m->n * sizeof *m->nodes);
    for (size_t i = 0; i < m->n; i++)
        m->by_name[i] = m->nodes + (model->by_name[i] - model->nodes);
    return FG_OK;
}

int nn_graph_model_runtime(const nn_graph_model *model, const nn_graph_model_options *opts,
                           nn_runtime **out, fg_error *err)
{
    gm m;
    int rc;

    *out = NULL;
    if (opts->num_outputs < 1 || opts->num_outputs > NN_MAX_OUTPUTS)
        return fg_fail(err, FG_EINVAL, "%s: %d outputs asked for", model->what, opts->num_outputs);
    if (opts->num_extra_inputs < 0 || opts->num_extra_inputs >= NN_MAX_INPUTS ||
        (opts->num_extra_inputs && !opts->input_node))
        return fg_fail(err, FG_EINVAL,
                       "%s: %d extra inputs asked for (at most %d, after a named "
                       "input node)",
                       model->what, opts->num_extra_inputs, NN_MAX_INPUTS - 1);
    if ((rc = gm_begin(&m, model, opts->num_outputs, err))) return rc;
    m.batch = opts->batch > 0 ? opts->batch : 1;
    m.input_node = opts->input_node;
    m.opts = opts;
    nn_graph_set_batch(m.g, m.batch);
    /* The inputs in their order (the runtime's input ids), before anything reads them. */
    for (int i = 0; m.input_node && i <= opts->num_extra_inputs; i++) {
        const char *name = i ? opts->extra_inputs[i - 1] : m.input_node;
        const int *shape = i ? opts->extra_input[i - 1] : opts->input;
        gm_node *n = find_node(&m, name);
        if (!n) {
            nn_graph_fail(m.g, FG_EMODEL_CORRUPT, "%s: no input node named %s", m.what, name);
            break;
        }
        set_act4(&m, &n->v, nn_input(m.g, shape[0], shape[1], shape[2]));
    }
    for (int i = 0; i < opts->num_outputs && nn_graph_status(m.g) == FG_OK; i++) {
        gm_node *n = find_node(&m, opts->outputs[i]);
        if (!n) {
            nn_graph_fail(m.g, FG_EMODEL_CORRUPT, "%s: no output node named %s", m.what,
                          opts->outputs[i]);
            break;
        }
        if (!visit(&m, n, opts->input)) break;
        if (n->v.kind != V_ACT) {
            node_fail(&m, n, "the output is not computed from the input");
            break;
        }
        nn_output(m.g, n->v.t);
    }
    rc = nn_graph_build(m.g, opts->threads, out, err);
    gm_free(&m);
    return rc;
}

int nn_graph_model_open_parsed(const void *json, size_t json_size, const nn_blob *shards,
                               size_t nshards, const char *what, nn_graph_model **out,
                               fg_error *err)
{
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    root = json_loadb(json, json_size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fg_fail(err, nn_json_error_code(&jerr, 0), "%s: not JSON (%s, line %d)", what,
                       jerr.text, jerr.line);
    return model_from(root, shards, nshards, what, out, err);
}

int nn_graph_model_parse(const void *json, size_t json_size, const nn_blob *shards, size_t nshards,
                         const nn_graph_model_options *opts, nn_runtime **out, fg_error *err)
{
    nn_graph_model *m;
    int rc;

    *out = NULL;
    if ((rc = nn_graph_model_open_parsed(json, json_size, shards, nshards,
                                         opts->name ? opts->name : "model.json", &m, err)))
        return rc;
    rc = nn_graph_model_runtime(m, opts, out, err);
    nn_graph_model_close(m);
    return rc;
}

/* Reads <model_dir>/<model>.json (SHA-256 checked) and the weight files it names into *root and
 * *shards; `file` gets "<model>.json" for messages. */
static int read_model(const char *model_dir, const char *model, char file[256], json_t **root,
                      nn_blob **shards, size_t *nshards, fg_error *err)
{
    unsigned char *bytes;
    size_t size;
    json_error_t jerr;
    int rc;

    *root = NULL;
    *shards = NULL;
    *nshards = 0;
    snprintf(file, 256, "%s.json", model);
    if ((rc = nn_read_verified(model_dir, file, &bytes, &size, err))) return rc;
    *root = json_loadb((const char *)bytes, size, JSON_REJECT_DUPLICATES, &jerr);
    free(bytes);
    if (!*root)
        return fg_fail(err, nn_json_error_code(&jerr, 1), "%s: not JSON (%s)", file, jerr.text);
    rc = nn_read_manifest_shards(model_dir, json_object_get(*root, "weightsManifest"), shards,
                                 nshards, err);
    if (rc) {
        json_decref(*root);
        *root = NULL;
    }
    return rc;
}

int nn_graph_model_open(const char *model_dir, const char *model, nn_graph_model **out,
                        fg_error *err)
{
    char file[256];
    size_t nshards = 0;
    nn_blob *shards = NULL;
    json_t *root;
    int rc;

    *out = NULL;
    if ((rc = read_model(model_dir, model, file, &root, &shards, &nshards, err))) return rc;
    rc = model_from(root, shards, nshards, file, out, err);
    nn_free_shards(shards, nshards);
    return rc;
}

int nn_graph_model_load(const char *model_dir, const char *model,
                        const nn_graph_model_options *opts, nn_runtime **out, fg_error *err)
{
    nn_graph_model *m;
    int rc;

    *out = NULL;
    if ((rc = nn_graph_model_open(model_dir, model, &m, err))) return rc;
    rc = nn_graph_model_runtime(m, opts, out, err);
    nn_graph_model_close(m);
    return rc;
}

/* ---- fused residual blocks ---------------------------------------------------------------- */

/* n's data input i, or NULL with the error recorded. */
static gm_node *data_input(gm *m, gm_node *n, int i)
{
    gm_node *in[MAX_INPUTS];
    int k = gather_inputs(m, n, in, MAX_INPUTS);
    if (k < 0) return NULL;
    if (i >= k) {
        node_fail(m, n, "has no input %d", i);
        return NULL;
    }
    return in[i];
}

/* The weights behind n's input i, of the given shape; NULL with the error recorded. */
static const nn_tensor *const_input(gm *m, gm_node *n, int i, int rank, const int *shape)
{
    gm_node *c = data_input(m, n, i);
    const nn_tensor *t;
    if (!c) return NULL;
    if (strcmp(c->op, "Const") != 0 || !(t = nn_weights_find(m->w, c->name))) {
        node_fail(m, n, "input %d is not a constant with weights", i);
        return NULL;
    }
    if (t->rank != rank || memcmp(t->shape, shape, sizeof(int) * (size_t)rank) != 0) {
        node_fail(m, n, "the weights %s do not have the expected shape", c->name);
        return NULL;
    }
    return t;
}

static float *copy_floats(gm *m, const nn_tensor *t)
{
    float *p = fg_alloc_lines(t->count * sizeof *p);
    if (!p) {
        nn_graph_fail(m->g, FG_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(p, t->data, t->count * sizeof *p);
    return p;
}

/* The PReLU slopes of node n (its input i): a constant of c values, whatever its rank. */
static float *prelu_slopes(gm *m, gm_node *n, int i, int c)
{
    gm_node *a = data_input(m, n, i);
    const nn_tensor *t;
    if (!a) return NULL;
    if (strcmp(a->op, "Const") != 0 || !(t = nn_weights_find(m->w, a->name)) ||
        t->count != (size_t)c) {
        node_fail(m, n, "the alpha is not a constant of %d values", c);
        return NULL;
    }
    return copy_floats(m, t);
}

/* Checks that conv is a _FusedConv2D at stride `stride` with a bias and the activation act (its
 * kernel's shape is the caller's to check). The padding is not: a 1x1 kernel has none, and a 2x2
 * stride-2 one pads nothing under SAME on the even sizes a strided block takes (nn_block_fits). */
static int is_pointwise(gm *m, gm_node *conv, int act, int stride)
{
    fused f;
    nn_padding pad;
    int s;
    if (strcmp(conv->op, "_FusedConv2D") != 0) return node_fail(m, conv, "is not a _FusedConv2D");
    if (!fused_attrs(m, conv, &f) || !window_attrs(m, conv, &s, &pad)) return 0;
    if (!f.bias || (int)f.act != act || s != stride)
        return node_fail(m, conv, "is not a stride-%d convolution with a bias%s", stride,
                         act == F_PRELU ? " and a Prelu" : " only");
    return 1;
}

/* The number of channels of the depthwise kernel of dw (3x3xCx1), or 0. */
static int depthwise_channels(gm *m, gm_node *dw)
{
    gm_node *kn = data_input(m, dw, 1);
    const nn_tensor *kt = kn ? nn_weights_find(m->w, kn->name) : NULL;
    return kt && kt->rank == 4 ? kt->shape[2] : 0;
}

/* A bottleneck's first convolution (conv, reading x), 1x1 or in a strided block 2x2 stride 2:
 * its weights into b (b->c, b->m and b->stride are set, b->cin is set here). */
static int read_bottleneck(gm *m, gm_node *conv, gm_node *x, nn_block *b)
{
    const int k = b->stride;
    const nn_tensor *w, *bias;
    if (!is_pointwise(m, conv, F_PRELU, k)) return 0;
    if (data_input(m, conv, 0) != x) return node_fail(m, conv, "does not read the block's input");
    if (!(w = const_input(m, conv, 1, 4, (const int[]){k, k, b->cin, b->m})) ||
        !(bias = const_input(m, conv, 2, 1, (const int[]){b->m})))
        return 0;
    b->w1 = copy_floats(m, w);
    b->b1 = copy_floats(m, bias);
    b->alpha1 = prelu_slopes(m, conv, 3, b->m);
    return b->w1 && b->b1 && b->alpha1;
}

/* 1 when n is a _FusedConv2D reading the node named input (a bottleneck's first convolution). */
static int reads_input(gm *m, gm_node *n, const char *input)
{
    gm_node *x;
    if (strcmp(n->op, "_FusedConv2D") != 0) return 0;
    return (x = data_input(m, n, 0)) && strcmp(x->name, input) == 0;
}

/* The operand of add that is a block's residual (the node named input, in a strided block a
 * MaxPool or Pad of it, in a res_from_e block a convolution of it) into *res, the other into
 * *conv. */
static int split_add(gm *m, gm_node *add, const char *input, gm_node **res, gm_node **conv)
{
    gm_node *in[2];
    if (strcmp(add->op, "AddV2") != 0 && strcmp(add->op, "Add") != 0)
        return node_fail(m, add, "is not an Add");
    if (!(in[0] = data_input(m, add, 0)) || !(in[1] = data_input(m, add, 1))) return 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < 2; i++) {
            const int hit = pass == 0 ? strcmp(in[i]->name, input) == 0
                            : pass == 1
                                ? strcmp(in[i]->op, "MaxPool") == 0 || strcmp(in[i]->op, "Pad") == 0
                                : reads_input(m, in[i], input);
            if (hit) {
                *res = in[i], *conv = in[1 - i];
                return 1;
            }
        }
    return node_fail(m, add,
                     "does not add the block's input %s, a max pool of it or a convolution of it",
                     input);
}

/* A strided block's residual res: MaxPool 2x2 stride 2 of the node named input, or that
 * padded with zeros in *extra more channels. Sets *x to the input. VALID and SAME pooling agree
 * on the even sizes a strided block takes (nn_block_fits). */
static int read_pool(gm *m, gm_node *res, const char *input, gm_node **x, int *extra)
{
    int k[4] = {0}, stride;
    nn_padding pad;
    *extra = 0;
    if (strcmp(res->op, "Pad") == 0) {
        const nn_tensor *p = const_input(m, res, 1, 2, (const int[]){4, 2});
        if (!p) return 0;
        for (int i = 0; i < 7; i++)
            if (p->data[i] != 0.0f)
                return node_fail(m, res, "pads more than the channels after the last");
        if (!(p->data[7] >= 0.0f && p->data[7] <= NN_BLOCK_MAX_C))
            return node_fail(m, res, "pads %g channels", p->data[7]);
        *extra = (int)p->data[7];
        if (!(res = data_input(m, res, 0))) return 0;
    }
    if (strcmp(res->op, "MaxPool") != 0) return node_fail(m, res, "is not a MaxPool");
    if (!window_attrs(m, res, &stride, &pad)) return 0;
    if (attr_ints(res, "ksize", k, 4) != 4 || k[0] != 1 || k[1] != 2 || k[2] != 2 || k[3] != 1 ||
        stride != 2)
        return node_fail(m, res, "is not a 2x2 stride-2 max pool");
    if (!(*x = data_input(m, res, 0))) return 0;
    if (strcmp((*x)->name, input) != 0)
        return node_fail(m, res, "does not pool the block's input %s", input);
    return 1;
}

/* Axis `axis` of the kernel of the convolution conv (k x k x Cin x C: 2 in, 3 out), or 0. */
static int kernel_dim(gm *m, gm_node *conv, int axis)
{
    gm_node *wn = data_input(m, conv, 1);
    const nn_tensor *wt = wn ? nn_weights_find(m->w, wn->name) : NULL;
    return wt && wt->rank == 4 ? wt->shape[axis] : 0;
}

/* Checks that `relu` (a Relu or a Prelu) ends a residual block on the node named `input` and
 * copies its weights: plain, the depthwise reading the input; a bottleneck, the depthwise
 * reading a convolution with Prelu of the input (1x1, or 2x2 stride 2 in a strided block), which
 * may also be the residual (res_from_e); and strided, the residual a max pool of the input, and
 * the depthwise at stride 2 when it reads the input. */
static int read_block(gm *m, gm_node *relu, const char *input, nn_block *b)
{
    gm_node *add, *res = NULL, *conv = NULL, *dw, *x = NULL, *src;
    const nn_tensor *k, *w, *bias;
    nn_padding pad;
    int stride, cd, extra = 0, prelu = strcmp(relu->op, "Prelu") == 0;

    if (strcmp(relu->op, "Relu") != 0 && !prelu)
        return node_fail(m, relu, "is not a Relu or Prelu");
    if (!(add = data_input(m, relu, 0)) || !split_add(m, add, input, &res, &conv)) return 0;
    const int own = strcmp(res->name, input) == 0; /* x itself */
    b->res_from_e = !own && strcmp(res->op, "_FusedConv2D") == 0;
    b->stride = own || b->res_from_e ? 1 : 2;
    if (b->res_from_e) {
        if (!(x = data_input(m, res, 0))) return 0;
    } else if (b->stride == 1) {
        x = res;
    } else if (!read_pool(m, res, input, &x, &extra)) {
        return 0;
    }
    if (!is_pointwise(m, conv, F_NONE, 1)) return 0;
    if (!(dw = data_input(m, conv, 0))) return 0;
    if (strcmp(dw->op, "DepthwiseConv2dNative") != 0)
        return node_fail(m, dw, "is not a DepthwiseConv2dNative");
    if (!window_attrs(m, dw, &stride, &pad) || !(src = data_input(m, dw, 0))) return 0;
    if (stride != (src == x ? b->stride : 1) || pad != NN_SAME)
        return node_fail(m, dw, "is not stride %d, SAME", src == x ? b->stride : 1);
    cd = depthwise_channels(m, dw);
    if (cd < 1 || cd > NN_BLOCK_MAX_C) return node_fail(m, dw, "has no 3x3xCx1 kernel to fuse");
    b->c = kernel_dim(m, conv, 3);
    if (b->c < 1 || b->c > NN_BLOCK_MAX_C) return node_fail(m, conv, "has no 1x1 kernel to fuse");
    b->cin = b->stride == 1 ? b->c : src == x ? cd : b->c - extra;
    if (b->res_from_e) {
        if (src != res) return node_fail(m, dw, "does not read the block's residual %s", res->name);
        if (cd != b->c) return node_fail(m, conv, "does not have the block's %d channels", cd);
        b->cin = kernel_dim(m, res, 2);
        if (b->cin < 1 || b->cin > NN_BLOCK_MAX_C)
            return node_fail(m, res, "has no 1x1 kernel to fuse");
    }
    if (src != x) {
        b->m = cd;
        if (!read_bottleneck(m, src, x, b)) return 0;
    } else if (cd + extra != b->c) {
        return node_fail(m, b->stride == 1 ? dw : add, "does not have the block's %d channels",
                         b->c);
    }
    if (!(k = const_input(m, dw, 1, 4, (const int[]){3, 3, cd, 1})) ||
        !(w = const_input(m, conv, 1, 4, (const int[]){1, 1, cd, b->c})) ||
        !(bias = const_input(m, conv, 2, 1, (const int[]){b->c})))
        return 0;
    b->dw = copy_floats(m, k);
    b->w = copy_floats(m, w);
    b->bias = copy_floats(m, bias);
    if (prelu && !(b->alpha = prelu_slopes(m, relu, 1, b->c))) return 0;
    return b->dw && b->w && b->bias;
}

/* Calls read(m, ctx) on a copy of the model's nodes; read records any error on m->g, which is
 * returned. */
typedef void (*gm_reader)(gm *m, void *ctx);
static int read_nodes(const nn_graph_model *model, gm_reader read, void *ctx, fg_error *err)
{
    gm m;
    int rc;
    if ((rc = gm_begin(&m, model, 1, err))) return rc;
    read(&m, ctx);
    rc = nn_graph_error(m.g, err);
    gm_free(&m);
    return rc;
}

/* The node called name, or NULL with the error recorded. */
static gm_node *named_node(gm *m, const char *name)
{
    gm_node *n = find_node(m, name);
    if (!n) nn_graph_fail(m->g, FG_EMODEL_CORRUPT, "%s: no node named %s", m->what, name);
    return n;
}

typedef struct blocks_request {
    const char *input;
    const char *const *relus;
    int n;
    nn_block *out;
} blocks_request;

static void read_blocks(gm *m, void *ctx)
{
    const blocks_request *r = ctx;
    for (int i = 0; i < r->n; i++) {
        gm_node *relu = named_node(m, r->relus[i]);
        if (!relu || !read_block(m, relu, i ? r->relus[i - 1] : r->input, &r->out[i])) break;
    }
}

int nn_graph_model_read_blocks(const nn_graph_model *m, const char *input, const char *const *relus,
                               int n, nn_block *out, fg_error *err)
{
    blocks_request r = {input, relus, n, out};
    int rc;

    memset(out, 0, sizeof *out * (size_t)(n > 0 ? n : 0));
    rc = read_nodes(m, read_blocks, &r, err);
    if (rc)
        for (int i = 0; i < n; i++)
            nn_block_free(&out[i]);
    return rc;
}

/* ---- direct convolutions ------------------------------------------------------------------ */

typedef struct conv_request {
    const char *input, *name;
    nn_conv *out;
} conv_request;

/* The _FusedConv2D named name, with its fused ops and window; NULL with the error recorded. */
static gm_node *fused_conv(gm *m, const char *name, fused *f, int *stride, nn_padding *pad)
{
    gm_node *n = named_node(m, name);
    if (!n) return NULL;
    if (strcmp(n->op, "_FusedConv2D") != 0) {
        node_fail(m, n, "is not a _FusedConv2D");
        return NULL;
    }
    return fused_attrs(m, n, f) && window_attrs(m, n, stride, pad) ? n : NULL;
}

/* 1 when n reads the node named input; else 0 with the error recorded. */
static int reads_node(gm *m, gm_node *n, const char *input)
{
    gm_node *x = data_input(m, n, 0);
    if (!x) return 0;
    if (strcmp(x->name, input) != 0) return node_fail(m, n, "does not read %s", input);
    return 1;
}

/* Checks that the node is a SAME-padded convolution with a bias and a ReLU or PReLU reading
 * `input`, and copies its weights. */
static void read_conv(gm *m, void *ctx)
{
    const conv_request *r = ctx;
    gm_node *n, *kn;
    const nn_tensor *kt, *k, *bias;
    fused f;
    nn_padding pad;
    int stride;

    if (!(n = fused_conv(m, r->name, &f, &stride, &pad))) return;
    if (!f.bias || (f.act != F_RELU && f.act != F_PRELU)) {
        node_fail(m, n, "is not a convolution with a bias and a ReLU or a Prelu");
        return;
    }
    if (pad != NN_SAME) {
        node_fail(m, n, "is not SAME padded");
        return;
    }
    if (!reads_node(m, n, r->input)) return;
    kn = data_input(m, n, 1);
    kt = kn ? nn_weights_find(m->w, kn->name) : NULL;
    if (!kt || kt->rank != 4 || kt->shape[0] != kt->shape[1] || kt->shape[0] < 1 ||
        kt->shape[0] > NN_CONV_MAX_K || kt->shape[2] < 1 || kt->shape[2] > NN_CONV_MAX_C ||
        kt->shape[3] < 1 || kt->shape[3] > NN_CONV_MAX_C) {
        node_fail(m, n, "has no k x k x cin x cout kernel (k <= %d, channels <= %d)", NN_CONV_MAX_K,
                  NN_CONV_MAX_C);
        return;
    }
    if (!(k = const_input(m, n, 1, 4, kt->shape)) ||
        !(bias = const_input(m, n, 2, 1, (const int[]){kt->shape[3]})))
        return;
    r->out->k = kt->shape[0];
    r->out->stride = stride;
    r->out->cin = kt->shape[2];
    r->out->cout = kt->shape[3];
    r->out->w = copy_floats(m, k);
    r->out->bias = copy_floats(m, bias);
    if (f.act == F_PRELU) r->out->alpha = prelu_slopes(m, n, 3, r->out->cout);
}

int nn_graph_model_read_conv(const nn_graph_model *m, const char *input, const char *name,
                             nn_conv *out, fg_error *err)
{
    conv_request r = {input, name, out};
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = read_nodes(m, read_conv, &r, err))) nn_conv_free(out);
    return rc;
}

/* ---- heads to one pixel ------------------------------------------------------------------- */

typedef struct head_request {
    const char *input, *name;
    int h, w;
    nn_dense *out;
} head_request;

/* Checks that the node is a VALID convolution with a bias only whose kernel covers its h x w
 * input (one output pixel, whatever the stride), and makes the product of its weights. */
static void read_head(gm *m, void *ctx)
{
    const head_request *r = ctx;
    gm_node *n, *kn;
    const nn_tensor *kt, *k, *bias;
    fg_error err;
    fused f;
    nn_padding pad;
    int stride, rc;

    if (!(n = fused_conv(m, r->name, &f, &stride, &pad))) return;
    (void)stride;
    if (!f.bias || f.act != F_NONE || pad != NN_VALID) {
        node_fail(m, n, "is not a VALID convolution with a bias only");
        return;
    }
    if (!reads_node(m, n, r->input)) return;
    kn = data_input(m, n, 1);
    kt = kn ? nn_weights_find(m->w, kn->name) : NULL;
    if (!kt || kt->rank != 4 || kt->shape[0] != r->h || kt->shape[1] != r->w || kt->shape[2] < 1 ||
        kt->shape[3] < 1) {
        node_fail(m, n, "has no %d x %d x cin x cout kernel", r->h, r->w);
        return;
    }
    if (!(k = const_input(m, n, 1, 4, kt->shape)) ||
        !(bias = const_input(m, n, 2, 1, (const int[]){kt->shape[3]})))
        return;
    rc = nn_dense_init(r->out, k->data, bias->data, r->h * r->w * kt->shape[2], kt->shape[3], &err);
    if (rc) nn_graph_fail(m->g, rc, "%s", err.message);
}

int nn_graph_model_read_head(const nn_graph_model *m, const char *input, const char *name, int h,
                             int w, nn_dense *out, fg_error *err)
{
    head_request r = {input, name, h, w, out};
    int rc;

    memset(out, 0, sizeof *out);
    if (h < 1 || w < 1 || h > NN_CONV_MAX_K || w > NN_CONV_MAX_K)
        return fg_fail(err, FG_EINVAL, "%s: a head to one pixel from %dx%d", name, h, w);
    if ((rc = read_nodes(m, read_head, &r, err))) nn_dense_free(out);
    return rc;
}
