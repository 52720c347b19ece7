/*
 * ratelimit.c - failure counters, delays, guards and budgets in one chained hash table.
 *
 * Keys: "c:<addr>" (an address's failures), "a:<account>" (an account's failures and guard),
 * "p:<account>|<addr>" (an address's run on an account and its delay), "s:<addr>" and
 * "d:<addr>" (sign-up and /detect budgets). Each failure-counting key keeps the times of its
 * last RING failures, enough to count those inside the window, and how many attempts are in
 * flight (reserved by begin, not yet ended): in-flight attempts count as failures until they end,
 * which is what keeps simultaneous requests from overrunning a limit.
 *
 * Memory is bounded: past MAX_ENTRIES keys, entries with nothing in the window, nothing in
 * flight, no delay or guard and a full budget are swept; if the table is still full, new keys
 * go untracked (fail open) rather than evict a key that is being limited.
 */
#include "server/ratelimit.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 64
#define BUCKETS 4096
#define MAX_ENTRIES 65536
#define KEY_MAX 160

typedef struct rl_entry {
    struct rl_entry *next;
    char key[KEY_MAX];
    int64_t failures[RING]; /* ring of failure times */
    int head, count;
    int pending;          /* attempts in flight */
    int consecutive;      /* pair: failures since the last success */
    int64_t locked_until; /* pair: delay; account: guard */
    int64_t last_failure;
    double tokens; /* budget */
    int64_t refilled_ms;
} rl_entry;

struct fg_ratelimit {
    fg_ratelimit_config config;
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

fg_ratelimit *fg_ratelimit_new(const fg_ratelimit_config *config)
{
    fg_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->config = *config;
    rl->config.window_s = clamp(config->window_s, 1, 86400);
    rl->config.ip_failures = clamp(config->ip_failures, 1, RING);
    rl->config.account_failures = clamp(config->account_failures, 1, RING);
    rl->config.lockout_after = clamp(config->lockout_after, 1, 1000000);
    rl->config.lockout_s = clamp(config->lockout_s, 1, 86400 * 7);
    rl->config.signup_per_hour = clamp(config->signup_per_hour, 1, 1000000);
    rl->config.detect_per_minute = clamp(config->detect_per_minute, 1, 1000000);
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
static void make_key(char *key, const char *kind, const char *account, const char *client)
{
    size_t n = (size_t)snprintf(key, KEY_MAX, "%s:%s%s%s", kind, account ? account : "",
                                account && client ? "|" : "", client ? client : "");
    for (size_t i = 0; i < n && i < KEY_MAX; i++)
        key[i] = (char)tolower((unsigned char)key[i]);
}

static size_t hash(const char *key)
{
    size_t h = 1469598103934665603u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211u;
    return h % BUCKETS;
}

/* A run of failures is forgotten after four times the longest delay without one: waiting out
 * the delays does not start a fresh run. */
static int64_t memory_s(const fg_ratelimit *rl)
{
    int64_t run = 4 * (int64_t)rl->config.lockout_s;
    return run > rl->config.window_s ? run : rl->config.window_s;
}

static int stale(const fg_ratelimit *rl, const rl_entry *e, int64_t now)
{
    /* A budget entry refills within the hour; a failure entry is idle after memory_s. */
    return e->pending == 0 && e->locked_until <= now && e->last_failure <= now - memory_s(rl) &&
           e->refilled_ms <= (now - 3600) * 1000;
}

/* Removes stale entries. Caller holds the lock. */
static void sweep(fg_ratelimit *rl, int64_t now)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        rl_entry **link = &rl->buckets[b];
        while (*link) {
            rl_entry *e = *link;
            if (stale(rl, e, now)) {
                *link = e->next;
                free(e);
                rl->entries--;
            } else {
                link = &e->next;
            }
        }
    }
}

