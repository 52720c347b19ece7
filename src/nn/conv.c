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
 *
 * Small maps with large kernels (the descriptor's 4x4 x 3x3x256 -> 256 tail: 2.4 MB of weights
 * for 16 pixels) are the other way round: there the weights are what costs, and a row of 4
 * pixels has only 2 whose window lies inside it. nn_conv_slice stores the weights in slices of
 * 24 output channels ([slice][k][k][cin][24], each slice contiguous) and nn_conv_run_sliced
 * copies the map's windows once into a patch matrix (zeros where they cross the border, only the
 * kernel rows and columns some pixel reaches), then runs slice by slice, every pixel group of the
 * patch on a slice while it is in L2: each weight is read from memory once per run. An optional
 * residual is added before the activation, in the store. Where the CPU has AVX-512 and cout is a
 * multiple of 32, the slices are 32 channels wide and a group is 8 pixels x two 16-float vectors
 * (the same sums in the same order).
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
#define HAVE_X86 1
#endif

/* Output channels of a slice of sliced weights and of the AVX2 kernels' (SLICE), and of sliced
 * weights for the AVX-512 kernel (SLICE512: two vectors of 16). */
#define SLICE 24
#define SLICE512 32
/* A patch matrix of nn_conv_run_sliced, at most (576 KB): four of the descriptor's 4x4 maps in
 * one, which each slice re-reads from L2, cheaper than reading the weights again (its four
 * 3x3x256x256 convolutions on three maps: 2.03 ms in two patch matrices of 320 KB, 1.62 in one;
 * one thread, best of 200). */
#define PATCH_FLOATS 147456
#define GROUP_MAX 12 /* pixels of the largest group (slices of 8) */

static int out_size(const nn_conv *cv, int in)
{
    const int k = cv->k, s = cv->stride;
    if (cv->valid) return in >= k ? (in - k) / s + 1 : 0;
    return (in + s - 1) / s;
}

/* TF's SAME: out = ceil(in / s), the padding split with the odd one after; VALID: none. */
static int pad_before(const nn_conv *cv, int in, int k, int s)
{
    int out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    return !cv->valid && total > 0 ? total / 2 : 0;
}

void nn_conv_output_size(const nn_conv *cv, int h, int w, int *oh, int *ow)
{
    *oh = out_size(cv, h);
    *ow = out_size(cv, w);
}

/* The 8-channel vectors of the AVX2 kernels' slice at o: 3, or what is left of the weights'
 * slice (of all channels in HWIO). */
static int vecs_at(const nn_conv *cv, int o)
{
    const int end = cv->sliced && o / cv->sliced * cv->sliced + cv->sliced < cv->cout
                        ? o / cv->sliced * cv->sliced + cv->sliced
                        : cv->cout;
    return end - o >= SLICE ? SLICE / 8 : (end - o) / 8;
}

/* Output channels a slice of the sliced run covers: the weights' slices, or SLICE in HWIO. */
static inline int slice_step(const nn_conv *cv)
{
    return cv->sliced ? cv->sliced : SLICE;
}

static int slice_width(const nn_conv *cv, int o)
{
    return cv->sliced && cv->cout - o > cv->sliced ? cv->sliced : cv->cout - o;
}

/* The weights of output channel o on, to the end of its slice, and their row stride (ldw): HWIO
 * is one slice of all channels; sliced weights start a slice every cv->sliced channels. */
static const float *slice_weights(const nn_conv *cv, int o, size_t *ldw)
{
    if (!cv->sliced) {
        *ldw = (size_t)cv->cout;
        return cv->w + o;
    }
    const int s0 = o / cv->sliced * cv->sliced;
    *ldw = (size_t)slice_width(cv, s0);
    return cv->w + (size_t)s0 * cv->k * cv->k * cv->cin + (o - s0);
}

