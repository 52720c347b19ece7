/*
 * cmd_eval.c - facegate eval: verification accuracy on labelled pairs or identity folders.
 * The metrics, pair sets, descriptor cache and report live in src/eval/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "facegate.h"
#include "eval/eval.h"

static const char usage_text[] =
    "usage: facegate eval --pairs FILE [--root DIR] [OPTIONS]\n"
    "       facegate eval --folders DIR [OPTIONS]\n"
    "Verification accuracy: false accepts / false rejects, EER, TAR at FAR 1e-2/1e-3/1e-4,\n"
    "the threshold reaching a target FAR, a JSON report and an SVG picture. Photos where no\n"
    "face is found are counted and listed; their pairs count as errors.\n"
    "Set:\n"
    "  --pairs FILE        LFW pairs file ('N' or 'FOLDS N' header; folds give k-fold accuracy)\n"
    "  --root DIR          folder of <name>/<name>_NNNN.jpg (default: the pairs file's folder)\n"
    "  --folders DIR       identity folders DIR/<identity>/<image>: every genuine pair and\n"
    "                      sampled impostor pairs\n"
    "  --expand            with --pairs: use the pairs file's photos as --folders would (all\n"
    "                      genuine pairs, sampled impostors), for FARs beyond 1/pairs\n"
    "  --impostors N       impostor pairs to sample for --folders/--expand (default all, at\n"
    "                      most 1000000)\n"
    "  --seed N            sampling seed (default 1)\n"
    "  --enroll K          --folders/--expand: enroll each identity from its first K images\n"
    "                      and probe with the others (default: pairs of images)\n"
    "  --min-images M      with --enroll: identities with at least M images (default K+1),\n"
    "                      probed with images M.. (runs with different K share the probes)\n"
    "  --enroll-mode M     min (distance to the nearest enrollment image, as the matcher does;\n"
    "                      default) or mean (distance to the mean descriptor)\n"
    "  --limit N           only the first N pairs of each class (quick runs, CI)\n"
    "Metrics and output:\n"
    "  --threshold T       threshold whose accuracy/FAR/TAR are reported (default %.3f,\n"
    "                      %.3f with --tta, 0.6 with --distance euclidean)\n"
    "  --target-far F      calibrate the threshold reaching FAR <= F (default 0.001)\n"
    "  --json FILE         write the JSON report\n"
    "  --pairs-out FILE    write every pair as TSV: genuine (1/0), distance (inf: no face),\n"
    "                      probe image, enrollment images\n"
    "  --plot FILE.svg     write the ROC curve and distance histograms\n"
    "  --cache FILE        descriptor cache (keyed by image path, size, mtime, engine options)\n"
    "  --pick RULE         the face described in a photo with several: center (nearest the\n"
    "                      photo's centre, default), largest, or score (most confident)\n"
    "  --distance NAME     match (Euclidean between unit-length descriptors, what the server\n"
    "                      uses, default) or euclidean (the reference's, threshold 0.6)\n"
    "  --plain-only        only faces the plain detection pass finds count (what --padding\n"
    "                      none gives), from the same detections: before/after comparisons\n"
    "  --jobs N            images described in parallel, one engine each (default 1)\n"
    "  --quiet             no progress on stderr\n"
    "Engine:\n%s"
    "  -h, --help          this help\n";

/* Indexed by fg_eval_pick and fg_padding. */
static const char *const pick_names[] = {"score", "largest", "center"};

static void print_usage(FILE *f)
{
    fprintf(f, usage_text, (double)FG_MATCH_THRESHOLD, (double)FG_MATCH_THRESHOLD_TTA,
            fg_cli_engine_help);
}

typedef struct progress_state {
    int quiet, tty;
    size_t cached;
} progress_state;

static const char *status_text(const fg_eval_descriptor *d)
{
    return d->status == FG_EVAL_NO_FACE ? "no face" : d->status == FG_EVAL_ERROR ? "error" : "";
}

/* "[ 812/1000] path": every computed image (a rerun's cache hits only now and then), and
 * always the images without a face. On a terminal the line is rewritten in place. */
static void on_progress(void *ctx, size_t done, size_t total, const char *path,
                        const fg_eval_descriptor *d, int cached, const fg_error *error)
{
    progress_state *p = ctx;
    int notable = d->status != FG_EVAL_FACE;
    int width = snprintf(NULL, 0, "%zu", total);

    p->cached += cached;
    if (p->quiet) return;
    if (cached && !notable && done % 500 && done != total) return;
    if (p->tty && !notable) {
        fprintf(stderr, "\r\033[K[%*zu/%zu] %s%s", width, done, total, path,
                cached ? " (cached)" : "");
        if (done == total) fputc('\n', stderr);
        return;
    }
    fprintf(stderr, "%s[%*zu/%zu] %s%s%s%s%s%s\n", p->tty ? "\r\033[K" : "", width, done, total,
            path, cached ? " (cached)" : "", notable ? ": " : "", status_text(d), error ? ": " : "",
            error ? error->message : "");
}

