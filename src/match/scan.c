/*
 * scan.c - int8 dot products of quantised rows with a quantised probe: AVX2 and portable C.
 *
 * 128 int8 per row is a quarter of the float32 row, and the scan is bound by memory traffic at
 * a million rows (128 MB instead of 512 MB). The AVX2 kernel uses the sign trick: maddubs takes
 * unsigned x signed bytes, so it multiplies |probe| by row * sign(probe), which is the same
 * product; values are in [-127, 127], so the pairwise sums (at most 2 * 127 * 127) never
 * saturate the 16-bit lanes.
 */
#include "match/scan.h"
#include "core/cpu.h"

#include <math.h>
#include <pthread.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FG_SCAN_X86 1
#endif

float fg_scan_quantise(const float *x, int8_t *q, double *residual)
{
    float max = 0, inv;
    double res = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        if (fabsf(x[i]) > max) max = fabsf(x[i]);
    inv = max / 127.0f;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        long v = lrintf(x[i] / inv);
        double d;
        q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        d = (double)x[i] - (double)q[i] * (double)inv;
        res += d * d;
    }
    *residual = sqrt(res) * (1 + 1e-9) + 1e-12;
    return inv;
}

static void scores_portable(const int8_t *q, const float *inv_scale, size_t n, const int8_t *probe,
                            float *scores)
{
    for (size_t r = 0; r < n; r++) {
        const int8_t *row = q + r * FG_SCAN_ROW;
        int32_t dot = 0;
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            dot += (int32_t)row[i] * probe[i];
        scores[r] = (float)dot * inv_scale[r];
    }
}

#ifdef FG_SCAN_X86
/* The 8 int32 lanes of one row's partial sums. */
__attribute__((target("avx2"))) static inline __m256i
row_dot(const int8_t *row, const __m256i abs_p[4], const __m256i sign_p[4])
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        __m256i r = _mm256_loadu_si256((const __m256i *)(row + 32 * c));
        __m256i pairs = _mm256_maddubs_epi16(abs_p[c], _mm256_sign_epi8(r, sign_p[c]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return acc;
}

__attribute__((target("avx2"))) static void
scores_avx2(const int8_t *q, const float *inv_scale, size_t n, const int8_t *probe, float *scores)
{
    __m256i abs_p[4], sign_p[4];
    size_t r = 0;
    for (int c = 0; c < 4; c++) {
        sign_p[c] = _mm256_loadu_si256((const __m256i *)(probe + 32 * c));
        abs_p[c] = _mm256_abs_epi8(sign_p[c]);
    }
    /* Eight rows at a time: their partial sums are reduced together by a tree of hadds. */
    for (; r + 8 <= n; r += 8) {
        const int8_t *base = q + r * FG_SCAN_ROW;
        __m256i a0 = row_dot(base + 0 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a1 = row_dot(base + 1 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a2 = row_dot(base + 2 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a3 = row_dot(base + 3 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a4 = row_dot(base + 4 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a5 = row_dot(base + 5 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a6 = row_dot(base + 6 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i a7 = row_dot(base + 7 * FG_SCAN_ROW, abs_p, sign_p);
        __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
        __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a4, a5), _mm256_hadd_epi32(a6, a7));
        __m256i lo = _mm256_permute2x128_si256(h0, h1, 0x20);
        __m256i hi = _mm256_permute2x128_si256(h0, h1, 0x31);
        __m256 dots = _mm256_cvtepi32_ps(_mm256_add_epi32(lo, hi));
        _mm256_storeu_ps(scores + r, _mm256_mul_ps(dots, _mm256_loadu_ps(inv_scale + r)));
    }
    scores_portable(q + r * FG_SCAN_ROW, inv_scale + r, n - r, probe, scores + r);
}
#endif

typedef void (*scores_fn)(const int8_t *, const float *, size_t, const int8_t *, float *);
static scores_fn kernel = scores_portable;
static const char *kernel_name = "portable";
static pthread_once_t chosen = PTHREAD_ONCE_INIT;

static void choose(int best)
{
    kernel = scores_portable;
    kernel_name = "portable";
#ifdef FG_SCAN_X86
    if (best && fg_cpu_avx2()) {
        kernel = scores_avx2;
        kernel_name = "avx2";
    }
#endif
}

static void choose_best(void)
{
    choose(1);
}

const char *fg_scan_select(int best)
{
    pthread_once(&chosen, choose_best);
    choose(best);
    return kernel_name;
}

void fg_scan_scores(const int8_t *q, const float *inv_scale, size_t n, const int8_t *probe,
                    float *scores)
{
    pthread_once(&chosen, choose_best);
    kernel(q, inv_scale, n, probe, scores);
}
