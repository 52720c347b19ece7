/*
 * block.c - a residual block of BlazeFace, FaceMesh or the iris net in one pass:
 *   plain (BlazeFace, FaceMesh):  y = act(x + bias + W * depthwise3x3(x))
 *   bottleneck (iris):            y = act(x + bias + W * depthwise3x3(prelu(W1 * x + b1)))
 * with act = ReLU (BlazeFace) or PReLU.
 *
 * XNNPACK runs such a block as four to six operators, each a pass over the whole tensor. At
 * BlazeFace's 128x128x24 or FaceMesh's 96x96x16 a tensor is 0.6-1.5 MB, more than a core's L2
 * cache, so the block is bound by memory traffic, not arithmetic: the bench's operator profile
 * showed the add and the activation alone taking a quarter of the block's time. Here each group
 * of 4 pixels goes through every step while it is in registers: x is read (its 3x3
 * neighbourhood from L1/L2, since rows are visited in order) and y written once. A bottleneck
 * block keeps the three rows of prelu(W1 * x + b1) the depthwise needs in a ring, each row
 * computed once.
 *
 * The AVX2+FMA kernel covers channel counts that are multiples of 8 (up to NN_BLOCK_MAX_C): the
 * depthwise taps of 8 channels stay in registers while the group's input columns stream by, and
 * the 1x1 convolutions run in slices of 24 output channels (12 accumulators for the 4 pixels).
 * Other channel counts, or a CPU without AVX2/FMA, take the plain C loops. Both sum the taps and
 * the products in a fixed order in float32, so results differ from XNNPACK's only in rounding
 * (the models' parity tests against Human hold them to 1e-3).
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

/* A 1x1 convolution with bias and activation: the block's last one, or a bottleneck's first. */
typedef struct pointwise {
    const float *w;     /* [cin][cout] */
    const float *bias;  /* [cout] */
    const float *alpha; /* [cout] PReLU slopes, or NULL for ReLU */
    int cin, cout;
} pointwise;

static pointwise last_conv(const nn_block *b)
{
    return (pointwise){b->w, b->bias, b->alpha, b->m ? b->m : b->c, b->c};
}

static pointwise first_conv(const nn_block *b)
{
    return (pointwise){b->w1, b->b1, b->alpha1, b->c, b->m};
}

/* The three input rows of an output row's depthwise (NULL outside the image), and the kernels
 * that make one row of the depthwise's input (a bottleneck's first convolution) and one row of
 * output. */
typedef struct kernels {
    void (*expand)(const pointwise *f, const float *x, int w, float *e);
    void (*row)(const nn_block *b, const float *const taps[3], const float *x, int w, float *y);
} kernels;

/* ---- plain C ------------------------------------------------------------------------------ */

static float activate(const float *alpha, int o, float v)
{
    if (v > 0.0f) return v;
    return alpha ? alpha[o] * v : 0.0f;
}

/* f on one pixel: q = act((bias + s W) + r), r NULL for none; the order of XNNPACK's operators. */
static void pointwise_pixel(const pointwise *f, const float *s, const float *r, float *q)
{
    for (int o = 0; o < f->cout; o++)
        q[o] = f->bias[o];
    for (int i = 0; i < f->cin; i++)
        for (int o = 0; o < f->cout; o++)
            q[o] += s[i] * f->w[(size_t)i * f->cout + o];
    for (int o = 0; o < f->cout; o++)
        q[o] = activate(f->alpha, o, q[o] + (r ? r[o] : 0.0f));
}

static void expand_portable(const pointwise *f, const float *x, int w, float *e)
{
    for (int px = 0; px < w; px++)
        pointwise_pixel(f, x + (size_t)px * f->cin, NULL, e + (size_t)px * f->cout);
}

static void row_portable(const nn_block *b, const float *const taps[3], const float *x, int w,
                         float *y)
{
    const pointwise f = last_conv(b);
    const int cd = f.cin;
    float d[NN_BLOCK_MAX_C];
    for (int px = 0; px < w; px++) {
        for (int k = 0; k < cd; k++)
            d[k] = 0.0f;
        for (int dy = 0; dy < 3; dy++) {
            if (!taps[dy]) continue;
            for (int dx = -1; dx <= 1; dx++) {
                if (px + dx < 0 || px + dx >= w) continue;
                const float *s = taps[dy] + (size_t)(px + dx) * cd;
                const float *k = b->dw + (dy * 3 + dx + 1) * cd;
                for (int ch = 0; ch < cd; ch++)
                    d[ch] += s[ch] * k[ch];
            }
        }
        pointwise_pixel(&f, d, x + (size_t)px * b->c, y + (size_t)px * b->c);
    }
}

static const kernels PORTABLE = {expand_portable, row_portable};

/* ---- AVX2 + FMA --------------------------------------------------------------------------- */

