/*
 * ratelimit.c - failed log-in counters in a chained hash table.
 *
 * Each key keeps the times of its last RING failures, enough to count those inside the window.
 * Memory is bounded: past MAX_ENTRIES keys, entries with nothing in the window and no lockout
 * are swept; if the table is still full, new keys go untracked (fail open) rather than evict
 * a key that is being limited.
 */
#include "server/ratelimit.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 64
#define BUCKETS 4096
#define MAX_ENTRIES 65536

typedef struct rl_entry {
    struct rl_entry *next;
    char key[80];
    int64_t failures[RING]; /* ring of failure times */
    int head, count;
    int consecutive;
    int64_t locked_until;
    int64_t last_failure;
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
    config->lockout_after = 10;
    config->lockout_s = 900;
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

static void make_key(char *key, size_t cap, const char *kind, const char *name)
{
    size_t n = (size_t)snprintf(key, cap, "%s:%s", kind, name);
    for (size_t i = 0; i < n && i < cap; i++)
        key[i] = (char)tolower((unsigned char)key[i]);
}

static size_t hash(const char *key)
{
    size_t h = 1469598103934665603u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211u;
    return h % BUCKETS;
}

/* A run of consecutive failures is forgotten after lockout_s without a failure. */
static int64_t memory_s(const fg_ratelimit *rl)
{
    return rl->config.lockout_s > rl->config.window_s ? rl->config.lockout_s : rl->config.window_s;
}

static int stale(const fg_ratelimit *rl, const rl_entry *e, int64_t now)
{
    return e->locked_until <= now && e->last_failure <= now - memory_s(rl);
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

/* Applies both rules to one entry; returns FG_RL_* and the wait. */
static int judge(const fg_ratelimit *rl, const rl_entry *e, int limit, int64_t now, int *wait)
{
    int64_t oldest;
    if (!e) return FG_RL_OK;
    if (e->locked_until > now) {
        *wait = (int)(e->locked_until - now);
        return FG_RL_LOCKED;
    }
    if (recent(rl, e, now, &oldest) >= limit) {
        *wait = (int)(oldest + rl->config.window_s - now);
        if (*wait < 1) *wait = 1;
        return FG_RL_LIMITED;
    }
    return FG_RL_OK;
}

int fg_ratelimit_check(fg_ratelimit *rl, const char *client, const char *account, int64_t now,
                       int *retry_after)
{
    char key[80];
    int verdict = FG_RL_OK, wait = 0;
    pthread_mutex_lock(&rl->lock);
    if (account) {
        make_key(key, sizeof key, "account", account);
        verdict = judge(rl, find(rl, key, 0, now), rl->config.account_failures, now, &wait);
    }
    if (verdict == FG_RL_OK) {
        make_key(key, sizeof key, "client", client);
        verdict = judge(rl, find(rl, key, 0, now), rl->config.ip_failures, now, &wait);
    }
    pthread_mutex_unlock(&rl->lock);
    *retry_after = verdict == FG_RL_OK ? 0 : wait < 1 ? 1 : wait;
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

void fg_ratelimit_failure(fg_ratelimit *rl, const char *client, const char *account, int64_t now)
{
    char key[80];
    rl_entry *e;
    pthread_mutex_lock(&rl->lock);
    make_key(key, sizeof key, "client", client);
    add_failure(rl, find(rl, key, 1, now), now);
    if (account) {
        make_key(key, sizeof key, "account", account);
        e = find(rl, key, 1, now);
        add_failure(rl, e, now);
        if (e && e->consecutive >= rl->config.lockout_after) {
            e->locked_until = now + rl->config.lockout_s;
            e->consecutive = 0;
        }
    }
    pthread_mutex_unlock(&rl->lock);
}

void fg_ratelimit_success(fg_ratelimit *rl, const char *account)
{
    char key[80];
    rl_entry *e;
    if (!account) return;
    pthread_mutex_lock(&rl->lock);
    make_key(key, sizeof key, "account", account);
    e = find(rl, key, 0, 0);
    if (e) e->consecutive = 0;
    pthread_mutex_unlock(&rl->lock);
}
