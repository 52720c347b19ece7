/*
 * landmarks68.c - face-api's faceLandmark68Net: four dense blocks of separable convs on a
 * 112x112 crop, then a 256 -> 136 fully connected layer. ARCH.md section 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 112
#define OUTPUTS (2 * FG_LANDMARKS)

struct fgm_landmarks {
    nn_runtime *rt;
};

static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};

typedef struct builder {
    nn_graph *g;
    const nn_weights *w;
    fg_error *err;
    int bad;
} builder;

static const nn_tensor *need(builder *b, const char *prefix, const char *suffix)
{
    char name[128];
    const nn_tensor *t;
    if (b->bad) return NULL;
    snprintf(name, sizeof name, "%s/%s", prefix, suffix);
    if (!(t = nn_weights_need(b->w, name, 0, b->err))) b->bad = 1;
    return t;
}

/* Separable conv: depthwise 3x3 (no bias), pointwise 1x1 + bias, no activation. */
static nn_t sep(builder *b, nn_t x, const char *block, int conv, int stride, nn_act act)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s/conv%d", block, conv);
    const nn_tensor *dw = need(b, prefix, "depthwise_filter");
    const nn_tensor *pw = need(b, prefix, "pointwise_filter");
    const nn_tensor *bias = need(b, prefix, "bias");
    nn_t none = {0, 0, 0, 0};
    if (b->bad) return none;
    if (dw->count != (size_t)9 * x.c || pw->shape[2] != x.c ||
        bias->count != (size_t)pw->shape[3]) {
        fg_fail(b->err, FG_EMODEL_CORRUPT, "landmark model: %s has unexpected shapes", prefix);
        b->bad = 1;
        return none;
    }
    nn_t y = nn_depthwise(b->g, x, dw->data, 3, 3, NULL, stride, NN_SAME, NN_ACT_NONE);
    return nn_conv2d(b->g, y, pw->data, 1, 1, pw->shape[3], bias->data, 1, NN_VALID, act);
}

/* denseBlock4: downsample by 2, then three separable convs on running sums. */
static nn_t dense_block(builder *b, nn_t x, const char *block, int is_first)
{
    nn_t out1;
    if (is_first) {
        const nn_tensor *f = need(b, block, "conv0/filters");
        const nn_tensor *bias = need(b, block, "conv0/bias");
        if (b->bad) return x;
        out1 = nn_conv2d(b->g, x, f->data, 3, 3, f->shape[3], bias->data, 2, NN_SAME, NN_ACT_RELU);
    } else {
        out1 = sep(b, x, block, 0, 2, NN_ACT_RELU);
    }
    nn_t out2 = sep(b, out1, block, 1, 1, NN_ACT_NONE);
    nn_t s12 = nn_add(b->g, out1, out2, NN_ACT_NONE);
    nn_t out3 = sep(b, nn_relu(b->g, s12), block, 2, 1, NN_ACT_NONE);
    nn_t s123 = nn_add(b->g, s12, out3, NN_ACT_NONE);
    nn_t out4 = sep(b, nn_relu(b->g, s123), block, 3, 1, NN_ACT_NONE);
    return nn_add(b->g, s123, out4, NN_ACT_RELU);
}

int fgm_landmarks_open(const char *model_dir, int threads, fgm_landmarks **out, fg_error *err)
{
    nn_weights w;
    fgm_landmarks *m;
    builder b = {0};
    int rc;

    *out = NULL;
    if ((rc = nn_weights_load(model_dir, "face_landmark_68_model", &w, err))) return rc;
    if (!(m = calloc(1, sizeof *m)) || !(b.g = nn_graph_new(1))) {
        free(m);
        nn_weights_free(&w);
        return fg_fail(err, FG_ENOMEM, "out of memory building the landmark net");
    }
    b.w = &w;
    b.err = err;

    nn_t x = nn_input(b.g, INPUT_SIZE, INPUT_SIZE, 3);
    x = dense_block(&b, x, "dense0", 1);
    x = dense_block(&b, x, "dense1", 0);
    x = dense_block(&b, x, "dense2", 0);
    x = dense_block(&b, x, "dense3", 0);
    x = nn_avgpool(b.g, x, 7, 2); /* 7x7 -> 1x1 */
    const nn_tensor *fw = need(&b, "fc", "weights");
    const nn_tensor *fb = need(&b, "fc", "bias");
    if (!b.bad && (fw->count != 256 * OUTPUTS || fb->count != OUTPUTS)) {
        fg_fail(err, FG_EMODEL_CORRUPT, "landmark model: fc has unexpected shapes");
        b.bad = 1;
    }
    if (!b.bad) nn_output(b.g, nn_fc(b.g, x, fw->data, OUTPUTS, fb->data, NN_ACT_NONE));

    rc = b.bad ? (err && err->code ? err->code : FG_EMODEL_CORRUPT)
               : nn_graph_build(b.g, threads, &m->rt, err);
    nn_graph_free(b.g);
    nn_weights_free(&w);
    if (rc) {
        fgm_landmarks_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_landmarks_free(fgm_landmarks *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m);
}

int fgm_landmarks_forward(fgm_landmarks *m, const float *input, const float **output, fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    int rc;
    if (input != in) memcpy(in, input, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3);
    if ((rc = nn_run(m->rt, err))) return rc;
    *output = nn_runtime_output(m->rt, 0, NULL);
    return FG_OK;
}

int fgm_landmarks_detect(fgm_landmarks *m, const uint8_t *crop, int w, int h,
                         fg_point out[FG_LANDMARKS], fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    const float *raw;
    int rc;

    if (w <= 0 || h <= 0) return fg_fail(err, FG_EINVAL, "empty landmark crop %dx%d", w, h);
    fgi_to_batch_tensor(crop, w, h, INPUT_SIZE, 1, in);
    fgm_normalize(in, INPUT_SIZE * INPUT_SIZE, mean_rgb, 1);
    if ((rc = fgm_landmarks_forward(m, in, &raw, err))) return rc;

    /* FaceLandmark68NetBase.postProcess, in float32 like the tfjs ops: the net's output is
     * relative to the padded square; undo a symmetric diff/2 padding (face-api's assumption,
     * although padToSquare put round(diff/2) after) and scale to the crop. */
    double scale = (double)INPUT_SIZE / (double)(w > h ? w : h);
    double dw = w * scale, dh = h * scale;
    float sw = (float)dw, sh = (float)dh;
    float pad_x = dw < dh ? (float)((dh - dw) / 2) : 0.0f;
    float pad_y = dh < dw ? (float)((dw - dh) / 2) : 0.0f;
    for (int i = 0; i < FG_LANDMARKS; i++) {
        float rx = (raw[2 * i] * (float)INPUT_SIZE - pad_x) / sw;
        float ry = (raw[2 * i + 1] * (float)INPUT_SIZE - pad_y) / sh;
        out[i].x = (float)((double)rx * w);
        out[i].y = (float)((double)ry * h);
    }
    return FG_OK;
}

const nn_runtime *fgm_landmarks_runtime(const fgm_landmarks *m)
{
    return m->rt;
}
