/*
 * liveness_eval.c - the liveness verifier on labelled clips: sessions over loaded clips and the
 * ISO/IEC 30107-3 figures (liveness_eval.h).
 */
#include "eval/liveness_eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(fg_error *err, int code, const char *fmt, const char *a, const char *b)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, fmt, a, b);
    }
    return code;
}

/* Splits one CSV line (double quotes group commas) into at most max cells, in place. */
static int csv_cells(char *line, char **cells, int max)
{
    int n = 0, quoted = 0;
    char *out = line;
    cells[n++] = out;
    for (char *p = line; *p && *p != '\n' && *p != '\r'; p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (*p == ',' && !quoted) {
            *out++ = 0;
            if (n == max) return n;
            cells[n++] = out;
        } else {
            *out++ = *p;
        }
    }
    *out = 0;
    return n;
}

/* "turn_left@2.0-5.5;blink@16.4,17.8;blink?@14.77" */
static void parse_actions(const char *text, fg_lv_row *row)
{
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof buf, "%s", text);
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *at = strchr(item, '@'), *save2 = NULL;
        if (!at) continue;
        *at = 0;
        size_t len = strlen(item);
        int uncertain = len > 0 && item[len - 1] == '?';
        if (uncertain) item[len - 1] = 0;
        for (char *part = strtok_r(at + 1, ",", &save2); part && row->nactions < FG_LV_MAX_ACTIONS;
             part = strtok_r(NULL, ",", &save2)) {
            fg_lv_action *a = &row->actions[row->nactions++];
            char *end;
            snprintf(a->name, sizeof a->name, "%s", item);
            a->uncertain = uncertain;
            a->a = strtod(part, &end);
            a->b = *end == '-' ? strtod(end + 1, NULL) : a->a;
        }
    }
}

static double number_or_nan(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return *s && end != s ? v : NAN;
}

int fg_lv_read_list(const char *csv, fg_lv_row **rows, size_t *n, fg_error *err)
{
    FILE *f = fopen(csv, "r");
    char line[8192], *cells[32], dir[512];
    int col[5] = {-1, -1, -1, -1, -1}; /* file, kind, actions, max_yaw_left, max_yaw_right */
    static const char *const names[5] = {"file", "kind", "actions", "max_yaw_left_deg",
                                         "max_yaw_right_deg"};
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    if (!f) return fail(err, FG_EIO, "cannot read %s: %s", csv, strerror(errno));
    const char *slash = strrchr(csv, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - csv) : 1, slash ? csv : ".");
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return fail(err, FG_EINVAL, "%s is empty%s", csv, "");
    }
    int nh = csv_cells(line, cells, 32);
    for (int i = 0; i < nh; i++)
        for (int k = 0; k < 5; k++)
            if (!strcmp(cells[i], names[k])) col[k] = i;
    if (col[0] < 0 || col[1] < 0) {
        fclose(f);
        return fail(err, FG_EINVAL, "%s: the header needs the columns file and kind%s", csv, "");
    }
    while (fgets(line, sizeof line, f)) {
        int nc = csv_cells(line, cells, 32);
        if (nc <= col[0] || nc <= col[1] || !cells[col[0]][0]) continue;
        if (*n == cap) {
            fg_lv_row *r = realloc(*rows, (cap = cap ? 2 * cap : 32) * sizeof *r);
            if (!r) {
                fclose(f);
                free(*rows);
                *rows = NULL;
                return fail(err, FG_ENOMEM, "out of memory%s%s", "", "");
            }
            *rows = r;
        }
        fg_lv_row *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        snprintf(r->path, sizeof r->path, "%s/%s", dir, cells[col[0]]);
        snprintf(r->name, sizeof r->name, "%s", cells[col[0]]);
        snprintf(r->kind, sizeof r->kind, "%s", cells[col[1]]);
        if (col[2] >= 0 && nc > col[2]) parse_actions(cells[col[2]], r);
        for (int k = 0; k < 2; k++)
            r->max_yaw[k] =
                col[3 + k] >= 0 && nc > col[3 + k] ? number_or_nan(cells[col[3 + k]]) : NAN;
    }
    fclose(f);
    return FG_OK;
}

