/*
 * face_resnet.c - face-api's faceRecognitionNet: dlib's ResNet-34 variant, 150x150 -> 128-d.
 * ARCH.md section 2. Each "convLayer" is conv + bias followed by a per-channel scale (folded
 * batch norm); the scale is folded into the conv weights here so every layer is one
 * convolution (XNNPACK's, or a Winograd one below) with its ReLU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/clock.h"
#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 150

/* The first convolution runs in nn/conv.c (first_conv below) and the 3x3 stride-1 convolutions
 * of the residual stages at 35x35x32, 17x17x64 and 8x8x128 (80% of the multiply-adds) by
 * Winograd's algorithm (nn/winograd.c, stage_tile below), between four XNNPACK runtimes:
 *   conv32_down, runtime 0: max pool                           -> stage 0: conv32_1..3
 *   runtime 1: -> conv64_down's conv1 and its shortcut         -> stage 1: its conv2, conv64_1..3
 *   runtime 2: -> conv128_down's conv1 and its shortcut        -> stage 2: its conv2, conv128_1..2
 *                                                              -> the tail: conv256_down ..
 *                                                                 conv256_down_out
 *   runtime 3: -> global average pool, the fully connected layer.
 * The tail's maps are 4x4 and less (Winograd's tiles would be half empty) but its weights are
 * 17.7 MB: XNNPACK's convolution, pixels outermost, read them from L3 several times per run,
 * which took 3.5 ms for 1.2 ms of multiply-adds. nn_conv_run_sliced reads each weight once.
 * A run takes up to `batch` images (fgm_resnet_run): each convolution runs on all of them before
 * the next, so its weights are read once for the run. */
#define STAGES 3
#define STAGE_MAX_CONVS 7
#define TAIL_BLOCKS 4
#define TAIL_BUFS 6 /* the tail's input, a block's output (two, in turn) and three temporaries */

typedef struct stage {
    int h, w, c;
    int down;   /* 1: convs[0] is a down block's conv2, its residual runtime output 1 */
    int nconvs; /* down + 2 per residual block */
    nn_wino convs[STAGE_MAX_CONVS];
} stage;

/* A block of the tail on an h x w x cin map. Residual: relu(conv2(relu(conv1(x))) + x). Down:
 * conv1 is 3x3 stride 2 VALID, and relu(pad(conv2(relu(conv1(x)))) + shortcut(x)), the conv
 * branch zero-padded at the bottom and right to the shortcut's size as face-api does. */
typedef struct tail_block {
    int down, h, w, cin;
    nn_conv conv1, conv2;
} tail_block;

struct fgm_resnet {
    nn_conv first; /* conv32_down, 7x7 stride 2 VALID, 3 -> 32 (nn/conv.c) */
    float *input;  /* the batch's 150x150x3 images, normalised */
    nn_runtime *rt[STAGES + 1];
    stage stages[STAGES];
    tail_block tail[TAIL_BLOCKS];
    int batch;                   /* images a run takes at most */
    int images;                  /* those of the runs now (the runtimes' batch) */
    int slots;                   /* a Winograd run's bands: the runtimes' threads */
    float *bufs[3];              /* a stage's activations, the batch's */
    uint64_t wino_image_macs;    /* one image's, of the convolutions outside XNNPACK */
    float *scratch;              /* slots * the largest nn_wino_scratch, or the tail's patches */
    float *tail_bufs[TAIL_BUFS]; /* the tail's activations, the batch's */
    int profiling;
    nn_profile wino_profile;
};

static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};

/* conv + bias, then * scale + shift, folded: W' = W * s, b' = b * s + t. The folded filter
 * [k][k][cin][cout] and bias are malloc'd (caller frees); NULL on error (recorded on b). */
