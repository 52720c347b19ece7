/*
 * conv.c - a direct convolution with its bias and ReLU or PReLU: the first layer of BlazeFace
 * (5x5 stride 2, 3 -> 24, ReLU, 256x256 -> 128x128), of FaceMesh (3x3 stride 2, 3 -> 16, PReLU,
 * 192x192 -> 96x96) and of the iris net (3x3 stride 2, 3 -> 64, PReLU, 64x64 -> 32x32).
 *
 * XNNPACK runs these layers as an indirect GEMM whose 16-wide output tiles hold 24 channels in
 * two tiles, the second half empty (BlazeFace), followed by a PReLU that is two more passes over
 * the output (FaceMesh, iris: it took half as long as the convolution). Here a group of output
 * pixels x a slice of 24, 16 or 8 channels is 12 AVX registers (4, 6 or 12 pixels); for each
 * tap, 3, 2 or 1 weight loads and one broadcast per pixel feed 12 FMAs, and the activation is
 * applied before the store. For one kernel row the k * cin taps are consecutive floats of the
 * input row and k * cin * cout consecutive weights (HWIO), so the weights are used as TF.js
 * stores them.
 *
 * Output rows clip the kernel rows that fall in the padding, the same for the whole group;
 * columns whose window crosses the left or right border take the one-pixel kernel with the
 * columns clipped. The last group of a row may start before the previous one ends (it computes
 * a few pixels again, to the same values) so that no pixel inside the borders is left to the
 * one-pixel kernel. Output channels that are not a multiple of 8, or a CPU without AVX2/FMA,
 * take the plain C loop. Both sum the taps in the order (ky, kx, cin) from the bias in float32,
 * so results differ from XNNPACK's only in rounding.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
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
                q[o] = q[o] > 0.0f ? q[o] : cv->alpha ? cv->alpha[o] * q[o] : 0.0f;
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
/* Not instrumented by AddressSanitizer (nn/avx2.h says why); the unit test holds this path to
 * the plain C loop, which reads the same taps, on every border case. */
#define TARGET NN_AVX2
#define INLINE NN_INLINE
#define ACCS 12 /* accumulators of a group: pixels x channel vectors */

/* The live part of the kernel for a group of output pixels of one row: `rows` kernel rows of
 * `len` taps (live columns x cin) each, from input x (the first live row and column of the
 * group's first pixel; input rows xrow floats apart, pixels step floats apart) and weights wt
 * (the first live tap's; kernel rows wrow floats apart). */
typedef struct taps {
    const float *x, *wt;
    size_t xrow, wrow;
    int rows, len, step;
} taps;

/* Output channels [o, o + 8 v) of n pixels (n v <= ACCS), stored cout apart from q. */
TARGET static INLINE void conv_slice(const nn_conv *cv, taps t, float *q, int o, int v, int n)
{
    const int cout = cv->cout;
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc[ACCS][3];
#pragma GCC unroll 12
    for (int p = 0; p < ACCS; p++)
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (p < n && j < v) acc[p][j] = _mm256_loadu_ps(cv->bias + o + 8 * j);
    for (int ky = 0; ky < t.rows; ky++)
        nn_avx2_tile(acc, ACCS, t.x + ky * t.xrow, (size_t)t.step, t.wt + ky * t.wrow + o,
                     (size_t)cout, t.len, v, n);
#pragma GCC unroll 3
    for (int j = 0; j < 3; j++) {
        if (j >= v) continue;
        const __m256 a = cv->alpha ? _mm256_loadu_ps(cv->alpha + o + 8 * j) : zero;
#pragma GCC unroll 12
        for (int p = 0; p < ACCS; p++)
            if (p < n)
                _mm256_storeu_ps(q + (size_t)p * cout + o + 8 * j,
                                 nn_avx2_act(acc[p][j], a, cv->alpha != NULL));
    }
}

/* The kernel's size, stride and input channels: constants where rows_with is specialised. */
typedef struct shape {
    int k, s, cin;
} shape;

