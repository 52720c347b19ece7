/*
 * synthetic.h - synthetic descriptors for the matcher's tests and benchmark: random unit vectors
 * (a seeded splitmix64 generator, Box-Muller normals) and vectors at a chosen match distance
 * from another, for planting near-duplicates. Header-only; each includer has its own generator.
 */
#ifndef FG_TEST_SYNTHETIC_H
#define FG_TEST_SYNTHETIC_H

#include <math.h>
#include <stdint.h>

#include "facegate.h"

static uint64_t fg_synthetic_state = 0x9e3779b97f4a7c15u;

static inline uint64_t fg_synthetic_u64(void)
{
    uint64_t z = (fg_synthetic_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double fg_synthetic_uniform(void)
{
    return ((double)(fg_synthetic_u64() >> 11) + 0.5) / 9007199254740992.0;
}

/* A random direction (uniform on the sphere), unit length. */
static inline void fg_synthetic_unit(float *v)
{
    double n = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i += 2) {
        double r = sqrt(-2 * log(fg_synthetic_uniform())), a = 2 * M_PI * fg_synthetic_uniform();
        v[i] = (float)(r * cos(a));
        v[i + 1] = (float)(r * sin(a));
    }
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        n += (double)v[i] * v[i];
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

/* A unit vector at match distance `dist` from the unit vector p, in a random direction. */
static inline void fg_synthetic_at(const float *p, double dist, float *out)
{
    float u[FG_DESCRIPTOR_DIM];
    double dot = 0, n = 0, angle = 2 * asin(dist / 2);
    fg_synthetic_unit(u);
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        dot += (double)u[i] * p[i];
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        u[i] = (float)(u[i] - dot * p[i]);
        n += (double)u[i] * u[i];
    }
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        out[i] = (float)(cos(angle) * p[i] + sin(angle) * u[i] / sqrt(n));
}

#endif
