/*
 * block.c - a residual block of BlazeFace, FaceMesh or the iris net in one pass:
 *   plain (BlazeFace, FaceMesh):  y = act(x + bias + W * depthwise3x3(x))
 *   bottleneck (iris):            y = act(x + bias + W * depthwise3x3(prelu(W1 * x + b1)))
 *   strided (both, between resolutions):
 *                                 y = act(pad(maxpool2x2(x)) + bias + W * depthwise3x3s2(x))
 *   strided bottleneck (iris):    y = act(pad(maxpool2x2(x)) + bias
 *                                         + W * depthwise3x3(prelu(W1 * 2x2s2(x) + b1)))
 *   residual from e (FaceMesh):   y = act(e + bias + W * depthwise3x3(e)), e = prelu(W1 * x + b1)
 * with act = ReLU (BlazeFace) or PReLU. A strided block halves the height and width and widens
 * cin channels to c: its residual is the 2x2 max of x in the first cin channels and zeros above
 * (the graph's channel Pad). A strided bottleneck halves the size in its first convolution (2x2
 * stride 2), so its depthwise runs at stride 1 on the halved rows.
 *
 * XNNPACK runs such a block as four to six operators, each a pass over the whole tensor. At
 * BlazeFace's 128x128x24 or FaceMesh's 96x96x16 a tensor is 0.6-1.5 MB, more than a core's L2
 * cache, so the block is bound by memory traffic, not arithmetic: the bench's operator profile
 * showed the add and the activation alone taking a quarter of the block's time. Here each group
 * of 4 pixels goes through every step while it is in registers: x is read (its 3x3
 * neighbourhood from L1/L2, since rows are visited in order) and y written once. A bottleneck
 * block keeps the three rows of prelu(W1 * x + b1) the depthwise needs in a ring, each row
 * computed once. A strided block was six or seven small operators in XNNPACK (and split the
 * networks into a runtime per resolution); here it reads its two input rows once for both the
 * depthwise and the pool.
 *
 * The AVX2+FMA kernel covers channel counts that are multiples of 8 (up to NN_BLOCK_MAX_C): the
 * depthwise taps of 8 channels stay in registers while the group's input columns stream by, and
 * the 1x1 convolutions run in slices of 24 output channels (12 accumulators for the 4 pixels).
 * Stride-1 blocks of at most 24 channels (BlazeFace's first two stages, FaceMesh's first) take
 * their depthwise 8 pixels at a time inside the row (dw_slice_wide).
 * Where the CPU has AVX-512, the 1x1 convolutions to a multiple of 16 channels (BlazeFace's 48 and
 * 96, FaceMesh's and the iris net's) run on 16-float vectors, in slices of 48 (32 + 32 for 64),
 * and so do their blocks' depthwise groups of 4 pixels where the depthwise has a multiple of 16
 * channels: the same sums in the same order, so the same bits, in half the FMA instructions (one
 * frame of BlazeFace + FaceMesh + iris on single640.jpg, one thread, best of 300 alternated three
 * times: 8.1 -> 6.9 ms with the 1x1s, 7.2-7.5 -> 7.0-7.05 more with the depthwise). BlazeFace's
 * 24-channel stages stay on AVX2: one 16-float and one 8-float vector for their 24 channels
 * measured no faster than three of 8.
 * Other channel counts, or a CPU without AVX2/FMA, take the plain C loops. Both sum the taps and
 * the products in a fixed order in float32, so results differ from XNNPACK's only in rounding
 * (the models' parity tests against Human hold them to 1e-3).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
#define HAVE_X86 1
#endif

/* A k x k stride-k convolution (k = 1 or 2) with bias and activation: the block's last one
 * (1x1), or a bottleneck's first (1x1, or 2x2 in a strided bottleneck). An output pixel's input
 * is k runs of k * cin contiguous floats, `row` floats apart (the input's rows). */
