/*
 * rows.c - what the hand-written kernels (block.c, conv.c) share: running a kernel's output
 * rows in bands on a runtime's thread pool.
 */
#include <pthreadpool.h>

#include "nn/nn.h"

/* Output rows in bands of about 8 (enough work per task), as many bands as threads or a
 * multiple, of equal sizes: bands of exactly 8 gave one of two threads 2 of FaceMesh's 3 bands
 * at 24 rows, and 8 rows of 12 (detect_mesh on two threads 4.86 -> 4.76 ms, best of 400). */
#define BAND_ROWS 8

typedef struct band_task {
    nn_rows_fn fn;
    void *ctx;
    int n, bands;
} band_task;

static void band(void *ctx, size_t i)
{
    const band_task *t = ctx;
    t->fn(t->ctx, (int)((long)t->n * (long)i / t->bands),
          (int)((long)t->n * (long)(i + 1) / t->bands));
}

void nn_parallel_rows(const nn_runtime *rt, int n, nn_rows_fn fn, void *ctx)
{
    pthreadpool_t pool = rt ? nn_runtime_threadpool(rt) : NULL;
    if (!pool || n <= BAND_ROWS) {
        fn(ctx, 0, n);
        return;
    }
    const int threads = (int)pthreadpool_get_threads_count(pool);
    const int bands = (n + BAND_ROWS - 1) / BAND_ROWS;
    band_task t = {fn, ctx, n, (bands + threads - 1) / threads * threads};
    pthreadpool_parallelize_1d(pool, band, &t, (size_t)t.bands, 0);
}

int nn_runtime_threads(const nn_runtime *rt)
{
    pthreadpool_t pool = rt ? nn_runtime_threadpool(rt) : NULL;
    return pool ? (int)pthreadpool_get_threads_count(pool) : 1;
}

typedef struct split_task {
    nn_bands_fn fn;
    void *ctx;
    int n, bands;
} split_task;

static void split(void *ctx, size_t i)
{
    const split_task *t = ctx;
    const int b = (int)i;
    t->fn(t->ctx, b, t->n * b / t->bands, t->n * (b + 1) / t->bands);
}

void nn_parallel_bands(const nn_runtime *rt, int n, int bands, nn_bands_fn fn, void *ctx)
{
    pthreadpool_t pool = rt ? nn_runtime_threadpool(rt) : NULL;
    split_task t = {fn, ctx, n, bands};
    if (!pool || bands <= 1) {
        fn(ctx, 0, 0, n);
        return;
    }
    pthreadpool_parallelize_1d(pool, split, &t, (size_t)bands, 0);
}
