/*
 * cmd_liveness.c - facegate liveness: the server's liveness verifier run offline on a recorded
 * clip (src/liveness/), the steps in the given order along the clip's timeline.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "eval/clip.h"
#include "eval/liveness_eval.h"
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
    "Engine:\n";

/* The usage's last part: the engine options (from their table) and -h. */
static void print_engine_help(FILE *f)
{
    fg_cli_help(f, fg_cli_engine_options, fg_cli_engine_option_count, FG_CLI_HELP_WIDTH);
    fputs("  -h, --help          this help\n", f);
}

static void print_usage(FILE *f)
{
    fprintf(f, usage_text, FGL_MAX_STEPS);
    print_engine_help(f);
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
        int r = fg_cli_engine_arg("liveness", argc, argv, &i, &opts);
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

static const char eval_usage_text[] =
    "usage: facegate eval-liveness [OPTIONS] LIST.csv [LIST.csv...]\n"
    "The liveness verifier on labelled clips (ISO/IEC 30107-3): APCER per attack kind and\n"
    "BPCER, as JSON. LIST.csv has a header with the columns file (relative to the list's\n"
    "folder), kind (real, photo, print-still, screen, replay) and optionally actions\n"
    "(\"turn_left@2.0-5.5;blink@16.4,17.8\", \"?\" after a name = uncertain) and\n"
    "max_yaw_left_deg / max_yaw_right_deg (a labelled turn below the turn threshold + 3\n"
    "degrees is a calibration case: reported, not scored).\n"
    "  bona fide (BPCER): every certain labelled step of a real clip as a one-step session\n"
    "      revealed just before it; it must pass inside its labelled window\n"
    "  photo, print, screen (APCER): every step, a session started every 0.5 s\n"
    "  replay (APCER): random challenges of distinct steps at random start offsets, and the\n"
    "      recording's own step order vs that order reversed (no deadlines)\n"
    "  real negatives: steps a real clip never performs, a session every 0.5 s\n"
    "  identity: descriptor distances of near-frontal frames within and across real clips\n"
    "Options:\n"
    "  --json FILE         also write the report there\n"
    "  --sims N            random challenges per replay clip (default 500)\n"
    "  --replay-steps K    steps per random challenge (default 3)\n"
    "  --seed N            their seed (default 12)\n"
    "  --no-identity       no descriptors (faster; no same-person check)\n"
    "  --set NAME=VALUE    a verifier threshold (fgl_config field: turn_deg, look_deg,\n"
    "                      turn_parallax, look_parallax, blink_dip_rel, blink_close_rel,\n"
    "                      blink_single_frame_rel, identity_max_distance, step_seconds)\n"
    "  --quiet             no progress on stderr\n"
    "Engine:\n";

/* --set NAME=VALUE on the thresholds an evaluation varies. */
static int set_config(fgl_config *c, const char *arg)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"turn_deg", offsetof(fgl_config, turn_deg)},
        {"look_deg", offsetof(fgl_config, look_deg)},
        {"turn_parallax", offsetof(fgl_config, turn_parallax)},
        {"look_parallax", offsetof(fgl_config, look_parallax)},
        {"blink_dip_rel", offsetof(fgl_config, blink_dip_rel)},
        {"blink_close_rel", offsetof(fgl_config, blink_close_rel)},
        {"blink_single_frame_rel", offsetof(fgl_config, blink_single_frame_rel)},
        {"identity_max_distance", offsetof(fgl_config, identity_max_distance)},
    };
    const char *eq = strchr(arg, '=');
    char *end;
    double v = eq ? strtod(eq + 1, &end) : NAN;
    if (!eq || !eq[1] || *end || !isfinite(v)) {
        fprintf(stderr, "facegate eval-liveness: --set needs NAME=NUMBER, not '%s'\n", arg);
        return -1;
    }
    if (!strncmp(arg, "step_seconds=", 13)) {
        c->step_seconds = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (strlen(fields[i].name) == (size_t)(eq - arg) &&
            !strncmp(arg, fields[i].name, (size_t)(eq - arg))) {
            *(float *)((char *)c + fields[i].offset) = (float)v;
            return 0;
        }
    fprintf(stderr, "facegate eval-liveness: --set: unknown threshold in '%s'\n", arg);
    return -1;
}