/* Every scored pair as a line of TSV, for looking at the errors. */
static int write_pairs(const char *path, const fg_eval_set *set)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "facegate eval: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "genuine\tdistance\tprobe\tenrolled\n");
    for (size_t i = 0; i < set->n_pairs; i++) {
        const fg_eval_pair *p = &set->pairs[i];
        fprintf(f, "%d\t%.6f\t%s", p->genuine, (double)p->distance, set->images[p->b]);
        for (int k = 0; k < p->a_count; k++)
            fprintf(f, "%c%s", k ? ',' : '\t', set->images[p->a + k]);
        fputc('\n', f);
    }
    if (fclose(f)) {
        fprintf(stderr, "facegate eval: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static int takes_value(const char *option)
{
    static const char *const names[] = {
        "--pairs",     "--root",      "--folders",    "--json",        "--plot",      "--cache",
        "--pairs-out", "--threshold", "--target-far", "--limit",       "--impostors", "--seed",
        "--jobs",      "--enroll",    "--min-images", "--enroll-mode", "--pick",      "--distance"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(option, names[i])) return 1;
    return 0;
}

static int parse_size(const char *opt, const char *v, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-') {
        fprintf(stderr, "facegate eval: %s needs a whole number, not '%s'\n", opt, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "facegate eval: %s must be a number in [%g, %g], not '%s'\n", opt, lo, hi,
                v);
        return -1;
    }
    *out = x;
    return 0;
}

/* The folder of a file path ("." when it has none), in buf. */
static const char *dir_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return ".";
    snprintf(buf, size, "%.*s", (int)(slash - path), path);
    return buf[0] ? buf : "/";
}