int nn_conv_slice(nn_conv *cv, fg_error *err)
{
    const size_t taps = (size_t)cv->k * cv->k * cv->cin;
    float *w;
    if (cv->sliced) return FG_OK;
    if (!(w = fg_alloc_lines(sizeof(float) * taps * (size_t)cv->cout)))
        return fg_fail(err, FG_ENOMEM, "out of memory for a convolution's weights");
    const int step = cv->cout % SLICE512 == 0 && fg_cpu_avx512() ? SLICE512 : SLICE;
    for (int o = 0; o < cv->cout; o += step) {
        const int width = cv->cout - o > step ? step : cv->cout - o;
        for (size_t i = 0; i < taps; i++)
            memcpy(w + (size_t)o * taps + i * (size_t)width, cv->w + i * (size_t)cv->cout + o,
                   sizeof(float) * (size_t)width);
    }
    free(cv->w);
    cv->w = w;
    cv->sliced = step;
    return FG_OK;
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

/* The kernel rows [ky0, ky1) and columns [kx0, kx1) that some output pixel's window reaches: a
 * patch matrix holds these taps of every pixel, (ky1 - ky0) rows of `len` floats. */
typedef struct reach {
    int ky0, ky1, kx0, kx1, len;
    size_t floats; /* one pixel's patch */
} reach;

static void widen(int n, int in, int k, int s, int pad, int *k0, int *k1)
{
    *k0 = k, *k1 = 0;
    for (int o = 0; o < n; o++) {
        const window win = window_at(o, in, k, s, pad);
        *k0 = win.k0 < *k0 ? win.k0 : *k0;
        *k1 = win.k1 > *k1 ? win.k1 : *k1;
    }
}

static reach reach_of(const nn_conv *cv, int h, int w)
{
    const int k = cv->k, s = cv->stride;
    int oh, ow;
    reach r;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    widen(oh, h, k, s, pad_before(cv, h, k, s), &r.ky0, &r.ky1);
    widen(ow, w, k, s, pad_before(cv, w, k, s), &r.kx0, &r.kx1);
    r.len = r.kx1 > r.kx0 ? (r.kx1 - r.kx0) * cv->cin : 0;
    r.floats = r.ky1 > r.ky0 ? (size_t)(r.ky1 - r.ky0) * (size_t)r.len : 0;
    return r;
}

/* Pixels per patch matrix: as many as fit PATCH_FLOATS, at least a group, at most the map. */
static int chunk_pixels(const reach *r, int pixels)
{
    size_t n = r->floats ? PATCH_FLOATS / r->floats : (size_t)pixels;
    n = n < GROUP_MAX ? GROUP_MAX : n;
    return n < (size_t)pixels ? (int)n : pixels;
}

size_t nn_conv_sliced_scratch(const nn_conv *cv, int images, int h, int w)
{
    const reach r = reach_of(cv, h, w);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    return (size_t)chunk_pixels(&r, images * oh * ow) * r.floats;
}

/* The patches of output pixels [p0, p1) (row-major, image after image), one after another from
 * `patch`: the taps r reaches of each window, zeros where it crosses the border. */
static void fill_patches(const nn_conv *cv, const reach *r, const float *x, int h, int w, int p0,
                         int p1, float *patch)
{
    const int k = cv->k, s = cv->stride, cin = cv->cin;
    const int pt = pad_before(cv, h, k, s), pl = pad_before(cv, w, k, s);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    for (int p = p0; p < p1; p++) {
        const int image = p / (oh * ow), oy = p % (oh * ow) / ow, ox = p % ow;
        const int iy0 = oy * s - pt, ix0 = ox * s - pl;
        const float *xi = x + (size_t)image * h * w * cin;
        float *q = patch + (size_t)(p - p0) * r->floats;
        for (int ky = r->ky0; ky < r->ky1; ky++)
            for (int kx = r->kx0; kx < r->kx1; kx++, q += cin) {
                const int iy = iy0 + ky, ix = ix0 + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                    memset(q, 0, sizeof(float) * (size_t)cin);
                else
                    memcpy(q, xi + ((size_t)iy * w + ix) * cin, sizeof(float) * (size_t)cin);
            }
    }
}

/* Output rows [y0, y1), + res (NULL: none) before the activation. */
static void rows_portable(const nn_conv *cv, const float *x, const float *res, float *y, int h,
                          int w, int y0, int y1)
{
    const int k = cv->k, s = cv->stride, cin = cv->cin, cout = cv->cout;
    const int pt = pad_before(cv, h, k, s), pl = pad_before(cv, w, k, s);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    (void)oh;
    for (int oy = y0; oy < y1; oy++) {
        const window wy = window_at(oy, h, k, s, pt);
        for (int ox = 0; ox < ow; ox++) {
            const window wx = window_at(ox, w, k, s, pl);
            const size_t at = ((size_t)oy * ow + ox) * cout;
            float *q = y + at;
            memcpy(q, cv->bias, sizeof(float) * (size_t)cout);
            for (int ky = wy.k0; ky < wy.k1; ky++)
                for (int kx = wx.k0; kx < wx.k1; kx++) {
                    const float *r = x + ((size_t)(wy.first + ky) * w + wx.first + kx) * cin;
                    const size_t tap = ((size_t)ky * k + kx) * cin;
                    for (int o0 = 0; o0 < cout; o0 += slice_width(cv, o0)) {
                        size_t ldw;
                        const int width = slice_width(cv, o0);
                        const float *wt = slice_weights(cv, o0, &ldw) + tap * ldw;
                        for (int i = 0; i < cin; i++)
                            for (int o = 0; o < width; o++)
                                q[o0 + o] += r[i] * wt[(size_t)i * ldw + o];
                    }
                }
            for (int o = 0; o < cout; o++) {
                const float t = res ? q[o] + res[at + o] : q[o];
                q[o] = t > 0.0f ? t : cv->alpha ? cv->alpha[o] * t : 0.0f;
            }
        }
    }
}

void nn_conv_run_portable(const nn_conv *cv, const float *x, float *y, int h, int w)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    rows_portable(cv, x, NULL, y, h, w, 0, oh);
}