void fg_lv_window(const fg_lv_row *row, int i, double *reveal, double *deadline, double *lo,
                  double *hi)
{
    const fg_lv_action *a = &row->actions[i];
    int point = a->a == a->b;
    double r = point ? a->a - 1.0 : a->a - 0.5;
    for (int k = 0; k < row->nactions; k++) {
        const fg_lv_action *b = &row->actions[k];
        if (k == i || b->a >= a->a) continue;
        r = fmax(r, b->a == b->b ? b->a + 0.25 : b->b);
    }
    *reveal = fmin(r, a->a - 0.05);
    *deadline = point ? a->a + 0.8 : a->b + 0.5;
    *lo = a->a - 0.3;
    *hi = point ? a->a + 0.3 : a->b + 0.5;
}

/* The blink's dip start of step i from the evidence JSON (NAN when absent). */
static double dip_start(const char *evidence, size_t i)
{
    json_t *doc = json_loads(evidence, 0, NULL);
    json_t *v = json_object_get(json_array_get(json_object_get(doc, "steps"), i), "dip_start");
    double t = json_is_number(v) ? json_number_value(v) : NAN;
    json_decref(doc);
    return t;
}

int fg_lv_run(const fg_clip *clip, const fgl_step *steps, size_t n, double start,
              const double *reveal, const double *deadline, const fgl_config *cfg, int identity,
              fg_lv_result *out, char **evidence, fg_error *err)
{
    fgl_session *s = NULL;
    fgl_status st = {0};
    double last_t = start;
    int rc;
    memset(out, 0, sizeof *out);
    if (evidence) *evidence = NULL;
    if ((rc = fgl_session_new(steps, n, cfg, &s, err))) return rc;
    for (size_t i = 0; i < n; i++)
        fgl_session_schedule(s, i, reveal ? reveal[i] : NAN, deadline ? deadline[i] : NAN, NULL);
    for (size_t i = 0; i < clip->n; i++) {
        const fg_clip_frame *f = &clip->frames[i];
        if (f->t < start - 1e-6) continue;
        fgl_frame frame = {f->t, f->faces, f->meshes, f->count};
        last_t = f->t;
        fgl_feed(s, &frame, &st, NULL);
        if (identity && st.wants_descriptor && clip->has_desc && clip->has_desc[i])
            fgl_identity(s, clip->descriptors[i], &st, NULL);
        if (st.state != FGL_RUNNING) break;
    }
    fgl_finish(s, last_t, &st);
    out->state = st.state;
    out->failure = st.failure;
    out->steps_done = st.state == FGL_PASSED ? n : st.step_index;
    char *json = fgl_evidence_json(s);
    json_t *doc = json ? json_loads(json, 0, NULL) : NULL;
    for (size_t i = 0; i < out->steps_done; i++) {
        json_t *step = json_array_get(json_object_get(doc, "steps"), i);
        out->done_t[i] = json_number_value(json_object_get(step, "done_at"));
        out->event_t[i] = steps[i] == FGL_BLINK ? dip_start(json, i) : out->done_t[i];
    }
    json_decref(doc);
    if (evidence)
        *evidence = json;
    else
        free(json);
    fgl_session_free(s);
    return FG_OK;
}

void fg_lv_options_default(fg_lv_options *o)
{
    memset(o, 0, sizeof *o);
    fgl_config_default(&o->cfg);
    o->identity = 1;
    o->replay_sims = 500;
    o->replay_steps = 3;
    o->seed = 12;
    o->start_every = 0.5;
}

static double clip_end(const fg_clip *c)
{
    return c->n ? c->frames[c->n - 1].t : 0;
}

static int step_of(const char *name, fgl_step *out)
{
    return fgl_step_parse(name, out, NULL) == FG_OK;
}

/* A labelled turn the clip's own measurement puts below the turn threshold (+3 degrees of
 * margin): a threshold-calibration case, reported but not scored. */
static int calibration_case(const fg_lv_row *r, fgl_step step, const fgl_config *cfg)
{
    int side = step == FGL_TURN_LEFT ? 0 : step == FGL_TURN_RIGHT ? 1 : -1;
    return side >= 0 && !isnan(r->max_yaw[side]) && r->max_yaw[side] < cfg->turn_deg + 3;
}

