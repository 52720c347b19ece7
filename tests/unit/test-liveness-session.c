/*
 * The liveness session's rules on a synthetic head (synthetic-head.h) at 15 fps: a neutral pose
 * first; a turn, a look and a blink pass; frames before a step's reveal do not count (nor a head
 * already turned when the step appears); the step deadline, the session expiry, a face lost for
 * more than 1 s, two people, a jump cut, another person's descriptor, time going backwards and
 * a flat picture turned in front of the camera each fail the session with their own reason.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "liveness/liveness.h"
#include "liveness/measure.h"
#include "synthetic-head.h"

#define FPS 15.0

/* Feeds one frame showing the given heads (0, 1 or 2). */
static fgl_status feed(fgl_session *s, double t, const head_pose *heads, size_t n)
{
    fg_face faces[2];
    fg_face_mesh meshes[2];
    fgl_status st;
    fg_error err = {0};
    for (size_t i = 0; i < n; i++)
        head_face(&heads[i], &faces[i], &meshes[i]);
    fgl_frame f = {t, faces, meshes, n};
    CHECKF(fgl_feed(s, &f, &st, &err) == FG_OK, "%s", err.message);
    return st;
}

/* A pose that goes from the neutral pose to `peak` and back over [t0, t1] (a smooth motion). */
static head_pose motion(double t, double t0, double t1, head_pose peak)
{
    head_pose h = HEAD_FRONT;
    if (t < t0 || t > t1) return h;
    double w = sin(M_PI * (t - t0) / (t1 - t0));
    h.yaw = peak.yaw * w;
    h.pitch = peak.pitch * w;
    h.flat = peak.flat;
    return h;
}

static fgl_session *session(const fgl_step *steps, size_t n, const fgl_config *cfg)
{
    fgl_session *s = NULL;
    fg_error err = {0};
    CHECKF(fgl_session_new(steps, n, cfg, &s, &err) == FG_OK, "%s", err.message);
    return s;
}

/* Runs frames from 0 to `until` seconds: the head at HEAD_FRONT except a motion to `peak`
 * over [t0, t1]; stops when the session ends. Returns the last status. */
static fgl_status run_motion(fgl_session *s, double until, double t0, double t1, head_pose peak)
{
    fgl_status st = {0};
    for (int i = 0; i <= (int)(until * FPS); i++) {
        double t = i / FPS;
        head_pose h = motion(t, t0, t1, peak);
        st = feed(s, t, &h, 1);
        if (st.state != FGL_RUNNING) break;
    }
    return st;
}

static void test_turns_and_looks_pass(void)
{
    static const struct {
        fgl_step step;
        double yaw, pitch;
    } cases[] = {{FGL_TURN_LEFT, -30, 0},
                 {FGL_TURN_RIGHT, 30, 0},
                 {FGL_LOOK_UP, 0, -25},
                 {FGL_LOOK_DOWN, 0, 25}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fgl_session *s = session(&cases[i].step, 1, NULL);
        head_pose peak = {cases[i].yaw, cases[i].pitch, {0.3, 0.3}, 0, 0, 0, 0};
        fgl_status st = run_motion(s, 6, 1.0, 2.5, peak);
        CHECKF(st.state == FGL_PASSED, "%s: state %d failure %s", fgl_step_name(cases[i].step),
               st.state, fgl_failure_name(st.failure));
        char *json = fgl_evidence_json(s);
        CHECKF(json && strstr(json, "\"state\":\"passed\"") && strstr(json, "\"angle_deg\""), "%s",
               json ? json : "NULL");
        free(json);
        /* The opposite motion does not pass this step. */
        fgl_session_free(s);
        s = session(&cases[i].step, 1, NULL);
        peak.yaw = -peak.yaw, peak.pitch = -peak.pitch;
        st = run_motion(s, 8, 1.0, 2.5, peak);
        CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_STEP_TIMEOUT,
               "%s against the opposite motion: state %d failure %s", fgl_step_name(cases[i].step),
               st.state, fgl_failure_name(st.failure));
        fgl_session_free(s);
    }
}

/* Too small a turn (the threshold's far side) and a flat picture turned as far as a head: the
 * picture's nose does not leave the plane (no parallax), so it fails. */
static void test_small_turn_and_flat_picture_fail(void)
{
    fgl_step step = FGL_TURN_LEFT;
    fgl_session *s = session(&step, 1, NULL);
    head_pose small = {-18, 0, {0.3, 0.3}, 0, 0, 0, 0};
    fgl_status st = run_motion(s, 8, 1.0, 2.5, small);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_STEP_TIMEOUT, "18 deg: state %d",
           st.state);
    fgl_session_free(s);

    s = session(&step, 1, NULL);
    head_pose flat = {-35, 0, {0.3, 0.3}, 0, 0, 0, 1};
    st = run_motion(s, 8, 1.0, 2.5, flat);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_STEP_TIMEOUT,
           "flat picture at 35 deg: state %d failure %s", st.state, fgl_failure_name(st.failure));
    char *json = fgl_evidence_json(s);
    CHECKF(json && strstr(json, "\"best_angle_parallax\":0.0,") != NULL, "%s", json);
    free(json);
    fgl_session_free(s);
}

