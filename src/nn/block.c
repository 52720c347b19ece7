/*
 * block.c - BlazeFace's residual block in one pass: y = relu(x + bias + W * depthwise3x3(x)).
 *
 * XNNPACK runs such a block as four operators (depthwise, 1x1 convolution, add, clamp), each a
 * pass over the whole tensor. At BlazeFace's 128x128x24 a tensor is 1.5 MB, more than a core's
 * L2 cache, so the block is bound by memory traffic, not arithmetic: the bench's operator
 * profile showed the add and the clamp alone taking a quarter of the block's time. Here each
 * group of 4 pixels goes through all four steps while it is in registers: x is read (its 3x3
 * neighbourhood from L1/L2, since rows are visited in order) and y written once.
 *
 * The AVX2+FMA kernel covers 24 channels (BlazeFace's two high-resolution stages); any other
 * channel count (up to NN_BLOCK_MAX_C), or a CPU without AVX2/FMA, takes the plain C loop. Both sum the depthwise taps
 * and the 1x1 products in a fixed order in float32, so results differ from XNNPACK's only in
 * rounding (the model's parity tests against Human hold them to 1e-3).
 */
#include <stdlib.h>
#include <string.h>

#include <pthreadpool.h>

#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

/* Depthwise 3x3 of pixel (y, x), SAME padding (zeros outside), c channels, into d. */
static void dw_pixel_c(const nn_block *b, const float *x, int h, int w, int py, int px, float *d)
{
    const int c = b->c;
    for (int k = 0; k < c; k++)
        d[k] = 0.0f;
    for (int dy = -1; dy <= 1; dy++) {
        if (py + dy < 0 || py + dy >= h) continue;
        for (int dx = -1; dx <= 1; dx++) {
            if (px + dx < 0 || px + dx >= w) continue;
            const float *s = x + ((size_t)(py + dy) * w + (px + dx)) * c;
            const float *k = b->dw + ((dy + 1) * 3 + dx + 1) * c;
            for (int ch = 0; ch < c; ch++)
                d[ch] += s[ch] * k[ch];
        }
    }
}

/* Rows [y0, y1) of the block's output. */
static void rows_portable(const nn_block *b, const float *x, float *y, int h, int w, int y0,
                          int y1)
{
    const int c = b->c;
    float d[NN_BLOCK_MAX_C];
    for (int py = y0; py < y1; py++)
        for (int px = 0; px < w; px++) {
            const float *r = x + ((size_t)py * w + px) * c;
            float *q = y + ((size_t)py * w + px) * c;
            dw_pixel_c(b, x, h, w, py, px, d);
            for (int o = 0; o < c; o++)
                q[o] = b->bias[o] + r[o];
            for (int i = 0; i < c; i++)
                for (int o = 0; o < c; o++)
                    q[o] += d[i] * b->w[(size_t)i * c + o];
            for (int o = 0; o < c; o++)
                q[o] = q[o] > 0.0f ? q[o] : 0.0f;
        }
}

void nn_block_run_portable(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows_portable(b, x, y, h, w, 0, h);
}

#ifdef HAVE_X86
#define TARGET __attribute__((target("avx2,fma")))

/* dw_pixel_c for 24 channels: three 8-float vectors. */
TARGET static inline void dw_pixel_24(const float *k, const float *x, int h, int w, int py, int px,
                                      float *d)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0;
    const int y0 = py > 0 ? -1 : 0, y1 = py < h - 1 ? 1 : 0;
    const int x0 = px > 0 ? -1 : 0, x1 = px < w - 1 ? 1 : 0;
    for (int dy = y0; dy <= y1; dy++) {
        const float *row = x + ((size_t)(py + dy) * w + px) * 24, *kr = k + ((dy + 1) * 3 + 1) * 24;
        for (int dx = x0; dx <= x1; dx++) {
            const float *s = row + dx * 24, *kk = kr + dx * 24;
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(s), _mm256_loadu_ps(kk), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(s + 8), _mm256_loadu_ps(kk + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(s + 16), _mm256_loadu_ps(kk + 16), a2);
        }
    }
    _mm256_store_ps(d, a0);
    _mm256_store_ps(d + 8, a1);
    _mm256_store_ps(d + 16, a2);
}

/* Output pixel p of the group: accumulators o<p>0..2 start at bias + x, gather 24 products per
 * input channel, and leave through the ReLU. */
#define ACC_INIT(p)                                                                            \
    __m256 o##p##0 = _mm256_add_ps(b0, _mm256_loadu_ps(r + (p) * 24));                         \
    __m256 o##p##1 = _mm256_add_ps(b1, _mm256_loadu_ps(r + (p) * 24 + 8));                     \
    __m256 o##p##2 = _mm256_add_ps(b2, _mm256_loadu_ps(r + (p) * 24 + 16));
