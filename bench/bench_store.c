/*
 * bench_store.c - start-up load of many templates: fills a store with synthetic users (one
 * random template each, sealed like any other) up to --templates, then times what `facegate
 * serve` does at start-up: fg_store_follow (read, decrypt) into a fresh matcher, and the
 * memory that takes. Prints Markdown lines.
 *
 * usage: bench_store --store sqlite|postgres://... --data-dir DIR --templates N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/match.h"
#include "store/store.h"

#define BATCH 50000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident memory of this process in kB (/proc/self/status VmRSS). */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static int add(void *ctx, int kind, int64_t user_id, int64_t template_id,
               const float descriptor[FG_DESCRIPTOR_DIM])
{
    if (kind == FG_STORE_CHANGE_DELETE) {
        fg_matcher_remove_user(ctx, user_id);
        return FG_OK;
    }
    return fg_matcher_add(ctx, user_id, template_id, descriptor);
}

static int fill(fg_store *store, size_t have, size_t want, fg_error *err)
{
    static float descriptors[BATCH][FG_DESCRIPTOR_DIM];
    static char names[BATCH][32];
    static const char *pointers[BATCH];
    unsigned state = 12345u + (unsigned)have;
    double t0 = now_s();
    while (have < want) {
        size_t n = want - have < BATCH ? want - have : BATCH;
        for (size_t i = 0; i < n; i++) {
            snprintf(names[i], sizeof names[i], "synthetic_%zu", have + i);
            pointers[i] = names[i];
            for (int k = 0; k < FG_DESCRIPTOR_DIM; k++) {
                state = state * 1103515245u + 12345u;
                descriptors[i][k] = (float)((state >> 8) & 0xffff) / 65535.0f - 0.5f;
            }
        }
        if (fg_store_import(store, pointers, (const float(*)[FG_DESCRIPTOR_DIM])descriptors, n,
                            err) != FG_OK)
            return -1;
        have += n;
    }
    fprintf(stderr, "bench_store: imported up to %zu users in %.1f s\n", want, now_s() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *location = "sqlite", *dir = NULL;
    size_t want = 1000000, users = 0;
    fg_store *store = NULL;
    fg_matcher *m = NULL;
    fg_error err = {0};
    double t0, load_s;
    long before;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--store")) location = argv[i + 1];
        if (!strcmp(argv[i], "--data-dir")) dir = argv[i + 1];
        if (!strcmp(argv[i], "--templates")) want = strtoul(argv[i + 1], NULL, 10);
    }
    if (!dir) {
        fprintf(stderr, "usage: bench_store --store sqlite|postgres://... --data-dir DIR "
                        "--templates N\n");
        return 2;
    }
    if (fg_store_open(location, dir, &store, NULL, &err) != FG_OK ||
        fg_store_user_count(store, &users, &err) != FG_OK ||
        (users < want && fill(store, users, want, &err) != 0) || fg_matcher_new(&m) != FG_OK)
        goto fail;
    before = rss_kb();
    t0 = now_s();
    if (fg_store_follow(store, add, m, &err) != FG_OK) goto fail;
    load_s = now_s() - t0;
    printf("- start-up load (%s store): %zu templates read, decrypted and indexed in %.2f s "
           "(fg_store_follow, as `facegate serve` does); the matcher's memory %.0f MB, %.0f "
           "bytes per template\n",
           fg_store_backend_name(store), fg_matcher_templates(m), load_s,
           (double)(rss_kb() - before) / 1024,
           (double)(rss_kb() - before) * 1024 / (double)fg_matcher_templates(m));
    fg_matcher_free(m);
    fg_store_close(store);
    return 0;
fail:
    fprintf(stderr, "bench_store: %s\n", err.message);
    fg_matcher_free(m);
    fg_store_close(store);
    return 1;
}
