/*
 * harness.h - the small test harness every tests/unit/test-*.c uses.
 *
 * A test file defines `int main(void)` that calls CHECK* and ends with `return fg_test_done();`.
 * A failed CHECK prints file:line and the expression and is counted; the test keeps going so one
 * run shows every failure. Paths: FG_SHARED_DIR (../shared) and FG_MODEL_DIR come from ctest.
 */
#ifndef FG_TEST_HARNESS_H
#define FG_TEST_HARNESS_H

#include <stddef.h>
#include <stdio.h>

#include "facegate.h"

extern int fg_test_failures;
extern int fg_test_checks;

void fg_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        fg_test_checks++;                                                                        \
        if (!(cond)) fg_test_fail(__FILE__, __LINE__, "%s", #cond);                              \
    } while (0)

#define CHECKF(cond, ...)                                                                        \
    do {                                                                                         \
        fg_test_checks++;                                                                        \
        if (!(cond)) fg_test_fail(__FILE__, __LINE__, __VA_ARGS__);                              \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                       \
    do {                                                                                         \
        long long fg_a_ = (long long)(a), fg_b_ = (long long)(b);                                \
        fg_test_checks++;                                                                        \
        if (fg_a_ != fg_b_)                                                                      \
            fg_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, fg_a_, fg_b_);   \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                    \
    do {                                                                                         \
        double fg_a_ = (double)(a), fg_b_ = (double)(b);                                         \
        fg_test_checks++;                                                                        \
        if (!(fg_a_ - fg_b_ <= (tol) && fg_b_ - fg_a_ <= (tol)))                                 \
            fg_test_fail(__FILE__, __LINE__, "%s ~ %s (%.9g vs %.9g, tol %g)", #a, #b, fg_a_,    \
                         fg_b_, (double)(tol));                                                  \
    } while (0)

/* Prints "N checks, M failed" and returns the process exit status. */
int fg_test_done(void);

/* For a test whose data is absent (a public clone has no ../shared/liveness): prints why and
 * returns the exit status ctest reports as skipped (77). */
int fg_test_skip(const char *why);

/* Path under FG_SHARED_DIR / FG_MODEL_DIR / FG_SOURCE_DIR in a static buffer (one per call site
 * is not kept: copy it if you need two at once). */
const char *fg_test_shared(const char *relative);
const char *fg_test_models(void);
const char *fg_test_fast_models(void); /* FG_FAST_MODEL_DIR: @vladmandic/human's models */
const char *fg_test_source(const char *relative);

/* Reads a whole file; returns malloc'd bytes (NUL-terminated, caller frees) or NULL. */
void *fg_test_read(const char *path, size_t *size);

/* A pseudo-random float in [-0.5, 0.5], the next of the sequence *seed (reproducible). */
float fg_test_frand(unsigned *seed);

/* The largest |a[i] - b[i]|; a NaN on either side counts as the worst (returned as NaN). */
double fg_test_max_diff(const float *a, const float *b, size_t n);

/* A runtime (a one-layer graph) whose thread pool has `threads` threads, for the kernels that run
 * in bands on a runtime's pool; NULL (a failed check) if it cannot be built. Free it with
 * nn_runtime_free. */
struct nn_runtime *fg_test_pool(int threads);

#endif