static int write_json(const char *path, json_t *report)
{
    if (json_dump_file(report, path, JSON_INDENT(2) | JSON_REAL_PRECISION(8))) {
        fprintf(stderr, "facegate eval: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int fg_cmd_eval(int argc, char **argv)
{
    fg_eval_run_options run = {0};
    fg_eval_folder_options folder = {0, 0, 1, 0, 0};
    const char *pairs_file = NULL, *root = NULL, *folders = NULL, *json_path = NULL,
               *pairs_out = NULL;
    const char *plot_path = NULL;
    double threshold = -1, target_far = 1e-3; /* -1: the calibrated one of the engine options */
    size_t limit = 0, jobs = 1, seed = 1, enroll = 0, min_images = 0;
    fg_eval_score_options scoring = {0};
    int status = 2, expand = 0;
    progress_state progress = {0, isatty(STDERR_FILENO), 0};
    fg_eval_set set = {0};
    fg_eval_descriptor *desc = NULL;
    fg_eval_report report;
    fg_error err = {0};
    char root_buf[4096];

    fg_engine_options_init(&run.engine);
    run.engine.model_dir = fg_cli_default_models();
    run.pick = FG_EVAL_PICK_CENTER;
    for (int i = 1; i < argc; i++) {
        int r = fg_cli_engine_option(argc, argv, &i, &run.engine);
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (r < 0) goto usage_error;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--expand")) {
            expand = 1;
            continue;
        } else if (!strcmp(a, "--plain-only")) {
            run.plain_only = 1;
            continue;
        } else if (!strcmp(a, "--quiet")) {
            progress.quiet = 1;
            continue;
        } else if (a[0] != '-' || !a[1]) {
            fprintf(stderr, "facegate eval: unexpected argument '%s'\n", a);
            goto usage_error;
        }
        if (!takes_value(a)) {
            fprintf(stderr, "facegate eval: unknown option %s\n", a);
            goto usage_error;
        }
        if (!v) {
            fprintf(stderr, "facegate eval: %s needs a value\n", a);
            goto usage_error;
        }
        i++;
        if (!strcmp(a, "--pairs")) {
            pairs_file = v;
        } else if (!strcmp(a, "--root")) {
            root = v;
        } else if (!strcmp(a, "--folders")) {
            folders = v;
        } else if (!strcmp(a, "--json")) {
            json_path = v;
        } else if (!strcmp(a, "--pairs-out")) {
            pairs_out = v;
        } else if (!strcmp(a, "--plot")) {
            plot_path = v;
        } else if (!strcmp(a, "--cache")) {
            run.cache_path = v;
        } else if (!strcmp(a, "--distance")) {
            static const char *const distances[] = {"match", "euclidean"};
            int k = fg_cli_choose(a, v, distances, 2);
            if (k < 0) goto usage_error;
            scoring.euclidean = k == 1;
        } else if (!strcmp(a, "--pick")) {
            int k = fg_cli_choose(a, v, pick_names, 3);
            if (k < 0) goto usage_error;
            run.pick = (fg_eval_pick)k;
        } else if (!strcmp(a, "--enroll-mode")) {
            static const char *const modes[] = {"min", "mean"};
            int k = fg_cli_choose(a, v, modes, 2);
            if (k < 0) goto usage_error;
            scoring.mean_enroll = k == 1;
        } else if (!strcmp(a, "--threshold")) {
            if (parse_double(a, v, 0, 10, &threshold)) goto usage_error;
        } else if (!strcmp(a, "--target-far")) {
            if (parse_double(a, v, 0, 1, &target_far)) goto usage_error;
        } else if (!strcmp(a, "--limit")) {
            if (parse_size(a, v, &limit)) goto usage_error;
        } else if (!strcmp(a, "--impostors")) {
            if (parse_size(a, v, &folder.impostors)) goto usage_error;
        } else if (!strcmp(a, "--seed")) {
            if (parse_size(a, v, &seed)) goto usage_error;
        } else if (!strcmp(a, "--jobs")) {
            if (parse_size(a, v, &jobs) || jobs < 1 || jobs > 64) {
                fprintf(stderr, "facegate eval: --jobs must be 1..64\n");
                goto usage_error;
            }
        } else if (!strcmp(a, "--enroll")) {
            if (parse_size(a, v, &enroll) || enroll < 1 || enroll > 1000) {
                fprintf(stderr, "facegate eval: --enroll must be 1..1000\n");
                goto usage_error;
            }
        } else if (!strcmp(a, "--min-images")) {
            if (parse_size(a, v, &min_images) || min_images > 1000) {
                fprintf(stderr, "facegate eval: --min-images must be 0..1000\n");
                goto usage_error;
            }
        }
    }
    if (threshold < 0) /* the calibrated one, or the reference's 0.6 for its distance */
        threshold = scoring.euclidean ? 0.6
                    : run.engine.tta  ? FG_MATCH_THRESHOLD_TTA
                                      : FG_MATCH_THRESHOLD;
    fg_cli_engine_finish(&run.engine, 0);
    if (!pairs_file == !folders) {
        fprintf(stderr, "facegate eval: give either --pairs FILE or --folders DIR\n");
        goto usage_error;
    }

    folder.limit = limit;
    folder.seed = seed;
    folder.enroll = (int)enroll;
    folder.min_images = (int)min_images;
    if (pairs_file) {
        if (!root) root = dir_of(pairs_file, root_buf, sizeof root_buf);
        if (fg_eval_load_pairs(pairs_file, root, expand ? 0 : limit, &set, &err)) goto fail;
        if (expand && fg_eval_expand_pairs(&set, &folder, &err)) goto fail;
    } else {
        if (fg_eval_load_folders(folders, &folder, &set, &err)) goto fail;
    }
    if (!set.n_pairs) {
        fprintf(stderr, "facegate eval: the set has no pairs\n");
        goto out;
    }
    if (!(desc = calloc(set.n_images, sizeof *desc))) {
        fprintf(stderr, "facegate eval: out of memory\n");
        goto out;
    }
    run.jobs = (int)jobs;
    run.progress = on_progress;
    run.progress_ctx = &progress;
    if (fg_eval_describe(&set, &run, desc, &err)) goto fail;
    if (progress.cached && !progress.quiet)
        fprintf(stderr, "%zu images from the cache %s\n", progress.cached, run.cache_path);

    fg_eval_score(&set, desc, &scoring);
    fg_eval_compute(set.pairs, set.n_pairs, set.folds, threshold, target_far, &report);
    report.euclidean = scoring.euclidean;
    fg_eval_count_images(&set, desc, &report);
    fg_eval_report_print(&report, stdout);

    if (json_path) {
        json_t *j = fg_eval_report_json(&report, &set, desc);
        const fg_engine_options *o = &run.engine;
        json_object_set_new(j, "set", json_string(pairs_file ? pairs_file : folders));
        json_t *used = json_pack(
            "{s:s, s:s, s:s, s:b, s:s, s:i, s:b, s:b, s:s}", "padding", fg_padding_name(o->padding),
            "detector", fg_detector_name(o->detector), "align", fg_align_name(o->align), "tta",
            o->tta, "pick", pick_names[run.pick], "limit", (int)limit, "plain_only", run.plain_only,
            "expand", expand, "distance", scoring.euclidean ? "euclidean" : "match");
        if (enroll)
            json_object_set_new(used, "enroll",
                                json_pack("{s:i, s:i, s:s}", "images", (int)enroll, "min_images",
                                          (int)min_images, "mode",
                                          scoring.mean_enroll ? "mean" : "min"));
        json_object_set_new(j, "options", used);
        int bad = write_json(json_path, j);
        json_decref(j);
        if (bad) goto out;
    }
    if (pairs_out && write_pairs(pairs_out, &set)) goto out;
    if (plot_path) {
        char title[512];
        snprintf(title, sizeof title, "facegate eval: %s%s (%s detector, %s chip, padding %s%s)",
                 pairs_file ? pairs_file : folders, expand ? ", expanded" : "",
                 fg_detector_name(run.engine.detector), fg_align_name(run.engine.align),
                 fg_padding_name(run.engine.padding), run.engine.tta ? ", tta" : "");
        if (fg_eval_write_svg(plot_path, set.pairs, set.n_pairs, &report, title, &err)) goto fail;
    }
    status = 0;
    goto out;

fail:
    fprintf(stderr, "facegate eval: %s\n", err.message);
out:
    free(desc);
    fg_eval_set_free(&set);
    return status;

usage_error:
    print_usage(stderr);
    return 2;
}
