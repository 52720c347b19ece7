/*
 * rows.c - what the hand-written kernels (block.c, conv.c) share: running a kernel's output
 * rows in bands on a runtime's thread pool.
 */
#include <pthreadpool.h>

#include "nn/nn.h"

/* Output rows in bands of 8: enough work per task, and bands for both threads of a 16-row map. */
#define BAND_ROWS 8

typedef struct band_task {
    nn_rows_fn fn;
    void *ctx;
    int n;
} band_task;

static void band(void *ctx, size_t i)
{
    const band_task *t = ctx;
    const int y0 = (int)i * BAND_ROWS, y1 = y0 + BAND_ROWS < t->n ? y0 + BAND_ROWS : t->n;
    t->fn(t->ctx, y0, y1);
}

void nn_parallel_rows(const nn_runtime *rt, int n, nn_rows_fn fn, void *ctx)
{
    pthreadpool_t pool = rt ? nn_runtime_threadpool(rt) : NULL;
    band_task t = {fn, ctx, n};
    if (!pool || n <= BAND_ROWS) {
        fn(ctx, 0, n);
        return;
    }
    pthreadpool_parallelize_1d(pool, band, &t, (size_t)(n + BAND_ROWS - 1) / BAND_ROWS, 0);
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
