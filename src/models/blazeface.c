/*
 * blazeface.c - BlazeFace as @vladmandic/human 3.3.6 runs it (its blazeface.json: MediaPipe's
 * 256x256 "back" model, 896 anchors): the image stretched to 256x256, x / 127.5 - 1, the graph
 * (src/nn/graph_model.c), then Human's decoding and tfjs's hard non-maximum suppression.
 * ../shared/reference/blazeface/BLAZEFACE.md is the recipe; Human's src/face/blazeface.ts and
 * facemeshutil.ts the specification.
 *
 * Decoding runs in float32 like the tfjs ops it reproduces (box = centre -/+ size / 2 in 256-px
 * units); mapping to the image runs in double like Human's JavaScript.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

#define HEAD16_ROWS 512 /* 16x16 cells x 2 anchors */
#define HEAD8_ROWS 384  /* 8x8 cells x 6 anchors */
#define REGRESSORS 16

/* The graph runs as its first convolution (src/nn/conv.c: XNNPACK's GEMM tiles left a third of
 * it idle), its 31 residual blocks fused in one chain (src/nn/block.c, staged.c: 7 at each of
 * 128x128x24, 64x64x24, 32x32x48 and 16x16x96, with the strided blocks re_lu_7, _15 and _23
 * between the resolutions), then one XNNPACK runtime for the two heads and the last stride-2
 * layer (re_lu_31, no residual, 8x8x96). In XNNPACK those blocks were most of the network's time,
 * bound by memory traffic, and each strided block six small operators. */
#define PREFIX "StatefulPartitionedCall/functional_1/"
#define INPUT_NODE "input"
#define FIRST PREFIX "conv2d/Relu"
#define FIRST_C 24
#define RELU(i) PREFIX "re_lu_" #i "/Relu"
#define BLOCKS 31

static const char *const ENDS[BLOCKS] = {PREFIX "re_lu/Relu",
                                         RELU(1),
                                         RELU(2),
                                         RELU(3),
                                         RELU(4),
                                         RELU(5),
                                         RELU(6),
                                         RELU(7),
                                         RELU(8),
                                         RELU(9),
                                         RELU(10),
                                         RELU(11),
                                         RELU(12),
                                         RELU(13),
                                         RELU(14),
                                         RELU(15),
                                         RELU(16),
                                         RELU(17),
                                         RELU(18),
                                         RELU(19),
                                         RELU(20),
                                         RELU(21),
                                         RELU(22),
                                         RELU(23),
                                         RELU(24),
                                         RELU(25),
                                         RELU(26),
                                         RELU(27),
                                         RELU(28),
                                         RELU(29),
                                         RELU(30)};
static const nn_chain_spec CHAIN = {FIRST, 128, 128, BLOCKS, ENDS, NULL};

static const fgm_net_spec NET = {.model = "blazeface",
                                 .input = INPUT_NODE,
                                 .first = FIRST,
                                 .k = 5,
                                 .cout = FIRST_C,
                                 .h = FGM_BLAZE_INPUT,
                                 .w = FGM_BLAZE_INPUT,
                                 .chains = &CHAIN,
                                 .nchains = 1};

struct fgm_blaze {
    fgm_first first; /* INPUT_NODE -> FIRST, the input of the staged rest */
    nn_staged *net;
    float anchors[FGM_BLAZE_ANCHORS][2];
    float rows[FGM_BLAZE_ANCHORS][FGM_BLAZE_ROW];
    float boxes[FGM_BLAZE_ANCHORS][4]; /* decoded, 256-px units: x1, y1, x2, y2 */
    float scores[FGM_BLAZE_ANCHORS];
    int order[FGM_BLAZE_ANCHORS]; /* candidates, best first */
};

