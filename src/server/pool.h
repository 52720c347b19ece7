/*
 * pool.h - a fixed set of engines shared by the worker threads.
 *
 * An fg_engine is single-threaded, so a request checks one out, uses it, and returns it. With
 * as many engines as HTTP worker threads nobody waits; the wait exists for safety only.
 */
#ifndef FG_SERVER_POOL_H
#define FG_SERVER_POOL_H

#include "facegate.h"

typedef struct fg_pool fg_pool;

/* Opens n engines with opts. On failure frees what was opened and fills err. */
int fg_pool_open(const fg_engine_options *opts, int n, fg_pool **out, fg_error *err);
void fg_pool_free(fg_pool *pool);

/* Takes an engine, waiting while all are in use. Never NULL. */
fg_engine *fg_pool_acquire(fg_pool *pool);
void fg_pool_release(fg_pool *pool, fg_engine *engine);

#endif
