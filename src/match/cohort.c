/*
 * cohort.c - the population statistics of the template matrix: the cohort (matrix.h), each
 * user's cohort statistics (computed when needed, cached until the cohort changes), an
 * attempt's scores, and the leave-one-out estimate of the policy's FAR on the enrolled users.
 *
 * A user's cohort distances are, for every template x of every other cohort user, the distance
 * from x to the user's nearest template: what another person's photo scores against them. The
 * cohort is bounded (cohort_max users), so a decision costs O(cohort templates) beside the
 * search, and adding a template O(1): a million templates load as fast as without it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "match/matrix.h"

void fg_matcher_set_cohort(fg_matcher *m, size_t max_users)
{
    pthread_rwlock_wrlock(&m->lock);
    m->cohort_max = max_users ? max_users : 1;
    m->cohort_users = 0;
    for (size_t s = 0; s < m->n_users; s++) {
        m->users[s].in_cohort = m->cohort_users < m->cohort_max;
        m->cohort_users += m->users[s].in_cohort;
    }
    atomic_fetch_add(&m->cohort_version, 1);
    pthread_rwlock_unlock(&m->lock);
}

void fg_matrix_cohort_added(struct fg_matcher *m, uint32_t slot, int new_user)
{
    fg_match_user *u = &m->users[slot];
    if (new_user && m->cohort_users < m->cohort_max) {
        u->in_cohort = 1;
        m->cohort_users++;
    }
    if (u->in_cohort)
        atomic_fetch_add(&m->cohort_version, 1); /* everybody's statistics change */
    else
        u->version = 0; /* only this user's */
}

void fg_matrix_cohort_removing(struct fg_matcher *m, uint32_t slot)
{
    if (!m->users[slot].in_cohort) return;
    m->users[slot].in_cohort = 0;
    m->cohort_users--;
    /* Another user takes the place. */
    for (size_t s = 0; s < m->n_users; s++) {
        if (s != slot && !m->users[s].in_cohort) {
            m->users[s].in_cohort = 1;
            m->cohort_users++;
            break;
        }
    }
    atomic_fetch_add(&m->cohort_version, 1);
}

/* ---- the cohort's rows ---------------------------------------------------------------------- */

/* The rows of the cohort users, and for each slot its index among the cohort users (-1: not in
 * the cohort). Caller holds the lock; free both. */
typedef struct cohort_view {
    size_t *rows, n_rows;
    int32_t *index; /* per slot */
    size_t users;   /* cohort users */
} cohort_view;

static void view_free(cohort_view *v)
{
    free(v->rows);
    free(v->index);
}

static int view_open(const fg_matcher *m, cohort_view *v)
{
    memset(v, 0, sizeof *v);
    v->rows = malloc((m->count ? m->count : 1) * sizeof *v->rows);
    v->index = malloc((m->n_users ? m->n_users : 1) * sizeof *v->index);
    if (!v->rows || !v->index) {
        view_free(v);
        return FG_ENOMEM;
    }
    for (size_t s = 0; s < m->n_users; s++)
        v->index[s] = m->users[s].in_cohort ? (int32_t)v->users++ : -1;
    for (size_t i = 0; i < m->count; i++)
        if (v->index[m->slots[i]] >= 0) v->rows[v->n_rows++] = i;
    return FG_OK;
}

/* The rows of one slot, into *rows (malloc'd); their number, or -1 out of memory. */
static long rows_of(const fg_matcher *m, uint32_t slot, size_t **rows)
{
    size_t k = 0, want = m->users[slot].templates;
    *rows = malloc((want ? want : 1) * sizeof **rows);
    if (!*rows) return -1;
    for (size_t i = 0; i < m->count && k < want; i++)
        if (m->slots[i] == slot) (*rows)[k++] = i;
    return (long)k;
}