/* Bona fide: every certain labelled step of every real clip as a one-step session. */
static json_t *bona_fide(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                         const fg_lv_options *o)
{
    json_t *list = json_array(), *by_step = json_object();
    int total = 0, failed = 0, per[FGL_STEP_COUNT][2] = {{0}};
    for (size_t c = 0; c < n; c++) {
        if (strcmp(rows[c].kind, "real")) continue;
        for (int k = 0; k < rows[c].nactions; k++) {
            const fg_lv_action *a = &rows[c].actions[k];
            fgl_step step;
            double reveal, deadline, lo, hi;
            fg_lv_result res;
            if (a->uncertain || !step_of(a->name, &step)) continue;
            fg_lv_window(&rows[c], k, &reveal, &deadline, &lo, &hi);
            double start = fmax(0, deadline - o->cfg.session_seconds + 2);
            fg_lv_run(&clips[c], &step, 1, start, &reveal, &deadline, &o->cfg, o->identity, &res,
                      NULL, NULL);
            int ok = res.state == FGL_PASSED && res.event_t[0] >= lo && res.event_t[0] <= hi;
            int cal = calibration_case(&rows[c], step, &o->cfg);
            json_t *row = json_pack("{s:s, s:s, s:f, s:b, s:b}", "clip", rows[c].name, "step",
                                    a->name, "at", a->a, "passed", ok, "calibration", cal);
            if (res.state == FGL_PASSED)
                json_object_set_new(row, "event_at", json_real(res.event_t[0]));
            else
                json_object_set_new(row, "failure", json_string(fgl_failure_name(res.failure)));
            json_array_append_new(list, row);
            if (cal) continue;
            total++;
            failed += !ok;
            per[step][0]++;
            per[step][1] += !ok;
        }
    }
    for (int s = 0; s < FGL_STEP_COUNT; s++)
        if (per[s][0])
            json_object_set_new(by_step, fgl_step_name((fgl_step)s),
                                json_pack("{s:i, s:i}", "steps", per[s][0], "failed", per[s][1]));
    return json_pack("{s:i, s:i, s:f, s:o, s:o}", "steps", total, "rejected", failed, "bpcer",
                     total ? (double)failed / total : 0.0, "by_step", by_step, "results", list);
}

/* Sessions of one step started every start_every seconds over the clip: how many passed. */
static int sweep(const fg_clip *clip, fgl_step step, const fg_lv_options *o, int *sessions)
{
    int passed = 0;
    double end = clip_end(clip);
    for (double s0 = 0; s0 < fmax(end - 1, 0.01); s0 += o->start_every) {
        fg_lv_result res;
        fg_lv_run(clip, &step, 1, s0, NULL, NULL, &o->cfg, o->identity, &res, NULL, NULL);
        (*sessions)++;
        passed += res.state == FGL_PASSED;
    }
    return passed;
}

static const char *attack_kind(const char *kind)
{
    if (!strcmp(kind, "photo")) return "photo";
    if (!strcmp(kind, "print-still") || !strcmp(kind, "print")) return "print";
    if (!strcmp(kind, "screen")) return "screen";
    return NULL;
}

/* Photo, print and screen: every step started every start_every seconds (APCER per kind). */
static json_t *flat_attacks(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                            const fg_lv_options *o)
{
    static const char *const kinds[] = {"photo", "print", "screen"};
    json_t *out = json_object();
    for (int k = 0; k < 3; k++) {
        int sessions = 0, accepted = 0, nclips = 0;
        json_t *accepted_clips = json_array();
        for (size_t c = 0; c < n; c++) {
            const char *kind = attack_kind(rows[c].kind);
            if (!kind || strcmp(kind, kinds[k])) continue;
            nclips++;
            int clip_accepted = 0;
            for (int s = 0; s < FGL_STEP_COUNT; s++)
                clip_accepted += sweep(&clips[c], (fgl_step)s, o, &sessions);
            accepted += clip_accepted;
            if (clip_accepted) json_array_append_new(accepted_clips, json_string(rows[c].name));
        }
        if (!nclips) {
            json_decref(accepted_clips);
            continue;
        }
        json_object_set_new(out, kinds[k],
                            json_pack("{s:i, s:i, s:i, s:f, s:o}", "clips", nclips, "sessions",
                                      sessions, "accepted", accepted, "apcer",
                                      sessions ? (double)accepted / sessions : 0.0,
                                      "clips_accepted", accepted_clips));
    }
    return out;
}