typedef struct pointwise {
    const float *w;     /* [k][k][cin][cout] */
    const float *bias;  /* [cout] */
    const float *alpha; /* [cout] PReLU slopes, or NULL for ReLU */
    int cin, cout, k;
    size_t row;
    int wide; /* on AVX-512's 16-float vectors (cout a multiple of 16) */
} pointwise;

static pointwise last_conv(const nn_block *b, int wide)
{
    return (pointwise){b->w, b->bias, b->alpha, b->m ? b->m : b->cin,
                       b->c, 1,       0,        wide && b->c % 16 == 0};
}

/* A bottleneck's first convolution on input rows w pixels wide. */
static pointwise first_conv(const nn_block *b, int w, int wide)
{
    return (pointwise){b->w1, b->b1,     b->alpha1,          b->cin,
                       b->m,  b->stride, (size_t)w * b->cin, wide && b->m % 16 == 0};
}

/* The depthwise's stride: a strided bottleneck halves the size before it. */
static int dw_stride(const nn_block *b)
{
    return b->m ? 1 : b->stride;
}

/* TF's SAME padding of the 3x3 depthwise before the first row and column: 1 at stride 1, 0 at
 * stride 2 on an even size (the 1 after is the image's edge). */
static int pad_before(const nn_block *b)
{
    return dw_stride(b) == 1;
}

/* A stride-1 block's residual row: its input row x, or a res_from_e block's depthwise input row
 * (the middle tap row, e of the same output row). */
static inline const float *residual_row(const nn_block *b, const float *const taps[3],
                                        const float *x)
{
    return b->res_from_e ? taps[1] : x;
}

/* The kernels that make one row of the depthwise's input (a bottleneck's first convolution, from
 * the first of its f->k input rows, w pixels wide) and one row of output from taps, the three
 * input rows of its depthwise (NULL outside the image), and x, the input row of its residual (a
 * strided block: the first of two), w pixels wide: the block's input width. */
typedef struct kernels {
    void (*expand)(const pointwise *f, const float *x, int w, float *e);
    void (*row)(const nn_block *b, const float *const taps[3], const float *x, int w, float *y);
    int wide; /* the 1x1 convolutions on AVX-512 where their channels allow */
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
    const int len = f->k * f->cin;
    for (int o = 0; o < f->cout; o++)
        q[o] = f->bias[o];
    for (int dy = 0; dy < f->k; dy++)
        for (int i = 0; i < len; i++)
            for (int o = 0; o < f->cout; o++)
                q[o] += s[dy * f->row + i] * f->w[((size_t)dy * len + i) * f->cout + o];
    for (int o = 0; o < f->cout; o++)
        q[o] = activate(f->alpha, o, q[o] + (r ? r[o] : 0.0f));
}

static void expand_portable(const pointwise *f, const float *x, int w, float *e)
{
    for (int px = 0; px < w / f->k; px++)
        pointwise_pixel(f, x + (size_t)px * f->k * f->cin, NULL, e + (size_t)px * f->cout);
}

/* A strided block's residual at output pixel px: the 2x2 max of input rows x and the next (w
 * pixels) in the first cin channels, zeros up to c. */
static void pool_pixel(const nn_block *b, const float *x, int w, int px, float *r)
{
    const size_t row = (size_t)w * b->cin;
    const float *s = x + (size_t)2 * px * b->cin, *t = s + b->cin;
    for (int ch = 0; ch < b->cin; ch++)
        r[ch] = fmaxf(fmaxf(s[ch], t[ch]), fmaxf(s[row + ch], t[row + ch]));
    for (int ch = b->cin; ch < b->c; ch++)
        r[ch] = 0.0f;
}

