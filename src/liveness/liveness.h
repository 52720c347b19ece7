/*
 * liveness.h - the active liveness verifier: a challenge session that follows one face over
 * timestamped video frames (the fast path's per-frame faces and meshes) and decides, step by
 * step, whether the person did what each step asked (turn, look, blink). A flat picture cannot
 * move its mesh's pose far enough, and continuity rules (one face, no jump cuts, the same person
 * throughout, steps after their reveal, deadlines) stand against cuts and replays.
 *
 * Internal to facegate (server, CLI, evaluation): prefix fgl_. Depends on the engine's public
 * API only (include/facegate.h); the session runs no network itself: the caller finds each
 * frame's faces with fgl_find_faces and, when asked, computes a descriptor (fg_describe).
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
    double step_seconds;    /* time limit of one step from its reveal (default 5; 0 = none) */
    double session_seconds; /* the whole session's limit from its first frame (default 30;
                               0 = none) */
    /* The verifier's thresholds. Angles are Human's (calculateFaceAngle: depth weighted 1/1.5,
     * so a true 30 degree turn reads about 21); lengths are in face widths or inter-ocular
     * distances; each default's measurement is beside it in liveness.c (fgl_config_default). */
    /* Faces. */
    float min_face_confidence;   /* a face counts when FaceMesh's flag is at least this */
    float second_face_min_width; /* another face counts as a second person when it is at least
                                    this share of the main face's width and centred outside it */
    int two_faces_frames;        /* consecutive frames with two people that fail the session */
    /* Neutral pose (before the first step). */
    int neutral_frames;           /* frames that must agree */
    float neutral_max_spread_deg; /* their yaw and pitch spread */
    float neutral_max_yaw_deg;    /* |median yaw| of a neutral pose */
    float neutral_max_pitch_deg;  /* |median pitch| of a neutral pose */
    /* Turns and looks. */
    float turn_deg;         /* yaw from neutral that completes a turn */
    float turn_parallax;    /* nose parallax (inter-ocular distances) a turn needs */
    float look_deg;         /* pitch from neutral that completes a look */
    float look_parallax;    /* nose parallax a look needs */
    float arm_band_deg;     /* a step's motion must start within this of neutral after reveal */
    float max_off_axis_deg; /* the other angle's change allowed during a turn or look */
    int pose_frames;        /* consecutive frames past the amplitude */
    /* Blinks: ratios of each eye's openness to the same face's own open level. */
    double blink_baseline_seconds;    /* the open level: median over this much time before a dip */
    int blink_baseline_min_frames;    /* ... of at least this many near-neutral frames */
    float blink_dip_rel;              /* both eyes below this: a dip starts */
    float blink_close_rel;            /* a dip of several frames needs one frame below this */
    int blink_min_dip_frames;         /* frames of a dip (unless single_frame_rel) */
    float blink_single_frame_rel;     /* one frame this deep is a blink (15 fps: a blink is one
                                         frame); 0 = off */
    float blink_recover_rel;          /* both eyes back above this: the blink is done */
    double blink_max_closed_seconds;  /* a dip longer than this is not a blink */
    float blink_max_asymmetry;        /* |right - left| ratio on deep frames (a wink) */
    float blink_max_pose_deg;         /* head motion during the dip */
    float blink_max_from_neutral_deg; /* eyes are judged only this near the neutral pose */
    /* Continuity. */
    double max_gap_seconds; /* no face for longer than this: face lost */
    float max_speed;        /* centre motion, face widths per second ... */
    float speed_slack;      /* ... plus this per frame */
    float max_scale_rate;   /* |ln(width ratio)| per second ... */
    float scale_slack;      /* ... plus this */
    float max_angle_rate;   /* degrees per second of yaw, pitch or roll ... */
    float angle_slack;      /* ... plus these degrees */
    /* Identity: fg_match_distance between the session's descriptors. */
    float identity_max_distance;         /* above this from the first descriptor: another person */
    float identity_max_from_neutral_deg; /* descriptors only on frames this near neutral */
    double descriptor_interval_seconds;  /* at most one descriptor per this much time */
    int max_descriptors;                 /* descriptors kept per session (<= FGL_MAX_DESCRIPTORS) */
} fgl_config;

#define FGL_MAX_DESCRIPTORS 8

void fgl_config_default(fgl_config *cfg);

typedef enum fgl_state { FGL_RUNNING, FGL_PASSED, FGL_FAILED } fgl_state;

