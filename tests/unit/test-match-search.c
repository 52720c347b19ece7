/* test-match-search.c - 1:N search keeps the nearest and runner-up distinct users; 1:1 verify;
 * the accept rules; removal of a user. */
#include "harness.h"
#include "match/match.h"

#include <math.h>
#include <string.h>

/* Distance between the directions at angles a and b of the first two axes: 2 sin(|a - b| / 2). */
static double apart(double a, double b)
{
    return 2 * sin(fabs(a - b) / 2);
}

/* A descriptor of length len at angle a (radians) in the plane of the first two axes. The match
 * distance ignores the length: it is apart() of the angles. */
static void at(float d[FG_DESCRIPTOR_DIM], double a, float len)
{
    memset(d, 0, FG_DESCRIPTOR_DIM * sizeof(float));
    d[0] = (float)(len * cos(a));
    d[1] = (float)(len * sin(a));
}

/* The angle at match distance dist from angle 0. */
static double angle(double dist)
{
    return 2 * asin(dist / 2);
}

int main(void)
{
    fg_matcher *m = NULL;
    fg_match_result r;
    float d[FG_DESCRIPTOR_DIM], probe[FG_DESCRIPTOR_DIM], others;

    CHECK_EQ_INT(fg_matcher_new(&m), FG_OK);
    at(probe, 0, 1.0f);

    /* Empty matcher: nobody, infinitely far, rejected. */
    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.best_user, 0);
    CHECK(isinf(r.best_distance));
    CHECK(!fg_match_decide(&r, 0.5f, 0.05f));

    /* user 1: templates at distance 0.3 and 0.1; user 2: 0.2; user 3: 0.25 (lengths vary) */
    at(d, angle(0.3), 1.3f);
    CHECK_EQ_INT(fg_matcher_add(m, 1, 10, d), FG_OK);
    at(d, -angle(0.2), 0.7f);
    CHECK_EQ_INT(fg_matcher_add(m, 2, 20, d), FG_OK);
    at(d, angle(0.1), 2.0f);
    CHECK_EQ_INT(fg_matcher_add(m, 1, 11, d), FG_OK);
    at(d, angle(0.25), 1.1f);
    CHECK_EQ_INT(fg_matcher_add(m, 3, 30, d), FG_OK);
    CHECK_EQ_INT(fg_matcher_add(m, 0, 31, d), FG_EINVAL);
    d[5] = NAN;
    CHECK_EQ_INT(fg_matcher_add(m, 4, 40, d), FG_EINVAL);
    memset(d, 0, sizeof d); /* a zero descriptor has no direction */
    CHECK_EQ_INT(fg_matcher_add(m, 4, 41, d), FG_EINVAL);
    CHECK_EQ_INT(fg_matcher_templates(m), 4);
    CHECK_EQ_INT(fg_matcher_users(m), 3);

    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.best_user, 1);
    CHECK_EQ_INT(r.best_template, 11);
    CHECK_NEAR(r.best_distance, 0.1, 1e-6);
    CHECK_EQ_INT(r.runner_up_user, 2);
    CHECK_NEAR(r.runner_up_distance, 0.2, 1e-6);
    CHECK_NEAR(r.best_distance,
               fg_match_distance(probe, (float[FG_DESCRIPTOR_DIM]){(float)(2 * cos(angle(0.1))),
                                                                   (float)(2 * sin(angle(0.1)))}),
               1e-6);
    CHECK(fg_match_decide(&r, 0.5f, 0.05f));
    CHECK(!fg_match_decide(&r, 0.5f, 0.15f)); /* runner-up too close for this margin */
    CHECK(!fg_match_decide(&r, 0.1f, 0.0f));  /* strictly under the threshold */

    /* fg_match_distance ignores length; a zero descriptor is at 2 from everything. */
    at(d, angle(0.3), 7.0f);
    CHECK_NEAR(fg_match_distance(probe, d), 0.3, 1e-6);
    CHECK_NEAR(fg_match_distance(d, d), 0, 1e-7);
    at(d, 3.14159265358979, 0.5f); /* opposite direction */
    CHECK_NEAR(fg_match_distance(probe, d), 2, 1e-6);
    memset(d, 0, sizeof d);
    CHECK_EQ_INT((int)fg_match_distance(probe, d), 2);

    /* A zero probe matches nobody. */
    fg_matcher_search(m, d, &r);
    CHECK_EQ_INT(r.best_user, 0);
    CHECK(isinf(fg_matcher_verify(m, 1, d, &others)) && isinf(others));

    /* The runner-up is a different user even when the best user has two near templates. */
    at(probe, angle(0.29), 5.0f);
    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.best_user, 1);
    CHECK_EQ_INT(r.runner_up_user, 3);
    CHECK_NEAR(r.best_distance, apart(angle(0.29), angle(0.3)), 1e-6);
    CHECK_NEAR(r.runner_up_distance, apart(angle(0.29), angle(0.25)), 1e-6);

    /* 1:1 */
    at(probe, 0, 1.0f);
    CHECK_NEAR(fg_matcher_verify(m, 2, probe, &others), 0.2, 1e-6);
    CHECK_NEAR(others, 0.1, 1e-6);
    CHECK(!fg_match_decide_claim(0.2f, others, 0.5f)); /* user 1 is nearer than the claim */
    CHECK_NEAR(fg_matcher_verify(m, 1, probe, &others), 0.1, 1e-6);
    CHECK(fg_match_decide_claim(0.1f, others, 0.5f));
    CHECK(isinf(fg_matcher_verify(m, 99, probe, NULL)));
    CHECK(!fg_match_decide_claim(INFINITY, 0.3f, 0.5f));

    /* Removing user 1 leaves 2 as the best; a sole user has no runner-up and is accepted. */
    CHECK_EQ_INT(fg_matcher_remove_user(m, 1), 2);
    CHECK_EQ_INT(fg_matcher_remove_user(m, 1), 0);
    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.best_user, 2);
    CHECK_EQ_INT(r.runner_up_user, 3);
    CHECK_EQ_INT(fg_matcher_remove_user(m, 3), 1);
    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.runner_up_user, 0);
    CHECK(isinf(r.runner_up_distance));
    CHECK(fg_match_decide(&r, 0.5f, 0.05f));

    fg_matcher_free(m);
    fg_matcher_free(NULL);
    return fg_test_done();
}
