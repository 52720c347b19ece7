/*
 * match.c - the in-memory template matrix and its 1:N / 1:1 searches.
 *
 * Layout: each template is kept twice, as a unit-length float32 row (512 bytes, the exact
 * answer) and as an int8 row with its own scale (128 bytes + 4, the fast first pass), with
 * parallel arrays of user and template ids and user slots: 664 bytes per template in all,
 * and about 90 per user (matrix.h).
 *
 * A search is exact, in two passes. The first scans the int8 rows (src/match/scan.c, SIMD) and
 * keeps the TOP_K rows nearest the probe by the approximate distance. Their exact float32
 * distances decide the best and runner-up users, and a bound proves the rows left out cannot
 * change that answer: the quantisation error of a distance is at most `eps` (from the largest
 * residual of any row and the probe's own residual, by Cauchy-Schwarz), so a row whose
 * approximate squared distance is >= a is exactly >= a - eps. When the runner-up user is not
 * provably nearer than every row left out (a crowd of near-equal templates), a second pass
 * re-ranks every row within the runner-up's distance + eps, and past WIDE_CAP of those (or with
 * fewer than two users among the candidates) the plain float32 scan answers. The exact stage
 * runs the same loop, in the same row order, as that plain scan, so the answers are the same
 * to the bit, ties included.
 *
 * Removal compacts the arrays (O(N)); removals are rare (account deletion). The error bound
 * keeps the largest residual ever added, which stays an upper bound after removals.
 *
 * Every user also has a slot with the cohort sums of the threshold policy (matrix.h, cohort.c),
 * kept up to date here as templates come and go.
 */
#include "match/match.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "match/matrix.h"
#include "match/scan.h"

#define TOP_K 64
#define BLOCK 256
#define WIDE_CAP 65536
#define ALIGN 64

int fg_matcher_new(fg_matcher **out)
{
    fg_matcher *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m) return FG_ENOMEM;
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        free(m);
        return FG_ENOMEM;
    }
    if (pthread_mutex_init(&m->cache_lock, NULL) != 0) {
        pthread_rwlock_destroy(&m->lock);
        pthread_mutex_destroy(&m->cache_lock);
        free(m);
        return FG_ENOMEM;
    }
    m->cohort_max = FG_MATCH_COHORT_USERS;
    atomic_init(&m->cohort_version, 1);
    *out = m;
    return FG_OK;
}

void fg_matcher_free(fg_matcher *m)
{
    if (!m) return;
    pthread_rwlock_destroy(&m->lock);
    free(m->rows);
    free(m->q);
    free(m->inv_scale);
    free(m->user_ids);
    free(m->template_ids);
    free(m->slots);
    free(m->users);
    free(m->index_keys);
    free(m->index_slots);
    free(m);
}

/* Moves *p (used bytes kept) into a new cache-line aligned block of `bytes`. */
static int grow(void **p, size_t used, size_t bytes)
{
    void *fresh;
    if (posix_memalign(&fresh, ALIGN, bytes) != 0) return FG_ENOMEM;
    if (used) memcpy(fresh, *p, used);
    free(*p);
    *p = fresh;
    return FG_OK;
}

/* Grows the arrays to hold at least `need` rows. Caller holds the write lock. */
static int reserve(fg_matcher *m, size_t need)
{
    const size_t row_bytes = FG_DESCRIPTOR_DIM * sizeof(float);
    size_t cap = m->capacity ? m->capacity : 64, n = m->count;
    if (need <= m->capacity) return FG_OK;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / row_bytes) return FG_ENOMEM;
        cap *= 2;
    }
    if (grow((void **)&m->rows, n * row_bytes, cap * row_bytes) ||
        grow((void **)&m->q, n * FG_SCAN_ROW, cap * FG_SCAN_ROW) ||
        grow((void **)&m->inv_scale, n * sizeof(float), cap * sizeof(float)) ||
        grow((void **)&m->user_ids, n * sizeof(int64_t), cap * sizeof(int64_t)) ||
        grow((void **)&m->template_ids, n * sizeof(int64_t), cap * sizeof(int64_t)) ||
        grow((void **)&m->slots, n * sizeof(uint32_t), cap * sizeof(uint32_t)))
        return FG_ENOMEM;
    m->capacity = cap;
    return FG_OK;
}

