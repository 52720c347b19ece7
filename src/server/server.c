/*
 * server.c - start-up and shut-down of `facegate serve`.
 *
 * Data dir contents (all created on first run, mode 0600 files in a 0700 dir):
 *   facegate.db (+ -wal, -shm)  the SQLite store; descriptors inside are encrypted
 *   descriptor.key              XChaCha20-Poly1305 key of the descriptors (hex)
 *   signing.key                 Ed25519 seed of the session tokens (hex); with PostgreSQL the
 *                               seed is in the database instead, shared by every server
 *   admin.token                 the admin bearer token (hex), printed once when generated
 *
 * With a shared store (PostgreSQL) a follower thread waits for other servers' changes and
 * applies them to the matcher; the store's writes apply this server's own before returning.
 */
#include "server/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "server/http.h"
#include "server/keys.h"

#define ADMIN_TOKEN_FILE FG_ADMIN_TOKEN_FILE

void fg_server_config_init(fg_server_config *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(c, 0, sizeof *c);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 8080;
    snprintf(c->data_dir, sizeof c->data_dir, "data");
    snprintf(c->store, sizeof c->store, "sqlite");
    snprintf(c->web_root, sizeof c->web_root, "web/dist");
    fg_engine_options_init(&c->engine);
    c->engine.threads = 1; /* parallelism comes from the workers, one engine each */
    c->workers = cores > 0 ? (int)cores : 1;
    c->threshold = FG_SERVER_DEFAULT_THRESHOLD;
    c->margin = FG_SERVER_DEFAULT_MARGIN;
    c->target_far = (float)FG_POLICY_TARGET_FAR;
    snprintf(c->policy, sizeof c->policy, "adaptive");
    c->enrol_quality = 1;
    c->min_face_px = FG_SERVER_MIN_FACE_PX;
    c->body_limit = 10u * 1024 * 1024;
    c->frame_max_pixels = FG_SERVER_FRAME_MAX_PIXELS;
    c->timeout_s = 30;
    c->request_timeout_s = 60;
    c->max_per_client = 32;
    c->queue_limit = 64;
    c->token_ttl_s = 3600;
    c->seed_routes = 1;
    c->code_ttl_s = 60;
    c->audit_retention_days = 90;
    fg_ratelimit_config_init(&c->ratelimit);
    fg_liveness_config_init(&c->liveness);
}

/* The store's change feed, applied to the matcher. */
static int apply_change(void *ctx, int kind, int64_t user_id, int64_t template_id,
                        const float descriptor[FG_DESCRIPTOR_DIM])
{
    fg_server *s = ctx;
    if (kind == FG_STORE_CHANGE_DELETE) {
        fg_matcher_remove_user(s->matcher, user_id);
        return FG_OK;
    }
    return fg_matcher_add(s->matcher, user_id, template_id, descriptor);
}

/* Follows the other servers: each announced change (or every second, or after a lost
 * connection) is caught up, templates and signing keys. A database that is down is reported once,
 * and again once back. */
static void *follow(void *arg)
{
    fg_server *s = arg;
    int down = 0;
    while (!atomic_load(&s->stopping)) {
        fg_error err = {0};
        int rc = fg_store_wait(s->store, 1000, &err);
        if (rc >= 0) rc = fg_store_sync(s->store, &err);
        /* A `keys rotate` anywhere notifies too: the keys are re-read (logged when changed). */
        if (rc >= 0) rc = fg_server_reload_keys(s, &err);
        if (rc < 0 && !down)
            fprintf(stderr, "facegate: store unavailable, answering 503 until it is back: %s\n",
                    err.message);
        else if (rc >= 0 && down)
            fprintf(stderr, "facegate: store available again, caught up\n");
        down = rc < 0;
    }
    return NULL;
}

static int ensure_dir(const char *dir, fg_error *err)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fg_fail(err, FG_EIO, "cannot create the data directory %s: %s", dir,
                       strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fg_fail(err, FG_EIO, "%s is not a directory", dir);
    return FG_OK;
}

static int load_secret(const char *dir, const char *file, uint8_t *secret, size_t len, int *created,
                       fg_error *err)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return fg_keyfile_load(path, secret, len, created, err);
}

static int load_keys(fg_server *s, int *admin_created, fg_error *err)
{
    int rc = fg_keys_load(s->config.data_dir, s->store, &s->keys, err);
    if (rc != FG_OK) return rc;
    rc = load_secret(s->config.data_dir, ADMIN_TOKEN_FILE, s->admin_token, sizeof s->admin_token,
                     admin_created, err);
    if (rc != FG_OK) return rc;
    sodium_bin2hex(s->admin_token_hex, sizeof s->admin_token_hex, s->admin_token,
                   sizeof s->admin_token);
    return FG_OK;
}

