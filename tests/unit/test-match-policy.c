/* test-match-policy.c - the S-normalised threshold: its z for a target FAR, the fallback while
 * too few users are enrolled, the ceiling, the margin, and the 1:N, 1:1 and duplicate-check
 * decisions on hand-made scores; the leave-one-out summary of a matcher. */
#include "harness.h"
#include "match/match.h"

#include <math.h>
#include <string.h>

static fg_match_stats stats(double mean, double sd, size_t n)
{
    fg_match_stats s = {mean, sd, n};
    return s;
}

/* Scores of n users at the given distances (ascending), every user with the same cohort. */
static void make_scores(fg_match_scores *s, fg_match_score *users, const float *d, size_t n,
                        fg_match_stats cohort)
{
    memset(s, 0, sizeof *s);
    s->users = users;
    s->count = n;
    for (size_t i = 0; i < n; i++) {
        users[i].user = (int64_t)i + 1;
        users[i].distance = d[i];
        users[i].cohort = cohort;
        s->sum += d[i], s->sum2 += (double)d[i] * d[i];
    }
}

int main(void)
{
    fg_policy p;
    fg_error err = {0};

    fg_policy_init(&p, FG_MATCH_THRESHOLD, 0.035f);
    CHECK_NEAR(p.target_far, 1e-3, 0);
    CHECK_NEAR(p.z, -3.0902323 - FG_POLICY_Z_OFFSET, 1e-6); /* Phi^-1(0.001) */
    p.target_far = 0.5;
    CHECK_EQ_INT(fg_policy_ready(&p, &err), FG_EINVAL);
    CHECK(strstr(err.message, "target FAR") != NULL);
    p.target_far = 0.0227501319; /* Phi(-2) */
    CHECK_EQ_INT(fg_policy_ready(&p, &err), FG_OK);
    CHECK_NEAR(p.z, -2 - FG_POLICY_Z_OFFSET, 1e-6);
    p.fallback = 0.5f;
    CHECK_EQ_INT(fg_policy_ready(&p, &err), FG_EINVAL);
    fg_policy_init(&p, FG_MATCH_THRESHOLD, 0.035f);
    p.min_users = 2;
    CHECK_EQ_INT(fg_policy_ready(&p, &err), FG_EINVAL);
    fg_policy_init(&p, FG_MATCH_THRESHOLD, 0.035f);

    /* S-norm: with both cohorts N(0.40, 0.05) the threshold is 0.40 + z 0.05. */
    fg_match_stats u = stats(0.40, 0.05, 30), t = stats(0.40, 0.05, 20);
    CHECK_NEAR(fg_policy_threshold(&p, 20, &u, &t), 0.40 + p.z * 0.05, 1e-6);
    /* Unequal cohorts: the average of the two normalised scores equals z at the threshold. */
    t = stats(0.30, 0.02, 20);
    float th = fg_policy_threshold(&p, 20, &u, &t);
    CHECK_NEAR(((th - 0.40) / 0.05 + (th - 0.30) / 0.02) / 2, p.z, 1e-5);
    /* A cohort far away would allow more than the ceiling: capped. */
    u = stats(0.60, 0.06, 30), t = stats(0.62, 0.06, 20);
    CHECK_NEAR(fg_policy_threshold(&p, 20, &u, &t), FG_MATCH_THRESHOLD, 0);
    /* Too few users, or a cohort without spread to estimate from: the fallback. */
    CHECK_NEAR(fg_policy_threshold(&p, FG_POLICY_MIN_USERS - 1, &u, &t), FG_POLICY_FALLBACK, 0);
    fg_match_stats one = stats(0.5, 0, 1);
    CHECK_NEAR(fg_policy_threshold(&p, 20, &one, &t), FG_POLICY_FALLBACK, 0);
    /* A collapsed cohort (sd 0) uses the floor, not a division by zero. */
    fg_match_stats flat = stats(0.30, 0, 30);
    th = fg_policy_threshold(&p, 20, &flat, &flat);
    CHECK_NEAR(th, 0.30 + p.z * FG_POLICY_MIN_SD, 1e-6);
    /* fixed: the former behaviour, the ceiling whatever the population. */
    p.fixed = 1;
    CHECK_NEAR(fg_policy_threshold(&p, 3, &flat, &flat), FG_MATCH_THRESHOLD, 0);
    p.fixed = 0;
    CHECK_NEAR(fg_policy_margin(&p, FG_MATCH_THRESHOLD), 0.035, 1e-7);
    CHECK_NEAR(fg_policy_margin(&p, FG_MATCH_THRESHOLD / 2), 0.0175, 1e-7);

    /* Decisions: 16 users; cohort N(0.35, 0.04) (a look-alike population). */
    enum { USERS = FG_POLICY_MIN_USERS + 1 };
    fg_match_score users[USERS];
    fg_match_scores s;
    float d[USERS];
    for (int i = 0; i < USERS; i++)
        d[i] = 0.30f + 0.01f * (float)i;
    d[0] = 0.12f, d[1] = 0.25f;
    fg_match_decision dec;
    make_scores(&s, users, d, USERS, stats(0.35, 0.04, 40));
    fg_policy_identify(&p, &s, &dec);
    CHECK_EQ_INT(dec.user, 1);
    CHECK(dec.threshold < 0.30f && dec.threshold > 0.12f);
    CHECK(dec.accepted);
    CHECK_EQ_INT(dec.runner_up, 2);
    CHECK_NEAR(dec.margin, fg_policy_margin(&p, dec.threshold), 1e-7);
    fg_policy_verify(&p, &s, 1, &dec);
    CHECK(dec.accepted);
    fg_policy_verify(&p, &s, 2, &dec); /* user 1 is nearer than the claim */
    CHECK(!dec.accepted);
    CHECK_NEAR(dec.distance, 0.25, 1e-7);
    fg_policy_verify(&p, &s, 99, &dec); /* not enrolled */
    CHECK(!dec.accepted && isinf(dec.distance) && dec.user == 99);
    CHECK_EQ_INT(fg_policy_collision(&p, &s, 0), 1);
    CHECK_EQ_INT(fg_policy_collision(&p, &s, 1), 0); /* user 1's own new face */

    /* The same attempt at a distance that 0.38 accepts but this population's threshold does not:
     * refused in every way, and no collision at sign-up. */
    d[0] = 0.26f;
    make_scores(&s, users, d, USERS, stats(0.35, 0.04, 40));
    fg_policy_identify(&p, &s, &dec);
    CHECK(!dec.accepted && dec.distance < FG_MATCH_THRESHOLD);
    CHECK_EQ_INT(fg_policy_collision(&p, &s, 0), 0);
    p.fixed = 1; /* ... which the fixed 0.38 would have accepted, were the runner-up far */
    d[1] = 0.40f;
    make_scores(&s, users, d, USERS, stats(0.35, 0.04, 40));
    fg_policy_identify(&p, &s, &dec);
    CHECK(dec.accepted);
    p.fixed = 0;

    /* The margin: a runner-up too close refuses a 1:N log-in under the threshold. */
    d[0] = 0.12f, d[1] = 0.125f;
    make_scores(&s, users, d, USERS, stats(0.35, 0.04, 40));
    fg_policy_identify(&p, &s, &dec);
    CHECK(!dec.accepted && dec.distance < dec.threshold);

    /* Nobody enrolled. */
    make_scores(&s, users, d, 0, stats(0, 0, 0));
    fg_policy_identify(&p, &s, &dec);
    CHECK(!dec.accepted && dec.user == 0 && isinf(dec.distance));

    /* The summary of a matcher: below min_users the fallback, and the leave-one-out counts. */
    fg_matcher *m = NULL;
    fg_policy_summary sum;
    float row[FG_DESCRIPTOR_DIM];
    CHECK_EQ_INT(fg_matcher_new(&m), FG_OK);
    for (int k = 0; k < 5; k++) {
        memset(row, 0, sizeof row);
        row[k] = 1, row[10] = 0.2f; /* every two users 1.39 apart */
        CHECK_EQ_INT(fg_matcher_add(m, k + 1, k + 1, row), FG_OK);
    }
    CHECK_EQ_INT(fg_matcher_policy_summary(m, &p, &sum), FG_OK);
    CHECK_EQ_INT(sum.users, 5);
    CHECK(!sum.estimated);
    CHECK_EQ_INT(sum.pairs, 20);
    CHECK_NEAR(sum.threshold, FG_POLICY_FALLBACK, 0.001);
    CHECK_EQ_INT(sum.accepted, 0); /* far over the fallback */
    p.fixed = 1;
    CHECK_EQ_INT(fg_matcher_policy_summary(m, &p, &sum), FG_OK);
    CHECK_NEAR(sum.threshold, FG_MATCH_THRESHOLD, 0.001);
    fg_matcher_free(m);
    return fg_test_done();
}
