/*
 * cmd_eval.c - facegate eval: verification accuracy on labelled pairs or identity folders.
 * The metrics, pair sets, descriptor cache and report live in src/eval/.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "facegate.h"
#include "eval/eval.h"

static const char usage_intro[] =
    "usage: facegate eval (--pairs FILE | --folders DIR [--split BY] [--name NAME])... [OPTIONS]\n"
    "Verification accuracy: false accepts / false rejects, EER, TAR at FAR 1e-2/1e-3/1e-4,\n"
    "the threshold reaching a target FAR, a JSON report and an SVG picture. Photos where no\n"
    "face is found are counted and listed; their pairs count as errors. Then the server's\n"
    "threshold policy on the set's own population (every identity enrolled, its other photos\n"
    "as log-ins), and with several sets a table of them.\n";

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

/* One set of the run: a pairs file or identity folders, and which part of it. */
typedef struct set_spec {
    const char *path;
    int is_pairs;
    fg_eval_split split;
    const char *name; /* for the table; default the path */
} set_spec;

#define MAX_SETS 16

/* What every set of a run shares. */
typedef struct eval_run {
    fg_eval_run_options run;
    fg_eval_folder_options folder;
    fg_eval_score_options scoring;
    fg_policy policy;
    const char *root, *json_path, *pairs_out, *plot_path;
    double threshold, target_far;
    int expand, enroll, probe, sets, quality, window;
    size_t limit;
    progress_state progress;
} eval_run;

/* Indexed by fg_eval_split, fg_eval_part and fg_eval_pick. */
static const char *const split_names[] = {"none", "identity", "image", NULL};
static const char *const part_names[] = {"all", "tune", "test", NULL};
static const char *const pick_names[] = {"score", "largest", "center", NULL};
static const char *const policy_names[] = {"adaptive", "fixed", NULL};
static const char *const distance_names[] = {"match", "euclidean", NULL};
static const char *const enroll_mode_names[] = {"min", "mean", NULL};

/* The sets of the command line (the custom options' context). */
typedef struct eval_sets {
    eval_run *e;
    set_spec *specs;
} eval_sets;

/* --pairs FILE, --folders DIR: one more set. */
static int add_set(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                   const fg_cli_source *src)
{
    eval_sets *sets = p->ctx;
    (void)field, (void)src;
    if (sets->e->sets == MAX_SETS) {
        fprintf(stderr, "facegate eval: at most %d sets in one run\n", MAX_SETS);
        return -1;
    }
    set_spec spec = {value, strcmp(o->name, "pairs") == 0, FG_EVAL_SPLIT_NONE, value};
    sets->specs[sets->e->sets++] = spec;
    return 0;
}

/* --split BY, --name NAME: of the set before. */
static int set_of_last(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                       const fg_cli_source *src)
{
    eval_sets *sets = p->ctx;
    set_spec *last = sets->e->sets ? &sets->specs[sets->e->sets - 1] : NULL;
    int k = 0;
    (void)field;
    if (!last) {
        fprintf(stderr, "facegate eval: --%s applies to the --pairs or --folders before it\n",
                o->name);
        return -1;
    }
    if (!o->choices) {
        last->name = value;
    } else if ((k = fg_cli_choose(p, o, value, src)) >= 0) {
        last->split = (fg_eval_split)k;
    }
    return k < 0 ? -1 : 0;
}

#define RUN(f) OPT_FIELD(eval_run, f)

