/* test-match-cohort.c - the matcher's cohort statistics stay equal to a brute-force count while
 * templates are added and users removed (in any order), also with a cohort smaller than the
 * population; the candidates of an attempt are its nearest users with the same figures; and an
 * attempt's distance to a user is the mean of the majority of its frames' nearest-template
 * distances. */
#include "harness.h"
#include "match/match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define USERS 23
#define MAX_TEMPLATES 4

static float rows[USERS][MAX_TEMPLATES][FG_DESCRIPTOR_DIM];
static int templates[USERS]; /* how many of each user's rows are in the matcher */
static int enrolled[USERS];
static int cohort[USERS]; /* members of the cohort (every enrolled user unless a test says) */

static float rand_unit(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) & 0xffff) / 65535.0f - 0.5f;
}

/* Distance from x to user u's nearest template. */
static double nearest(const float *x, int u)
{
    double best = INFINITY;
    for (int k = 0; k < templates[u]; k++)
        best = fmin(best, fg_match_distance(x, rows[u][k]));
    return best;
}

/* Brute-force cohort statistics of user u. */
static fg_match_stats brute(int u)
{
    double sum = 0, sum2 = 0;
    size_t n = 0;
    for (int v = 0; v < USERS; v++) {
        if (v == u || !enrolled[v] || !cohort[v]) continue;
        for (int k = 0; k < templates[v]; k++) {
            double d = nearest(rows[v][k], u);
            sum += d, sum2 += d * d, n++;
        }
    }
    return fg_match_stats_of(sum, sum2, n);
}

/* Every enrolled user's statistics as the matcher reports them match brute force. */
static void check_all(fg_matcher *m, const float *probe)
{
    fg_match_scores s;
    size_t users = 0;
    CHECK_EQ_INT(fg_matcher_score(m, (const float(*)[FG_DESCRIPTOR_DIM])probe, 1, 0, 1, &s), FG_OK);
    for (int u = 0; u < USERS; u++)
        users += enrolled[u] != 0;
    CHECK_EQ_INT(s.count, users);
    CHECK_EQ_INT(fg_matcher_users(m), users);
    for (size_t i = 0; i < s.count; i++) {
        int u = (int)s.users[i].user - 1;
        fg_match_stats b = brute(u);
        CHECK_EQ_INT(s.users[i].cohort.n, b.n);
        CHECK_NEAR(s.users[i].cohort.mean, b.mean, 1e-5);
        CHECK_NEAR(s.users[i].cohort.sd, b.sd, 1e-4);
        CHECK_NEAR(s.users[i].distance, nearest(probe, u), 1e-5);
        if (i) CHECK(s.users[i - 1].distance <= s.users[i].distance);
        CHECK_EQ_INT(s.users[i].in_cohort, cohort[u]);
    }
    /* The attempt's own cohort sums: its distances to the cohort users. */
    double sum = 0;
    size_t n = 0;
    for (int u = 0; u < USERS; u++)
        if (enrolled[u] && cohort[u]) sum += nearest(probe, u), n++;
    CHECK_EQ_INT(s.n, n);
    CHECK_NEAR(s.sum, sum, 1e-4);
    fg_match_scores_free(&s);
}