static void row_portable(const nn_block *b, const float *const taps[3], const float *x, int w,
                         float *y)
{
    const pointwise f = last_conv(b, 0);
    const int cd = f.cin, stride = dw_stride(b), pad = pad_before(b), tw = w / (b->stride / stride);
    float d[NN_BLOCK_MAX_C], r[NN_BLOCK_MAX_C];
    for (int px = 0; px < w / b->stride; px++) {
        for (int k = 0; k < cd; k++)
            d[k] = 0.0f;
        for (int dy = 0; dy < 3; dy++) {
            if (!taps[dy]) continue;
            for (int dx = 0; dx < 3; dx++) {
                const int xx = stride * px - pad + dx;
                if (xx < 0 || xx >= tw) continue;
                const float *s = taps[dy] + (size_t)xx * cd;
                const float *k = b->dw + (dy * 3 + dx) * cd;
                for (int ch = 0; ch < cd; ch++)
                    d[ch] += s[ch] * k[ch];
            }
        }
        if (b->stride == 1) {
            pointwise_pixel(&f, d, residual_row(b, taps, x) + (size_t)px * b->c,
                            y + (size_t)px * b->c);
        } else {
            pool_pixel(b, x, w, px, r);
            pointwise_pixel(&f, d, r, y + (size_t)px * b->c);
        }
    }
}

static const kernels PORTABLE = {expand_portable, row_portable, 0};

/* ---- AVX2 + FMA --------------------------------------------------------------------------- */

#ifdef HAVE_X86
/* Not instrumented by AddressSanitizer (nn/avx2.h says why); the unit test holds this path to
 * the plain-C one and to the ops in double on every border case. */
#define TARGET NN_AVX2
#define INLINE NN_INLINE
#define GROUP 4 /* pixels per group */

/* Channels [j, j + 8 v) (v = 1 or 2) of dw_group: 4 v accumulators, so that two channel
 * vectors give the FMA units 8 independent chains. */
TARGET static INLINE void dw_slice(const float *const taps[3], const float *kernel, int cd, int w,
                                   int px, int n, int j, int v, int stride, float *d)
{
    const int pad = stride == 1; /* pad_before */
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
        /* Input column stride * px - pad + col is tap col - stride * p of pixel p. */
#pragma GCC unroll 9
        for (int col = 0; col < stride * (GROUP - 1) + 3; col++) {
            const int xx = stride * px - pad + col;
            if (col >= stride * (n - 1) + 3 || xx < 0 || xx >= w) continue;
#pragma GCC unroll 2
            for (int u = 0; u < v; u++) {
                const __m256 x = _mm256_loadu_ps(row + (size_t)xx * cd + 8 * u);
                const __m256 k[3] = {k0[u], k1[u], k2[u]};
#pragma GCC unroll 3
                for (int t = 0; t < 3; t++) {
                    const int p = (col - t) / stride;
                    if (col >= t && (col - t) % stride == 0 && p < n)
                        acc[u][p] = _mm256_fmadd_ps(x, k[t], acc[u][p]);
                }
            }
        }
    }
#pragma GCC unroll 2
    for (int u = 0; u < v; u++)
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (p < n) _mm256_store_ps(d + (size_t)p * cd + j + 8 * u, acc[u][p]);
}

/* Channels [j, j + 8) of the depthwise at stride 1 for WIDE pixels from px whose input columns
 * all lie in the row (no checks): WIDE accumulators. At 16 or 24 channels dw_slice's 4-pixel
 * groups are bound by loads (16 channels' taps fill the registers, so the compiler reloads each
 * input column for every tap it feeds); 8 pixels of 8 channels keep a column in a register for
 * its three taps and still give the FMA units 8 independent chains. */
