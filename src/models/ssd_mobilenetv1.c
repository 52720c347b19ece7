/*
 * ssd_mobilenetv1.c - face-api's SSD MobileNetV1 face detector on a 512x512 input: a
 * MobileNetV1 backbone, eight extra feature layers, six box predictors, then the box decoding
 * and non-maximum suppression of face-api's JavaScript. ARCH.md section 4.
 *
 * The graph ends at the twelve raw predictor convolutions; reshaping and concatenation are
 * plain memory order ((row, col, anchor) per predictor, predictors 0..5), so they are done
 * here rather than by extra graph nodes. Post-processing reproduces face-api's float32 tensor
 * ops and double JavaScript arithmetic operation by operation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 512
#define PREDICTORS 6
#define ANCHORS 5118
#define MAX_RESULTS 100
#define IOU_THRESHOLD 0.5
#define BN_EPSILON 0.0010000000474974513
#define MAX_CHANNELS 1024 /* widest depthwise layer */

/* Feature map side and anchors per cell of each box predictor; 3072+1536+384+96+24+6. */
static const int grid[PREDICTORS] = {32, 16, 8, 4, 2, 1};
static const int per_cell[PREDICTORS] = {3, 6, 6, 6, 6, 6};

/* Output channels of MobilenetV1/Conv2d_<i>_pointwise, i = 0..13. */
static const int backbone_channels[14] = {32,  64,  128, 128, 256, 256,  512,
                                          512, 512, 512, 512, 512, 1024, 1024};

/* Prediction/Conv2d_<k>_pointwise, k = 0..7: kernel, stride, output channels. */
static const struct {
    int k, stride, cout;
} extra_layers[8] = {{1, 1, 256}, {3, 2, 512}, {1, 1, 128}, {3, 2, 256},
                     {1, 1, 128}, {3, 2, 256}, {1, 1, 64},  {3, 2, 128}};

typedef struct ssd_candidate {
    float score;
    int anchor;
} ssd_candidate;

struct fgm_ssd {
    nn_runtime *rt;
    float *anchors;            /* Output/extra_dim: [ANCHORS][ymin, xmin, ymax, xmax] */
    float *box_encodings;      /* [ANCHORS][4], filled by fgm_ssd_forward */
    float *class_logits;       /* [ANCHORS][3] */
    ssd_candidate *candidates; /* [ANCHORS] scratch for detect */
    float (*boxes)[4];         /* [ANCHORS] decoded candidate boxes, scratch for detect */
    int *selected;             /* [MAX_RESULTS] candidate indices kept by NMS */
};

/* What the builder fills besides the graph. */
typedef struct ssd_build {
    fgm_ssd *m;     /* gets the anchors */
    float *scratch; /* room for the largest folded depthwise filter */
} ssd_build;

static const nn_t none = {0, 0, 0, 0};

/* relu6(conv2d(x, weights, 'same') + convolution_bn_offset): the batch norm is pre-folded. */
static nn_t pointwise(nn_builder *b, nn_t x, const char *prefix, int k, int stride, int cout)
{
    const nn_tensor *f = nn_need(b, NN_SHAPE(k, k, x.c, cout), "%s/weights", prefix);
    const nn_tensor *bias = nn_need(b, NN_SHAPE(cout), "%s/convolution_bn_offset", prefix);
    if (!bias) return none;
    return nn_conv2d(b->g, x, f->data, k, k, cout, bias->data, stride, NN_SAME, NN_ACT_RELU6);
}

/* relu6(batchNorm(depthwiseConv2d(x, 'same'))). The batch norm is per channel and linear, so
 * it folds into the filter (w * s) and a bias (beta - mean * s), s = gamma / sqrt(var + eps):
 * one XNNPACK node instead of two passes over the activation. */
