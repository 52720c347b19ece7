/*
 * population.c - the server's policy applied to a set's own population (eval.h): enrol every
 * identity into a matcher, decide every attempt against every user with the server's code.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "core/error.h"
#include "match/match.h"

/* The length of a path's folder part: images of one identity share it. */
static size_t folder_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

static int same_folder(const char *a, const char *b)
{
    size_t la = folder_length(a);
    return la == folder_length(b) && !strncmp(a, b, la);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A growable array of doubles. */
typedef struct values {
    double *v;
    size_t n, cap;
} values;

typedef struct collected {
    values impostor, genuine, thresholds; /* distances of each class; impostor thresholds */
} collected;

static int push(values *a, double x)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? a->cap * 2 : 1024;
        double *p = realloc(a->v, c * sizeof *p);
        if (!p) return -1;
        a->v = p, a->cap = c;
    }
    a->v[a->n++] = x;
    return 0;
}

static void sort_values(values *a)
{
    qsort(a->v, a->n, sizeof *a->v, cmp_double);
}

/* Decides one attempt of `owner` against every user. */
static int decide_attempt(const fg_policy *p, const fg_match_scores *s, int64_t owner, collected *c,
                          fg_eval_population *out)
{
    size_t own = s->count;
    for (size_t i = 0; i < s->count; i++)
        if (s->users[i].user == owner) own = i;
    for (size_t i = 0; i < s->count; i++) {
        const fg_match_score *u = &s->users[i];
        double d = u->distance;
        /* The impostor's own enrolment is not in the cohort (an unenrolled impostor). */
        fg_match_stats probe = fg_match_scores_without(s, i, own);
        double t = fg_policy_threshold(p, s->population, &u->cohort, &probe);
        int accepted = d < t;
        if (u->user == owner) {
            out->genuine++, out->true_accepts += accepted;
            out->tar_at_ceiling += d < p->ceiling;
            if (push(&c->genuine, d)) return -1;
        } else {
            out->impostor++, out->false_accepts += accepted;
            out->far_at_ceiling += d < p->ceiling;
            if (push(&c->impostor, d) || push(&c->thresholds, t)) return -1;
        }
    }
    return 0;
}

/* Best accuracy over thresholds, both classes' distances sorted. */
static double best_accuracy(const double *imp, size_t ni, const double *gen, size_t ng)
{
    size_t i = 0, g = 0, correct = ni, best = ni; /* threshold 0: every impostor right */
    while (i < ni || g < ng) {
        /* Move the threshold past the next distance. */
        if (g < ng && (i >= ni || gen[g] <= imp[i]))
            g++, correct++;
        else
            i++, correct--;
        if (correct > best) best = correct;
    }
    return ni + ng ? (double)best / (double)(ni + ng) : 0;
}

static void summarise(const fg_policy *p, collected *c, fg_eval_population *out)
{
    out->far = out->impostor ? (double)out->false_accepts / (double)out->impostor : 0;
    out->tar = out->genuine ? (double)out->true_accepts / (double)out->genuine : 0;
    out->far_at_ceiling = out->impostor ? out->far_at_ceiling / (double)out->impostor : 0;
    out->tar_at_ceiling = out->genuine ? out->tar_at_ceiling / (double)out->genuine : 0;
    sort_values(&c->impostor);
    sort_values(&c->genuine);
    sort_values(&c->thresholds);
    if (c->impostor.n) {
        const double *imp = c->impostor.v, *th = c->thresholds.v;
        size_t n = c->impostor.n, k = (size_t)floor(p->target_far * (double)n), below = 0;
        out->threshold = th[n / 2];
        out->threshold_low = th[(size_t)(0.05 * (double)(n - 1))];
        out->threshold_high = th[(size_t)(0.95 * (double)(n - 1))];
        /* The largest threshold with at most k impostors under it (fg_eval_threshold_at_far). */
        out->own_threshold = k < n ? imp[k] : imp[n - 1] + 1e-6;
        while (below < c->genuine.n && c->genuine.v[below] < out->own_threshold)
            below++;
        out->tar_at_own = c->genuine.n ? (double)below / (double)c->genuine.n : 0;
    }
    out->best_accuracy = best_accuracy(c->impostor.v, c->impostor.n, c->genuine.v, c->genuine.n);
}