static const fg_cli_option OPTIONS[] = {
    {NULL, NULL, "Sets (one or more):", OPT_SECTION},
    {"pairs", "FILE", "LFW pairs file ('N' or 'FOLDS N' header; folds give k-fold accuracy)",
     OPT_CUSTOM, 0, 0, 0, 0, .set = add_set},
    {"root", "DIR", "folder of <name>/<name>_NNNN.jpg (default: the pairs file's folder)",
     OPT_STRING, RUN(root)},
    {"folders", "DIR",
     "identity folders DIR/<identity>/<image>: every genuine pair and\nsampled impostor pairs",
     OPT_CUSTOM, 0, 0, 0, 0, .set = add_set},
    {"split", "BY",
     "the set before it is split for tuning and held-out figures: by\nidentity (alternate "
     "identities) or image (each identity's first half\nof images tunes)",
     OPT_CUSTOM, 0, 0, 0, 0, split_names, set_of_last},
    {"name", "NAME", "the set before it, in the table", OPT_CUSTOM, 0, 0, 0, 0, .set = set_of_last},
    {"part", "PART", "tune, test (the held-out part) or all (default) of every split set",
     OPT_CHOICE, RUN(folder.part), 0, 0, part_names},
    {"expand", NULL,
     "with --pairs: use the pairs file's photos as --folders would (all\ngenuine pairs, sampled "
     "impostors), for FARs beyond 1/pairs",
     OPT_BOOL, RUN(expand)},
    {"impostors", "N",
     "impostor pairs to sample for --folders/--expand (default all, at\nmost 1000000)", OPT_SIZE,
     RUN(folder.impostors), 0, 1e15},
    {"seed", "N", "sampling seed (default 1)", OPT_U64, RUN(folder.seed), 0, 1e15},
    {"enroll", "K",
     "--folders/--expand: enroll each identity from its first K images\nand probe with the "
     "others (default: pairs of images)",
     OPT_INT, RUN(folder.enroll), 1, 1000},
    {"min-images", "M",
     "with --enroll: identities with at least M images (default K+1),\nprobed with images M.. "
     "(runs with different K share the probes)",
     OPT_INT, RUN(folder.min_images), 0, 1000},
    {"enroll-mode", "M",
     "min (distance to the nearest enrollment image, as the matcher does;\ndefault) or mean "
     "(distance to the mean descriptor)",
     OPT_CHOICE, RUN(scoring.mean_enroll), 0, 0, enroll_mode_names},
    {"limit", "N", "only the first N pairs of each class (quick runs, CI)", OPT_SIZE, RUN(limit), 0,
     1e15},
    {NULL, NULL, "Population (the server's policy):", OPT_SECTION},
    {"enroll", "K", "also: templates per enrolled identity (default 1)", OPT_NOTE},
    {"probe", "P",
     "frames per log-in attempt: P consecutive photos, decided together as\nthe server does "
     "(default 1)",
     OPT_INT, RUN(probe), 1, FG_MATCH_MAX_FRAMES},
    {"policy", "NAME", "adaptive (the server's default) or fixed (always the threshold)",
     OPT_CHOICE, RUN(policy.fixed), 0, 0, policy_names},
    {"window", "W",
     "each identity's first W photos are enrolment candidates, log-ins\nstart after them "
     "(default: K)",
     OPT_INT, RUN(window), 0, 1000},
    {"quality", NULL,
     "enrol the first K candidates that pass the server's enrolment\nquality gate (topped up in "
     "order when fewer pass)",
     OPT_BOOL, RUN(quality)},
    {NULL, NULL, "Metrics and output:", OPT_SECTION},
    {"threshold", "T",
     "threshold whose accuracy/FAR/TAR are reported (default 0.380,\n0.375 with --tta, 0.6 with "
     "--distance euclidean)",
     OPT_FLOAT, RUN(threshold), 0, 10},
    {"target-far", "F",
     "calibrate the threshold reaching FAR <= F, and the adaptive policy's\ntarget (default "
     "0.001)",
     OPT_FLOAT, RUN(target_far), 1e-9, 0.49},
    {"json", "FILE", "write the JSON report", OPT_STRING, RUN(json_path)},
    {"pairs-out", "FILE",
     "write every pair as TSV: genuine (1/0), distance (inf: no face),\nprobe image, enrollment "
     "images",
     OPT_STRING, RUN(pairs_out)},
    {"plot", "FILE.svg", "write the ROC curve and distance histograms", OPT_STRING, RUN(plot_path)},
    {"cache", "FILE", "descriptor cache (keyed by image path, size, mtime, engine options)",
     OPT_STRING, RUN(run.cache_path)},
    {"pick", "RULE",
     "the face described in a photo with several: center (nearest the\nphoto's centre, default), "
     "largest, or score (most confident)",
     OPT_CHOICE, RUN(run.pick), 0, 0, pick_names},
    {"distance", "NAME",
     "match (Euclidean between unit-length descriptors, what the server\nuses, default) or "
     "euclidean (the reference's, threshold 0.6)",
     OPT_CHOICE, RUN(scoring.euclidean), 0, 0, distance_names},
    {"plain-only", NULL,
     "only faces the plain detection pass finds count (what --padding\nnone gives), from the "
     "same detections: before/after comparisons",
     OPT_BOOL, RUN(run.plain_only)},
    {"jobs", "N", "images described in parallel, one engine each (default 1)", OPT_INT,
     RUN(run.jobs), 1, 64},
    {"quiet", NULL, "no progress on stderr", OPT_BOOL, RUN(progress.quiet)},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

static void print_usage(FILE *f)
{
    fputs(usage_intro, f);
    fg_cli_help(f, OPTIONS, NOPTIONS, FG_CLI_HELP_WIDTH);
    fputs("Engine:\n", f);
    fg_cli_help(f, fg_cli_engine_options, fg_cli_engine_option_count, FG_CLI_HELP_WIDTH);
    fprintf(f, "  %-*s %s\n", FG_CLI_HELP_WIDTH, "-h, --help", "this help");
}

/* The engine and set options as the JSON report records them. */
static json_t *options_json(const eval_run *e, const set_spec *spec)
{
    const fg_engine_options *o = &e->run.engine;
    json_t *used =
        json_pack("{s:s, s:s, s:s, s:b, s:s, s:i, s:b, s:b, s:s, s:s, s:s}", "padding",
                  fg_padding_name(o->padding), "detector", fg_detector_name(o->detector), "align",
                  fg_align_name(o->align), "tta", o->tta, "pick", pick_names[e->run.pick], "limit",
                  (int)e->limit, "plain_only", e->run.plain_only, "expand", e->expand, "distance",
                  e->scoring.euclidean ? "euclidean" : "match", "split", split_names[spec->split],
                  "part", part_names[e->folder.part]);
    if (e->folder.enroll)
        json_object_set_new(used, "enroll",
                            json_pack("{s:i, s:i, s:s}", "images", e->folder.enroll, "min_images",
                                      e->folder.min_images, "mode",
                                      e->scoring.mean_enroll ? "mean" : "min"));
    json_object_set_new(used, "population",
                        json_pack("{s:i, s:i, s:s, s:f}", "enroll", e->enroll, "probe", e->probe,
                                  "policy", e->policy.fixed ? "fixed" : "adaptive", "target_far",
                                  e->policy.target_far));
    return used;
}

/* The images the enrolment quality gate refuses (the server's limits), one flag each; counted
 * on stdout. NULL when out of memory (then nothing is skipped). */
static unsigned char *quality_skips(const fg_eval_set *set, const fg_eval_descriptor *desc)
{
    fg_quality_limits limits;
    size_t refused[FG_QUALITY_TURNED + 1] = {0}, faces = 0;
    unsigned char *skip = calloc(set->n_images ? set->n_images : 1, 1);
    if (!skip) return NULL;
    fg_quality_limits_init(&limits);
    for (size_t i = 0; i < set->n_images; i++) {
        if (desc[i].status != FG_EVAL_FACE) continue;
        fg_quality_verdict v = fg_quality_check(&desc[i].quality, &limits, NULL, 0);
        skip[i] = v != FG_QUALITY_OK;
        refused[v]++, faces++;
    }
    printf("quality gate: %zu of %zu faces refused for enrolment", faces - refused[0], faces);
    for (int v = 1; v <= FG_QUALITY_TURNED; v++)
        if (refused[v]) printf(", %s %zu", fg_quality_code((fg_quality_verdict)v), refused[v]);
    printf("\n");
    return skip;
}

/* Loads, describes and reports one set; *pop gets the population figures. Returns 0, 1 when
 * the set could not be evaluated (reported), -1 on a write error. */
static int eval_one(eval_run *e, const set_spec *spec, fg_eval_population *pop, json_t *sets)
{
    fg_eval_set set = {0};
    fg_eval_descriptor *desc = NULL;
    fg_eval_report report;
    fg_eval_folder_options folder = e->folder;
    fg_error err = {0};
    char root_buf[4096];
    int rc = 1;

    folder.split = spec->split;
    if (spec->is_pairs) {
        const char *root = e->root ? e->root : dir_of(spec->path, root_buf, sizeof root_buf);
        if (fg_eval_load_pairs(spec->path, root, e->expand ? 0 : e->limit, &set, &err) ||
            ((e->expand || spec->split) && fg_eval_expand_pairs(&set, &folder, &err)))
            goto fail;
    } else if (fg_eval_load_folders(spec->path, &folder, &set, &err)) {
        goto fail;
    }
    if (!set.n_pairs) {
        fprintf(stderr, "facegate eval: %s has no pairs\n", spec->path);
        goto out;
    }
    if (!(desc = calloc(set.n_images, sizeof *desc))) {
        fprintf(stderr, "facegate eval: out of memory\n");
        goto out;
    }
    e->progress.cached = 0;
    if (fg_eval_describe(&set, &e->run, desc, &err)) goto fail;
    if (e->progress.cached && !e->progress.quiet)
        fprintf(stderr, "%zu images from the cache %s\n", e->progress.cached, e->run.cache_path);

    if (e->sets > 1) printf("== %s\n", spec->name);
    fg_eval_score(&set, desc, &e->scoring);
    fg_eval_compute(set.pairs, set.n_pairs, set.folds, e->threshold, e->target_far, &report);
    report.euclidean = e->scoring.euclidean;
    fg_eval_count_images(&set, desc, &report);
    fg_eval_report_print(&report, stdout);

    fg_eval_population_options po = {e->enroll, e->probe, &e->policy, e->window, NULL};
    unsigned char *skip = e->quality ? quality_skips(&set, desc) : NULL;
    po.skip = skip;
    memset(pop, 0, sizeof *pop);
    if (!e->scoring.euclidean) {
        int bad = fg_eval_population_run(&set, desc, &po, pop, &err);
        free(skip);
        if (bad) goto fail;
        fg_eval_population_print(pop, &e->policy, stdout);
    } else {
        free(skip);
    }

    rc = -1;
    if (sets) {
        json_t *j = fg_eval_report_json(&report, &set, desc);
        json_object_set_new(j, "set", json_string(spec->path));
        json_object_set_new(j, "name", json_string(spec->name));
        json_object_set_new(j, "options", options_json(e, spec));
        if (!e->scoring.euclidean)
            json_object_set_new(j, "population", fg_eval_population_json(pop));
        json_array_append_new(sets, j);
    }
    if (e->pairs_out && write_pairs(e->pairs_out, &set)) goto out;
    if (e->plot_path) {
        char title[512];
        snprintf(title, sizeof title, "facegate eval: %s%s (%s detector, %s chip, padding %s%s)",
                 spec->path, e->expand ? ", expanded" : "",
                 fg_detector_name(e->run.engine.detector), fg_align_name(e->run.engine.align),
                 fg_padding_name(e->run.engine.padding), e->run.engine.tta ? ", tta" : "");
        if (fg_eval_write_svg(e->plot_path, set.pairs, set.n_pairs, &report, title, &err))
            goto fail;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "facegate eval: %s\n", err.message);
out:
    free(desc);
    fg_eval_set_free(&set);
    return rc;
}

int fg_cmd_eval(int argc, char **argv)
{
    eval_run e = {0};
    set_spec specs[MAX_SETS];
    fg_eval_population rows[MAX_SETS];
    const char *names[MAX_SETS];
    int status = 2;
    json_t *sets = NULL;
    fg_error err = {0};
    eval_sets cli_sets = {&e, specs};
    fg_cli_table tables[] = {{OPTIONS, NOPTIONS, &e},
                             {fg_cli_engine_options, fg_cli_engine_option_count, &e.run.engine}};
    fg_cli_parser p = {.command = "eval", .tables = tables, .ntables = 2, .ctx = &cli_sets};

    fg_engine_options_init(&e.run.engine);
    e.run.engine.model_dir = fg_cli_default_models();
    e.run.pick = FG_EVAL_PICK_CENTER;
    e.run.every_image = 1;
    e.run.jobs = 1;
    e.probe = 1;
    e.threshold = -1; /* -1: the calibrated one of the engine options */
    e.target_far = 1e-3;
    e.folder.seed = 1;
    e.progress.tty = isatty(STDERR_FILENO);
    fg_policy_init(&e.policy, FG_MATCH_THRESHOLD, FG_POLICY_MARGIN);
    if (fg_cli_wants_help(argc, argv)) {
        print_usage(stdout);
        return 0;
    }
    if (fg_cli_parse(&p, argc, argv) != 0) goto usage_error;
    if (e.threshold < 0) /* the calibrated one, or the reference's 0.6 for its distance */
        e.threshold = e.scoring.euclidean ? 0.6
                      : e.run.engine.tta  ? FG_MATCH_THRESHOLD_TTA
                                          : FG_MATCH_THRESHOLD;
    fg_cli_engine_finish(&e.run.engine, 0);
    if (!e.sets) {
        fprintf(stderr, "facegate eval: give --pairs FILE or --folders DIR (one or more)\n");
        goto usage_error;
    }
    if (e.sets > 1 && (e.plot_path || e.pairs_out)) {
        fprintf(stderr, "facegate eval: --plot and --pairs-out take one set\n");
        goto usage_error;
    }
    /* The population's policy: the server's, its ceiling the threshold under test. */
    e.policy.ceiling = (float)e.threshold;
    e.policy.fallback = fminf(e.policy.fallback, e.policy.ceiling);
    e.policy.target_far = e.target_far;
    if (!e.scoring.euclidean && fg_policy_ready(&e.policy, &err)) {
        fprintf(stderr, "facegate eval: %s\n", err.message);
        goto usage_error;
    }
    e.enroll = fg_cli_seen(&p, "enroll") ? e.folder.enroll : 1;
    e.folder.limit = e.limit;
    e.run.progress = on_progress;
    e.run.progress_ctx = &e.progress;

    if (e.json_path && !(sets = json_array())) goto out;
    status = 0;
    for (int k = 0; k < e.sets; k++) {
        names[k] = specs[k].name;
        int r = eval_one(&e, &specs[k], &rows[k], sets);
        if (r < 0) {
            status = 2;
            goto out;
        }
        if (r > 0) status = 2;
    }
    if (e.sets > 1 && !e.scoring.euclidean) {
        printf("\n");
        fg_eval_population_table(names, rows, (size_t)e.sets, &e.policy, stdout);
    }
    if (e.json_path) {
        /* One set: its report as before; several: {"sets": [...]}. */
        json_t *j =
            e.sets == 1 ? json_incref(json_array_get(sets, 0)) : json_pack("{s:O}", "sets", sets);
        if (!j || write_json(e.json_path, j)) status = 2;
        json_decref(j);
    }
out:
    json_decref(sets);
    return status;

usage_error:
    print_usage(stderr);
    return 2;
}