static float *folded_conv(nn_builder *b, const char *prefix, int k, int cin, int *cout,
                          float **folded_bias)
{
    const nn_tensor *f = nn_need(b, NN_SHAPE(k, k, cin, NN_ANY), "%s/conv/filters", prefix);
    int n = f ? f->shape[3] : 0;
    const nn_tensor *bias = nn_need(b, NN_SHAPE(n), "%s/conv/bias", prefix);
    const nn_tensor *scale = nn_need(b, NN_SHAPE(n), "%s/scale/weights", prefix);
    const nn_tensor *shift = nn_need(b, NN_SHAPE(n), "%s/scale/biases", prefix);
    float *filter;

    *folded_bias = NULL;
    if (!shift) return NULL;
    filter = malloc(f->count * sizeof *filter);
    *folded_bias = malloc((size_t)n * sizeof **folded_bias);
    if (!filter || !*folded_bias) {
        free(filter);
        free(*folded_bias);
        *folded_bias = NULL;
        nn_graph_fail(b->g, FG_ENOMEM, "out of memory building the recognition net");
        return NULL;
    }
    for (size_t i = 0; i < f->count; i++)
        filter[i] = f->data[i] * scale->data[i % n];
    for (int o = 0; o < n; o++)
        (*folded_bias)[o] = bias->data[o] * scale->data[o] + shift->data[o];
    *cout = n;
    return filter;
}

static nn_t conv_layer(nn_builder *b, nn_t x, const char *prefix, int k, int stride, nn_padding pad,
                       nn_act act)
{
    float *bias, *filter;
    int cout;
    nn_t y = {0, 0, 0, 0};
    if (!(filter = folded_conv(b, prefix, k, x.c, &cout, &bias))) return y;
    y = nn_conv2d(b->g, x, filter, k, k, cout, bias, stride, pad, act);
    free(filter);
    free(bias);
    return y;
}

/* conv32_down (+ ReLU) for nn/conv.c's direct convolution, whose AVX-512 kernel takes 32
 * channels in slices of 32 and 8 pixels: 0.31 ms on one thread against 0.48 for its AVX2 kernel
 * (XNNPACK's, built without AVX-512, and the max pool took 0.69 ms together), the same bits as
 * XNNPACK's (the same sums in the same order). 0 on error (recorded on b). */
static int first_conv(nn_builder *b, nn_conv *cv)
{
    float *bias, *filter = folded_conv(b, "conv32_down", 7, 3, &cv->cout, &bias);
    if (!filter) return 0;
    cv->k = 7, cv->stride = 2, cv->cin = 3, cv->valid = 1;
    cv->w = filter, cv->bias = bias, cv->alpha = NULL;
    return 1;
}

/* Winograd's output tile for a stage of c channels. F(4x4, 3x3) performs 36 multiply-adds per
 * 16 outputs, F(2x2, 3x3) 16 per 4, but its transformed weights are 36 c^2 floats, 2.25 times
 * F(2x2)'s: at 128 channels 2.4 MB a convolution, which the 8x8 stage reads from memory on every
 * run for only 4 tiles, so that stage stays at F(2x2). With 4x4 tiles at 32 and 64 channels the
 * descriptor took 4.04 ms instead of 4.42 (one thread, best of 400 in the pipeline, the two
 * alternated); with 4x4 tiles at 128 channels too, 4.36. */
static int stage_tile(int c)
{
    return c <= 64 ? 4 : 2;
}

/* A residual stage's convolution `prefix`, c channels in and out, for Winograd. */
static void stage_conv(nn_builder *b, const char *prefix, int c, nn_wino *out)
{
    float *bias, *filter;
    int cout;
    fg_error err;
    if (!(filter = folded_conv(b, prefix, 3, c, &cout, &bias))) return;
    if (cout != c)
        nn_builder_fail(b, "%s has %d channels out, not %d", prefix, cout, c);
    else if (nn_wino_init(out, filter, bias, c, c, stage_tile(c), &err))
        nn_graph_fail(b->g, err.code, "%s", err.message);
    free(filter);
    free(bias);
}

/* Stage i's convolutions on x's map: a down block's conv2 first when `down`, then conv1 and
 * conv2 of each of the residual blocks. */
static void read_stage(nn_builder *b, stage *st, nn_t x, int down, const char *down_prefix,
                       const char *const *blocks, int nblocks)
{
    char name[96];
    st->h = x.h, st->w = x.w, st->c = x.c, st->down = down, st->nconvs = 0;
    if (down) {
        snprintf(name, sizeof name, "%s/conv2", down_prefix);
        stage_conv(b, name, x.c, &st->convs[st->nconvs++]);
    }
    for (int i = 0; i < nblocks; i++)
        for (int k = 1; k <= 2; k++) {
            snprintf(name, sizeof name, "%s/conv%d", blocks[i], k);
            stage_conv(b, name, x.c, &st->convs[st->nconvs++]);
        }
}

