/* facegate eval on a small identity-folder set (../shared/faces/bbt: 8 people x 5 tight
 * greyscale 150x150 crops): every face is found (the padded detection passes), the report's
 * counts add up, FAR/TAR are monotone in the threshold, the JSON report has its keys, the SVG is
 * written, and a rerun takes every descriptor from the cache unchanged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "eval/eval.h"

typedef struct counter {
    size_t calls, cached;
} counter;

static void count_progress(void *ctx, size_t done, size_t total, const char *path,
                           const fg_eval_descriptor *d, int cached, const fg_error *error)
{
    counter *c = ctx;
    (void)path, (void)error;
    c->calls++;
    c->cached += cached;
    CHECK(done >= 1 && done <= total);
    CHECK(d->status != FG_EVAL_UNUSED);
}

static void check_report(const fg_eval_set *set, const fg_eval_descriptor *desc,
                         const fg_eval_report *r)
{
    /* Counts add up: 8 * C(5, 2) genuine pairs, every cross pair an impostor. */
    CHECK_EQ_INT(set->n_images, 40);
    CHECK_EQ_INT(r->images, 40);
    CHECK_EQ_INT(r->genuine, 80);
    CHECK_EQ_INT(r->impostor, 40 * 39 / 2 - 80);
    CHECK_EQ_INT(r->pairs, r->genuine + r->impostor);
    CHECK_EQ_INT(r->errors, 0);
    CHECKF(r->no_face == 0, "%zu bbt photos without a face", r->no_face);
    size_t touching = 0;
    for (size_t i = 0; i < set->n_pairs; i++) {
        const fg_eval_pair *p = &set->pairs[i];
        touching += desc[p->a].status != FG_EVAL_FACE || desc[p->b].status != FG_EVAL_FACE;
    }
    CHECK_EQ_INT(r->pairs_no_face, touching);

    /* Monotone in the threshold. */
    double prev_far = -1, prev_tar = -1, far, tar;
    int monotone = 1;
    for (double t = 0; t <= 1.5; t += 0.01) {
        fg_eval_rates(set->pairs, set->n_pairs, t, &far, &tar);
        monotone &= far >= prev_far && tar >= prev_tar;
        prev_far = far, prev_tar = tar;
    }
    CHECK(monotone);
    CHECK(r->tar_at_far[0] >= r->tar_at_far[1] && r->tar_at_far[1] >= r->tar_at_far[2]);
    CHECK(r->threshold_at_far[0] >= r->threshold_at_far[1]);
    for (int k = 0; k < FG_EVAL_FAR_LEVELS; k++)
        CHECK(r->far_at_far[k] <= fg_eval_far_levels[k]);
    CHECK(r->far_at_calibrated <= r->target_far);
    CHECK(r->eer >= 0 && r->eer <= 0.5);
    CHECK(r->best_accuracy >= r->accuracy_at_threshold);

    /* The characters are told apart (measured: 100%). */
    CHECKF(r->accuracy_at_threshold >= 0.97, "accuracy %.4f", r->accuracy_at_threshold);
    CHECKF(r->tar_at_far[0] >= 0.95, "TAR at FAR 1e-2 %.4f", r->tar_at_far[0]);
}

static void check_json(const fg_eval_report *r, const fg_eval_set *set,
                       const fg_eval_descriptor *desc)
{
    json_t *j = fg_eval_report_json(r, set, desc);
    CHECK(json_integer_value(json_object_get(j, "pairs")) == 780);
    CHECK(json_is_integer(json_object_get(j, "no_face")));
    CHECK(json_is_real(json_object_get(j, "accuracy")));
    CHECK(json_is_real(json_object_get(j, "eer")));
    CHECK(json_is_real(json_object_get(j, "threshold")));
    json_t *tar = json_object_get(j, "tar_at_far");
    CHECK(json_is_real(json_object_get(tar, "1e-2")));
    CHECK(json_is_real(json_object_get(tar, "1e-3")));
    CHECK(json_is_real(json_object_get(tar, "1e-4")));
    CHECK(json_array_size(json_object_get(j, "no_face_images")) == r->no_face);
    json_decref(j);
}

static void check_svg(const fg_eval_set *set, const fg_eval_report *r)
{
    char path[128];
    size_t size = 0;
    fg_error err = {0};
    snprintf(path, sizeof path, "/tmp/fg-test-eval-bbt-%d.svg", (int)getpid());
    CHECK_EQ_INT(fg_eval_write_svg(path, set->pairs, set->n_pairs, r, "bbt <test>", &err), FG_OK);
    char *svg = fg_test_read(path, &size);
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, "</svg>") && strstr(svg, "<polyline"));
    CHECK(svg && strstr(svg, "bbt &lt;test&gt;"));
    free(svg);
    unlink(path);
}

int main(void)
{
    fg_eval_set set;
    fg_eval_folder_options folders = {0, 0, 1, 0, 0, FG_EVAL_SPLIT_NONE, FG_EVAL_PART_ALL};
    fg_eval_run_options run = {0};
    fg_eval_descriptor *desc = NULL, *again = NULL;
    fg_eval_report r;
    fg_error err = {0};
    counter first = {0, 0}, second = {0, 0};
    char cache[128];

    if (fg_eval_load_folders(fg_test_shared("faces/bbt"), &folders, &set, &err)) {
        CHECKF(0, "bbt: %s", err.message);
        return fg_test_done();
    }
    snprintf(cache, sizeof cache, "/tmp/fg-test-eval-bbt-%d.cache", (int)getpid());
    fg_engine_options_init(&run.engine);
    run.engine.model_dir = fg_test_models();
    run.engine.threads = 1;
    run.jobs = 1;
    run.cache_path = cache;
    run.progress = count_progress;
    run.progress_ctx = &first;
    desc = calloc(set.n_images, sizeof *desc);
    again = calloc(set.n_images, sizeof *again);

    int rc = fg_eval_describe(&set, &run, desc, &err);
    CHECKF(rc == FG_OK, "describe: %s", err.message);
    CHECK_EQ_INT(first.calls, 40);
    CHECK_EQ_INT(first.cached, 0);
    fg_eval_score(&set, desc, NULL);
    fg_eval_compute(set.pairs, set.n_pairs, set.folds, FG_MATCH_THRESHOLD, 1e-3, &r);
    fg_eval_count_images(&set, desc, &r);
    fg_eval_report_print(&r, stdout);
    check_report(&set, desc, &r);
    check_json(&r, &set, desc);
    check_svg(&set, &r);

    /* The rerun comes from the cache, unchanged. */
    run.progress_ctx = &second;
    rc = fg_eval_describe(&set, &run, again, &err);
    CHECKF(rc == FG_OK, "describe again: %s", err.message);
    CHECK_EQ_INT(second.cached, 40);
    CHECK(memcmp(desc, again, set.n_images * sizeof *desc) == 0);
    /* Other engine options miss it. */
    counter third = {0, 0};
    run.progress_ctx = &third;
    run.engine.align = FG_ALIGN_REFERENCE;
    set.n_pairs = 1; /* two images are enough to see the miss */
    rc = fg_eval_describe(&set, &run, again, &err);
    CHECK_EQ_INT(rc, FG_OK);
    CHECK_EQ_INT(third.cached, 0);
    CHECK_EQ_INT(third.calls, 2);

    unlink(cache);
    free(desc);
    free(again);
    fg_eval_set_free(&set);
    return fg_test_done();
}
