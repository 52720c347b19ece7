/*
 * challenge.c - the liveness sessions: a fixed-size table behind one mutex.
 *
 * Look-ups scan the table: it holds at most max_sessions (1000 by default) entries and every
 * request that scans it also decodes and runs networks on images, which costs far more. Ended
 * and expired sessions are swept by the scans that pass them.
 */
#include "server/challenge.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "server/http.h"

/* The last batch of frames may arrive a moment after the session's limit (the network). */
#define NETWORK_GRACE_S 2.0
/* How long an ended session still answers its own error (used, failed, expired) before it is
 * swept and answers liveness_unknown. */
#define LINGER_S 60.0

struct fg_challenges {
    pthread_mutex_t lock;
    fg_liveness_config cfg;
    fg_challenge **table; /* cfg.max_sessions slots, NULL = free */
};

void fg_liveness_config_init(fg_liveness_config *c)
{
    memset(c, 0, sizeof *c);
    c->required = 1;
    c->step_count = 3;
    c->step_seconds = 5;
    c->session_seconds = 30;
    c->proof_seconds = 60;
    c->max_sessions = 1000;
    c->max_per_client = 5;
    c->max_batch = 8;
}

int fg_challenges_new(const fg_liveness_config *cfg, fg_challenges **out, fg_error *err)
{
    fg_challenges *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return fg_fail(err, FG_ENOMEM, "out of memory for the liveness sessions");
    c->cfg = *cfg;
    if (c->cfg.max_sessions < 1) c->cfg.max_sessions = 1;
    c->table = calloc((size_t)c->cfg.max_sessions, sizeof *c->table);
    if (!c->table) {
        free(c);
        return fg_fail(err, FG_ENOMEM, "out of memory for the liveness sessions");
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return FG_OK;
}

static void challenge_free(fg_challenge *ch)
{
    if (!ch) return;
    fgl_session_free(ch->verifier);
    sodium_memzero(ch->secret, sizeof ch->secret);
    free(ch);
}

void fg_challenges_free(fg_challenges *c)
{
    if (!c) return;
    for (int i = 0; i < c->cfg.max_sessions; i++)
        challenge_free(c->table[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->table);
    free(c);
}

/* Frees the slot's session once nothing can use it any more. Called with the lock held. */
static void sweep(fg_challenges *c, int i, double now)
{
    fg_challenge *ch = c->table[i];
    if (!ch || ch->busy || now < ch->expires + LINGER_S) return;
    challenge_free(ch);
    c->table[i] = NULL;
}

/* A session that still counts against the limits: running or an unused proof. */
static int live(const fg_challenge *ch, double now)
{
    return (ch->state == FG_CHALLENGE_RUNNING || ch->state == FG_CHALLENGE_PASSED) &&
           now <= ch->expires;
}

/* The steps of a new session: the fixed ones, or step_count distinct ones at random. */
static size_t draw_steps(const fg_liveness_config *cfg, fgl_step *steps)
{
    fgl_step pool[FGL_STEP_COUNT];
    size_t n = 0, want = (size_t)cfg->step_count;
    if (cfg->fixed_steps) {
        memcpy(steps, cfg->steps, cfg->fixed_steps * sizeof *steps);
        return cfg->fixed_steps;
    }
    for (int k = 0; k < FGL_STEP_COUNT; k++)
        pool[k] = (fgl_step)k;
    if (want > FGL_STEP_COUNT) want = FGL_STEP_COUNT;
    /* A partial Fisher-Yates shuffle with libsodium's unbiased uniform draw. */
    for (size_t k = 0; k < want; k++) {
        size_t j = k + randombytes_uniform((uint32_t)(FGL_STEP_COUNT - k));
        fgl_step t = pool[k];
        pool[k] = pool[j];
        pool[j] = t;
        steps[n++] = pool[k];
    }
    return n;
}

int fg_challenge_create(fg_challenges *c, const char *client, double now, fg_challenge **out,
                        char *secret_hex, fg_http_error *e)
{
    fg_challenge *ch;
    fgl_config vcfg;
    fgl_step steps[FGL_MAX_STEPS];
    size_t nsteps;
    fg_error err = {0};
    unsigned char id[FG_CHALLENGE_ID_LEN / 2];
    int free_slot = -1, mine = 0, total = 0;

    *out = NULL;
    ch = calloc(1, sizeof *ch);
    if (!ch) return fg_http_fail(e, 500, "internal", "out of memory for a liveness session");
    fgl_config_default(&vcfg);
    vcfg.step_seconds = c->cfg.step_seconds;
    vcfg.session_seconds = c->cfg.session_seconds;
    nsteps = draw_steps(&c->cfg, steps);
    if (fgl_session_new(steps, nsteps, &vcfg, &ch->verifier, &err) != FG_OK) {
        free(ch);
        return fg_http_fail(e, 500, "internal", "could not start a liveness session: %s",
                            err.message);
    }
    randombytes_buf(id, sizeof id);
    sodium_bin2hex(ch->id, sizeof ch->id, id, sizeof id);
    randombytes_buf(ch->secret, sizeof ch->secret);
    sodium_bin2hex(secret_hex, FG_CHALLENGE_SECRET_LEN + 1, ch->secret, sizeof ch->secret);
    snprintf(ch->client, sizeof ch->client, "%s", client);
    ch->created = now;
    ch->expires = now + c->cfg.session_seconds + NETWORK_GRACE_S;
    ch->expires_at = fg_now() + (int64_t)(c->cfg.session_seconds + NETWORK_GRACE_S + 0.5);
    ch->busy = 1;
    ch->status.main_face = -1;

    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->cfg.max_sessions; i++) {
        sweep(c, i, now);
        if (!c->table[i]) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (!live(c->table[i], now)) continue;
        total++;
        if (strcmp(c->table[i]->client, client) == 0) mine++;
    }
    if (mine >= c->cfg.max_per_client || free_slot < 0) {
        pthread_mutex_unlock(&c->lock);
        challenge_free(ch);
        fg_http_fail(e, 429, "too_many_sessions",
                     mine >= c->cfg.max_per_client
                         ? "this client has %d liveness sessions open already; finish or let "
                           "one expire first"
                         : "the server has %d liveness sessions open; try again shortly",
                     mine >= c->cfg.max_per_client ? mine : total);
        e->retry_after = (int)c->cfg.session_seconds;
        return -1;
    }
    c->table[free_slot] = ch;
    pthread_mutex_unlock(&c->lock);
    *out = ch;
    return 0;
}

/* The slot of session `id` after checking its secret, with the lock held; -1 with e. The
 * secret is compared in constant time, and only once the id matched. */
static int find(fg_challenges *c, const char *id, const char *secret_hex, double now, int status,
                fg_http_error *e)
{
    unsigned char secret[FG_CHALLENGE_SECRET_LEN / 2];
    size_t len = 0;
    int slot = -1;
    if (!id || strlen(id) != FG_CHALLENGE_ID_LEN) slot = -2;
    for (int i = 0; i < c->cfg.max_sessions; i++) {
        sweep(c, i, now);
        if (slot == -1 && c->table[i] && strcmp(c->table[i]->id, id) == 0) slot = i;
    }
    if (slot < 0)
        return fg_http_fail(e, status ? status : 404, "liveness_unknown",
                            "no such liveness session (it may have expired); start a new one");
    if (!secret_hex || strlen(secret_hex) != FG_CHALLENGE_SECRET_LEN ||
        sodium_hex2bin(secret, sizeof secret, secret_hex, FG_CHALLENGE_SECRET_LEN, NULL, &len,
                       NULL) != 0 ||
        len != sizeof secret || sodium_memcmp(secret, c->table[slot]->secret, sizeof secret) != 0)
        return fg_http_fail(e, status ? status : 403, "liveness_forbidden",
                            "the secret does not belong to this liveness session");
    if (c->table[slot]->busy)
        return fg_http_fail(e, status ? status : 409, "liveness_busy",
                            "another request is working on this liveness session");
    return slot;
}

int fg_challenge_acquire(fg_challenges *c, const char *id, const char *secret_hex, double now,
                         fg_challenge **out, fg_http_error *e)
{
    fg_challenge *ch;
    int slot;
    *out = NULL;
    pthread_mutex_lock(&c->lock);
    slot = find(c, id, secret_hex, now, 0, e);
    if (slot < 0) goto fail;
    ch = c->table[slot];
    if (ch->state != FG_CHALLENGE_RUNNING) {
        fg_http_fail(e, 409, "liveness_ended",
                     ch->state == FG_CHALLENGE_FAILED
                         ? "this liveness session failed; start a new one"
                         : "this liveness session is complete; it takes no more frames");
        goto fail;
    }
    if (now > ch->expires) {
        fg_http_fail(e, 410, "liveness_expired",
                     "this liveness session ran out of time; start a new one");
        goto fail;
    }
    ch->busy = 1;
    pthread_mutex_unlock(&c->lock);
    *out = ch;
    return 0;
fail:
    pthread_mutex_unlock(&c->lock);
    return -1;
}

void fg_challenge_release(fg_challenges *c, fg_challenge *ch)
{
    if (!ch) return;
    pthread_mutex_lock(&c->lock);
    if (ch->state == FG_CHALLENGE_RUNNING && ch->status.state != FGL_RUNNING) {
        ch->state = ch->status.state == FGL_PASSED ? FG_CHALLENGE_PASSED : FG_CHALLENGE_FAILED;
        if (ch->state == FG_CHALLENGE_PASSED) {
            double now = fg_monotonic();
            ch->expires = now + c->cfg.proof_seconds;
            ch->expires_at = fg_now() + (int64_t)(c->cfg.proof_seconds + 0.5);
        }
    }
    ch->busy = 0;
    pthread_mutex_unlock(&c->lock);
}

int fg_challenge_redeem(fg_challenges *c, const char *id, const char *secret_hex, double now,
                        const fg_quality_limits *gate, float (*out)[FG_DESCRIPTOR_DIM], size_t cap,
                        size_t *n, fg_http_error *e)
{
    fg_challenge *ch;
    const float(*descriptors)[FG_DESCRIPTOR_DIM] = NULL;
    size_t have, usable = 0, pick[FGL_MAX_DESCRIPTORS];
    fg_quality_verdict refused = FG_QUALITY_OK;
    char why[200] = "";
    int slot;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    slot = find(c, id, secret_hex, now, 401, e);
    if (slot < 0) goto fail;
    ch = c->table[slot];
    switch (ch->state) {
    case FG_CHALLENGE_RUNNING:
        fg_http_fail(e, 401, "liveness_not_passed",
                     "the liveness session has not been passed yet; finish its steps first");
        goto fail;
    case FG_CHALLENGE_FAILED:
        fg_http_fail(e, 401, "liveness_failed", "the liveness session failed; start a new one");
        goto fail;
    case FG_CHALLENGE_REDEEMED:
        fg_http_fail(e, 401, "liveness_used",
                     "this liveness session was used already; each one proves one request");
        goto fail;
    case FG_CHALLENGE_PASSED:
        break;
    }
    if (now > ch->expires) {
        fg_http_fail(e, 401, "liveness_expired",
                     "the liveness session's proof expired; start a new one");
        goto fail;
    }
    have = fgl_descriptors(ch->verifier, &descriptors);
    if (have == 0) { /* a verifier that passed without a face: never a proof */
        fg_http_fail(e, 401, "liveness_failed",
                     "the liveness session holds no face; start a new one");
        goto fail;
    }
    for (size_t k = 0; k < have && k < FGL_MAX_DESCRIPTORS; k++) {
        char message[200] = "";
        fg_quality_verdict v =
            gate ? fg_quality_check(&ch->quality[k], gate, message, sizeof message) : FG_QUALITY_OK;
        if (v == FG_QUALITY_OK) {
            pick[usable++] = k;
        } else if (refused == FG_QUALITY_OK) {
            refused = v;
            snprintf(why, sizeof why, "%s", message);
        }
    }
    if (usable == 0) {
        ch->state = FG_CHALLENGE_REDEEMED; /* single use, whatever the outcome */
        fg_http_fail(e, 400, fg_quality_code(refused), "the face of the liveness session: %s", why);
        goto fail;
    }
    /* Spread over the session: its start, middle and end, not the first few frames. */
    *n = usable < cap ? usable : cap;
    for (size_t k = 0; k < *n; k++)
        memcpy(out[k], descriptors[pick[*n == 1 ? 0 : k * (usable - 1) / (*n - 1)]], sizeof out[k]);
    ch->state = FG_CHALLENGE_REDEEMED;
    pthread_mutex_unlock(&c->lock);
    return 0;
fail:
    pthread_mutex_unlock(&c->lock);
    return -1;
}

size_t fg_challenges_count(fg_challenges *c)
{
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->cfg.max_sessions; i++)
        n += c->table[i] != NULL;
    pthread_mutex_unlock(&c->lock);
    return n;
}
