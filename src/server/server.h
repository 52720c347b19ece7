/*
 * server.h - `facegate serve`: configuration, the server's shared state, start and stop.
 *
 * The server owns: the store (users, encrypted templates, audit), the matcher (every template
 * in memory, kept current by the store's change feed), the inference pool (one thread and one
 * engine per worker, fed by a queue: see http.c for the worker model), the session signing keys,
 * the admin token, the failed-log-in rate limiter and the metrics. Route handlers (routes.c,
 * account.c, admin.c) reach all of it through the fg_server of the request they are given.
 */
#ifndef FG_SERVER_H
#define FG_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "facegate.h"
#include "face/quality.h"
#include "match/match.h"
#include "server/challenge.h"
#include "server/jwt.h"
#include "server/metrics.h"
#include "server/pool.h"
#include "server/proxy.h"
#include "server/ratelimit.h"
#include "store/store.h"

#define FG_SERVER_VERSION "0.1.0"

/* The accept threshold's ceiling on the match distance (fg_match_distance): the engine's
 * calibrated one (FG_MATCH_THRESHOLD, chosen on LFW for a false-accept rate of at most 0.1%).
 * Below it the threshold adapts to the enrolled population (match/policy.h). */
#define FG_SERVER_DEFAULT_THRESHOLD FG_MATCH_THRESHOLD
/* The best user must beat the runner-up user's distance by this much (1:N). */
#define FG_SERVER_DEFAULT_MARGIN FG_POLICY_MARGIN
/* A usable face's detection box is at least this many pixels on its shorter side. */
#define FG_SERVER_MIN_FACE_PX 80
/* Images per sign-up, and templates an account may hold in total. */
#define FG_SERVER_MAX_SIGNUP_IMAGES 5
/* Frames one log-in may send (decided together, fg_matcher_score). */
#define FG_SERVER_MAX_LOGIN_IMAGES 5
#define FG_SERVER_MAX_FACES 10
#define FG_SERVER_MAX_CORS_ORIGINS 16
/* A webcam frame: 1920x1080 fits. */
#define FG_SERVER_FRAME_MAX_PIXELS (2u * 1024 * 1024)

/* What answers /api/v1/detect (the camera guidance, called every few hundred ms per user): the
 * fast path (BlazeFace + FaceMesh, whatever the log-in detector), or the log-in's detector. */
enum { FG_GUIDANCE_FAST = 0, FG_GUIDANCE_LOGIN = 1 };

typedef struct fg_server_config {
    char host[256];
    int port; /* 0 = any free port (the banner says which) */
    char data_dir[1024];
    char store[1024]; /* "sqlite" or a postgres://... URL */
    char web_root[1024];
    fg_engine_options engine; /* model_dir points into `models`, fast_model_dir into
                                 `fast_models` */
    char models[1024];
    char fast_models[1024]; /* @vladmandic/human's models: the fast path */
    int guidance;           /* /api/v1/detect: FG_GUIDANCE_FAST or FG_GUIDANCE_LOGIN */
    int workers;            /* inference threads = engines */
    float threshold;   /* the ceiling of the adaptive threshold; the threshold with policy fixed */
    float margin;      /* 1:N margin at the ceiling */
    float target_far;  /* the adaptive threshold's FAR target on the enrolled population */
    char policy[16];   /* "adaptive" or "fixed" */
    int enrol_quality; /* refuse sign-up and added faces under the quality limits */
    int min_face_px;
    size_t body_limit;          /* bytes */
    uint64_t frame_max_pixels;  /* log-in and detect images; enrolment: engine.max_pixels */
    unsigned timeout_s;         /* idle connection timeout */
    unsigned request_timeout_s; /* a request must arrive whole within this */
    unsigned max_per_client;    /* open connections per client address */
    size_t queue_limit;         /* requests waiting for an engine */
    int token_ttl_s;
    int secure_cookie; /* always add `Secure` to the session cookie (else: when over HTTPS) */
    int seed_routes;   /* serve the tutorial's /register and /verify */
    fg_ratelimit_config ratelimit;
    int audit_retention_days; /* audit events older than this are deleted; 0 keeps them */
    char cors_origins[FG_SERVER_MAX_CORS_ORIGINS][256];
    int cors_count;
    /* OpenID Connect: the issuer URL (default http://HOST:PORT of the listener) and how long
     * an authorization code lives. */
    char issuer[512];
    int code_ttl_s;
    /* Reverse proxies whose X-Forwarded-For / -Proto are believed (proxy.h). */
    fg_cidr trusted_proxies[FG_MAX_TRUSTED_PROXIES];
    int trusted_proxy_count;
    /* --admin-listen HOST:PORT: a second listener for /metrics and the health routes, which
     * then leave the public one. admin_host "" = none. */
    char admin_host[256];
    int admin_port;
    fg_liveness_config liveness; /* --liveness, --liveness-steps, ... */
} fg_server_config;

