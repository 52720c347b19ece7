/*
 * account.c - sign-up, log-in (1:N and 1:1), sessions, and the signed-in user's account;
 * the tutorial's /register and /verify are thin wrappers over the same code.
 */
#include "core/clock.h"
#include "server/routes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COOKIE "fg_session"

/* --- sessions ------------------------------------------------------------------------------- */

/* Secure whenever the client came over HTTPS: a trusted proxy says so, or the page that sent
 * the request is itself an https:// one (a TLS terminator in front). Not on plain HTTP, where
 * the browser would drop a Secure cookie; --secure-cookie forces it. */
static int secure_client(const fg_request *req)
{
    const char *origin = fg_req_header(req, "Origin");
    return req->server->config.secure_cookie || req->forwarded_https ||
           (origin && strncasecmp(origin, "https://", 8) == 0);
}

static void set_cookie(fg_request *req, const char *token, int max_age)
{
    char cookie[FG_JWT_MAX + 128];
    snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s",
             token, max_age, secure_client(req) ? "; Secure" : "");
    fg_reply_header(req, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

/* Replies with {"user", "token", "expires_at", ...extra} and the session cookie. */
static void reply_session(fg_request *req, int status, const fg_store_user *user, json_t *extra)
{
    fg_server *s = req->server;
    fg_jwt_claims claims = {0};
    fg_jwt_keyset keys;
    char token[FG_JWT_MAX], expires[32];
    json_t *body;
    int rc;

    snprintf(claims.sub, sizeof claims.sub, "%s", user->uid);
    snprintf(claims.username, sizeof claims.username, "%s", user->username);
    snprintf(claims.name, sizeof claims.name, "%s", user->display_name);
    /* With --liveness required, sign-up and log-in take their face only from a passed challenge
     * (read_faces): the session says so, and OpenID Connect passes it on (amr, acr). */
    snprintf(claims.amr, sizeof claims.amr, "%s",
             s->config.liveness.required ? "face liveness" : "face");
    claims.iat = fg_now();
    claims.exp = claims.iat + s->config.token_ttl_s;
    fg_server_keys(s, &keys);
    rc = fg_jwt_sign(&keys.keys[0], &claims, token, sizeof token);
    sodium_memzero(&keys, sizeof keys);
    if (rc != FG_OK) {
        json_decref(extra);
        fg_reply_errorf(req, 500, "internal", "could not sign the session token");
        return;
    }
    fg_iso8601(claims.exp, expires, sizeof expires);
    body = json_pack("{s:o, s:s, s:s}", "user", fg_user_json(user), "token", token, "expires_at",
                     expires);
    if (extra) {
        json_object_update(body, extra);
        json_decref(extra);
    }
    fg_reply_json(req, status, body);
    set_cookie(req, token, s->config.token_ttl_s);
}

/* The session token of the request: a Bearer JWT, else the cookie. */
static const char *session_token(fg_request *req)
{
    const char *auth = fg_req_header(req, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && strchr(auth + 7, '.')) return auth + 7;
    return fg_req_cookie(req, COOKIE);
}

int fg_session_user(fg_request *req, const char *token, fg_store_user *user, fg_jwt_claims *claims,
                    fg_http_error *e)
{
    fg_server *s = req->server;
    fg_error err = {0};
    fg_jwt_keyset keys;
    int revoked = 0, rc;
    if (!token || !*token)
        return fg_http_fail(e, 401, "unauthorized",
                            "not signed in: log in first (cookie " COOKIE
                            " or Authorization: Bearer <token>)");
    fg_server_keys(s, &keys);
    rc = fg_jwt_verify(&keys, token, fg_now(), claims, &err);
    sodium_memzero(&keys, sizeof keys);
    if (rc != FG_OK)
        return fg_http_fail(e, 401, "unauthorized", "invalid session: %s", err.message);
    if ((rc = fg_store_session_revoked(s->store, claims->jti, &revoked, &err)) != FG_OK)
        return fg_http_store_fail(e, rc, &err, "could not check the session");
    if (revoked) return fg_http_fail(e, 401, "unauthorized", "this session was logged out");
    /* The account the token was issued for, by its id: a deleted and re-created username is
     * another account and does not inherit old sessions. A token of the previous format names
     * a username: it is honoured until it expires, but only by an account created before the
     * second it was issued (so not by one re-created in that same second). */
    if (claims->username[0])
        rc = fg_store_user_get_uid(s->store, claims->sub, user, &err);
    else
        rc = fg_store_user_get(s->store, claims->sub, user, &err);
    if (rc != FG_OK && rc != FG_STORE_ENOTFOUND)
        return fg_http_store_fail(e, rc, &err, "could not check the session");
    if (rc != FG_OK || (!claims->username[0] && user->created_at >= claims->iat))
        return fg_http_fail(e, 401, "unauthorized", "the account of this session no longer exists");
    return 0;
}

/* The signed-in user of the request (Bearer token, else cookie). */
static int current_user(fg_request *req, fg_store_user *user, fg_jwt_claims *claims,
                        fg_http_error *e)
{
    return fg_session_user(req, session_token(req), user, claims, e);
}

/* current_user for routes that need a session: answers the request's error itself when there
 * is none. Returns 0 when signed in. */
static int require_user(fg_request *req, fg_store_user *user, fg_jwt_claims *claims)
{
    fg_http_error e;
    if (current_user(req, user, claims, &e) == 0) return 0;
    fg_reply_error(req, &e);
    return -1;
}

/* Revokes the session; on failure logs why and returns the store's code. */
static int revoke_session(fg_request *req, const fg_jwt_claims *claims)
{
    fg_error err = {0};
    int rc = fg_store_session_revoke(req->server->store, claims->jti, claims->exp, &err);
    if (rc != FG_OK) fprintf(stderr, "facegate: session not revoked: %s\n", err.message);
    return rc;
}

/* --- limits --------------------------------------------------------------------------------- */

/* The 429 or 423 of a refused attempt (fg_ratelimit_begin / _check_account / _take). */
static int limit_error(int verdict, int retry, fg_http_error *e)
{
    if (verdict == FG_RL_UNAVAILABLE) /* the shared counters: never let an attempt through */
        return fg_http_store_fail(e, FG_STORE_EUNAVAILABLE, NULL, "could not check the limits");
    if (verdict == FG_RL_LOCKED)
        fg_http_fail(e, 423, "locked_out",
                     "too many failed log-ins on this account from your address; try again in %d "
                     "seconds",
                     retry);
    else
        fg_http_fail(e, 429, "rate_limited",
                     "too many attempts from your address; try again in %d "
                     "seconds",
                     retry);
    e->retry_after = retry;
    return -1;
}

/* Reserves a face attempt of this client (on `account`, or NULL): 0, or -1 with the 429/423. */
static int begin_attempt(fg_request *req, const char *account, fg_rl_attempt *a, fg_http_error *e)
{
    int retry = 0;
    int verdict =
        fg_ratelimit_begin(req->server->ratelimit, req->client, account, fg_now(), a, &retry);
    return verdict == FG_RL_OK ? 0 : limit_error(verdict, retry, e);
}

/* Settles a face attempt from the request's result: an "already enrolled" answer is what a
 * failed log-in is (an oracle of the enrolled faces), anything else says nothing of a face. */
static void end_attempt(fg_request *req, fg_rl_attempt *a, int rc, const fg_http_error *e)
{
    int enrolled = rc != 0 && strcmp(e->code, "face_already_enrolled") == 0;
    fg_ratelimit_end(req->server->ratelimit, a, enrolled ? FG_RL_FAILURE : FG_RL_NEUTRAL, NULL,
                     fg_now());
}

/* --- sign-up -------------------------------------------------------------------------------- */

/* A username given to log in (any stored name), or chosen for a new account (stricter). */
static int check_username(const char *username, int new_name, fg_http_error *e)
{
    if (!username) return fg_http_fail(e, 400, "missing_field", "\"username\" is required");
    if (!fg_store_username_valid(username))
        return fg_http_fail(
            e, 400, "invalid_username",
            "a username is %d to %d characters of A-Z a-z 0-9 . _ - and not only dots",
            FG_USERNAME_MIN, FG_USERNAME_MAX);
    if (new_name && !fg_store_username_allowed(username))
        return fg_http_fail(e, 400, "invalid_username",
                            "a username begins and ends with a letter or a digit, and has no two "
                            "of . _ - in a row");
    return 0;
}

/* Valid UTF-8 without control characters, at most FG_DISPLAY_NAME_MAX bytes. */
static int check_display_name(const char *name, fg_http_error *e)
{
    const unsigned char *p = (const unsigned char *)name;
    if (strlen(name) > FG_DISPLAY_NAME_MAX)
        return fg_http_fail(e, 400, "invalid_field", "\"display_name\" is longer than %d bytes",
                            FG_DISPLAY_NAME_MAX);
    while (*p) {
        int extra = *p < 0x80             ? 0
                    : (*p & 0xe0) == 0xc0 ? 1
                    : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3
                                          : -1;
        if (extra < 0 || *p < 0x20 || *p == 0x7f) goto bad;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xc0) != 0x80) goto bad;
    }
    return 0;
