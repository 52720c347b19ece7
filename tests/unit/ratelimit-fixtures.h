/*
 * ratelimit-fixtures.h - the one-call attempt the test-server-ratelimit-* and
 * test-server-lockout-* files make: begin, and when admitted, end at once with an outcome.
 */
#ifndef FG_TEST_RATELIMIT_FIXTURES_H
#define FG_TEST_RATELIMIT_FIXTURES_H

#include "server/ratelimit.h"

/* The verdict of fg_ratelimit_begin (with *retry); an admitted attempt ends with outcome. */
static inline int rl_try(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                         fg_rl_outcome outcome, int *retry)
{
    fg_rl_attempt a;
    int verdict = fg_ratelimit_begin(rl, client, account, now, &a, retry);
    if (verdict == FG_RL_OK) fg_ratelimit_end(rl, &a, outcome, NULL, now);
    return verdict;
}

#endif
