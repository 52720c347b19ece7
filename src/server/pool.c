/*
 * pool.c - a stack of idle engines behind a mutex and a condition variable.
 */
#include "server/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "image/error.h"

struct fg_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    fg_engine **all;
    fg_engine **idle;
    int count, nidle;
};

int fg_pool_open(const fg_engine_options *opts, int n, fg_pool **out, fg_error *err)
{
    fg_pool *pool;
    int rc = FG_OK;
    *out = NULL;
    if (n < 1) return fg_fail(err, FG_EINVAL, "the engine pool needs at least one engine");
    pool = calloc(1, sizeof *pool);
    if (!pool) return fg_fail(err, FG_ENOMEM, "out of memory for the engine pool");
    pool->all = calloc((size_t)n, sizeof *pool->all);
    pool->idle = calloc((size_t)n, sizeof *pool->idle);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->returned, NULL);
    if (!pool->all || !pool->idle) {
        fg_pool_free(pool);
        return fg_fail(err, FG_ENOMEM, "out of memory for the engine pool");
    }
    for (int i = 0; i < n && rc == FG_OK; i++) {
        rc = fg_engine_open(opts, &pool->all[i], err);
        if (rc == FG_OK) pool->idle[pool->nidle++] = pool->all[pool->count++];
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
    for (int i = 0; i < pool->count; i++)
        fg_engine_free(pool->all[i]);
    pthread_cond_destroy(&pool->returned);
    pthread_mutex_destroy(&pool->lock);
    free(pool->all);
    free(pool->idle);
    free(pool);
}

fg_engine *fg_pool_acquire(fg_pool *pool)
{
    fg_engine *engine;
    pthread_mutex_lock(&pool->lock);
    while (pool->nidle == 0)
        pthread_cond_wait(&pool->returned, &pool->lock);
    engine = pool->idle[--pool->nidle];
    pthread_mutex_unlock(&pool->lock);
    return engine;
}

void fg_pool_release(fg_pool *pool, fg_engine *engine)
{
    if (!engine) return;
    pthread_mutex_lock(&pool->lock);
    pool->idle[pool->nidle++] = engine;
    pthread_cond_signal(&pool->returned);
    pthread_mutex_unlock(&pool->lock);
}