/* Convolution n (1 or 2) of the tail block `prefix` on cin channels, sliced for
 * nn_conv_run_sliced; conv1 of a down block has stride 2, VALID. */
static void tail_conv(nn_builder *b, const char *prefix, int n, int cin, int down, nn_conv *cv)
{
    char name[96];
    float *bias, *filter;
    int cout;
    fg_error err;
    snprintf(name, sizeof name, "%s/conv%d", prefix, n);
    if (!(filter = folded_conv(b, name, 3, cin, &cout, &bias))) return;
    const int strided = down && n == 1;
    *cv = (nn_conv){3, strided ? 2 : 1, cin, cout, filter, bias, NULL, strided, 0};
    if (nn_conv_slice(cv, &err)) nn_graph_fail(b->g, err.code, "%s", err.message);
}

/* The tail's blocks from x's map on; x becomes the shape of their output. */
static void read_tail(nn_builder *b, fgm_resnet *m, nn_t *x)
{
    static const char *const names[TAIL_BLOCKS] = {"conv256_down", "conv256_1", "conv256_2",
                                                   "conv256_down_out"};
    for (int i = 0; i < TAIL_BLOCKS; i++) {
        tail_block *tb = &m->tail[i];
        int oh, ow;
        tb->down = i == 0 || i == TAIL_BLOCKS - 1;
        tb->h = x->h, tb->w = x->w, tb->cin = x->c;
        tail_conv(b, names[i], 1, x->c, tb->down, &tb->conv1);
        if (nn_graph_status(b->g) != FG_OK) return;
        tail_conv(b, names[i], 2, tb->conv1.cout, 0, &tb->conv2);
        if (nn_graph_status(b->g) != FG_OK) return;
        nn_conv_output_size(&tb->conv1, x->h, x->w, &oh, &ow);
        const int c = tb->conv2.cout;
        if (c != tb->conv1.cout || (!tb->down && c != x->c) || (tb->down && c < x->c)) {
            nn_builder_fail(b, "%s: %d channels in, %d and %d out", names[i], x->c, tb->conv1.cout,
                            c);
            return;
        }
        if (tb->down && (oh > x->h / 2 || ow > x->w / 2 || oh < 1 || ow < 1)) {
            nn_builder_fail(b, "%s: the conv branch is %dx%d, the shortcut %dx%d", names[i], oh, ow,
                            x->h / 2, x->w / 2);
            return;
        }
        if (tb->down) x->h /= 2, x->w /= 2;
        x->c = c;
    }
}

/* A down block's shortcut: x average-pooled 2x2, zero channels added up to c. */
static nn_t shortcut(nn_builder *b, nn_t x, int c)
{
    nn_t pooled = nn_avgpool(b->g, x, 2, 2);
    if (nn_graph_status(b->g) == FG_OK && pooled.c < c)
        pooled = nn_pad(b->g, pooled, 0, 0, 0, 0, 0, c - pooled.c, 0.0f);
    return pooled;
}

/* Runtime 1 or 2: a down block's conv1 (stride 2) and its shortcut, the outputs 0 and 1. */
static nn_t down_half(nn_builder *b, nn_t x, const char *prefix)
{
    char p1[96];
    snprintf(p1, sizeof p1, "%s/conv1", prefix);
    nn_t out = conv_layer(b, x, p1, 3, 2, NN_VALID, NN_ACT_RELU);
    nn_t pooled = shortcut(b, x, out.c);
    if (nn_graph_status(b->g) != FG_OK) return out;
    if (out.h != pooled.h || out.w != pooled.w) {
        nn_builder_fail(b, "%s: the conv branch is %dx%d, the shortcut %dx%d", prefix, out.h, out.w,
                        pooled.h, pooled.w);
        return out;
    }
    nn_output(b->g, out);
    nn_output(b->g, pooled);
    return out;
}

typedef struct build_ctx {
    fgm_resnet *m;
    nn_t next; /* the shape runtime i + 1 takes */
} build_ctx;