bad:
    return fg_http_fail(e, 400, "invalid_field",
                        "\"display_name\" must be UTF-8 text without control characters");
}

/* The quality gate of faces to be enrolled, or NULL when it is off. */
static const fg_quality_limits *enrol_gate(const fg_server *s)
{
    return s->config.enrol_quality ? &s->quality : NULL;
}

/* Computes the descriptors of 1..n images: each holds one usable face. `enrolment`: all must
 * show one person and pass the quality gate (sign-up). descriptors has room for n. */
static int describe_all(fg_request *req, const fg_blob *images, size_t n, int enrolment,
                        float (*descriptors)[FG_DESCRIPTOR_DIM], fg_http_error *e)
{
    fg_server *s = req->server;
    for (size_t i = 0; i < n; i++) {
        char what[32];
        fg_probe probe;
        snprintf(what, sizeof what, n > 1 ? "image %zu" : "image", i + 1);
        if (fg_probe_face(req, enrolment ? FG_PROBE_ENROL : FG_PROBE_FRAME, &images[i], what,
                          enrolment ? enrol_gate(s) : NULL, &probe, e) != 0)
            return -1;
        memcpy(descriptors[i], probe.descriptor, sizeof probe.descriptor);
        /* Frames of one person: the ceiling, not the population's threshold, decides. */
        if (enrolment && i > 0 &&
            fg_match_distance(descriptors[0], descriptors[i]) >= s->policy.ceiling)
            return fg_http_fail(e, 400, "faces_differ",
                                "image 1 and image %zu do not show the same person", i + 1);
    }
    return 0;
}

