/*
 * bench_match.c - 1:N search time over synthetic templates: the float32 scan of every row
 * against the quantised matcher (int8 first pass, portable C and AVX2, with the exact re-rank),
 * and proof that every answer is the float32 scan's to the bit.
 *
 * Templates are random unit vectors (two per user) with planted near-duplicates around each
 * probe: the genuine user's template at the probe's distance, a look-alike user within 1e-4 of
 * that distance and a second template of the genuine user in between (so the runner-up *user*
 * is not the runner-up template), and for every tenth probe a crowd of 150 users within 0.002
 * of it (more than the first pass keeps). Prints a Markdown table.
 *
 * usage: bench_match [--sizes 10000,100000,1000000] [--probes N] [--seed S]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/match.h"
#include "match/scan.h"
#include "synthetic.h"

#define DIM FG_DESCRIPTOR_DIM
#define CROWD 150

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, compare_double);
    return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static int same(const fg_match_result *a, const fg_match_result *b)
{
    return a->best_user == b->best_user && a->best_template == b->best_template &&
           a->runner_up_user == b->runner_up_user &&
           memcmp(&a->best_distance, &b->best_distance, sizeof(float)) == 0 &&
           memcmp(&a->runner_up_distance, &b->runner_up_distance, sizeof(float)) == 0;
}

/* Places row `r` of user `user` at a random index of the matrix (not one planted before). */
static void plant(float *rows, int64_t *users, unsigned char *taken, size_t n, const float *r,
                  int64_t user)
{
    size_t i;
    do
        i = fg_synthetic_u64() % n;
    while (taken[i]);
    taken[i] = 1;
    memcpy(rows + i * DIM, r, DIM * sizeof(float));
    users[i] = user;
}

static int run(size_t n, size_t probes)
{
    float *rows = malloc(n * DIM * sizeof(float)), *queries = malloc(probes * DIM * sizeof(float));
    int64_t *users = malloc(n * sizeof(int64_t)), next_user = (int64_t)n;
    unsigned char *taken = calloc(n, 1);
    double *t_exact = malloc(probes * sizeof(double)),
           *t_portable = malloc(probes * sizeof(double));
    double *t_simd = malloc(probes * sizeof(double)), t0, load_ms;
    size_t agree = 0, second = 0, full = 0;
    const char *simd = NULL;
    fg_matcher *m = NULL;
    int rc = 1;

    if (!rows || !queries || !users || !taken || !t_exact || !t_portable || !t_simd ||
        fg_matcher_new(&m) != FG_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        fg_synthetic_unit(rows + i * DIM);
        users[i] = 1 + (int64_t)(i / 2);
    }
    for (size_t q = 0; q < probes; q++) {
        float *p = queries + q * DIM, r[DIM];
        double d = 0.25 + 0.1 * fg_synthetic_uniform();
        int64_t genuine = ++next_user, twin = ++next_user;
        fg_synthetic_unit(p);
        fg_synthetic_at(p, d, r);
        plant(rows, users, taken, n, r, genuine);
        fg_synthetic_at(p, d + 5e-5, r);
        plant(rows, users, taken, n, r, genuine);
        fg_synthetic_at(p, d + (fg_synthetic_uniform() < 0.5 ? -1e-4 : 1e-4), r);
        plant(rows, users, taken, n, r, twin);
        for (int k = 0; q % 10 == 0 && k < CROWD; k++) {
            fg_synthetic_at(p, d + 0.0005 + 0.0015 * fg_synthetic_uniform(), r);
            plant(rows, users, taken, n, r, ++next_user);
        }
    }
    t0 = now_ms();
    for (size_t i = 0; i < n; i++)
        if (fg_matcher_add(m, users[i], (int64_t)i + 1, rows + i * DIM) != FG_OK) goto out;
    load_ms = now_ms() - t0;

    for (size_t q = 0; q < probes; q++) {
        const float *p = queries + q * DIM;
        fg_match_result exact, portable, fast;
        t0 = now_ms();
        fg_matcher_search_exact(m, p, &exact);
        t_exact[q] = now_ms() - t0;
        fg_scan_select(0);
        t0 = now_ms();
        fg_matcher_search(m, p, &portable);
        t_portable[q] = now_ms() - t0;
        simd = fg_scan_select(1);
        t0 = now_ms();
        fg_matcher_search(m, p, &fast);
        t_simd[q] = now_ms() - t0;
        agree += same(&exact, &portable) && same(&exact, &fast);
    }
    fg_matcher_stats(m, &second, &full);
    printf("| %zu | %zu | %.1f / %.1f | %.2f / %.2f | %.2f / %.2f (%s) | %.0fx | %zu of %zu | "
           "%zu | %zu | %.2f s |\n",
           n, probes, percentile(t_exact, probes, 0.5), percentile(t_exact, probes, 0.9),
           percentile(t_portable, probes, 0.5), percentile(t_portable, probes, 0.9),
           percentile(t_simd, probes, 0.5), percentile(t_simd, probes, 0.9), simd,
           percentile(t_exact, probes, 0.5) / percentile(t_simd, probes, 0.5), agree, probes,
           second, full, load_ms / 1e3);
    fflush(stdout);
    rc = agree == probes ? 0 : 1;
out:
    fg_matcher_free(m);
    free(rows);
    free(queries);
    free(users);
    free(taken);
    free(t_exact);
    free(t_portable);
    free(t_simd);
    return rc;
}

int main(int argc, char **argv)
{
    const char *sizes = "10000,100000,1000000";
    size_t probes = 0;
    int status = 0;
    static const char usage[] =
        "usage: bench_match [--sizes 10000,100000,1000000] [--probes N] [--seed S]\n"
        "1:N search time over synthetic templates, the float32 scan against the int8 matcher\n"
        "(portable and SIMD) with its exact re-rank, and whether every answer is the scan's.\n";
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "bench_match: %s needs a value\n%s", argv[i], usage);
            return 2;
        }
        if (!strcmp(argv[i], "--sizes"))
            sizes = argv[i + 1];
        else if (!strcmp(argv[i], "--probes"))
            probes = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed"))
            fg_synthetic_state = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "bench_match: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    printf("| templates | probes | float32 scan ms (median / p90) | int8 portable + re-rank | "
           "int8 SIMD + re-rank | speed-up | same answer as float32 | second passes "
           "| float32 fallbacks | load |\n"
           "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (const char *p = sizes; *p;) {
        char *end;
        size_t n = strtoul(p, &end, 10);
        size_t q = probes ? probes : n >= 1000000 ? 50 : 100;
        if (end == p || n < 1000 || (q / 10 + 1) * CROWD + 3 * q > n / 2) {
            fprintf(stderr, "bench_match: bad --sizes %s (or too many probes for them)\n", sizes);
            return 2;
        }
        status |= run(n, q);
        p = *end == ',' ? end + 1 : end;
    }
    printf("\nMemory: %zu bytes per template (float32 row %zu, int8 row %d + scale 4, ids 16, user "
           "slot 4), and about 90 per user (cohort statistics, id index).\n",
           (size_t)(DIM * 4 + DIM + 4 + 16 + 4), (size_t)(DIM * 4), DIM);
    return status;
}