/* What the liveness gate covers, and the tutorial's routes that bypass it. */
static void liveness_banner(FILE *out, const fg_server_config *c)
{
    const fg_liveness_config *l = &c->liveness;
    if (!l->required) {
        fprintf(out, "  liveness   OFF (--liveness off): a photo of a user logs in as that user\n");
        return;
    }
    fprintf(out, "  liveness   required for sign-up, log-in and added faces: ");
    if (l->fixed_steps) {
        fprintf(out, "fixed steps ");
        for (size_t i = 0; i < l->fixed_steps; i++)
            fprintf(out, "%s%s", i ? "," : "", fgl_step_name(l->steps[i]));
    } else {
        fprintf(out, "%d random steps", l->step_count);
    }
    fprintf(out, ", %.0f s per step, %.0f s per session\n", l->step_seconds, l->session_seconds);
    if (c->seed_routes)
        fprintf(out, "  WARNING    the tutorial's /register and /verify take still photos and "
                     "bypass liveness; turn them off with --no-seed-routes\n");
}

/* Written in one piece so log collectors (and the tests) never see half a banner. */
static void banner(const fg_server *s, size_t users, int admin_created)
{
    const fg_server_config *c = &s->config;
    int ipv6 = strchr(c->host, ':') != NULL;
    struct stat st;
    int web = c->web_root[0] && stat(c->web_root, &st) == 0 && S_ISDIR(st.st_mode);
    char *text = NULL, policy[256];
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) return;
    if (s->policy.fixed)
        snprintf(policy, sizeof policy, "fixed %.3f, margin %.3f", (double)c->threshold,
                 (double)c->margin);
    else
        snprintf(policy, sizeof policy,
                 "adaptive to the enrolled users: target FAR %g, ceiling %.3f, %.3f under %d "
                 "users, margin %.3f at the ceiling",
                 s->policy.target_far, (double)s->policy.ceiling, (double)s->policy.fallback,
                 s->policy.min_users, (double)c->margin);
    fprintf(out,
            "facegate %s listening on http://%s%s%s:%d/\n"
            "  data dir   %s (%s: %zu users, %zu face templates)\n"
            "  models     %s\n"
            "  fast path  %s\n"
            "  engine     %s detector, %s chip, padding %s%s\n"
            "  guidance   /api/v1/detect by %s\n"
            "  web app    %s%s\n"
            "  workers    %d, body limit %zu bytes\n"
            "  threshold  %s\n",
            FG_SERVER_VERSION, ipv6 ? "[" : "", c->host, ipv6 ? "]" : "", s->bound_port,
            c->data_dir, fg_store_backend_name(s->store), users, fg_matcher_templates(s->matcher),
            c->engine.model_dir, c->engine.fast_model_dir ? c->engine.fast_model_dir : "not loaded",
            fg_detector_name(c->engine.detector), fg_align_name(c->engine.align),
            fg_padding_name(c->engine.padding), c->engine.tta ? ", tta" : "",
            c->guidance == FG_GUIDANCE_FAST ? "the fast path (BlazeFace + FaceMesh)"
                                            : "the log-in detector",
            web ? c->web_root : "none: ", web ? "" : "serving the API only", c->workers,
            c->body_limit, policy);
    fprintf(out, "  issuer     %s (OpenID Connect)\n", c->issuer);
    liveness_banner(out, c);
    if (c->admin_host[0])
        fprintf(out, "  admin      http://%s%s%s:%d/ (metrics, health)\n",
                strchr(c->admin_host, ':') ? "[" : "", c->admin_host,
                strchr(c->admin_host, ':') ? "]" : "", s->admin_listener.bound_port);
    if (c->trusted_proxy_count > 0)
        fprintf(out, "  proxies    %d trusted range%s (X-Forwarded-For)\n", c->trusted_proxy_count,
                c->trusted_proxy_count == 1 ? "" : "s");
    if (c->cors_count > 0) {
        fprintf(out, "  CORS       ");
        for (int i = 0; i < c->cors_count; i++)
            fprintf(out, "%s%s", i ? ", " : "", c->cors_origins[i]);
        fputc('\n', out);
    }
    /* The token never goes to a log: shown once on a terminal, else only where it is. */
    if (admin_created && isatty(STDERR_FILENO))
        fprintf(out,
                "  admin token (shown this once; it is also in %s/" ADMIN_TOKEN_FILE "):\n"
                "    %s\n",
                c->data_dir, s->admin_token_hex);
    else if (admin_created)
        fprintf(out, "  admin token generated into %s/" ADMIN_TOKEN_FILE " (mode 0600)\n",
                c->data_dir);
    fclose(out);
    fwrite(text, 1, len, stderr);
    fflush(stderr);
    sodium_memzero(text, len);
    free(text);
}

