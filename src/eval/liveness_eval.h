/*
 * liveness_eval.h - the liveness verifier on labelled clips (internal, prefix fg_lv_): the clip
 * list (clips.csv's columns file, kind, actions, max_yaw_left_deg, max_yaw_right_deg), one
 * session over a loaded clip, and the ISO/IEC 30107-3 evaluation `facegate eval-liveness`
 * prints: APCER per attack kind (photo, print, screen, replay) and BPCER on the real clips'
 * labelled steps.
 *
 * Labels: actions "turn_left@2.0-5.5;blink@16.4,17.8;blink?@14.77" (a span or point times; "?"
 * marks an uncertain one, never scored as a step the clip performs).
 */
#ifndef FG_EVAL_LIVENESS_EVAL_H
#define FG_EVAL_LIVENESS_EVAL_H

#include <jansson.h>
#include <stddef.h>

#include "eval/clip.h"
#include "liveness/liveness.h"

#define FG_LV_MAX_ACTIONS 48

typedef struct fg_lv_action {
    char name[24];
    int uncertain;
    double a, b; /* seconds; a == b for a point event */
} fg_lv_action;

typedef struct fg_lv_row {
    char path[1024]; /* the clip's file, resolved against the list's folder */
    char name[256];  /* the file's name */
    char kind[24];   /* real, photo, print-still, screen, replay */
    fg_lv_action actions[FG_LV_MAX_ACTIONS];
    int nactions;
    double max_yaw[2]; /* the labelled largest yaw to the subject's left, right (NAN unknown) */
} fg_lv_row;

/* Reads a clip list (CSV with a header naming at least file and kind). *rows is malloc'd. */
int fg_lv_read_list(const char *csv, fg_lv_row **rows, size_t *n, fg_error *err);

/* Where a labelled action is judged as a one-step session: revealed before it (0.5 s before a
 * span, 1 s before a point, not before the clip's previous action ended), its deadline (span
 * end + 0.5 s; point + 0.8 s), and the window its pass (a blink: its dip's start) must fall in
 * ([a - 0.3, b + 0.5]; [a - 0.3, a + 0.3]). */
void fg_lv_window(const fg_lv_row *row, int action, double *reveal, double *deadline, double *lo,
                  double *hi);

typedef struct fg_lv_result {
    fgl_state state;
    fgl_failure failure;
    size_t steps_done;
    double done_t[FGL_MAX_STEPS];  /* when each step passed */
    double event_t[FGL_MAX_STEPS]; /* a turn/look: when it passed; a blink: its dip's start */
} fg_lv_result;

/* One session over the clip's frames from `start`: steps with optional reveal times and
 * deadlines (NULL or NAN entries: the defaults). identity: feed the clip's stored descriptors
 * when the session asks (frames without one are skipped). evidence (optional) gets the
 * session's JSON (malloc'd). */
int fg_lv_run(const fg_clip *clip, const fgl_step *steps, size_t n, double start,
              const double *reveal, const double *deadline, const fgl_config *cfg, int identity,
              fg_lv_result *out, char **evidence, fg_error *err);

typedef struct fg_lv_options {
    fgl_config cfg;
    int identity;     /* 1: identity checks with the clips' descriptors */
    int replay_sims;  /* random challenges against each replay clip */
    int replay_steps; /* steps per random challenge (default 3) */
    unsigned seed;
    double start_every; /* attack and negative sessions start every this many seconds */
} fg_lv_options;

void fg_lv_options_default(fg_lv_options *o);

/* The evaluation over loaded clips (clips[i] goes with rows[i]): a JSON report. */
json_t *fg_lv_evaluate(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                       const fg_lv_options *o);

#endif