/* Why the current frame did not advance the step: what the person should do. Stable names
 * (fgl_hint_name) go to clients, which word them for people. */
typedef enum fgl_hint {
    FGL_HINT_NONE,
    FGL_HINT_NO_FACE,        /* no face in the frame */
    FGL_HINT_TWO_FACES,      /* more than one person */
    FGL_HINT_FACE_CAMERA,    /* waiting for a neutral pose: look straight at the camera */
    FGL_HINT_HOLD_STILL,     /* waiting for a neutral pose: the head moves */
    FGL_HINT_GO_FURTHER,     /* the step's motion started but is not far enough yet */
    FGL_HINT_STRAIGHTER,     /* the motion goes off its axis (e.g. a turn that also looks down) */
    FGL_HINT_BACK_TO_CENTRE, /* a step needs the head near neutral first (armed) */
} fgl_hint;

/* Why a session failed (FGL_FAILED); stable names via fgl_failure_name. */
typedef enum fgl_failure {
    FGL_FAIL_NONE,
    FGL_FAIL_STEP_TIMEOUT, /* the step was not done within step_seconds */
    FGL_FAIL_EXPIRED,      /* session_seconds passed */
    FGL_FAIL_FACE_LOST,    /* no face for too long */
    FGL_FAIL_TWO_FACES,    /* a second person on consecutive frames */
    FGL_FAIL_TRACK_JUMP,   /* the face jumped (a cut, a swapped picture) */
    FGL_FAIL_IDENTITY,     /* the face is not the same person throughout */
    FGL_FAIL_TIME,         /* timestamps went backwards or are not finite */
    FGL_FAIL_ENDED,        /* the stream ended before every step was done (fgl_finish) */
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

/* A frame's faces found the way every caller of the verifier must find them: every face
 * BlazeFace + FaceMesh find (the verifier counts them), and when BlazeFace finds none, the face
 * of `prev` (the previous frame's followed mesh; NULL: none) followed by FaceMesh alone
 * (fg_track_mesh) as the frame's one face. *faces and *meshes are malloc'd (NULL when *count
 * is 0); *tracked (optional) is 1 for a followed face. Errors: the engine's. */
int fgl_find_faces(fg_engine *e, const fg_image *img, const fg_face_mesh *prev, fg_face **faces,
                   fg_face_mesh **meshes, size_t *count, int *tracked, fg_error *err);

typedef struct fgl_status {
    fgl_state state;
    size_t step_index; /* the current step (0-based); the step count once passed */
    int revealed;      /* 1 once the current step has been revealed (after the neutral pose) */
    float progress;    /* 0..1 within the current step */
    fgl_hint hint;
    fgl_failure failure;  /* FGL_FAIL_NONE unless state == FGL_FAILED */
    int main_face;        /* index into the frame's faces of the face being followed, or -1 */
    int wants_descriptor; /* 1: give fgl_identity the main face's descriptor of this frame (a
                             near-frontal frame the identity check and the log-in will use) */
} fgl_status;

typedef struct fgl_session fgl_session;

/* A session asking steps[0..count-1] in that order (count 1..FGL_MAX_STEPS). cfg NULL = the
 * defaults. Errors: FG_EINVAL, FG_ENOMEM. */
int fgl_session_new(const fgl_step *steps, size_t count, const fgl_config *cfg, fgl_session **out,
                    fg_error *err);
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

/* Optional, before the step is revealed: step `index` is revealed no earlier than reveal_at and
 * must be done by deadline (session clock, seconds; NAN = the default: revealed on the frame after
 * the previous step was done, deadline reveal + step_seconds). The CLI and the evaluation place
 * steps at a clip's labelled moments with it; a server may delay a reveal until the client can
 * know it. FG_EINVAL for a bad index or a deadline before the reveal. */
int fgl_session_schedule(fgl_session *s, size_t index, double reveal_at, double deadline,
                         fg_error *err);

/* The frames have ended (a clip's end, a client that stopped): a running session fails with
 * FGL_FAIL_ENDED at time t. *status (optional) is updated. */
void fgl_finish(fgl_session *s, double t, fgl_status *status);

/* The steps, for callers that show them. */
size_t fgl_steps(const fgl_session *s, const fgl_step **out);

/* Per-step evidence of the session so far as a JSON object (malloc'd, caller frees): for each
 * step its result, when it was revealed and done, and the measures that decided it (angle,
 * parallax, blink dip...). The CLI prints it; the server logs it. NULL on ENOMEM. */
char *fgl_evidence_json(const fgl_session *s);

#endif
