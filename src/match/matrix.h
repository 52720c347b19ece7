/*
 * matrix.h - the matcher's data, shared by the files of match/ (not part of its interface).
 *
 * Rows are unit-length descriptors (and their int8 copies for the first pass of a search) with
 * parallel arrays of ids. Every distinct user has a slot (a dense index; rows record theirs).
 *
 * The cohort of S-norm (policy.h): up to cohort_max users (the first to enrol; a deleted one's
 * place goes to another user), so its cost stays bounded however many are enrolled. A user's
 * cohort statistics (the distances from every cohort template of other users to the user's
 * nearest template) are computed when first needed and kept until the cohort or the user's
 * templates change (cohort_version).
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
    int in_cohort;
    /* the user's cohort statistics, valid while version == the matcher's cohort_version */
    double sum, sum2;
    size_t n;
    uint64_t version;
} fg_match_user;

#define FG_MATCH_COHORT_USERS 1024 /* the default cohort_max */

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
    size_t cohort_max, cohort_users;
    _Atomic uint64_t cohort_version; /* starts at 1: a user's version 0 is never valid */
    pthread_mutex_t cache_lock; /* the users' cached statistics (written under the read lock) */
};

/* out = d / |d|; 0, or -1 when d is zero or not finite. */
int fg_matrix_unit(const float d[FG_DESCRIPTOR_DIM], float out[FG_DESCRIPTOR_DIM]);

/* The slot of user id, or -1. Caller holds the lock. */
long fg_matrix_slot(const struct fg_matcher *m, int64_t id);

/* Squared Euclidean distance of two rows (the match distance squared). */
float fg_matrix_squared(const float *a, const float *b);

/* Cohort upkeep (cohort.c), caller holding the write lock: after a row of `slot` was appended
 * (new_user: the slot was just made), and before the rows of `slot` are removed. O(1), but a
 * cohort user's removal looks for a user to take its place (O(users)). */
void fg_matrix_cohort_added(struct fg_matcher *m, uint32_t slot, int new_user);
void fg_matrix_cohort_removing(struct fg_matcher *m, uint32_t slot);

#endif