/* The parallax of the synthetic head's turn: the nose leads the plane by 50 sin(30) / 90 IODs. */
static void test_parallax_value(void)
{
    fg_face face;
    fg_face_mesh m0, m1;
    fgl_measure a, b;
    head_pose h = HEAD_FRONT;
    double dx, dy;
    head_face(&h, &face, &m0);
    h.yaw = -30;
    head_face(&h, &face, &m1);
    fgl_measure_mesh(&m0, &a);
    fgl_measure_mesh(&m1, &b);
    CHECK(fgl_parallax(&a.plane, &b.plane, &dx, &dy) == 0);
    CHECK_NEAR(dx, 50 * sin(30 * M_PI / 180) / 90, 0.02);
    CHECK_NEAR(dy, 0, 0.02);
    CHECK_NEAR(a.eye[0], 0.3, 1e-4);
    CHECK_NEAR(a.fw, 160, 1);
}

/* Steps before their reveal do not count; a head already turned when the step appears must come
 * back near neutral first. */
static void test_before_reveal(void)
{
    fgl_step step = FGL_TURN_LEFT;
    fg_error err = {0};
    fgl_session *s = session(&step, 1, NULL);
    head_pose peak = {-30, 0, {0.3, 0.3}, 0, 0, 0, 0};
    CHECK(fgl_session_schedule(s, 0, 3.0, 8.0, &err) == FG_OK);
    fgl_status st = run_motion(s, 9, 1.0, 2.5, peak);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_STEP_TIMEOUT,
           "a turn before the reveal counted: state %d", st.state);
    fgl_session_free(s);

    /* Revealed at 1.5 s while the head is turned (it stays turned until 4 s): not armed. */
    s = session(&step, 1, NULL);
    CHECK(fgl_session_schedule(s, 0, 1.5, 6.0, &err) == FG_OK);
    st = (fgl_status){0};
    for (int i = 0; i <= 7 * FPS && st.state == FGL_RUNNING; i++) {
        double t = i / FPS;
        head_pose h = HEAD_FRONT;
        if (t > 1.0 && t < 4.0) h.yaw = -30;
        st = feed(s, t, &h, 1);
        if (t > 1.6 && t < 4.0 && st.state == FGL_RUNNING)
            CHECKF(st.hint == FGL_HINT_BACK_TO_CENTRE, "t %.2f hint %s", t, fgl_hint_name(st.hint));
    }
    CHECKF(st.state == FGL_FAILED, "a turn held from before the reveal passed");
    fgl_session_free(s);

    CHECK(fgl_session_schedule(NULL, 0, 1, 2, &err) == FG_EINVAL);
    s = session(&step, 1, NULL);
    CHECK(fgl_session_schedule(s, 1, 1, 2, &err) == FG_EINVAL);
    CHECK(fgl_session_schedule(s, 0, 3, 2, &err) == FG_EINVAL);
    fgl_session_free(s);
}

/* A left turn over 1-2.5 s, then a right turn over 4-5.5 s. */
static fgl_status turn_left_then_right(fgl_session *s)
{
    fgl_status st = {0};
    for (int i = 0; i <= 10 * FPS && st.state == FGL_RUNNING; i++) {
        double t = i / FPS;
        head_pose h = motion(t, 1, 2.5, (head_pose){-30, 0, {0}, 0, 0, 0, 0});
        if (t > 4.0) h = motion(t, 4.0, 5.5, (head_pose){30, 0, {0}, 0, 0, 0, 0});
        st = feed(s, t, &h, 1);
    }
    return st;
}

