/* test-match-many.c - a larger matrix (growth past the initial capacity) agrees with a brute
 * force per-user minimum of fg_match_distance. */
#include "harness.h"
#include "match/match.h"

#include <math.h>
#include <stdlib.h>

#define USERS 97
#define PER_USER 5

static float rand_unit(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (float)((*state >> 8) & 0xffff) / 65535.0f - 0.5f;
}

int main(void)
{
    static float rows[USERS * PER_USER][FG_DESCRIPTOR_DIM];
    float probe[FG_DESCRIPTOR_DIM], user_min[USERS];
    fg_matcher *m = NULL;
    fg_match_result r;
    unsigned seed = 7;
    int best = -1, second = -1;

    CHECK_EQ_INT(fg_matcher_new(&m), FG_OK);
    for (int i = 0; i < USERS * PER_USER; i++) {
        for (int k = 0; k < FG_DESCRIPTOR_DIM; k++)
            rows[i][k] = rand_unit(&seed) * 0.2f;
        CHECK_EQ_INT(fg_matcher_add(m, 1 + i % USERS, 1000 + i, rows[i]), FG_OK);
    }
    CHECK_EQ_INT(fg_matcher_templates(m), USERS * PER_USER);
    CHECK_EQ_INT(fg_matcher_users(m), USERS);
    for (int k = 0; k < FG_DESCRIPTOR_DIM; k++)
        probe[k] = rand_unit(&seed) * 0.2f;

    for (int u = 0; u < USERS; u++)
        user_min[u] = INFINITY;
    for (int i = 0; i < USERS * PER_USER; i++) {
        float d = fg_match_distance(rows[i], probe);
        if (d < user_min[i % USERS]) user_min[i % USERS] = d;
    }
    for (int u = 0; u < USERS; u++) {
        if (best < 0 || user_min[u] < user_min[best]) {
            second = best;
            best = u;
        } else if (second < 0 || user_min[u] < user_min[second]) {
            second = u;
        }
    }
    fg_matcher_search(m, probe, &r);
    CHECK_EQ_INT(r.best_user, best + 1);
    CHECK_EQ_INT(r.runner_up_user, second + 1);
    CHECK_NEAR(r.best_distance, user_min[best], 1e-5);
    CHECK_NEAR(r.runner_up_distance, user_min[second], 1e-5);
    CHECK_NEAR(fg_matcher_verify(m, best + 1, probe, NULL), user_min[best], 1e-5);

    fg_matcher_free(m);
    return fg_test_done();
}
