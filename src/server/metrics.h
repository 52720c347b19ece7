/*
 * metrics.h - Prometheus counters for /metrics: requests by route and status, latency
 * histograms by route, log-in outcomes; gauges are filled at render time.
 */
#ifndef FG_SERVER_METRICS_H
#define FG_SERVER_METRICS_H

#include <stddef.h>

typedef struct fg_metrics fg_metrics;

/* Log-in outcomes counted in facegate_logins_total{outcome}. */
typedef enum fg_login_outcome {
    FG_LOGIN_SUCCESS,
    FG_LOGIN_NO_MATCH,
    FG_LOGIN_RATE_LIMITED,
    FG_LOGIN_LOCKED_OUT,
    FG_LOGIN_BAD_INPUT, /* no usable face, bad image */
    FG_LOGIN_OUTCOMES
} fg_login_outcome;

/* routes: the labels of the route table (static strings, kept by reference). */
fg_metrics *fg_metrics_new(const char *const *routes, size_t count);
void fg_metrics_free(fg_metrics *m);

/* route indexes into the labels given to fg_metrics_new. */
void fg_metrics_request(fg_metrics *m, size_t route, int status, double seconds);
void fg_metrics_login(fg_metrics *m, fg_login_outcome outcome);

/* Connections shut down for not sending a whole request within --request-timeout. */
void fg_metrics_timeouts(fg_metrics *m, unsigned count);

/* What /metrics reports as gauges, read at render time. */
typedef struct fg_metrics_gauges {
    size_t users, templates;
    int workers;   /* engines */
    int busy;      /* engines running a request */
    size_t queued; /* requests waiting for an engine */
} fg_metrics_gauges;

/* The exposition text (malloc'd, caller frees). */
char *fg_metrics_render(fg_metrics *m, const fg_metrics_gauges *g);

#endif
