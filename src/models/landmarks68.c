/*
 * landmarks68.c - face-api's faceLandmark68Net: four dense blocks of separable convs on a
 * 112x112 crop, then a 256 -> 136 fully connected layer. ARCH.md section 3.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 112
#define OUTPUTS (2 * FG_LANDMARKS)

struct fgm_landmarks {
    nn_runtime *rt;
};

static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};

/* Separable conv: depthwise 3x3 (no bias), pointwise 1x1 + bias, no activation. */
static nn_t sep(nn_builder *b, nn_t x, const char *block, int conv, int stride, nn_act act)
{
    const nn_tensor *dw =
        nn_need(b, NN_SHAPE(3, 3, x.c, 1), "%s/conv%d/depthwise_filter", block, conv);
    const nn_tensor *pw =
        nn_need(b, NN_SHAPE(1, 1, x.c, NN_ANY), "%s/conv%d/pointwise_filter", block, conv);
    const nn_tensor *bias =
        pw ? nn_need(b, NN_SHAPE(pw->shape[3]), "%s/conv%d/bias", block, conv) : NULL;
    nn_t none = {0, 0, 0, 0};
    if (!dw || !bias) return none;
    nn_t y = nn_depthwise(b->g, x, dw->data, 3, 3, NULL, stride, NN_SAME, NN_ACT_NONE);
    return nn_conv2d(b->g, y, pw->data, 1, 1, pw->shape[3], bias->data, 1, NN_VALID, act);
}

/* denseBlock4: downsample by 2, then three separable convs on running sums. */
static nn_t dense_block(nn_builder *b, nn_t x, const char *block, int is_first)
{
    nn_t out1;
    if (is_first) {
        const nn_tensor *f = nn_need(b, NN_SHAPE(3, 3, x.c, NN_ANY), "%s/conv0/filters", block);
        const nn_tensor *bias =
            f ? nn_need(b, NN_SHAPE(f->shape[3]), "%s/conv0/bias", block) : NULL;
        if (!bias) return x;
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

static void build(nn_builder *b, void *ctx)
{
    (void)ctx;
    nn_t x = nn_input(b->g, INPUT_SIZE, INPUT_SIZE, 3);
    x = dense_block(b, x, "dense0", 1);
    x = dense_block(b, x, "dense1", 0);
    x = dense_block(b, x, "dense2", 0);
    x = dense_block(b, x, "dense3", 0);
    x = nn_avgpool(b->g, x, 7, 2); /* 7x7 -> 1x1 */
    const nn_tensor *fw = nn_need(b, NN_SHAPE(x.c, OUTPUTS), "fc/weights");
    const nn_tensor *fb = nn_need(b, NN_SHAPE(OUTPUTS), "fc/bias");
    if (fw && fb) nn_output(b->g, nn_fc(b->g, x, fw->data, OUTPUTS, fb->data, NN_ACT_NONE));
}

int fgm_landmarks_open(const char *model_dir, int threads, fgm_landmarks **out, fg_error *err)
{
    fgm_landmarks *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return fg_fail(err, FG_ENOMEM, "out of memory building the landmark net");
    rc = nn_model_open(model_dir, "face_landmark_68_model", 1, threads, build, NULL, &m->rt, err);
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
