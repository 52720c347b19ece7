/*
 * tiny_face_detector.c - face-api's TinyFaceDetector: a Tiny-YOLOv2 with depthwise-separable
 * convolutions on a 416x416 input, one class, 5 anchors on a 13x13 grid, then YOLO box
 * decoding and IoU 0.4 non-maximum suppression. ARCH.md section 5.
 *
 * The decoding and NMS follow face-api's JavaScript (double arithmetic) step by step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define INPUT_SIZE 416
#define CELLS 13
#define BOXES 5      /* anchors per cell */
#define BOX_VALUES 5 /* tx, ty, tw, th, tobj */
#define OUTPUTS (BOXES * BOX_VALUES)
#define MAX_CANDIDATES (CELLS * CELLS * BOXES)
#define IOU_THRESHOLD 0.4
#define LEAKY_SLOPE 0.1f /* tfjs uses the float32 0.10000000149011612 */

static const float mean_rgb[3] = {117.001f, 114.697f, 97.404f};

/* Anchor (width, height) in cell units. */
static const double anchors[BOXES][2] = {{1.603231, 2.094468},
                                         {6.041143, 7.080126},
                                         {2.882459, 3.518061},
                                         {4.266906, 5.178857},
                                         {9.041765, 10.66308}};

/* A candidate box relative to the image (face-api's BoundingBox after extractBoxes). */
typedef struct tiny_candidate {
    int index; /* (row, col, anchor) order, for ties */
    double score;
    double x, y, width, height;
} tiny_candidate;

struct fgm_tiny {
    nn_runtime *rt;
    tiny_candidate *candidates; /* [MAX_CANDIDATES] scratch for detect */
};

static const nn_t none = {0, 0, 0, 0};

/* depthwiseSeparableConv without its leaky: pad 1 pixel of zeros on each side,
 * separableConv2d 'valid', + bias. A 3x3 stride-1 'same' convolution pads exactly one zero on
 * each side, so 'same' is used instead of a separate pad node (one copy of the activation less). */
static nn_t separable(nn_builder *b, nn_t x, const char *prefix, int cout)
{
    const nn_tensor *dw = nn_need(b, NN_SHAPE(3, 3, x.c, 1), "%s/depthwise_filter", prefix);
    const nn_tensor *pw = nn_need(b, NN_SHAPE(1, 1, x.c, cout), "%s/pointwise_filter", prefix);
    const nn_tensor *bias = nn_need(b, NN_SHAPE(cout), "%s/bias", prefix);
    if (!bias) return none;
    x = nn_depthwise(b->g, x, dw->data, 3, 3, NULL, 1, NN_SAME, NN_ACT_NONE);
    return nn_conv2d(b->g, x, pw->data, 1, 1, cout, bias->data, 1, NN_VALID, NN_ACT_NONE);
}

/* face-api runs leaky then a 2x2 max pool after every conv. Leaky ReLU is monotonic, so it
 * commutes with max exactly: pooling first runs the leaky on a quarter of the values. */
static nn_t pool_then_leaky(nn_builder *b, nn_t x, int stride)
{
    return nn_leaky_relu(b->g, nn_maxpool(b->g, x, 2, stride, NN_SAME), LEAKY_SLOPE);
}

static void build(nn_builder *b, void *ctx)
{
    static const int channels[6] = {16, 32, 64, 128, 256, 512};
    char prefix[16];
    nn_t x = nn_input(b->g, INPUT_SIZE, INPUT_SIZE, 3);

    (void)ctx;
    const nn_tensor *f0 = nn_need(b, NN_SHAPE(3, 3, 3, channels[0]), "conv0/filters");
    const nn_tensor *b0 = nn_need(b, NN_SHAPE(channels[0]), "conv0/bias");
    if (!b0) return;
    x = nn_conv2d(b->g, x, f0->data, 3, 3, channels[0], b0->data, 1, NN_VALID, NN_ACT_NONE);
    for (int i = 1; i <= 5; i++) {
        x = pool_then_leaky(b, x, 2);
        snprintf(prefix, sizeof prefix, "conv%d", i);
        x = separable(b, x, prefix, channels[i]);
    }
    x = pool_then_leaky(b, x, 1); /* 13x13: one -inf row/column at bottom/right */
    const nn_tensor *f8 = nn_need(b, NN_SHAPE(1, 1, x.c, OUTPUTS), "conv8/filters");
    const nn_tensor *b8 = nn_need(b, NN_SHAPE(OUTPUTS), "conv8/bias");
    if (!b8) return;
    nn_output(b->g,
              nn_conv2d(b->g, x, f8->data, 1, 1, OUTPUTS, b8->data, 1, NN_VALID, NN_ACT_NONE));
}

