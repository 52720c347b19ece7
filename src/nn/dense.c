/*
 * dense.c - a network's head that reduces a whole map to one pixel (a k x k VALID convolution on
 * a k x k map: FaceMesh's 3x3x32 -> 1404 mesh and 3x3x32 -> 1 face flag, the iris net's 2x2x128
 * -> 213 and -> 15) as a matrix-vector product y = bias + x W, x the map's k * k * cin values in
 * the order TF stores the kernel's rows.
 *
 * XNNPACK ran these as an indirect GEMM of one row: every weight is used once per image, so the
 * time is the weights' trip from memory or L3 (FaceMesh's mesh head is 1.6 MB as float32, more
 * than a core's L2, so every frame streams it). The weights are stored in slabs of 64 output
 * channels ([slab][in][64], the last slab what is left, rounded up to 8 with zero columns), each
 * slab one sequential stream, and an image's 8 accumulators of 8 channels take a slab in one pass
 * over x (the iris net's two eyes one after the other while the slab is in L1 or L2). When every
 * weight is exactly a float16 (FaceMesh ships its weights as float16) they are held as float16 and
 * widened with F16C as they are loaded: the same values in half the bytes. Both paths sum from the
 * bias in the order of x, so results differ from XNNPACK's only in rounding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
#define HAVE_X86 1
#endif

#define SLAB 64 /* output channels of a slab */

/* The float16 with the value v when there is one; any value otherwise (the caller checks by
 * widening it back). */
static uint16_t to_half(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    const uint32_t sign = (u >> 16) & 0x8000u, mant = u & 0x7fffffu;
    const int e = (int)((u >> 23) & 0xff);
    if (e == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0u));
    if (e - 127 + 15 >= 31) return (uint16_t)(sign | 0x7c00u); /* too large: not exact */
    if (e - 127 + 15 >= 1) return (uint16_t)(sign | (uint32_t)(e - 127 + 15) << 10 | mant >> 13);
    const int shift = 126 - e; /* a subnormal float16: (mant | 1 << 23) >> shift, times 2^-24 */
    return (uint16_t)(sign | (e && shift <= 24 ? (mant | 0x800000u) >> shift : 0u));
}

/* Channels of the slab at o and its width in the packed weights (a multiple of 8). */
static int slab_width(const nn_dense *d, int o)
{
    const int padded = (d->cout + 7) / 8 * 8;
    return padded - o < SLAB ? padded - o : SLAB;
}

static float weight(const nn_dense *d, size_t at)
{
    return d->w16 ? nn_half_to_float(d->w16[at]) : d->w[at];
}

int nn_dense_init(nn_dense *d, const float *w_in_out, const float *bias, int cin, int cout,
                  fg_error *err)
{
    const int padded = (cout + 7) / 8 * 8;
    const size_t n = (size_t)cin * (size_t)padded;
    int half = 1;
    memset(d, 0, sizeof *d);
    d->cin = cin, d->cout = cout;
    d->w16 = fg_alloc_lines(n * sizeof *d->w16);
    d->w = fg_alloc_lines(n * sizeof *d->w);
    d->bias = fg_alloc_lines(sizeof *d->bias * (size_t)padded);
    if (!d->w16 || !d->w || !d->bias) {
        nn_dense_free(d);
        return fg_fail(err, FG_ENOMEM, "out of memory for a head's weights");
    }
    for (int o = 0; o < padded; o++)
        d->bias[o] = o < cout ? bias[o] : 0.0f;
    for (int o = 0; o < padded; o += SLAB) {
        const int width = slab_width(d, o);
        for (int i = 0; i < cin; i++)
            for (int j = 0; j < width; j++) {
                const size_t at = (size_t)o * cin + (size_t)i * width + j;
                const float v = o + j < cout ? w_in_out[(size_t)i * cout + o + j] : 0.0f;
                d->w[at] = v;
                d->w16[at] = to_half(v);
                half = half && nn_half_to_float(d->w16[at]) == v;
            }
    }
    /* One copy: float16 when it holds every weight exactly. */
    if (half) {
        free(d->w);
        d->w = NULL;
    } else {
        free(d->w16);
        d->w16 = NULL;
    }
#ifdef HAVE_X86
    d->simd = fg_cpu_avx2_fma() && (!half || fg_cpu_f16c());
#endif
    return FG_OK;
}

void nn_dense_free(nn_dense *d)
{
    if (!d) return;
    free(d->w16);
    free(d->w);
    free(d->bias);
    memset(d, 0, sizeof *d);
}

int nn_dense_is_half(const nn_dense *d)
{
    return d->w16 != NULL;
}

