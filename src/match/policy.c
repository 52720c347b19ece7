/*
 * policy.c - the S-normalised accept threshold (policy.h).
 */
#include "match/policy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

fg_match_stats fg_match_stats_of(double sum, double sum2, size_t n)
{
    fg_match_stats s = {0, 0, n};
    if (n == 0) return s;
    s.mean = sum / (double)n;
    if (n > 1) {
        double var = sum2 / (double)n - s.mean * s.mean;
        s.sd = var > 0 ? sqrt(var) : 0;
    }
    return s;
}

void fg_policy_init(fg_policy *p, float ceiling, float margin)
{
    p->target_far = FG_POLICY_TARGET_FAR;
    p->ceiling = ceiling;
    p->fallback = FG_POLICY_FALLBACK < ceiling ? FG_POLICY_FALLBACK : ceiling;
    p->min_users = FG_POLICY_MIN_USERS;
    p->margin = margin;
    p->fixed = 0;
    fg_policy_ready(p, NULL);
}

/* Phi^-1 by bisection on the standard normal CDF: monotone, exact to double precision. */
static double normal_quantile(double q)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (0.5 * erfc(-mid / sqrt(2.0)) < q)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

int fg_policy_ready(fg_policy *p, fg_error *err)
{
    if (!(p->target_far > 0 && p->target_far < 0.5))
        return fg_fail(err, FG_EINVAL, "the target FAR must be in (0, 0.5), not %g", p->target_far);
    if (!(p->ceiling > 0 && p->ceiling <= 2))
        return fg_fail(err, FG_EINVAL, "the threshold ceiling must be in (0, 2], not %g",
                       (double)p->ceiling);
    if (!(p->fallback > 0 && p->fallback <= p->ceiling))
        return fg_fail(err, FG_EINVAL, "the fallback threshold must be in (0, %g], not %g",
                       (double)p->ceiling, (double)p->fallback);
    if (p->min_users < 3)
        return fg_fail(err, FG_EINVAL, "the policy needs at least 3 users to estimate, not %d",
                       p->min_users);
    if (!(p->margin >= 0 && p->margin < 1))
        return fg_fail(err, FG_EINVAL, "the margin must be in [0, 1), not %g", (double)p->margin);
    p->z = normal_quantile(p->target_far) - FG_POLICY_Z_OFFSET;
    return FG_OK;
}

float fg_policy_threshold(const fg_policy *p, size_t users, const fg_match_stats *user,
                          const fg_match_stats *probe)
{
    if (p->fixed) return p->ceiling;
    if (users < (size_t)p->min_users || user->n < 2 || probe->n < 2) return p->fallback;
    /* ((d - mu_u)/sd_u + (d - mu_p)/sd_p) / 2 < z, solved for d. */
    double su = fmax(user->sd, FG_POLICY_MIN_SD), sp = fmax(probe->sd, FG_POLICY_MIN_SD);
    double t = (2 * p->z + user->mean / su + probe->mean / sp) / (1 / su + 1 / sp);
    if (!(t > 0)) return 0;
    return t < p->ceiling ? (float)t : p->ceiling;
}

float fg_policy_margin(const fg_policy *p, float threshold)
{
    return p->ceiling > 0 ? p->margin * threshold / p->ceiling : p->margin;
}

void fg_match_scores_free(fg_match_scores *s)
{
    if (!s) return;
    free(s->users);
    memset(s, 0, sizeof *s);
}

fg_match_stats fg_match_scores_without(const fg_match_scores *s, size_t skip, size_t also)
{
    double sum = s->sum, sum2 = s->sum2;
    size_t n = s->n;
    for (int k = 0; k < 2; k++) {
        size_t i = k ? also : skip;
        if (i >= s->count || !s->users[i].in_cohort || (k && also == skip)) continue;
        double d = s->users[i].distance;
        sum -= d, sum2 -= d * d, n--;
    }
    return fg_match_stats_of(sum, sum2, n);
}

float fg_policy_threshold_at(const fg_policy *p, const fg_match_scores *s, size_t i)
{
    fg_match_stats probe = fg_match_scores_without(s, i, s->count);
    return fg_policy_threshold(p, s->population, &s->users[i].cohort, &probe);
}

/* A decision about users[i] (the runner-up is the nearest other user). */
static void decide_on(const fg_policy *p, const fg_match_scores *s, size_t i,
                      fg_match_decision *out)
{
    size_t other = i == 0 ? 1 : 0;
    out->user = s->users[i].user;
    out->distance = s->users[i].distance;
    out->threshold = fg_policy_threshold_at(p, s, i);
    if (other < s->count) {
        out->runner_up = s->users[other].user;
        out->runner_up_distance = s->users[other].distance;
    }
}

static void no_decision(fg_match_decision *out)
{
    memset(out, 0, sizeof *out);
    out->distance = out->runner_up_distance = INFINITY;
}

void fg_policy_identify(const fg_policy *p, const fg_match_scores *s, fg_match_decision *out)
{
    no_decision(out);
    if (!s->count) return;
    decide_on(p, s, 0, out);
    out->margin = fg_policy_margin(p, out->threshold);
    out->accepted = out->distance < out->threshold &&
                    (!out->runner_up || out->runner_up_distance - out->distance >= out->margin);
}

void fg_policy_verify(const fg_policy *p, const fg_match_scores *s, int64_t user,
                      fg_match_decision *out)
{
    no_decision(out);
    for (size_t i = 0; i < s->count; i++) {
        if (s->users[i].user != user) continue;
        decide_on(p, s, i, out);
        /* A look-alike nearer than the claimed user makes the claim doubtful. */
        out->accepted = out->distance < out->threshold && out->distance <= out->runner_up_distance;
        return;
    }
    out->user = user;
}

int64_t fg_policy_collision(const fg_policy *p, const fg_match_scores *s, int64_t except)
{
    /* Sorted by distance: nobody past the ceiling can be within a threshold. */
    for (size_t i = 0; i < s->count && s->users[i].distance < p->ceiling; i++)
        if (s->users[i].user != except && s->users[i].distance < fg_policy_threshold_at(p, s, i))
            return s->users[i].user;
    return 0;
}
