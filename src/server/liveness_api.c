/*
 * liveness_api.c - the liveness challenge routes: POST /api/v1/liveness starts a session,
 * POST /api/v1/liveness/{id}/frames feeds it camera frames, and fg_liveness_redeem gives
 * sign-up, log-in and add-a-face the face a passed session proves.
 *
 * The server decides everything: each frame goes through the fast path here (fgl_find_faces:
 * BlazeFace, or the followed face tracked when it misses), the verifier (src/liveness) judges
 * the motion, and the descriptors of the log-in come from the session's own frames.
 *
 * Time: the frames carry the client's capture times (milliseconds on one clock, e.g.
 * performance.now()); the verifier runs on them. They may not run ahead of this server's clock
 * (a client cannot compress a slow replay into a short session), and the frames that follow
 * the one completing a step in the same request are not fed: they arrived before the reply that
 * names the next step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "server/challenge.h"
#include "server/routes.h"

/* A frame's time may run this far ahead of the server's clock since the first frame (capture
 * jitter, clocks that tick at slightly different rates). */
#define CLOCK_SLACK_S 1.0
/* Frames a session takes in total: 30 fps over its whole time, and some. */
#define FRAMES_PER_SECOND_MAX 40

/* The person's own words for what a step asks (the camera image's left and right are not the
 * person's: these are theirs). */
static const char *step_instruction(fgl_step step)
{
    switch (step) {
    case FGL_TURN_LEFT:
        return "Turn your head to your left.";
    case FGL_TURN_RIGHT:
        return "Turn your head to your right.";
    case FGL_LOOK_UP:
        return "Look up.";
    case FGL_LOOK_DOWN:
        return "Look down.";
    case FGL_BLINK:
        return "Blink.";
    default:
        return "";
    }
}

static const char *hint_message(fgl_hint hint)
{
    switch (hint) {
    case FGL_HINT_NO_FACE:
        return "We cannot see your face: look at the camera in good light.";
    case FGL_HINT_TWO_FACES:
        return "Only one person, please: someone else is in the picture.";
    case FGL_HINT_FACE_CAMERA:
        return "Look straight at the camera.";
    case FGL_HINT_HOLD_STILL:
        return "Hold still for a moment.";
    case FGL_HINT_GO_FURTHER:
        return "A little further.";
    case FGL_HINT_STRAIGHTER:
        return "Keep the movement straight: only the one direction asked.";
    case FGL_HINT_BACK_TO_CENTRE:
        return "Come back to the centre, then do the step.";
    default:
        return "";
    }
}

static const char *failure_message(fgl_failure failure)
{
    switch (failure) {
    case FGL_FAIL_STEP_TIMEOUT:
        return "The step was not done in time. Start again and follow the prompt right away.";
    case FGL_FAIL_EXPIRED:
        return "The check took too long. Start again.";
    case FGL_FAIL_FACE_LOST:
        return "We lost sight of your face. Stay in the frame and start again.";
    case FGL_FAIL_TWO_FACES:
        return "Someone else came into the picture. Only one person at a time; start again.";
    case FGL_FAIL_TRACK_JUMP:
        return "The picture jumped, as if the camera or the face was swapped. Start again.";
    case FGL_FAIL_IDENTITY:
        return "The face changed during the check. The same person must stay in front of the "
               "camera throughout.";
    case FGL_FAIL_TIME:
        return "The frames' times were not in order. Start again.";
    case FGL_FAIL_ENDED:
        return "The camera stopped before every step was done. Start again.";
    default:
        return "";
    }
}

static const char *state_name(fgl_state state)
{
    return state == FGL_PASSED ? "passed" : state == FGL_FAILED ? "failed" : "running";
}

/* The session as the client sees it: current step (only once the client may know it), hint,
 * failure. */
