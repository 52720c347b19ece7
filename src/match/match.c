/*
 * match.c - the in-memory template matrix.
 *
 * Layout: rows of FG_DESCRIPTOR_DIM floats in one array, with parallel arrays of user and
 * template ids. A search is O(templates x 128): at 100k templates that is ~13M multiply-adds,
 * a few milliseconds, small next to the 100+ ms of computing the probe's descriptor. Possible
 * optimisations when that stops being true: SIMD/BLAS over the matrix, or an ANN index.
 * Removal compacts the arrays (O(N)); removals are rare (account deletion).
 *
 * Rows and probes are scaled to unit length, so the squared Euclidean distance of a row and a
 * probe is fg_match_distance squared.
 */
#include "match/match.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct fg_matcher {
    pthread_rwlock_t lock;
    float *rows;       /* count x FG_DESCRIPTOR_DIM */
    int64_t *user_ids; /* count */
    int64_t *template_ids;
    size_t count;
    size_t capacity;
};

int fg_matcher_new(fg_matcher **out)
{
    fg_matcher *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m) return FG_ENOMEM;
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        free(m);
        return FG_ENOMEM;
    }
    *out = m;
    return FG_OK;
}

void fg_matcher_free(fg_matcher *m)
{
    if (!m) return;
    pthread_rwlock_destroy(&m->lock);
    free(m->rows);
    free(m->user_ids);
    free(m->template_ids);
    free(m);
}

/* Grows the arrays to hold at least `need` rows. Caller holds the write lock. */
static int reserve(fg_matcher *m, size_t need)
{
    size_t cap = m->capacity ? m->capacity : 64;
    float *rows;
    int64_t *users, *templates;
    if (need <= m->capacity) return FG_OK;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / (FG_DESCRIPTOR_DIM * sizeof(float))) return FG_ENOMEM;
        cap *= 2;
    }
    rows = realloc(m->rows, cap * FG_DESCRIPTOR_DIM * sizeof(float));
    if (!rows) return FG_ENOMEM;
    m->rows = rows;
    users = realloc(m->user_ids, cap * sizeof(int64_t));
    if (!users) return FG_ENOMEM;
    m->user_ids = users;
    templates = realloc(m->template_ids, cap * sizeof(int64_t));
    if (!templates) return FG_ENOMEM;
    m->template_ids = templates;
    m->capacity = cap;
    return FG_OK;
}

/* out = d / |d|; 0, or -1 when d is zero or not finite. */
static int unit_length(const float d[FG_DESCRIPTOR_DIM], float out[FG_DESCRIPTOR_DIM])
{
    double n = 0;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        n += (double)d[i] * d[i];
    if (!(n > 0) || !isfinite(n)) return -1;
    n = 1 / sqrt(n);
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        out[i] = (float)(d[i] * n);
    return 0;
}

int fg_matcher_add(fg_matcher *m, int64_t user_id, int64_t template_id,
                   const float descriptor[FG_DESCRIPTOR_DIM])
{
    float row[FG_DESCRIPTOR_DIM];
    int rc;
    if (user_id <= 0 || template_id <= 0 || unit_length(descriptor, row)) return FG_EINVAL;
    pthread_rwlock_wrlock(&m->lock);
    rc = reserve(m, m->count + 1);
    if (rc == FG_OK) {
        memcpy(m->rows + m->count * FG_DESCRIPTOR_DIM, row, sizeof row);
        m->user_ids[m->count] = user_id;
        m->template_ids[m->count] = template_id;
        m->count++;
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

size_t fg_matcher_remove_user(fg_matcher *m, int64_t user_id)
{
    size_t kept = 0, removed;
    pthread_rwlock_wrlock(&m->lock);
    for (size_t i = 0; i < m->count; i++) {
        if (m->user_ids[i] == user_id) continue;
        if (kept != i) {
            memcpy(m->rows + kept * FG_DESCRIPTOR_DIM, m->rows + i * FG_DESCRIPTOR_DIM,
                   FG_DESCRIPTOR_DIM * sizeof(float));
            m->user_ids[kept] = m->user_ids[i];
            m->template_ids[kept] = m->template_ids[i];
        }
        kept++;
    }
    removed = m->count - kept;
    m->count = kept;
    pthread_rwlock_unlock(&m->lock);
    return removed;
}

size_t fg_matcher_templates(fg_matcher *m)
{
    size_t n;
    pthread_rwlock_rdlock(&m->lock);
    n = m->count;
    pthread_rwlock_unlock(&m->lock);
    return n;
}

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

size_t fg_matcher_users(fg_matcher *m)
{
    size_t users = 0, n;
    int64_t *ids;
    pthread_rwlock_rdlock(&m->lock);
    n = m->count;
    ids = n ? malloc(n * sizeof *ids) : NULL;
    if (ids) memcpy(ids, m->user_ids, n * sizeof *ids);
    pthread_rwlock_unlock(&m->lock);
    if (!ids) return 0;
    qsort(ids, n, sizeof *ids, compare_ids);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ids[i] != ids[i - 1]) users++;
    free(ids);
    return users;
}

static float squared_distance(const float *a, const float *b)
{
    float sum = 0.0f;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

void fg_matcher_search(fg_matcher *m, const float descriptor[FG_DESCRIPTOR_DIM],
                       fg_match_result *result)
{
    /* One pass keeps the two nearest distinct users, each at their closest template. */
    int64_t best_user = 0, best_template = 0, second_user = 0;
    float best = INFINITY, second = INFINITY, probe[FG_DESCRIPTOR_DIM];
    int usable = unit_length(descriptor, probe) == 0; /* a zero probe matches nobody */
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; usable && i < m->count; i++) {
        int64_t user = m->user_ids[i];
        float d = squared_distance(m->rows + i * FG_DESCRIPTOR_DIM, probe);
        if (user == best_user) {
            if (d < best) {
                best = d;
                best_template = m->template_ids[i];
            }
        } else if (d < best) {
            /* The previous best becomes the runner-up, even if `user` was the runner-up. */
            second_user = best_user;
            second = best;
            best_user = user;
            best = d;
            best_template = m->template_ids[i];
        } else if (d < second) {
            second = d;
            second_user = user;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    result->best_user = best_user;
    result->best_template = best_template;
    result->best_distance = sqrtf(best);
    result->runner_up_user = second_user;
    result->runner_up_distance = sqrtf(second);
}

float fg_matcher_verify(fg_matcher *m, int64_t user_id, const float descriptor[FG_DESCRIPTOR_DIM],
                        float *others)
{
    float mine = INFINITY, theirs = INFINITY, probe[FG_DESCRIPTOR_DIM];
    int usable = unit_length(descriptor, probe) == 0;
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; usable && i < m->count; i++) {
        float d = squared_distance(m->rows + i * FG_DESCRIPTOR_DIM, probe);
        if (m->user_ids[i] == user_id) {
            if (d < mine) mine = d;
        } else if (d < theirs) {
            theirs = d;
        }
    }
    pthread_rwlock_unlock(&m->lock);
    if (others) *others = sqrtf(theirs);
    return sqrtf(mine);
}

int fg_match_decide(const fg_match_result *result, float threshold, float margin)
{
    if (result->best_user == 0 || !(result->best_distance < threshold)) return 0;
    if (result->runner_up_user == 0) return 1;
    return result->runner_up_distance - result->best_distance >= margin;
}

int fg_match_decide_claim(float claimed, float others, float threshold)
{
    return claimed < threshold && claimed <= others;
}
