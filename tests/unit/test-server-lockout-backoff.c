/* test-server-lockout-backoff.c - an address failing on one account: after lockout_after
 * consecutive failures it must wait 30 s, then 60, 120, ... up to lockout_s, before its next try
 * there (FG_RL_LOCKED with the wait); a 1:N log-in landing on that account is refused too; a
 * success clears the run; the same address on another account, and other addresses on this one,
 * are not concerned. Accounts compare case-insensitively, existing or not. */
#include "harness.h"
#include "ratelimit-fixtures.h"

int main(void)
{
    fg_ratelimit_config config;
    int retry = 0;
    int64_t t = 1000;

    fg_ratelimit_config_init(&config);
    config.ip_failures = 64;
    config.account_failures = 64;
    config.lockout_after = 3;
    config.lockout_s = 900;
    fg_ratelimit *rl = fg_ratelimit_new(&config, NULL);

    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "Alice", t, FG_RL_FAILURE, &retry), FG_RL_OK);
    /* Delays 30, 60, 120, 240, 480, then 900 (the cap) for good. */
    const int delays[] = {30, 60, 120, 240, 480, 900, 900};
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t, FG_RL_FAILURE, &retry), FG_RL_LOCKED);
        CHECKF(retry == delays[i], "delay %d: %d s, want %d", i, retry, delays[i]);
        CHECK_EQ_INT(fg_ratelimit_check_account(rl, "10.0.0.1", "ALICE", t, &retry), FG_RL_LOCKED);
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t + delays[i] - 1, FG_RL_FAILURE, &retry),
                     FG_RL_LOCKED);
        t += delays[i];
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t, FG_RL_FAILURE, &retry), FG_RL_OK);
    }
    /* Not concerned: another address on alice, this address on bob. */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", "alice", t, FG_RL_SUCCESS, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "bob", t, FG_RL_FAILURE, &retry), FG_RL_OK);
    /* After the wait, a success clears the run: three free failures again. */
    t += 900;
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t, FG_RL_SUCCESS, &retry), FG_RL_OK);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "alice", t, FG_RL_FAILURE, &retry), FG_RL_LOCKED);
    CHECK_EQ_INT(retry, 30);
    /* A 1:N success from another address on alice clears nothing of 10.0.0.1. */
    fg_rl_attempt a;
    CHECK_EQ_INT(fg_ratelimit_begin(rl, "10.0.0.3", NULL, t, &a, &retry), FG_RL_OK);
    fg_ratelimit_end(rl, &a, FG_RL_SUCCESS, "alice", t);
    CHECK_EQ_INT(fg_ratelimit_check_account(rl, "10.0.0.1", "alice", t, &retry), FG_RL_LOCKED);
    fg_ratelimit_free(rl);
    return fg_test_done();
}
