/*
 * challenge.h - the server's liveness challenge sessions (POST /api/v1/liveness): who created
 * them, their secret, their verifier (src/liveness), and the single-use proof a passed one is.
 *
 * Sessions live in this process's memory: a frames request or a sign-up/log-in that names a
 * session must reach the server that created it (README: "Liveness behind a load balancer").
 * A session is bound to a random secret only its creator received; the id alone (it appears in
 * URLs and logs) opens nothing. At most one request works on a session at a time (busy).
 *
 * Lifetimes (monotonic seconds): a running session ends at its expiry (the verifier's session
 * limit plus a grace for the network); a passed one is a proof until proof_seconds after it
 * passed; a redeemed, failed or expired one answers its own error until it is swept.
 */
#ifndef FG_SERVER_CHALLENGE_H
#define FG_SERVER_CHALLENGE_H

#include <pthread.h>
#include <stddef.h>

#include "face/quality.h"
#include "facegate.h"
#include "liveness/liveness.h"

struct fg_http_error;

#define FG_CHALLENGE_ID_LEN 32     /* hex characters */
#define FG_CHALLENGE_SECRET_LEN 64 /* hex characters */

typedef struct fg_liveness_config {
    int required;                  /* sign-up, log-in and add-a-face need a passed session */
    fgl_step steps[FGL_MAX_STEPS]; /* --liveness-steps: fixed steps, in order ... */
    size_t fixed_steps;            /* ... or 0: step_count random distinct steps */
    int step_count;                /* default 3 */
    double step_seconds;           /* a step's time limit from its reveal (default 5) */
    double session_seconds;        /* a session's limit (default 30) */
    double proof_seconds;          /* a passed session stays usable this long (default 60) */
    int max_sessions;              /* at once, in total (default 1000) */
    int max_per_client;            /* at once, per client address (default 5) */
    int max_batch;                 /* frames per request (default 8) */
} fg_liveness_config;

void fg_liveness_config_init(fg_liveness_config *c);

typedef enum fg_challenge_state {
    FG_CHALLENGE_RUNNING,
    FG_CHALLENGE_PASSED,
    FG_CHALLENGE_FAILED,
    FG_CHALLENGE_REDEEMED,
} fg_challenge_state;

/* One session. The route (liveness_api.c) works on it while it holds it busy. */
typedef struct fg_challenge {
    char id[FG_CHALLENGE_ID_LEN + 1];
    unsigned char secret[FG_CHALLENGE_SECRET_LEN / 2];
    char client[64];
    fg_challenge_state state;
    int busy;
    double created, expires; /* monotonic; `expires` moves to the proof's end once passed */
    int64_t expires_at;      /* wall clock (seconds since the epoch) of `expires` */
    fgl_session *verifier;
    fgl_status status; /* after the last frame */
    size_t frames;     /* frames fed so far */
    /* The client's clock against ours: its first frame's time and our time then. */
    double first_t, first_now;
    double last_t; /* the last frame's time (client clock, seconds) */
    /* The followed face's last mesh: fg_track_mesh's start when detection misses a frame. */
    fg_face_mesh last_mesh;
    int have_mesh;
    /* The enrolment gate's measures of the face behind each descriptor the verifier kept (in
     * fgl_descriptors' order): a sign-up takes only faces that pass it, as with photos. */
    fg_face_quality quality[FGL_MAX_DESCRIPTORS];
} fg_challenge;

typedef struct fg_challenges fg_challenges;

int fg_challenges_new(const fg_liveness_config *cfg, fg_challenges **out, fg_error *err);
/* Frees every session. NULL is a no-op. */
void fg_challenges_free(fg_challenges *c);

/* A new session for `client` at monotonic time now, its steps drawn (or the fixed ones), held
 * busy: release it with fg_challenge_release. *secret_hex gets the secret (65 bytes). 429
 * too_many_sessions (with retry_after) when the client or the server has too many. */
int fg_challenge_create(fg_challenges *c, const char *client, double now, fg_challenge **out,
                        char *secret_hex, struct fg_http_error *e);

/* The running session `id` for a frames request, checked against its secret and held busy:
 * 404 liveness_unknown, 403 liveness_forbidden, 410 liveness_expired, 409 liveness_ended
 * (passed, failed or redeemed), 409 liveness_busy (another request is working on it). */
int fg_challenge_acquire(fg_challenges *c, const char *id, const char *secret_hex, double now,
                         fg_challenge **out, struct fg_http_error *e);
void fg_challenge_release(fg_challenges *c, fg_challenge *ch);

/* Redeems the proof of passed session `id` (single use, whatever the outcome of the sign-up or
 * log-in that follows): copies up to cap of its face descriptors into out, spread over the
 * session, those whose faces pass `gate` (the enrolment limits; NULL: all). 401 with
 * liveness_unknown, liveness_forbidden, liveness_expired, liveness_not_passed,
 * liveness_failed, liveness_used or liveness_busy; 400 with the gate's code (face_too_dark,
 * ...) when no face passes it. */
int fg_challenge_redeem(fg_challenges *c, const char *id, const char *secret_hex, double now,
                        const fg_quality_limits *gate, float (*out)[FG_DESCRIPTOR_DIM], size_t cap,
                        size_t *n, struct fg_http_error *e);

/* Sessions held right now (for the metrics and the tests). */
size_t fg_challenges_count(fg_challenges *c);

#endif