static float nearest_of(const fg_matcher *m, const float *x, const size_t *rows, long n)
{
    float best = INFINITY;
    for (long j = 0; j < n; j++) {
        float d = fg_matrix_squared(x, m->rows + rows[j] * FG_DESCRIPTOR_DIM);
        if (d < best) best = d;
    }
    return sqrtf(best);
}

/* The sums of a user's cohort distances. */
typedef struct cohort_sums {
    double sum, sum2;
    size_t n;
} cohort_sums;

/* A user's cohort sums, from the cache or computed now. Caller holds the read lock. */
static cohort_sums user_sums(fg_matcher *m, const cohort_view *v, uint32_t slot)
{
    fg_match_user *u = &m->users[slot];
    uint64_t version = atomic_load(&m->cohort_version);
    cohort_sums c = {0, 0, 0};
    size_t *own;
    long k;

    pthread_mutex_lock(&m->cache_lock);
    int cached = u->version == version;
    if (cached) c.sum = u->sum, c.sum2 = u->sum2, c.n = u->n;
    pthread_mutex_unlock(&m->cache_lock);
    if (cached || (k = rows_of(m, slot, &own)) < 0) return c;
    for (size_t j = 0; j < v->n_rows; j++) {
        size_t x = v->rows[j];
        if (m->slots[x] == slot) continue;
        double d = nearest_of(m, m->rows + x * FG_DESCRIPTOR_DIM, own, k);
        c.sum += d, c.sum2 += d * d, c.n++;
    }
    free(own);
    pthread_mutex_lock(&m->cache_lock);
    u->sum = c.sum, u->sum2 = c.sum2, u->n = c.n, u->version = version;
    pthread_mutex_unlock(&m->cache_lock);
    return c;
}

static fg_match_stats user_stats(fg_matcher *m, const cohort_view *v, uint32_t slot)
{
    cohort_sums c = user_sums(m, v, slot);
    return fg_match_stats_of(c.sum, c.sum2, c.n);
}

/* ---- scoring an attempt --------------------------------------------------------------------- */

