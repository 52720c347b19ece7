/*
 * nn.h - TF.js weight loading and the XNNPACK subgraph builder every network is written on.
 *
 * A network is a builder function (one file in src/models/) that looks up named weights with
 * nn_weights_find, maps them onto graph nodes with nn_conv2d / nn_depthwise / ... once, and
 * turns the graph into an nn_runtime. The hot path only fills the input and calls nn_run.
 *
 * Graph builders use a sticky error: after the first failure every nn_* node call is a no-op
 * and nn_graph_build reports that first error, so builders need no error check per layer.
 */
#ifndef FG_NN_H
#define FG_NN_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"

/* ---- weights (weights.c) ---------------------------------------------------------------- */

/* Bytes held in memory (a model file, a weight shard). */
typedef struct nn_blob {
    const unsigned char *data;
    size_t size;
} nn_blob;

typedef struct nn_tensor {
    const char *name;
    int rank;
    int shape[4];
    size_t count; /* product of shape */
    float *data;  /* dequantised float32 (int32 tensors are stored as their float value) */
} nn_tensor;

typedef struct nn_weights {
    nn_tensor *tensors;
    size_t count;
    float *values; /* one allocation behind every tensor's data */
    char *names;   /* one allocation behind every tensor's name */
} nn_weights;

/* Loads `<model_dir>/<model>-weights_manifest.json` and its shards, verifying the pinned
 * SHA-256 of every file (see weights.c), and dequantises weights exactly as TF.js does:
 * uint8/uint16 w = (float)((double)q * scale + min), float16 exactly. model is e.g.
 * "face_recognition_model". */
int nn_weights_load(const char *model_dir, const char *model, nn_weights *out, fg_error *err);

/* The parsing behind nn_weights_load, on a manifest held in memory: read_shard(ctx, file, ...)
 * supplies each shard the manifest names (malloc'd bytes the parser frees). manifest_file names
 * it in messages. The fuzz harness (tests/fuzz/fuzz-weights.c) drives it. */
typedef int (*nn_shard_reader)(void *ctx, const char *file, unsigned char **data, size_t *size,
                               fg_error *err);
int nn_weights_parse(const char *manifest, size_t manifest_size, const char *manifest_file,
                     nn_shard_reader read_shard, void *ctx, nn_weights *out, fg_error *err);

/* The tensor called name, or NULL. */
const nn_tensor *nn_weights_find(const nn_weights *w, const char *name);

/* An IEEE half as a float, exactly (subnormals, infinities and NaN included). */
float nn_half_to_float(uint16_t h);

void nn_weights_free(nn_weights *w);

/* ---- graph (graph.c) -------------------------------------------------------------------- */

typedef struct nn_graph nn_graph;
typedef struct nn_runtime nn_runtime;

/* A value in the graph: NHWC, batch 1. Vectors are 1 x 1 x c. */
typedef struct nn_t {
    uint32_t id;
    int h, w, c;
} nn_t;

typedef enum nn_padding {
    NN_VALID, /* no padding */
    NN_SAME,  /* TensorFlow 'same': out = ceil(in/s), extra row/column at the bottom/right */
} nn_padding;

typedef enum nn_act {
    NN_ACT_NONE,
    NN_ACT_RELU,
    NN_ACT_RELU6,
} nn_act;

/* A graph with num_outputs outputs (at most NN_MAX_OUTPUTS); NULL when out of memory. */
#define NN_MAX_OUTPUTS 16
#define NN_MAX_INPUTS 4
nn_graph *nn_graph_new(int num_outputs);
/* Frees the graph and every weight copy it made. NULL is a no-op. */
void nn_graph_free(nn_graph *g);
/* The first error recorded by a builder call (FG_OK if none). */
/* The graph's first error into *err (when set); returns its code (FG_OK: none). */
int nn_graph_error(const nn_graph *g, fg_error *err);
int nn_graph_status(const nn_graph *g);
/* Records an error (with this message) unless one is already recorded: every later node call
 * is a no-op and nn_graph_build reports it. Returns the graph's first error code. */