/* Real clips, steps they never perform: sessions started every start_every seconds. */
static json_t *real_negatives(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                              const fg_lv_options *o)
{
    int sessions = 0, passed = 0;
    json_t *passes = json_array();
    for (size_t c = 0; c < n; c++) {
        if (strcmp(rows[c].kind, "real")) continue;
        for (int s = 0; s < FGL_STEP_COUNT; s++) {
            int performed = 0;
            for (int k = 0; k < rows[c].nactions; k++)
                performed |= !strcmp(rows[c].actions[k].name, fgl_step_name((fgl_step)s));
            if (performed) continue;
            int p = sweep(&clips[c], (fgl_step)s, o, &sessions);
            passed += p;
            if (p)
                json_array_append_new(passes,
                                      json_pack("{s:s, s:s, s:i}", "clip", rows[c].name, "step",
                                                fgl_step_name((fgl_step)s), "passed", p));
        }
    }
    return json_pack("{s:i, s:i, s:o}", "sessions", sessions, "passed", passed, "passes", passes);
}

static unsigned next_random(unsigned *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Replay: random challenges of distinct steps at random start offsets (APCER), and the
 * recording's own order of its certain steps vs that order reversed, with no deadlines. */
static json_t *replays(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                       const fg_lv_options *o)
{
    int sims = 0, accepted = 0, nclips = 0;
    unsigned x = o->seed ? o->seed : 1;
    json_t *orders = json_array();
    int k = o->replay_steps < 1                ? 1
            : o->replay_steps > FGL_STEP_COUNT ? FGL_STEP_COUNT
                                               : o->replay_steps;
    for (size_t c = 0; c < n; c++) {
        if (strcmp(rows[c].kind, "replay")) continue;
        nclips++;
        double end = clip_end(&clips[c]);
        for (int i = 0; i < o->replay_sims; i++) {
            fgl_step pool[FGL_STEP_COUNT], seq[FGL_STEP_COUNT];
            fg_lv_result res;
            for (int s = 0; s < FGL_STEP_COUNT; s++)
                pool[s] = (fgl_step)s;
            for (int s = 0; s < k; s++) {
                int j = s + (int)(next_random(&x) % (unsigned)(FGL_STEP_COUNT - s));
                seq[s] = pool[j];
                pool[j] = pool[s];
            }
            double s0 = (next_random(&x) / 4294967296.0) * fmax(end - 1, 0);
            fg_lv_run(&clips[c], seq, (size_t)k, s0, NULL, NULL, &o->cfg, o->identity, &res, NULL,
                      NULL);
            sims++;
            accepted += res.state == FGL_PASSED;
        }
        /* The recorded order of its certain steps that pass on their own inside their
         * labelled windows (those it performs above the thresholds). */
        fgl_step rec[FGL_MAX_STEPS], rev[FGL_MAX_STEPS];
        int nr = 0;
        for (int a = 0; a < rows[c].nactions && nr < FGL_MAX_STEPS; a++) {
            fgl_step s;
            double reveal, deadline, lo, hi;
            fg_lv_result one;
            if (rows[c].actions[a].uncertain || !step_of(rows[c].actions[a].name, &s)) continue;
            fg_lv_window(&rows[c], a, &reveal, &deadline, &lo, &hi);
            fg_lv_run(&clips[c], &s, 1, fmax(0, deadline - o->cfg.session_seconds + 2), &reveal,
                      &deadline, &o->cfg, o->identity, &one, NULL, NULL);
            if (one.state == FGL_PASSED) rec[nr++] = s;
        }
        if (nr >= 2) {
            fgl_config cli = o->cfg;
            fg_lv_result a, b;
            cli.step_seconds = cli.session_seconds = 0;
            for (int i = 0; i < nr; i++)
                rev[i] = rec[nr - 1 - i];
            fg_lv_run(&clips[c], rec, (size_t)nr, 0, NULL, NULL, &cli, o->identity, &a, NULL, NULL);
            fg_lv_run(&clips[c], rev, (size_t)nr, 0, NULL, NULL, &cli, o->identity, &b, NULL, NULL);
            json_t *names = json_array();
            for (int i = 0; i < nr; i++)
                json_array_append_new(names, json_string(fgl_step_name(rec[i])));
            json_array_append_new(
                orders, json_pack("{s:s, s:o, s:b, s:i, s:b, s:i}", "clip", rows[c].name,
                                  "recorded_order", names, "recorded_passes", a.state == FGL_PASSED,
                                  "recorded_steps_done", (int)a.steps_done, "reversed_passes",
                                  b.state == FGL_PASSED, "reversed_steps_done", (int)b.steps_done));
        }
    }
    if (!nclips) {
        json_decref(orders);
        return NULL;
    }
    return json_pack("{s:i, s:i, s:f, s:i, s:f, s:f, s:o}", "clips", nclips, "challenges", sims,
                     "apcer", sims ? (double)accepted / sims : 0.0, "steps_per_challenge", k,
                     "step_seconds", o->cfg.step_seconds, "accepted", (double)accepted,
                     "fixed_orders_no_deadline", orders);
}

/* The near-frontal descriptor frames of a clip (|yaw| and |pitch| <= band): their indices. */
static size_t frontal(const fg_clip *k, float band, float min_conf, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; k->has_desc && i < k->n; i++) {
        int f = fg_clip_main_face(&k->frames[i], min_conf);
        if (k->has_desc[i] && f >= 0 && fabsf(k->frames[i].meshes[f].yaw) <= band &&
            fabsf(k->frames[i].meshes[f].pitch) <= band)
            idx[m++] = i;
    }
    return m;
}

