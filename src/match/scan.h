/*
 * scan.h - the quantised first pass of a 1:N search (internal to src/match).
 *
 * Rows and probes are unit-length descriptors quantised to int8 with a scale of their own
 * (q = round(x * 127 / max|x|)). fg_scan_scores computes, for a block of rows, the integer dot
 * product of each row with the probe times the row's inverse scale: the probe's dot product
 * with the row up to the probe's own (constant) scale. The integer part is exact and the one
 * float multiply is the same in every kernel, so all kernels give bit-identical scores.
 *
 * Two kernels: AVX2 (compiled with a target attribute, picked at run time when the CPU has
 * it) and portable C. FG_SCAN_ROW is the bytes of one quantised row.
 */
#ifndef FG_MATCH_SCAN_H
#define FG_MATCH_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"

#define FG_SCAN_ROW FG_DESCRIPTOR_DIM

/* Quantises x (FG_DESCRIPTOR_DIM floats, not all zero) into q; returns the inverse scale
 * (max|x| / 127) and in *residual the L2 norm of x - q * inverse scale (rounded up). */
float fg_scan_quantise(const float *x, int8_t *q, double *residual);

/* scores[i] = (float)dot(q[i], probe) * inv_scale[i] for n rows. */
void fg_scan_scores(const int8_t *q, const float *inv_scale, size_t n, const int8_t *probe,
                    float *scores);

/* Chooses the kernel: 1 = the best the CPU has (the default), 0 = portable C. Returns the name
 * of the kernel now in use ("avx2" or "portable"). For tests and the benchmark; not thread-safe
 * against running searches. */
const char *fg_scan_select(int best);

#endif
