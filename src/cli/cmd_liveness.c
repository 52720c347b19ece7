/*
 * cmd_liveness.c - facegate liveness: the server's liveness verifier run offline on a recorded
 * clip (src/liveness/), the steps in the given order along the clip's timeline.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "eval/clip.h"
#include "facegate.h"
#include "liveness/liveness.h"

static const char usage_text[] =
    "usage: facegate liveness --steps STEP[,STEP...] [OPTIONS] VIDEO|IMAGE\n"
    "Runs the liveness challenge on a recorded clip, as the server runs it on a webcam stream:\n"
    "every frame through the fast path (BlazeFace + FaceMesh + iris; the previous frame's face\n"
    "followed when BlazeFace misses), a neutral pose first, then each step in the given order\n"
    "along the clip's timeline, one face, a continuous track and the same person throughout\n"
    "(descriptors of near-frontal frames). Prints the per-step evidence as JSON.\n"
    "Exit status: 0 every step passed, 1 a step failed, 2 an error (unreadable file, no face\n"
    "in any frame, bad options). A still image is a picture held still for --still-seconds.\n"
    "Steps: turn_left, turn_right (the person's own left and right: turn_left moves the nose\n"
    "toward the unmirrored image's right edge), look_up, look_down, blink.\n"
    "  --steps LIST        the steps, comma-separated, in order (at most %d)\n"
    "  --at T[,T...]       reveal step i no earlier than T seconds into the clip (default: at\n"
    "                      once after the previous step; one time per step)\n"
    "  --step-seconds S    each step's time limit from its reveal (default 0 = none: the\n"
    "                      steps only have to happen in order before the clip ends; the\n"
    "                      server's default is 5)\n"
    "  --session-seconds S the whole session's limit (default 0 = none; the server's is 30)\n"
    "  --still-seconds S   how long a still image is shown (default 3)\n"
    "  --no-identity       skip the same-person check (no descriptors computed)\n"
    "Engine:\n%s"
    "  -h, --help          this help\n";

static void print_usage(FILE *f)
{
    fprintf(f, usage_text, FGL_MAX_STEPS, fg_cli_engine_help);
}

static int parse_seconds(const char *opt, const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (!*v || *end || errno || !(*out >= 0) || !isfinite(*out)) {
        fprintf(stderr, "facegate liveness: %s must be a number of seconds >= 0, not '%s'\n", opt,
                v);
        return -1;
    }
    return 0;
}

/* "a,b,c" -> steps; the count, or -1 after printing why. */
static int parse_steps(const char *list, fgl_step *steps)
{
    char buf[256], *save = NULL;
    int n = 0;
    fg_error err = {0};
    if (strlen(list) >= sizeof buf) {
        fprintf(stderr, "facegate liveness: --steps is too long\n");
        return -1;
    }
    strcpy(buf, list);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (n == FGL_MAX_STEPS) {
            fprintf(stderr, "facegate liveness: at most %d steps\n", FGL_MAX_STEPS);
            return -1;
        }
        if (fgl_step_parse(w, &steps[n++], &err)) {
            fprintf(stderr, "facegate liveness: %s\n", err.message);
            return -1;
        }
    }
    if (n == 0) fprintf(stderr, "facegate liveness: --steps needs at least one step\n");
    return n ? n : -1;
}

static int parse_times(const char *list, double *times, int max)
{
    char buf[512], *save = NULL;
    int n = 0;
    if (strlen(list) >= sizeof buf) return -1;
    strcpy(buf, list);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (n == max || parse_seconds("--at", w, &times[n])) return -1;
        n++;
    }
    return n;
}

/* Feeds every frame of the clip to the session; returns 0, or 2 after printing an error. */
static int run_clip(fg_engine *e, const char *path, double still_seconds, int identity,
                    fgl_session *s, int *faces_seen, fgl_status *final)
{
    fg_clip_reader *r = NULL;
    fg_clip_frame f;
    fg_image img;
    fg_error err = {0};
    fgl_status st = {0};
    double last_t = 0;

    int rc;

    if ((rc = fg_clip_open(path, still_seconds, fg_engine_get_options(e)->max_pixels, &r, &err))) {
        fprintf(stderr, "facegate liveness: %s\n", err.message);
        return 2;
    }
    while ((rc = fg_clip_next(r, e, &f, &img, &err)) == FG_OK) {
        fgl_frame frame = {f.t, f.faces, f.meshes, f.count};
        last_t = f.t;
        *faces_seen += f.count > 0;
        fgl_feed(s, &frame, &st, &err);
        if (st.state != FGL_RUNNING) break;
        if (identity && st.wants_descriptor && st.main_face >= 0) {
            float d[FG_DESCRIPTOR_DIM];
            if (fg_describe(e, &img, &f.faces[st.main_face], d, &err) == FG_OK)
                fgl_identity(s, d, &st, &err);
            if (st.state != FGL_RUNNING) break;
        }
    }
    fg_clip_close(r);
    if (rc < 0) {
        fprintf(stderr, "facegate liveness: %s\n", err.message);
        return 2;
    }
    fgl_finish(s, last_t, final);
    return 0;
}