static void test_deadline_and_expiry(void)
{
    fgl_step steps[2] = {FGL_TURN_LEFT, FGL_TURN_RIGHT};
    fgl_session *s = session(steps, 2, NULL);
    head_pose none = HEAD_FRONT;
    fgl_status st = run_motion(s, 10, 0, 0, none);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_STEP_TIMEOUT, "state %d failure %s",
           st.state, fgl_failure_name(st.failure));
    char *json = fgl_evidence_json(s);
    /* Neutral after 5 frames (0.27 s); the step is due 5 s after the next frame. */
    CHECKF(json && strstr(json, "\"failed_at\":5.4"), "%s", json);
    free(json);
    fgl_session_free(s);

    /* Each step done in time, but the session lasts longer than session_seconds. */
    fgl_config cfg;
    fgl_config_default(&cfg);
    cfg.session_seconds = 4;
    s = session(steps, 2, &cfg);
    st = turn_left_then_right(s);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_EXPIRED && st.step_index == 1,
           "state %d failure %s step %zu", st.state, fgl_failure_name(st.failure), st.step_index);
    fgl_session_free(s);

    /* The same with no session limit passes both steps. */
    cfg.session_seconds = 0;
    s = session(steps, 2, &cfg);
    st = turn_left_then_right(s);
    CHECKF(st.state == FGL_PASSED, "no limit: state %d failure %s", st.state,
           fgl_failure_name(st.failure));
    fgl_session_free(s);

    /* fgl_finish: the frames ended with a step left. */
    s = session(steps, 2, NULL);
    run_motion(s, 1, 0, 0, none);
    fgl_finish(s, 1.0, &st);
    CHECK(st.state == FGL_FAILED && st.failure == FGL_FAIL_ENDED);
    fgl_session_free(s);
}

static void test_face_lost_two_faces_jump_time(void)
{
    fgl_step step = FGL_BLINK;
    head_pose h = HEAD_FRONT, two[2] = {HEAD_FRONT, HEAD_FRONT};
    fgl_status st;
    int i;

    /* Face lost: 0.9 s without a face is tolerated, 1.2 s is not. */
    fgl_session *s = session(&step, 1, NULL);
    for (i = 0; i < 15; i++)
        feed(s, i / FPS, &h, 1);
    for (; i < 29; i++) {
        st = feed(s, i / FPS, NULL, 0);
        CHECK(st.state == FGL_RUNNING && st.hint == FGL_HINT_NO_FACE);
    }
    st = feed(s, i / FPS, &h, 1);
    CHECKF(st.state == FGL_RUNNING, "0.93 s gap: %s", fgl_failure_name(st.failure));
    for (i++; i < 60; i++)
        st = feed(s, i / FPS, NULL, 0);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_FACE_LOST, "failure %s",
           fgl_failure_name(st.failure));
    fgl_session_free(s);

    /* Two people: one frame is dropped, two in a row fail; a nested duplicate box is one face. */
    s = session(&step, 1, NULL);
    two[1].cx += 200;
    two[1].size = 0.8;
    for (i = 0; i < 10; i++)
        feed(s, i / FPS, &h, 1);
    st = feed(s, i++ / FPS, two, 2);
    CHECK(st.state == FGL_RUNNING && st.hint == FGL_HINT_TWO_FACES);
    feed(s, i++ / FPS, &h, 1);
    two[1] = HEAD_FRONT;
    two[1].size = 0.6; /* inside the main face */
    for (int k = 0; k < 5; k++)
        st = feed(s, i++ / FPS, two, 2);
    CHECKF(st.state == FGL_RUNNING && st.hint != FGL_HINT_TWO_FACES, "nested box: %s",
           fgl_failure_name(st.failure));
    two[1].cx += 200;
    two[1].size = 0.8;
    feed(s, i++ / FPS, two, 2);
    st = feed(s, i++ / FPS, two, 2);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_TWO_FACES, "failure %s",
           fgl_failure_name(st.failure));
    fgl_session_free(s);

    /* A jump cut: the face moves 1.5 face widths in one frame. */
    s = session(&step, 1, NULL);
    for (i = 0; i < 10; i++)
        feed(s, i / FPS, &h, 1);
    head_pose moved = h;
    moved.cx += 240;
    st = feed(s, i / FPS, &moved, 1);
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_TRACK_JUMP, "failure %s",
           fgl_failure_name(st.failure));
    fgl_session_free(s);
    /* The same distance over a second is motion, not a jump. */
    s = session(&step, 1, NULL);
    for (i = 0; i <= 15; i++) {
        moved = h;
        moved.cx += 16 * i;
        st = feed(s, i / FPS, &moved, 1);
    }
    CHECK(st.state == FGL_RUNNING);
    fgl_session_free(s);

    /* Time going backwards, or not a number. */
    s = session(&step, 1, NULL);
    feed(s, 1.0, &h, 1);
    st = feed(s, 0.9, &h, 1);
    CHECK(st.state == FGL_FAILED && st.failure == FGL_FAIL_TIME);
    fgl_session_free(s);
    s = session(&step, 1, NULL);
    st = feed(s, NAN, &h, 1);
    CHECK(st.state == FGL_FAILED && st.failure == FGL_FAIL_TIME);
    fgl_session_free(s);
}

