/*
 * face_resnet.c - face-api's faceRecognitionNet: dlib's ResNet-34 variant, 150x150 -> 128-d.
 * ARCH.md section 2. Each "convLayer" is conv + bias followed by a per-channel scale (folded
 * batch norm); the scale is folded into the conv weights here so every layer is one XNNPACK
 * convolution with a fused ReLU.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 150

struct fgm_resnet {
    nn_runtime *rt;
};

static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};

/* conv + bias, then * scale + shift, folded: W' = W * s, b' = b * s + t. */
static nn_t conv_layer(nn_builder *b, nn_t x, const char *prefix, int k, int stride, nn_padding pad,
                       nn_act act)
{
    const nn_tensor *f = nn_need(b, NN_SHAPE(k, k, x.c, NN_ANY), "%s/conv/filters", prefix);
    int cout = f ? f->shape[3] : 0;
    const nn_tensor *bias = nn_need(b, NN_SHAPE(cout), "%s/conv/bias", prefix);
    const nn_tensor *scale = nn_need(b, NN_SHAPE(cout), "%s/scale/weights", prefix);
    const nn_tensor *shift = nn_need(b, NN_SHAPE(cout), "%s/scale/biases", prefix);
    float *filter, *folded_bias;
    nn_t y = {0, 0, 0, 0};

    if (!shift) return y;
    filter = malloc(f->count * sizeof *filter);
    folded_bias = malloc((size_t)cout * sizeof *folded_bias);
    if (!filter || !folded_bias) {
        free(filter);
        free(folded_bias);
        nn_graph_fail(b->g, FG_ENOMEM, "out of memory building the recognition net");
        return y;
    }
    for (size_t i = 0; i < f->count; i++)
        filter[i] = f->data[i] * scale->data[i % cout];
    for (int o = 0; o < cout; o++)
        folded_bias[o] = bias->data[o] * scale->data[o] + shift->data[o];
    y = nn_conv2d(b->g, x, filter, k, k, cout, folded_bias, stride, pad, act);
    free(filter);
    free(folded_bias);
    return y;
}

static nn_t residual(nn_builder *b, nn_t x, const char *prefix)
{
    char p1[96], p2[96];
    snprintf(p1, sizeof p1, "%s/conv1", prefix);
    snprintf(p2, sizeof p2, "%s/conv2", prefix);
    nn_t out = conv_layer(b, x, p1, 3, 1, NN_SAME, NN_ACT_RELU);
    out = conv_layer(b, out, p2, 3, 1, NN_SAME, NN_ACT_NONE);
    return nn_add(b->g, out, x, NN_ACT_RELU);
}

static nn_t residual_down(nn_builder *b, nn_t x, const char *prefix)
{
    char p1[96], p2[96];
    snprintf(p1, sizeof p1, "%s/conv1", prefix);
    snprintf(p2, sizeof p2, "%s/conv2", prefix);
    nn_t out = conv_layer(b, x, p1, 3, 2, NN_VALID, NN_ACT_RELU);
    out = conv_layer(b, out, p2, 3, 1, NN_SAME, NN_ACT_NONE);
    nn_t pooled = nn_avgpool(b->g, x, 2, 2);
    if (nn_graph_status(b->g) != FG_OK) return out;
    /* face-api zero-pads the conv branch at the bottom/right when it came out smaller, and
     * the shortcut with zero channels when the width grows. */
    if (out.h < pooled.h || out.w < pooled.w)
        out = nn_pad(b->g, out, 0, pooled.h - out.h, 0, pooled.w - out.w, 0, 0, 0.0f);
    if (pooled.c < out.c) pooled = nn_pad(b->g, pooled, 0, 0, 0, 0, 0, out.c - pooled.c, 0.0f);
    return nn_add(b->g, pooled, out, NN_ACT_RELU);
}

static void build(nn_builder *b, void *ctx)
{
    const nn_tensor *fc;
    nn_graph_set_batch(b->g, *(const int *)ctx);
    nn_t x = nn_input(b->g, INPUT_SIZE, INPUT_SIZE, 3);
    x = conv_layer(b, x, "conv32_down", 7, 2, NN_VALID, NN_ACT_RELU);
    x = nn_maxpool(b->g, x, 3, 2, NN_VALID);
    x = residual(b, x, "conv32_1");
    x = residual(b, x, "conv32_2");
    x = residual(b, x, "conv32_3");
    x = residual_down(b, x, "conv64_down");
    x = residual(b, x, "conv64_1");
    x = residual(b, x, "conv64_2");
    x = residual(b, x, "conv64_3");
    x = residual_down(b, x, "conv128_down");
    x = residual(b, x, "conv128_1");
    x = residual(b, x, "conv128_2");
    x = residual_down(b, x, "conv256_down");
    x = residual(b, x, "conv256_1");
    x = residual(b, x, "conv256_2");
    x = residual_down(b, x, "conv256_down_out");
    x = nn_global_avgpool(b->g, x);
    if ((fc = nn_need(b, NN_SHAPE(x.c, FG_DESCRIPTOR_DIM), "fc")))
        nn_output(b->g, nn_fc(b->g, x, fc->data, FG_DESCRIPTOR_DIM, NULL, NN_ACT_NONE));
}

int fgm_resnet_open(const char *model_dir, int threads, int batch, fgm_resnet **out, fg_error *err)
{
    fgm_resnet *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return fg_fail(err, FG_ENOMEM, "out of memory building the recognition net");
    rc = nn_model_open(model_dir, "face_recognition_model", 1, threads, build, &batch, &m->rt, err);
    if (rc) {
        fgm_resnet_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_resnet_free(fgm_resnet *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m);
}

int fgm_resnet_batch(const fgm_resnet *m)
{
    return nn_runtime_batch(m->rt);
}

int fgm_resnet_forward(fgm_resnet *m, const float *input, float *out, fg_error *err)
{
    size_t n = (size_t)nn_runtime_batch(m->rt);
    float *in = nn_runtime_input(m->rt);
    if (input != in) memcpy(in, input, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3 * n);
    return fgm_resnet_run(m, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

static float *slot_input(fgm_resnet *m, int slot)
{
    return nn_runtime_input(m->rt) + (size_t)slot * INPUT_SIZE * INPUT_SIZE * 3;
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

int fgm_resnet_run(fgm_resnet *m, float (*out)[FG_DESCRIPTOR_DIM], fg_error *err)
{
    size_t n = (size_t)nn_runtime_batch(m->rt);
    int rc;
    if ((rc = nn_run(m->rt, err))) return rc;
    memcpy(out, nn_runtime_output(m->rt, 0, NULL), sizeof(float) * FG_DESCRIPTOR_DIM * n);
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
    if (nn_runtime_batch(m->rt) != 1) return fg_fail(err, FG_EINVAL, "a batched net, one image");
    fgm_resnet_set_crop(m, 0, crop, w, h);
    return fgm_resnet_run(m, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

int fgm_resnet_describe_chip(fgm_resnet *m, const float *chip, float out[FG_DESCRIPTOR_DIM],
                             fg_error *err)
{
    if (nn_runtime_batch(m->rt) != 1) return fg_fail(err, FG_EINVAL, "a batched net, one image");
    fgm_resnet_set_chip(m, 0, chip);
    return fgm_resnet_run(m, (float(*)[FG_DESCRIPTOR_DIM])out, err);
}

const nn_runtime *fgm_resnet_runtime(const fgm_resnet *m)
{
    return m->rt;
}