/* ---- user slots ----------------------------------------------------------------------------- */

static size_t index_home(int64_t id, size_t capacity)
{
    return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ull) >> 17) & (capacity - 1);
}

/* The position of id in the index: its entry, or the empty entry where it would go. */
static size_t index_find(const fg_matcher *m, int64_t id)
{
    size_t h = index_home(id, m->index_capacity);
    while (m->index_slots[h] && m->index_keys[h] != id)
        h = (h + 1) & (m->index_capacity - 1);
    return h;
}

long fg_matrix_slot(const fg_matcher *m, int64_t id)
{
    if (!m->index_capacity) return -1;
    size_t h = index_find(m, id);
    return m->index_slots[h] ? (long)m->index_slots[h] - 1 : -1;
}

/* Rebuilds the index from the slots, at a capacity for at least `users` users. */
static int index_rebuild(fg_matcher *m, size_t users)
{
    size_t cap = 16;
    while (cap < users * 2 + 2)
        cap *= 2;
    int64_t *keys = malloc(cap * sizeof *keys);
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!keys || !slots) {
        free(keys);
        free(slots);
        return FG_ENOMEM;
    }
    free(m->index_keys);
    free(m->index_slots);
    m->index_keys = keys;
    m->index_slots = slots;
    m->index_capacity = cap;
    for (size_t s = 0; s < m->n_users; s++) {
        size_t h = index_find(m, m->users[s].id);
        m->index_keys[h] = m->users[s].id;
        m->index_slots[h] = (uint32_t)s + 1;
    }
    return FG_OK;
}

/* The slot of user id, created when new. -1 when out of memory. */
static long slot_for(fg_matcher *m, int64_t id)
{
    long s = fg_matrix_slot(m, id);
    if (s >= 0) return s;
    if (m->n_users == m->users_capacity) {
        size_t cap = m->users_capacity ? m->users_capacity * 2 : 64;
        fg_match_user *users = realloc(m->users, cap * sizeof *users);
        if (!users) return -1;
        m->users = users;
        m->users_capacity = cap;
    }
    if ((m->n_users + 1) * 2 > m->index_capacity && index_rebuild(m, m->n_users + 1)) return -1;
    fg_match_user u = {id, 0, 0, 0, 0, 0, 0};
    m->users[m->n_users] = u;
    size_t h = index_find(m, id);
    m->index_keys[h] = id;
    m->index_slots[h] = (uint32_t)m->n_users + 1;
    return (long)m->n_users++;
}

/* Drops an empty slot: the last slot moves into its place. */
static void slot_drop(fg_matcher *m, uint32_t slot)
{
    uint32_t last = (uint32_t)m->n_users - 1;
    if (slot != last) {
        m->users[slot] = m->users[last];
        for (size_t i = 0; i < m->count; i++)
            if (m->slots[i] == last) m->slots[i] = slot;
    }
    m->n_users--;
    index_rebuild(m, m->n_users); /* shrinking needs no more memory than it had: cannot fail
                                     unless malloc does, and then lookups keep the old index */
}

