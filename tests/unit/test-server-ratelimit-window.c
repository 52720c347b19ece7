/* test-server-ratelimit-window.c - failed attempts per address: more than ip_failures in the
 * window gives FG_RL_LIMITED with the wait until the oldest failure leaves it; successes and
 * neutral outcomes are not counted; another address is not concerned; attempts on accounts
 * count for their address too. */
#include "harness.h"
#include "ratelimit-fixtures.h"

int main(void)
{
    fg_ratelimit_config config;
    fg_ratelimit *rl;
    int retry = 0;

    fg_ratelimit_config_init(&config);
    config.ip_failures = 3;
    config.window_s = 60;
    config.account_failures = 64;
    config.lockout_after = 64;
    rl = fg_ratelimit_new(&config, NULL);
    CHECK(rl != NULL);

    /* Neutral outcomes and successes cost nothing. */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1000, FG_RL_NEUTRAL, &retry), FG_RL_OK);
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1000, FG_RL_SUCCESS, &retry), FG_RL_OK);
    }
    /* Three failures at t = 1000, 1010, 1020 (one of them on an account). */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1000, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", 1010, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1020, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1030, FG_RL_FAILURE, &retry), FG_RL_LIMITED);
    CHECK_EQ_INT(retry, 30); /* the failure of t = 1000 leaves the window at 1060 */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "bob", 1030, FG_RL_FAILURE, &retry), FG_RL_LIMITED);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", NULL, 1030, FG_RL_FAILURE, &retry), FG_RL_OK);
    /* Once the oldest has left the window, one more try. */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1061, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", NULL, 1061, FG_RL_FAILURE, &retry), FG_RL_LIMITED);
    CHECK_EQ_INT(retry, 9);
    fg_ratelimit_free(rl);
    fg_ratelimit_free(NULL);
    return fg_test_done();
}