void nn_conv_run_sliced_portable(const nn_conv *cv, const float *x, const float *res, float *y,
                                 int images, int h, int w)
{
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    const size_t in = (size_t)h * w * cv->cin, out = (size_t)oh * ow * cv->cout;
    for (int i = 0; i < images; i++)
        rows_portable(cv, x + in * i, res ? res + out * i : NULL, y + out * i, h, w, 0, oh);
}

#ifdef HAVE_X86
/* Not instrumented by AddressSanitizer (nn/avx2.h says why); the unit test holds this path to
 * the plain C loop, which reads the same taps, on every border case. */
#define TARGET NN_AVX2
#define INLINE NN_INLINE
#define ACCS 12 /* accumulators of a group: pixels x channel vectors */

/* The live part of the kernel for a group of output pixels: `rows` kernel rows of `len` taps
 * (live columns x cin) each, from input x (the first live row and column of the group's first
 * pixel; input rows xrow floats apart, pixels step floats apart) and weights wt (the first live
 * tap's of the slice; kernel rows wrow floats apart, taps ldw). */
typedef struct taps {
    const float *x, *wt;
    size_t xrow, wrow, ldw;
    int rows, len, step;
} taps;

/* Weights to prefetch into L2 while a slice computes: parts of the next AHEAD_SLICES slices,
 * `lines` cache lines of each after every AHEAD_TAPS taps. Memory serves several streams at once
 * faster than one: the tail's seven 3x3x256x256 convolutions took 2.7-3.2 ms with the next
 * slice prefetched, 2.0-2.8 ms with parts of the next four (2.1-3.0 with two, three, six or
 * eight; best of 40 runs, six alternated rounds). */
