/* test-server-ratelimit-budget.c - per-address budgets: sign-ups per hour and /detect calls per
 * minute start full, refill continuously, say how long to wait, and are kept per address and
 * per kind. */
#include "harness.h"
#include "server/ratelimit.h"

int main(void)
{
    fg_ratelimit_config config;
    int retry = 0, ok = 0;

    fg_ratelimit_config_init(&config);
    CHECK_EQ_INT(config.signup_per_hour, 20);
    CHECK_EQ_INT(config.detect_per_minute, 300);
    config.signup_per_hour = 4;
    config.detect_per_minute = 6;
    fg_ratelimit *rl = fg_ratelimit_new(&config, NULL);
    const int64_t t0 = 1700000000000;

    for (int i = 0; i < 10; i++)
        ok += fg_ratelimit_take(rl, FG_RL_SIGNUP, "10.0.0.1", t0, &retry) == FG_RL_OK;
    CHECK_EQ_INT(ok, 4);
    CHECK_EQ_INT(retry, 900); /* one sign-up every 15 minutes */
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_SIGNUP, "10.0.0.2", t0, &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_DETECT, "10.0.0.1", t0, &retry), FG_RL_OK);
    /* 14 minutes later still nothing; at 15, one. */
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_SIGNUP, "10.0.0.1", t0 + 14 * 60000, &retry),
                 FG_RL_LIMITED);
    CHECK(retry >= 1 && retry <= 60);
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_SIGNUP, "10.0.0.1", t0 + 15 * 60000, &retry),
                 FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_SIGNUP, "10.0.0.1", t0 + 15 * 60000, &retry),
                 FG_RL_LIMITED);

    /* /detect: 6 a minute, so one every 10 s once the first 6 are spent. */
    ok = 0;
    for (int i = 0; i < 8; i++)
        ok += fg_ratelimit_take(rl, FG_RL_DETECT, "10.0.0.3", t0, &retry) == FG_RL_OK;
    CHECK_EQ_INT(ok, 6);
    CHECK_EQ_INT(retry, 10);
    CHECK_EQ_INT(fg_ratelimit_take(rl, FG_RL_DETECT, "10.0.0.3", t0 + 10000, &retry), FG_RL_OK);
    /* A long pause refills to the full budget, no more. */
    ok = 0;
    for (int i = 0; i < 10; i++)
        ok += fg_ratelimit_take(rl, FG_RL_DETECT, "10.0.0.3", t0 + 3600000, &retry) == FG_RL_OK;
    CHECK_EQ_INT(ok, 6);
    fg_ratelimit_free(rl);
    return fg_test_done();
}
