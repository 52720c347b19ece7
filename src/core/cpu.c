/*
 * cpu.c - the CPU's vector features (GCC/Clang's __builtin_cpu_supports and CPUID, on x86 only)
 * and cache-line-aligned buffers for the kernels.
 */
#include "core/cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int fg_cpu_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

int fg_cpu_avx2_fma(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_avx512(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && fg_cpu_avx2_fma();
#else
    return 0;
#endif
}

/* -1 until the first call reads the CPU and the environment (the fused blocks ask on every run). */
static int use_avx512 = -1;

int fg_cpu_avx512(void)
{
    if (use_avx512 < 0) {
        const char *off = getenv("FACEGATE_NO_AVX512");
        use_avx512 = !(off && *off && strcmp(off, "0") != 0) && cpu_avx512();
    }
    return use_avx512;
}

void fg_cpu_use_avx512(int on)
{
    use_avx512 = on && cpu_avx512();
}

int fg_cpu_f16c(void)
{
#if defined(__x86_64__) || defined(__i386__)
    /* CPUID leaf 1, ECX bit 29: clang's __builtin_cpu_supports does not know "f16c". */
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
#else
    return 0;
#endif
}

void *fg_alloc_lines(size_t size)
{
    void *p = NULL;
    return posix_memalign(&p, FG_CACHE_LINE, size ? size : 1) ? NULL : p;
}

void *fg_calloc_lines(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = fg_alloc_lines(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}
