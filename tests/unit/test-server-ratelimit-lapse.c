/* test-server-ratelimit-lapse.c - a reservation never settled (its server died mid-attempt, with
 * the counters in a shared database) stops counting after FG_RATELIMIT_RESERVATION_S, and a
 * settled attempt takes back its own reservation only: ending a lapsed one changes nothing. */
#include "harness.h"
#include "server/ratelimit.h"

int main(void)
{
    fg_ratelimit_config config;
    fg_rl_attempt held[4], late;
    int retry = 0;
    const int64_t t0 = 1000, lapsed = t0 + FG_RATELIMIT_RESERVATION_S;

    fg_ratelimit_config_init(&config);
    config.ip_failures = 3;
    config.lockout_after = 2;
    config.account_failures = 64;
    fg_ratelimit *rl = fg_ratelimit_new(&config, NULL);
    CHECK(rl != NULL);

    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, t0, &held[i], &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, t0, &held[3], &retry), FG_RL_LIMITED);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, lapsed - 1, &late, &retry),
                 FG_RL_LIMITED);
    /* Never ended: lapsed now. */
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, lapsed, &late, &retry), FG_RL_OK);
    /* The lapsed ones ending late take nothing back from the live one. */
    for (int i = 0; i < 3; i++)
        fg_ratelimit_end(rl, &held[i], FG_RL_NEUTRAL, NULL, lapsed);
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, lapsed, &held[i], &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.1", NULL, lapsed, &held[2], &retry), FG_RL_LIMITED);

    /* On an account: reservations that would reach the delay wait, until they lapse. */
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.2", "alice", t0, &held[0], &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.2", "alice", t0, &held[1], &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.2", "alice", t0, &held[2], &retry), FG_RL_LOCKED);
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.2", "alice", lapsed, &held[2], &retry), FG_RL_OK);
    fg_ratelimit_free(rl);
    return fg_test_done();
}