static void build(nn_builder *b, int part, void *ctx)
{
    static const char *const s32[] = {"conv32_1", "conv32_2", "conv32_3"};
    static const char *const s64[] = {"conv64_1", "conv64_2", "conv64_3"};
    static const char *const s128[] = {"conv128_1", "conv128_2"};
    build_ctx *c = ctx;
    stage *st = part < STAGES ? &c->m->stages[part] : NULL;
    const nn_tensor *fc;
    nn_t x;

    nn_graph_set_batch(b->g, c->m->batch);
    if (part == 0) {
        int h, w;
        if (!first_conv(b, &c->m->first)) return;
        nn_conv_output_size(&c->m->first, INPUT_SIZE, INPUT_SIZE, &h, &w);
        x = nn_input(b->g, h, w, c->m->first.cout);
        x = nn_maxpool(b->g, x, 3, 2, NN_VALID);
        nn_output(b->g, x);
        read_stage(b, st, x, 0, NULL, s32, 3);
    } else if (part < STAGES) {
        x = nn_input(b->g, c->next.h, c->next.w, c->next.c);
        x = down_half(b, x, part == 1 ? "conv64_down" : "conv128_down");
        if (part == 1) {
            read_stage(b, st, x, 1, "conv64_down", s64, 3);
        } else {
            read_stage(b, st, x, 1, "conv128_down", s128, 2);
            read_tail(b, c->m, &x);
        }
    } else {
        x = nn_input(b->g, c->next.h, c->next.w, c->next.c);
        x = nn_global_avgpool(b->g, x);
        if ((fc = nn_need(b, NN_SHAPE(x.c, FG_DESCRIPTOR_DIM), "fc")))
            nn_output(b->g, nn_fc(b->g, x, fc->data, FG_DESCRIPTOR_DIM, NULL, NN_ACT_NONE));
    }
    c->next = x;
}

/* The largest map of the tail's (floats of the batch) and its largest nn_conv_sliced_scratch. */
static void tail_sizes(fgm_resnet *m, size_t *act, size_t *scratch)
{
    *act = *scratch = 0;
    for (int i = 0; i < TAIL_BLOCKS; i++) {
        const tail_block *tb = &m->tail[i];
        const size_t in = (size_t)tb->h * tb->w * tb->cin, c = (size_t)tb->conv2.cout;
        const size_t s1 = nn_conv_sliced_scratch(&tb->conv1, m->batch, tb->h, tb->w);
        int oh, ow;
        nn_conv_output_size(&tb->conv1, tb->h, tb->w, &oh, &ow);
        const size_t s2 = nn_conv_sliced_scratch(&tb->conv2, m->batch, oh, ow);
        const size_t out = tb->down ? (size_t)(tb->h / 2) * (tb->w / 2) * c : in;
        *act = in > *act ? in : *act;
        *act = out > *act ? out : *act;
        *scratch = s1 > *scratch ? s1 : *scratch;
        *scratch = s2 > *scratch ? s2 : *scratch;
        m->wino_image_macs +=
            nn_conv_macs(&tb->conv1, tb->h, tb->w) + nn_conv_macs(&tb->conv2, oh, ow);
    }
    *act *= (size_t)m->batch;
}

static int alloc_buffers(fgm_resnet *m, fg_error *err)
{
    size_t act = 0, scratch = 0, tail_act, tail_scratch;
    m->slots = nn_runtime_threads(m->rt[0]);
    for (int i = 0; i < STAGES; i++) {
        const stage *st = &m->stages[i];
        const size_t n = (size_t)st->h * st->w * st->c;
        act = n > act ? n : act;
        for (int k = 0; k < st->nconvs; k++) {
            const size_t s = nn_wino_scratch(&st->convs[k]);
            scratch = s > scratch ? s : scratch;
            m->wino_image_macs += nn_wino_macs(&st->convs[k], st->h, st->w);
        }
    }
    tail_sizes(m, &tail_act, &tail_scratch);
    m->wino_image_macs += nn_conv_macs(&m->first, INPUT_SIZE, INPUT_SIZE);
    if (!(m->input = fg_alloc_lines(sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3 * m->batch)))
        return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    act *= (size_t)m->batch;
    scratch *= (size_t)m->slots;
    scratch = tail_scratch > scratch ? tail_scratch : scratch;
    for (int i = 0; i < 3; i++)
        if (!(m->bufs[i] = fg_alloc_lines(sizeof(float) * act)))
            return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    for (int i = 0; i < TAIL_BUFS; i++)
        if (!(m->tail_bufs[i] = fg_alloc_lines(sizeof(float) * tail_act)))
            return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    if (!(m->scratch = fg_alloc_lines(sizeof(float) * scratch)))
        return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    return FG_OK;
}

