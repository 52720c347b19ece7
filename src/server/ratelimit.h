/*
 * ratelimit.h - what keeps face log-in brute force expensive without letting a stranger lock
 * the owner out, and the per-address budgets of the expensive anonymous routes.
 *
 * A face attempt (log-in, or a sign-up / added face, whose "already enrolled" answer is the same
 * oracle) is reserved with fg_ratelimit_begin before the face is processed, so simultaneous
 * requests cannot overrun a limit, and settled with fg_ratelimit_end. Only failures count (a
 * face that matched nobody, or not the claimed account; a face already enrolled). Rules:
 *   - address: more than `ip_failures` failures (in flight ones included) from one client
 *     address within `window_s` -> 429 until the oldest leaves the window;
 *   - address on an account: after `lockout_after` consecutive failures of one address on one
 *     account, that address must wait before its next try there (423): 30 s, doubling with each
 *     further failure, at most `lockout_s`. A success from it clears the run, and so do four
 *     times lockout_s without a failure. Other addresses, the owner's among them, are not
 *     concerned;
 *   - account: `account_failures` failures on one account within `window_s`, from any
 *     addresses, put it under guard for `lockout_s` after the latest: while guarded, an address
 *     that has failed on it gets no further try until the guard ends. So a distributed attack
 *     gets one try per address, and an address that has not failed (the owner's) still gets in.
 * Accounts are keyed by name whether or not they exist, so the answers give no hint of who is
 * enrolled. Budgets: sign-ups per address per hour, /detect calls per address per minute (token
 * buckets).
 *
 * Where the state lives: with a store several servers share (PostgreSQL), every counter, delay,
 * guard and the sign-up budget are rows of the database (fg_store_limits_update), read and
 * written under a lock that every server takes, so failures spread over servers meet one limit
 * and a reservation on one server counts on all. Only the /detect budget stays in each server's
 * memory: it guards that server's own processors, says nothing about enrolled faces, and is
 * spent every few hundred ms by each camera (a database write per frame would cost more than the
 * detection it guards). Without a shared store (SQLite, one server) everything is in memory and
 * a restart forgets it. The rules (below, in ratelimit.c) are the same for both.
 */
#ifndef FG_SERVER_RATELIMIT_H
#define FG_SERVER_RATELIMIT_H

#include <stdint.h>

#include "store/store.h"

typedef struct fg_ratelimit_config {
    int window_s;          /* default 60 */
    int ip_failures;       /* default 5 per window */
    int account_failures;  /* default 5 per window: the account is then guarded */
    int lockout_after;     /* default 3 consecutive failures of one address on one account */
    int lockout_s;         /* default 900: the longest delay, and the guard's length */
    int signup_per_hour;   /* default 20 sign-ups per address */
    int detect_per_minute; /* default 300 /detect calls per address (the web app: at most 150) */
} fg_ratelimit_config;

/* The first delay of an address on an account once it reaches lockout_after failures. */
#define FG_RATELIMIT_FIRST_DELAY_S 30
/* An attempt still unsettled this long after its reservation no longer counts as in flight. */
#define FG_RATELIMIT_RESERVATION_S 300

typedef struct fg_ratelimit fg_ratelimit;

/* FG_RL_UNAVAILABLE: the shared store cannot be reached; the attempt is refused (503), never let
 * through unlimited. */
enum { FG_RL_OK = 0, FG_RL_LIMITED = 1, FG_RL_LOCKED = 2, FG_RL_UNAVAILABLE = 3 };

/* How an attempt ended. */
typedef enum fg_rl_outcome {
    FG_RL_NEUTRAL, /* no verdict on a face (bad image, no face): nothing counted */
    FG_RL_FAILURE, /* a face that matched nobody or not the claimed account, or was enrolled */
    FG_RL_SUCCESS, /* logged in: clears the address's run on that account */
} fg_rl_outcome;

/* A reserved attempt, settled by fg_ratelimit_end. */
typedef struct fg_rl_attempt {
    char client[64];
    char account[72];    /* "" for 1:N and sign-up */
    int64_t reserved_at; /* the reservation's time, to take it back */
    int active;
} fg_rl_attempt;

typedef enum fg_rl_budget {
    FG_RL_SIGNUP, /* signup_per_hour */
    FG_RL_DETECT, /* detect_per_minute */
} fg_rl_budget;

void fg_ratelimit_config_init(fg_ratelimit_config *config);

/* A limiter whose state is in `store` when several servers share it (fg_store_is_shared), else
 * (store NULL, or SQLite) in this process's memory. The store must outlive the limiter. */
fg_ratelimit *fg_ratelimit_new(const fg_ratelimit_config *config, fg_store *store);
void fg_ratelimit_free(fg_ratelimit *rl);

/* Before a face attempt at time `now` (seconds): FG_RL_OK with the attempt reserved in *a, or
 * FG_RL_LIMITED / FG_RL_LOCKED / FG_RL_UNAVAILABLE with *retry_after (seconds, >= 1) and nothing
 * reserved. account may be NULL (1:N log-in, sign-up). A reservation that is never settled (its
 * server died) lapses after FG_RATELIMIT_RESERVATION_S. */
int fg_ratelimit_begin(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                       fg_rl_attempt *a, int *retry_after);

/* A 1:N log-in found `account`: may this client log in to it? FG_RL_OK, FG_RL_LOCKED or
 * FG_RL_UNAVAILABLE. */
int fg_ratelimit_check_account(fg_ratelimit *rl, const char *client, const char *account,
                               int64_t now, int *retry_after);

/* Settles a reserved attempt. For a 1:N success, account names the account logged in to (the
 * client's run there is cleared); otherwise it may be NULL. An inactive attempt is a no-op. If
 * the shared store cannot be reached the outcome is lost (logged) and the reservation lapses. */
void fg_ratelimit_end(fg_ratelimit *rl, fg_rl_attempt *a, fg_rl_outcome outcome,
                      const char *account, int64_t now);

/* Takes one unit of a client's budget: FG_RL_OK, or FG_RL_LIMITED / FG_RL_UNAVAILABLE with
 * *retry_after. now_ms is in milliseconds (budgets refill continuously). */
int fg_ratelimit_take(fg_ratelimit *rl, fg_rl_budget budget, const char *client, int64_t now_ms,
                      int *retry_after);

#endif
