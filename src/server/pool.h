/*
 * pool.h - the inference pool: one thread per engine, all fed by one FIFO queue.
 *
 * An fg_engine is single-threaded and inference is the expensive part of a request, so it runs
 * here, never on an HTTP thread: the HTTP side suspends the connection, submits a job, and the
 * next free engine takes it whatever connection it came on. The queue is bounded; a full queue
 * refuses the job at once (the caller answers 503) instead of letting latency grow unbounded.
 */
#ifndef FG_SERVER_POOL_H
#define FG_SERVER_POOL_H

#include <stddef.h>

#include "facegate.h"

typedef struct fg_pool fg_pool;

/* A job: runs on one of the pool's threads with that thread's engine. */
typedef void (*fg_pool_job)(void *arg, fg_engine *engine);

/* Opens `engines` engines with opts and starts one thread for each; at most max_queued jobs
 * wait at a time. On failure frees what was opened and fills err. */
int fg_pool_open(const fg_engine_options *opts, int engines, size_t max_queued, fg_pool **out,
                 fg_error *err);

/* Runs the jobs still queued, stops the threads and frees the engines. NULL is a no-op. */
void fg_pool_free(fg_pool *pool);

/* Queues job(arg, engine). Returns 0, or -1 when max_queued jobs are already waiting (the job
 * is not queued). */
int fg_pool_submit(fg_pool *pool, fg_pool_job job, void *arg);

/* Jobs waiting for an engine, and engines running a job, right now. */
void fg_pool_load(fg_pool *pool, size_t *queued, int *busy);

#endif