/* facemeshutil.generateAnchors(256): strides 16 and 32, 2 and 6 anchors a cell, centres only. */
static void make_anchors(float anchors[FGM_BLAZE_ANCHORS][2])
{
    static const int strides[2] = {FGM_BLAZE_INPUT / 16, FGM_BLAZE_INPUT / 8}, per_cell[2] = {2, 6};
    int n = 0;
    for (int layer = 0; layer < 2; layer++) {
        int stride = strides[layer], grid = (FGM_BLAZE_INPUT + stride - 1) / stride;
        for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++)
                for (int a = 0; a < per_cell[layer]; a++, n++) {
                    anchors[n][0] = (float)stride * ((float)gx + 0.5f);
                    anchors[n][1] = (float)stride * ((float)gy + 0.5f);
                }
    }
}

int fgm_blaze_open(const char *model_dir, int threads, fgm_blaze **out, fg_error *err)
{
    /* Logits and regressors of the 16x16 head, then of the 8x8 head. */
    static const char *const heads[4] = {"Identity", "Identity_2", "Identity_1", "Identity_3"};
    const nn_graph_model_options opts = {.outputs = heads,
                                         .num_outputs = 4,
                                         .input = {128, 128, FIRST_C},
                                         .batch = 1,
                                         .threads = threads,
                                         .input_node = FIRST};
    fgm_blaze *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m))) return fg_fail(err, FG_ENOMEM, "out of memory for BlazeFace");
    if ((rc = fgm_net_open(model_dir, &NET, &opts, &m->first, &m->net, err))) {
        fgm_blaze_free(m);
        return rc;
    }
    make_anchors(m->anchors);
    *out = m;
    return FG_OK;
}

void fgm_blaze_free(fgm_blaze *m)
{
    if (!m) return;
    fgm_first_free(&m->first);
    nn_staged_free(m->net);
    free(m);
}

void fgm_blaze_profile(const fgm_blaze *m, nn_profile *out)
{
    fgm_first_profile(&m->first, m->net, out);
}

float *fgm_blaze_input(fgm_blaze *m)
{
    return m->first.input;
}

const float *fgm_blaze_anchors(const fgm_blaze *m)
{
    return &m->anchors[0][0];
}

/* Human sorts the four outputs by size and concatenates [logit | regressors] per head, the
 * 16x16 head first (BLAZEFACE.md section 1). */
int fgm_blaze_forward(fgm_blaze *m, const float **rows, fg_error *err)
{
    int rc;
    fgm_first_run(&m->first, m->net);
    if ((rc = nn_staged_run(m->net, err))) return rc;
    for (int head = 0; head < 2; head++) {
        const float *logits = nn_staged_output(m->net, 2 * head, NULL);
        const float *regs = nn_staged_output(m->net, 2 * head + 1, NULL);
        int first = head ? HEAD16_ROWS : 0, n = head ? HEAD8_ROWS : HEAD16_ROWS;
        for (int r = 0; r < n; r++) {
            m->rows[first + r][0] = logits[r];
            memcpy(&m->rows[first + r][1], regs + (size_t)r * REGRESSORS,
                   sizeof(float) * REGRESSORS);
        }
    }
    *rows = &m->rows[0][0];
    return FG_OK;
}

/* decodeBoxes(): four float32 tensor ops per coordinate; dividing and multiplying by 256 and
 * halving are exact, so box = centre -/+ size / 2 with one rounding each. */
static void decode_boxes(fgm_blaze *m)
{
    for (int i = 0; i < FGM_BLAZE_ANCHORS; i++) {
        const float *r = m->rows[i];
        float cx = r[1] + m->anchors[i][0], cy = r[2] + m->anchors[i][1];
        float hw = r[3] / 2.0f, hh = r[4] / 2.0f;
        m->boxes[i][0] = cx - hw;
        m->boxes[i][1] = cy - hh;
        m->boxes[i][2] = cx + hw;
        m->boxes[i][3] = cy + hh;
        m->scores[i] = (float)(1.0 / (1.0 + exp(-(double)r[0])));
    }
}