int fg_eval_population_run(const fg_eval_set *set, const fg_eval_descriptor *desc,
                           const fg_eval_population_options *opts, fg_eval_population *out,
                           fg_error *err)
{
    fg_matcher *m = NULL;
    collected c = {0};
    int64_t *owner = malloc((set->n_images ? set->n_images : 1) * sizeof *owner);
    float(*frames)[FG_DESCRIPTOR_DIM] = NULL;
    int rc = FG_OK;

    memset(out, 0, sizeof *out);
    if (owner) memset(owner, 0, set->n_images * sizeof *owner);
    if (opts->enroll < 1 || opts->probe < 1 || opts->probe > FG_MATCH_MAX_FRAMES)
        rc = fg_fail(err, FG_EINVAL, "enrol 1 or more images, probe with 1..%d",
                     FG_MATCH_MAX_FRAMES);
    else if (!owner || !(frames = malloc((size_t)opts->probe * sizeof *frames)) ||
             fg_matcher_new(&m) != FG_OK)
        rc = fg_fail(err, FG_ENOMEM, "out of memory");
    if (rc) goto out;

    /* Enrol: identity k (a run of images in one folder) is user k + 1; owner[i] = 0 marks an
     * image enrolled, an unused candidate or an image without a face. */
    int64_t user = 0;
    int window = opts->window > opts->enroll ? opts->window : opts->enroll;
    for (size_t i = 0, end; i < set->n_images; i = end) {
        int candidates = 0, taken = 0;
        user++;
        for (end = i + 1; end < set->n_images && same_folder(set->images[end], set->images[i]);)
            end++;
        /* Two passes over the window: photos that pass the gate first, then any. */
        for (int pass = 0; pass < 2 && taken < opts->enroll; pass++) {
            candidates = 0;
            for (size_t k = i; k < end && candidates < window; k++) {
                if (desc[k].status != FG_EVAL_FACE) continue;
                candidates++;
                int flagged = opts->skip && opts->skip[k];
                if (owner[k] == -1 || taken == opts->enroll || (pass == 0 && flagged)) continue;
                if (fg_matcher_add(m, user, (int64_t)k + 1, desc[k].d) != FG_OK) {
                    rc = fg_fail(err, FG_ENOMEM, "out of memory enrolling");
                    goto out;
                }
                owner[k] = -1, taken++, out->templates++;
            }
        }
        /* Log-ins: the photos with a face after the window. */
        candidates = 0;
        for (size_t k = i; k < end; k++) {
            int face = desc[k].status == FG_EVAL_FACE;
            candidates += face;
            owner[k] = face && candidates > window ? user : 0;
        }
    }
    out->users = fg_matcher_users(m);
    out->estimated = !opts->policy->fixed && out->users >= (size_t)opts->policy->min_users;

    /* Attempts: runs of `probe` consecutive images of one enrolled identity. */
    for (size_t i = 0; i < set->n_images;) {
        size_t n = 0, j = i;
        for (; j < set->n_images && n < (size_t)opts->probe; j++) {
            if (owner[j] != owner[i] || !owner[j]) break;
            memcpy(frames[n++], desc[j].d, sizeof frames[0]);
        }
        if (!owner[i] || n < (size_t)opts->probe) {
            i = j > i ? j : i + 1;
            continue;
        }
        fg_match_scores s;
        if (fg_matcher_score(m, (const float(*)[FG_DESCRIPTOR_DIM])frames, n, 0, 1, &s) != FG_OK ||
            decide_attempt(opts->policy, &s, owner[i], &c, out)) {
            fg_match_scores_free(&s);
            rc = fg_fail(err, FG_ENOMEM, "out of memory scoring");
            goto out;
        }
        fg_match_scores_free(&s);
        out->attempts++;
        i = j;
    }
    summarise(opts->policy, &c, out);
out:
    fg_matcher_free(m);
    free(owner);
    free(frames);
    free(c.impostor.v);
    free(c.genuine.v);
    free(c.thresholds.v);
    return rc;
}
