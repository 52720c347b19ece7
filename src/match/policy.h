/*
 * policy.h - the accept rule that fits the enrolled population.
 *
 * How close two different people's descriptors come depends on the population: the threshold
 * calibrated on LFW (0.38, FAR 0.1% there) accepts 13% of cross-person pairs among Chinese
 * celebrities and 76% among Korean idols (docs/EVAL.md). So the threshold is not one number:
 * every decision is S-normalised against the enrolled users (cohort score normalisation),
 *
 *   s = ((d - mu_u) / sd_u + (d - mu_p) / sd_p) / 2,  accept when s < z,
 *
 * where d is the attempt's distance to the claimed (or nearest) user u, mu_u/sd_u the distances
 * from the other cohort users' templates to u ("how close do other people come to u"), and
 * mu_p/sd_p the attempt's own distances to the cohort users but u ("how close does this face
 * come to people"); the cohort is the enrolled users, up to a bound (match.h). For impostors s is close to a standard normal in every population measured,
 * so z = Phi^-1(target FAR) - FG_POLICY_Z_OFFSET holds the false-accept rate near the target
 * whoever is enrolled. In distance terms this is a threshold per decision (fg_policy_threshold),
 * never above the ceiling (the LFW calibration: LFW users lose nothing) and, while fewer than
 * min_users are enrolled to estimate from, a fixed conservative fallback.
 *
 * Chosen over a global threshold from the population's mean impostor distance, per-user
 * thresholds (local scale, nearest other users), Z-norm and T-norm alone: on the tuning parts
 * of the data it had the highest TAR on the hardest population at FAR <= 0.1% (docs/EVAL.md).
 *
 * These are pure functions of the cohort statistics; the matcher keeps the statistics
 * (fg_matcher_score, match.h). A store that keeps templates elsewhere only needs the same
 * statistics to decide the same way.
 */
#ifndef FG_MATCH_POLICY_H
#define FG_MATCH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"

#define FG_POLICY_TARGET_FAR 1e-3
/* Impostor S-scores have a heavier lower tail than a standard normal, the more so when the
 * impostor's own face is not enrolled (the case that matters): with z = Phi^-1(0.001) the FAR on
 * the tuning parts reached 0.13% (Korean idols, one template per user) and 0.11% (LFW DevTrain,
 * three); 0.3 lower kept every tuning part at or under 0.09% with one or three templates. */
#define FG_POLICY_Z_OFFSET 0.3
/* The fallback threshold: the largest threshold with FAR <= 0.1% on the hardest tuning
 * population (Korean idols, image-split tuning half: 0.236 with one template per user, 0.213 with
 * three), rounded down. */
#define FG_POLICY_FALLBACK 0.21f
/* Cohort statistics of fewer users are too noisy: on random look-alike sub-populations of the
 * tuning part (Korean idols, one template each, the impostor not enrolled) S-norm's FAR was
 * 0.45% with 8 users, 0.22% with 10, 0.13% with 12 and 0.04% with 15. */
#define FG_POLICY_MIN_USERS 15
/* Frames one attempt may hold (fg_matcher_score). */
#define FG_MATCH_MAX_FRAMES 16
/* The 1:N margin to the runner-up user at the ceiling (scaled with the threshold). */
#define FG_POLICY_MARGIN 0.035f
/* Standard deviations are floored so a cohort of near-identical distances cannot blow up. */
#define FG_POLICY_MIN_SD 1e-3

/* Mean and standard deviation of a set of distances. */
typedef struct fg_match_stats {
    double mean, sd;
    size_t n;
} fg_match_stats;

/* From the sum and sum of squares of n values (sd 0 when n < 2). */
fg_match_stats fg_match_stats_of(double sum, double sum2, size_t n);

