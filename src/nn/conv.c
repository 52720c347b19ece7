/*
 * conv.c - a direct convolution with its bias and ReLU: BlazeFace's first layer (5x5 stride 2,
 * 3 -> 24 channels, SAME padding, 256x256 -> 128x128).
 *
 * XNNPACK runs that layer as an indirect GEMM whose 16-wide output tiles hold 24 channels in
 * two tiles, the second half empty, at about 55% of the FMA peak. Here a group of 4 output
 * pixels x 24 channels is 12 AVX registers; for each of the 75 taps, 3 weight loads and 4
 * broadcasts feed 12 FMAs. For one kernel row the 15 taps (5 columns x 3 channels) are 15
 * consecutive floats of the input row and 15 x 24 consecutive weights (HWIO), so the weights
 * are used as TF.js stores them.
 *
 * Output rows clip the kernel rows that fall in the padding, the same for the whole group;
 * columns whose window crosses the left or right border take the one-pixel kernel with the
 * columns clipped. Any other shape, or a CPU without AVX2/FMA, takes the plain C loop. Both sum
 * the taps in the order (ky, kx, cin) in float32, so results differ from XNNPACK's only in
 * rounding.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

/* TF's SAME: out = ceil(in / s), the padding split with the odd one after. */
static int pad_before(int in, int k, int s)
{
    int out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    return total > 0 ? total / 2 : 0;
}

void nn_conv_output_size(const nn_conv *cv, int h, int w, int *oh, int *ow)
{
    *oh = (h + cv->stride - 1) / cv->stride;
    *ow = (w + cv->stride - 1) / cv->stride;
}

/* The window of one output coordinate: the first input coordinate (may be negative) and the
 * live kernel taps [k0, k1). */
typedef struct window {
    int first, k0, k1;
} window;

static window window_at(int o, int in, int k, int s, int pad)
{
    window win;
    win.first = o * s - pad;
    win.k0 = win.first < 0 ? -win.first : 0;
    win.k1 = win.first + k > in ? in - win.first : k;
    return win;
}

/* Output rows [y0, y1). */
static void rows_portable(const nn_conv *cv, const float *x, float *y, int h, int w, int y0, int y1)
{
    const int k = cv->k, s = cv->stride, cin = cv->cin, cout = cv->cout;
    const int pt = pad_before(h, k, s), pl = pad_before(w, k, s);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    (void)oh;
    for (int oy = y0; oy < y1; oy++) {
        const window wy = window_at(oy, h, k, s, pt);
        for (int ox = 0; ox < ow; ox++) {
            const window wx = window_at(ox, w, k, s, pl);
            float *q = y + ((size_t)oy * ow + ox) * cout;
            memcpy(q, cv->bias, sizeof(float) * (size_t)cout);
            for (int ky = wy.k0; ky < wy.k1; ky++)
                for (int kx = wx.k0; kx < wx.k1; kx++) {
                    const float *r = x + ((size_t)(wy.first + ky) * w + wx.first + kx) * cin;
                    const float *wt = cv->w + ((size_t)ky * k + kx) * cin * cout;
                    for (int i = 0; i < cin; i++)
                        for (int o = 0; o < cout; o++)
                            q[o] += r[i] * wt[(size_t)i * cout + o];
                }
            for (int o = 0; o < cout; o++)
                q[o] = q[o] > 0.0f ? q[o] : 0.0f;
        }
    }
}

void nn_conv_run_portable(const nn_conv *cv, const float *x, float *y, int h, int w)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    rows_portable(cv, x, y, h, w, 0, oh);
}

#ifdef HAVE_X86
#define TARGET __attribute__((target("avx2,fma")))
#define K 5           /* kernel rows and columns */
#define S 2           /* stride */
#define CIN 3         /* input channels */
#define COUT 24       /* output channels: three 8-float vectors */
#define GROUP 4       /* output pixels per register tile */
#define ROW (K * CIN) /* taps of one kernel row: consecutive floats of the input row */

/* Pixel p of the group: accumulators a<p>0..2 start at the bias, and leave through the ReLU. */
#define ACC_INIT(p) __m256 a##p##0 = b0, a##p##1 = b1, a##p##2 = b2;
#define ACC_STEP(p)                                                                                \
    do {                                                                                           \
        const __m256 v = _mm256_broadcast_ss(r + (p)*S * CIN + t);                                 \
        a##p##0 = _mm256_fmadd_ps(v, w0, a##p##0);                                                 \
        a##p##1 = _mm256_fmadd_ps(v, w1, a##p##1);                                                 \
        a##p##2 = _mm256_fmadd_ps(v, w2, a##p##2);                                                 \
    } while (0)