#define AHEAD_TAPS 32
#define AHEAD_SLICES 4
typedef struct ahead {
    const char *at[AHEAD_SLICES], *end[AHEAD_SLICES];
    int lines;
} ahead;

/* The next `lines` cache lines of each slice ahead (none when pf is NULL). */
static INLINE void prefetch_ahead(ahead *pf)
{
    if (!pf) return;
    for (int r = 0; r < AHEAD_SLICES; r++)
        for (int l = 0; l < pf->lines && pf->at[r] < pf->end[r]; l++, pf->at[r] += 64)
            _mm_prefetch(pf->at[r], _MM_HINT_T1);
}

/* Output channels [o, o + 8 v) of n pixels (n v <= ACCS), + res (NULL: none), stored cout apart
 * from q (res the same). */
TARGET static INLINE void conv_slice(const nn_conv *cv, taps t, ahead *pf, const float *res,
                                     float *q, int o, int v, int n)
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
        for (int i = 0; i < t.len; i += AHEAD_TAPS) {
            const int len = t.len - i < AHEAD_TAPS ? t.len - i : AHEAD_TAPS;
            nn_avx2_tile(acc, ACCS, t.x + ky * t.xrow + i, (size_t)t.step,
                         t.wt + ky * t.wrow + (size_t)i * t.ldw, t.ldw, len, v, n);
            prefetch_ahead(pf);
        }
#pragma GCC unroll 3
    for (int j = 0; j < 3; j++) {
        if (j >= v) continue;
        const __m256 a = cv->alpha ? _mm256_loadu_ps(cv->alpha + o + 8 * j) : zero;
#pragma GCC unroll 12
        for (int p = 0; p < ACCS; p++) {
            if (p >= n) continue;
            const size_t at = (size_t)p * cout + o + 8 * j;
            const __m256 sum =
                res ? _mm256_add_ps(acc[p][j], _mm256_loadu_ps(res + at)) : acc[p][j];
            _mm256_storeu_ps(q + at, nn_avx2_act(sum, a, cv->alpha != NULL));
        }
    }
}

/* One pixel, or a group of ACCS / v pixels, with v a constant in each call. */
TARGET static INLINE void slice_group(const nn_conv *cv, taps t, ahead *pf, const float *res,
                                      float *q, int o, int v, int one)
{
    if (v == 3)
        conv_slice(cv, t, pf, res, q, o, 3, one ? 1 : ACCS / 3);
    else if (v == 2)
        conv_slice(cv, t, pf, res, q, o, 2, one ? 1 : ACCS / 2);
    else
        conv_slice(cv, t, pf, res, q, o, 1, one ? 1 : ACCS);
}

/* conv_slice with vectors of 16 channels on a slice of 32 (SLICE512), n <= GROUP512 pixels: the
 * same sums in the same order. */
#define GROUP512 8 /* pixels of a group: 8 x 2 zmm accumulators, a 4x4 map in two groups */

NN_AVX512 static NN_INLINE void conv_slice512(const nn_conv *cv, taps t, ahead *pf,
                                              const float *res, float *q, int o, int n)
{
    const int cout = cv->cout;
    const __m512 zero = _mm512_setzero_ps();
    __m512 acc[GROUP512][3];
#pragma GCC unroll 8
    for (int p = 0; p < GROUP512; p++) {
        acc[p][0] = _mm512_loadu_ps(cv->bias + o);
        acc[p][1] = _mm512_loadu_ps(cv->bias + o + 16);
    }
    for (int ky = 0; ky < t.rows; ky++)
        for (int i = 0; i < t.len; i += AHEAD_TAPS) {
            const int len = t.len - i < AHEAD_TAPS ? t.len - i : AHEAD_TAPS;
            nn_avx512_tile(acc, GROUP512, t.x + ky * t.xrow + i, (size_t)t.step,
                           t.wt + ky * t.wrow + (size_t)i * t.ldw, t.ldw, len, 2, n);
            prefetch_ahead(pf);
        }
#pragma GCC unroll 2
    for (int j = 0; j < 2; j++) {
        const __m512 a = cv->alpha ? _mm512_loadu_ps(cv->alpha + o + 16 * j) : zero;
#pragma GCC unroll 8
        for (int p = 0; p < GROUP512; p++) {
            if (p >= n) continue;
            const size_t at = (size_t)p * cout + o + 16 * j;
            const __m512 sum =
                res ? _mm512_add_ps(acc[p][j], _mm512_loadu_ps(res + at)) : acc[p][j];
            _mm512_storeu_ps(q + at, nn_avx512_act(sum, a, cv->alpha != NULL));
        }
    }
}