static nn_t depthwise(nn_builder *b, ssd_build *sb, nn_t x, const char *prefix, int stride)
{
    size_t c = (size_t)x.c;
    const nn_tensor *f = nn_need(b, NN_SHAPE(3, 3, x.c, 1), "%s/depthwise_weights", prefix);
    const nn_tensor *gamma = nn_need(b, NN_SHAPE(x.c), "%s/BatchNorm/gamma", prefix);
    const nn_tensor *beta = nn_need(b, NN_SHAPE(x.c), "%s/BatchNorm/beta", prefix);
    const nn_tensor *mean = nn_need(b, NN_SHAPE(x.c), "%s/BatchNorm/moving_mean", prefix);
    const nn_tensor *var = nn_need(b, NN_SHAPE(x.c), "%s/BatchNorm/moving_variance", prefix);
    float *filter = sb->scratch, *bias = sb->scratch + 9 * c;
    if (!var) return none;
    if (c > MAX_CHANNELS) return nn_builder_fail(b, "%s is wider than expected", prefix), none;
    for (size_t i = 0; i < c; i++) {
        double s = gamma->data[i] / sqrt((double)var->data[i] + BN_EPSILON);
        for (size_t k = 0; k < 9; k++)
            filter[k * c + i] = (float)(f->data[k * c + i] * s);
        bias[i] = (float)(beta->data[i] - mean->data[i] * s);
    }
    /* nn_depthwise copies the filter and bias, so the scratch can be reused. */
    return nn_depthwise(b->g, x, filter, 3, 3, bias, stride, NN_SAME, NN_ACT_RELU6);
}

/* Box predictor i on feature map x: two 1x1 convs + bias, marked as graph outputs 2i (box
 * encodings, 4 per anchor) and 2i+1 (class logits, 3 per anchor). */
static void predictor(nn_builder *b, nn_t x, int i)
{
    static const char *const heads[2] = {"BoxEncodingPredictor", "ClassPredictor"};
    static const int values[2] = {4, 3};
    for (int h = 0; h < 2; h++) {
        int cout = per_cell[i] * values[h];
        const nn_tensor *f = nn_need(b, NN_SHAPE(1, 1, x.c, cout),
                                     "Prediction/BoxPredictor_%d/%s/weights", i, heads[h]);
        const nn_tensor *bias =
            nn_need(b, NN_SHAPE(cout), "Prediction/BoxPredictor_%d/%s/biases", i, heads[h]);
        if (!bias) return;
        nn_output(b->g,
                  nn_conv2d(b->g, x, f->data, 1, 1, cout, bias->data, 1, NN_VALID, NN_ACT_NONE));
    }
}

static void build(nn_builder *b, void *ctx)
{
    ssd_build *sb = ctx;
    char prefix[64];
    nn_t features[PREDICTORS];
    nn_t x = nn_input(b->g, INPUT_SIZE, INPUT_SIZE, 3);

    /* The anchors are a float32 constant of the model ([1, 5118, 4]); no need to generate them. */
    const nn_tensor *anchors = nn_need(b, NN_SHAPE(1, ANCHORS, 4), "Output/extra_dim");
    if (!anchors) return;
    memcpy(sb->m->anchors, anchors->data, ANCHORS * 4 * sizeof(float));

    x = pointwise(b, x, "MobilenetV1/Conv2d_0_pointwise", 3, 2, backbone_channels[0]);
    for (int i = 1; i <= 13; i++) {
        int stride = (i == 2 || i == 4 || i == 6 || i == 12) ? 2 : 1;
        snprintf(prefix, sizeof prefix, "MobilenetV1/Conv2d_%d_depthwise", i);
        x = depthwise(b, sb, x, prefix, stride);
        snprintf(prefix, sizeof prefix, "MobilenetV1/Conv2d_%d_pointwise", i);
        x = pointwise(b, x, prefix, 1, 1, backbone_channels[i]);
        if (i == 11) features[0] = x;
    }
    features[1] = x;
    for (int k = 0; k < 8; k++) {
        snprintf(prefix, sizeof prefix, "Prediction/Conv2d_%d_pointwise", k);
        x = pointwise(b, x, prefix, extra_layers[k].k, extra_layers[k].stride,
                      extra_layers[k].cout);
        if (k % 2 == 1) features[2 + k / 2] = x;
    }
    for (int i = 0; i < PREDICTORS; i++)
        predictor(b, features[i], i);
}

int fgm_ssd_open(const char *model_dir, int threads, fgm_ssd **out, fg_error *err)
{
    ssd_build sb = {NULL, NULL};
    fgm_ssd *m;
    int rc;

    *out = NULL;
    sb.m = m = calloc(1, sizeof *m);
    sb.scratch = malloc((9 + 1) * MAX_CHANNELS * sizeof(float)); /* dw filter + bias */
    if (m) {
        m->anchors = malloc(ANCHORS * 4 * sizeof(float));
        m->box_encodings = malloc(ANCHORS * 4 * sizeof(float));
        m->class_logits = malloc(ANCHORS * 3 * sizeof(float));
        m->candidates = malloc(ANCHORS * sizeof *m->candidates);
        m->boxes = malloc(ANCHORS * sizeof *m->boxes);
        m->selected = malloc(MAX_RESULTS * sizeof *m->selected);
    }
    if (!m || !sb.scratch || !m->anchors || !m->box_encodings || !m->class_logits ||
        !m->candidates || !m->boxes || !m->selected) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory building the SSD detector");
    } else {
        rc = nn_model_open(model_dir, "ssd_mobilenetv1_model", 2 * PREDICTORS, threads, build, &sb,
                           &m->rt, err);
    }
    free(sb.scratch);
    if (rc) {
        fgm_ssd_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_ssd_free(fgm_ssd *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m->anchors);
    free(m->box_encodings);
    free(m->class_logits);
    free(m->candidates);
    free(m->boxes);
    free(m->selected);
    free(m);
}