/* tfjs's intersectionOverUnion on min/max-normalised corners, in double. */
static double iou(const float a[4], const float b[4])
{
    double ax0 = fmin(a[0], a[2]), ay0 = fmin(a[1], a[3]), ax1 = fmax(a[0], a[2]);
    double ay1 = fmax(a[1], a[3]), bx0 = fmin(b[0], b[2]), by0 = fmin(b[1], b[3]);
    double bx1 = fmax(b[0], b[2]), by1 = fmax(b[1], b[3]);
    double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
    if (area_a <= 0 || area_b <= 0) return 0.0;
    double inter =
        fmax(fmin(ay1, by1) - fmax(ay0, by0), 0.0) * fmax(fmin(ax1, bx1) - fmax(ax0, bx0), 0.0);
    return inter / (area_a + area_b - inter);
}

/* Score descending; on equal scores the lower row first (tfjs's ascendingComparator + pop). */
static int by_score(const void *pa, const void *pb, void *ctx)
{
    const float *scores = ctx;
    int a = *(const int *)pa, b = *(const int *)pb;
    if (scores[a] != scores[b]) return scores[a] > scores[b] ? -1 : 1;
    return (a > b) - (a < b);
}

/* Sorts the rows scoring above min_score into m->order; returns their number. */
static int candidates(fgm_blaze *m, float min_score)
{
    int n = 0;
    for (int i = 0; i < FGM_BLAZE_ANCHORS; i++)
        if ((double)m->scores[i] > (double)min_score) m->order[n++] = i;
    qsort_r(m->order, (size_t)n, sizeof *m->order, by_score, m->scores);
    return n;
}

int fgm_blaze_detect(fgm_blaze *m, const fg_image *img, float min_score, float iou_threshold,
                     int max_boxes, fgm_blaze_box **out, size_t *count, fg_error *err)
{
    float *in = fgm_blaze_input(m);
    const float *rows;
    int rc, n, kept = 0, selected[FGM_BLAZE_ANCHORS];

    *out = NULL;
    *count = 0;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "BlazeFace given an empty image");
    const fgi_norm norm = {127.5f, 1.0f}; /* tf.sub(tf.div(x, 127.5), 1) */
    const fgi_runner on = fgm_runner(nn_staged_runtime(m->net));
    if ((rc = fgi_resize_bilinear_u8_on(img->rgb, img->width, img->height, FGM_BLAZE_INPUT,
                                        FGM_BLAZE_INPUT, &norm, in, &on)))
        return fg_fail(err, rc, "cannot resize a %dx%d image to the BlazeFace input", img->width,
                       img->height);
    if ((rc = fgm_blaze_forward(m, &rows, err))) return rc;
    decode_boxes(m);

    n = candidates(m, min_score);
    for (int c = 0; c < n && kept < max_boxes; c++) {
        int row = m->order[c], suppressed = 0;
        for (int j = kept - 1; j >= 0 && !suppressed; j--)
            suppressed = iou(m->boxes[row], m->boxes[selected[j]]) >= iou_threshold;
        if (!suppressed) selected[kept++] = row;
    }
    if (!kept) return FG_OK;
    if (!(*out = calloc((size_t)kept, sizeof **out)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %d detections", kept);

    /* scaleBoxCoordinates: the stretch back to the image, in double. */
    double fx = (double)img->width / FGM_BLAZE_INPUT, fy = (double)img->height / FGM_BLAZE_INPUT;
    for (int i = 0; i < kept; i++) {
        fgm_blaze_box *d = &(*out)[i];
        const float *r = m->rows[selected[i]], *a = m->anchors[selected[i]];
        d->row = selected[i];
        d->score = m->scores[d->row];
        d->x1 = m->boxes[d->row][0] * fx;
        d->y1 = m->boxes[d->row][1] * fy;
        d->x2 = m->boxes[d->row][2] * fx;
        d->y2 = m->boxes[d->row][3] * fy;
        for (int k = 0; k < FGM_BLAZE_KEYPOINTS; k++) {
            d->keypoints[k][0] = ((double)r[5 + 2 * k] + a[0]) * fx;
            d->keypoints[k][1] = ((double)r[6 + 2 * k] + a[1]) * fy;
        }
    }
    *count = (size_t)kept;
    return FG_OK;
}