/* "" (derived later) or an http(s) URL that can prefix the endpoint paths. */
static int issuer_valid(const char *issuer)
{
    size_t n = strlen(issuer);
    if (n == 0) return 1;
    if (strncmp(issuer, "https://", 8) != 0 && strncmp(issuer, "http://", 7) != 0) return 0;
    return issuer[n - 1] != '/' && !strpbrk(issuer, "?# ");
}

/* Without --issuer, the issuer is the listener's own URL (fine on one machine; behind a proxy
 * or TLS, set --issuer to the public URL). Set before listening when the port is known; with
 * --port 0 only once it is bound, so a request in that instant, before the banner names the
 * port, could see no issuer. */
static void default_issuer(fg_server *s, int port)
{
    const char *host = s->config.host;
    int ipv6 = strchr(host, ':') != NULL;
    if (s->config.issuer[0] || port == 0) return;
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) host = "localhost", ipv6 = 0;
    snprintf(s->config.issuer, sizeof s->config.issuer, "http://%s%s%s:%d", ipv6 ? "[" : "", host,
             ipv6 ? "]" : "", port);
}

void fg_server_keys(fg_server *s, fg_jwt_keyset *keys)
{
    pthread_mutex_lock(&s->keys_lock);
    *keys = s->keys;
    pthread_mutex_unlock(&s->keys_lock);
}

/* 1 if the two sets publish the same keys in the same order. */
static int same_keys(const fg_jwt_keyset *a, const fg_jwt_keyset *b)
{
    if (a->count != b->count) return 0;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->keys[i].kid, b->keys[i].kid) != 0) return 0;
    return 1;
}

int fg_server_reload_keys(fg_server *s, fg_error *err)
{
    /* One reload at a time (SIGHUP and the follower): a slow read of the keys from before a
     * rotation never replaces a read from after it. */
    static pthread_mutex_t reloading = PTHREAD_MUTEX_INITIALIZER;
    fg_jwt_keyset keys;
    char kid[sizeof keys.keys[0].kid];
    int changed, count = 0;
    int rc;
    pthread_mutex_lock(&reloading);
    rc = fg_keys_load(s->config.data_dir, s->store, &keys, err);
    if (rc != FG_OK) {
        pthread_mutex_unlock(&reloading);
        return rc;
    }
    pthread_mutex_lock(&s->keys_lock);
    changed = !same_keys(&s->keys, &keys);
    s->keys = keys;
    pthread_mutex_unlock(&s->keys_lock);
    pthread_mutex_unlock(&reloading);
    count = keys.count;
    snprintf(kid, sizeof kid, "%s", keys.keys[0].kid);
    sodium_memzero(&keys, sizeof keys);
    if (changed)
        fprintf(stderr, "facegate: signing keys reloaded (%d published, signing with %s)\n", count,
                kid);
    return FG_OK;
}

int fg_server_prune_audit(fg_server *s, fg_error *err)
{
    int64_t now = fg_now();
    atomic_store(&s->audit_pruned_at, now);
    if (s->config.audit_retention_days <= 0) return FG_OK;
    return fg_store_audit_prune(s->store, now - (int64_t)s->config.audit_retention_days * 86400,
                                err);
}