int fg_cmd_liveness(int argc, char **argv)
{
    fg_engine_options opts;
    fg_engine *e = NULL;
    fg_error err = {0};
    fgl_config cfg;
    fgl_step steps[FGL_MAX_STEPS];
    double at[FGL_MAX_STEPS], still_seconds = 3;
    int nsteps = 0, nat = 0, identity = 1, faces_seen = 0, status;
    const char *file = NULL;
    fgl_session *s = NULL;
    fgl_status final = {0};

    fg_engine_options_init(&opts);
    opts.model_dir = fg_cli_default_models();
    fgl_config_default(&cfg);
    cfg.step_seconds = 0;
    cfg.session_seconds = 0;
    for (int i = 1; i < argc; i++) {
        int r = fg_cli_engine_option(argc, argv, &i, &opts);
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (r < 0) goto usage_error;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-identity")) {
            identity = 0;
        } else if (v && !strcmp(a, "--steps")) {
            if ((nsteps = parse_steps(v, steps)) < 0) return 2;
            i++;
        } else if (v && !strcmp(a, "--at")) {
            if ((nat = parse_times(v, at, FGL_MAX_STEPS)) < 0) {
                fprintf(stderr, "facegate liveness: --at takes up to %d times in seconds\n",
                        FGL_MAX_STEPS);
                return 2;
            }
            i++;
        } else if (v && !strcmp(a, "--step-seconds")) {
            if (parse_seconds(a, v, &cfg.step_seconds)) return 2;
            i++;
        } else if (v && !strcmp(a, "--session-seconds")) {
            if (parse_seconds(a, v, &cfg.session_seconds)) return 2;
            i++;
        } else if (v && !strcmp(a, "--still-seconds")) {
            if (parse_seconds(a, v, &still_seconds)) return 2;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "facegate liveness: unknown option %s (or it needs a value)\n", a);
            goto usage_error;
        } else if (file) {
            fprintf(stderr, "facegate liveness: one clip at a time\n");
            goto usage_error;
        } else {
            file = a;
        }
    }
    if (!file || nsteps == 0) goto usage_error;
    if (nat && nat != nsteps) {
        fprintf(stderr, "facegate liveness: --at needs one time per step (%d, not %d)\n", nsteps,
                nat);
        return 2;
    }
    if (fgl_session_new(steps, (size_t)nsteps, &cfg, &s, &err)) {
        fprintf(stderr, "facegate liveness: %s\n", err.message);
        return 2;
    }
    for (int i = 0; i < nat; i++)
        fgl_session_schedule(s, (size_t)i, at[i], NAN, &err);
    fg_cli_engine_finish(&opts, 1);
    if (fg_engine_open(&opts, &e, &err)) {
        fprintf(stderr, "facegate liveness: %s\n", err.message);
        fgl_session_free(s);
        return 2;
    }
    status = run_clip(e, file, still_seconds, identity, s, &faces_seen, &final);
    if (status == 0 && faces_seen == 0) {
        fprintf(stderr, "facegate liveness: %s: no face in any frame\n", file);
        status = 2;
    }
    if (status == 0) {
        char *json = fgl_evidence_json(s);
        json_t *doc = json ? json_loads(json, 0, NULL) : NULL;
        if (!doc) {
            fprintf(stderr, "facegate liveness: out of memory\n");
            status = 2;
        } else {
            json_object_set_new(doc, "file", json_string(file));
            json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
            fputc('\n', stdout);
            status = final.state == FGL_PASSED ? 0 : 1;
        }
        json_decref(doc);
        free(json);
    }
    fg_engine_free(e);
    fgl_session_free(s);
    return status;

usage_error:
    print_usage(stderr);
    return 2;
}

int fg_cmd_eval_liveness(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