/* Where the face of a sign-up, log-in or added face comes from: a passed liveness session (the
 * request's "liveness" field), or, with --liveness off or on a seed route, its images. */
typedef struct face_source {
    const char *session; /* the liveness session's id, or NULL */
    fg_blob *images;
    size_t nimages;
} face_source;

/* Reads the request's face source (cheap: nothing is decoded). `stills`: a seed route, which
 * takes photos whatever --liveness says. 401 liveness_required without a session when one is
 * required; 400 liveness_with_images when both are sent. */
static int read_faces(fg_request *req, const char *image_field, size_t max_images, int stills,
                      face_source *src, fg_http_error *e)
{
    memset(src, 0, sizeof *src);
    if (!stills && fg_req_text(req, "liveness", &src->session, e) != 0) return -1;
    if (src->session) {
        if (fg_req_has_images(req, image_field))
            return fg_http_fail(e, 400, "liveness_with_images",
                                "the face comes from the liveness session's own frames: send "
                                "\"liveness\" without images");
        return 0;
    }
    if (!stills && req->server->challenges)
        return fg_http_fail(e, 401, "liveness_required",
                            "a passed liveness session is required: start one with POST "
                            "/api/v1/liveness and send its id as \"liveness\"");
    return fg_req_images(req, image_field, max_images, &src->images, &src->nimages, e);
}

/* The descriptors of the source: up to `cap` of the session's frames (redeemed: single use;
 * the verifier chose near-frontal frames of one person), or one per image (describe_all). */
static int describe_faces(fg_request *req, const face_source *src, int enrolment, size_t cap,
                          float (*descriptors)[FG_DESCRIPTOR_DIM], size_t *n, fg_http_error *e)
{
    *n = 0;
    if (src->session)
        return fg_liveness_redeem(req, src->session, enrolment ? enrol_gate(req->server) : NULL,
                                  descriptors, cap, n, e);
    if (describe_all(req, src->images, src->nimages, enrolment, descriptors, e) != 0) return -1;
    *n = src->nimages;
    return 0;
}

static void free_faces(face_source *src)
{
    fg_blobs_free(src->images, src->nimages);
    src->images = NULL;
    src->nimages = 0;
}

