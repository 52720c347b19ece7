/*
 * ratelimit.c - failure counters, delays, guards and budgets: one set of rules over rows
 * (fg_limit_row), kept in one of two places.
 *
 * Keys: "c:<addr>" (an address's failures), "a:<account>" (an account's failures and guard),
 * "p:<account>|<addr>" (an address's run on an account and its delay), "s:<addr>" and
 * "d:<addr>" (sign-up and /detect budgets). Each failure-counting row keeps the times of its
 * last FG_LIMIT_TIMES failures, enough to count those inside the window, and when each attempt
 * in flight (reserved by begin, not yet ended) was reserved: in-flight attempts count as failures
 * until they end, which is what keeps simultaneous requests from overrunning a limit.
 *
 * Every operation names its rows, and a rule function reads and changes them as one step:
 *   - shared store (PostgreSQL): fg_store_limits_update, under locks every server takes;
 *   - memory: a chained hash table under a mutex. Past MAX_ENTRIES rows, expired ones are
 *     swept; if the table is still full, new keys go untracked (fail open) rather than evict a
 *     row that is being limited.
 * The /detect budget is always in memory (ratelimit.h says why).
 */
#include "server/ratelimit.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096
#define MAX_ENTRIES 65536

typedef struct rl_entry {
    struct rl_entry *next;
    fg_limit_row row;
} rl_entry;

struct fg_ratelimit {
    fg_ratelimit_config config;
    fg_store *shared; /* NULL: every row in memory */
    pthread_mutex_t lock;
    rl_entry *buckets[BUCKETS];
    size_t entries;
};