/* Runs from now on take n images: the runtimes reshaped for n, the profile's multiply-adds those
 * of n. */
static int set_images(fgm_resnet *m, int n, fg_error *err)
{
    int rc;
    if (n < 1 || n > m->batch)
        return fg_fail(err, FG_EINVAL, "%d images for a batch of %d", n, m->batch);
    if (n == m->images) return FG_OK;
    m->images = 0; /* unknown until every runtime is reshaped */
    for (int i = 0; i <= STAGES; i++)
        if ((rc = nn_runtime_set_batch(m->rt[i], n, err))) return rc;
    m->images = n;
    m->wino_profile.macs[NN_OP_CONV] = m->wino_image_macs * (uint64_t)n;
    return FG_OK;
}

int fgm_resnet_open(const char *model_dir, int threads, int batch, fgm_resnet **out, fg_error *err)
{
    static const int outputs[STAGES + 1] = {1, 2, 2, 1};
    fgm_resnet *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    m->batch = m->images = batch > 0 ? batch : 1; /* the runtimes are built for the batch */
    build_ctx ctx = {m, {0, 0, 0, 0}};
    rc = nn_model_open_parts(model_dir, "face_recognition_model", STAGES + 1, outputs, threads,
                             build, &ctx, m->rt, err);
    if (!rc) rc = alloc_buffers(m, err);
    /* Reshaped for one image (a log-in's) now rather than in the first run; images 0 makes
     * set_images count the profile's multiply-adds even for a batch of one. */
    if (!rc) {
        m->images = 0;
        rc = set_images(m, 1, err);
    }
    if (rc) {
        fgm_resnet_free(m);
        return rc;
    }
    m->profiling = nn_profiling();
    *out = m;
    return FG_OK;
}

void fgm_resnet_free(fgm_resnet *m)
{
    if (!m) return;
    for (int i = 0; i <= STAGES; i++)
        nn_runtime_free(m->rt[i]);
    for (int i = 0; i < STAGES; i++)
        for (int k = 0; k < STAGE_MAX_CONVS; k++)
            nn_wino_free(&m->stages[i].convs[k]);
    for (int i = 0; i < TAIL_BLOCKS; i++) {
        nn_conv_free(&m->tail[i].conv1);
        nn_conv_free(&m->tail[i].conv2);
    }
    nn_conv_free(&m->first);
    free(m->input);
    for (int i = 0; i < 3; i++)
        free(m->bufs[i]);
    for (int i = 0; i < TAIL_BUFS; i++)
        free(m->tail_bufs[i]);
    free(m->scratch);
    free(m);
}

/* Convolution k of stage i on the run's images: x, res (or NULL) and y hold one map after
 * another. Image after image, so that the convolution's weights stay in L2 for the next. */
static void run_conv(fgm_resnet *m, int i, int k, const float *x, const float *res, float *y)
{
    const stage *st = &m->stages[i];
    const size_t image = (size_t)st->h * st->w * st->c;
    for (int j = 0; j < m->images; j++)
        nn_wino_run(&st->convs[k], x + image * j, res ? res + image * j : NULL, 1, y + image * j,
                    st->h, st->w, m->scratch, m->slots, m->rt[i]);
}

/* Stage i on the run's images: x its input (or, for a down block, its conv1's output, with res
 * the shortcut), y where the last block writes. */
static void run_stage(fgm_resnet *m, int i, const float *x, const float *res, float *y)
{
    const stage *st = &m->stages[i];
    int k = 0, next = 0;
    const float *cur = x;
    if (st->down) {
        float *to = st->nconvs == 1 ? y : m->bufs[next++];
        run_conv(m, i, k++, x, res, to);
        cur = to;
    }
    for (; k + 1 < st->nconvs; k += 2) {
        /* t = relu(conv1(cur)); out = relu(conv2(t) + cur). */
        float *t = m->bufs[2], *to = k + 2 == st->nconvs ? y : m->bufs[next];
        run_conv(m, i, k, cur, NULL, t);
        run_conv(m, i, k + 1, t, cur, to);
        cur = to;
        next = 1 - next;
    }
}