/* Output channels [o, o + 8 v) of output pixel ox and, unless one, the group of 12 / v pixels
 * from it (whose windows lie inside the row), on kernel rows wy. */
TARGET static INLINE void conv_at(const nn_conv *cv, shape sh, const float *x, int w, window wy,
                                  int ox, float *y, int o, int v, int one)
{
    const int k = sh.k, cin = sh.cin, cout = cv->cout;
    const window wx = window_at(ox, w, k, sh.s, pad_before(w, k, sh.s));
    const taps t = {x + ((size_t)(wy.first + wy.k0) * w + wx.first + wx.k0) * cin,
                    cv->w + ((size_t)wy.k0 * k + wx.k0) * cin * cout,
                    (size_t)w * cin,
                    (size_t)k * cin * cout,
                    wy.k1 - wy.k0,
                    one ? (wx.k1 - wx.k0) * cin : k * cin,
                    sh.s * cin};
    float *q = y + (size_t)ox * cout;
    if (v == 3)
        conv_slice(cv, t, q, o, 3, one ? 1 : ACCS / 3);
    else if (v == 2)
        conv_slice(cv, t, q, o, 2, one ? 1 : ACCS / 2);
    else
        conv_slice(cv, t, q, o, 1, one ? 1 : ACCS);
}

TARGET static INLINE void rows_with(const nn_conv *cv, shape sh, const float *x, float *y, int h,
                                    int w, int y0, int y1)
{
    const int k = sh.k, s = sh.s, cout = cv->cout;
    const int pt = pad_before(h, k, s), pl = pad_before(w, k, s);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    (void)oh;
    /* Columns [lo, hi) have their whole window inside the row. */
    const int lo = (pl + s - 1) / s, hi = w + pl >= k ? (w + pl - k) / s + 1 : 0;
    for (int oy = y0; oy < y1; oy++) {
        const window wy = window_at(oy, h, k, s, pt);
        float *q = y + (size_t)oy * ow * cout;
        for (int o = 0; o < cout; o += 24) {
            const int v = cout - o >= 24 ? 3 : (cout - o) / 8, group = ACCS / v;
            int ox = 0;
            for (; ox < ow && (ox < lo || ox >= hi); ox++)
                conv_at(cv, sh, x, w, wy, ox, q, o, v, 1);
            for (; ox + group <= hi; ox += group)
                conv_at(cv, sh, x, w, wy, ox, q, o, v, 0);
            if (ox < hi && hi - lo >= group) { /* the last group, moved left to end at hi */
                conv_at(cv, sh, x, w, wy, hi - group, q, o, v, 0);
                ox = hi;
            }
            for (; ox < ow; ox++)
                conv_at(cv, sh, x, w, wy, ox, q, o, v, 1);
        }
    }
}

/* The first layers' shapes with the tap loops' bounds and steps known to the compiler. */
TARGET static void rows_3x3(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                            int y1)
{
    rows_with(cv, (shape){3, 2, 3}, x, y, h, w, y0, y1);
}

TARGET static void rows_5x5(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                            int y1)
{
    rows_with(cv, (shape){5, 2, 3}, x, y, h, w, y0, y1);
}

TARGET static void rows_avx2(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                             int y1)
{
    if (cv->stride == 2 && cv->cin == 3 && cv->k == 3)
        rows_3x3(cv, x, y, h, w, y0, y1);
    else if (cv->stride == 2 && cv->cin == 3 && cv->k == 5)
        rows_5x5(cv, x, y, h, w, y0, y1);
    else
        rows_with(cv, (shape){cv->k, cv->stride, cv->cin}, x, y, h, w, y0, y1);
}

#endif

static void rows(const nn_conv *cv, const float *x, float *y, int h, int w, int y0, int y1)
{
#ifdef HAVE_X86
    if (cv->cout % 8 == 0 && fg_cpu_avx2_fma()) {
        rows_avx2(cv, x, y, h, w, y0, y1);
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
    free(cv->alpha);
    memset(cv, 0, sizeof *cv);
}