/* Identity: descriptors of near-frontal frames: the distance to the clip's first one within
 * each real clip (its largest), and for every pair of real clips their closest descriptors (the
 * clips may share a person: the closest pairs are listed by name, for the reader to judge). */
static json_t *identity(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                        const fg_lv_options *o)
{
    float band = o->cfg.identity_max_from_neutral_deg, conf = o->cfg.min_face_confidence;
    json_t *within = json_array(), *pairs = json_array();
    size_t *ia = NULL, *ib = NULL, maxn = 0;
    for (size_t c = 0; c < n; c++)
        maxn = clips[c].n > maxn ? clips[c].n : maxn;
    ia = malloc((maxn + 1) * sizeof *ia);
    ib = malloc((maxn + 1) * sizeof *ib);
    for (size_t c = 0; ia && ib && c < n; c++) {
        if (strcmp(rows[c].kind, "real")) continue;
        size_t na = frontal(&clips[c], band, conf, ia);
        double worst = 0;
        for (size_t i = 1; i < na; i++)
            worst = fmax(
                worst, fg_match_distance(clips[c].descriptors[ia[i]], clips[c].descriptors[ia[0]]));
        if (na)
            json_array_append_new(within, json_pack("{s:s, s:i, s:f}", "clip", rows[c].name,
                                                    "descriptors", (int)na, "max_distance", worst));
        for (size_t c2 = c + 1; na && c2 < n; c2++) {
            if (strcmp(rows[c2].kind, "real")) continue;
            size_t nb = frontal(&clips[c2], band, conf, ib);
            double best = INFINITY;
            for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++)
                    best = fmin(best, fg_match_distance(clips[c].descriptors[ia[i]],
                                                        clips[c2].descriptors[ib[j]]));
            if (nb)
                json_array_append_new(pairs, json_pack("{s:[s, s], s:f}", "clips", rows[c].name,
                                                       rows[c2].name, "min_distance", best));
        }
    }
    free(ia);
    free(ib);
    return json_pack("{s:f, s:f, s:o, s:o}", "threshold", (double)o->cfg.identity_max_distance,
                     "band_deg", (double)band, "within_clip", within, "between_clips", pairs);
}

json_t *fg_lv_evaluate(const fg_lv_row *rows, const fg_clip *clips, size_t n,
                       const fg_lv_options *o)
{
    json_t *attacks = flat_attacks(rows, clips, n, o), *replay = replays(rows, clips, n, o);
    if (replay) json_object_set_new(attacks, "replay", replay);
    return json_pack("{s:i, s:o, s:o, s:o, s:o}", "clips", (int)n, "bona_fide",
                     bona_fide(rows, clips, n, o), "attacks", attacks, "real_negatives",
                     real_negatives(rows, clips, n, o), "identity", identity(rows, clips, n, o));
}
