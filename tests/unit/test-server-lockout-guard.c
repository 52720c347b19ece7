/* test-server-lockout-guard.c - an account failing from many addresses (account_failures in the
 * window) is guarded for lockout_s after the latest failure: an address that has failed on it
 * gets no further try, a new address gets exactly one, and an address that has not failed (the
 * owner's) logs in by 1:1 and 1:N throughout. The guard ends lockout_s after the last failure. */
#include "harness.h"
#include "ratelimit-fixtures.h"

int main(void)
{
    fg_ratelimit_config config;
    char addr[32];
    int retry = 0;

    fg_ratelimit_config_init(&config);
    config.ip_failures = 64;
    config.account_failures = 4;
    config.lockout_after = 3;
    config.lockout_s = 900;
    config.window_s = 60;
    fg_ratelimit *rl = fg_ratelimit_new(&config, NULL);

    /* Two attackers alternate: the 4th failure on the account guards it. */
    const int want[] = {FG_RL_OK, FG_RL_OK, FG_RL_OK, FG_RL_OK, FG_RL_LOCKED, FG_RL_LOCKED};
    for (int i = 0; i < 6; i++) {
        int v =
            rl_try(rl, i % 2 ? "10.0.0.3" : "10.0.0.2", "obama", 1000 + i, FG_RL_FAILURE, &retry);
        CHECKF(v == want[i], "attempt %d: %d, want %d", i + 1, v, want[i]);
    }
    CHECK(retry > 890 && retry <= 900);
    /* The owner's address has not failed: it is not refused, 1:1 or 1:N. */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.1", "obama", 1010, FG_RL_SUCCESS, &retry), FG_RL_OK);
    CHECK_EQ_INT(fg_ratelimit_check_account(rl, "10.0.0.1", "obama", 1010, &retry), FG_RL_OK);
    /* 50 fresh addresses: one try each, no second. */
    int tries = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(addr, sizeof addr, "10.1.0.%d", i);
        for (int k = 0; k < 3; k++)
            tries += rl_try(rl, addr, "obama", 1020, FG_RL_FAILURE, &retry) == FG_RL_OK;
    }
    CHECK_EQ_INT(tries, 50);
    CHECK_EQ_INT(fg_ratelimit_check_account(rl, "10.0.0.2", "obama", 1020, &retry), FG_RL_LOCKED);
    /* The guard lasts 900 s after the latest failure, then the attackers' runs resume. */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", "obama", 1919, FG_RL_FAILURE, &retry), FG_RL_LOCKED);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", "obama", 1921, FG_RL_FAILURE, &retry), FG_RL_OK);
    /* Another account is not guarded. */
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", "biden", 1921, FG_RL_FAILURE, &retry), FG_RL_OK);
    CHECK_EQ_INT(rl_try(rl, "10.0.0.2", "biden", 1921, FG_RL_FAILURE, &retry), FG_RL_OK);
    fg_ratelimit_free(rl);
    return fg_test_done();
}