/* y (h/2 x w/2 x c) = x (h x w x cin) average-pooled 2x2, channels cin .. c zero: face-api's
 * shortcut. */
static void shortcut_pool(const float *x, int h, int w, int cin, int c, float *y)
{
    for (int py = 0; py < h / 2; py++)
        for (int px = 0; px < w / 2; px++) {
            const float *a = x + ((size_t)(2 * py) * w + 2 * px) * cin, *b = a + (size_t)w * cin;
            float *q = y + ((size_t)py * (w / 2) + px) * c;
            for (int i = 0; i < cin; i++)
                q[i] = (a[i] + a[cin + i] + b[i] + b[cin + i]) * 0.25f;
            memset(q + cin, 0, sizeof(float) * (size_t)(c - cin));
        }
}

/* y = relu(y), or the conv branch's oh x ow corner of it replaced by b (h x w x c maps). */
static void join_branch(float *y, const float *b, int h, int w, int oh, int ow, int c)
{
    for (int py = 0; py < h; py++)
        for (int px = 0; px < w; px++) {
            float *q = y + ((size_t)py * w + px) * c;
            if (py < oh && px < ow)
                memcpy(q, b + ((size_t)py * ow + px) * c, sizeof(float) * (size_t)c);
            else
                for (int i = 0; i < c; i++)
                    q[i] = q[i] > 0.0f ? q[i] : 0.0f;
        }
}

/* Block tb of the tail on the batch's maps x, into y; t: three temporaries. Each convolution
 * runs once on the whole batch, so its weights are read once. */
static void run_tail_block(fgm_resnet *m, const tail_block *tb, const float *x, float *y,
                           float *const t[3])
{
    const nn_runtime *rt = m->rt[STAGES];
    const int n = m->images, c = tb->conv2.cout, ph = tb->h / 2, pw = tb->w / 2;
    int oh, ow;
    nn_conv_output_size(&tb->conv1, tb->h, tb->w, &oh, &ow);
    nn_conv_run_sliced(&tb->conv1, x, NULL, t[0], n, tb->h, tb->w, m->scratch, rt);
    if (!tb->down) {
        nn_conv_run_sliced(&tb->conv2, t[0], x, y, n, oh, ow, m->scratch, rt);
        return;
    }
    /* y = the shortcut, its oh x ow corner (t[1]) the residual of conv2 (+ ReLU) into t[2]; the
     * rest of y is the ReLU of the shortcut alone (the conv branch's zero padding). */
    const size_t in = (size_t)tb->h * tb->w * tb->cin, out = (size_t)ph * pw * c;
    const size_t corner = (size_t)oh * ow * c;
    for (int k = 0; k < n; k++) {
        shortcut_pool(x + in * k, tb->h, tb->w, tb->cin, c, y + out * k);
        for (int r = 0; r < oh; r++)
            memcpy(t[1] + corner * k + (size_t)r * ow * c, y + out * k + (size_t)r * pw * c,
                   sizeof(float) * (size_t)ow * c);
    }
    nn_conv_run_sliced(&tb->conv2, t[0], t[1], t[2], n, oh, ow, m->scratch, rt);
    for (int k = 0; k < n; k++)
        join_branch(y + out * k, t[2] + corner * k, ph, pw, oh, ow, c);
}

/* The tail on the batch: x (tail_bufs[0]) into y. */
static void run_tail(fgm_resnet *m, const float *x, float *y)
{
    float *const *b = m->tail_bufs, *const t[3] = {b[3], b[4], b[5]};
    for (int i = 0; i < TAIL_BLOCKS; i++) {
        float *to = i + 1 == TAIL_BLOCKS ? y : b[1 + i % 2];
        run_tail_block(m, &m->tail[i], x, to, t);
        x = to;
    }
}

fgi_runner fgm_resnet_runner(const fgm_resnet *m)
{
    return fgm_runner(m->rt[0]);
}