#ifdef HAVE_X86
/* Like XNNPACK's, these kernels are not instrumented by AddressSanitizer: instrumented, they
 * made the sanitizer suite's fast-path tests five times slower. The plain-C path, which reads
 * the same rows and columns, is instrumented, and the unit test holds the SIMD path to it and
 * to the ops in double on every border case. */
#define TARGET __attribute__((target("avx2,fma"), no_sanitize_address))
#define INLINE inline __attribute__((always_inline))
#define GROUP 4 /* pixels per group */

/* Channels [j, j + 8 v) (v = 1 or 2) of dw_group: 4 v accumulators, so that two channel
 * vectors give the FMA units 8 independent chains. */
TARGET static INLINE void dw_slice(const float *const taps[3], const float *kernel, int cd, int w,
                                   int px, int n, int j, int v, float *d)
{
    __m256 acc[2][GROUP];
#pragma GCC unroll 2
    for (int u = 0; u < 2; u++)
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            acc[u][p] = _mm256_setzero_ps();
    for (int dy = 0; dy < 3; dy++) {
        if (!taps[dy]) continue;
        const float *row = taps[dy] + j, *k = kernel + (size_t)dy * 3 * cd + j;
        __m256 k0[2], k1[2], k2[2];
#pragma GCC unroll 2
        for (int u = 0; u < v; u++) {
            k0[u] = _mm256_loadu_ps(k + 8 * u);
            k1[u] = _mm256_loadu_ps(k + cd + 8 * u);
            k2[u] = _mm256_loadu_ps(k + 2 * cd + 8 * u);
        }
#pragma GCC unroll 6
        for (int col = 0; col < GROUP + 2; col++) { /* input column px - 1 + col */
            const int xx = px - 1 + col;
            if (col >= n + 2 || xx < 0 || xx >= w) continue;
#pragma GCC unroll 2
            for (int u = 0; u < v; u++) {
                const __m256 x = _mm256_loadu_ps(row + (size_t)xx * cd + 8 * u);
                if (col < n) acc[u][col] = _mm256_fmadd_ps(x, k0[u], acc[u][col]);
                if (col >= 1 && col - 1 < n)
                    acc[u][col - 1] = _mm256_fmadd_ps(x, k1[u], acc[u][col - 1]);
                if (col >= 2 && col - 2 < n)
                    acc[u][col - 2] = _mm256_fmadd_ps(x, k2[u], acc[u][col - 2]);
            }
        }
    }
#pragma GCC unroll 2
    for (int u = 0; u < v; u++)
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (p < n) _mm256_store_ps(d + (size_t)p * cd + j + 8 * u, acc[u][p]);
}

/* Depthwise 3x3 of pixels px .. px + n - 1 (n <= GROUP) of a row whose three input rows are
 * taps[] (cd channels, w pixels), into d[p][cd]. For each 16 channels a row's three taps stay in
 * registers while the n + 2 input columns stream by; each column feeds up to three pixels. */
TARGET static INLINE void dw_group(const float *const taps[3], const float *kernel, int cd, int w,
                                   int px, int n, float *d)
{
    int j = 0;
    for (; j + 16 <= cd; j += 16)
        dw_slice(taps, kernel, cd, w, px, n, j, 2, d);
    if (j < cd) dw_slice(taps, kernel, cd, w, px, n, j, 1, d);
}

/* Output channels [o, o + 8 v) of f on n pixels: q = act((bias + s W) + r), s the pixels' inputs
 * (cin apart), r their residuals (cout apart, or NULL), q their outputs (cout apart). */
TARGET static INLINE void pw_slice(const pointwise *f, const float *s, const float *r, float *q,
                                   int o, int v, int n)
{
    const int cin = f->cin, cout = f->cout;
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc[GROUP][3];
#pragma GCC unroll 4
    for (int p = 0; p < GROUP; p++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            if (p < n && k < v) acc[p][k] = _mm256_loadu_ps(f->bias + o + 8 * k);
    for (int i = 0; i < cin; i++) {
        const float *wr = f->w + (size_t)i * cout + o;
        __m256 wv[3];
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            if (k < v) wv[k] = _mm256_loadu_ps(wr + 8 * k);
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++) {
            if (p >= n) continue;
            const __m256 sp = _mm256_broadcast_ss(s + (size_t)p * cin + i);
#pragma GCC unroll 3
            for (int k = 0; k < 3; k++)
                if (k < v) acc[p][k] = _mm256_fmadd_ps(sp, wv[k], acc[p][k]);
        }
    }
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++) {
        if (k >= v) continue;
        const __m256 a = f->alpha ? _mm256_loadu_ps(f->alpha + o + 8 * k) : zero;
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (p < n) {
                __m256 t = acc[p][k];
                if (r) t = _mm256_add_ps(t, _mm256_loadu_ps(r + (size_t)p * cout + o + 8 * k));
                const __m256 pos = _mm256_max_ps(t, zero);
                _mm256_storeu_ps(q + (size_t)p * cout + o + 8 * k,
                                 f->alpha ? _mm256_fmadd_ps(a, _mm256_min_ps(t, zero), pos) : pos);
            }
    }
}