/* The kernel's size, stride and input channels: constants where rows_with is specialised. */
typedef struct shape {
    int k, s, cin;
} shape;

/* The taps of output channels [o, ..) for output pixel ox (and, unless one, the pixels after it,
 * whose windows lie inside the row) on kernel rows wy. */
static inline taps taps_at(const nn_conv *cv, shape sh, const float *x, int w, window wy, int ox,
                           int o, int one)
{
    const int k = sh.k, cin = sh.cin;
    const window wx = window_at(ox, w, k, sh.s, pad_before(cv, w, k, sh.s));
    size_t ldw;
    const float *wt = slice_weights(cv, o, &ldw);
    const taps t = {x + ((size_t)(wy.first + wy.k0) * w + wx.first + wx.k0) * cin,
                    wt + ((size_t)wy.k0 * k + wx.k0) * cin * ldw,
                    (size_t)w * cin,
                    (size_t)k * cin * ldw,
                    ldw,
                    wy.k1 - wy.k0,
                    one ? (wx.k1 - wx.k0) * cin : k * cin,
                    sh.s * cin};
    return t;
}

/* conv_at's AVX-512 kernel: channels [o, o + 32) of pixel ox and, unless one, the GROUP512
 * pixels from it. A call, not inlined: its caller is compiled for AVX2. */
NN_AVX512 static void conv_at512(const nn_conv *cv, shape sh, const float *x, int w, window wy,
                                 int ox, float *y, int o, int one)
{
    const taps t = taps_at(cv, sh, x, w, wy, ox, o, one);
    if (one)
        conv_slice512(cv, t, NULL, NULL, y + (size_t)ox * cv->cout, o, 1);
    else
        conv_slice512(cv, t, NULL, NULL, y + (size_t)ox * cv->cout, o, GROUP512);
}

/* Output channels [o, o + 8 v) of output pixel ox and, unless one, the group of 12 / v pixels
 * from it (whose windows lie inside the row), on kernel rows wy; v == 4: conv_at512's 32 and
 * GROUP512 pixels. */
TARGET static INLINE void conv_at(const nn_conv *cv, shape sh, const float *x, int w, window wy,
                                  int ox, float *y, int o, int v, int one)
{
    if (v == 4) {
        conv_at512(cv, sh, x, w, wy, ox, y, o, one);
        return;
    }
    slice_group(cv, taps_at(cv, sh, x, w, wy, ox, o, one), NULL, NULL, y + (size_t)ox * cv->cout, o,
                v, one);
}

/* Output rows [y0, y1); wide: cout a multiple of 32 on a CPU with AVX-512, whose kernel takes
 * slices of 32 channels and groups of GROUP512 pixels. */