static json_t *session_json(const fg_challenge *ch, size_t fed, size_t ignored)
{
    const fgl_status *st = &ch->status;
    const fgl_step *steps;
    size_t n = fgl_steps(ch->verifier, &steps);
    char expires[32];
    json_t *body, *step = json_null(), *instruction = json_null(), *failure = json_null();
    const char *hint = NULL, *message = "";

    fg_iso8601(ch->expires_at, expires, sizeof expires);
    if (st->state == FGL_RUNNING && st->step_index < n) {
        step = json_string(fgl_step_name(steps[st->step_index]));
        instruction = json_string(step_instruction(steps[st->step_index]));
    }
    if (st->state == FGL_RUNNING && st->hint != FGL_HINT_NONE) {
        hint = fgl_hint_name(st->hint);
        message = hint_message(st->hint);
    } else if (st->state == FGL_RUNNING && st->step_index < n) {
        message = step_instruction(steps[st->step_index]);
    } else if (st->state == FGL_PASSED) {
        message = "Done: you passed the check.";
    }
    if (st->state == FGL_FAILED) {
        message = failure_message(st->failure);
        failure =
            json_pack("{s:s, s:s}", "code", fgl_failure_name(st->failure), "message", message);
    }
    body = json_pack("{s:s, s:s, s:b, s:o, s:o, s:i, s:i, s:i, s:b, s:f, s:s?, s:s, s:o, s:s, "
                     "s:i, s:i}",
                     "id", ch->id, "state", state_name(st->state), "done", st->state == FGL_PASSED,
                     "step", step, "instruction", instruction, "step_index", (int)st->step_index,
                     "steps", (int)n, "completed", (int)(st->step_index < n ? st->step_index : n),
                     "revealed", st->revealed, "progress", round(st->progress * 100) / 100, "hint",
                     hint, "message", message, "failure", failure, "expires_at", expires, "frames",
                     (int)fed, "ignored", (int)ignored);
    return body;
}

void fg_route_liveness_new(fg_request *req)
{
    fg_server *s = req->server;
    fg_challenge *ch;
    fg_http_error e;
    char secret[FG_CHALLENGE_SECRET_LEN + 1];
    json_t *body;

    if (!s->challenges) {
        fg_reply_errorf(req, 404, "liveness_off",
                        "liveness checks are turned off on this server (--liveness off): sign "
                        "up and log in with photos");
        return;
    }
    if (fg_challenge_create(s->challenges, req->client, fg_monotonic(), &ch, secret, &e) != 0) {
        fg_reply_error(req, &e);
        return;
    }
    body = session_json(ch, 0, 0);
    json_object_set_new(body, "secret", json_string(secret));
    json_object_set_new(body, "step_seconds", json_real(s->config.liveness.step_seconds));
    json_object_set_new(body, "max_frames", json_integer(s->config.liveness.max_batch));
    sodium_memzero(secret, sizeof secret);
    fg_challenge_release(s->challenges, ch);
    fg_reply_json(req, 201, body);
}

/* One frame of a request: its capture time (seconds) and its image bytes. */
typedef struct frame_in {
    double t;
    fg_blob image;
} frame_in;

static void frames_free(frame_in *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(frames[i].image.data);
    free(frames);
}

/* {"secret": "...", "frames": [{"t": ms, "image": "data:image/jpeg;base64,..."}, ...]}. The
 * shape and the limits are checked before anything is decoded. */
static int read_frames(fg_request *req, const char **secret, frame_in **out, size_t *count,
                       fg_http_error *e)
{
    int max = req->server->config.liveness.max_batch;
    json_t *body, *list, *item;
    frame_in *frames;
    size_t i;

    *out = NULL;
    *count = 0;
    if (fg_req_json(req, &body, e) != 0) return -1;
    if (fg_req_body_text(req, "secret", secret, e) != 0) return -1;
    if (!*secret)
        return fg_http_fail(e, 400, "missing_field",
                            "\"secret\" is required: the one POST /api/v1/liveness returned");
    list = json_object_get(body, "frames");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fg_http_fail(e, 400, "missing_field",
                            "\"frames\" must be a non-empty array of {\"t\", \"image\"}");
    if (json_array_size(list) > (size_t)max)
        return fg_http_fail(e, 400, "too_many_frames", "at most %d frames per request", max);
    frames = calloc(json_array_size(list), sizeof *frames);
    if (!frames) return fg_http_fail(e, 500, "internal", "out of memory");
    json_array_foreach(list, i, item)
    {
        json_t *t = json_object_get(item, "t"), *image = json_object_get(item, "image");
        if (!json_is_number(t) || !isfinite(json_number_value(t)) || json_number_value(t) < 0 ||
            json_number_value(t) > 1e12) {
            fg_http_fail(e, 400, "invalid_field",
                         "frames[%zu].t must be the capture time in milliseconds (a number >= 0)",
                         i);
            goto fail;
        }
        if (i > 0 && json_number_value(t) * 1e-3 <= frames[i - 1].t) {
            fg_http_fail(e, 400, "invalid_field",
                         "frames[%zu].t is not later than the frame before it", i);
            goto fail;
        }
        if (!json_is_string(image)) {
            fg_http_fail(e, 400, "invalid_field",
                         "frames[%zu].image must be a data URL or base64 string", i);
            goto fail;
        }
        frames[i].t = json_number_value(t) * 1e-3;
        *count = i + 1;
        if (fg_decode_image_text(json_string_value(image), json_string_length(image),
                                 &frames[i].image, e) != 0)
            goto fail;
    }
    *out = frames;
    return 0;
fail:
    frames_free(frames, *count);
    *count = 0;
    return -1;
}