/* One listening socket; a request knows which one it came through. */
typedef struct fg_listener {
    struct fg_server *server;
    int admin; /* the management listener */
    struct MHD_Daemon *daemon;
    int bound_port;
} fg_listener;

typedef struct fg_server {
    fg_listener public_listener, admin_listener;
    fg_server_config config;
    fg_store *store;
    fg_matcher *matcher;
    fg_policy policy;          /* the accept rule, from threshold, margin, target_far and policy */
    fg_quality_limits quality; /* the enrolment quality gate (face/quality.h) */
    fg_pool *pool;
    struct fg_http *http; /* connection tracking (http.c) */
    /* The signing keys (current + previous): replaced by fg_server_reload_keys, so read them
     * with fg_server_keys. */
    fg_jwt_keyset keys;
    pthread_mutex_t keys_lock;
    int lock_fd; /* the data dir's lock (keys.h), held while running */
    uint8_t admin_token[32];
    char admin_token_hex[65];
    fg_ratelimit *ratelimit;
    fg_challenges *challenges; /* liveness sessions; NULL with --liveness off */
    fg_metrics *metrics;
    const char **route_labels; /* the metrics' labels, owned */
    /* A shared store: the thread that keeps the matcher current with the other servers' changes
     * (fg_store_wait + fg_store_sync). */
    pthread_t follower;
    int follower_started;
    int bound_port;        /* of the public listener */
    _Atomic int in_flight; /* requests begun and not yet completed (for a graceful stop) */
    _Atomic int stopping;  /* set when the stop begins: readiness fails from then on */
    _Atomic int64_t audit_pruned_at; /* when old audit events were last deleted */
} fg_server;

/* Fills *config with the defaults; `models` is left empty for the caller to fill. */
void fg_server_config_init(fg_server_config *config);

/* Opens the data dir (creating it 0700), the store, keys and engines, loads the templates and
 * starts listening. Prints the startup banner (and the admin token, once, when generated) to
 * stderr. Returns FG_OK or a negative code with err filled. */
int fg_server_start(const fg_server_config *config, fg_server **out, fg_error *err);

/* Deletes the audit events older than --audit-retention-days (at start, then hourly). */
int fg_server_prune_audit(fg_server *server, fg_error *err);

/* Stops accepting, lets running requests finish, frees everything. NULL is a no-op. */
void fg_server_stop(fg_server *server);

/* A copy of the current signing keys (keys[0] signs). */
void fg_server_keys(fg_server *server, fg_jwt_keyset *keys);

/* Re-reads the signing keys (keys.h: the files, or the shared store's) after `facegate keys
 * rotate`: on SIGHUP, and with a shared store from the follower thread at every notification
 * and every second. Logs when they changed. Sessions signed with the key that is now the
 * previous one keep working. */
int fg_server_reload_keys(fg_server *server, fg_error *err);

#endif