#define WIDE 8
TARGET static INLINE void dw_slice_wide(const float *const taps[3], const float *kernel, int cd,
                                        int px, int j, float *d)
{
    __m256 acc[WIDE];
#pragma GCC unroll 8
    for (int p = 0; p < WIDE; p++)
        acc[p] = _mm256_setzero_ps();
    for (int dy = 0; dy < 3; dy++) {
        if (!taps[dy]) continue;
        const float *row = taps[dy] + (size_t)(px - 1) * cd + j,
                    *k = kernel + (size_t)dy * 3 * cd + j;
        const __m256 kt[3] = {_mm256_loadu_ps(k), _mm256_loadu_ps(k + cd),
                              _mm256_loadu_ps(k + 2 * cd)};
#pragma GCC unroll 10
        for (int col = 0; col < WIDE + 2; col++) {
            const __m256 x = _mm256_loadu_ps(row + (size_t)col * cd);
#pragma GCC unroll 3
            for (int t = 0; t < 3; t++)
                if (col >= t && col - t < WIDE)
                    acc[col - t] = _mm256_fmadd_ps(x, kt[t], acc[col - t]);
        }
    }
#pragma GCC unroll 8
    for (int p = 0; p < WIDE; p++)
        _mm256_store_ps(d + (size_t)p * cd + j, acc[p]);
}

/* Depthwise 3x3 of output pixels px .. px + n - 1 (n <= GROUP) of a row whose three input rows
 * are taps[] (cd channels, w pixels), into d[p][cd]. For each 16 channels a row's three taps
 * stay in registers while the input columns stream by; each column feeds up to three pixels
 * (stride 1) or two (stride 2). */
TARGET static INLINE void dw_group(const float *const taps[3], const float *kernel, int cd, int w,
                                   int px, int n, int stride, float *d)
{
    int j = 0;
    for (; j + 16 <= cd; j += 16)
        dw_slice(taps, kernel, cd, w, px, n, j, 2, stride, d);
    if (j < cd) dw_slice(taps, kernel, cd, w, px, n, j, 1, stride, d);
}

/* dw_slice on 16-float vectors: channels [j, j + 16 v), v = 1 or 2. */
NN_AVX512 static NN_INLINE void dw_slice512(const float *const taps[3], const float *kernel, int cd,
                                            int w, int px, int n, int j, int v, int stride,
                                            float *d)
{
    const int pad = stride == 1;
    __m512 acc[2][GROUP];
#pragma GCC unroll 2
    for (int u = 0; u < 2; u++)
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            acc[u][p] = _mm512_setzero_ps();
    for (int dy = 0; dy < 3; dy++) {
        if (!taps[dy]) continue;
        const float *row = taps[dy] + j, *k = kernel + (size_t)dy * 3 * cd + j;
        __m512 k0[2], k1[2], k2[2];
#pragma GCC unroll 2
        for (int u = 0; u < 2; u++) {
            if (u >= v) continue;
            k0[u] = _mm512_loadu_ps(k + 16 * u);
            k1[u] = _mm512_loadu_ps(k + cd + 16 * u);
            k2[u] = _mm512_loadu_ps(k + 2 * cd + 16 * u);
        }
#pragma GCC unroll 9
        for (int col = 0; col < stride * (GROUP - 1) + 3; col++) {
            const int xx = stride * px - pad + col;
            if (col >= stride * (n - 1) + 3 || xx < 0 || xx >= w) continue;
#pragma GCC unroll 2
            for (int u = 0; u < 2; u++) {
                if (u >= v) continue;
                const __m512 x = _mm512_loadu_ps(row + (size_t)xx * cd + 16 * u);
                const __m512 kt[3] = {k0[u], k1[u], k2[u]};
#pragma GCC unroll 3
                for (int t = 0; t < 3; t++) {
                    const int p = (col - t) / stride;
                    if (col >= t && (col - t) % stride == 0 && p < n)
                        acc[u][p] = _mm512_fmadd_ps(x, kt[t], acc[u][p]);
                }
            }
        }
    }
#pragma GCC unroll 2
    for (int u = 0; u < 2; u++)
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (u < v && p < n) _mm512_storeu_ps(d + (size_t)p * cd + j + 16 * u, acc[u][p]);
}