#define ACC_STORE(p)                                                                               \
    do {                                                                                           \
        _mm256_storeu_ps(q + (p)*COUT, _mm256_max_ps(a##p##0, zero));                              \
        _mm256_storeu_ps(q + (p)*COUT + 8, _mm256_max_ps(a##p##1, zero));                          \
        _mm256_storeu_ps(q + (p)*COUT + 16, _mm256_max_ps(a##p##2, zero));                         \
    } while (0)
#define WEIGHTS(t)                                                                                 \
    const __m256 w0 = _mm256_loadu_ps(wr + (t)*COUT), w1 = _mm256_loadu_ps(wr + (t)*COUT + 8),     \
                 w2 = _mm256_loadu_ps(wr + (t)*COUT + 16)

/* GROUP output pixels whose windows lie inside the row (all 5 columns live): kernel rows
 * [wy.k0, wy.k1), x0 the group's first input column. */
TARGET static inline void group_5x5(const nn_conv *cv, const float *x, int w, window wy, int x0,
                                    float *q)
{
    const __m256 b0 = _mm256_loadu_ps(cv->bias), b1 = _mm256_loadu_ps(cv->bias + 8);
    const __m256 b2 = _mm256_loadu_ps(cv->bias + 16), zero = _mm256_setzero_ps();
    ACC_INIT(0)
    ACC_INIT(1)
    ACC_INIT(2)
    ACC_INIT(3)
    for (int ky = wy.k0; ky < wy.k1; ky++) {
        const float *r = x + ((size_t)(wy.first + ky) * w + x0) * CIN;
        const float *wr = cv->w + (size_t)ky * ROW * COUT;
        for (int t = 0; t < ROW; t++) {
            WEIGHTS(t);
            ACC_STEP(0);
            ACC_STEP(1);
            ACC_STEP(2);
            ACC_STEP(3);
        }
    }
    ACC_STORE(0);
    ACC_STORE(1);
    ACC_STORE(2);
    ACC_STORE(3);
}

/* One output pixel, kernel rows wy and columns wx clipped to the image. */
TARGET static inline void pixel_5x5(const nn_conv *cv, const float *x, int w, window wy, window wx,
                                    float *q)
{
    const __m256 b0 = _mm256_loadu_ps(cv->bias), b1 = _mm256_loadu_ps(cv->bias + 8);
    const __m256 b2 = _mm256_loadu_ps(cv->bias + 16), zero = _mm256_setzero_ps();
    ACC_INIT(0)
    for (int ky = wy.k0; ky < wy.k1; ky++) {
        const float *r = x + ((size_t)(wy.first + ky) * w + wx.first + wx.k0) * CIN;
        const float *wr = cv->w + ((size_t)ky * ROW + (size_t)wx.k0 * CIN) * COUT;
        for (int t = 0; t < (wx.k1 - wx.k0) * CIN; t++) {
            WEIGHTS(t);
            ACC_STEP(0);
        }
    }
    ACC_STORE(0);
}

TARGET static void rows_5x5(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                            int y1)
{
    const int pt = pad_before(h, K, S), pl = pad_before(w, K, S);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    (void)oh;
    /* Columns [lo, hi) have their whole window inside the row. */
    const int lo = (pl + S - 1) / S, hi = w + pl >= K ? (w + pl - K) / S + 1 : 0;
    for (int oy = y0; oy < y1; oy++) {
        const window wy = window_at(oy, h, K, S, pt);
        float *q = y + (size_t)oy * ow * COUT;
        int ox = 0;
        for (; ox < ow && (ox < lo || ox >= hi); ox++)
            pixel_5x5(cv, x, w, wy, window_at(ox, w, K, S, pl), q + (size_t)ox * COUT);
        for (; ox + GROUP <= hi; ox += GROUP)
            group_5x5(cv, x, w, wy, ox * S - pl, q + (size_t)ox * COUT);
        for (; ox < ow; ox++)
            pixel_5x5(cv, x, w, wy, window_at(ox, w, K, S, pl), q + (size_t)ox * COUT);
    }
}

#endif

static void rows(const nn_conv *cv, const float *x, float *y, int h, int w, int y0, int y1)
{
#ifdef HAVE_X86
    if (cv->k == K && cv->stride == S && cv->cin == CIN && cv->cout == COUT && fg_cpu_avx2_fma()) {
        rows_5x5(cv, x, y, h, w, y0, y1);
        return;
    }
#endif
    rows_portable(cv, x, y, h, w, y0, y1);
}

void nn_conv_run(const nn_conv *cv, const float *x, float *y, int h, int w)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    rows(cv, x, y, h, w, 0, oh);
}

typedef struct conv_task {
    const nn_conv *cv;
    const float *x;
    float *y;
    int h, w;
} conv_task;

static void conv_rows(void *ctx, int y0, int y1)
{
    const conv_task *t = ctx;
    rows(t->cv, t->x, t->y, t->h, t->w, y0, y1);
}

/* Every output row reads only x, so bands of rows are independent. */
void nn_conv_run_on(const nn_conv *cv, const float *x, float *y, int h, int w, const nn_runtime *rt)
{
    conv_task t = {cv, x, y, h, w};
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    nn_parallel_rows(rt, oh, conv_rows, &t);
}

uint64_t nn_conv_macs(const nn_conv *cv, int h, int w)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    return (uint64_t)oh * (uint64_t)ow * (uint64_t)cv->cout * (uint64_t)cv->k * (uint64_t)cv->k *
           (uint64_t)cv->cin;
}

void nn_conv_free(nn_conv *cv)
{
    if (!cv) return;
    free(cv->w);
    free(cv->bias);
    memset(cv, 0, sizeof *cv);
}
