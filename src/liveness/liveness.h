/*
 * liveness.h - the active liveness verifier: a challenge session that follows one face over
 * timestamped video frames (the fast path's per-frame faces and meshes) and decides, step by
 * step, whether the person did what each step asked (turn, look, blink). A flat picture cannot
 * move its mesh's pose far enough, and continuity rules (one face, no jump cuts, the same person
 * throughout, steps after their reveal, deadlines) stand against cuts and replays.
 *
 * Internal to facegate (server, CLI, evaluation): prefix fgl_. Depends on the engine's public
 * types only (include/facegate.h); it runs no network itself: the caller detects the faces
 * (fg_detect_mesh / fg_track_mesh) and, when asked, computes a descriptor (fg_describe).
 *
 * Time is the frames' capture time in seconds on one monotonic clock per session (the client's
 * timestamps on the server, the stream's presentation times in the CLI); the session's clock
 * starts at its first frame.
 */
#ifndef FG_LIVENESS_LIVENESS_H
#define FG_LIVENESS_LIVENESS_H

#include <stddef.h>

#include "facegate.h"

/* What a step asks. Left and right are the person's own: turn_left moves the nose toward the
 * unmirrored camera image's right edge. */
typedef enum fgl_step {
    FGL_TURN_LEFT,
    FGL_TURN_RIGHT,
    FGL_LOOK_UP,
    FGL_LOOK_DOWN,
    FGL_BLINK,
    FGL_STEP_COUNT
} fgl_step;

#define FGL_MAX_STEPS 8

/* "turn_left", "turn_right", "look_up", "look_down", "blink". */
const char *fgl_step_name(fgl_step step);
/* FG_OK, or FG_EINVAL with a message naming the word. */
int fgl_step_parse(const char *name, fgl_step *out, fg_error *err);

typedef struct fgl_config {
    double step_seconds;    /* time limit of one step from its reveal (default 5) */
    double session_seconds; /* the whole session's limit from its first frame (default 30) */
    /* The verifier's thresholds (turn/look amplitude, blink ratios, continuity limits...) live
     * here too, with their defaults and the measurement that chose them beside each field. */
} fgl_config;

void fgl_config_default(fgl_config *cfg);

typedef enum fgl_state { FGL_RUNNING, FGL_PASSED, FGL_FAILED } fgl_state;

/* Why the current frame did not advance the step: what the person should do. Stable names
 * (fgl_hint_name) go to clients, which word them for people. */
typedef enum fgl_hint {
    FGL_HINT_NONE,
    FGL_HINT_NO_FACE,      /* no face in the frame */
    FGL_HINT_TWO_FACES,    /* more than one person */
    FGL_HINT_FACE_CAMERA,  /* waiting for a neutral pose: look straight at the camera */
    FGL_HINT_HOLD_STILL,   /* waiting for a neutral pose: the head moves */
    FGL_HINT_GO_FURTHER,   /* the step's motion started but is not far enough yet */
    FGL_HINT_STRAIGHTER,   /* the motion goes off its axis (e.g. a turn that also looks down) */
    FGL_HINT_BACK_TO_CENTRE, /* a step needs the head near neutral first (armed) */
} fgl_hint;

/* Why a session failed (FGL_FAILED); stable names via fgl_failure_name. */
typedef enum fgl_failure {
    FGL_FAIL_NONE,
    FGL_FAIL_STEP_TIMEOUT,  /* the step was not done within step_seconds */
    FGL_FAIL_EXPIRED,       /* session_seconds passed */
    FGL_FAIL_FACE_LOST,     /* no face for too long */
    FGL_FAIL_TWO_FACES,     /* a second person on consecutive frames */
    FGL_FAIL_TRACK_JUMP,    /* the face jumped (a cut, a swapped picture) */
    FGL_FAIL_IDENTITY,      /* the face is not the same person throughout */
    FGL_FAIL_TIME,          /* timestamps went backwards or are not finite */
} fgl_failure;

const char *fgl_hint_name(fgl_hint hint);
const char *fgl_failure_name(fgl_failure failure);

/* One frame: every face the fast path found in it (faces[i] goes with meshes[i]). */
typedef struct fgl_frame {
    double t;
    const fg_face *faces;
    const fg_face_mesh *meshes;
    size_t count;
} fgl_frame;

typedef struct fgl_status {
    fgl_state state;
    size_t step_index;   /* the current step (0-based); the step count once passed */
    int revealed;        /* 1 once the current step has been revealed (after the neutral pose) */
    float progress;      /* 0..1 within the current step */
    fgl_hint hint;
    fgl_failure failure; /* FGL_FAIL_NONE unless state == FGL_FAILED */
    int main_face;       /* index into the frame's faces of the face being followed, or -1 */
    int wants_descriptor; /* 1: give fgl_identity the main face's descriptor of this frame (a
                             near-frontal frame the identity check and the log-in will use) */
} fgl_status;

typedef struct fgl_session fgl_session;

/* A session asking steps[0..count-1] in that order (count 1..FGL_MAX_STEPS). cfg NULL = the
 * defaults. Errors: FG_EINVAL, FG_ENOMEM. */
int fgl_session_new(const fgl_step *steps, size_t count, const fgl_config *cfg,
                    fgl_session **out, fg_error *err);
void fgl_session_free(fgl_session *s);

/* Feeds the next frame; *status says where the session stands after it. Frames after the
 * session ended change nothing. Errors only for bad arguments (the verdict is in *status). */
int fgl_feed(fgl_session *s, const fgl_frame *frame, fgl_status *status, fg_error *err);

/* The descriptor of the last frame's main face, when fgl_feed asked for it. Compares it with the
 * session's earlier ones (same-person threshold) and may fail the session (FGL_FAIL_IDENTITY);
 * *status is updated. The session keeps these descriptors: fgl_descriptors gives them back (the
 * face a passed session proves, for sign-up and log-in). */
int fgl_identity(fgl_session *s, const float descriptor[FG_DESCRIPTOR_DIM], fgl_status *status,
                 fg_error *err);
size_t fgl_descriptors(const fgl_session *s, const float (**out)[FG_DESCRIPTOR_DIM]);

/* The steps, for callers that show them. */
size_t fgl_steps(const fgl_session *s, const fgl_step **out);

/* Per-step evidence of the session so far as a JSON object (malloc'd, caller frees): for each
 * step its result, when it was revealed and done, and the measures that decided it (angle,
 * parallax, blink dip...). The CLI prints it; the server logs it. NULL on ENOMEM. */
char *fgl_evidence_json(const fgl_session *s);

#endif
