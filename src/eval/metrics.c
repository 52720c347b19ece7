/*
 * metrics.c - verification metrics on scored pairs: FAR/TAR, the threshold for a target FAR, EER,
 * accuracy (best and k-fold). Everything sorts the distances once per call: O(n log n), fine
 * for millions of pairs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

const double fg_eval_far_levels[FG_EVAL_FAR_LEVELS] = {1e-2, 1e-3, 1e-4};
const char *const fg_eval_far_names[FG_EVAL_FAR_LEVELS] = {"1e-2", "1e-3", "1e-4"};

/* The reference's "same person" threshold, reported for comparison. */
#define REFERENCE_THRESHOLD 0.6

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The sorted distances of one class (genuine = 1 or 0). *count gets how many; NULL when the
 * class is empty or memory runs out (then *count is 0 too). */
static float *sorted_class(const fg_eval_pair *pairs, size_t n, int genuine, size_t *count)
{
    size_t k = 0;
    float *d;

    *count = 0;
    for (size_t i = 0; i < n; i++)
        k += pairs[i].genuine == genuine;
    if (!k || !(d = malloc(k * sizeof *d))) return NULL;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (pairs[i].genuine == genuine) d[k++] = pairs[i].no_face ? INFINITY : pairs[i].distance;
    qsort(d, k, sizeof *d, cmp_float);
    *count = k;
    return d;
}

/* How many of the sorted values are < t. */
static size_t count_below(const float *sorted, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)sorted[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double largest_finite(const fg_eval_pair *pairs, size_t n, int *found)
{
    double m = 0;
    *found = 0;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].no_face || !isfinite(pairs[i].distance)) continue;
        if (!*found || pairs[i].distance > m) m = pairs[i].distance;
        *found = 1;
    }
    return m;
}

void fg_eval_rates(const fg_eval_pair *pairs, size_t n, double threshold, double *far, double *tar)
{
    size_t g = 0, i = 0, ga = 0, ia = 0;
    for (size_t k = 0; k < n; k++) {
        int accept = !pairs[k].no_face && (double)pairs[k].distance < threshold;
        if (pairs[k].genuine)
            g++, ga += accept;
        else
            i++, ia += accept;
    }
    if (far) *far = i ? (double)ia / i : 0;
    if (tar) *tar = g ? (double)ga / g : 0;
}

double fg_eval_threshold_at_far(const fg_eval_pair *pairs, size_t n, double target_far)
{
    size_t ni;
    int found;
    double top = largest_finite(pairs, n, &found);
    double above = found ? nextafter(top, INFINITY) : 0;
    float *imp = sorted_class(pairs, n, 0, &ni);
    double t;

    if (!imp) return above;
    /* The small epsilon keeps 0.001 * 1000 from flooring to 0. */
    size_t k = target_far > 0 ? (size_t)floor(target_far * (double)ni + 1e-9) : 0;
    t = k < ni && isfinite(imp[k]) ? imp[k] : above;
    free(imp);
    return t;
}

double fg_eval_eer(const fg_eval_pair *pairs, size_t n, double *threshold)
{
    size_t ng, ni, gi = 0, ii = 0;
    float *gen = sorted_class(pairs, n, 1, &ng), *imp = sorted_class(pairs, n, 0, &ni);
    double eer = 0.5, t_eer = 0;
    /* The previous operating point: threshold below every distance accepts nothing. */
    double prev_far = 0, prev_frr = 1, prev_t = 0;
    int done = 0;

    if (!gen || !imp) goto out;
    prev_t = fmin(gen[0], imp[0]);
    while (!done) {
        /* Next distinct finite distance, or past the end: accept every finite distance. */
        double v = INFINITY;
        if (gi < ng && isfinite(gen[gi])) v = gen[gi];
        if (ii < ni && isfinite(imp[ii]) && imp[ii] < v) v = imp[ii];
        double t = v;
        if (!isfinite(v)) {
            int found;
            t = nextafter(largest_finite(pairs, n, &found), INFINITY);
            done = 1;
        }
        double far = (double)count_below(imp, ni, t) / ni;
        double frr = 1 - (double)count_below(gen, ng, t) / ng;
        if (far >= frr) {
            double d0 = prev_far - prev_frr, d1 = far - frr;
            double a = d1 - d0 > 0 ? -d0 / (d1 - d0) : 1;
            eer = prev_far + a * (far - prev_far);
            t_eer = prev_t + a * (t - prev_t);
            goto out;
        }
        prev_far = far, prev_frr = frr, prev_t = t;
        while (gi < ng && gen[gi] <= v)
            gi++;
        while (ii < ni && imp[ii] <= v)
            ii++;
    }
    /* The rates never crossed (missing faces keep FRR up): the closest point. */
    eer = (prev_far + prev_frr) / 2;
    t_eer = prev_t;
out:
    free(gen);
    free(imp);
    if (threshold) *threshold = t_eer;
    return eer;
}

