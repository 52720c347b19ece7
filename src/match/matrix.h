/*
 * matrix.h - the matcher's data, shared by the files of match/ (not part of its interface).
 *
 * Rows are unit-length descriptors (and their int8 copies for the first pass of a search) with
 * parallel arrays of ids. Every distinct user has a slot
 * (a dense index, rows record theirs) with the cohort sums S-norm needs: over every template x
 * of every other user, the distance from x to this user's nearest template (fg_match_stats).
 */
#ifndef FG_MATCH_MATRIX_H
#define FG_MATCH_MATRIX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "facegate.h"

typedef struct fg_match_user {
    int64_t id;
    size_t templates;
    double sum, sum2; /* of the cohort distances to this user */
    size_t n;         /* how many */
} fg_match_user;

struct fg_matcher {
    pthread_rwlock_t lock;
    float *rows;      /* count x FG_DESCRIPTOR_DIM, unit length */
    int8_t *q;        /* count x FG_DESCRIPTOR_DIM, quantised rows (match.c, scan.c) */
    float *inv_scale; /* count: a quantised row times this approximates the row */
    int64_t *user_ids;
    int64_t *template_ids;
    uint32_t *slots; /* count: the row's user slot */
    size_t count;
    size_t capacity;
    double max_residual; /* largest |row - dequantised row| of any row added */
    atomic_size_t second_passes, full_scans;
    fg_match_user *users; /* n_users slots */
    size_t n_users, users_capacity;
    /* user id -> slot + 1 (0: empty), open addressing, at most half full */
    int64_t *index_keys;
    uint32_t *index_slots;
    size_t index_capacity;
    int cohort_stale; /* the cohort sums missed a change (out of memory): rebuilt at the next */
};

/* out = d / |d|; 0, or -1 when d is zero or not finite. */
int fg_matrix_unit(const float d[FG_DESCRIPTOR_DIM], float out[FG_DESCRIPTOR_DIM]);

/* Squared Euclidean distance of two rows (the match distance squared). */
float fg_matrix_squared(const float *a, const float *b);

/* For every slot, the match distance from the unit-length vector x to the slot's nearest
 * template, into nearest[n_users]. Caller holds the lock. */
void fg_matrix_nearest(const struct fg_matcher *m, const float *x, float *nearest);

/* Cohort upkeep (cohort.c), caller holding the write lock: after row `row` was appended (its
 * slot already counts it), and before the rows of `slot` are removed. Each is O(templates) per
 * template involved. Out of memory marks the sums stale; the next change rebuilds them. */
void fg_matrix_cohort_added(struct fg_matcher *m, size_t row);
void fg_matrix_cohort_removing(struct fg_matcher *m, uint32_t slot);

#endif
