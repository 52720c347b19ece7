/*
 * test-server-challenge-proof.c - the server's liveness sessions (server/challenge.c): a session
 * answers only its own secret, one request at a time; before it passed it proves nothing; once
 * passed it proves the face of its own frames exactly once, and only until its proof expires;
 * sessions per client and in total are bounded; a sign-up (the enrolment gate) takes only the
 * session's faces that pass the gate, and none is a 400 with the gate's code. The verifier is
 * driven by a synthetic head.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness.h"
#include "server/challenge.h"
#include "server/http.h"
#include "synthetic-head.h"

#define FPS 15.0

static fg_liveness_config config(void)
{
    fg_liveness_config c;
    fg_liveness_config_init(&c);
    c.steps[0] = FGL_TURN_LEFT;
    c.fixed_steps = 1;
    c.proof_seconds = 5;
    c.max_per_client = 2;
    c.max_sessions = 4;
    return c;
}

/* The frames of a head that looks ahead, from `turn` seconds on turns to its left and back; the
 * face's descriptor (all `marker`) whenever the verifier asks. Leaves ch->status as the route
 * would. */
static void pass_turning_at(fg_challenge *ch, float marker, double turn)
{
    float d[FG_DESCRIPTOR_DIM];
    fg_error err = {0};
    for (int k = 0; k < FG_DESCRIPTOR_DIM; k++)
        d[k] = marker;
    for (int i = 0; i <= (int)((turn + 5) * FPS) && ch->status.state == FGL_RUNNING; i++) {
        double t = i / FPS;
        head_pose h = HEAD_FRONT;
        fg_face face;
        fg_face_mesh mesh;
        if (t > turn && t < turn + 1.5) h.yaw = -30 * sin(M_PI * (t - turn) / 1.5);
        head_face(&h, &face, &mesh);
        fgl_frame f = {t, &face, &mesh, 1};
        CHECKF(fgl_feed(ch->verifier, &f, &ch->status, &err) == FG_OK, "%s", err.message);
        if (ch->status.wants_descriptor)
            CHECKF(fgl_identity(ch->verifier, d, &ch->status, &err) == FG_OK, "%s", err.message);
    }
    CHECKF(ch->status.state == FGL_PASSED, "the synthetic turn did not pass: state %d, %s",
           ch->status.state, fgl_failure_name(ch->status.failure));
}

static void pass(fg_challenge *ch, float marker)
{
    pass_turning_at(ch, marker, 1.0);
}

static void check_error(int rc, const fg_http_error *e, int status, const char *code)
{
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(e->status, status);
    CHECKF(strcmp(e->code, code) == 0, "code %s, expected %s (%s)", e->code, code, e->message);
}

static void test_secret_busy_and_single_use(void)
{
    fg_liveness_config c = config();
    fg_challenges *all = NULL;
    fg_challenge *ch = NULL, *other = NULL;
    fg_http_error e;
    fg_error err = {0};
    char secret[FG_CHALLENGE_SECRET_LEN + 1], wrong[FG_CHALLENGE_SECRET_LEN + 1], id[64];
    float out[5][FG_DESCRIPTOR_DIM];
    size_t n = 0;
    double now = fg_monotonic();

    CHECK(fg_challenges_new(&c, &all, &err) == FG_OK);
    CHECK(fg_challenge_create(all, "192.0.2.1", now, &ch, secret, &e) == 0);
    CHECK(strlen(ch->id) == FG_CHALLENGE_ID_LEN && strlen(secret) == FG_CHALLENGE_SECRET_LEN);
    snprintf(id, sizeof id, "%s", ch->id);
    fg_challenge_release(all, ch);
    CHECK(fg_challenge_create(all, "192.0.2.1", now, &other, wrong, &e) == 0);
    fg_challenge_release(all, other);

    /* Before it passed: no proof. Another session's secret, a made-up id: refused. */
    check_error(fg_challenge_redeem(all, id, secret, now, NULL, out, 5, &n, &e), &e, 401,
                "liveness_not_passed");
    check_error(fg_challenge_acquire(all, id, wrong, now, &ch, &e), &e, 403, "liveness_forbidden");
    check_error(fg_challenge_acquire(all, id, "", now, &ch, &e), &e, 403, "liveness_forbidden");
    check_error(fg_challenge_acquire(all, "00000000000000000000000000000000", secret, now, &ch, &e),
                &e, 404, "liveness_unknown");

    /* One request at a time. */
    CHECK(fg_challenge_acquire(all, id, secret, now, &ch, &e) == 0);
    check_error(fg_challenge_acquire(all, id, secret, now, &other, &e), &e, 409, "liveness_busy");
    check_error(fg_challenge_redeem(all, id, secret, now, NULL, out, 5, &n, &e), &e, 401,
                "liveness_busy");
    pass(ch, 0.25f);
    fg_challenge_release(all, ch);

    /* Passed: no more frames; the proof once, with the face of its frames, to its secret only. */
    check_error(fg_challenge_acquire(all, id, secret, now, &ch, &e), &e, 409, "liveness_ended");
    check_error(fg_challenge_redeem(all, id, wrong, now, NULL, out, 5, &n, &e), &e, 401,
                "liveness_forbidden");
    CHECK(fg_challenge_redeem(all, id, secret, now, NULL, out, 5, &n, &e) == 0);
    CHECKF(n >= 1 && n <= 5, "%zu descriptors", n);
    for (size_t i = 0; i < n; i++)
        CHECK(out[i][0] == 0.25f && out[i][FG_DESCRIPTOR_DIM - 1] == 0.25f);
    check_error(fg_challenge_redeem(all, id, secret, now, NULL, out, 5, &n, &e), &e, 401,
                "liveness_used");
    fg_challenges_free(all);
}

