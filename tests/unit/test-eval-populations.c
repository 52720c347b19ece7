/* test-eval-populations.c - the server's threshold policy holds the false-accept rate on each
 * population's held-out part: FAR <= 0.1% on LFW DevTest (every identity enrolled, every other
 * photo a log-in: the expanded impostor pairs), the Chinese celebrities (identity split), the
 * Korean idols (image split) and the NUAA webcam users (image split), each measured separately,
 * with one and with three templates per user; the threshold comes from the enrolled templates,
 * the FAR from the other photos. On LFW the policy's threshold stays within 0.02 of 0.38; on the
 * idols it is well below, where 0.38 accepts most impostors.
 *
 * Descriptors go through the eval's cache (FG_EVAL_CACHE, default eval-populations.cache in the
 * build folder), so reruns take seconds. FG_TEST_QUICK=1 (sanitizer runs) checks the same
 * properties on the small bbt set only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "harness.h"

typedef struct population_case {
    const char *name, *path;
    int is_pairs;
    fg_eval_split split;
    int estimated;        /* 1: enough users for the cohort statistics; 0: the fallback */
    size_t min_impostors; /* so a FAR of 0 cannot come from an empty set */
    double min_tar;       /* ... nor from a policy that refuses everyone */
} population_case;

/* The folder of a file path, in buf. */
static const char *folder_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    snprintf(buf, size, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return buf;
}

static void check_case(const population_case *c, const fg_eval_run_options *run,
                       const fg_policy *policy)
{
    fg_eval_folder_options folder = {0, 1000, 1, 0, 0, c->split, FG_EVAL_PART_TEST};
    fg_eval_set set;
    fg_error err = {0};
    char root[4096];

    int rc = c->is_pairs
                 ? fg_eval_load_pairs(c->path, folder_of(c->path, root, sizeof root), 0, &set, &err)
                 : fg_eval_load_folders(c->path, &folder, &set, &err);
    if (rc == FG_OK && c->is_pairs) rc = fg_eval_expand_pairs(&set, &folder, &err);
    if (rc != FG_OK) {
        CHECKF(0, "%s: %s", c->name, err.message);
        return;
    }
    fg_eval_descriptor *desc = calloc(set.n_images, sizeof *desc);
    rc = fg_eval_describe(&set, run, desc, &err);
    CHECKF(rc == FG_OK, "%s: describe: %s", c->name, err.message);

    for (int enroll = 1; rc == FG_OK && enroll <= 3; enroll += 2) {
        fg_eval_population_options po = {enroll, 1, policy, 0, NULL};
        fg_eval_population p;
        rc = fg_eval_population_run(&set, desc, &po, &p, &err);
        CHECKF(rc == FG_OK, "%s: %s", c->name, err.message);
        printf("%s, %d template%s: ", c->name, enroll, enroll > 1 ? "s" : "");
        fg_eval_population_print(&p, policy, stdout);
        CHECKF(p.impostor >= c->min_impostors / enroll, "%s: only %zu impostor pairs", c->name,
               p.impostor);
        CHECKF(p.far <= policy->target_far, "%s, %d templates: FAR %.4f%% (%zu of %zu) > %g%%",
               c->name, enroll, 100 * p.far, p.false_accepts, p.impostor, 100 * policy->target_far);
        CHECKF(p.estimated == c->estimated, "%s: %zu users, estimated %d", c->name, p.users,
               p.estimated);
        CHECKF(p.tar >= c->min_tar, "%s: TAR %.2f%%", c->name, 100 * p.tar);
        if (!strcmp(c->name, "LFW DevTest"))
            CHECKF(fabs(p.threshold - FG_MATCH_THRESHOLD) <= 0.02, "LFW threshold %.4f",
                   p.threshold);
        if (!strcmp(c->name, "Korean idols")) {
            CHECKF(p.threshold < 0.3, "idols threshold %.4f", p.threshold);
            CHECKF(p.far_at_ceiling > 0.5, "idols FAR at 0.38: %.2f%%", 100 * p.far_at_ceiling);
        }
    }
    free(desc);
    fg_eval_set_free(&set);
}

int main(void)
{
    const char *quick = getenv("FG_TEST_QUICK"), *cache = getenv("FG_EVAL_CACHE");
    char lfw[4096], idols[4096], celebs[4096], webcam[4096], bbt[4096];
    fg_eval_run_options run = {0};
    fg_policy policy;

    snprintf(lfw, sizeof lfw, "%s", fg_test_shared("faces/lfw_view1/pairsDevTest.txt"));
    snprintf(idols, sizeof idols, "%s", fg_test_shared("faces/asia_dev/kpop_idols_web"));
    snprintf(celebs, sizeof celebs, "%s", fg_test_shared("faces/asia_dev/asian_celeb_web"));
    snprintf(webcam, sizeof webcam, "%s", fg_test_shared("faces/spoof_dev/live"));
    snprintf(bbt, sizeof bbt, "%s", fg_test_shared("faces/bbt"));
    const population_case full[] = {
        /* 14 celebrities and 4 webcam users in the held-out parts: the fallback threshold. */
        {"LFW DevTest", lfw, 1, FG_EVAL_SPLIT_NONE, 1, 100000, 0.8},
        {"Korean idols", idols, 0, FG_EVAL_SPLIT_IMAGE, 1, 1500, 0.15},
        {"Chinese celebrities", celebs, 0, FG_EVAL_SPLIT_IDENTITY, 0, 400, 0.05},
        {"NUAA webcam", webcam, 0, FG_EVAL_SPLIT_IMAGE, 0, 500, 0.5},
    };
    const population_case small[] = {{"bbt", bbt, 0, FG_EVAL_SPLIT_NONE, 0, 200, 0.03}};
    int is_quick = quick && *quick == '1';

    fg_engine_options_init(&run.engine);
    run.engine.model_dir = fg_test_models();
    run.jobs = 2;
    run.every_image = 1;
    run.pick = FG_EVAL_PICK_CENTER;
    run.cache_path = cache && *cache ? cache : "eval-populations.cache";
    fg_policy_init(&policy, FG_MATCH_THRESHOLD, FG_POLICY_MARGIN);

    const population_case *cases = is_quick ? small : full;
    size_t n = is_quick ? 1 : sizeof full / sizeof full[0];
    for (size_t i = 0; i < n; i++)
        check_case(&cases[i], &run, &policy);
    return fg_test_done();
}
