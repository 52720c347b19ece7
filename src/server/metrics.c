/*
 * metrics.c - counters behind a mutex, rendered in the Prometheus text format 0.0.4.
 *
 * Statuses are kept per route in a small list: a route answers only a handful of distinct
 * statuses, so a linear scan beats a map.
 */
#include "server/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

#define MAX_STATUSES 24

static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static const char *const OUTCOMES[FG_LOGIN_OUTCOMES] = {"success", "no_match", "rate_limited",
                                                        "locked_out", "bad_input"};

typedef struct route_stats {
    int statuses[MAX_STATUSES];
    uint64_t status_counts[MAX_STATUSES];
    int nstatuses;
    uint64_t buckets[NBUCKETS]; /* cumulative at render time, per-bucket here */
    uint64_t count;
    double sum;
} route_stats;

struct fg_metrics {
    pthread_mutex_t lock;
    const char *const *routes;
    size_t nroutes;
    route_stats *stats;
    uint64_t logins[FG_LOGIN_OUTCOMES];
    uint64_t timeouts;
};

fg_metrics *fg_metrics_new(const char *const *routes, size_t count)
{
    fg_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->stats = calloc(count, sizeof *m->stats);
    if (!m->stats) {
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->nroutes = count;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void fg_metrics_free(fg_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->lock);
    free(m->stats);
    free(m);
}

void fg_metrics_request(fg_metrics *m, size_t route, int status, double seconds)
{
    route_stats *s;
    int i;
    if (route >= m->nroutes) return;
    pthread_mutex_lock(&m->lock);
    s = &m->stats[route];
    for (i = 0; i < s->nstatuses && s->statuses[i] != status; i++)
        continue;
    if (i == s->nstatuses && i < MAX_STATUSES) s->statuses[s->nstatuses++] = status;
    if (i < MAX_STATUSES) s->status_counts[i]++;
    for (size_t b = 0; b < NBUCKETS; b++) {
        if (seconds <= BUCKETS[b]) {
            s->buckets[b]++;
            break;
        }
    }
    s->count++;
    s->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

void fg_metrics_login(fg_metrics *m, fg_login_outcome outcome)
{
    if (outcome >= FG_LOGIN_OUTCOMES) return;
    pthread_mutex_lock(&m->lock);
    m->logins[outcome]++;
    pthread_mutex_unlock(&m->lock);
}

void fg_metrics_timeouts(fg_metrics *m, unsigned count)
{
    pthread_mutex_lock(&m->lock);
    m->timeouts += count;
    pthread_mutex_unlock(&m->lock);
}

/* A growing text buffer. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->failed) return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 8192) + (size_t)n;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

char *fg_metrics_render(fg_metrics *m, const fg_metrics_gauges *g)
{
    text t = {0};
    pthread_mutex_lock(&m->lock);
    put(&t, "# HELP facegate_http_requests_total HTTP requests by route and status.\n"
            "# TYPE facegate_http_requests_total counter\n");
    for (size_t r = 0; r < m->nroutes; r++)
        for (int i = 0; i < m->stats[r].nstatuses; i++)
            put(&t, "facegate_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", m->routes[r],
                m->stats[r].statuses[i], (unsigned long long)m->stats[r].status_counts[i]);
    put(&t, "# HELP facegate_http_request_duration_seconds Time from request to response.\n"
            "# TYPE facegate_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < m->nroutes; r++) {
        const route_stats *s = &m->stats[r];
        uint64_t cumulative = 0;
        if (s->count == 0) continue;
        for (size_t b = 0; b < NBUCKETS; b++) {
            cumulative += s->buckets[b];
            put(&t, "facegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                m->routes[r], BUCKETS[b], (unsigned long long)cumulative);
        }
        put(&t,
            "facegate_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
            "facegate_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
            "facegate_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
            m->routes[r], (unsigned long long)s->count, m->routes[r], s->sum, m->routes[r],
            (unsigned long long)s->count);
    }
    put(&t, "# HELP facegate_logins_total Log-in attempts by outcome.\n"
            "# TYPE facegate_logins_total counter\n");
    for (int o = 0; o < FG_LOGIN_OUTCOMES; o++)
        put(&t, "facegate_logins_total{outcome=\"%s\"} %llu\n", OUTCOMES[o],
            (unsigned long long)m->logins[o]);
    put(&t,
        "# HELP facegate_request_timeouts_total Connections closed for not sending a whole "
        "request within --request-timeout.\n"
        "# TYPE facegate_request_timeouts_total counter\n"
        "facegate_request_timeouts_total %llu\n",
        (unsigned long long)m->timeouts);
    pthread_mutex_unlock(&m->lock);
    put(&t,
        "# HELP facegate_enrolled_users Enrolled users.\n"
        "# TYPE facegate_enrolled_users gauge\n"
        "facegate_enrolled_users %zu\n"
        "# HELP facegate_enrolled_templates Face templates held in memory.\n"
        "# TYPE facegate_enrolled_templates gauge\n"
        "facegate_enrolled_templates %zu\n"
        "# HELP facegate_workers Inference threads (one engine each).\n"
        "# TYPE facegate_workers gauge\n"
        "facegate_workers %d\n"
        "# HELP facegate_workers_busy Inference threads running a request.\n"
        "# TYPE facegate_workers_busy gauge\n"
        "facegate_workers_busy %d\n"
        "# HELP facegate_queue_length Requests waiting for an inference thread.\n"
        "# TYPE facegate_queue_length gauge\n"
        "facegate_queue_length %zu\n"
        "# HELP facegate_build_info Version of the running server.\n"
        "# TYPE facegate_build_info gauge\n"
        "facegate_build_info{version=\"%s\"} 1\n",
        g->users, g->templates, g->workers, g->busy, g->queued, FG_SERVER_VERSION);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
