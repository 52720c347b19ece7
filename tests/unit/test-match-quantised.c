/* test-match-quantised.c - the quantised 1:N and 1:1 searches give the float32 scan's answer to
 * the bit, with both kernels: on random templates with planted near-duplicates (a look-alike
 * user 1e-4 from the genuine one, the genuine user's second template in between, so the
 * runner-up user is not the runner-up template), a crowd larger than the first pass keeps
 * (second pass) and one user holding every candidate (float32 fallback); the AVX2 and portable
 * int8 kernels agree, without saturating at +-127. */
#include "harness.h"
#include "match/match.h"
#include "match/scan.h"
#include "synthetic.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIM FG_DESCRIPTOR_DIM
#define RANDOM_ROWS 20000
#define PROBES 40

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Search and verify (for the best user and for a user far away) equal the float32 scans. */
static int exact_everywhere(fg_matcher *m, const float *probe, fg_match_result *out)
{
    fg_match_result fast, exact;
    float o1, o2;
    int ok;
    fg_matcher_search(m, probe, &fast);
    fg_matcher_search_exact(m, probe, &exact);
    ok = fast.best_user == exact.best_user && fast.best_template == exact.best_template &&
         fast.runner_up_user == exact.runner_up_user &&
         same_bits(fast.best_distance, exact.best_distance) &&
         same_bits(fast.runner_up_distance, exact.runner_up_distance);
    for (int64_t user = exact.best_user; user != 0; user = user == 1 ? 0 : 1) {
        float mine = fg_matcher_verify(m, user, probe, &o1);
        ok = ok && same_bits(mine, fg_matcher_verify_exact(m, user, probe, &o2)) &&
             same_bits(o1, o2);
    }
    if (out) *out = exact;
    return ok;
}

static void check_kernels(void)
{
    static int8_t rows[37 * DIM];
    float inv[37], a[37], b[37];
    int8_t probe[DIM];
    for (int i = 0; i < 37 * DIM; i++)
        rows[i] = (int8_t)(i % 5 == 0   ? -127
                           : i % 5 == 1 ? 127
                                        : (int)(fg_synthetic_uniform() * 255) - 127);
    for (int i = 0; i < DIM; i++)
        probe[i] = (int8_t)(i % 2 ? 127 : -127);
    for (int r = 0; r < 37; r++)
        inv[r] = 0.001f * (float)(r + 1);
    fg_scan_select(0);
    fg_scan_scores(rows, inv, 37, probe, a);
    fg_scan_select(1);
    fg_scan_scores(rows, inv, 37, probe, b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* Row 0 alternates -127, 127, x, x, x: check one full dot product by hand. */
    {
        int32_t dot = 0;
        for (int i = 0; i < DIM; i++)
            dot += rows[i] * probe[i];
        CHECK(same_bits(a[0], (float)dot * inv[0]));
    }
}

int main(void)
{
    static float rows[RANDOM_ROWS][DIM];
    static float probes[PROBES][DIM];
    int64_t genuine_of[PROBES];
    float r[DIM];
    fg_matcher *m = NULL;
    fg_match_result res;
    size_t second = 0, full = 0;
    int64_t next_user = 100000, template_id = 1;
    int exact_count = 0, runner_up_is_twin = 0;

    check_kernels();
    CHECK_EQ_INT(fg_matcher_new(&m), FG_OK);
    for (int i = 0; i < RANDOM_ROWS; i++) {
        fg_synthetic_unit(rows[i]);
        CHECK_EQ_INT(fg_matcher_add(m, 1 + i / 3, template_id++, rows[i]), FG_OK);
    }
    /* Planted near-duplicates around each probe, added among more random rows. */
    for (int q = 0; q < PROBES; q++) {
        double d = 0.2 + 0.15 * fg_synthetic_uniform();
        int64_t genuine = ++next_user, twin = ++next_user;
        genuine_of[q] = genuine;
        fg_synthetic_unit(probes[q]);
        fg_synthetic_at(probes[q], d, r);
        CHECK_EQ_INT(fg_matcher_add(m, genuine, template_id++, r), FG_OK);
        fg_synthetic_unit(r);
        CHECK_EQ_INT(fg_matcher_add(m, 1 + q, template_id++, r), FG_OK);
        fg_synthetic_at(probes[q], d + 1e-4, r);
        CHECK_EQ_INT(fg_matcher_add(m, twin, template_id++, r), FG_OK);
        fg_synthetic_at(probes[q], d + 5e-5, r);
        CHECK_EQ_INT(fg_matcher_add(m, genuine, template_id++, r), FG_OK);
        for (int k = 0; q % 4 == 0 && k < 100; k++) { /* a crowd: more than the first pass keeps */
            fg_synthetic_at(probes[q], d + 2e-4 + 1e-3 * fg_synthetic_uniform(), r);
            CHECK_EQ_INT(fg_matcher_add(m, ++next_user, template_id++, r), FG_OK);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        fg_scan_select(pass);
        for (int q = 0; q < PROBES; q++) {
            int ok = exact_everywhere(m, probes[q], &res);
            CHECKF(ok, "probe %d (%s kernel): quantised answer differs from float32", q,
                   pass ? "best" : "portable");
            exact_count += ok;
            runner_up_is_twin +=
                res.best_user == genuine_of[q] && res.runner_up_user == genuine_of[q] + 1;
        }
    }
    CHECK_EQ_INT(exact_count, 2 * PROBES);
    /* The runner-up is the look-alike user (1e-4 further), not the genuine second template. */
    CHECK_EQ_INT(runner_up_is_twin, 2 * PROBES);
    fg_matcher_stats(m, &second, &full);
    CHECKF(second >= PROBES / 4, "second passes %zu: the crowds did not reach it", second);

    /* One user holds every candidate: no runner-up among them, the float32 scan answers. */
    {
        float p[DIM];
        size_t full_before = full;
        fg_synthetic_unit(p);
        for (int k = 0; k < 100; k++) {
            fg_synthetic_at(p, 0.1 + 1e-3 * k, r);
            CHECK_EQ_INT(fg_matcher_add(m, 7, template_id++, r), FG_OK);
        }
        CHECK(exact_everywhere(m, p, &res));
        CHECK_EQ_INT(res.best_user, 7);
        fg_matcher_stats(m, &second, &full);
        CHECK(full > full_before);
        /* Removing the user: still exact, and user 7 is gone. */
        CHECK(fg_matcher_remove_user(m, 7) >= 100);
        CHECK(exact_everywhere(m, p, &res));
        CHECK(res.best_user != 7);
    }
    fg_matcher_free(m);
    return fg_test_done();
}
