/*
 * match.h - the in-memory template matrix: 1:N identification and 1:1 verification.
 *
 * A matcher holds every enrolled template (a 128-d descriptor tagged with its user id and
 * template id) in one contiguous row-major float matrix, so a search is a single linear scan
 * with good cache behaviour. Ids are the store's ids; the matcher never sees usernames.
 *
 * Searches are exact: a quantised SIMD first pass and an exact float32 re-rank of its best
 * candidates give the same answer as a float32 scan of every row (match.c says how). Memory:
 * 664 bytes per template, about 90 per user.
 *
 * A search answers "which user is nearest": a user's distance is the distance (fg_match_distance:
 * between the descriptors scaled to unit length) to their closest template, and the result names
 * the best user and the runner-up user (a different user), so the caller can apply a threshold and
 * a margin (fg_match_decide).
 *
 * Threads: every function is safe to call from several threads at once (an internal
 * reader/writer lock: searches share it, changes take it exclusively).
 */
#ifndef FG_MATCH_H
#define FG_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"
#include "match/policy.h"

typedef struct fg_matcher fg_matcher;

/* The outcome of a 1:N search. Ids are 0 and distances INFINITY when absent. */
typedef struct fg_match_result {
    int64_t best_user;      /* user whose closest template is nearest */
    int64_t best_template;  /* that template */
    float best_distance;    /* fg_match_distance to it */
    int64_t runner_up_user; /* the nearest user other than best_user */
    float runner_up_distance;
} fg_match_result;

/* Creates an empty matcher. Returns FG_OK or FG_ENOMEM. Free with fg_matcher_free. */
int fg_matcher_new(fg_matcher **out);
void fg_matcher_free(fg_matcher *m);

/* Adds one template. Returns FG_OK, FG_ENOMEM, or FG_EINVAL (ids must be > 0 and the
 * descriptor finite and not zero). Template ids are the store's and unique: not checked here, which
 * would make loading N templates O(N^2). */
int fg_matcher_add(fg_matcher *m, int64_t user_id, int64_t template_id,
                   const float descriptor[FG_DESCRIPTOR_DIM]);

/* Removes every template of user_id; returns how many were removed. */
size_t fg_matcher_remove_user(fg_matcher *m, int64_t user_id);

/* Number of templates held, and of distinct users holding them (O(1)). */
size_t fg_matcher_templates(fg_matcher *m);
size_t fg_matcher_users(fg_matcher *m);

/* 1:N: fills *result with the best and runner-up users for the probe descriptor. With an empty
 * matcher (or a zero probe) both users are 0 and both distances INFINITY. */
void fg_matcher_search(fg_matcher *m, const float probe[FG_DESCRIPTOR_DIM],
                       fg_match_result *result);

/* 1:1: the distance from the probe to user_id's closest template (INFINITY if the user has
 * none), and in *others the distance to the nearest template of any other user (INFINITY if
 * there is none; others may be NULL). */
float fg_matcher_verify(fg_matcher *m, int64_t user_id, const float probe[FG_DESCRIPTOR_DIM],
                        float *others);

/* The plain float32 scans of every row that the two functions above must equal, to the bit: the
 * reference for tests and the benchmark. */
void fg_matcher_search_exact(fg_matcher *m, const float probe[FG_DESCRIPTOR_DIM],
                             fg_match_result *result);
float fg_matcher_verify_exact(fg_matcher *m, int64_t user_id, const float probe[FG_DESCRIPTOR_DIM],
                              float *others);

/* How many searches so far needed the second pass over every row within the runner-up's
 * distance, and how many fell back to the float32 scan of every row. */
void fg_matcher_stats(fg_matcher *m, size_t *second_passes, size_t *full_scans);

/* Scores an attempt of n (1..FG_MATCH_MAX_FRAMES) descriptors of one person (frames of a
 * camera, or sign-up photos): each frame's distance to a user's nearest template, and the
 * attempt's distance is the mean of the majority (n/2 + 1) of the smallest of those (one frame:
 * its distance; three: the best two), which keeps a single-frame FAR while a blinked or blurred
 * frame costs nothing. Fills *out with the users the attempt could be (the nearest and runner-up
 * users of each frame, and `claim` when it is not 0) or, with every_user, every enrolled user,
 * each with the distance and cohort statistics, and the attempt's own cohort statistics: the
 * policy's decisions take it (policy.h); free with fg_match_scores_free. The cohort costs
 * O(cohort templates) per frame whatever the population. FG_EINVAL for a zero descriptor or a
 * bad n, FG_ENOMEM. */
int fg_matcher_score(fg_matcher *m, const float (*probes)[FG_DESCRIPTOR_DIM], size_t n,
                     int64_t claim, int every_user, fg_match_scores *out);

/* The most users in the cohort (default 1024; the first to enrol): the statistics of a larger
 * population are estimated from them. */
void fg_matcher_set_cohort(fg_matcher *m, size_t max_users);

/* The policy on the enrolled population itself, leave-one-out: every template of the cohort (at
 * most 2,000, a stride through them) is tried as an impostor against every other cohort user,
 * with the cohort statistics it is not part of. */
typedef struct fg_policy_summary {
    size_t users, templates;
    int estimated;   /* 1: thresholds from the cohort statistics; 0: fallback or fixed */
    float threshold; /* the median threshold those impostor attempts faced */
    float threshold_low, threshold_high; /* its 5th and 95th percentiles */
    size_t pairs, accepted;              /* impostor attempts tried, accepted */
    double estimated_far;                /* accepted / pairs (0 without pairs) */
} fg_policy_summary;

int fg_matcher_policy_summary(fg_matcher *m, const fg_policy *p, fg_policy_summary *out);

/* The accept rule for 1:N: the best distance is under threshold and the runner-up user is
 * further away by at least margin (no runner-up counts as infinitely far). Returns 1 to accept. */
int fg_match_decide(const fg_match_result *result, float threshold, float margin);

/* The accept rule for 1:1: the claimed user's distance is under threshold and no other user is
 * nearer than the claimed one (a look-alike closer than the claimed user means the claim is
 * doubtful). Returns 1 to accept. */
int fg_match_decide_claim(float claimed, float others, float threshold);

#endif