#define ACC_STEP(p)                                                                            \
    do {                                                                                       \
        const __m256 v = _mm256_broadcast_ss(&d[p][i]);                                        \
        o##p##0 = _mm256_fmadd_ps(v, w0, o##p##0);                                             \
        o##p##1 = _mm256_fmadd_ps(v, w1, o##p##1);                                             \
        o##p##2 = _mm256_fmadd_ps(v, w2, o##p##2);                                             \
    } while (0)
#define ACC_STORE(p)                                                                           \
    do {                                                                                       \
        _mm256_storeu_ps(q + (p) * 24, _mm256_max_ps(o##p##0, zero));                          \
        _mm256_storeu_ps(q + (p) * 24 + 8, _mm256_max_ps(o##p##1, zero));                      \
        _mm256_storeu_ps(q + (p) * 24 + 16, _mm256_max_ps(o##p##2, zero));                     \
    } while (0)
#define WEIGHTS_ROW                                                                            \
    const __m256 w0 = _mm256_loadu_ps(b->w + i * 24), w1 = _mm256_loadu_ps(b->w + i * 24 + 8), \
                 w2 = _mm256_loadu_ps(b->w + i * 24 + 16)

TARGET static void rows_24(const nn_block *b, const float *x, float *y, int h, int w, int y0,
                           int y1)
{
    float d[4][24] __attribute__((aligned(32)));
    const __m256 b0 = _mm256_loadu_ps(b->bias), b1 = _mm256_loadu_ps(b->bias + 8);
    const __m256 b2 = _mm256_loadu_ps(b->bias + 16), zero = _mm256_setzero_ps();
    for (int py = y0; py < y1; py++) {
        int px = 0;
        for (; px + 4 <= w; px += 4) {
            const float *r = x + ((size_t)py * w + px) * 24;
            float *q = y + ((size_t)py * w + px) * 24;
            for (int p = 0; p < 4; p++)
                dw_pixel_24(b->dw, x, h, w, py, px + p, d[p]);
            ACC_INIT(0)
            ACC_INIT(1)
            ACC_INIT(2)
            ACC_INIT(3)
            for (int i = 0; i < 24; i++) {
                WEIGHTS_ROW;
                ACC_STEP(0);
                ACC_STEP(1);
                ACC_STEP(2);
                ACC_STEP(3);
            }
            ACC_STORE(0);
            ACC_STORE(1);
            ACC_STORE(2);
            ACC_STORE(3);
        }
        for (; px < w; px++) {
            const float *r = x + ((size_t)py * w + px) * 24;
            float *q = y + ((size_t)py * w + px) * 24;
            dw_pixel_24(b->dw, x, h, w, py, px, d[0]);
            ACC_INIT(0)
            for (int i = 0; i < 24; i++) {
                WEIGHTS_ROW;
                ACC_STEP(0);
            }
            ACC_STORE(0);
        }
    }
}

static int have_avx2_fma(void)
{
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

static void rows(const nn_block *b, const float *x, float *y, int h, int w, int y0, int y1)
{
#ifdef HAVE_X86
    if (b->c == 24 && have_avx2_fma()) {
        rows_24(b, x, y, h, w, y0, y1);
        return;
    }
#endif
    rows_portable(b, x, y, h, w, y0, y1);
}

void nn_block_run(const nn_block *b, const float *x, float *y, int h, int w)
{
    rows(b, x, y, h, w, 0, h);
}

/* Bands of rows on a thread pool: every output row reads only x, so bands are independent. */
#define BAND_ROWS 8

typedef struct band_task {
    const nn_block *b;
    const float *x;
    float *y;
    int h, w;
} band_task;

static void band(void *ctx, size_t i)
{
    const band_task *t = ctx;
    int y0 = (int)i * BAND_ROWS, y1 = y0 + BAND_ROWS < t->h ? y0 + BAND_ROWS : t->h;
    rows(t->b, t->x, t->y, t->h, t->w, y0, y1);
}

void nn_block_run_on(const nn_block *b, const float *x, float *y, int h, int w,
                     const nn_runtime *rt)
{
    pthreadpool_t pool = rt ? nn_runtime_threadpool(rt) : NULL;
    band_task t = {b, x, y, h, w};
    if (!pool || h <= BAND_ROWS) {
        rows(b, x, y, h, w, 0, h);
        return;
    }
    pthreadpool_parallelize_1d(pool, band, &t, (size_t)(h + BAND_ROWS - 1) / BAND_ROWS, 0);
}

uint64_t nn_block_macs(const nn_block *b, int h, int w)
{
    return (uint64_t)h * (uint64_t)w * (uint64_t)b->c * (9u + (uint64_t)b->c);
}

void nn_block_free(nn_block *b)
{
    if (!b) return;
    free(b->dw);
    free(b->w);
    free(b->bias);
    memset(b, 0, sizeof *b);
}
