/*
 * cpu.h - what this CPU can run, for the kernels that pick a vector path at run time (image
 * resizing and crops, the fused network kernels, the matcher's scan).
 */
#ifndef FG_CORE_CPU_H
#define FG_CORE_CPU_H

#include <stddef.h>

/* 1 when the CPU has AVX2; fg_cpu_avx2_fma: AVX2 and FMA; fg_cpu_f16c: the float16 conversions.
 * 0 on other architectures. */
int fg_cpu_avx2(void);
int fg_cpu_avx2_fma(void);
int fg_cpu_f16c(void);
/* 1 when the CPU and the OS run AVX-512F (the kernels with 16-float vectors), unless the
 * environment sets FACEGATE_NO_AVX512 to anything but 0 (the AVX2 kernels then run, as on a CPU
 * without it). The environment is read at the first call. */
int fg_cpu_avx512(void);
/* Turns the AVX-512 kernels off (0) or back on where the CPU has them, whatever the
 * environment said: for the tests that compare both paths. Not thread-safe: call it before the
 * kernels that ask run (Winograd and sliced weights take their layout when they are made). */
void fg_cpu_use_avx512(int on);

/* The cache line. The buffers the vector kernels stream (tensors, weights, decoded pixels) start
 * on one: malloc's 16-byte alignment split every other 32-byte load across two lines, which cost
 * one frame of the fast path 8% (10.5-11.3 -> 9.6-10.4 ms on single640.jpg, best of 200). */
#define FG_CACHE_LINE 64

/* size bytes aligned to FG_CACHE_LINE, freed by free(); NULL when out of memory. */
void *fg_alloc_lines(size_t size);
/* fg_alloc_lines of n * size bytes, zeroed; NULL on overflow or when out of memory. */
void *fg_calloc_lines(size_t n, size_t size);

#endif