int fgm_tiny_open(const char *model_dir, int threads, fgm_tiny **out, fg_error *err)
{
    fgm_tiny *m;
    int rc;

    *out = NULL;
    m = calloc(1, sizeof *m);
    if (m) m->candidates = malloc(MAX_CANDIDATES * sizeof *m->candidates);
    if (!m || !m->candidates) {
        fgm_tiny_free(m);
        return fg_fail(err, FG_ENOMEM, "out of memory building the tiny face detector");
    }
    rc = nn_model_open(model_dir, "tiny_face_detector_model", 1, threads, build, NULL, &m->rt, err);
    if (rc) {
        fgm_tiny_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_tiny_free(fgm_tiny *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m->candidates);
    free(m);
}

int fgm_tiny_forward(fgm_tiny *m, const float *input, const float **output, fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    int rc;
    if (input != in) memcpy(in, input, sizeof(float) * INPUT_SIZE * INPUT_SIZE * 3);
    if ((rc = nn_run(m->rt, err))) return rc;
    *output = nn_runtime_output(m->rt, 0, NULL);
    return FG_OK;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* computeReshapedDimensions: the image's size inside the 416 square, rounded. */
static void reshaped_dims(int img_w, int img_h, double *rw, double *rh)
{
    double scale = (double)INPUT_SIZE / (img_w > img_h ? img_w : img_h);
    *rw = floor(img_w * scale + 0.5);
    *rh = floor(img_h * scale + 0.5);
}

/* TinyYolov2Base.extractBoxes: cells in (row, col, anchor) order; returns the count. The
 * correction factors undo the bottom/right padding with the rounded reshaped dimensions. */
static int extract_boxes(fgm_tiny *m, const float *raw, double rw, double rh, double threshold)
{
    double side = fmax(rw, rh), corr_x = side / rw, corr_y = side / rh;
    int n = 0;

    for (int row = 0; row < CELLS; row++) {
        for (int col = 0; col < CELLS; col++) {
            for (int a = 0; a < BOXES; a++) {
                const float *v = raw + ((size_t)(row * CELLS + col) * BOXES + a) * BOX_VALUES;
                double score = sigmoid(v[4]);
                if (threshold != 0 && !(score > threshold)) continue;
                double cx = ((col + sigmoid(v[0])) / CELLS) * corr_x;
                double cy = ((row + sigmoid(v[1])) / CELLS) * corr_y;
                double bw = ((exp(v[2]) * anchors[a][0]) / CELLS) * corr_x;
                double bh = ((exp(v[3]) * anchors[a][1]) / CELLS) * corr_y;
                double x = cx - bw / 2, y = cy - bh / 2;
                tiny_candidate *c = &m->candidates[n++];
                c->index = n - 1;
                c->score = score;
                /* new BoundingBox(x, y, x + w, y + h): the width is recomputed from the sides. */
                c->x = x;
                c->y = y;
                c->width = (x + bw) - x;
                c->height = (y + bh) - y;
            }
        }
    }
    return n;
}

/* ops/iou.ts on boxes rescaled to the 416 input (Box.rescale, then right = x + width). */
static double iou416(const tiny_candidate *a, const tiny_candidate *b)
{
    double ax = a->x * INPUT_SIZE, ay = a->y * INPUT_SIZE;
    double aw = a->width * INPUT_SIZE, ah = a->height * INPUT_SIZE;
    double bx = b->x * INPUT_SIZE, by = b->y * INPUT_SIZE;
    double bw = b->width * INPUT_SIZE, bh = b->height * INPUT_SIZE;
    double iw = fmax(0.0, fmin(ax + aw, bx + bw) - fmax(ax, bx));
    double ih = fmax(0.0, fmin(ay + ah, by + bh) - fmax(ay, by));
    double inter = iw * ih;
    return inter / (aw * ah + bw * bh - inter);
}

/* The NMS sorts by score ascending (stable) and pops the highest, so among equal scores the
 * later box comes first: order by score descending, then index descending. */
static int by_pop_order(const void *pa, const void *pb)
{
    const tiny_candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->index < b->index) - (a->index > b->index);
}

/* ops/nonMaxSuppression.ts: keep the best remaining box, drop every remaining box whose IoU
 * with it is not <= 0.4 (a NaN IoU drops too), repeat. No count limit. Sorts and compacts
 * m->candidates so that the first `kept` are the result, score descending. */
static int nms(fgm_tiny *m, int n)
{
    tiny_candidate *c = m->candidates;
    int kept = 0;
    qsort(c, (size_t)n, sizeof *c, by_pop_order);
    /* c[kept..n) are the still-undecided boxes, best first. */
    while (kept < n) {
        const tiny_candidate *best = &c[kept++];
        int w = kept;
        for (int r = kept; r < n; r++)
            if (iou416(best, &c[r]) <= IOU_THRESHOLD) c[w++] = c[r];
        n = w;
    }
    return kept;
}

int fgm_tiny_detect(fgm_tiny *m, const fg_image *img, float min_score, fgm_detection **out,
                    size_t *count, fg_error *err)
{
    float *in = nn_runtime_input(m->rt);
    const float *raw;
    double rw, rh;
    int rc, n, kept;

    *out = NULL;
    *count = 0;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "tiny face detector given an empty image");
    /* A side that rounds to 0 (aspect ratio over 832:1) would make every box infinite. */
    reshaped_dims(img->width, img->height, &rw, &rh);
    if (rw < 1 || rh < 1) return FG_OK;
    if ((rc = fgi_to_batch_tensor(img->rgb, img->width, img->height, INPUT_SIZE, 0, in)))
        return fg_fail(err, rc, "cannot resize a %dx%d image to the tiny detector input",
                       img->width, img->height);
    fgm_normalize(in, (size_t)INPUT_SIZE * INPUT_SIZE, mean_rgb, 1);
    if ((rc = fgm_tiny_forward(m, in, &raw, err))) return rc;

    n = extract_boxes(m, raw, rw, rh, min_score);
    kept = nms(m, n);
    if (kept == 0) return FG_OK;
    if (!(*out = malloc((size_t)kept * sizeof **out)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %d detections", kept);

    /* ObjectDetection rescales the relative box to pixels; TinyFaceDetector.locateFaces then
     * builds a FaceDetection from its relativeBox (pixels / size) rescaled again. */
    double w = img->width, h = img->height;
    for (int i = 0; i < kept; i++) {
        const tiny_candidate *c = &m->candidates[i];
        fgm_detection *d = &(*out)[i];
        d->score = (float)c->score;
        d->x = c->x * w * (1.0 / w) * w;
        d->y = c->y * h * (1.0 / h) * h;
        d->width = c->width * w * (1.0 / w) * w;
        d->height = c->height * h * (1.0 / h) * h;
        d->rel_x = d->x * (1.0 / w);
        d->rel_y = d->y * (1.0 / h);
        d->rel_w = d->width * (1.0 / w);
        d->rel_h = d->height * (1.0 / h);
    }
    *count = (size_t)kept;
    return FG_OK;
}

const nn_runtime *fgm_tiny_runtime(const fgm_tiny *m)
{
    return m->rt;
}