/* Eyes: open, then a 2-3 frame dip of both eyes, then open again. */
static fgl_status run_blink(fgl_session *s, double t0, int frames, double right, double left)
{
    fgl_status st = {0};
    for (int i = 0; i <= 6 * FPS && st.state == FGL_RUNNING; i++) {
        double t = i / FPS;
        head_pose h = HEAD_FRONT;
        if (t >= t0 && t < t0 + frames / FPS - 1e-9) h.eye[0] = right, h.eye[1] = left;
        st = feed(s, t, &h, 1);
    }
    return st;
}

static void test_blink(void)
{
    fgl_step step = FGL_BLINK;
    struct {
        int frames;
        double right, left;
        int passes;
        const char *what;
    } cases[] = {
        {3, 0.06, 0.07, 1, "a blink"},
        {1, 0.09, 0.09, 1, "a one-frame blink (deep)"},
        {1, 0.2, 0.2, 0, "one frame a little narrower"},
        {3, 0.3, 0.05, 0, "a wink"},
        {20, 0.05, 0.05, 0, "eyes closed 1.3 s"},
        {3, 0.23, 0.23, 0, "a shallow dip (0.77)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fgl_session *s = session(&step, 1, NULL);
        fgl_status st = run_blink(s, 2.0, cases[i].frames, cases[i].right, cases[i].left);
        CHECKF((st.state == FGL_PASSED) == cases[i].passes, "%s: state %d", cases[i].what,
               st.state);
        fgl_session_free(s);
    }
}

static void test_identity(void)
{
    fgl_step step = FGL_BLINK;
    float a[FG_DESCRIPTOR_DIM] = {0}, b[FG_DESCRIPTOR_DIM] = {0}, c[FG_DESCRIPTOR_DIM] = {0};
    fg_error err = {0};
    head_pose h = HEAD_FRONT;
    fgl_status st = {0};
    int asked = 0, i;
    a[0] = 1;
    b[0] = 0.98f, b[1] = 0.2f; /* fg_match_distance 0.2: the same person */
    c[1] = 1;                  /* 1.41: another */
    fgl_session *s = session(&step, 1, NULL);
    CHECK(fgl_identity(s, a, &st, &err) == FG_EINVAL); /* not asked for */
    for (i = 0; i < 60 && st.state == FGL_RUNNING; i++) {
        st = feed(s, i / FPS, &h, 1);
        if (st.wants_descriptor) {
            CHECK(fgl_identity(s, asked == 0 ? a : b, &st, &err) == FG_OK);
            asked++;
        }
    }
    CHECKF(asked >= 2 && st.state == FGL_RUNNING, "asked %d state %d", asked, st.state);
    const float(*d)[FG_DESCRIPTOR_DIM];
    CHECK_EQ_INT(fgl_descriptors(s, &d), asked);
    for (; i < 120 && st.state == FGL_RUNNING; i++) {
        st = feed(s, i / FPS, &h, 1);
        if (st.wants_descriptor) CHECK(fgl_identity(s, c, &st, &err) == FG_OK);
    }
    CHECKF(st.state == FGL_FAILED && st.failure == FGL_FAIL_IDENTITY, "state %d failure %s",
           st.state, fgl_failure_name(st.failure));
    fgl_session_free(s);
}

static void test_names_and_arguments(void)
{
    fgl_step step;
    fg_error err = {0};
    fgl_session *s = NULL;
    for (int i = 0; i < FGL_STEP_COUNT; i++) {
        CHECK(fgl_step_parse(fgl_step_name((fgl_step)i), &step, &err) == FG_OK);
        CHECK_EQ_INT(step, i);
    }
    CHECK(fgl_step_parse("turn_around", &step, &err) == FG_EINVAL);
    CHECK(strstr(err.message, "turn_around") != NULL);
    CHECK(fgl_session_new(&step, 0, NULL, &s, &err) == FG_EINVAL && !s);
    step = (fgl_step)99;
    CHECK(fgl_session_new(&step, 1, NULL, &s, &err) == FG_EINVAL && !s);
    fgl_config cfg;
    fgl_config_default(&cfg);
    cfg.neutral_frames = 0;
    step = FGL_BLINK;
    CHECK(fgl_session_new(&step, 1, &cfg, &s, &err) == FG_EINVAL && !s);
    CHECK(strcmp(fgl_failure_name(FGL_FAIL_TRACK_JUMP), "track_jump") == 0);
    CHECK(strcmp(fgl_hint_name(FGL_HINT_BACK_TO_CENTRE), "back_to_centre") == 0);
    fgl_session_free(NULL);
}

int main(void)
{
    test_parallax_value();
    test_turns_and_looks_pass();
    test_small_turn_and_flat_picture_fail();
    test_before_reveal();
    test_deadline_and_expiry();
    test_face_lost_two_faces_jump_time();
    test_blink();
    test_identity();
    test_names_and_arguments();
    return fg_test_done();
}