int fgm_ssd_forward(fgm_ssd *m, const float *input, const float **box_encodings,
                    const float **class_logits, fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    float *boxes = m->box_encodings, *logits = m->class_logits;
    int rc;

    if (input != in) memcpy(in, input, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3);
    if ((rc = nn_run(m->rt, err))) return rc;
    /* The concatenation along the anchor axis is the outputs back to back. */
    for (int i = 0; i < PREDICTORS; i++) {
        size_t nb, nc;
        const float *pb = nn_runtime_output(m->rt, 2 * i, &nb);
        const float *pc = nn_runtime_output(m->rt, 2 * i + 1, &nc);
        memcpy(boxes, pb, nb * sizeof *boxes);
        memcpy(logits, pc, nc * sizeof *logits);
        boxes += nb;
        logits += nc;
    }
    *box_encodings = m->box_encodings;
    *class_logits = m->class_logits;
    return FG_OK;
}

/* Higher score first; equal scores keep anchor order, as JS's stable Array.sort does. */
static int by_score_desc(const void *pa, const void *pb)
{
    const ssd_candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->anchor > b->anchor) - (a->anchor < b->anchor);
}

/* outputLayer.decodeBoxesLayer for one anchor: every tfjs op rounds to float32, so each step
 * here is one float operation (no FMA contraction: the build uses -ffp-contract=off). exp is
 * taken in double and rounded, as the tfjs CPU kernel's Math.exp is. */
static void decode_box(const float anchor[4], const float enc[4], float box[4])
{
    float ha = anchor[2] - anchor[0], wa = anchor[3] - anchor[1];
    float cya = anchor[0] + ha / 2.0f, cxa = anchor[1] + wa / 2.0f;
    float half_h = (float)exp((double)(enc[2] / 5.0f)) * ha / 2.0f;
    float cy = enc[0] / 10.0f * ha + cya;
    float half_w = (float)exp((double)(enc[3] / 5.0f)) * wa / 2.0f;
    float cx = enc[1] / 10.0f * wa + cxa;
    box[0] = cy - half_h;
    box[1] = cx - half_w;
    box[2] = cy + half_h;
    box[3] = cx + half_w;
}

/* ssdMobilenetv1/nonMaxSuppression.ts IOU(): on min/max-normalised corners, in double. */
static double iou(const float a[4], const float b[4])
{
    double ay0 = fmin(a[0], a[2]), ax0 = fmin(a[1], a[3]);
    double ay1 = fmax(a[0], a[2]), ax1 = fmax(a[1], a[3]);
    double by0 = fmin(b[0], b[2]), bx0 = fmin(b[1], b[3]);
    double by1 = fmax(b[0], b[2]), bx1 = fmax(b[1], b[3]);
    double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
    if (area_a <= 0 || area_b <= 0) return 0.0;
    double inter =
        fmax(fmin(ay1, by1) - fmax(ay0, by0), 0.0) * fmax(fmin(ax1, bx1) - fmax(ax0, bx0), 0.0);
    return inter / (area_a + area_b - inter);
}

/* Scores (sigmoid of logit 1, as the tfjs kernel computes it: double, rounded to float) and
 * the anchors scoring above min_score into m->candidates, in stable score-descending order.
 * Returns their number. Boxes are decoded later, only for the candidates NMS looks at. */
static int collect_candidates(fgm_ssd *m, float min_score)
{
    int n = 0, anchor = 0;
    for (int i = 0; i < PREDICTORS; i++) {
        size_t count;
        const float *logits = nn_runtime_output(m->rt, 2 * i + 1, &count);
        for (size_t k = 0; k < count / 3; k++, anchor++) {
            float score = (float)(1.0 / (1.0 + exp(-(double)logits[3 * k + 1])));
            if ((double)score > (double)min_score) {
                m->candidates[n].score = score;
                m->candidates[n].anchor = anchor;
                n++;
            }
        }
    }
    qsort(m->candidates, (size_t)n, sizeof *m->candidates, by_score_desc);
    return n;
}

