/*
 * simd.h - what the image kernels' vector paths need: on x86-64 with GCC or Clang, the
 * intrinsics and a target attribute for AVX2 functions, chosen at run time by fgi_have_avx2()
 * (image.h). Every vector path computes the same operations as its scalar one, bit for bit.
 */
#ifndef FG_IMAGE_SIMD_H
#define FG_IMAGE_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FGI_X86 1
#define FGI_TARGET_AVX2 __attribute__((target("avx2")))
#endif

#endif