int fg_server_start(const fg_server_config *config, fg_server **out, fg_error *err)
{
    fg_server *s;
    const char **labels = NULL;
    size_t users = 0;
    int rc, admin_created = 0;

    *out = NULL;
    if (sodium_init() < 0) return fg_fail(err, FG_ENOMEM, "libsodium failed to start");
    s = calloc(1, sizeof *s);
    if (!s) return fg_fail(err, FG_ENOMEM, "out of memory");
    s->config = *config;
    s->config.engine.model_dir = s->config.models;
    /* The fast path is loaded when the guidance, the liveness challenge or the log-ins use it. */
    s->config.engine.fast_model_dir = s->config.guidance == FG_GUIDANCE_FAST ||
                                              s->config.liveness.required ||
                                              s->config.engine.detector == FG_DETECTOR_BLAZE
                                          ? s->config.fast_models
                                          : NULL;
    if (s->config.workers < 1) s->config.workers = 1;
    pthread_mutex_init(&s->keys_lock, NULL);
    s->lock_fd = -1;
    fg_policy_init(&s->policy, s->config.threshold, s->config.margin);
    s->policy.target_far = s->config.target_far;
    s->policy.fixed = !strcmp(s->config.policy, "fixed");
    if (!s->policy.fixed && strcmp(s->config.policy, "adaptive")) {
        rc = fg_fail(err, FG_EINVAL, "policy must be adaptive or fixed, not \"%s\"",
                     s->config.policy);
        goto fail;
    }
    if ((rc = fg_policy_ready(&s->policy, err)) != FG_OK) goto fail;
    fg_quality_limits_init(&s->quality);

    if (!issuer_valid(s->config.issuer)) {
        rc = fg_fail(err, FG_EINVAL,
                     "--issuer \"%s\" must be an http(s) URL without a trailing slash, query or "
                     "fragment, e.g. https://login.example.com",
                     s->config.issuer);
        goto fail;
    }
    if ((rc = ensure_dir(s->config.data_dir, err)) != FG_OK) goto fail;
    if ((rc = fg_datadir_lock(s->config.data_dir, &s->lock_fd, err)) != FG_OK) goto fail;
    if ((rc = fg_store_open(s->config.store, s->config.data_dir, &s->store, NULL, err)) != FG_OK)
        goto fail;
    if ((rc = fg_matcher_new(&s->matcher)) != FG_OK) {
        fg_set_error(err, rc, "out of memory for the matcher");
        goto fail;
    }
    /* Only templates this engine's descriptors can be compared with (TTA averages the same
     * network's descriptors of the face and its mirror image: comparable). */
    if ((rc = fg_store_set_kind(s->store, FG_TEMPLATE_RECOGNIZER_DEFAULT,
                                fg_align_name(s->config.engine.align), err)) != FG_OK)
        goto fail;
    if ((rc = fg_store_follow(s->store, apply_change, s, err)) != FG_OK) {
        if (err && err->code != rc) fg_set_error(err, rc, "cannot load the face templates");
        goto fail;
    }
    if (fg_store_skipped_templates(s->store))
        fprintf(stderr,
                "facegate: %zu face templates were made with another recognizer or alignment "
                "than %s/%s: they are not used (their users add a face again)\n",
                fg_store_skipped_templates(s->store), FG_TEMPLATE_RECOGNIZER_DEFAULT,
                fg_align_name(s->config.engine.align));
    /* The keys before the follower, which re-reads them. */
    if ((rc = load_keys(s, &admin_created, err)) != FG_OK) goto fail;
    if (fg_store_is_shared(s->store)) {
        if (pthread_create(&s->follower, NULL, follow, s) != 0) {
            rc = fg_fail(err, FG_ENOMEM, "cannot start the change follower thread");
            goto fail;
        }
        s->follower_started = 1;
    }
    if ((rc = fg_store_user_count(s->store, &users, err)) != FG_OK) goto fail;
    if ((rc = fg_server_prune_audit(s, err)) != FG_OK) goto fail;
    s->ratelimit = fg_ratelimit_new(&s->config.ratelimit, s->store);
    if (s->config.liveness.required &&
        (rc = fg_challenges_new(&s->config.liveness, &s->challenges, err)) != FG_OK)
        goto fail;
    labels = fg_route_labels();
    s->metrics = labels ? fg_metrics_new(labels, FG_ROUTE_LABELS) : NULL;
    s->route_labels = labels;
    if (!s->ratelimit || !s->metrics) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory");
        goto fail;
    }
    fprintf(stderr, "facegate: loading %d engine%s from %s\n", s->config.workers,
            s->config.workers == 1 ? "" : "s", s->config.models);
    if ((rc = fg_pool_open(&s->config.engine, s->config.workers, s->config.queue_limit, &s->pool,
                           err)) != FG_OK)
        goto fail;
    default_issuer(s, s->config.port);
    if ((rc = fg_http_start(s, err)) != FG_OK) goto fail;
    default_issuer(s, s->bound_port);
    banner(s, users, admin_created);
    *out = s;
    return FG_OK;
fail:
    fg_server_stop(s);
    return rc;
}

void fg_server_stop(fg_server *s)
{
    if (!s) return;
    fg_http_stop(s);
    atomic_store(&s->stopping, 1);
    if (s->follower_started) pthread_join(s->follower, NULL);
    fg_pool_free(s->pool);
    fg_ratelimit_free(s->ratelimit);
    fg_challenges_free(s->challenges);
    fg_metrics_free(s->metrics);
    free(s->route_labels);
    fg_matcher_free(s->matcher);
    fg_store_close(s->store);
    pthread_mutex_destroy(&s->keys_lock);
    if (s->lock_fd >= 0) close(s->lock_fd);
    sodium_memzero(&s->keys, sizeof s->keys);
    sodium_memzero(s->admin_token, sizeof s->admin_token);
    sodium_memzero(s->admin_token_hex, sizeof s->admin_token_hex);
    free(s);
}