void fg_ratelimit_config_init(fg_ratelimit_config *config)
{
    config->window_s = 60;
    config->ip_failures = 5;
    config->account_failures = 5;
    config->lockout_after = 3;
    config->lockout_s = 900;
    config->signup_per_hour = 20;
    config->detect_per_minute = 300;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

fg_ratelimit *fg_ratelimit_new(const fg_ratelimit_config *config, fg_store *store)
{
    fg_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->config = *config;
    rl->config.window_s = clamp(config->window_s, 1, 86400);
    rl->config.ip_failures = clamp(config->ip_failures, 1, FG_LIMIT_TIMES);
    rl->config.account_failures = clamp(config->account_failures, 1, FG_LIMIT_TIMES);
    rl->config.lockout_after = clamp(config->lockout_after, 1, 1000000);
    rl->config.lockout_s = clamp(config->lockout_s, 1, 86400 * 7);
    rl->config.signup_per_hour = clamp(config->signup_per_hour, 1, 1000000);
    rl->config.detect_per_minute = clamp(config->detect_per_minute, 1, 1000000);
    rl->shared = store && fg_store_is_shared(store) ? store : NULL;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void fg_ratelimit_free(fg_ratelimit *rl)
{
    if (!rl) return;
    for (size_t b = 0; b < BUCKETS; b++) {
        rl_entry *e = rl->buckets[b];
        while (e) {
            rl_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* "p:" + account + "|" + client, lower-cased: names compare case-insensitively. */
static void make_key(char key[FG_LIMIT_KEY_MAX + 1], const char *kind, const char *account,
                     const char *client)
{
    size_t n =
        (size_t)snprintf(key, FG_LIMIT_KEY_MAX + 1, "%s:%s%s%s", kind, account ? account : "",
                         account && client ? "|" : "", client ? client : "");
    for (size_t i = 0; i < n && i <= FG_LIMIT_KEY_MAX; i++)
        key[i] = (char)tolower((unsigned char)key[i]);
}

/* --- the rows in memory --------------------------------------------------------------------- */

static size_t hash(const char *key)
{
    size_t h = 1469598103934665603u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211u;
    return h % BUCKETS;
}

/* Removes expired rows. Caller holds the lock. */
static void sweep(fg_ratelimit *rl, int64_t now)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        rl_entry **link = &rl->buckets[b];
        while (*link) {
            rl_entry *e = *link;
            if (e->row.expires_at <= now) {
                *link = e->next;
                free(e);
                rl->entries--;
            } else {
                link = &e->next;
            }
        }
    }
}

/* The entry of key, created if absent; NULL when the table is full. Caller holds the lock. */
static rl_entry *find(fg_ratelimit *rl, const char *key, int64_t now)
{
    size_t b = hash(key);
    rl_entry *e;
    for (e = rl->buckets[b]; e; e = e->next)
        if (strcmp(e->row.key, key) == 0) return e;
    if (rl->entries >= MAX_ENTRIES) sweep(rl, now);
    if (rl->entries >= MAX_ENTRIES) return NULL;
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->row.key, sizeof e->row.key, "%s", key);
    e->next = rl->buckets[b];
    rl->buckets[b] = e;
    rl->entries++;
    return e;
}

/* The memory twin of fg_store_limits_update: copies of the rows (untracked ones start empty and
 * are dropped), fn, then written back, all under the mutex. */
static int update_in_memory(fg_ratelimit *rl, const char *const *keys, size_t n, int64_t now,
                            fg_limit_fn fn, void *ctx)
{
    fg_limit_row rows[FG_LIMIT_KEYS];
    rl_entry *entries[FG_LIMIT_KEYS];
    int verdict;
    pthread_mutex_lock(&rl->lock);
    for (size_t i = 0; i < n; i++) {
        entries[i] = find(rl, keys[i], now);
        if (entries[i]) {
            rows[i] = entries[i]->row;
        } else {
            memset(&rows[i], 0, sizeof rows[i]);
            snprintf(rows[i].key, sizeof rows[i].key, "%s", keys[i]);
        }
    }
    verdict = fn(ctx, rows, n);
    for (size_t i = 0; i < n && verdict == 0; i++)
        if (entries[i]) entries[i]->row = rows[i];
    pthread_mutex_unlock(&rl->lock);
    return verdict;
}

/* Runs fn on the rows of keys where they live: FG_OK (whatever fn decided), or
 * FG_RL_UNAVAILABLE when the shared store cannot be reached. */
static int update(fg_ratelimit *rl, int shared, const char *const *keys, size_t n, int64_t now,
                  fg_limit_fn fn, void *ctx)
{
    fg_error err = {0};
    int rc;
    if (!shared || !rl->shared) {
        update_in_memory(rl, keys, n, now, fn, ctx);
        return FG_OK;
    }
    rc = fg_store_limits_update(rl->shared, keys, n, fn, ctx, &err);
    if (rc >= 0) return FG_OK;
    fprintf(stderr, "facegate: limits unavailable, refusing the attempt: %s\n", err.message);
    return FG_RL_UNAVAILABLE;
}

/* --- the rules ------------------------------------------------------------------------------ */

/* A run of failures is forgotten after four times the longest delay without one: waiting out
 * the delays does not start a fresh run. */
static int64_t memory_s(const fg_ratelimit *rl)
{
    int64_t run = 4 * (int64_t)rl->config.lockout_s;
    return run > rl->config.window_s ? run : rl->config.window_s;
}

static int64_t later(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Drops failures older than the window and reservations that lapsed. */
static void refresh(const fg_ratelimit *rl, fg_limit_row *row, int64_t now)
{
    int keep = 0;
    for (int i = 0; i < row->nfailures; i++)
        if (row->failures[i] > now - rl->config.window_s) row->failures[keep++] = row->failures[i];
    row->nfailures = keep;
    keep = 0;
    for (int i = 0; i < row->npending; i++)
        if (row->pending[i] > now - FG_RATELIMIT_RESERVATION_S)
            row->pending[keep++] = row->pending[i];
    row->npending = keep;
}

/* When a failure-counting row stops mattering: no delay or guard, no run to remember, nothing in
 * flight. */
static void set_expiry(const fg_ratelimit *rl, fg_limit_row *row)
{
    int64_t t = later(row->locked_until, row->last_failure + memory_s(rl));
    for (int i = 0; i < row->npending; i++)
        t = later(t, row->pending[i] + FG_RATELIMIT_RESERVATION_S);
    if (row->last_failure == 0 && row->npending == 0 && row->locked_until == 0) t = 0;
    row->expires_at = t;
}

/* Failures inside the window (refreshed rows hold no others) and the oldest of them. */
static int recent(const fg_limit_row *row, int64_t now, int64_t *oldest)
{
    *oldest = row->nfailures ? row->failures[0] : now;
    return row->nfailures;
}

static int wait_until(int64_t until, int64_t now)
{
    return until - now < 1 ? 1 : (int)(until - now);
}

/* The rate rule on an address: failures in the window plus attempts in flight. */
static int judge_client(const fg_ratelimit *rl, const fg_limit_row *c, int64_t now, int *wait)
{
    int64_t oldest;
    if (recent(c, now, &oldest) + c->npending < rl->config.ip_failures) return FG_RL_OK;
    /* Over the limit with only in-flight attempts: they end within a request's time. */
    *wait = wait_until(c->nfailures ? oldest + rl->config.window_s : now + 1, now);
    return FG_RL_LIMITED;
}

/* The delay and guard rules for an address on an account. */
static int judge_pair(const fg_ratelimit *rl, const fg_limit_row *pair, const fg_limit_row *account,
                      int64_t now, int reserving, int *wait)
{
    int consecutive = pair->consecutive + (reserving ? pair->npending : 0);
    if (pair->locked_until > now) {
        *wait = wait_until(pair->locked_until, now);
        return FG_RL_LOCKED;
    }
    if (account->locked_until > now && consecutive > 0) {
        *wait = wait_until(account->locked_until, now);
        return FG_RL_LOCKED;
    }
    /* Attempts in flight that would reach the delay if they failed wait for it too. */
    if (reserving && pair->npending > 0 && consecutive >= rl->config.lockout_after) {
        *wait = FG_RATELIMIT_FIRST_DELAY_S;
        return FG_RL_LOCKED;
    }
    return FG_RL_OK;
}

static void add_time(int64_t *times, int *n, int64_t t)
{
    if (*n == FG_LIMIT_TIMES) memmove(times, times + 1, sizeof *times * --*n);
    times[(*n)++] = t;
}

/* Takes back one reservation made at `at` (none if it lapsed). */
static void remove_pending(fg_limit_row *row, int64_t at)
{
    for (int i = 0; i < row->npending; i++)
        if (row->pending[i] == at) {
            memmove(row->pending + i, row->pending + i + 1,
                    sizeof *row->pending * (size_t)(row->npending - i - 1));
            row->npending--;
            return;
        }
}

static void add_failure(const fg_ratelimit *rl, fg_limit_row *row, int64_t now)
{
    if (row->last_failure <= now - memory_s(rl)) row->consecutive = 0;
    add_time(row->failures, &row->nfailures, now);
    row->last_failure = now;
    row->consecutive++;
}

/* After a failure of an address on an account: its delay, and the account's guard. */
static void escalate(const fg_ratelimit *rl, fg_limit_row *pair, fg_limit_row *account, int64_t now)
{
    int64_t oldest;
    int guarded = account->locked_until > now;
    if (recent(account, now, &oldest) >= rl->config.account_failures) {
        account->locked_until = now + rl->config.lockout_s;
        guarded = 1;
    }
    if (guarded) {
        pair->locked_until = account->locked_until;
    } else if (pair->consecutive >= rl->config.lockout_after) {
        int64_t delay = FG_RATELIMIT_FIRST_DELAY_S;
        for (int i = rl->config.lockout_after;
             i < pair->consecutive && delay < rl->config.lockout_s; i++)
            delay *= 2;
        pair->locked_until = now + (delay < rl->config.lockout_s ? delay : rl->config.lockout_s);
    }
}

/* --- the operations ------------------------------------------------------------------------- */

/* rows: the client's, then (with an account) the pair's and the account's. */
typedef struct rl_step {
    fg_ratelimit *rl;
    int64_t now;
    int verdict, wait;
    fg_rl_outcome outcome;
    int64_t reserved_at; /* end: the reservation to take back */
    int pair_reserved;   /* end: the pair row holds a reservation of this attempt */
} rl_step;

static int begin_rows(void *ctx, fg_limit_row *rows, size_t n)
{
    rl_step *st = ctx;
    for (size_t i = 0; i < n; i++)
        refresh(st->rl, &rows[i], st->now);
    st->verdict = n > 1 ? judge_pair(st->rl, &rows[1], &rows[2], st->now, 1, &st->wait) : FG_RL_OK;
    if (st->verdict == FG_RL_OK) st->verdict = judge_client(st->rl, &rows[0], st->now, &st->wait);
    if (st->verdict != FG_RL_OK) return 1; /* nothing changed */
    for (size_t i = 0; i < n && i < 2; i++)
        add_time(rows[i].pending, &rows[i].npending, st->now);
    for (size_t i = 0; i < n; i++)
        set_expiry(st->rl, &rows[i]);
    return 0;
}

int fg_ratelimit_begin(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                       fg_rl_attempt *a, int *retry_after)
{
    char keys[FG_LIMIT_KEYS][FG_LIMIT_KEY_MAX + 1];
    const char *names[FG_LIMIT_KEYS] = {keys[0], keys[1], keys[2]};
    rl_step st = {.rl = rl, .now = now};
    int rc;
    memset(a, 0, sizeof *a);
    make_key(keys[0], "c", NULL, client);
    make_key(keys[1], "p", account, client);
    make_key(keys[2], "a", account, NULL);
    rc = update(rl, 1, names, account ? 3 : 1, now, begin_rows, &st);
    if (rc != FG_OK) {
        st.verdict = rc;
        st.wait = 1;
    }
    if (st.verdict == FG_RL_OK) {
        snprintf(a->client, sizeof a->client, "%s", client);
        snprintf(a->account, sizeof a->account, "%s", account ? account : "");
        a->reserved_at = now;
        a->active = 1;
    }
    *retry_after = st.verdict == FG_RL_OK ? 0 : st.wait;
    return st.verdict;
}

static int check_rows(void *ctx, fg_limit_row *rows, size_t n)
{
    rl_step *st = ctx;
    (void)n;
    st->verdict = judge_pair(st->rl, &rows[0], &rows[1], st->now, 0, &st->wait);
    return 1; /* read only */
}

int fg_ratelimit_check_account(fg_ratelimit *rl, const char *client, const char *account,
                               int64_t now, int *retry_after)
{
    char keys[2][FG_LIMIT_KEY_MAX + 1];
    const char *names[2] = {keys[0], keys[1]};
    rl_step st = {.rl = rl, .now = now};
    int rc;
    make_key(keys[0], "p", account, client);
    make_key(keys[1], "a", account, NULL);
    rc = update(rl, 1, names, 2, now, check_rows, &st);
    if (rc != FG_OK) {
        st.verdict = rc;
        st.wait = 1;
    }
    *retry_after = st.verdict == FG_RL_OK ? 0 : st.wait;
    return st.verdict;
}

/* rows: the client's, the pair's (if any), the account's (if the attempt named one). */
static int end_rows(void *ctx, fg_limit_row *rows, size_t n)
{
    rl_step *st = ctx;
    fg_limit_row *pair = n > 1 ? &rows[1] : NULL;
    for (size_t i = 0; i < n; i++)
        refresh(st->rl, &rows[i], st->now);
    remove_pending(&rows[0], st->reserved_at);
    if (pair && st->pair_reserved) remove_pending(pair, st->reserved_at);
    if (st->outcome == FG_RL_FAILURE) {
        add_failure(st->rl, &rows[0], st->now);
        if (n > 2) {
            add_failure(st->rl, &rows[2], st->now);
            add_failure(st->rl, pair, st->now);
            escalate(st->rl, pair, &rows[2], st->now);
        }
    } else if (st->outcome == FG_RL_SUCCESS && pair) {
        pair->consecutive = 0;
    }
    for (size_t i = 0; i < n; i++)
        set_expiry(st->rl, &rows[i]);
    return 0;
}

void fg_ratelimit_end(fg_ratelimit *rl, fg_rl_attempt *a, fg_rl_outcome outcome,
                      const char *account, int64_t now)
{
    char keys[FG_LIMIT_KEYS][FG_LIMIT_KEY_MAX + 1];
    const char *names[FG_LIMIT_KEYS] = {keys[0], keys[1], keys[2]};
    rl_step st = {.rl = rl, .now = now, .outcome = outcome};
    size_t n = 1;
    if (!a || !a->active) return;
    st.reserved_at = a->reserved_at;
    make_key(keys[0], "c", NULL, a->client);
    if (a->account[0]) {
        make_key(keys[1], "p", a->account, a->client);
        make_key(keys[2], "a", a->account, NULL);
        st.pair_reserved = 1;
        n = outcome == FG_RL_FAILURE ? 3 : 2;
    } else if (outcome == FG_RL_SUCCESS && account) {
        make_key(keys[1], "p", account, a->client); /* a 1:N success clears its run there */
        n = 2;
    }
    update(rl, 1, names, n, now, end_rows, &st);
    a->active = 0;
}

typedef struct rl_take {
    double capacity, period_ms;
    int64_t now_ms;
    int verdict, wait;
} rl_take;

static int take_row(void *ctx, fg_limit_row *row, size_t n)
{
    rl_take *t = ctx;
    (void)n;
    if (row->refilled_ms == 0) {
        row->tokens = t->capacity; /* a budget starts full */
    } else if (t->now_ms > row->refilled_ms) {
        row->tokens += (double)(t->now_ms - row->refilled_ms) * t->capacity / t->period_ms;
        if (row->tokens > t->capacity) row->tokens = t->capacity;
    }
    row->refilled_ms = t->now_ms;
    if (row->tokens >= 1) {
        row->tokens -= 1;
    } else {
        t->verdict = FG_RL_LIMITED;
        t->wait = (int)ceil((1 - row->tokens) * t->period_ms / t->capacity / 1000);
    }
    /* Full again (so forgettable) once the spent tokens have come back. */
    row->expires_at =
        (t->now_ms + (int64_t)ceil((t->capacity - row->tokens) * t->period_ms / t->capacity)) /
            1000 +
        1;
    return 0;
}

int fg_ratelimit_take(fg_ratelimit *rl, fg_rl_budget budget, const char *client, int64_t now_ms,
                      int *retry_after)
{
    char key[FG_LIMIT_KEY_MAX + 1];
    const char *names[1] = {key};
    int signup = budget == FG_RL_SIGNUP;
    rl_take t = {.capacity = signup ? rl->config.signup_per_hour : rl->config.detect_per_minute,
                 .period_ms = signup ? 3600e3 : 60e3,
                 .now_ms = now_ms,
                 .verdict = FG_RL_OK};
    int rc;
    make_key(key, signup ? "s" : "d", NULL, client);
    rc = update(rl, signup, names, 1, now_ms / 1000, take_row, &t);
    if (rc != FG_OK) {
        t.verdict = rc;
        t.wait = 1;
    }
    *retry_after = t.verdict == FG_RL_OK ? 0 : t.wait;
    return t.verdict;
}