TARGET static INLINE void rows_with(const nn_conv *cv, shape sh, const float *x, float *y, int h,
                                    int w, int y0, int y1, int wide)
{
    const int k = sh.k, s = sh.s, cout = cv->cout;
    const int pt = pad_before(cv, h, k, s), pl = pad_before(cv, w, k, s);
    int oh, ow;
    nn_conv_output_size(cv, h, w, &oh, &ow);
    (void)oh;
    /* Columns [lo, hi) have their whole window inside the row. */
    const int lo = (pl + s - 1) / s, hi = w + pl >= k ? (w + pl - k) / s + 1 : 0;
    for (int oy = y0; oy < y1; oy++) {
        const window wy = window_at(oy, h, k, s, pt);
        float *q = y + (size_t)oy * ow * cout;
        for (int o = 0, v; o < cout; o += 8 * v) {
            v = wide ? 4 : vecs_at(cv, o);
            const int group = wide ? GROUP512 : ACCS / v;
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
    rows_with(cv, (shape){3, 2, 3}, x, y, h, w, y0, y1, 0);
}

TARGET static void rows_5x5(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                            int y1)
{
    rows_with(cv, (shape){5, 2, 3}, x, y, h, w, y0, y1, 0);
}

TARGET static void rows_avx2(const nn_conv *cv, const float *x, float *y, int h, int w, int y0,
                             int y1)
{
    if (cv->stride == 2 && cv->cin == 3 && cv->k == 3)
        rows_3x3(cv, x, y, h, w, y0, y1);
    else if (cv->stride == 2 && cv->cin == 3 && cv->k == 5)
        rows_5x5(cv, x, y, h, w, y0, y1);
    else
        rows_with(cv, (shape){cv->k, cv->stride, cv->cin}, x, y, h, w, y0, y1,
                  cv->cout % SLICE512 == 0 && !cv->sliced && fg_cpu_avx512());
}

/* A slice's pixels [0, n) of the patch t.x (pixels `floats` apart) by groups of GROUP512, the
 * last moved left to end at n; fewer than a group in one short group. */
NN_AVX512 static void slice_pixels512(const nn_conv *cv, taps t, ahead *pf, const float *res,
                                      float *q, int o, int n, size_t floats)
{
    const float *patch = t.x;
    for (int p = 0; p < n; p += GROUP512) {
        const int at = p + GROUP512 <= n ? p : n > GROUP512 ? n - GROUP512 : 0;
        const float *r = res ? res + (size_t)at * cv->cout : NULL;
        t.x = patch + (size_t)at * floats;
        /* A whole group with its count a constant: no test per pixel in the tap loop. */
        if (n - at >= GROUP512)
            conv_slice512(cv, t, pf, r, q + (size_t)at * cv->cout, o, GROUP512);
        else
            conv_slice512(cv, t, pf, r, q + (size_t)at * cv->cout, o, n - at);
    }
}

/* One patch matrix (pixels [p0, p0 + n) of the map) against the slices [s0, s1). */
typedef struct sliced_task {
    const nn_conv *cv;
    const reach *r;
    const float *patch, *res;
    float *y;
    int p0, n;
} sliced_task;

TARGET static void sliced_avx2(void *ctx, int band, int s0, int s1)
{
    const sliced_task *t = ctx;
    const nn_conv *cv = t->cv;
    const reach *r = t->r;
    const int k = cv->k, cin = cv->cin, cout = cv->cout;
    /* Whole kernel rows are one run of taps in the patch and in the weights. */
    const int whole = r->kx1 - r->kx0 == k, step = slice_step(cv);
    (void)band;
    for (int o = s0 * step; o < s1 * step && o < cout; o += step) {
        const int v = vecs_at(cv, o), group = step == SLICE512 ? GROUP512 : ACCS / v;
        size_t ldw;
        const float *wt = slice_weights(cv, o, &ldw);
        taps tp = {t->patch,
                   wt + ((size_t)r->ky0 * k + r->kx0) * cin * ldw,
                   (size_t)r->len,
                   (size_t)k * cin * ldw,
                   ldw,
                   whole ? 1 : r->ky1 - r->ky0,
                   whole ? (int)r->floats : r->len,
                   (int)r->floats};
        const size_t at0 = (size_t)t->p0 * cout;
        const float *res = t->res ? t->res + at0 : NULL;
        float *q = t->y + at0;
        /* The live taps of the next AHEAD_SLICES slices, prefetched while this one computes:
         * part d of AHEAD_SLICES parts of slice o + d, from the end (all parts up to it on the
         * band's first slice), several streams from memory at a time. */
        ahead next;
        const int calls = t->n >= group ? (t->n + group - 1) / group : t->n;
        const size_t chunks = (size_t)calls * tp.rows * ((tp.len + AHEAD_TAPS - 1) / AHEAD_TAPS);
        size_t most = 0;
        memset(&next, 0, sizeof next);
        for (int d = 1; d <= AHEAD_SLICES; d++) {
            const int o2 = o + d * step;
            if (o2 >= s1 * step || o2 >= cout) break;
            size_t ldw2;
            const char *w2 =
                (const char *)(slice_weights(cv, o2, &ldw2) + (tp.wt - wt) / ldw * ldw2);
            const size_t bytes =
                sizeof(float) * ldw2 * ((size_t)(tp.rows - 1) * k * cin + (size_t)tp.len);
            const size_t part = bytes / AHEAD_SLICES / 64 * 64;
            const int first = o == s0 * step;
            next.at[d - 1] = first ? w2 : w2 + part * (size_t)(AHEAD_SLICES - d);
            next.end[d - 1] = d == 1 ? w2 + bytes : w2 + part * (size_t)(AHEAD_SLICES - d + 1);
            const size_t span = (size_t)(next.end[d - 1] - next.at[d - 1]);
            most = span > most ? span : most;
        }
        next.lines = (int)((most / 64 + chunks) / chunks);
        ahead *pf = next.at[0] ? &next : NULL;
        if (step == SLICE512) {
            slice_pixels512(cv, tp, pf, res, q, o, t->n, r->floats);
            continue;
        }
        int p = 0;
        for (; p < t->n; p += group) {
            /* The last group moves left to end at n (recomputing a few pixels); a patch of
             * fewer pixels than a group goes one by one. */
            const int at = p + group <= t->n ? p : t->n - group;
            if (at < 0) break;
            tp.x = t->patch + (size_t)at * r->floats;
            slice_group(cv, tp, pf, res ? res + (size_t)at * cout : NULL, q + (size_t)at * cout, o,
                        v, 0);
        }
        for (; p < t->n; p++) {
            tp.x = t->patch + (size_t)p * r->floats;
            slice_group(cv, tp, pf, res ? res + (size_t)p * cout : NULL, q + (size_t)p * cout, o, v,
                        1);
        }
    }
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
    rows_portable(cv, x, NULL, y, h, w, y0, y1);
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

/* Weights outermost: every pixel of a patch matrix uses a slice's weights while they are in L2,
 * and the threads take bands of slices, so each weight is read once per patch matrix. */
void nn_conv_run_sliced(const nn_conv *cv, const float *x, const float *res, float *y, int images,
                        int h, int w, float *scratch, const nn_runtime *rt)
{
#ifdef HAVE_X86
    if (cv->cout % 8 == 0 && fg_cpu_avx2_fma()) {
        const reach r = reach_of(cv, h, w);
        int oh, ow;
        nn_conv_output_size(cv, h, w, &oh, &ow);
        const int pixels = images * oh * ow, chunk = chunk_pixels(&r, pixels);
        for (int p0 = 0; p0 < pixels; p0 += chunk) {
            const int n = pixels - p0 < chunk ? pixels - p0 : chunk;
            sliced_task t = {cv, &r, scratch, res, y, p0, n};
            fill_patches(cv, &r, x, h, w, p0, p0 + n, scratch);
            const int step = slice_step(cv);
            nn_parallel_bands(rt, (cv->cout + step - 1) / step, nn_runtime_threads(rt), sliced_avx2,
                              &t);
        }
        return;
    }
#endif
    (void)scratch, (void)rt;
    nn_conv_run_sliced_portable(cv, x, res, y, images, h, w);
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