/* The attempt's scores against the users it could be, and `claim` (0: none). */
static int score(fg_server *s, const float (*descriptors)[FG_DESCRIPTOR_DIM], size_t n,
                 int64_t claim, fg_match_scores *out, fg_http_error *e)
{
    int rc = fg_matcher_score(s->matcher, descriptors, n, claim, 0, out);
    if (rc != FG_OK)
        return fg_http_fail(e, 500, "internal", "could not match the face: %s", fg_strerror(rc));
    return 0;
}

/* The duplicate-face check, run by the store inside the sign-up's write, under the lock that
 * serialises writers on every server and after this server's matcher caught up with them. */
typedef struct enrol_check {
    fg_server *server;
    const float (*descriptors)[FG_DESCRIPTOR_DIM];
    size_t n;
    fg_http_error *e;
} enrol_check;

#define GUARD_REFUSED 1 /* a guard's refusal, returned by the store write (never a store code) */

/* 409 if the attempt could log in as an enrolled user: a face within a user's accept threshold
 * is, by the policy's definition, theirs. */
static int check_not_enrolled(void *ctx)
{
    enrol_check *c = ctx;
    fg_match_scores scores;
    int64_t other;
    if (score(c->server, c->descriptors, c->n, 0, &scores, c->e) != 0) return GUARD_REFUSED;
    other = fg_policy_collision(&c->server->policy, &scores, 0);
    fg_match_scores_free(&scores);
    if (!other) return 0;
    fg_http_fail(c->e, 409, "face_already_enrolled",
                 "this face is already enrolled under another account");
    return GUARD_REFUSED;
}

/* Creates the account: validations, faces, duplicate checks, one atomic insert. */
static int enrol(fg_request *req, const char *username, const char *display_name,
                 const face_source *src, fg_store_user *user, fg_http_error *e)
{
    fg_server *s = req->server;
    float descriptors[FG_SERVER_MAX_SIGNUP_IMAGES][FG_DESCRIPTOR_DIM];
    size_t n = 0;
    enrol_check check = {s, (const float(*)[FG_DESCRIPTOR_DIM])descriptors, 0, e};
    fg_error err = {0};
    int rc;

    if (check_username(username, 1, e) != 0) return -1;
    if (!display_name || !*display_name) display_name = username;
    if (check_display_name(display_name, e) != 0) return -1;
    /* The faces first: whether a name is taken is only said to a request with real faces (at
     * the sign-up rate of its address), so names cannot be listed with junk images. A liveness
     * proof is spent here even when the name turns out to be taken: a name costs a challenge. */
    if (describe_faces(req, src, 1, FG_SERVER_MAX_SIGNUP_IMAGES, descriptors, &n, e) != 0)
        return -1;
    check.n = n;
    rc = fg_store_user_get(s->store, username, NULL, &err);
    if (rc == FG_OK)
        return fg_http_fail(e, 409, "username_taken", "the username \"%s\" is taken", username);
    if (rc != FG_STORE_ENOTFOUND) return fg_http_store_fail(e, rc, &err, "could not sign up");

    /* The new templates reach the matcher through the store's change feed. */
    rc = fg_store_user_create(s->store, username, display_name,
                              (const float(*)[FG_DESCRIPTOR_DIM])descriptors, n, check_not_enrolled,
                              &check, user, NULL, &err);
    if (rc == GUARD_REFUSED) return -1;
    if (rc == FG_STORE_EEXIST)
        return fg_http_fail(e, 409, "username_taken", "the username \"%s\" is taken", username);
    if (rc != FG_OK) return fg_http_store_fail(e, rc, &err, "could not store the account");
    return 0;
}

/* Reads the sign-up fields and faces (`stills`: the seed route's photos), then enrols within the
 * address's sign-up budget and face-attempt limit. */
static int signup(fg_request *req, const char *image_field, int stills, fg_store_user *user,
                  fg_http_error *e)
{
    const char *username = NULL, *display_name = NULL;
    face_source src = {0};
    fg_rl_attempt attempt;
    int rc, retry = 0, verdict;
    if (fg_req_text(req, "username", &username, e) != 0 ||
        fg_req_text(req, "display_name", &display_name, e) != 0 ||
        check_username(username, 1, e) != 0 ||
        read_faces(req, image_field, FG_SERVER_MAX_SIGNUP_IMAGES, stills, &src, e) != 0 ||
        ((verdict = fg_ratelimit_take(req->server->ratelimit, FG_RL_SIGNUP, req->client,
                                      fg_now_ms(), &retry)) != FG_RL_OK &&
         limit_error(verdict, retry, e) != 0) ||
        begin_attempt(req, NULL, &attempt, e) != 0) {
        free_faces(&src);
        fg_audit(req, "signup", username && fg_store_username_valid(username) ? username : "",
                 e->code, NAN);
        return -1;
    }
    rc = enrol(req, username, display_name, &src, user, e);
    end_attempt(req, &attempt, rc, e);
    free_faces(&src);
    fg_audit(req, "signup", fg_store_username_valid(username) ? username : "",
             rc == 0 ? "ok" : e->code, NAN);
    return rc;
}