/* The client's clock may not run ahead of ours, nor go back before its last frame. */
static int check_clock(fg_challenge *ch, const frame_in *frames, size_t n, double now,
                       fg_http_error *e)
{
    double first_t = ch->frames ? ch->first_t : frames[0].t;
    double first_now = ch->frames ? ch->first_now : now;
    if (ch->frames && frames[0].t <= ch->last_t)
        return fg_http_fail(e, 400, "invalid_field",
                            "frames[0].t is not later than the last frame of the session");
    if (frames[n - 1].t - first_t > now - first_now + CLOCK_SLACK_S)
        return fg_http_fail(e, 400, "bad_timestamp",
                            "the frames' times run ahead of the server's clock: they must be "
                            "capture times in milliseconds on one clock");
    return 0;
}

/* The enrolment gate's measures of a session's face, with the mesh's head pose. */
static int measure(const fg_image *img, const fg_face *face, const fg_face_mesh *mesh,
                   fg_face_quality *q, fg_error *err)
{
    fg_face_pose pose;
    fg_face_pose_from_mesh(mesh, &pose);
    return fg_face_quality_measure(img, face, &pose, q, err);
}

/* Detects the face of one decoded frame (fast path; the last mesh tracked when detection
 * misses), feeds the verifier, and gives it a descriptor (and the measures of its face) when it
 * asks. */
static int feed(fg_challenge *ch, fg_engine *engine, const fg_image *img, double t,
                fg_http_error *e)
{
    fg_face *faces = NULL;
    fg_face_mesh *meshes = NULL;
    fgl_frame frame = {.t = t};
    size_t count = 0;
    fg_error err = {0};
    int rc = -1;

    if (fgl_find_faces(engine, img, ch->have_mesh ? &ch->last_mesh : NULL, &faces, &meshes, &count,
                       NULL, &err) != FG_OK) {
        fg_http_fail(e, 500, "internal", "face detection failed: %s", err.message);
        goto out;
    }
    frame.faces = faces, frame.meshes = meshes, frame.count = count;
    if (fgl_feed(ch->verifier, &frame, &ch->status, &err) != FG_OK) {
        fg_http_fail(e, 500, "internal", "liveness verifier: %s", err.message);
        goto out;
    }
    ch->have_mesh = ch->status.main_face >= 0 && (size_t)ch->status.main_face < frame.count;
    if (ch->have_mesh) ch->last_mesh = frame.meshes[ch->status.main_face];
    if (ch->have_mesh && ch->status.wants_descriptor) {
        const fg_face *face = &frame.faces[ch->status.main_face];
        const float(*kept)[FG_DESCRIPTOR_DIM];
        const size_t before = fgl_descriptors(ch->verifier, &kept);
        float d[FG_DESCRIPTOR_DIM];
        if (fg_describe(engine, img, face, d, &err) != FG_OK ||
            fgl_identity(ch->verifier, d, &ch->status, &err) != FG_OK ||
            (fgl_descriptors(ch->verifier, &kept) > before && before < FGL_MAX_DESCRIPTORS &&
             measure(img, face, &ch->last_mesh, &ch->quality[before], &err) != FG_OK)) {
            fg_http_fail(e, 500, "internal", "face descriptor: %s", err.message);
            goto out;
        }
    }
    rc = 0;
out:
    free(faces);
    free(meshes);
    return rc;
}

