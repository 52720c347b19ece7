/*
 * cohort.c - the population statistics of the template matrix: each user's cohort sums, kept
 * up to date as templates come and go, an attempt's scores against every user, and the
 * leave-one-out estimate of the policy's FAR on the enrolled population itself.
 *
 * A user's cohort distances are, for every template x of every other user, the distance from x
 * to the user's nearest template: what another person's photo scores against them. Adding a
 * template costs one pass over the matrix for the other users' sums and one per template of its
 * own user for theirs (O(templates x own templates)); loading N templates is O(N^2): about a
 * second at 3,000 templates. Beyond some tens of thousands of templates, a sampled cohort would
 * keep this linear.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"
#include "match/matrix.h"

void fg_matrix_nearest(const struct fg_matcher *m, const float *x, float *nearest)
{
    for (size_t s = 0; s < m->n_users; s++)
        nearest[s] = INFINITY;
    for (size_t i = 0; i < m->count; i++) {
        float d = fg_matrix_squared(x, m->rows + i * FG_DESCRIPTOR_DIM);
        if (d < nearest[m->slots[i]]) nearest[m->slots[i]] = d;
    }
    for (size_t s = 0; s < m->n_users; s++)
        nearest[s] = sqrtf(nearest[s]);
}

/* Adds (sign 1) or removes (sign -1) row x's distances to every other user's cohort sums. */
static void count_row(struct fg_matcher *m, size_t x, double sign, float *nearest)
{
    uint32_t own = m->slots[x];
    fg_matrix_nearest(m, m->rows + x * FG_DESCRIPTOR_DIM, nearest);
    for (size_t s = 0; s < m->n_users; s++) {
        if (s == own || !isfinite(nearest[s])) continue;
        double d = nearest[s];
        m->users[s].sum += sign * d;
        m->users[s].sum2 += sign * d * d;
        m->users[s].n = sign > 0 ? m->users[s].n + 1 : m->users[s].n - 1;
    }
}

/* Recomputes one user's cohort sums from every row of the other users. Returns 0, or -1 out
 * of memory. */
static int recount_user(struct fg_matcher *m, uint32_t slot)
{
    fg_match_user *u = &m->users[slot];
    size_t *own = malloc((u->templates ? u->templates : 1) * sizeof *own), k = 0;
    if (!own) return -1;
    for (size_t j = 0; j < m->count && k < u->templates; j++)
        if (m->slots[j] == slot) own[k++] = j;
    u->sum = u->sum2 = 0;
    u->n = 0;
    for (size_t i = 0; i < m->count; i++) {
        if (m->slots[i] == slot) continue;
        float best = INFINITY;
        for (size_t j = 0; j < k; j++) {
            float d = fg_matrix_squared(m->rows + i * FG_DESCRIPTOR_DIM,
                                        m->rows + own[j] * FG_DESCRIPTOR_DIM);
            if (d < best) best = d;
        }
        double d = sqrtf(best);
        u->sum += d;
        u->sum2 += d * d;
        u->n++;
    }
    free(own);
    return 0;
}

/* Every user's sums from scratch. */
static void rebuild(struct fg_matcher *m, float *nearest)
{
    for (size_t s = 0; s < m->n_users; s++) {
        m->users[s].sum = m->users[s].sum2 = 0;
        m->users[s].n = 0;
    }
    for (size_t i = 0; i < m->count; i++)
        count_row(m, i, 1, nearest);
    m->cohort_stale = 0;
}

static float *scratch(const struct fg_matcher *m)
{
    return malloc((m->n_users ? m->n_users : 1) * sizeof(float));
}

void fg_matrix_cohort_added(struct fg_matcher *m, size_t row)
{
    float *nearest = scratch(m);
    if (!nearest) {
        m->cohort_stale = 1;
        return;
    }
    if (m->cohort_stale) {
        rebuild(m, nearest);
    } else {
        count_row(m, row, 1, nearest);
        /* The new template lowers some of the distances to its own user: recount them. */
        if (recount_user(m, m->slots[row])) m->cohort_stale = 1;
    }
    free(nearest);
}