void fg_route_signup(fg_request *req)
{
    fg_store_user user;
    fg_http_error e;
    if (signup(req, "image", 0, &user, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    reply_session(req, 201, &user, NULL);
}

void fg_route_seed_register(fg_request *req)
{
    fg_store_user user;
    fg_http_error e;
    if (signup(req, "image64", 1, &user, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    fg_reply_json(req, 200, json_pack("{s:i}", "status", 200));
}

/* --- log-in --------------------------------------------------------------------------------- */

typedef struct login_result {
    int accepted;
    fg_store_user user;
    double distance; /* to the accepted user, or the nearest one on failure */
} login_result;

/* A log-in refused by the limits: counted, audited, and its 429/423 in e. */
static int refuse_login(fg_request *req, const char *account, double distance, fg_http_error *e)
{
    int locked = e->status == 423;
    if (e->status == 503) return -1; /* the database is down: neither counted nor audited */
    fg_metrics_login(req->server->metrics, locked ? FG_LOGIN_LOCKED_OUT : FG_LOGIN_RATE_LIMITED);
    fg_audit(req, "login", account, locked ? "locked_out" : "rate_limited", distance);
    return -1;
}

/* The decision on the frames' descriptors: 1:1 when claim is set, else 1:N. -1 with e on a
 * store failure. */
static int decide(fg_server *s, const char *claim, const float (*descriptors)[FG_DESCRIPTOR_DIM],
                  size_t n, login_result *out, fg_http_error *e)
{
    fg_match_scores scores;
    fg_match_decision d;
    fg_error err = {0};
    int rc = FG_OK;
    if (claim) {
        rc = fg_store_user_get(s->store, claim, &out->user, &err);
        if (rc == FG_STORE_ENOTFOUND) return 0;
        if (rc != FG_OK) return fg_http_store_fail(e, rc, &err, "could not log in");
    }
    if (score(s, descriptors, n, claim ? out->user.id : 0, &scores, e) != 0) return -1;
    if (claim)
        fg_policy_verify(&s->policy, &scores, out->user.id, &d);
    else
        fg_policy_identify(&s->policy, &scores, &d);
    fg_match_scores_free(&scores);
    out->distance = d.distance;
    if (!claim && d.accepted) {
        rc = fg_store_user_get_id(s->store, d.user, &out->user, &err);
        /* Not found: deleted by another server a moment ago, the feed has not caught up yet. */
        if (rc != FG_OK && rc != FG_STORE_ENOTFOUND)
            return fg_http_store_fail(e, rc, &err, "could not log in");
    }
    out->accepted = d.accepted && rc == FG_OK;
    return 0;
}

/* Rate limits, faces, decision, counters and audit. 0 with *out filled (accepted or not), or
 * -1 with e for refusals (rate limits, bad input). The attempt is reserved before the faces are
 * processed, so simultaneous requests cannot overrun the limits. */
static int attempt_login(fg_request *req, const char *image_field, int allow_claim, int stills,
                         login_result *out, fg_http_error *e)
{
    fg_server *s = req->server;
    const char *claim = NULL;
    face_source src;
    size_t n = 0;
    float descriptors[FG_SERVER_MAX_LOGIN_IMAGES][FG_DESCRIPTOR_DIM];
    fg_rl_attempt attempt;
    int retry = 0, verdict;

    memset(out, 0, sizeof *out);
    out->distance = INFINITY;
    if ((allow_claim && fg_req_text(req, "username", &claim, e) != 0) ||
        (claim && check_username(claim, 0, e) != 0) ||
        read_faces(req, image_field, allow_claim ? FG_SERVER_MAX_LOGIN_IMAGES : 1, stills, &src,
                   e) != 0) {
        fg_metrics_login(s->metrics, FG_LOGIN_BAD_INPUT);
        return -1;
    }
    if (begin_attempt(req, claim, &attempt, e) != 0) {
        free_faces(&src);
        return refuse_login(req, claim, NAN, e);
    }
    /* A liveness session's frames are several frames of one person: the policy decides on
     * them together, as on several log-in images. */
    if (describe_faces(req, &src, 0, FG_SERVER_MAX_LOGIN_IMAGES, descriptors, &n, e) != 0) {
        free_faces(&src);
        fg_ratelimit_end(s->ratelimit, &attempt, FG_RL_NEUTRAL, NULL, fg_now());
        fg_metrics_login(s->metrics, FG_LOGIN_BAD_INPUT);
        fg_audit(req, "login", claim, e->code, NAN);
        return -1;
    }
    free_faces(&src);
    if (decide(s, claim, (const float(*)[FG_DESCRIPTOR_DIM])descriptors, n, out, e) != 0) {
        fg_ratelimit_end(s->ratelimit, &attempt, FG_RL_NEUTRAL, NULL, fg_now());
        fg_metrics_login(s->metrics, FG_LOGIN_BAD_INPUT);
        return -1;
    }

    /* An address locked out of an account stays out whichever way it comes in. */
    if (!claim && out->accepted &&
        (verdict = fg_ratelimit_check_account(s->ratelimit, req->client, out->user.username,
                                              fg_now(), &retry)) != FG_RL_OK) {
        fg_ratelimit_end(s->ratelimit, &attempt, FG_RL_NEUTRAL, NULL, fg_now());
        limit_error(verdict, retry, e);
        return refuse_login(req, out->user.username, out->distance, e);
    }
    if (out->accepted) {
        fg_ratelimit_end(s->ratelimit, &attempt, FG_RL_SUCCESS, out->user.username, fg_now());
        fg_metrics_login(s->metrics, FG_LOGIN_SUCCESS);
        fg_audit(req, "login", out->user.username, "ok", out->distance);
    } else {
        fg_ratelimit_end(s->ratelimit, &attempt, FG_RL_FAILURE, NULL, fg_now());
        fg_metrics_login(s->metrics, FG_LOGIN_NO_MATCH);
        fg_audit(req, "login", claim, "no_match", out->distance);
    }
    return 0;
}

void fg_route_login(fg_request *req)
{
    login_result result;
    fg_http_error e;
    if (attempt_login(req, "image", 1, 0, &result, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    if (!result.accepted) {
        fg_reply_errorf(req, 401, "no_match", "the face was not recognised");
        return;
    }
    reply_session(req, 200, &result.user,
                  json_pack("{s:f}", "distance", round(result.distance * 1e4) / 1e4));
}

void fg_route_seed_verify(fg_request *req)
{
    login_result result;
    fg_http_error e;
    if (attempt_login(req, "image64", 0, 1, &result, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    if (!result.accepted)
        fg_reply_json(req, 200, json_pack("{s:i}", "identity", 0));
    else
        fg_reply_json(req, 200, json_pack("{s:s}", "identity", result.user.username));
}

/* --- the signed-in user --------------------------------------------------------------------- */

void fg_route_logout(fg_request *req)
{
    fg_store_user user;
    fg_jwt_claims claims;
    fg_http_error e;
    if (current_user(req, &user, &claims, &e) == 0) {
        int rc = revoke_session(req, &claims);
        if (rc != FG_OK) {
            fg_http_store_fail(&e, rc, &(fg_error){.message = "the session was not revoked"},
                               "could not log out");
            fg_reply_error(req, &e);
            return;
        }
        fg_audit(req, "logout", user.username, "ok", NAN);
    } else if (e.status == 503) {
        fg_reply_error(req, &e);
        return;
    }
    fg_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
    set_cookie(req, "", 0);
}

void fg_route_me(fg_request *req)
{
    fg_store_user user;
    fg_jwt_claims claims;
    if (require_user(req, &user, &claims) != 0) return;
    fg_reply_json(req, 200, json_pack("{s:o}", "user", fg_user_json(&user)));
}

/* Inside the write (as for sign-up): the face must be the account's and nobody else's. */
typedef struct face_check {
    fg_server *server;
    int64_t user_id;
    const float *descriptor;
    fg_http_error *e;
} face_check;

static int check_own_face(void *ctx)
{
    face_check *c = ctx;
    fg_match_scores scores;
    fg_match_decision own;
    int64_t other;
    if (score(c->server, (const float(*)[FG_DESCRIPTOR_DIM])c->descriptor, 1, c->user_id, &scores,
              c->e) != 0)
        return GUARD_REFUSED;
    fg_policy_verify(&c->server->policy, &scores, c->user_id, &own);
    other = fg_policy_collision(&c->server->policy, &scores, c->user_id);
    fg_match_scores_free(&scores);
    if (other && own.runner_up_distance < own.distance) {
        fg_http_fail(c->e, 409, "face_already_enrolled",
                     "this face is already enrolled under another account");
        return GUARD_REFUSED;
    }
    if (!(own.distance < own.threshold)) {
        fg_http_fail(c->e, 400, "face_mismatch",
                     "this face does not match the account's enrolled faces");
        return GUARD_REFUSED;
    }
    return 0;
}

static int too_many_faces(fg_http_error *e)
{
    return fg_http_fail(e, 409, "too_many_faces", "an account holds at most %d faces",
                        FG_SERVER_MAX_FACES);
}

/* Adds a face to the signed-in account. It must be the account holder's face (within their
 * threshold), so a borrowed session cannot enrol somebody else's face into the account, and
 * nobody else's (the sign-up rule). */
static int add_face(fg_request *req, fg_store_user *user, fg_http_error *e)
{
    fg_server *s = req->server;
    face_source src;
    float descriptor[1][FG_DESCRIPTOR_DIM];
    size_t n = 0;
    fg_error err = {0};
    fg_rl_attempt attempt;
    int64_t template_id = 0;
    face_check check;
    int rc, st;

    if (user->faces >= FG_SERVER_MAX_FACES) /* cheap refusal; checked again under the lock */
        return too_many_faces(e);
    if (read_faces(req, "image", 1, 0, &src, e) != 0) return -1;
    if (begin_attempt(req, NULL, &attempt, e) != 0) {
        free_faces(&src);
        return -1;
    }
    rc = describe_faces(req, &src, 1, 1, descriptor, &n, e);
    free_faces(&src);
    if (rc != 0) {
        end_attempt(req, &attempt, rc, e);
        return -1;
    }

    check.server = s;
    check.user_id = user->id;
    check.descriptor = descriptor[0];
    check.e = e;
    /* The count, the checks and the insert in one write: simultaneous requests cannot all see
     * room for one more face. */
    st = fg_store_template_add(s->store, user->id, descriptor[0], FG_SERVER_MAX_FACES,
                               check_own_face, &check, &template_id, &err);
    end_attempt(req, &attempt, st == GUARD_REFUSED ? -1 : 0, e);
    if (st == GUARD_REFUSED) return -1;
    if (st == FG_STORE_EFULL) return too_many_faces(e);
    if (st != FG_OK) return fg_http_store_fail(e, st, &err, "could not store the face");
    st = fg_store_user_get_id(s->store, user->id, user, &err);
    if (st != FG_OK) return fg_http_store_fail(e, st, &err, "could not read the account");
    return 0;
}

void fg_route_me_faces(fg_request *req)
{
    fg_store_user user;
    fg_jwt_claims claims;
    fg_http_error e;
    if (require_user(req, &user, &claims) != 0) return;
    if (add_face(req, &user, &e) != 0) {
        fg_audit(req, "add_face", user.username, e.code, NAN);
        fg_reply_error(req, &e);
        return;
    }
    fg_audit(req, "add_face", user.username, "ok", NAN);
    fg_reply_json(req, 201, json_pack("{s:o}", "user", fg_user_json(&user)));
}

void fg_route_me_delete(fg_request *req)
{
    fg_server *s = req->server;
    fg_store_user user;
    fg_jwt_claims claims;
    fg_error err = {0};
    int rc;
    if (require_user(req, &user, &claims) != 0) return;
    /* The store's change feed takes the user out of every server's matcher. */
    rc = fg_store_user_delete(s->store, user.id, &err);
    if (rc != FG_OK) {
        fg_http_error e;
        fg_http_store_fail(&e, rc, &err, "could not delete the account");
        fg_reply_error(req, &e);
        return;
    }
    revoke_session(req, &claims);
    fg_audit_deleted(req, "delete", &user, 0);
    fg_reply_json(req, 200, json_pack("{s:s}", "deleted", user.username));
    set_cookie(req, "", 0);
}
