/*
 * avx2.h - what the hand-written AVX2+FMA kernels (block.c, conv.c, winograd.c) share: their
 * function attributes and the register tile of a matrix product they all run, and its AVX-512
 * form (conv.c's sliced tail, winograd.c's products, block.c's 1x1 convolutions) (internal to
 * src/nn/; include it only where HAVE_X86 holds).
 *
 * Like XNNPACK's, the kernels are not instrumented by AddressSanitizer: instrumented, they made
 * the sanitizer suite's fast-path tests five times slower. Each file's plain-C path, which reads
 * the same data, is instrumented, and the unit tests hold the SIMD paths to it.
 */
#ifndef FG_NN_AVX2_H
#define FG_NN_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#define NN_AVX2 __attribute__((target("avx2,fma"), no_sanitize_address))
#define NN_AVX512 __attribute__((target("avx512f,avx2,fma"), no_sanitize_address))
#define NN_INLINE inline __attribute__((always_inline))

/* acc[p][j] += sum over i < len of s[p * step + i] * w[i * ldw + 8 j], for the pixels p < np
 * and the vectors of 8 output channels j < v (v <= 3), np <= P; P is the tile's capacity in
 * pixels, a constant where the caller inlines this (then the loops unroll and acc stays in
 * registers). The sum runs in the order of i, as the plain-C paths' does. */
NN_AVX2 static NN_INLINE void nn_avx2_tile(__m256 (*acc)[3], int P, const float *s, size_t step,
                                           const float *w, size_t ldw, int len, int v, int np)
{
    for (int i = 0; i < len; i++) {
        __m256 wv[3];
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (j < v) wv[j] = _mm256_loadu_ps(w + (size_t)i * ldw + 8 * j);
#pragma GCC unroll 12
        for (int p = 0; p < P; p++) {
            if (p >= np) continue;
            const __m256 xp = _mm256_broadcast_ss(s + (size_t)p * step + i);
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++)
                if (j < v) acc[p][j] = _mm256_fmadd_ps(xp, wv[j], acc[p][j]);
        }
    }
}

/* nn_avx2_tile with vectors of 16 channels: acc[p][j] += sum over i < len of s[p * step + i] *
 * w[i * ldw + 16 j], j < v (v <= 3), np <= P; the same sums in the same order, so the same bits.
 * Where AVX-512's two FMA units do 16 lanes each, twice the AVX2 tile's multiply-adds a cycle. */
NN_AVX512 static NN_INLINE void nn_avx512_tile(__m512 (*acc)[3], int P, const float *s, size_t step,
                                               const float *w, size_t ldw, int len, int v, int np)
{
    for (int i = 0; i < len; i++) {
        __m512 wv[3];
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (j < v) wv[j] = _mm512_loadu_ps(w + (size_t)i * ldw + 16 * j);
#pragma GCC unroll 14
        for (int p = 0; p < P; p++) {
            if (p >= np) continue;
            const __m512 xp = _mm512_set1_ps(s[(size_t)p * step + i]);
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++)
                if (j < v) acc[p][j] = _mm512_fmadd_ps(xp, wv[j], acc[p][j]);
        }
    }
}

/* ReLU (prelu 0) or PReLU with the slopes a: max(t, 0) + a min(t, 0). */
NN_AVX2 static NN_INLINE __m256 nn_avx2_act(__m256 t, __m256 a, int prelu)
{
    const __m256 zero = _mm256_setzero_ps(), pos = _mm256_max_ps(t, zero);
    return prelu ? _mm256_fmadd_ps(a, _mm256_min_ps(t, zero), pos) : pos;
}

/* nn_avx2_act on 16 floats. */
NN_AVX512 static NN_INLINE __m512 nn_avx512_act(__m512 t, __m512 a, int prelu)
{
    const __m512 zero = _mm512_setzero_ps(), pos = _mm512_max_ps(t, zero);
    return prelu ? _mm512_fmadd_ps(a, _mm512_min_ps(t, zero), pos) : pos;
}

#endif