NN_AVX512 static NN_INLINE void dw_slices512(const float *const taps[3], const float *kernel,
                                             int cd, int w, int px, int n, int stride, float *d)
{
    int j = 0;
    for (; j + 32 <= cd; j += 32)
        dw_slice512(taps, kernel, cd, w, px, n, j, 2, stride, d);
    if (j < cd) dw_slice512(taps, kernel, cd, w, px, n, j, 1, stride, d);
}

/* dw_group on 16-float vectors, for a multiple of 16 channels: one call per group from the AVX2
 * row kernels, the stride and a whole group constants in each branch. */
NN_AVX512 static void dw_group512(const float *const taps[3], const float *kernel, int cd, int w,
                                  int px, int n, int stride, float *d)
{
    if (stride == 1 && n == GROUP)
        dw_slices512(taps, kernel, cd, w, px, GROUP, 1, d);
    else if (stride == 1)
        dw_slices512(taps, kernel, cd, w, px, n, 1, d);
    else if (n == GROUP)
        dw_slices512(taps, kernel, cd, w, px, GROUP, 2, d);
    else
        dw_slices512(taps, kernel, cd, w, px, n, 2, d);
}

/* Output channels [o, o + 8 v) of f on n pixels: q = act((bias + s W) + r), s the pixels' inputs
 * (k cin apart), r their residuals (cout apart, or NULL), q their outputs (cout apart). */
TARGET static INLINE void pw_slice(const pointwise *f, const float *s, const float *r, float *q,
                                   int o, int v, int n)
{
    const int len = f->k * f->cin, cout = f->cout;
    const __m256 zero = _mm256_setzero_ps();
    __m256 acc[GROUP][3];
#pragma GCC unroll 4
    for (int p = 0; p < GROUP; p++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            if (p < n && k < v) acc[p][k] = _mm256_loadu_ps(f->bias + o + 8 * k);
    for (int dy = 0; dy < f->k; dy++)
        nn_avx2_tile(acc, GROUP, s + dy * f->row, (size_t)len, f->w + (size_t)dy * len * cout + o,
                     (size_t)cout, len, v, n);
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++) {
        if (k >= v) continue;
        const __m256 a = f->alpha ? _mm256_loadu_ps(f->alpha + o + 8 * k) : zero;
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (p < n) {
                __m256 t = acc[p][k];
                if (r) t = _mm256_add_ps(t, _mm256_loadu_ps(r + (size_t)p * cout + o + 8 * k));
                _mm256_storeu_ps(q + (size_t)p * cout + o + 8 * k,
                                 nn_avx2_act(t, a, f->alpha != NULL));
            }
    }
}