/* Measures of a face the enrolment gate passes, or (dark) one too dark for it. */
static fg_face_quality measures(int dark)
{
    fg_face_quality q = {.face_px = 200, .sharpness = 50, .brightness = dark ? 10 : 120};
    return q;
}

/* A passed session whose first face (or every face) is too dark, redeemed with the gate. */
static void test_enrolment_gate(void)
{
    fg_liveness_config c = config();
    fg_challenges *all = NULL;
    fg_challenge *ch = NULL;
    fg_http_error e;
    fg_error err = {0};
    fg_quality_limits gate;
    char secret[FG_CHALLENGE_SECRET_LEN + 1], id[64];
    float out[FGL_MAX_DESCRIPTORS][FG_DESCRIPTOR_DIM];
    const float(*kept)[FG_DESCRIPTOR_DIM];
    size_t n = 0, have = 0;
    double now = fg_monotonic();

    fg_quality_limits_init(&gate);
    CHECK(fg_challenges_new(&c, &all, &err) == FG_OK);
    for (int every = 0; every < 2; every++) {
        CHECK(fg_challenge_create(all, "192.0.2.3", now, &ch, secret, &e) == 0);
        snprintf(id, sizeof id, "%s", ch->id);
        pass_turning_at(ch, 0.75f, 3.5); /* descriptors of several frames before the turn */
        have = fgl_descriptors(ch->verifier, &kept);
        CHECKF(have >= 2, "%zu descriptors kept", have);
        for (size_t k = 0; k < have; k++)
            ch->quality[k] = measures(every || k == 0);
        fg_challenge_release(all, ch);
        if (!every) {
            /* The dark face is left out; the others prove the sign-up. */
            CHECK(fg_challenge_redeem(all, id, secret, now, &gate, out, FGL_MAX_DESCRIPTORS, &n,
                                      &e) == 0);
            CHECKF(n == have - 1, "%zu descriptors of %zu, one too dark", n, have);
        } else {
            check_error(
                fg_challenge_redeem(all, id, secret, now, &gate, out, FGL_MAX_DESCRIPTORS, &n, &e),
                &e, 400, "face_too_dark");
            CHECKF(strstr(e.message, "too dark") != NULL, "%s", e.message);
        }
        /* Used either way. */
        check_error(fg_challenge_redeem(all, id, secret, now, NULL, out, 5, &n, &e), &e, 401,
                    "liveness_used");
    }
    fg_challenges_free(all);
}

static void test_expiry(void)
{
    fg_liveness_config c = config();
    fg_challenges *all = NULL;
    fg_challenge *ch = NULL;
    fg_http_error e;
    fg_error err = {0};
    char secret[FG_CHALLENGE_SECRET_LEN + 1], id[64];
    float out[5][FG_DESCRIPTOR_DIM];
    size_t n = 0;
    double now = fg_monotonic();

    CHECK(fg_challenges_new(&c, &all, &err) == FG_OK);
    /* A running session past its limit takes no frames. */
    CHECK(fg_challenge_create(all, "192.0.2.2", now, &ch, secret, &e) == 0);
    snprintf(id, sizeof id, "%s", ch->id);
    fg_challenge_release(all, ch);
    check_error(fg_challenge_acquire(all, id, secret, now + c.session_seconds + 3, &ch, &e), &e,
                410, "liveness_expired");

    /* A passed one is a proof for proof_seconds. */
    CHECK(fg_challenge_create(all, "192.0.2.2", now, &ch, secret, &e) == 0);
    snprintf(id, sizeof id, "%s", ch->id);
    pass(ch, 0.5f);
    fg_challenge_release(all, ch);
    check_error(fg_challenge_redeem(all, id, secret, fg_monotonic() + c.proof_seconds + 1, NULL,
                                    out, 5, &n, &e),
                &e, 401, "liveness_expired");
    fg_challenges_free(all);
}

static void test_limits(void)
{
    fg_liveness_config c = config();
    fg_challenges *all = NULL;
    fg_challenge *ch = NULL;
    fg_http_error e;
    fg_error err = {0};
    char secret[FG_CHALLENGE_SECRET_LEN + 1];
    double now = fg_monotonic();

    CHECK(fg_challenges_new(&c, &all, &err) == FG_OK);
    for (int i = 0; i < 2; i++) {
        CHECK(fg_challenge_create(all, "198.51.100.7", now, &ch, secret, &e) == 0);
        fg_challenge_release(all, ch);
    }
    check_error(fg_challenge_create(all, "198.51.100.7", now, &ch, secret, &e), &e, 429,
                "too_many_sessions");
    CHECK(e.retry_after > 0);
    /* Other clients have their own allowance, up to the server's total (4). */
    for (int i = 0; i < 2; i++) {
        CHECK(fg_challenge_create(all, "198.51.100.8", now, &ch, secret, &e) == 0);
        fg_challenge_release(all, ch);
    }
    check_error(fg_challenge_create(all, "198.51.100.9", now, &ch, secret, &e), &e, 429,
                "too_many_sessions");
    CHECK_EQ_INT(fg_challenges_count(all), 4);
    /* Once they are long expired, their slots are free again. */
    CHECK(fg_challenge_create(all, "198.51.100.9", now + 1000, &ch, secret, &e) == 0);
    fg_challenge_release(all, ch);
    CHECK_EQ_INT(fg_challenges_count(all), 1);
    fg_challenges_free(all);
    fg_challenges_free(NULL);
}

int main(void)
{
    test_secret_busy_and_single_use();
    test_expiry();
    test_enrolment_gate();
    test_limits();
    return fg_test_done();
}