/* Feeds a request's frames in order, and stops at the frame that completes a step: the client
 * learns the next step from this reply, so the request's later frames, captured before it
 * could know it, must not count for it (they are reported as ignored). */
static int feed_all(fg_request *req, fg_challenge *ch, const frame_in *frames, size_t n,
                    size_t *fed, fg_http_error *e)
{
    fg_server *s = req->server;
    fg_engine *engine = req->engine; /* the route runs on the inference pool (FG_ROUTE_INFER) */
    int rc = 0;
    *fed = 0;
    for (size_t i = 0; i < n && rc == 0 && ch->status.state == FGL_RUNNING; i++) {
        char what[32];
        fg_image img = {0};
        size_t step = ch->status.step_index;
        snprintf(what, sizeof what, "frames[%zu]", i);
        rc = fg_probe_decode_frame(s, &frames[i].image, what, &img, e);
        if (rc == 0) rc = feed(ch, engine, &img, frames[i].t, e);
        fg_image_free(&img);
        if (rc != 0) break;
        if (ch->frames++ == 0) ch->first_t = frames[i].t, ch->first_now = fg_monotonic();
        ch->last_t = frames[i].t;
        (*fed)++;
        if (ch->status.step_index != step) break;
    }
    return rc;
}

/* One log line when a session ends, with the verifier's evidence. */
static void log_end(const fg_challenge *ch)
{
    char *evidence = fgl_evidence_json(ch->verifier);
    fprintf(stderr, "facegate: liveness %.8s %s%s%s after %zu frames: %s\n", ch->id,
            state_name(ch->status.state), ch->status.state == FGL_FAILED ? " " : "",
            ch->status.state == FGL_FAILED ? fgl_failure_name(ch->status.failure) : "", ch->frames,
            evidence ? evidence : "{}");
    free(evidence);
}

void fg_route_liveness_frames(fg_request *req)
{
    fg_server *s = req->server;
    const fg_liveness_config *cfg = &s->config.liveness;
    const char *secret = NULL;
    frame_in *frames = NULL;
    size_t n = 0, fed = 0;
    fg_challenge *ch = NULL;
    fg_http_error e;
    json_t *body;
    double now = fg_monotonic();
    size_t max_frames = (size_t)(cfg->session_seconds * FRAMES_PER_SECOND_MAX) + 1;

    if (!s->challenges) {
        fg_reply_errorf(req, 404, "liveness_off",
                        "liveness checks are turned off on this server (--liveness off)");
        return;
    }
    if (read_frames(req, &secret, &frames, &n, &e) != 0 ||
        fg_challenge_acquire(s->challenges, req->param, secret, now, &ch, &e) != 0)
        goto fail;
    if (ch->frames + n > max_frames) {
        fg_http_fail(&e, 429, "too_many_frames",
                     "a liveness session takes at most %zu frames (%d per second)", max_frames,
                     FRAMES_PER_SECOND_MAX);
        goto fail;
    }
    if (check_clock(ch, frames, n, now, &e) != 0 || feed_all(req, ch, frames, n, &fed, &e) != 0)
        goto fail;
    if (ch->status.state != FGL_RUNNING) log_end(ch);
    /* Released before the reply leaves: the client's next request may follow at once. */
    body = session_json(ch, fed, n - fed);
    fg_challenge_release(s->challenges, ch);
    frames_free(frames, n);
    fg_reply_json(req, 200, body);
    return;
fail:
    fg_challenge_release(s->challenges, ch);
    frames_free(frames, n);
    fg_reply_error(req, &e);
}

int fg_liveness_redeem(fg_request *req, const char *id, const fg_quality_limits *gate,
                       float (*out)[FG_DESCRIPTOR_DIM], size_t cap, size_t *n, fg_http_error *e)
{
    fg_server *s = req->server;
    const char *secret = NULL;
    *n = 0;
    if (!s->challenges)
        return fg_http_fail(e, 400, "liveness_off",
                            "liveness checks are turned off on this server (--liveness off); "
                            "send images instead of \"liveness\"");
    if (fg_req_body_text(req, "liveness_secret", &secret, e) != 0) return -1;
    return fg_challenge_redeem(s->challenges, id, secret, fg_monotonic(), gate, out, cap, n, e);
}