/* pw_slice on 16-float vectors: output channels [o, o + 16 v), v <= 3. */
NN_AVX512 static NN_INLINE void pw_slice512(const pointwise *f, const float *s, const float *r,
                                            float *q, int o, int v, int n)
{
    const int len = f->k * f->cin, cout = f->cout;
    const __m512 zero = _mm512_setzero_ps();
    __m512 acc[GROUP][3];
#pragma GCC unroll 4
    for (int p = 0; p < GROUP; p++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            acc[p][k] = k < v ? _mm512_loadu_ps(f->bias + o + 16 * k) : zero;
    for (int dy = 0; dy < f->k; dy++)
        nn_avx512_tile(acc, GROUP, s + dy * f->row, (size_t)len, f->w + (size_t)dy * len * cout + o,
                       (size_t)cout, len, v, n);
#pragma GCC unroll 3
    for (int k = 0; k < 3; k++) {
        if (k >= v) continue;
        const __m512 a = f->alpha ? _mm512_loadu_ps(f->alpha + o + 16 * k) : zero;
#pragma GCC unroll 4
        for (int p = 0; p < GROUP; p++)
            if (p < n) {
                __m512 t = acc[p][k];
                if (r) t = _mm512_add_ps(t, _mm512_loadu_ps(r + (size_t)p * cout + o + 16 * k));
                _mm512_storeu_ps(q + (size_t)p * cout + o + 16 * k,
                                 nn_avx512_act(t, a, f->alpha != NULL));
            }
    }
}

/* pw_group on 16-float vectors (f->wide): slices of 48 channels, 32 + 32 for 64. */
NN_AVX512 static NN_INLINE void pw_slices512(const pointwise *f, const float *s, const float *r,
                                             float *q, int n)
{
    for (int o = 0; o < f->cout;) {
        const int left = f->cout - o;
        if (left >= 48 && left != 64) {
            pw_slice512(f, s, r, q, o, 3, n);
            o += 48;
        } else if (left >= 32) {
            pw_slice512(f, s, r, q, o, 2, n);
            o += 32;
        } else {
            pw_slice512(f, s, r, q, o, 1, n);
            o += 16;
        }
    }
}

/* One call per group from the AVX2 row kernels (a function of another target is not inlined);
 * n a constant in each branch, for the compiler's unrolling. */
NN_AVX512 static void pw_group512(const pointwise *f, const float *s, const float *r, float *q,
                                  int n)
{
    if (n == GROUP)
        pw_slices512(f, s, r, q, GROUP);
    else if (n == 3)
        pw_slices512(f, s, r, q, 3);
    else if (n == 2)
        pw_slices512(f, s, r, q, 2);
    else
        pw_slices512(f, s, r, q, 1);
}

/* All of f's output channels for n pixels, in slices of 24, the last 32 as two of 16: a slice
 * of 8 has 4 accumulators, which wait on the FMAs' latency (the iris net's 1x1 to 32 channels
 * took 8% longer as 24 + 8; 128 = 5 x 24 + 8, 3% longer). Only 8 channels in all take one. */
TARGET static INLINE void pw_group(const pointwise *f, const float *s, const float *r, float *q,
                                   int n)
{
    if (f->wide) {
        pw_group512(f, s, r, q, n);
        return;
    }
    for (int o = 0; o < f->cout;) {
        const int left = f->cout - o;
        /* Constant slice widths, for the compiler's unrolling. */
        if (left >= 24 && left != 32) {
            pw_slice(f, s, r, q, o, 3, n);
            o += 24;
        } else if (left >= 16) {
            pw_slice(f, s, r, q, o, 2, n);
            o += 16;
        } else {
            pw_slice(f, s, r, q, o, 1, n);
            o += 8;
        }
    }
}

TARGET static void expand_avx2(const pointwise *f, const float *x, int w, float *e)
{
    const size_t step = (size_t)f->k * f->cin;
    const int ow = w / f->k;
    int px = 0;
    for (; px + GROUP <= ow; px += GROUP)
        pw_group(f, x + px * step, NULL, e + (size_t)px * f->cout, GROUP);
    /* The last 1 to 3 pixels in one group (a constant n, for the compiler's unrolling). */
    const float *s = x + px * step;
    float *q = e + (size_t)px * f->cout;
    switch (ow - px) {
    case 3:
        pw_group(f, s, NULL, q, 3);
        break;
    case 2:
        pw_group(f, s, NULL, q, 2);
        break;
    case 1:
        pw_group(f, s, NULL, q, 1);
        break;
    }
}

/* pool_pixel for the n output pixels from px, into r[p][c]. */
TARGET static INLINE void pool_group(const nn_block *b, const float *x, int w, int px, int n,
                                     float *r)
{
    const size_t row = (size_t)w * b->cin;
    for (int p = 0; p < n; p++) {
        const float *s = x + (size_t)2 * (px + p) * b->cin, *t = s + b->cin;
        float *q = r + (size_t)p * b->c;
        int ch = 0;
        for (; ch < b->cin; ch += 8) {
            const __m256 top = _mm256_max_ps(_mm256_loadu_ps(s + ch), _mm256_loadu_ps(t + ch));
            const __m256 bottom =
                _mm256_max_ps(_mm256_loadu_ps(s + row + ch), _mm256_loadu_ps(t + row + ch));
            _mm256_store_ps(q + ch, _mm256_max_ps(top, bottom));
        }
        for (; ch < b->c; ch += 8)
            _mm256_store_ps(q + ch, _mm256_setzero_ps());
    }
}

/* The 1x1 with the residual (x itself or e in a stride-1 block, pooled into r in a strided one)
 * of the n output pixels from px, whose depthwise outputs are d. */
TARGET static INLINE void finish_group(const nn_block *b, const pointwise *f,
                                       const float *const taps[3], const float *d, const float *x,
                                       int w, int px, int n, float *r, float *y)
{
    const size_t c = (size_t)b->c;
    if (b->stride == 2) pool_group(b, x, w, px, n, r);
    pw_group(f, d, b->stride == 1 ? residual_row(b, taps, x) + px * c : r, y + px * c, n);
}

/* The n output pixels from px of a row: depthwise (at stride `stride` on taps tw pixels wide),
 * then finish_group. */
TARGET static INLINE void group_avx2(const nn_block *b, const pointwise *f,
                                     const float *const taps[3], int tw, const float *x, int w,
                                     int px, int n, int stride, float *d, float *r, float *y)
{
    if (f->wide && f->cin % 16 == 0)
        dw_group512(taps, b->dw, f->cin, tw, px, n, stride, d);
    else
        dw_group(taps, b->dw, f->cin, tw, px, n, stride, d);
    finish_group(b, f, taps, d, x, w, px, n, r, y);
}

/* Output pixels [px, px + WIDE) of a stride-1 block of at most 24 depthwise channels, the
 * depthwise by dw_slice_wide when all its input columns lie in the row. */
TARGET static INLINE void wide_group(const nn_block *b, const pointwise *f,
                                     const float *const taps[3], const float *x, int w, int px,
                                     float *d, float *r, float *y)
{
    if (px < 1 || px + WIDE + 1 > w) {
        for (int q = 0; q < WIDE; q += GROUP)
            group_avx2(b, f, taps, w, x, w, px + q, GROUP, 1, d, r, y);
        return;
    }
    for (int j = 0; j < f->cin; j += 8)
        dw_slice_wide(taps, b->dw, f->cin, px, j, d);
    for (int q = 0; q < WIDE; q += GROUP)
        finish_group(b, f, taps, d + (size_t)q * f->cin, x, w, px + q, GROUP, r, y);
}

/* row_avx2 for one depthwise stride, a constant once inlined. */
TARGET static INLINE void row_stride(const nn_block *b, const float *const taps[3], const float *x,
                                     int w, float *y, int stride, int wide)
{
    float d[WIDE * NN_BLOCK_MAX_C] __attribute__((aligned(32)));
    float r[GROUP * NN_BLOCK_MAX_C] __attribute__((aligned(32)));
    const pointwise f = last_conv(b, wide);
    const int ow = w / b->stride, tw = w / (b->stride / stride);
    int px = 0;
    if (b->stride == 1 && f.cin <= 24)
        for (; px + WIDE <= ow; px += WIDE)
            wide_group(b, &f, taps, x, w, px, d, r, y);
    for (; px + GROUP <= ow; px += GROUP)
        group_avx2(b, &f, taps, tw, x, w, px, GROUP, stride, d, r, y);
    /* The last 1 to 3 pixels in one group: one at a time, the 1x1's 3 accumulators would wait
     * on the FMAs' latency (the iris net's rows are 2 to 8 pixels wide). */
    switch (ow - px) {
    case 3:
        group_avx2(b, &f, taps, tw, x, w, px, 3, stride, d, r, y);
        break;
    case 2:
        group_avx2(b, &f, taps, tw, x, w, px, 2, stride, d, r, y);
        break;
    case 1:
        group_avx2(b, &f, taps, tw, x, w, px, 1, stride, d, r, y);
        break;
    }
}

TARGET static void row_avx2(const nn_block *b, const float *const taps[3], const float *x, int w,
                            float *y)
{
    if (dw_stride(b) == 2)
        row_stride(b, taps, x, w, y, 2, 0);
    else
        row_stride(b, taps, x, w, y, 1, 0);
}

/* row_avx2 with the last 1x1 on AVX-512 where its channels allow. */
TARGET static void row_avx512(const nn_block *b, const float *const taps[3], const float *x, int w,
                              float *y)
{
    if (dw_stride(b) == 2)
        row_stride(b, taps, x, w, y, 2, 1);
    else
        row_stride(b, taps, x, w, y, 1, 1);
}

static const kernels AVX2 = {expand_avx2, row_avx2, 0};
static const kernels AVX512 = {expand_avx2, row_avx512, 1};

#endif

/* ---- rows --------------------------------------------------------------------------------- */

/* Rows [y0, y1) of the block's output with kernels k. A bottleneck's depthwise input rows are
 * made once each into a ring of three (row r in slot r % 3); a strided bottleneck's from input
 * rows 2 r and 2 r + 1. */
static void rows_with(const nn_block *b, const kernels *k, const float *x, float *y, int h, int w,
                      int y0, int y1)
{
    const size_t in_row = (size_t)w * b->cin, out_row = (size_t)(w / b->stride) * b->c;
    const int stride = dw_stride(b), th = h / (b->stride / stride); /* the depthwise's input */
    float ring[3 * NN_BLOCK_RING] __attribute__((aligned(FG_CACHE_LINE)));
    const pointwise f = first_conv(b, w, k->wide);
    int made = y0 - 2; /* the last ring row made */
    for (int py = y0; py < y1; py++) {
        const float *taps[3];
        for (int dy = 0; dy < 3; dy++) {
            const int r = stride * py + dy - pad_before(b);
            taps[dy] = NULL;
            if (r < 0 || r >= th) continue;
            if (!b->m) {
                taps[dy] = x + r * in_row;
                continue;
            }
            float *slot = ring + (size_t)(r % 3) * NN_BLOCK_RING;
            if (r > made) {
                k->expand(&f, x + (size_t)b->stride * r * in_row, w, slot);
                made = r;
            }
            taps[dy] = slot;
        }
        k->row(b, taps, x + (size_t)b->stride * py * in_row, w, y + py * out_row);
    }
}

static void rows(const nn_block *b, const float *x, float *y, int h, int w, int y0, int y1)
{
#ifdef HAVE_X86
    if (b->c % 8 == 0 && b->cin % 8 == 0 && b->m % 8 == 0 && fg_cpu_avx2_fma()) {
        rows_with(b, fg_cpu_avx512() ? &AVX512 : &AVX2, x, y, h, w, y0, y1);
        return;
    }
#endif
    rows_with(b, &PORTABLE, x, y, h, w, y0, y1);
}

void nn_block_output_size(const nn_block *b, int h, int w, int *oh, int *ow)
{
    *oh = h / b->stride;
    *ow = w / b->stride;
}

void nn_block_run_portable(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows_with(b, &PORTABLE, x, y, h, w, 0, h / b->stride);
}

void nn_block_run(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows(b, x, y, h, w, 0, h / b->stride);
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
    nn_parallel_rows(rt, h / b->stride, block_rows, &t);
}

int nn_block_fits(const nn_block *b, int h, int w)
{
    if (h < 1 || w < 1) return 0;
    if (b->stride == 2 && (h % 2 || w % 2)) return 0;
    return (size_t)(w / b->stride) * (size_t)(b->m ? b->m : 1) <= NN_BLOCK_RING;
}

uint64_t nn_block_macs(const nn_block *b, int h, int w)
{
    const uint64_t c = (uint64_t)b->c, m = (uint64_t)b->m, cin = (uint64_t)b->cin;
    const uint64_t s = (uint64_t)b->stride, pixels = (uint64_t)(h / b->stride) * (w / b->stride);
    return m ? pixels * (s * s * cin * m + 9u * m + m * c) : pixels * cin * (9u + c);
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