/* Finds the box encodings of one anchor in the predictor outputs. */
static const float *encoding_of(const fgm_ssd *m, int anchor)
{
    for (int i = 0; i < PREDICTORS; i++) {
        int n = grid[i] * grid[i] * per_cell[i];
        if (anchor < n) return nn_runtime_output(m->rt, 2 * i, NULL) + 4 * (size_t)anchor;
        anchor -= n;
    }
    return NULL; /* unreachable: anchor < ANCHORS */
}

/* face-api's NMS: each candidate, in score order, is kept unless its IoU with an already kept
 * box exceeds 0.5 (IoU 0 never suppresses); at most MAX_RESULTS are kept. Returns the count;
 * m->selected holds candidate indices in selection (= score) order. */
static int nms(fgm_ssd *m, int candidates)
{
    int kept = 0;
    for (int c = 0; c < candidates && kept < MAX_RESULTS; c++) {
        int suppressed = 0;
        decode_box(m->anchors + 4 * (size_t)m->candidates[c].anchor,
                   encoding_of(m, m->candidates[c].anchor), m->boxes[c]);
        for (int j = kept - 1; j >= 0 && !suppressed; j--)
            suppressed = iou(m->boxes[c], m->boxes[m->selected[j]]) > IOU_THRESHOLD;
        if (!suppressed) m->selected[kept++] = c;
    }
    return kept;
}

int fgm_ssd_detect(fgm_ssd *m, const fg_image *img, float min_score, fgm_detection **out,
                   size_t *count, fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    const size_t values = (size_t)INPUT_SIZE * INPUT_SIZE * 3;
    int rc, candidates, kept;

    *out = NULL;
    *count = 0;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "SSD detector given an empty image");
    /* computeReshapedDimensions: the image's size inside the 512 square, rounded. A side that
     * rounds to 0 (aspect ratio over 1024:1) would make every box infinite: no face there. */
    double w = img->width, h = img->height, scale = INPUT_SIZE / fmax(w, h);
    double reshaped_w = floor(w * scale + 0.5), reshaped_h = floor(h * scale + 0.5);
    if (reshaped_w < 1 || reshaped_h < 1) return FG_OK;

    /* Straight into the runtime's input buffer: no copy. */
    if ((rc = fgi_to_batch_tensor(img->rgb, img->width, img->height, INPUT_SIZE, 0, in)))
        return fg_fail(err, rc, "cannot resize a %dx%d image to the SSD input", img->width,
                       img->height);
    /* tf.sub(tf.div(x, 127.5), 1): two float32 ops, bit-exact in float. */
    for (size_t i = 0; i < values; i++)
        in[i] = in[i] / 127.5f - 1.0f;
    if ((rc = nn_run(m->rt, err))) return rc;

    candidates = collect_candidates(m, min_score);
    kept = nms(m, candidates);
    if (kept == 0) return FG_OK;
    if (!(*out = malloc((size_t)kept * sizeof **out)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %d detections", kept);

    /* SsdMobilenetv1.locateFaces: undo the bottom/right padding with the *rounded* reshaped
     * dimensions, clipping to [0, 1] before that scaling (both face-api behaviours). */
    double pad_x = INPUT_SIZE / reshaped_w, pad_y = INPUT_SIZE / reshaped_h;
    for (int i = 0; i < kept; i++) {
        const float *box = m->boxes[m->selected[i]];
        double top = fmax(0.0, box[0]) * pad_y, bottom = fmin(1.0, box[2]) * pad_y;
        double left = fmax(0.0, box[1]) * pad_x, right = fmin(1.0, box[3]) * pad_x;
        fgm_detection *d = &(*out)[i];
        d->score = m->candidates[m->selected[i]].score;
        /* FaceDetection stores the relative rect rescaled to pixels; relativeBox divides back. */
        d->x = left * w;
        d->y = top * h;
        d->width = (right - left) * w;
        d->height = (bottom - top) * h;
        d->rel_x = d->x * (1.0 / w);
        d->rel_y = d->y * (1.0 / h);
        d->rel_w = d->width * (1.0 / w);
        d->rel_h = d->height * (1.0 / h);
    }
    *count = (size_t)kept;
    return FG_OK;
}

const nn_runtime *fgm_ssd_runtime(const fgm_ssd *m)
{
    return m->rt;
}