static int by_distance(const void *a, const void *b)
{
    float x = ((const fg_match_score *)a)->distance, y = ((const fg_match_score *)b)->distance;
    return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The mean of the majority (n/2 + 1) of the smallest of n values, sorted in place. */
static float majority_mean(float *v, size_t n)
{
    size_t k = n / 2 + 1;
    double sum = 0;
    qsort(v, n, sizeof *v, by_value);
    for (size_t i = 0; i < k; i++)
        sum += v[i];
    return (float)(sum / (double)k);
}

/* The attempt's per-frame distances to every slot's nearest row among `rows` (all rows when
 * rows is NULL), into nearest[frame * n_users + slot] (INFINITY where none). */
static void nearest_rows(const fg_matcher *m, const float *units, size_t frames, const size_t *rows,
                         size_t n_rows, float *nearest)
{
    size_t users = m->n_users;
    for (size_t i = 0; i < frames * users; i++)
        nearest[i] = INFINITY;
    for (size_t j = 0; j < (rows ? n_rows : m->count); j++) {
        size_t r = rows ? rows[j] : j;
        uint32_t slot = m->slots[r];
        for (size_t f = 0; f < frames; f++) {
            float d =
                fg_matrix_squared(units + f * FG_DESCRIPTOR_DIM, m->rows + r * FG_DESCRIPTOR_DIM);
            if (d < nearest[f * users + slot]) nearest[f * users + slot] = d;
        }
    }
    for (size_t i = 0; i < frames * users; i++)
        nearest[i] = sqrtf(nearest[i]);
}

/* The attempt's distance to a slot from the per-frame table. */
static float attempt_distance(const float *nearest, size_t frames, size_t users, uint32_t slot,
                              float *scratch)
{
    for (size_t f = 0; f < frames; f++)
        scratch[f] = nearest[f * users + slot];
    return majority_mean(scratch, frames);
}

/* Adds slot to the candidates once. */
static void add_candidate(uint32_t *candidates, size_t *n, long slot)
{
    if (slot < 0) return;
    for (size_t i = 0; i < *n; i++)
        if (candidates[i] == (uint32_t)slot) return;
    candidates[(*n)++] = (uint32_t)slot;
}

int fg_matcher_score(fg_matcher *m, const float (*probes)[FG_DESCRIPTOR_DIM], size_t n,
                     int64_t claim, int every_user, fg_match_scores *out)
{
    float *units = NULL, *nearest = NULL, *frames = NULL;
    uint32_t *candidates = NULL;
    int64_t *found = NULL;
    cohort_view v = {0};
    size_t n_found = 0, n_candidates = 0;
    int rc = FG_EINVAL;

    memset(out, 0, sizeof *out);
    if (n == 0 || n > FG_MATCH_MAX_FRAMES) return FG_EINVAL;
    if (!(units = malloc(n * FG_DESCRIPTOR_DIM * sizeof *units)) ||
        !(found = malloc((2 * n + 1) * sizeof *found))) {
        rc = FG_ENOMEM;
        goto out;
    }
    for (size_t f = 0; f < n; f++)
        if (fg_matrix_unit(probes[f], units + f * FG_DESCRIPTOR_DIM)) goto out;
    /* Who the attempt could be: each frame's nearest and runner-up users (the exact search). */
    for (size_t f = 0; !every_user && f < n; f++) {
        fg_match_result r;
        fg_matcher_search(m, units + f * FG_DESCRIPTOR_DIM, &r);
        if (r.best_user) found[n_found++] = r.best_user;
        if (r.runner_up_user) found[n_found++] = r.runner_up_user;
    }
    if (claim) found[n_found++] = claim;

    rc = FG_ENOMEM;
    pthread_rwlock_rdlock(&m->lock);
    size_t users = m->n_users;
    nearest = malloc((users ? users : 1) * n * sizeof *nearest);
    frames = malloc(n * sizeof *frames);
    candidates = malloc((users ? users : 1) * sizeof *candidates);
    out->users = malloc((users ? users : 1) * sizeof *out->users);
    if (!nearest || !frames || !candidates || !out->users || view_open(m, &v) != FG_OK) {
        pthread_rwlock_unlock(&m->lock);
        goto out;
    }
    if (every_user) {
        for (size_t s = 0; s < users; s++)
            candidates[n_candidates++] = (uint32_t)s;
        nearest_rows(m, units, n, NULL, 0, nearest);
    } else {
        size_t *rows = NULL, n_rows = 0;
        for (size_t i = 0; i < n_found; i++)
            add_candidate(candidates, &n_candidates, fg_matrix_slot(m, found[i]));
        /* The rows of the cohort and of the candidates: one pass over the table. */
        rows = malloc((v.n_rows + m->count + 1) * sizeof *rows);
        if (!rows) {
            pthread_rwlock_unlock(&m->lock);
            goto out;
        }
        for (size_t i = 0; i < m->count; i++) {
            int keep = v.index[m->slots[i]] >= 0;
            for (size_t c = 0; !keep && c < n_candidates; c++)
                keep = m->slots[i] == candidates[c];
            if (keep) rows[n_rows++] = i;
        }
        nearest_rows(m, units, n, rows, n_rows, nearest);
        free(rows);
    }
    /* The attempt's cohort statistics. */
    for (size_t s = 0; s < users; s++) {
        if (v.index[s] < 0) continue;
        double d = attempt_distance(nearest, n, users, (uint32_t)s, frames);
        out->sum += d, out->sum2 += d * d, out->n++;
    }
    for (size_t c = 0; c < n_candidates; c++) {
        uint32_t s = candidates[c];
        fg_match_score *sc = &out->users[out->count++];
        sc->user = m->users[s].id;
        sc->distance = attempt_distance(nearest, n, users, s, frames);
        sc->cohort = user_stats(m, &v, s);
        sc->in_cohort = v.index[s] >= 0;
    }
    out->population = users;
    pthread_rwlock_unlock(&m->lock);
    qsort(out->users, out->count, sizeof *out->users, by_distance);
    rc = FG_OK;
out:
    view_free(&v);
    free(units);
    free(found);
    free(nearest);
    free(frames);
    free(candidates);
    if (rc) fg_match_scores_free(out);
    return rc;
}

/* ---- the policy on the enrolled population ------------------------------------------------- */

#define SUMMARY_ROWS 2000   /* cohort templates tried as impostors, at most (a stride) */
#define HISTOGRAM_BINS 4000 /* thresholds in [0, 2) by 0.0005 */

/* The threshold below which a fraction q of the histogram's entries lie. */
static float percentile(const size_t *bins, size_t total, double q)
{
    size_t want = (size_t)(q * (double)total), seen = 0;
    for (int b = 0; b < HISTOGRAM_BINS; b++) {
        seen += bins[b];
        if (seen > want) return (float)((b + 0.5) * 2.0 / HISTOGRAM_BINS);
    }
    return 2.0f;
}

int fg_matcher_policy_summary(fg_matcher *m, const fg_policy *p, fg_policy_summary *out)
{
    size_t *bins = calloc(HISTOGRAM_BINS, sizeof *bins);
    float *nearest = NULL;
    cohort_sums *sums = NULL;
    cohort_view v = {0};
    int rc = FG_ENOMEM;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&m->lock);
    size_t users = m->n_users;
    out->users = users;
    out->templates = m->count;
    out->estimated = !p->fixed && users >= (size_t)p->min_users;
    if (!bins || view_open(m, &v) != FG_OK ||
        !(nearest = malloc((users ? users : 1) * sizeof *nearest)) ||
        !(sums = malloc((users ? users : 1) * sizeof *sums)))
        goto out;
    for (size_t s = 0; s < users; s++)
        if (v.index[s] >= 0) sums[s] = user_sums(m, &v, (uint32_t)s);
    size_t stride = v.n_rows / SUMMARY_ROWS + 1;
    for (size_t j = 0; v.users > 1 && j < v.n_rows; j += stride) {
        size_t x = v.rows[j];
        uint32_t own = m->slots[x];
        double sum = 0, sum2 = 0;
        nearest_rows(m, m->rows + x * FG_DESCRIPTOR_DIM, 1, v.rows, v.n_rows, nearest);
        for (size_t s = 0; s < users; s++)
            if (v.index[s] >= 0 && s != own)
                sum += nearest[s], sum2 += (double)nearest[s] * nearest[s];
        for (size_t w = 0; w < users; w++) {
            if (v.index[w] < 0 || w == own) continue;
            /* x is one of w's cohort distances and one of its own: leave it out of both. */
            double d = nearest[w];
            fg_match_stats cohort = fg_match_stats_of(sums[w].sum - d, sums[w].sum2 - d * d,
                                                      sums[w].n ? sums[w].n - 1 : 0);
            fg_match_stats probe = fg_match_stats_of(sum - d, sum2 - d * d, v.users - 2);
            float t = fg_policy_threshold(p, users, &cohort, &probe);
            int b = (int)(t / 2 * HISTOGRAM_BINS);
            bins[b < 0 ? 0 : b >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : b]++;
            out->pairs++;
            out->accepted += d < t;
        }
    }
    if (out->pairs) {
        out->threshold = percentile(bins, out->pairs, 0.5);
        out->threshold_low = percentile(bins, out->pairs, 0.05);
        out->threshold_high = percentile(bins, out->pairs, 0.95);
        out->estimated_far = (double)out->accepted / (double)out->pairs;
    } else {
        out->threshold = out->threshold_low = out->threshold_high =
            p->fixed ? p->ceiling : p->fallback;
    }
    rc = FG_OK;
out:
    pthread_rwlock_unlock(&m->lock);
    view_free(&v);
    free(sums);
    free(nearest);
    free(bins);
    return rc;
}