int main(void)
{
    fg_matcher *m = NULL;
    unsigned seed = 11;
    float probe[FG_DESCRIPTOR_DIM], frames[3][FG_DESCRIPTOR_DIM];
    fg_match_scores s;

    /* Clustered users: a shared base, a user offset, a little per-template noise. */
    for (int u = 0; u < USERS; u++) {
        float offset[FG_DESCRIPTOR_DIM];
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            offset[i] = rand_unit(&seed) * 0.3f;
        for (int k = 0; k < MAX_TEMPLATES; k++)
            for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
                rows[u][k][i] = 1.0f + offset[i] + rand_unit(&seed) * 0.1f;
    }
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        probe[i] = 1.0f + rand_unit(&seed) * 0.3f;

    CHECK_EQ_INT(fg_matcher_new(&m), FG_OK);
    /* Interleaved: user u gets its k-th template in round k, so users' templates are not
     * contiguous rows and every add changes its own user's nearest distances. */
    for (int k = 0; k < MAX_TEMPLATES; k++)
        for (int u = 0; u < USERS; u++) {
            if (k >= 1 + u % MAX_TEMPLATES) continue;
            CHECK_EQ_INT(fg_matcher_add(m, u + 1, 100 * (u + 1) + k, rows[u][k]), FG_OK);
            templates[u]++, enrolled[u] = cohort[u] = 1;
        }
    check_all(m, probe);

    /* Removing users (first, middle, last slots) keeps everyone else's sums exact. */
    int gone[] = {0, 11, 22, 5};
    for (size_t g = 0; g < sizeof gone / sizeof gone[0]; g++) {
        CHECK_EQ_INT(fg_matcher_remove_user(m, gone[g] + 1), templates[gone[g]]);
        templates[gone[g]] = 0, enrolled[gone[g]] = 0;
        check_all(m, probe);
    }
    CHECK_EQ_INT(fg_matcher_remove_user(m, 1), 0);
    /* A removed user comes back with other templates. */
    CHECK_EQ_INT(fg_matcher_add(m, 12, 9001, rows[11][3]), FG_OK);
    memcpy(rows[11][0], rows[11][3], sizeof rows[11][0]);
    templates[11] = 1, enrolled[11] = cohort[11] = 1;
    check_all(m, probe);

    /* Several frames: the mean of the best two of three frames' distances. */
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            frames[f][i] = rows[7][1][i] + (f == 2 ? 0.5f : 0.02f * (float)f);
    CHECK_EQ_INT(fg_matcher_score(m, (const float(*)[FG_DESCRIPTOR_DIM])frames, 3, 0, 1, &s),
                 FG_OK);
    for (size_t i = 0; i < s.count; i++) {
        int u = (int)s.users[i].user - 1;
        double d[3] = {nearest(frames[0], u), nearest(frames[1], u), nearest(frames[2], u)};
        double worst = fmax(d[0], fmax(d[1], d[2]));
        CHECK_NEAR(s.users[i].distance, (d[0] + d[1] + d[2] - worst) / 2, 1e-5);
    }
    CHECK_EQ_INT(s.users[0].user, 8); /* the blurred third frame did not matter */
    fg_match_scores_free(&s);
    fg_match_scores_free(&s); /* freeing twice is harmless: it zeroes */

    /* A cohort of five: the first five to enrol; a removed member's place goes to the next. */
    fg_matcher *small = NULL;
    CHECK_EQ_INT(fg_matcher_new(&small), FG_OK);
    fg_matcher_set_cohort(small, 5);
    memset(enrolled, 0, sizeof enrolled), memset(templates, 0, sizeof templates);
    memset(cohort, 0, sizeof cohort);
    for (int u = 0; u < 10; u++) {
        CHECK_EQ_INT(fg_matcher_add(small, u + 1, u + 1, rows[u][0]), FG_OK);
        templates[u] = 1, enrolled[u] = 1, cohort[u] = u < 5;
    }
    check_all(small, probe);
    CHECK_EQ_INT(fg_matcher_remove_user(small, 2), 1);
    enrolled[1] = cohort[1] = 0, templates[1] = 0, cohort[5] = 1;
    check_all(small, probe);
    /* Without every_user: the nearest users (and a claim), with the same figures. */
    fg_match_scores all, few;
    float near[FG_DESCRIPTOR_DIM];
    memcpy(near, rows[7][0], sizeof near);
    near[0] += 0.01f;
    CHECK_EQ_INT(fg_matcher_score(small, (const float(*)[FG_DESCRIPTOR_DIM])near, 1, 0, 1, &all),
                 FG_OK);
    CHECK_EQ_INT(fg_matcher_score(small, (const float(*)[FG_DESCRIPTOR_DIM])near, 1, 10, 0, &few),
                 FG_OK);
    CHECK_EQ_INT(few.count, 3); /* nearest, runner-up, the claimed user 10 */
    CHECK_EQ_INT(few.users[0].user, 8);
    CHECK_EQ_INT(few.users[0].user, all.users[0].user);
    CHECK_EQ_INT(few.users[1].user, all.users[1].user);
    CHECK_NEAR(few.sum, all.sum, 1e-5);
    CHECK_EQ_INT(few.n, 5);
    CHECK_EQ_INT(few.population, 9);
    for (size_t i = 0; i < few.count; i++)
        for (size_t k = 0; k < all.count; k++)
            if (all.users[k].user == few.users[i].user) {
                CHECK_NEAR(few.users[i].distance, all.users[k].distance, 1e-6);
                CHECK_NEAR(few.users[i].cohort.mean, all.users[k].cohort.mean, 1e-6);
                CHECK_EQ_INT(few.users[i].in_cohort, all.users[k].in_cohort);
            }
    fg_match_scores_free(&all);
    fg_match_scores_free(&few);
    fg_matcher_free(small);

    /* Bad attempts. */
    memset(probe, 0, sizeof probe);
    CHECK_EQ_INT(fg_matcher_score(m, (const float(*)[FG_DESCRIPTOR_DIM])probe, 1, 0, 1, &s),
                 FG_EINVAL);
    CHECK_EQ_INT(fg_matcher_score(m, (const float(*)[FG_DESCRIPTOR_DIM])frames, 0, 0, 1, &s),
                 FG_EINVAL);
    CHECK_EQ_INT(s.count, 0);

    fg_matcher_free(m);
    return fg_test_done();
}