int fg_matrix_unit(const float d[FG_DESCRIPTOR_DIM], float out[FG_DESCRIPTOR_DIM])
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
    int8_t q[FG_SCAN_ROW];
    double residual;
    float inv;
    long slot;
    int rc;
    if (user_id <= 0 || template_id <= 0 || fg_matrix_unit(descriptor, row)) return FG_EINVAL;
    inv = fg_scan_quantise(row, q, &residual);
    pthread_rwlock_wrlock(&m->lock);
    rc = reserve(m, m->count + 1);
    if (rc == FG_OK && (slot = slot_for(m, user_id)) < 0) rc = FG_ENOMEM;
    if (rc == FG_OK) {
        memcpy(m->rows + m->count * FG_DESCRIPTOR_DIM, row, sizeof row);
        memcpy(m->q + m->count * FG_SCAN_ROW, q, sizeof q);
        m->inv_scale[m->count] = inv;
        m->user_ids[m->count] = user_id;
        m->template_ids[m->count] = template_id;
        m->slots[m->count] = (uint32_t)slot;
        m->users[slot].templates++;
        if (residual > m->max_residual) m->max_residual = residual;
        m->count++;
        fg_matrix_cohort_added(m, (uint32_t)slot, m->users[slot].templates == 1);
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

size_t fg_matcher_remove_user(fg_matcher *m, int64_t user_id)
{
    size_t kept = 0, removed;
    long slot;
    pthread_rwlock_wrlock(&m->lock);
    if ((slot = fg_matrix_slot(m, user_id)) < 0) {
        pthread_rwlock_unlock(&m->lock);
        return 0;
    }
    fg_matrix_cohort_removing(m, (uint32_t)slot);
    for (size_t i = 0; i < m->count; i++) {
        if (m->user_ids[i] == user_id) continue;
        if (kept != i) {
            memcpy(m->rows + kept * FG_DESCRIPTOR_DIM, m->rows + i * FG_DESCRIPTOR_DIM,
                   FG_DESCRIPTOR_DIM * sizeof(float));
            memcpy(m->q + kept * FG_SCAN_ROW, m->q + i * FG_SCAN_ROW, FG_SCAN_ROW);
            m->inv_scale[kept] = m->inv_scale[i];
            m->user_ids[kept] = m->user_ids[i];
            m->template_ids[kept] = m->template_ids[i];
            m->slots[kept] = m->slots[i];
        }
        kept++;
    }
    removed = m->count - kept;
    m->count = kept;
    slot_drop(m, (uint32_t)slot);
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

size_t fg_matcher_users(fg_matcher *m)
{
    size_t n;
    pthread_rwlock_rdlock(&m->lock);
    n = m->n_users;
    pthread_rwlock_unlock(&m->lock);
    return n;
}

void fg_matcher_stats(fg_matcher *m, size_t *second_passes, size_t *full_scans)
{
    *second_passes = atomic_load(&m->second_passes);
    *full_scans = atomic_load(&m->full_scans);
}

/* --- the exact stage ------------------------------------------------------------------------ */

float fg_matrix_squared(const float *a, const float *b)
{
    float sum = 0.0f;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

/* What a search keeps as it looks at rows: the two nearest users (1:N) or the claimed user's and
 * everybody else's nearest template (1:1). `reset` empties it; `consider` looks at one row (in
 * row order: the order decides ties); `runner_up` is the squared distance a row left out must
 * provably exceed for the answer to stand. */
typedef struct search_ops {
    void (*reset)(void *state);
    void (*consider)(void *state, const fg_matcher *m, size_t row, const float *probe);
    float (*runner_up)(const void *state);
} search_ops;

/* The two nearest distinct users, each at their closest template (squared distances). */
typedef struct nearest {
    int64_t best_user, best_template, second_user;
    float best, second;
} nearest;

static void nearest_reset(void *state)
{
    *(nearest *)state = (nearest){0, 0, 0, INFINITY, INFINITY};
}

static void nearest_consider(void *state, const fg_matcher *m, size_t i, const float *probe)
{
    nearest *s = state;
    int64_t user = m->user_ids[i];
    float d = fg_matrix_squared(m->rows + i * FG_DESCRIPTOR_DIM, probe);
    if (user == s->best_user) {
        if (d < s->best) {
            s->best = d;
            s->best_template = m->template_ids[i];
        }
    } else if (d < s->best) {
        /* The previous best becomes the runner-up, even if `user` was the runner-up. */
        s->second_user = s->best_user;
        s->second = s->best;
        s->best_user = user;
        s->best = d;
        s->best_template = m->template_ids[i];
    } else if (d < s->second) {
        s->second = d;
        s->second_user = user;
    }
}

static float nearest_runner_up(const void *state)
{
    return ((const nearest *)state)->second;
}

static const search_ops NEAREST = {nearest_reset, nearest_consider, nearest_runner_up};

/* The claimed user's nearest template and the nearest template of anybody else. `mine` is
 * found by its own scan of the user's rows, so a reset leaves it. */
typedef struct claim {
    int64_t user;
    float mine, theirs;
} claim;

static void claim_reset(void *state)
{
    ((claim *)state)->theirs = INFINITY;
}

static void claim_consider(void *state, const fg_matcher *m, size_t i, const float *probe)
{
    claim *c = state;
    float d = fg_matrix_squared(m->rows + i * FG_DESCRIPTOR_DIM, probe);
    if (m->user_ids[i] == c->user) {
        if (d < c->mine) c->mine = d;
    } else if (d < c->theirs) {
        c->theirs = d;
    }
}

static float claim_runner_up(const void *state)
{
    return ((const claim *)state)->theirs;
}

static const search_ops CLAIM = {claim_reset, claim_consider, claim_runner_up};

/* --- the quantised first pass --------------------------------------------------------------- */

typedef struct candidate {
    float score; /* larger is nearer */
    size_t row;
} candidate;

/* The probe, quantised, and the bound on the error of an approximate squared distance. */
typedef struct qprobe {
    int8_t q[FG_SCAN_ROW];
    double inv_scale;
    double eps;
} qprobe;

static void quantise_probe(const fg_matcher *m, const float *probe, qprobe *p)
{
    double residual;
    p->inv_scale = fg_scan_quantise(probe, p->q, &residual);
    /* |p.r - p^.r^| <= |p| |r - r^| + |p - p^| |r^|, with |p| = 1 and |r^| <= 1 + residual; the
     * squared distance is 2 - 2 p.r, plus float rounding in the unit lengths and the sums. */
    p->eps = 2 * (m->max_residual * (1 + 1e-6) + residual * (1 + m->max_residual + 1e-6)) + 1e-4;
}

static double approx_distance(const qprobe *p, float score)
{
    return 2 - 2 * (double)score * p->inv_scale;
}

static int compare_rows(const void *a, const void *b)
{
    size_t x = ((const candidate *)a)->row, y = ((const candidate *)b)->row;
    return (x > y) - (x < y);
}

/* The TOP_K rows of highest score, sorted by row; *left_out = the approximate squared distance
 * that every row left out reaches or exceeds (INFINITY when none was left out). */
static size_t scan_top(const fg_matcher *m, const qprobe *p, candidate *top, double *left_out)
{
    float scores[BLOCK], cut = -INFINITY;
    size_t n = 0, low = 0;
    for (size_t b = 0; b < m->count; b += BLOCK) {
        size_t len = m->count - b < BLOCK ? m->count - b : BLOCK;
        fg_scan_scores(m->q + b * FG_SCAN_ROW, m->inv_scale + b, len, p->q, scores);
        for (size_t i = 0; i < len; i++) {
            if (!(scores[i] > cut)) continue;
            if (n < TOP_K) {
                top[n++] = (candidate){scores[i], b + i};
                if (n < TOP_K) continue;
            } else {
                top[low] = (candidate){scores[i], b + i};
            }
            low = 0;
            for (size_t k = 1; k < TOP_K; k++)
                if (top[k].score < top[low].score) low = k;
            cut = top[low].score;
        }
    }
    *left_out = n < TOP_K || m->count == TOP_K ? INFINITY : approx_distance(p, cut);
    qsort(top, n, sizeof *top, compare_rows);
    return n;
}

/* Every row whose approximate squared distance is at most `bound`, in row order, into *rows
 * (malloc'd). Returns the count, or (size_t)-1 past WIDE_CAP or out of memory. */
static size_t scan_within(const fg_matcher *m, const qprobe *p, double bound, size_t **rows)
{
    float scores[BLOCK];
    double least = (2 - bound) / (2 * p->inv_scale);
    size_t n = 0;
    *rows = malloc(WIDE_CAP * sizeof **rows);
    if (!*rows) return (size_t)-1;
    least -= fabs(least) * 1e-6;
    for (size_t b = 0; b < m->count; b += BLOCK) {
        size_t len = m->count - b < BLOCK ? m->count - b : BLOCK;
        fg_scan_scores(m->q + b * FG_SCAN_ROW, m->inv_scale + b, len, p->q, scores);
        for (size_t i = 0; i < len; i++) {
            if ((double)scores[i] < least) continue;
            if (n == WIDE_CAP) {
                free(*rows);
                *rows = NULL;
                return (size_t)-1;
            }
            (*rows)[n++] = b + i;
        }
    }
    return n;
}

/* --- searches ------------------------------------------------------------------------------- */

/* The plain float32 scan of every row. */
static void scan_all(const fg_matcher *m, const float *probe, const search_ops *ops, void *state)
{
    ops->reset(state);
    for (size_t i = 0; i < m->count; i++)
        ops->consider(state, m, i, probe);
}

/* The two-pass search of the header comment. Caller holds the read lock. */
static void scan_quantised(fg_matcher *m, const float *probe, const search_ops *ops, void *state)
{
    candidate top[TOP_K];
    qprobe p;
    double left_out, runner_up;
    size_t n, *rows;

    quantise_probe(m, probe, &p);
    n = scan_top(m, &p, top, &left_out);
    ops->reset(state);
    for (size_t k = 0; k < n; k++)
        ops->consider(state, m, top[k].row, probe);
    runner_up = ops->runner_up(state);
    if (isinf(left_out) || runner_up < left_out - p.eps) return;
    if (isfinite(runner_up)) {
        atomic_fetch_add(&m->second_passes, 1);
        n = scan_within(m, &p, runner_up + p.eps, &rows);
        if (n != (size_t)-1) {
            ops->reset(state);
            for (size_t k = 0; k < n; k++)
                ops->consider(state, m, rows[k], probe);
            free(rows);
            return;
        }
    }
    atomic_fetch_add(&m->full_scans, 1);
    scan_all(m, probe, ops, state);
}

static void search(fg_matcher *m, const float *descriptor, fg_match_result *result, int exact)
{
    float probe[FG_DESCRIPTOR_DIM];
    nearest s;
    nearest_reset(&s);
    if (fg_matrix_unit(descriptor, probe) == 0) { /* a zero probe matches nobody */
        pthread_rwlock_rdlock(&m->lock);
        if (exact)
            scan_all(m, probe, &NEAREST, &s);
        else
            scan_quantised(m, probe, &NEAREST, &s);
        pthread_rwlock_unlock(&m->lock);
    }
    result->best_user = s.best_user;
    result->best_template = s.best_template;
    result->best_distance = sqrtf(s.best);
    result->runner_up_user = s.second_user;
    result->runner_up_distance = sqrtf(s.second);
}

void fg_matcher_search(fg_matcher *m, const float descriptor[FG_DESCRIPTOR_DIM],
                       fg_match_result *result)
{
    search(m, descriptor, result, 0);
}

void fg_matcher_search_exact(fg_matcher *m, const float descriptor[FG_DESCRIPTOR_DIM],
                             fg_match_result *result)
{
    search(m, descriptor, result, 1);
}

/* 1:1: the claimed user's own rows exactly (a pass over the ids), everybody else as in a
 * search. */
static float verify(fg_matcher *m, int64_t user_id, const float *descriptor, float *others,
                    int exact)
{
    float probe[FG_DESCRIPTOR_DIM];
    claim c = {user_id, INFINITY, INFINITY};
    if (fg_matrix_unit(descriptor, probe) == 0) {
        pthread_rwlock_rdlock(&m->lock);
        if (exact) {
            scan_all(m, probe, &CLAIM, &c);
        } else {
            for (size_t i = 0; i < m->count; i++)
                if (m->user_ids[i] == user_id) claim_consider(&c, m, i, probe);
            scan_quantised(m, probe, &CLAIM, &c);
        }
        pthread_rwlock_unlock(&m->lock);
    }
    if (others) *others = sqrtf(c.theirs);
    return sqrtf(c.mine);
}

float fg_matcher_verify(fg_matcher *m, int64_t user_id, const float descriptor[FG_DESCRIPTOR_DIM],
                        float *others)
{
    return verify(m, user_id, descriptor, others, 0);
}

float fg_matcher_verify_exact(fg_matcher *m, int64_t user_id,
                              const float descriptor[FG_DESCRIPTOR_DIM], float *others)
{
    return verify(m, user_id, descriptor, others, 1);
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
