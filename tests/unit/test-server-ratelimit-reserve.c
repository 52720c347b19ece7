/* test-server-ratelimit-reserve.c - attempts are reserved before the face is processed: with a
 * limit of 5 failures, 40 attempts begun at once (none ended yet) let exactly 5 through, also
 * from 8 threads at once; on an account, no more run at once than the failures left before the
 * address's delay. An ended attempt frees its place unless it failed. */
#include <pthread.h>

#include "harness.h"
#include "server/ratelimit.h"

typedef struct racer {
    fg_ratelimit *rl;
    int admitted;
    fg_rl_attempt attempts[5];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < 5; i++) {
        int retry = 0;
        if (fg_ratelimit_begin(r->rl, "10.0.0.9", NULL, 1000, &r->attempts[r->admitted], &retry) ==
            FG_RL_OK)
            r->admitted++;
    }
    return NULL;
}

int main(void)
{
    fg_ratelimit_config config;
    fg_rl_attempt held[40];
    int admitted = 0, retry = 0;

    fg_ratelimit_config_init(&config);
    config.ip_failures = 5;
    config.lockout_after = 3;
    config.account_failures = 64;
    fg_ratelimit *rl = fg_ratelimit_new(&config, NULL);

    for (int i = 0; i < 40; i++)
        admitted +=
            fg_ratelimit_begin(rl, "10.0.0.1", NULL, 1000, &held[admitted], &retry) == FG_RL_OK;
    CHECK_EQ_INT(admitted, 5);
    CHECK(retry >= 1);
    /* Two end neutral (their places come back), three fail (theirs do not). */
    fg_ratelimit_end(rl, &held[0], FG_RL_NEUTRAL, NULL, 1001);
    fg_ratelimit_end(rl, &held[1], FG_RL_NEUTRAL, NULL, 1001);
    for (int i = 2; i < 5; i++)
        fg_ratelimit_end(rl, &held[i], FG_RL_FAILURE, NULL, 1001);
    fg_ratelimit_end(rl, &held[2], FG_RL_FAILURE, NULL, 1001); /* ended twice: no-op */
    admitted = 0;
    for (int i = 0; i < 10; i++)
        admitted +=
            fg_ratelimit_begin(rl, "10.0.0.1", NULL, 1002, &held[admitted], &retry) == FG_RL_OK;
    CHECK_EQ_INT(admitted, 2);
    for (int i = 0; i < admitted; i++)
        fg_ratelimit_end(rl, &held[i], FG_RL_NEUTRAL, NULL, 1002);

    /* 8 threads x 5 attempts at once. */
    racer racers[8];
    pthread_t threads[8];
    for (int t = 0; t < 8; t++) {
        racers[t] = (racer){.rl = rl};
        pthread_create(&threads[t], NULL, race, &racers[t]);
    }
    admitted = 0;
    for (int t = 0; t < 8; t++) {
        pthread_join(threads[t], NULL);
        admitted += racers[t].admitted;
    }
    CHECK_EQ_INT(admitted, 5);

    /* On an account: 3 failures left before the delay, so 3 at once. */
    admitted = 0;
    for (int i = 0; i < 10; i++)
        admitted +=
            fg_ratelimit_begin(rl, "10.0.0.2", "alice", 1000, &held[admitted], &retry) == FG_RL_OK;
    CHECK_EQ_INT(admitted, 3);
    fg_ratelimit_free(rl);
    return fg_test_done();
}
