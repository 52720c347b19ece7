/*
 * pool.c - engine threads around a ring buffer of jobs, a mutex and two condition variables.
 */
#include "server/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"

typedef struct pool_item {
    fg_pool_job job;
    void *arg;
} pool_item;

typedef struct pool_thread {
    fg_pool *pool;
    fg_engine *engine;
    pthread_t thread;
    int started;
} pool_thread;

struct fg_pool {
    pthread_mutex_t lock;
    pthread_cond_t queued; /* a job arrived, or stopping */
    pool_item *ring;
    size_t cap, head, count;
    int busy, stopping;
    pool_thread *threads;
    int nthreads;
};

static void *pool_main(void *arg)
{
    pool_thread *t = arg;
    fg_pool *pool = t->pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        pool_item item;
        while (pool->count == 0 && !pool->stopping)
            pthread_cond_wait(&pool->queued, &pool->lock);
        if (pool->count == 0) break; /* stopping, and nothing left to run */
        item = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->cap;
        pool->count--;
        pool->busy++;
        pthread_mutex_unlock(&pool->lock);
        item.job(item.arg, t->engine);
        pthread_mutex_lock(&pool->lock);
        pool->busy--;
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

int fg_pool_open(const fg_engine_options *opts, int engines, size_t max_queued, fg_pool **out,
                 fg_error *err)
{
    fg_pool *pool;
    int rc = FG_OK;
    *out = NULL;
    if (engines < 1 || max_queued < 1)
        return fg_fail(err, FG_EINVAL, "the inference pool needs an engine and a queue");
    pool = calloc(1, sizeof *pool);
    if (!pool) return fg_fail(err, FG_ENOMEM, "out of memory for the inference pool");
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->queued, NULL);
    pool->cap = max_queued;
    pool->ring = calloc(max_queued, sizeof *pool->ring);
    pool->threads = calloc((size_t)engines, sizeof *pool->threads);
    if (!pool->ring || !pool->threads) {
        fg_pool_free(pool);
        return fg_fail(err, FG_ENOMEM, "out of memory for the inference pool");
    }
    for (int i = 0; i < engines && rc == FG_OK; i++) {
        pool_thread *t = &pool->threads[i];
        t->pool = pool;
        rc = fg_engine_open(opts, &t->engine, err);
        if (rc != FG_OK) break;
        pool->nthreads++;
        if (pthread_create(&t->thread, NULL, pool_main, t) != 0)
            rc = fg_fail(err, FG_ENOMEM, "cannot start inference thread %d", i + 1);
        else
            t->started = 1;
    }
    if (rc != FG_OK) {
        fg_pool_free(pool);
        return rc;
    }
    *out = pool;
    return FG_OK;
}

void fg_pool_free(fg_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->queued);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->nthreads; i++) {
        if (pool->threads[i].started) pthread_join(pool->threads[i].thread, NULL);
        fg_engine_free(pool->threads[i].engine);
    }
    pthread_cond_destroy(&pool->queued);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool->ring);
    free(pool);
}

int fg_pool_submit(fg_pool *pool, fg_pool_job job, void *arg)
{
    int rc = -1;
    pthread_mutex_lock(&pool->lock);
    if (pool->count < pool->cap && !pool->stopping) {
        pool->ring[(pool->head + pool->count) % pool->cap] = (pool_item){job, arg};
        pool->count++;
        pthread_cond_signal(&pool->queued);
        rc = 0;
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

void fg_pool_load(fg_pool *pool, size_t *queued, int *busy)
{
    pthread_mutex_lock(&pool->lock);
    *queued = pool->count;
    *busy = pool->busy;
    pthread_mutex_unlock(&pool->lock);
}