uint64_t nn_dense_macs(const nn_dense *d)
{
    return (uint64_t)d->cin * (uint64_t)d->cout;
}

/* y[o] for the output channels [o0, o0 + width) of one image. */
static void slab_portable(const nn_dense *d, const float *x, float *y, int o0)
{
    const int width = slab_width(d, o0);
    for (int j = 0; j < width && o0 + j < d->cout; j++) {
        float v = d->bias[o0 + j];
        for (int i = 0; i < d->cin; i++)
            v += x[i] * weight(d, (size_t)o0 * d->cin + (size_t)i * width + j);
        y[o0 + j] = v;
    }
}

void nn_dense_run_portable(const nn_dense *d, const float *x, float *y, int images)
{
    for (int n = 0; n < images; n++)
        for (int o = 0; o < d->cout; o += SLAB)
            slab_portable(d, x + (size_t)n * d->cin, y + (size_t)n * d->cout, o);
}

#ifdef HAVE_X86
#define TARGET __attribute__((target("avx2,fma,f16c"), no_sanitize_address))

/* One slab of v vectors (v <= 8) for one image, from float16 weights when half is set: both
 * constants once inlined, so that the inner loop has no branch. */
TARGET static NN_INLINE void slab_avx2(const nn_dense *d, const float *x, float *y, int o0, int v,
                                       int half)
{
    const int width = slab_width(d, o0);
    const size_t base = (size_t)o0 * d->cin;
    __m256 acc[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        if (j < v) acc[j] = _mm256_loadu_ps(d->bias + o0 + 8 * j);
    for (int i = 0; i < d->cin; i++) {
        const __m256 xi = _mm256_broadcast_ss(x + i);
        const size_t row = base + (size_t)i * width;
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            if (j >= v) continue;
            const size_t at = row + 8 * (size_t)j;
            const __m256 wj = half
                                  ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(d->w16 + at)))
                                  : _mm256_loadu_ps(d->w + at);
            acc[j] = _mm256_fmadd_ps(xi, wj, acc[j]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        if (j >= v) continue;
        const int o = o0 + 8 * j;
        if (o + 8 <= d->cout) {
            _mm256_storeu_ps(y + o, acc[j]);
        } else { /* the padded columns are not the caller's */
            float last[8];
            _mm256_storeu_ps(last, acc[j]);
            memcpy(y + o, last, sizeof(float) * (size_t)(d->cout - o));
        }
    }
}

/* The slabs [s0, s1), each for every image while it is in L1 or L2. */
TARGET static NN_INLINE void slabs_of(const nn_dense *d, const float *x, float *y, int images,
                                      int s0, int s1, int half)
{
    for (int s = s0; s < s1; s++)
        for (int n = 0; n < images; n++) {
            const float *xn = x + (size_t)n * d->cin;
            float *yn = y + (size_t)n * d->cout;
            const int o = s * SLAB;
            switch (slab_width(d, o) / 8) {
            case 8:
                slab_avx2(d, xn, yn, o, 8, half);
                break;
            case 7:
                slab_avx2(d, xn, yn, o, 7, half);
                break;
            case 6:
                slab_avx2(d, xn, yn, o, 6, half);
                break;
            case 5:
                slab_avx2(d, xn, yn, o, 5, half);
                break;
            case 4:
                slab_avx2(d, xn, yn, o, 4, half);
                break;
            case 3:
                slab_avx2(d, xn, yn, o, 3, half);
                break;
            case 2:
                slab_avx2(d, xn, yn, o, 2, half);
                break;
            default:
                slab_avx2(d, xn, yn, o, 1, half);
            }
        }
}

typedef struct dense_task {
    const nn_dense *d;
    const float *x;
    float *y;
    int images;
} dense_task;

TARGET static void dense_band(void *ctx, int band, int s0, int s1)
{
    const dense_task *t = ctx;
    (void)band;
    if (t->d->w16)
        slabs_of(t->d, t->x, t->y, t->images, s0, s1, 1);
    else
        slabs_of(t->d, t->x, t->y, t->images, s0, s1, 0);
}
#endif

void nn_dense_run(const nn_dense *d, const float *x, float *y, int images, const nn_runtime *rt)
{
#ifdef HAVE_X86
    if (d->simd) {
        dense_task t = {d, x, y, images};
        nn_parallel_bands(rt, (d->cout + SLAB - 1) / SLAB, nn_runtime_threads(rt), dense_band, &t);
        return;
    }
#endif
    (void)rt;
    nn_dense_run_portable(d, x, y, images);
}