int nn_graph_fail(nn_graph *g, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Images per run (default 1), before nn_input: every activation gets this leading dimension and
 * the runtime's input and outputs hold this many images one after the other. */
void nn_graph_set_batch(nn_graph *g, int batch);
/* The graph's next input (0, 1, ... in call order, at most NN_MAX_INPUTS), before the nodes
 * that use it; a graph has at least one. */
nn_t nn_input(nn_graph *g, int h, int w, int c);
/* Marks a value as an output; outputs are numbered 0, 1, ... in call order, and exactly
 * num_outputs of them must be marked. A value cannot be both input and output. */
void nn_output(nn_graph *g, nn_t t);

/* conv2d with TF filters [kh, kw, cin, cout] (HWIO) and optional bias [cout] (NULL = 0). */
nn_t nn_conv2d(nn_graph *g, nn_t x, const float *filter_hwio, int kh, int kw, int cout,
               const float *bias, int stride, nn_padding pad, nn_act act);
/* depthwise conv with TF filters [kh, kw, c, 1] and optional bias [c]. */
nn_t nn_depthwise(nn_graph *g, nn_t x, const float *filter_hwc, int kh, int kw, const float *bias,
                  int stride, nn_padding pad, nn_act act);
/* y = x * scale[c] + shift[c] per channel (a 1x1 depthwise conv). */
nn_t nn_affine(nn_graph *g, nn_t x, const float *scale, const float *shift, nn_act act);
/* Fully connected on the flattened value, TF weights [in, out], optional bias [out]. */
nn_t nn_fc(nn_graph *g, nn_t x, const float *w_in_out, int cout, const float *bias, nn_act act);
nn_t nn_maxpool(nn_graph *g, nn_t x, int k, int stride, nn_padding pad);
nn_t nn_avgpool(nn_graph *g, nn_t x, int k, int stride); /* 'valid' */
nn_t nn_global_avgpool(nn_graph *g, nn_t x);             /* -> 1 x 1 x c */
/* Element-wise on two values of one shape, then the activation. */
typedef enum nn_binary_op { NN_ADD, NN_SUB, NN_MUL } nn_binary_op;
nn_t nn_binary(nn_graph *g, nn_binary_op op, nn_t a, nn_t b, nn_act act);
nn_t nn_add(nn_graph *g, nn_t a, nn_t b, nn_act act);
nn_t nn_leaky_relu(nn_graph *g, nn_t x, float slope);
nn_t nn_relu(nn_graph *g, nn_t x);
nn_t nn_clamp(nn_graph *g, nn_t x, float lo, float hi);
nn_t nn_sigmoid(nn_graph *g, nn_t x);
/* x where x > 0, slope[c] * x elsewhere; slope has x.c values. */
nn_t nn_prelu(nn_graph *g, nn_t x, const float *slope);
/* Concatenation along axis 1 (rows), 2 (columns) or 3 (channels); the others must agree. */
nn_t nn_concat(nn_graph *g, int axis, nn_t a, nn_t b);
/* The same values (memory order) seen as h x w x c. */
nn_t nn_reshape(nn_graph *g, nn_t x, int h, int w, int c);
typedef enum nn_resize {
    NN_RESIZE_LEGACY,        /* TF's default: source = dst * in/out, no half-pixel offset */
    NN_RESIZE_HALF_PIXEL,    /* half_pixel_centers */
    NN_RESIZE_ALIGN_CORNERS, /* align_corners */
} nn_resize;
nn_t nn_resize_bilinear(nn_graph *g, nn_t x, int h, int w, nn_resize mode);
/* Permutes the (h, w, c) axes: output axis i is input axis perm[i] (0 = h, 1 = w, 2 = c). */
nn_t nn_transpose(nn_graph *g, nn_t x, const int perm[3]);
/* Constant padding: rows before/after, columns before/after, channels before/after. */
nn_t nn_pad(nn_graph *g, nn_t x, int top, int bottom, int left, int right, int channels_before,
            int channels_after, float value);

/* Builds the runtime (XNNPACK packs the weights, so the nn_weights may be freed afterwards).
 * threads: 1 = the calling thread only, 0 = all cores, n = n threads. The graph can be freed
 * after this returns. */
int nn_graph_build(nn_graph *g, int threads, nn_runtime **out, fg_error *err);

/* The (first) input buffer (batch*h*w*c floats) to fill before nn_run. */
float *nn_runtime_input(nn_runtime *rt);
/* Input i's buffer, NULL past the last; *count (optional) gets its element count. */
float *nn_runtime_input_at(nn_runtime *rt, int i, size_t *count);
/* Output i after nn_run; *count (optional) gets its element count. */
const float *nn_runtime_output(const nn_runtime *rt, int i, size_t *count);
int nn_run(nn_runtime *rt, fg_error *err);
/* Multiply-adds of one run (convolutions, depthwise convolutions, fully connected). */
uint64_t nn_runtime_macs(const nn_runtime *rt);

/* Where a run's time goes, by kind of operator (for the benchmark). */
typedef enum nn_op_kind {
    NN_OP_CONV1X1,   /* 1x1 stride-1 convolution: a plain GEMM */
    NN_OP_CONV,      /* any other convolution: an indirect GEMM over the kernel window */
    NN_OP_DEPTHWISE, /* depthwise convolution */
    NN_OP_FC,        /* fully connected */
    NN_OP_OTHER,     /* pooling, element-wise, padding, ... (no multiply-adds counted) */
    NN_OP_BLOCK,     /* a fused residual block (block.c), outside XNNPACK */
    NN_OP_KINDS
} nn_op_kind;

typedef struct nn_profile {
    long runs;                  /* nn_run calls timed */
    double ms[NN_OP_KINDS];     /* operator time summed over those runs */
    uint64_t macs[NN_OP_KINDS]; /* multiply-adds of one run */
} nn_profile;

/* Runtimes built after nn_set_profiling(1) time every operator of every run (XNNPACK's basic
 * profiling: a clock read per operator). Process-wide; meant for the benchmark, off by default. */
void nn_set_profiling(int on);
/* The kind's name: "1x1 conv", "conv", "depthwise", "fully connected", "other", "fused block". */
const char *nn_op_kind_name(nn_op_kind kind);
/* The runtime's profile so far (runs == 0 when it was built without profiling). */
void nn_runtime_profile(const nn_runtime *rt, nn_profile *out);
/* Adds p's times and multiply-adds to sum (a network run as several runtimes); sum->runs
 * becomes the larger of the two. */
void nn_profile_add(nn_profile *sum, const nn_profile *p);
/* 1 when runtimes are being built with profiling (nn_set_profiling). */
int nn_profiling(void);
/* The images a run takes: the batch the graph was built for (nn_graph_set_batch), or fewer
 * after nn_runtime_set_batch. */
int nn_runtime_batch(const nn_runtime *rt);
/* Runs from now on take the first n images of the inputs (1 <= n <= nn_runtime_batch) and fill
 * the first n of the outputs: XNNPACK reshapes its operators for n (a no-op when n is already the
 * batch of the runs). Each image's outputs are the same as in a run of any other batch. The
 * profile's multiply-adds become those of n images. */
int nn_runtime_set_batch(nn_runtime *rt, int n, fg_error *err);
/* The runtime's pthreadpool_t (shared, see graph.c), or NULL when it runs on the caller's thread;
 * for work done between runtimes on the same threads. */
void *nn_runtime_threadpool(const nn_runtime *rt);
void nn_runtime_free(nn_runtime *rt);

/* ---- TF.js graph models (graph_model.c) ------------------------------------------------- */

typedef struct nn_graph_model_options {
    const char *name;                /* for messages (nn_graph_model_load: "<model>.json") */
    const char *const *outputs;      /* node names: the runtime's outputs 0, 1, ... */
    int num_outputs;                 /* 1 .. NN_MAX_OUTPUTS */
    int input[3];                    /* the expected input's height, width, channels */
    int batch;                       /* images per run (the model's batch must be -1 or it) */
    int threads;                     /* as nn_graph_build */
    const char *input_node;          /* NULL: the Placeholder; else this node's output is the input
                                        (shape `input`), and what it is computed from is not read */
    const char *const *extra_inputs; /* with input_node: further nodes whose outputs are the
                                        runtime's inputs 1, 2, ... (nn_runtime_input_at) */
    int num_extra_inputs;            /* 0 .. NN_MAX_INPUTS - 1 */
    int extra_input[NN_MAX_INPUTS - 1][3]; /* their heights, widths, channels */
} nn_graph_model_options;

/* A TF.js graph model read once: model.json parsed, its weight files read (each checked against
 * its pinned SHA-256, weights.c) and decoded, its nodes indexed. Runtimes, chains of fused
 * blocks and direct convolutions are then made from it without reading the files again (a net
 * run in stages needs several). model is e.g. "blazeface"; a missing, tampered or malformed
 * file is an error naming it. */
typedef struct nn_graph_model nn_graph_model;
int nn_graph_model_open(const char *model_dir, const char *model, nn_graph_model **out,
                        fg_error *err);
/* The same from memory, with no file access and no hash check: shards are the weight files in
 * the order the manifest names them; what names the model in messages. */
int nn_graph_model_open_parsed(const void *json, size_t json_size, const nn_blob *shards,
                               size_t nshards, const char *what, nn_graph_model **out,
                               fg_error *err);
void nn_graph_model_close(nn_graph_model *m);
/* "<model>.json", or the name it was opened from memory with: for messages. */
const char *nn_graph_model_name(const nn_graph_model *m);

/* Translates a graph model into one XNNPACK runtime computing opts->outputs from its input (a
 * Placeholder [N, H, W, C], or opts->input_node and any opts->extra_inputs). Only the nodes the
 * outputs need are translated; constant subexpressions are evaluated at load time. An unsupported
 * op, attribute or shape is a model_corrupt error naming the node and op. opts->name is not used
 * (the model names itself). */
int nn_graph_model_runtime(const nn_graph_model *m, const nn_graph_model_options *opts,
                           nn_runtime **out, fg_error *err);

/* Translates a TF.js graph model (model.json: modelTopology.node[] + weightsManifest) into one
 * XNNPACK runtime computing opts->outputs from its single input (a Placeholder [N, H, W, C]).
 * Only the nodes the outputs need are translated; constant subexpressions are evaluated at load
 * time. An unsupported op, attribute or shape is a model_corrupt error naming the node and op.
 * From memory, with no file access and no hash check: shards are the weight files in the order
 * the manifest names them. */
int nn_graph_model_parse(const void *json, size_t json_size, const nn_blob *shards, size_t nshards,
                         const nn_graph_model_options *opts, nn_runtime **out, fg_error *err);
/* Reads `<model_dir>/<model>.json` and the weight files it names, each checked against its
 * pinned SHA-256 (weights.c), then nn_graph_model_parse. model is e.g. "blazeface". */
int nn_graph_model_load(const char *model_dir, const char *model,
                        const nn_graph_model_options *opts, nn_runtime **out, fg_error *err);

/* ---- opening a model (model.c) -------------------------------------------------------- */

/* A network's builder maps named weights onto graph nodes. Missing or misshapen weights are the
 * graph's sticky error, so a builder needs one check per weight it dereferences, not per layer. */
typedef struct nn_builder {
    nn_graph *g;
    const nn_weights *w;
    const char *model; /* for messages: "face_landmark_68_model" */
} nn_builder;

/* A tensor shape for nn_need: NN_SHAPE(3, 3, cin, NN_ANY), or NN_SCALAR. */
#define NN_ANY (-1) /* any size along this axis */
typedef struct nn_shape {
    int rank;
    int dims[4];
} nn_shape;
#define NN_SHAPE(...) ((nn_shape){(int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), {__VA_ARGS__}})
#define NN_SCALAR ((nn_shape){0, {0}})

/* The weight named by fmt, which must have exactly `shape` (NN_ANY matches any size). A missing
 * or misshapen tensor is recorded on the graph as a model_corrupt error naming it; returns NULL
 * then, and after any earlier error. */
const nn_tensor *nn_need(nn_builder *b, nn_shape shape, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a model_corrupt error "<model>: <message>" on the graph. Returns 0. */
int nn_builder_fail(nn_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads `<model_dir>/<model>-weights_manifest.json` (nn_weights_load), makes a graph of
 * num_outputs outputs, calls build(b, ctx) to define its nodes, builds the runtime and frees the
 * graph and the weights: the one way a face-api network is opened. */
typedef void (*nn_build_fn)(nn_builder *b, void *ctx);
int nn_model_open(const char *model_dir, const char *model, int num_outputs, int threads,
                  nn_build_fn build, void *ctx, nn_runtime **out, fg_error *err);
/* The same for a network run as several runtimes with work of the caller's between them: one
 * load of the weights, then build(b, i, ctx) defines runtime i (num_outputs[i] outputs) for i =
 * 0 .. parts - 1, in order; a builder may also take weights for that work (nn_need). On error
 * every out[i] is NULL. */
typedef void (*nn_parts_build_fn)(nn_builder *b, int part, void *ctx);
int nn_model_open_parts(const char *model_dir, const char *model, int parts, const int *num_outputs,
                        int threads, nn_parts_build_fn build, void *ctx, nn_runtime **out,
                        fg_error *err);

/* ---- hand-written kernels (rows.c) ------------------------------------------------------ */

/* fn(ctx, y0, y1) over the rows [0, n) in bands on rt's thread pool, or in one call on this
 * thread when rt has no pool. Bands must be independent (each writes only its own rows). */
typedef void (*nn_rows_fn)(void *ctx, int y0, int y1);
void nn_parallel_rows(const nn_runtime *rt, int n, nn_rows_fn fn, void *ctx);
/* The threads of rt's pool (1 when it has none). */
int nn_runtime_threads(const nn_runtime *rt);
/* fn(ctx, band, y0, y1) for `bands` even bands of the rows [0, n), band i on one thread at a
 * time (so it may use scratch of its own), on rt's pool; without a pool, or for one band, one
 * call fn(ctx, 0, 0, n). */
typedef void (*nn_bands_fn)(void *ctx, int band, int y0, int y1);
void nn_parallel_bands(const nn_runtime *rt, int n, int bands, nn_bands_fn fn, void *ctx);

/* ---- fused residual blocks (block.c) --------------------------------------------------- */

#define NN_BLOCK_MAX_C 256
#define NN_BLOCK_RING 4096 /* a bottleneck block's width x m, at most */

/* A residual block, SAME padding, NHWC, one image:
 *   plain (m == 0):  y = act(x + bias + conv1x1(depthwise3x3(x)))
 *   bottleneck:      y = act(x + bias + conv1x1(depthwise3x3(prelu(conv1x1_1(x) + b1))))
 *   strided:         y = act(pad(maxpool2x2(x)) + bias + conv1x1(depthwise3x3 stride 2(x)))
 *   strided bottleneck: y = act(pad(maxpool2x2(x)) + bias
 *                               + conv1x1(depthwise3x3(prelu(conv2x2 stride 2(x) + b1))))
 *   bottleneck with its residual from e (res_from_e): e = prelu(conv1x1_1(x) + b1),
 *                       y = act(e + bias + conv1x1(depthwise3x3(e)))
 * act = ReLU or PReLU. A res_from_e block has stride 1, cin channels in and c = m out (FaceMesh's
 * last blocks before its heads, 128 -> 32). Plain and bottleneck blocks have stride 1 and c
 * channels in and out; a strided one (stride 2, plain or bottleneck) takes an even h x w x cin and
 * gives (h / 2) x (w / 2) x c, its residual the 2x2 max pool of x in the first cin channels and
 * zeros in the c - cin above (cin <= c). BlazeFace's and FaceMesh's blocks are plain or strided,
 * the iris net's bottlenecks; block.c says why they run outside XNNPACK. */
typedef struct nn_block {
    int c;          /* output channels */
    int cin;        /* input channels: c, or at most c for a strided block */
    int stride;     /* 1, or 2 for a strided block */
    int m;          /* a bottleneck's depthwise channels; 0 otherwise */
    float *w1;      /* bottleneck: [stride][stride][cin][m], the first convolution */
    float *b1;      /* bottleneck: [m] */
    float *alpha1;  /* bottleneck: [m], its PReLU slopes */
    float *dw;      /* [3][3][m or cin], the depthwise kernel (no bias) */
    float *w;       /* [m or cin][c], the last 1x1 convolution */
    float *bias;    /* [c] */
    float *alpha;   /* [c], PReLU's slopes; NULL for ReLU */
    int res_from_e; /* 1: a bottleneck whose residual is prelu(conv1x1_1(x) + b1), not x */
} nn_block;

/* The output's height and width for an h x w input. */
void nn_block_output_size(const nn_block *b, int h, int w, int *oh, int *ow);
/* x is h * w * cin floats, y oh * ow * c (nn_block_output_size); they must not overlap. */
void nn_block_run(const nn_block *b, const float *x, float *y, int h, int w);
/* nn_block_run on the threads of rt's pool (in bands of output rows); one thread when rt has
 * none. */
void nn_block_run_on(const nn_block *b, const float *x, float *y, int h, int w,
                     const nn_runtime *rt);
/* The plain C loop nn_block_run falls back on (the tests compare the two). */
void nn_block_run_portable(const nn_block *b, const float *x, float *y, int h, int w);
/* Multiply-adds of one run on an h x w input. */
uint64_t nn_block_macs(const nn_block *b, int h, int w);
/* 0 when the block cannot run on h x w: a bottleneck's depthwise rows (w / stride wide) do not
 * fit the kernel's ring (NN_BLOCK_RING), or a strided block's input is not of even size (where
 * TF's SAME padding and the pool would not line up as block.c assumes). */
int nn_block_fits(const nn_block *b, int h, int w);
void nn_block_free(nn_block *b);

/* Reads a chain of n residual blocks from the open model m: block i ends in the Relu or Prelu node
 * relus[i] and starts from relus[i - 1] (block 0 from the node `input`). Each must be Relu or
 * Prelu(AddV2(r, _FusedConv2D[BiasAdd] 1x1 stride 1 (DepthwiseConv2dNative 3x3 SAME (e)))), either
 * at stride 1 with r = x, or at stride 2 with r = MaxPool 2x2 stride 2 (x), or that max pool padded
 * with zeros in channels (Pad [[0, 0], [0, 0], [0, 0], [0, c - cin]]), or at stride 1 with r = e
 * (res_from_e); e = x (plain: the depthwise at the block's stride) or a bottleneck's
 * _FusedConv2D[BiasAdd, Prelu] (x), 1x1 at stride 1 or 2x2 stride 2 in a strided block (the
 * depthwise then at stride 1); channels <= NN_BLOCK_MAX_C; anything else is a model_corrupt error
 * naming the node. Free each block with nn_block_free. */
int nn_graph_model_read_blocks(const nn_graph_model *m, const char *input, const char *const *relus,
                               int n, nn_block *out, fg_error *err);

/* ---- direct convolutions (conv.c) ----------------------------------------------------- */

#define NN_CONV_MAX_K 16
#define NN_CONV_MAX_C 256

/* y = act(conv(x) + bias), act ReLU or PReLU (per-channel slopes): a k x k kernel, stride
 * `stride`, TF's SAME padding (out = ceil(in / stride)) or VALID (none), cin channels in and cout
 * out, NHWC, one image. The first layer of BlazeFace (5x5 stride 2, 3 -> 24, ReLU), FaceMesh (3x3
 * stride 2, 3 -> 16, PReLU) and the iris net (3x3 stride 2, 3 -> 64, PReLU), and the descriptor's
 * 3x3 convolutions on its 4x4 maps (nn_conv_run_sliced), which conv.c says why it runs outside
 * XNNPACK. */
typedef struct nn_conv {
    int k, stride, cin, cout;
    float *w;     /* [k][k][cin][cout] (HWIO, as TF stores it), or sliced (nn_conv_slice) */
    float *bias;  /* [cout] */
    float *alpha; /* [cout] PReLU slopes, or NULL for ReLU */
    int valid;    /* 1: VALID padding, out = (in - k) / stride + 1; 0: SAME */
    int sliced;   /* 0, or w is in slices of this many output channels (nn_conv_slice) */
} nn_conv;

/* The output's height and width for an h x w input. */
void nn_conv_output_size(const nn_conv *cv, int h, int w, int *oh, int *ow);
/* x is h * w * cin floats, y oh * ow * cout (nn_conv_output_size); they must not overlap. */
void nn_conv_run(const nn_conv *cv, const float *x, float *y, int h, int w);
/* nn_conv_run on the threads of rt's pool (in bands of output rows); one thread when rt has
 * none. */
void nn_conv_run_on(const nn_conv *cv, const float *x, float *y, int h, int w,
                    const nn_runtime *rt);
/* The plain C loop nn_conv_run falls back on (the tests compare the two). */
void nn_conv_run_portable(const nn_conv *cv, const float *x, float *y, int h, int w);
/* Multiply-adds of one run on an h x w input (every tap, as graph.c counts a convolution's). */
uint64_t nn_conv_macs(const nn_conv *cv, int h, int w);
void nn_conv_free(nn_conv *cv);
/* Stores cv's weights in slices of 24 output channels (the last one what is left), [slice][k][k]
 * [cin][its width], each contiguous, for nn_conv_run_sliced; every run reads them so. FG_ENOMEM
 * leaves cv as it was. */
int nn_conv_slice(nn_conv *cv, fg_error *err);
/* Floats of scratch nn_conv_run_sliced needs on `images` h x w inputs. */
size_t nn_conv_sliced_scratch(const nn_conv *cv, int images, int h, int w);
/* y = act(conv(x) + bias + res) (res NULL: none; else the layout of y) on `images` h x w maps one
 * after another, for small maps of large kernels: the windows copied once to a patch matrix in
 * scratch (nn_conv_sliced_scratch), then slice by slice of output channels, in bands of slices on
 * rt's threads (one thread when rt has no pool), each slice's weights prefetched while the one
 * before computes. x, res and y must not overlap. Any weight layout; sliced weights are read in
 * order. */
void nn_conv_run_sliced(const nn_conv *cv, const float *x, const float *res, float *y, int images,
                        int h, int w, float *scratch, const nn_runtime *rt);
/* The plain C loop nn_conv_run_sliced falls back on, one thread (the tests compare the two). */
void nn_conv_run_sliced_portable(const nn_conv *cv, const float *x, const float *res, float *y,
                                 int images, int h, int w);

/* Reads the convolution ending in node `name` of the open model m: a _FusedConv2D [BiasAdd, Relu or
 * Prelu (its alpha cout constants)] with a square k x k kernel (k <= NN_CONV_MAX_K), equal strides,
 * SAME padding, NHWC, no dilation, cin and cout <= NN_CONV_MAX_C, reading the node `input`;
 * anything else is a model_corrupt error naming the node. Free it with nn_conv_free. */
int nn_graph_model_read_conv(const nn_graph_model *m, const char *input, const char *name,
                             nn_conv *out, fg_error *err);

/* ---- Winograd convolutions (winograd.c) ---------------------------------------------- */

/* y = act(conv3x3(x) + bias [+ res]): stride 1, SAME padding, cin channels in and cout out,
 * NHWC, one image, by Winograd's F(2x2, 3x3) or F(4x4, 3x3) (winograd.c says why). */
typedef struct nn_wino {
    int cin, cout;
    int m;       /* outputs a tile side: 2, F(2x2, 3x3), or 4, F(4x4, 3x3) */
    int wide;    /* U in slices of 32 channels, for the AVX-512 products (winograd.c) */
    float *u;    /* the transformed kernel, [(m + 2)^2][cin][cout] stored by slices (winograd.c) */
    float *bias; /* [cout] */
} nn_wino;

/* hwio: the kernel [3][3][cin][cout] as TF stores it; m: 2 or 4 outputs a tile side (anything
 * else is FG_EINVAL). Free with nn_wino_free. */
int nn_wino_init(nn_wino *wc, const float *hwio, const float *bias, int cin, int cout, int m,
                 fg_error *err);
void nn_wino_free(nn_wino *wc);
/* Multiply-adds its products perform: (m + 2)^2 per m x m tile of outputs and channel pair, 16
 * per 2x2 or 36 per 4x4 (the direct convolution it replaces does 36 or 144; the transforms'
 * arithmetic is not counted). */
uint64_t nn_wino_macs(const nn_wino *wc, int h, int w);
/* Floats of scratch one thread needs (a band of tiles, whatever the map's size). */
size_t nn_wino_scratch(const nn_wino *wc);
/* x: h * w * cin floats; res (or NULL) and y: h * w * cout; y overlaps neither. relu: 1 for a
 * ReLU after the sum. Runs on rt's threads in `slots` bands of tiles, or of output channels on
 * small maps (nn_runtime_threads(rt)), scratch holding slots * nn_wino_scratch(wc) floats. */
void nn_wino_run(const nn_wino *wc, const float *x, const float *res, int relu, float *y, int h,
                 int w, float *scratch, int slots, const nn_runtime *rt);
/* The plain C loops nn_wino_run falls back on, one thread (the tests compare the two). */
void nn_wino_run_portable(const nn_wino *wc, const float *x, const float *res, int relu, float *y,
                          int h, int w, float *scratch);

/* ---- heads to one pixel (dense.c) ------------------------------------------------------- */

/* y = bias + x W for x of cin values and y of cout: a k x k VALID convolution on a k x k map
 * (cin = k * k * its channels), a network's last layer (dense.c says why it runs outside
 * XNNPACK). The weights are held in slabs, as float16 when every one is exactly a float16. */
typedef struct nn_dense {
    int cin, cout;
    uint16_t *w16; /* float16 weights, or NULL */
    float *w;      /* float32 weights when w16 is NULL */
    float *bias;   /* [cout rounded up to 8] */
    int simd;      /* the AVX2 kernel runs it (decided once: the F16C check is a CPUID) */
} nn_dense;

/* w_in_out: [cin][cout] (a TF kernel [k][k][c][cout]); bias: [cout]. Free with nn_dense_free. */
int nn_dense_init(nn_dense *d, const float *w_in_out, const float *bias, int cin, int cout,
                  fg_error *err);
void nn_dense_free(nn_dense *d);
/* 1 when the weights are held as float16. */
int nn_dense_is_half(const nn_dense *d);
uint64_t nn_dense_macs(const nn_dense *d);
/* `images` products, x images * cin floats, y images * cout; on rt's threads in bands of output
 * channels (one thread when rt has none). */
void nn_dense_run(const nn_dense *d, const float *x, float *y, int images, const nn_runtime *rt);
/* The plain C loop nn_dense_run falls back on (the tests compare the two). */
void nn_dense_run_portable(const nn_dense *d, const float *x, float *y, int images);

/* Reads the convolution ending in node `name` of the open model m as a head to one pixel: a
 * _FusedConv2D [BiasAdd] (no activation), VALID, NHWC, no dilation, whose kernel covers its
 * input, an h x w map of the node `input` (any stride: one output pixel); anything else is a
 * model_corrupt error naming the node. Free it with nn_dense_free. */
int nn_graph_model_read_head(const nn_graph_model *m, const char *input, const char *name, int h,
                             int w, nn_dense *out, fg_error *err);

/* ---- a graph model with fused stages (staged.c) ----------------------------------------- */

#define NN_STAGED_MAX_CHAINS 8

/* A chain of residual blocks (as nn_graph_model_read_blocks reads them) from an h x w tensor; its
 * strided blocks halve the size on the way. */
typedef struct nn_chain_spec {
    const char *input;       /* the node the chain starts from */
    int h, w;                /* the input's height and width */
    int n;                   /* blocks */
    const char *const *ends; /* the Relu or Prelu node ending each block */
    const char *head;        /* NULL, or a convolution to one pixel from the last block's output
                                (nn_graph_model_read_head) run after it: the chain's end */
} nn_chain_spec;

/* A graph model run as XNNPACK runtimes with the chains' blocks fused between them
 * (nn_block_run_on, on the runtimes' threads); opts as nn_graph_model_runtime's for the whole
 * model, which is only read while opening. A chain whose input is an earlier chain's end (the
 * latest such) starts from it: several chains may branch from one; any other chain's input is
 * computed by a runtime from the previous chain's end (the first chain's from the model's
 * input). When opts->input_node is the first chain's input, the input is that chain's
 * (opts->input its h x w x c) and there is no runtime before it. A last runtime computes the
 * model's outputs from the ends no chain or runtime reads (at most NN_MAX_INPUTS); a chain with a
 * head ends in the head's node. The result is
 * the model's, up to float32 rounding. A chain that is not a chain of residual blocks, or whose
 * input is not h x w x c, is a model_corrupt error naming the node. */
typedef struct nn_staged nn_staged;
int nn_staged_open(const nn_graph_model *m, const nn_graph_model_options *opts,
                   const nn_chain_spec *chains, int nchains, nn_staged **out, fg_error *err);
void nn_staged_free(nn_staged *s);
float *nn_staged_input(nn_staged *s);
int nn_staged_run(nn_staged *s, fg_error *err);
const float *nn_staged_output(const nn_staged *s, int i, size_t *count);
/* The first runtime (its thread pool); the profile of every runtime and chain. */
const nn_runtime *nn_staged_runtime(const nn_staged *s);
void nn_staged_profile(const nn_staged *s, nn_profile *out);

#endif