int fgm_resnet_forward(fgm_resnet *m, const float *input, float *out, fg_error *err)
{
    size_t n = (size_t)m->batch;
    if (input != m->input) memcpy(m->input, input, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3 * n);
    return fgm_resnet_run(m, m->batch, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

static float *slot_input(fgm_resnet *m, int slot)
{
    return m->input + (size_t)slot * INPUT_SIZE * INPUT_SIZE * 3;
}

void fgm_resnet_set_crop(fgm_resnet *m, int slot, const uint8_t *crop, int w, int h)
{
    float *in = slot_input(m, slot);
    fgi_to_batch_tensor(crop, w, h, INPUT_SIZE, 1, in);
    fgm_normalize(in, INPUT_SIZE * INPUT_SIZE, mean_rgb, 1);
}

void fgm_resnet_set_chip(fgm_resnet *m, int slot, const float *chip)
{
    float *in = slot_input(m, slot);
    memcpy(in, chip, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3);
    fgm_normalize(in, INPUT_SIZE * INPUT_SIZE, mean_rgb, 1);
}

/* conv32_down on the run's images into runtime 0's input; its time added to *ms when profiling. */
static void run_first(fgm_resnet *m, double *ms)
{
    const double start = m->profiling ? fg_monotonic() : 0;
    const size_t in = (size_t)INPUT_SIZE * INPUT_SIZE * 3;
    size_t out;
    float *y = nn_runtime_input_at(m->rt[0], 0, &out);
    out /= (size_t)m->batch;
    for (int j = 0; j < m->images; j++)
        nn_conv_run_on(&m->first, m->input + in * j, y + out * j, INPUT_SIZE, INPUT_SIZE, m->rt[0]);
    if (m->profiling) *ms += fg_monotonic() - start;
}

int fgm_resnet_run(fgm_resnet *m, int images, float (*out)[FG_DESCRIPTOR_DIM], fg_error *err)
{
    double wino = 0;
    int rc;
    if ((rc = set_images(m, images, err))) return rc;
    const size_t n = (size_t)images;
    run_first(m, &wino);
    for (int i = 0; i <= STAGES; i++) {
        if ((rc = nn_run(m->rt[i], err))) return rc;
        if (i == STAGES) break;
        const stage *st = &m->stages[i];
        const float *x = nn_runtime_output(m->rt[i], 0, NULL);
        const float *res = st->down ? nn_runtime_output(m->rt[i], 1, NULL) : NULL;
        float *y = nn_runtime_input(m->rt[i + 1]);
        const double start = m->profiling ? fg_monotonic() : 0;
        /* The last stage's outputs are the tail's input. */
        float *to = i + 1 < STAGES ? y : m->tail_bufs[0];
        run_stage(m, i, x, res, to);
        if (i + 1 == STAGES) run_tail(m, to, y);
        if (m->profiling) wino += fg_monotonic() - start;
    }
    if (m->profiling) {
        m->wino_profile.ms[NN_OP_CONV] += wino * 1e3;
        m->wino_profile.runs++;
    }
    memcpy(out, nn_runtime_output(m->rt[STAGES], 0, NULL), sizeof(float) * FG_DESCRIPTOR_DIM * n);
    return FG_OK;
}

int fgm_resnet_describe_crop(fgm_resnet *m, const uint8_t *crop, int w, int h,
                             float out[FG_DESCRIPTOR_DIM], fg_error *err)
{
    if (w <= 0 || h <= 0) {
        /* face-api returns 128 zeros for an empty crop. */
        memset(out, 0, sizeof(float) * FG_DESCRIPTOR_DIM);
        return FG_OK;
    }
    fgm_resnet_set_crop(m, 0, crop, w, h);
    return fgm_resnet_run(m, 1, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

int fgm_resnet_describe_chip(fgm_resnet *m, const float *chip, float out[FG_DESCRIPTOR_DIM],
                             fg_error *err)
{
    fgm_resnet_set_chip(m, 0, chip);
    return fgm_resnet_run(m, 1, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

void fgm_resnet_profile(const fgm_resnet *m, nn_profile *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i <= STAGES; i++) {
        nn_profile p;
        nn_runtime_profile(m->rt[i], &p);
        nn_profile_add(out, &p);
    }
    nn_profile_add(out, &m->wino_profile);
}