void fg_matrix_cohort_removing(struct fg_matcher *m, uint32_t slot)
{
    float *nearest = scratch(m);
    if (!nearest) {
        m->cohort_stale = 1;
        return;
    }
    for (size_t i = 0; i < m->count && !m->cohort_stale; i++)
        if (m->slots[i] == slot) count_row(m, i, -1, nearest);
    free(nearest);
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

static fg_match_stats user_stats(const struct fg_matcher *m, size_t slot)
{
    const fg_match_user *u = &m->users[slot];
    fg_match_stats none = {0, 0, 0};
    return m->cohort_stale ? none : fg_match_stats_of(u->sum, u->sum2, u->n);
}

int fg_matcher_score(fg_matcher *m, const float (*probes)[FG_DESCRIPTOR_DIM], size_t n,
                     fg_match_scores *out)
{
    float *units = NULL, *nearest = NULL, *frames = NULL;
    int rc = FG_EINVAL;

    memset(out, 0, sizeof *out);
    if (n == 0 || n > FG_MATCH_MAX_FRAMES) return FG_EINVAL;
    if (!(units = malloc(n * FG_DESCRIPTOR_DIM * sizeof *units))) return FG_ENOMEM;
    for (size_t f = 0; f < n; f++)
        if (fg_matrix_unit(probes[f], units + f * FG_DESCRIPTOR_DIM)) goto out;

    rc = FG_ENOMEM;
    pthread_rwlock_rdlock(&m->lock);
    size_t users = m->n_users;
    nearest = malloc((users ? users : 1) * n * sizeof *nearest);
    frames = malloc(n * sizeof *frames);
    out->users = malloc((users ? users : 1) * sizeof *out->users);
    if (!nearest || !frames || !out->users) {
        pthread_rwlock_unlock(&m->lock);
        goto out;
    }
    for (size_t f = 0; f < n; f++)
        fg_matrix_nearest(m, units + f * FG_DESCRIPTOR_DIM, nearest + f * users);
    for (size_t s = 0; s < users; s++) {
        for (size_t f = 0; f < n; f++)
            frames[f] = nearest[f * users + s];
        fg_match_score *sc = &out->users[s];
        sc->user = m->users[s].id;
        sc->distance = majority_mean(frames, n);
        sc->cohort = user_stats(m, s);
        out->sum += sc->distance;
        out->sum2 += (double)sc->distance * sc->distance;
    }
    out->count = users;
    pthread_rwlock_unlock(&m->lock);
    qsort(out->users, users, sizeof *out->users, by_distance);
    rc = FG_OK;
out:
    free(units);
    free(nearest);
    free(frames);
    if (rc) fg_match_scores_free(out);
    return rc;
}

/* ---- the policy on the enrolled population ------------------------------------------------- */

#define SUMMARY_ROWS 2000   /* templates tried as impostors, at most (a stride through the rows) */
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
    int rc = FG_ENOMEM;

    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&m->lock);
    size_t users = m->n_users, stride = m->count / SUMMARY_ROWS + 1;
    out->users = users;
    out->templates = m->count;
    out->estimated = !p->fixed && users >= (size_t)p->min_users && !m->cohort_stale;
    if (!bins || !(nearest = scratch(m))) goto out;
    for (size_t x = 0; users > 1 && x < m->count; x += stride) {
        uint32_t v = m->slots[x];
        double sum = 0, sum2 = 0;
        fg_matrix_nearest(m, m->rows + x * FG_DESCRIPTOR_DIM, nearest);
        for (size_t s = 0; s < users; s++)
            if (s != v) sum += nearest[s], sum2 += (double)nearest[s] * nearest[s];
        for (size_t w = 0; w < users; w++) {
            if (w == v) continue;
            /* x is one of w's cohort distances and one of its own: leave it out of both. */
            double d = nearest[w];
            fg_match_user *u = &m->users[w];
            fg_match_stats cohort = user_stats(m, w);
            if (cohort.n) cohort = fg_match_stats_of(u->sum - d, u->sum2 - d * d, u->n - 1);
            fg_match_stats probe = fg_match_stats_of(sum - d, sum2 - d * d, users - 2);
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
    free(nearest);
    free(bins);
    return rc;
}
