/*
 * cpu.h - what this CPU can run, for the kernels that pick a vector path at run time (image
 * resizing and crops, the fused network kernels, the matcher's scan).
 */
#ifndef FG_CORE_CPU_H
#define FG_CORE_CPU_H

/* 1 when the CPU has AVX2; fg_cpu_avx2_fma: AVX2 and FMA; fg_cpu_f16c: the float16 conversions.
 * 0 on other architectures. */
int fg_cpu_avx2(void);
int fg_cpu_avx2_fma(void);
int fg_cpu_f16c(void);

#endif