double fg_eval_accuracy(const fg_eval_pair *pairs, size_t n, double threshold)
{
    size_t correct = 0;
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].no_face) continue;
        int accept = (double)pairs[i].distance < threshold;
        correct += accept == (pairs[i].genuine != 0);
    }
    return (double)correct / n;
}

typedef struct scored {
    float d;
    int genuine;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    return cmp_float(&((const scored *)a)->d, &((const scored *)b)->d);
}

double fg_eval_best_accuracy(const fg_eval_pair *pairs, size_t n, double *threshold)
{
    size_t m = 0, correct = 0, best;
    scored *s;
    double best_t = REFERENCE_THRESHOLD;

    if (threshold) *threshold = best_t;
    if (!n) return 0;
    if (!(s = malloc(n * sizeof *s))) return 0;
    for (size_t i = 0; i < n; i++)
        if (!pairs[i].no_face) s[m].d = pairs[i].distance, s[m++].genuine = pairs[i].genuine;
    qsort(s, m, sizeof *s, cmp_scored);
    /* Threshold below everything: every impostor right, every genuine wrong. */
    for (size_t i = 0; i < m; i++)
        correct += !s[i].genuine;
    best = correct;
    if (m) best_t = s[0].d > 0 ? s[0].d / 2 : s[0].d;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        /* Moving the threshold past every pair at this distance. */
        for (; j < m && s[j].d == s[i].d; j++)
            correct += s[j].genuine ? 1 : (size_t)-1;
        if (correct > best) {
            best = correct;
            best_t = j < m ? ((double)s[i].d + s[j].d) / 2 : nextafter(s[i].d, INFINITY);
        }
        i = j;
    }
    free(s);
    if (threshold) *threshold = best_t;
    return (double)best / n;
}

double fg_eval_kfold_accuracy(const fg_eval_pair *pairs, size_t n, int folds, double *std)
{
    fg_eval_pair *train = malloc((n ? n : 1) * sizeof *train),
                 *test = malloc((n ? n : 1) * sizeof *test);
    double sum = 0, sum2 = 0;
    int used = 0;

    if (std) *std = 0;
    if (!train || !test || folds < 2) {
        free(train);
        free(test);
        return fg_eval_best_accuracy(pairs, n, NULL);
    }
    for (int f = 0; f < folds; f++) {
        size_t nt = 0, ne = 0;
        double t;
        for (size_t i = 0; i < n; i++) {
            if (pairs[i].fold == f)
                test[ne++] = pairs[i];
            else
                train[nt++] = pairs[i];
        }
        if (!ne) continue;
        fg_eval_best_accuracy(train, nt, &t);
        double acc = fg_eval_accuracy(test, ne, t);
        sum += acc, sum2 += acc * acc, used++;
    }
    free(train);
    free(test);
    if (!used) return 0;
    double mean = sum / used;
    if (std && used > 1) *std = sqrt(fmax(0, (sum2 - used * mean * mean) / (used - 1)));
    return mean;
}

void fg_eval_compute(const fg_eval_pair *pairs, size_t n, int folds, double eval_threshold,
                     double target_far, fg_eval_report *r)
{
    memset(r, 0, sizeof *r);
    r->pairs = n;
    for (size_t i = 0; i < n; i++) {
        r->genuine += pairs[i].genuine != 0;
        r->pairs_no_face += pairs[i].no_face != 0;
    }
    r->impostor = n - r->genuine;
    r->folds = folds > 1 ? folds : 0;
    r->eval_threshold = eval_threshold;
    r->accuracy_at_threshold = fg_eval_accuracy(pairs, n, eval_threshold);
    fg_eval_rates(pairs, n, eval_threshold, &r->far_at_threshold, &r->tar_at_threshold);
    r->accuracy_at_reference = fg_eval_accuracy(pairs, n, REFERENCE_THRESHOLD);
    r->best_accuracy = fg_eval_best_accuracy(pairs, n, &r->best_threshold);
    if (r->folds)
        r->accuracy = fg_eval_kfold_accuracy(pairs, n, r->folds, &r->accuracy_std);
    else
        r->accuracy = r->accuracy_at_threshold;
    r->eer = fg_eval_eer(pairs, n, &r->eer_threshold);
    for (int k = 0; k < FG_EVAL_FAR_LEVELS; k++) {
        r->threshold_at_far[k] = fg_eval_threshold_at_far(pairs, n, fg_eval_far_levels[k]);
        fg_eval_rates(pairs, n, r->threshold_at_far[k], &r->far_at_far[k], &r->tar_at_far[k]);
    }
    r->target_far = target_far;
    r->threshold = fg_eval_threshold_at_far(pairs, n, target_far);
    fg_eval_rates(pairs, n, r->threshold, &r->far_at_calibrated, &r->tar_at_calibrated);
    r->accuracy_at_calibrated = fg_eval_accuracy(pairs, n, r->threshold);
}
