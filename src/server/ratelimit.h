/*
 * ratelimit.h - failed log-in limits per client address and per account.
 *
 * Only failures count (a face that matched nobody, or not the claimed account); a success
 * clears the account's run of consecutive failures. Two rules:
 *   - rate: more than `ip_failures` failures from one client address, or `account_failures`
 *     on one account, within `window_s` seconds -> 429 until the oldest leaves the window;
 *   - lockout: `lockout_after` consecutive failures on one account -> 423 for `lockout_s`.
 * Accounts are keyed by lower-cased username whether or not the account exists, so the
 * answers give no hint of which usernames are enrolled. State is in memory (per process).
 */
#ifndef FG_SERVER_RATELIMIT_H
#define FG_SERVER_RATELIMIT_H

#include <stdint.h>

typedef struct fg_ratelimit_config {
    int window_s;         /* default 60 */
    int ip_failures;      /* default 5 per window */
    int account_failures; /* default 5 per window */
    int lockout_after;    /* default 10 consecutive */
    int lockout_s;        /* default 900 (15 minutes) */
} fg_ratelimit_config;

typedef struct fg_ratelimit fg_ratelimit;

enum { FG_RL_OK = 0, FG_RL_LIMITED = 1, FG_RL_LOCKED = 2 };

void fg_ratelimit_config_init(fg_ratelimit_config *config);
fg_ratelimit *fg_ratelimit_new(const fg_ratelimit_config *config);
void fg_ratelimit_free(fg_ratelimit *rl);

/* Before a log-in attempt at time `now` (seconds): FG_RL_OK, or FG_RL_LIMITED / FG_RL_LOCKED
 * with *retry_after (seconds, >= 1). account may be NULL (1:N log-in). */
int fg_ratelimit_check(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                       int *retry_after);

/* Records a failed attempt / a success. */
void fg_ratelimit_failure(fg_ratelimit *rl, const char *client, const char *account, int64_t now);
void fg_ratelimit_success(fg_ratelimit *rl, const char *account);

#endif