typedef struct fg_policy {
    double target_far; /* FAR the rule aims at on the enrolled population, (0, 0.5) */
    float ceiling;     /* never accept at or above this distance (FG_MATCH_THRESHOLD) */
    float fallback;    /* the threshold while fewer than min_users are enrolled */
    int min_users;     /* users needed before the cohort statistics are used */
    float margin;      /* 1:N margin to the runner-up at the ceiling, scaled with the threshold */
    int fixed;         /* 1: the threshold is the ceiling, always (the former behaviour) */
    double z;          /* the S-score threshold, derived from target_far by fg_policy_ready */
} fg_policy;

/* Fills *p with the defaults above for a ceiling (FG_MATCH_THRESHOLD, or the TTA one) and a
 * 1:N margin, ready to use. */
void fg_policy_init(fg_policy *p, float ceiling, float margin);

/* Checks the fields and derives z = Phi^-1(target_far) - FG_POLICY_Z_OFFSET: call after
 * changing any. FG_OK, or FG_EINVAL with a message naming the bad field. */
int fg_policy_ready(fg_policy *p, fg_error *err);

/* The distance under which an attempt is accepted as one user, with `users` enrolled: user is
 * the user's cohort statistics, probe the attempt's distances to the other enrolled users. The
 * fallback when users < min_users or either cohort has fewer than two distances; never above
 * the ceiling. */
float fg_policy_threshold(const fg_policy *p, size_t users, const fg_match_stats *user,
                          const fg_match_stats *probe);

/* The 1:N margin at a threshold: distances shrink with the population, so does the margin. */
float fg_policy_margin(const fg_policy *p, float threshold);

/* ---------------------------------------------------------------------------------------------
 * Decisions on an attempt's scores against every enrolled user
 */

/* One enrolled user's score for an attempt. */
typedef struct fg_match_score {
    int64_t user;
    float distance;        /* the attempt's distance to the user */
    fg_match_stats cohort; /* the user's cohort statistics */
    int in_cohort;         /* the user is one of the cohort: their distance is in the sums below */
} fg_match_score;

/* An attempt against the population (fg_matcher_score fills it): the users it could be (or
 * every user), and its own cohort statistics. */
typedef struct fg_match_scores {
    fg_match_score *users; /* by ascending distance; owned */
    size_t count;
    size_t population; /* users enrolled */
    double sum, sum2;  /* of the attempt's distances to the cohort users */
    size_t n;          /* how many cohort users */
} fg_match_scores;

void fg_match_scores_free(fg_match_scores *s);

/* The attempt's cohort statistics without users[skip] (and without users[also] when also <
 * count: the attempt's own enrolment, in an evaluation). */
fg_match_stats fg_match_scores_without(const fg_match_scores *s, size_t skip, size_t also);

/* The threshold of users[i] for this attempt. */
float fg_policy_threshold_at(const fg_policy *p, const fg_match_scores *s, size_t i);

typedef struct fg_match_decision {
    int accepted;
    int64_t user;      /* 1:N the nearest user, 1:1 the claimed one; 0 when none */
    float distance;    /* the attempt's distance to them; INFINITY when none */
    float threshold;   /* their accept threshold for this attempt */
    float margin;      /* 1:N: the margin the runner-up must keep; 1:1: 0 */
    int64_t runner_up; /* the nearest other user; 0 when none */
    float runner_up_distance;
} fg_match_decision;

/* 1:N: the nearest user, accepted when under their threshold and the runner-up is further by
 * the margin. */
void fg_policy_identify(const fg_policy *p, const fg_match_scores *s, fg_match_decision *out);

/* 1:1: the claimed user, accepted when under their threshold and nobody is nearer. */
void fg_policy_verify(const fg_policy *p, const fg_match_scores *s, int64_t user,
                      fg_match_decision *out);

/* The duplicate check of a sign-up or an added face: the first user other than `except` whom the
 * attempt is within the threshold of (it could log in as them), or 0. */
int64_t fg_policy_collision(const fg_policy *p, const fg_match_scores *s, int64_t except);

#endif