/* Finds the entry of key, creating it if `create`. Caller holds the lock. */
static rl_entry *find(fg_ratelimit *rl, const char *key, int create, int64_t now)
{
    size_t b = hash(key);
    rl_entry *e;
    for (e = rl->buckets[b]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    if (!create) return NULL;
    if (rl->entries >= MAX_ENTRIES) sweep(rl, now);
    if (rl->entries >= MAX_ENTRIES) return NULL;
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->tokens = -1; /* a budget starts full (set on first use) */
    e->next = rl->buckets[b];
    rl->buckets[b] = e;
    rl->entries++;
    return e;
}

/* Failures inside the window and the oldest of them. */
static int recent(const fg_ratelimit *rl, const rl_entry *e, int64_t now, int64_t *oldest)
{
    int n = 0;
    *oldest = now;
    for (int i = 0; i < e->count; i++) {
        int64_t t = e->failures[(e->head - 1 - i + RING) % RING];
        if (t <= now - rl->config.window_s) break; /* newest first: the rest are older */
        n++;
        *oldest = t;
    }
    return n;
}

static int wait_until(int64_t until, int64_t now)
{
    return until - now < 1 ? 1 : (int)(until - now);
}

/* The rate rule on an address: failures in the window plus attempts in flight. */
static int judge_client(const fg_ratelimit *rl, const rl_entry *e, int64_t now, int *wait)
{
    int64_t oldest;
    if (!e || recent(rl, e, now, &oldest) + e->pending < rl->config.ip_failures) return FG_RL_OK;
    /* Over the limit with only in-flight attempts: they end within a request's time. */
    *wait = wait_until(e->count ? oldest + rl->config.window_s : now + 1, now);
    return FG_RL_LIMITED;
}

/* The delay and guard rules for an address on an account. */
static int judge_pair(const fg_ratelimit *rl, const rl_entry *pair, const rl_entry *account,
                      int64_t now, int reserving, int *wait)
{
    int consecutive = pair ? pair->consecutive + (reserving ? pair->pending : 0) : 0;
    if (pair && pair->locked_until > now) {
        *wait = wait_until(pair->locked_until, now);
        return FG_RL_LOCKED;
    }
    if (account && account->locked_until > now && consecutive > 0) {
        *wait = wait_until(account->locked_until, now);
        return FG_RL_LOCKED;
    }
    /* Attempts in flight that would reach the delay if they failed wait for it too. */
    if (reserving && pair && pair->pending > 0 && consecutive >= rl->config.lockout_after) {
        *wait = FG_RATELIMIT_FIRST_DELAY_S;
        return FG_RL_LOCKED;
    }
    return FG_RL_OK;
}

int fg_ratelimit_begin(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                       fg_rl_attempt *a, int *retry_after)
{
    char key[KEY_MAX];
    rl_entry *c, *p = NULL, *acc = NULL;
    int verdict = FG_RL_OK, wait = 0;
    memset(a, 0, sizeof *a);
    pthread_mutex_lock(&rl->lock);
    if (account) {
        make_key(key, "p", account, client);
        p = find(rl, key, 1, now);
        make_key(key, "a", account, NULL);
        acc = find(rl, key, 0, now);
        verdict = judge_pair(rl, p, acc, now, 1, &wait);
    }
    make_key(key, "c", NULL, client);
    c = find(rl, key, 1, now);
    if (verdict == FG_RL_OK) verdict = judge_client(rl, c, now, &wait);
    if (verdict == FG_RL_OK) {
        if (c) c->pending++;
        if (p) p->pending++;
        snprintf(a->client, sizeof a->client, "%s", client);
        snprintf(a->account, sizeof a->account, "%s", account ? account : "");
        a->active = 1;
    }
    pthread_mutex_unlock(&rl->lock);
    *retry_after = verdict == FG_RL_OK ? 0 : wait;
    return verdict;
}

int fg_ratelimit_check_account(fg_ratelimit *rl, const char *client, const char *account,
                               int64_t now, int *retry_after)
{
    char key[KEY_MAX];
    int verdict, wait = 0;
    pthread_mutex_lock(&rl->lock);
    make_key(key, "p", account, client);
    rl_entry *p = find(rl, key, 0, now);
    make_key(key, "a", account, NULL);
    verdict = judge_pair(rl, p, find(rl, key, 0, now), now, 0, &wait);
    pthread_mutex_unlock(&rl->lock);
    *retry_after = verdict == FG_RL_OK ? 0 : wait;
    return verdict;
}

static void add_failure(const fg_ratelimit *rl, rl_entry *e, int64_t now)
{
    if (!e) return;
    if (e->last_failure <= now - memory_s(rl)) e->consecutive = 0;
    e->failures[e->head] = now;
    e->head = (e->head + 1) % RING;
    if (e->count < RING) e->count++;
    e->last_failure = now;
    e->consecutive++;
}

/* After a failure of an address on an account: its delay, and the account's guard. */
static void escalate(const fg_ratelimit *rl, rl_entry *pair, rl_entry *account, int64_t now)
{
    int64_t oldest;
    int guarded = account && account->locked_until > now;
    if (account && recent(rl, account, now, &oldest) >= rl->config.account_failures) {
        account->locked_until = now + rl->config.lockout_s;
        guarded = 1;
    }
    if (!pair) return;
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

void fg_ratelimit_end(fg_ratelimit *rl, fg_rl_attempt *a, fg_rl_outcome outcome,
                      const char *account, int64_t now)
{
    char key[KEY_MAX];
    rl_entry *c, *p = NULL;
    if (!a || !a->active) return;
    pthread_mutex_lock(&rl->lock);
    make_key(key, "c", NULL, a->client);
    if ((c = find(rl, key, 0, now)) != NULL && c->pending > 0) c->pending--;
    if (a->account[0]) {
        make_key(key, "p", a->account, a->client);
        if ((p = find(rl, key, 0, now)) != NULL && p->pending > 0) p->pending--;
    }
    if (outcome == FG_RL_FAILURE) {
        add_failure(rl, c, now);
        if (a->account[0]) {
            make_key(key, "a", a->account, NULL);
            rl_entry *acc = find(rl, key, 1, now);
            add_failure(rl, acc, now);
            add_failure(rl, p, now);
            escalate(rl, p, acc, now);
        }
    } else if (outcome == FG_RL_SUCCESS) {
        if (!p && account) {
            make_key(key, "p", account, a->client);
            p = find(rl, key, 0, now);
        }
        if (p) p->consecutive = 0;
    }
    pthread_mutex_unlock(&rl->lock);
    a->active = 0;
}

int fg_ratelimit_take(fg_ratelimit *rl, fg_rl_budget budget, const char *client, int64_t now_ms,
                      int *retry_after)
{
    char key[KEY_MAX];
    double capacity =
        budget == FG_RL_SIGNUP ? rl->config.signup_per_hour : rl->config.detect_per_minute;
    double period_ms = budget == FG_RL_SIGNUP ? 3600e3 : 60e3;
    int verdict = FG_RL_OK;
    rl_entry *e;
    make_key(key, budget == FG_RL_SIGNUP ? "s" : "d", NULL, client);
    pthread_mutex_lock(&rl->lock);
    e = find(rl, key, 1, now_ms / 1000);
    if (e) {
        if (e->tokens < 0) {
            e->tokens = capacity;
        } else if (now_ms > e->refilled_ms) {
            e->tokens += (double)(now_ms - e->refilled_ms) * capacity / period_ms;
            if (e->tokens > capacity) e->tokens = capacity;
        }
        e->refilled_ms = now_ms;
        if (e->tokens >= 1) {
            e->tokens -= 1;
        } else {
            verdict = FG_RL_LIMITED;
            *retry_after = (int)ceil((1 - e->tokens) * period_ms / capacity / 1000);
        }
    }
    pthread_mutex_unlock(&rl->lock);
    if (verdict == FG_RL_OK) *retry_after = 0;
    return verdict;
}