/* All of f's output channels for n pixels, in slices of 24 (the last 8 or 16). */
TARGET static INLINE void pw_group(const pointwise *f, const float *s, const float *r, float *q,
                                   int n)
{
    for (int o = 0; o < f->cout; o += 24) {
        const int left = f->cout - o;
        if (left >= 24)
            pw_slice(f, s, r, q, o, 3, n);
        else if (left == 16)
            pw_slice(f, s, r, q, o, 2, n);
        else
            pw_slice(f, s, r, q, o, 1, n);
    }
}

TARGET static void expand_avx2(const pointwise *f, const float *x, int w, float *e)
{
    int px = 0;
    for (; px + GROUP <= w; px += GROUP)
        pw_group(f, x + (size_t)px * f->cin, NULL, e + (size_t)px * f->cout, GROUP);
    for (; px < w; px++)
        pw_group(f, x + (size_t)px * f->cin, NULL, e + (size_t)px * f->cout, 1);
}

TARGET static void row_avx2(const nn_block *b, const float *const taps[3], const float *x, int w,
                            float *y)
{
    float d[GROUP * NN_BLOCK_MAX_C] __attribute__((aligned(32)));
    const pointwise f = last_conv(b);
    const size_t c = (size_t)b->c;
    int px = 0;
    for (; px + GROUP <= w; px += GROUP) {
        dw_group(taps, b->dw, f.cin, w, px, GROUP, d);
        pw_group(&f, d, x + px * c, y + px * c, GROUP);
    }
    for (; px < w; px++) {
        dw_group(taps, b->dw, f.cin, w, px, 1, d);
        pw_group(&f, d, x + px * c, y + px * c, 1);
    }
}

static const kernels AVX2 = {expand_avx2, row_avx2};

#endif

/* ---- rows --------------------------------------------------------------------------------- */

/* Rows [y0, y1) of the block's output with kernels k. A bottleneck's depthwise input rows are
 * made once each into a ring of three (row r in slot r % 3). */
static void rows_with(const nn_block *b, const kernels *k, const float *x, float *y, int h, int w,
                      int y0, int y1)
{
    const size_t stride = (size_t)w * b->c;
    float ring[3 * NN_BLOCK_RING];
    const pointwise f = first_conv(b);
    int made = y0 - 2; /* the last ring row made */
    for (int py = y0; py < y1; py++) {
        const float *taps[3];
        for (int dy = 0; dy < 3; dy++) {
            const int r = py + dy - 1;
            taps[dy] = NULL;
            if (r < 0 || r >= h) continue;
            if (!b->m) {
                taps[dy] = x + r * stride;
                continue;
            }
            float *slot = ring + (size_t)(r % 3) * NN_BLOCK_RING;
            if (r > made) {
                k->expand(&f, x + r * stride, w, slot);
                made = r;
            }
            taps[dy] = slot;
        }
        k->row(b, taps, x + py * stride, w, y + py * stride);
    }
}

static void rows(const nn_block *b, const float *x, float *y, int h, int w, int y0, int y1)
{
#ifdef HAVE_X86
    if (b->c % 8 == 0 && b->m % 8 == 0 && fg_cpu_avx2_fma()) {
        rows_with(b, &AVX2, x, y, h, w, y0, y1);
        return;
    }
#endif
    rows_with(b, &PORTABLE, x, y, h, w, y0, y1);
}

void nn_block_run_portable(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows_with(b, &PORTABLE, x, y, h, w, 0, h);
}

void nn_block_run(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows(b, x, y, h, w, 0, h);
}

typedef struct block_task {
    const nn_block *b;
    const float *x;
    float *y;
    int h, w;
} block_task;

static void block_rows(void *ctx, int y0, int y1)
{
    const block_task *t = ctx;
    rows(t->b, t->x, t->y, t->h, t->w, y0, y1);
}

/* Every output row reads only x, so bands of rows are independent. */
void nn_block_run_on(const nn_block *b, const float *x, float *y, int h, int w,
                     const nn_runtime *rt)
{
    block_task t = {b, x, y, h, w};
    nn_parallel_rows(rt, h, block_rows, &t);
}

int nn_block_fits(const nn_block *b, int w)
{
    return w >= 1 && (size_t)w * (size_t)(b->m ? b->m : 1) <= NN_BLOCK_RING;
}

uint64_t nn_block_macs(const nn_block *b, int h, int w)
{
    const uint64_t c = (uint64_t)b->c, m = (uint64_t)b->m, pixels = (uint64_t)h * (uint64_t)w;
    return m ? pixels * (c * m + 9u * m + m * c) : pixels * c * (9u + c);
}

void nn_block_free(nn_block *b)
{
    if (!b) return;
    free(b->w1);
    free(b->b1);
    free(b->alpha1);
    free(b->dw);
    free(b->w);
    free(b->bias);
    free(b->alpha);
    memset(b, 0, sizeof *b);
}