int fg_cmd_eval_liveness(int argc, char **argv)
{
    fg_engine_options opts;
    fg_engine *e = NULL;
    fg_error err = {0};
    fg_lv_options lo;
    fg_lv_row *rows = NULL;
    fg_clip *clips = NULL;
    size_t n = 0;
    const char *json_path = NULL;
    const char **lists = calloc((size_t)argc, sizeof *lists);
    int nlists = 0, quiet = 0, status = 2;

    if (!lists) return 2;
    fg_engine_options_init(&opts);
    opts.model_dir = fg_cli_default_models();
    fg_lv_options_default(&lo);
    for (int i = 1; i < argc; i++) {
        int r = fg_cli_engine_arg("eval-liveness", argc, argv, &i, &opts);
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double num;
        if (r < 0) goto usage_error;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(eval_usage_text, stdout);
            print_engine_help(stdout);
            free(lists);
            return 0;
        } else if (!strcmp(a, "--no-identity")) {
            lo.identity = 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (v && !strcmp(a, "--json")) {
            json_path = argv[++i];
        } else if (v && !strcmp(a, "--set")) {
            if (set_config(&lo.cfg, argv[++i])) goto out;
        } else if (v &&
                   (!strcmp(a, "--sims") || !strcmp(a, "--seed") || !strcmp(a, "--replay-steps"))) {
            if (parse_seconds(a, argv[++i], &num) || num > 1e7) goto out;
            if (!strcmp(a, "--sims"))
                lo.replay_sims = (int)num;
            else if (!strcmp(a, "--seed"))
                lo.seed = (unsigned)num;
            else
                lo.replay_steps = (int)num;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "facegate eval-liveness: unknown option %s (or it needs a value)\n", a);
            goto usage_error;
        } else {
            lists[nlists++] = a;
        }
    }
    if (!nlists) goto usage_error;
    for (int l = 0; l < nlists; l++) {
        fg_lv_row *more = NULL;
        size_t m = 0;
        if (fg_lv_read_list(lists[l], &more, &m, &err)) {
            fprintf(stderr, "facegate eval-liveness: %s\n", err.message);
            goto out;
        }
        fg_lv_row *all = realloc(rows, (n + m + 1) * sizeof *all);
        if (!all) {
            free(more);
            goto out;
        }
        rows = all;
        if (m) memcpy(rows + n, more, m * sizeof *more);
        n += m;
        free(more);
    }
    fg_cli_engine_finish(&opts, 1);
    if (fg_engine_open(&opts, &e, &err)) {
        fprintf(stderr, "facegate eval-liveness: %s\n", err.message);
        goto out;
    }
    if (!(clips = calloc(n + 1, sizeof *clips))) goto out;
    for (size_t i = 0; i < n; i++) {
        if (!quiet) fprintf(stderr, "[%zu/%zu] %s\n", i + 1, n, rows[i].name);
        /* A descriptor on every 4th frame: the sessions ask for one on near-frontal frames. */
        if (fg_clip_load(e, rows[i].path, 3.0, lo.identity ? 4 : 0, &clips[i], &err)) {
            fprintf(stderr, "facegate eval-liveness: %s\n", err.message);
            goto out;
        }
    }
    json_t *report = fg_lv_evaluate(rows, clips, n, &lo);
    json_dumpf(report, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(5));
    fputc('\n', stdout);
    status = 0;
    if (json_path && json_dump_file(report, json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(5))) {
        fprintf(stderr, "facegate eval-liveness: cannot write %s\n", json_path);
        status = 2;
    }
    json_decref(report);
out:
    for (size_t i = 0; clips && i < n; i++)
        fg_clip_free(&clips[i]);
    free(clips);
    free(rows);
    free(lists);
    fg_engine_free(e);
    return status;

usage_error:
    fputs(eval_usage_text, stderr);
    print_engine_help(stderr);
    free(lists);
    return 2;
}
