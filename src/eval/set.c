/*
 * set.c - the pair sets of an evaluation: an LFW pairs file, or identity folders with every
 * genuine pair and impostor pairs sampled with a fixed seed (or enrollment of several images).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "eval/eval.h"

/* When a folder set has more impostor pairs than this, this many are sampled. */
#define DEFAULT_IMPOSTORS 1000000u

void fg_eval_set_free(fg_eval_set *set)
{
    if (!set) return;
    for (size_t i = 0; i < set->n_images; i++)
        free(set->images[i]);
    free(set->images);
    free(set->pairs);
    memset(set, 0, sizeof *set);
}

/* ---- growable arrays ------------------------------------------------------------------------ */

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *p = realloc(*items, c * size);
    if (!p) return -1;
    *items = p;
    *cap = c;
    return 0;
}

typedef struct builder {
    fg_eval_set *set;
    size_t image_cap, pair_cap;
} builder;

static int add_pair(builder *b, int a, int a_count, int probe, int genuine, int fold)
{
    fg_eval_set *s = b->set;
    if (grow((void **)&s->pairs, &b->pair_cap, s->n_pairs + 1, sizeof *s->pairs)) return -1;
    fg_eval_pair p = {a, a_count, probe, genuine, fold, 0, 0};
    s->pairs[s->n_pairs++] = p;
    return 0;
}

static int add_image(builder *b, char *path)
{
    fg_eval_set *s = b->set;
    if (!path || grow((void **)&s->images, &b->image_cap, s->n_images + 1, sizeof *s->images)) {
        free(path);
        return -1;
    }
    s->images[s->n_images++] = path;
    return (int)(s->n_images - 1);
}

static char *join_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* ---- LFW pairs files ------------------------------------------------------------------------ */

/* Image paths of a pairs file, deduplicated with a small open-addressing hash of the path. */
typedef struct path_index {
    char **keys;
    int *values;
    size_t cap;
} path_index;

uint64_t fg_eval_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The image index of path (which this takes ownership of), adding it when new; -1 on error. */
static int intern_image(builder *b, path_index *ix, char *path)
{
    if (!path) return -1;
    if ((b->set->n_images + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 1024;
        char **keys = calloc(cap, sizeof *keys);
        int *values = calloc(cap, sizeof *values);
        if (!keys || !values) {
            free(keys), free(values), free(path);
            return -1;
        }
        for (size_t i = 0; i < ix->cap; i++) {
            if (!ix->keys[i]) continue;
            size_t h = fg_eval_hash(ix->keys[i]) & (cap - 1);
            while (keys[h])
                h = (h + 1) & (cap - 1);
            keys[h] = ix->keys[i], values[h] = ix->values[i];
        }
        free(ix->keys), free(ix->values);
        ix->keys = keys, ix->values = values, ix->cap = cap;
    }
    size_t h = fg_eval_hash(path) & (ix->cap - 1);
    for (; ix->keys[h]; h = (h + 1) & (ix->cap - 1)) {
        if (strcmp(ix->keys[h], path) == 0) {
            free(path);
            return ix->values[h];
        }
    }
    int id = add_image(b, path);
    if (id >= 0) ix->keys[h] = b->set->images[id], ix->values[h] = id;
    return id;
}

static char *lfw_path(const char *root, const char *name, long number)
{
    size_t n = strlen(root) + 2 * strlen(name) + 32;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s/%s_%04ld.jpg", root, name, name, number);
    return p;
}

static int parse_number(const char *s, long *out)
{
    char *end;
    if (!*s) return -1;
    errno = 0;
    *out = strtol(s, &end, 10);
    return *end || errno || *out < 0 ? -1 : 0;
}

int fg_eval_load_pairs(const char *pairs_file, const char *root, size_t limit, fg_eval_set *out,
                       fg_error *err)
{
    builder b = {out, 0, 0};
    path_index ix = {0};
    char line[1024];
    long folds = 0, per_class = 0;
    size_t line_no = 0, taken[2] = {0, 0}, in_class = 0;
    int rc = FG_OK;
    FILE *f;

    memset(out, 0, sizeof *out);
    if (!(f = fopen(pairs_file, "r")))
        return fg_fail(err, FG_EIO, "cannot open pairs file %s: %s", pairs_file, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        char *tok[5];
        int nt = 0;
        line_no++;
        for (char *t = strtok(line, " \t\r\n"); t && nt < 5; t = strtok(NULL, " \t\r\n"))
            tok[nt++] = t;
        if (nt == 0) continue;
        if (line_no == 1) {
            /* "N" or "folds N". */
            long a, c = 0;
            if ((nt != 1 && nt != 2) || parse_number(tok[0], &a) ||
                (nt == 2 && parse_number(tok[1], &c)) || a <= 0 || (nt == 2 && c <= 0)) {
                rc = fg_fail(err, FG_EINVAL, "%s:1: expected 'N' or 'FOLDS N'", pairs_file);
                goto done;
            }
            folds = nt == 2 ? a : 0;
            per_class = nt == 2 ? c : a;
            continue;
        }
        long i, j;
        char *pa, *pb;
        int genuine;
        if (nt == 3 && !parse_number(tok[1], &i) && !parse_number(tok[2], &j)) {
            genuine = 1;
            pa = lfw_path(root, tok[0], i), pb = lfw_path(root, tok[0], j);
        } else if (nt == 4 && !parse_number(tok[1], &i) && !parse_number(tok[3], &j)) {
            genuine = 0;
            pa = lfw_path(root, tok[0], i), pb = lfw_path(root, tok[2], j);
        } else {
            rc = fg_fail(err, FG_EINVAL, "%s:%zu: expected 'name i j' or 'name1 i name2 j'",
                         pairs_file, line_no);
            goto done;
        }
        /* Pairs come in blocks of per_class same then per_class different: the fold is the
         * block's number over two. */
        int fold = folds ? (int)(in_class / (2 * (size_t)per_class)) : 0;
        in_class++;
        if (limit && taken[genuine] >= limit) {
            free(pa), free(pb);
            continue;
        }
        int ia = intern_image(&b, &ix, pa), ib = intern_image(&b, &ix, pb);
        if (ia < 0 || ib < 0 || add_pair(&b, ia, 1, ib, genuine, fold)) {
            if (ia >= 0) free(pb);
            rc = fg_fail(err, FG_ENOMEM, "out of memory reading %s", pairs_file);
            goto done;
        }
        taken[genuine]++;
    }
    if (line_no == 0) rc = fg_fail(err, FG_EINVAL, "%s is empty", pairs_file);
    out->folds = folds > 1 ? (int)folds : 0;
done:
    fclose(f);
    free(ix.keys);
    free(ix.values);
    if (rc) fg_eval_set_free(out);
    return rc;
}

/* ---- identity folders ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return name[0] != '.' && dot &&
           (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png") ||
            !strcasecmp(dot, ".webp"));
}

/* The sorted names in dir that are directories (want_dirs) or image files. */
static int list_dir(const char *dir, int want_dirs, char ***names, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t cap = 0;

    *names = NULL;
    *count = 0;
    if (!d) return -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *full = join_path(dir, e->d_name);
        DIR *sub = full && want_dirs ? opendir(full) : NULL;
        int is_dir = sub != NULL;
        if (sub) closedir(sub);
        free(full);
        if (want_dirs ? !is_dir : !is_image_name(e->d_name)) continue;
        if (grow((void **)names, &cap, *count + 1, sizeof **names) ||
            !((*names)[*count] = strdup(e->d_name))) {
            closedir(d);
            return -1;
        }
        (*count)++;
    }
    closedir(d);
    qsort(*names, *count, sizeof **names, cmp_str);
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* splitmix64: a small, well-mixed generator; the sampling is fixed by the seed. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef struct identity {
    int first, count; /* images first .. first+count-1 */
} identity;

/* One unit of an impostor pair: an enrollment (a, a_count) of identity ia, a probe of ib. */
typedef struct gallery {
    int a, a_count, id;
} gallery;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The candidate impostor pairs are (gallery entry, probe image) of different identities; with
 * `unordered` (one image per gallery entry) (x, y) and (y, x) are one pair, so only the form
 * with the gallery image first counts. */
typedef struct candidates {
    const gallery *gal;
    size_t ng;
    const int *probes, *probe_id;
    size_t np;
    int unordered;
} candidates;

static int valid_candidate(const candidates *c, uint64_t code)
{
    const gallery *g = &c->gal[code / c->np];
    size_t p = code % c->np;
    return c->probe_id[p] != g->id && (!c->unordered || g->a < c->probes[p]);
}

/* Adds `want` impostor pairs drawn from the candidates without repeats, in a reproducible
 * order (0: all of them up to DEFAULT_IMPOSTORS). */
static int sample_impostors(builder *b, const candidates *c, size_t want, uint64_t seed)
{
    uint64_t total = (uint64_t)c->ng * c->np, possible = 0;
    uint64_t *chosen = NULL;
    size_t n = 0;
    int rc = -1;

    for (uint64_t code = 0; code < total; code++)
        possible += valid_candidate(c, code);
    if (want == 0) want = possible < DEFAULT_IMPOSTORS ? possible : DEFAULT_IMPOSTORS;
    if (want > possible) want = possible;
    if (!want) return 0;
    if (!(chosen = malloc(want * sizeof *chosen))) return -1;
    if (want == possible) {
        for (uint64_t code = 0; code < total; code++)
            if (valid_candidate(c, code)) chosen[n++] = code;
    } else {
        /* Rejection sampling into an open-addressing set at most half full. A request close
         * to `possible` only takes longer. */
        size_t cap = 1;
        while (cap < want * 2)
            cap *= 2;
        uint64_t *set = malloc(cap * sizeof *set), state = seed;
        if (!set) goto out;
        memset(set, 0xff, cap * sizeof *set);
        while (n < want) {
            uint64_t code = next_random(&state) % total;
            if (!valid_candidate(c, code)) continue;
            size_t h = (size_t)((code * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
            while (set[h] != UINT64_MAX && set[h] != code)
                h = (h + 1) & (cap - 1);
            if (set[h] == code) continue;
            set[h] = code;
            chosen[n++] = code;
        }
        free(set);
        qsort(chosen, n, sizeof *chosen, cmp_u64);
    }
    for (size_t i = 0; i < n; i++) {
        const gallery *g = &c->gal[chosen[i] / c->np];
        if (add_pair(b, g->a, g->a_count, c->probes[chosen[i] % c->np], 0, 0)) goto out;
    }
    rc = 0;
out:
    free(chosen);
    return rc;
}

/* Every genuine pair (or enrollment + probe) and sampled impostor pairs of the identities,
 * whose images are consecutive in b->set. Returns 0 or -1 (out of memory). */
static int make_pairs(builder *b, const identity *people, size_t n_ids,
                      const fg_eval_folder_options *opts)
{
    size_t n_images = b->set->n_images, n_gal = 0, n_probes = 0, genuine = 0;
    int enroll = opts && opts->enroll > 0 ? opts->enroll : 0;
    int min_images = opts && opts->min_images > enroll + 1 ? opts->min_images : enroll + 1;
    size_t limit = opts ? opts->limit : 0;
    int rc = -1;

    /* The gallery (one entry per enrolled identity, or per image) and the probes. */
    gallery *gal = malloc((n_images ? n_images : 1) * sizeof *gal);
    int *probes = malloc((n_images ? n_images : 1) * sizeof *probes);
    int *probe_id = malloc((n_images ? n_images : 1) * sizeof *probe_id);
    if (!gal || !probes || !probe_id) goto out;
    for (size_t i = 0; i < n_ids; i++) {
        const identity *p = &people[i];
        if (!enroll) {
            /* Every unordered genuine pair. */
            for (int x = 0; x < p->count; x++)
                for (int y = x + 1; y < p->count; y++) {
                    if (limit && genuine >= limit) continue;
                    if (add_pair(b, p->first + x, 1, p->first + y, 1, 0)) goto out;
                    genuine++;
                }
            /* Every image is both a gallery entry and a probe for the impostor pairs. */
            for (int x = 0; x < p->count; x++) {
                gallery g = {p->first + x, 1, (int)i};
                gal[n_gal++] = g;
                probes[n_probes] = p->first + x, probe_id[n_probes++] = (int)i;
            }
        } else if (p->count >= min_images) {
            gallery g = {p->first, enroll, (int)i};
            gal[n_gal++] = g;
            for (int x = min_images - 1; x < p->count; x++) {
                if (!limit || genuine < limit) {
                    if (add_pair(b, p->first, enroll, p->first + x, 1, 0)) goto out;
                    genuine++;
                }
                probes[n_probes] = p->first + x, probe_id[n_probes++] = (int)i;
            }
        }
    }
    size_t want = opts ? opts->impostors : 0;
    if (limit && (want == 0 || want > limit)) want = limit;
    candidates c = {gal, n_gal, probes, probe_id, n_probes, !enroll};
    rc = sample_impostors(b, &c, want, opts ? opts->seed : 1);
out:
    free(gal);
    free(probes);
    free(probe_id);
    return rc;
}

/* Whether image k of the n of identity i belongs to the part the options ask for. */
static int in_part(const fg_eval_folder_options *opts, size_t i, size_t k, size_t n)
{
    if (!opts || opts->split == FG_EVAL_SPLIT_NONE || opts->part == FG_EVAL_PART_ALL) return 1;
    int tune = opts->part == FG_EVAL_PART_TUNE;
    if (opts->split == FG_EVAL_SPLIT_IDENTITY) return (i % 2 == 0) == tune;
    return (k < (n + 1) / 2) == tune;
}

int fg_eval_load_folders(const char *dir, const fg_eval_folder_options *opts, fg_eval_set *out,
                         fg_error *err)
{
    builder b = {out, 0, 0};
    char **ids = NULL;
    size_t n_ids = 0;
    identity *people = NULL;
    int rc = FG_OK;

    memset(out, 0, sizeof *out);
    if (list_dir(dir, 1, &ids, &n_ids))
        return fg_fail(err, FG_EIO, "cannot read identity folders in %s", dir);
    if (!(people = calloc(n_ids ? n_ids : 1, sizeof *people))) goto oom;
    for (size_t i = 0; i < n_ids; i++) {
        char *sub = join_path(dir, ids[i]), **files = NULL;
        size_t nf = 0;
        if (!sub || list_dir(sub, 0, &files, &nf)) {
            rc = fg_fail(err, FG_EIO, "cannot read the folder %s/%s", dir, ids[i]);
            free(sub);
            goto fail;
        }
        people[i].first = (int)out->n_images;
        for (size_t k = 0; k < nf; k++) {
            if (!in_part(opts, i, k, nf)) continue;
            if (add_image(&b, join_path(sub, files[k])) < 0) {
                free(sub), free_names(files, nf);
                goto oom;
            }
        }
        people[i].count = (int)(out->n_images - (size_t)people[i].first);
        free(sub);
        free_names(files, nf);
    }
    if (out->n_images == 0) {
        rc = fg_fail(err, FG_EINVAL, "no images in the identity folders of %s", dir);
        goto fail;
    }
    if (make_pairs(&b, people, n_ids, opts)) goto oom;
    goto out;
oom:
    rc = fg_fail(err, FG_ENOMEM, "out of memory listing %s", dir);
fail:
    fg_eval_set_free(out);
out:
    free_names(ids, n_ids);
    free(people);
    return rc;
}

/* The length of path's folder part (up to the last '/'). */
static size_t folder_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

int fg_eval_expand_pairs(fg_eval_set *set, const fg_eval_folder_options *opts, fg_error *err)
{
    builder b = {set, set->n_images, 0};
    identity *people = calloc(set->n_images ? set->n_images : 1, sizeof *people);
    size_t n_ids = 0;

    if (!people) return fg_fail(err, FG_ENOMEM, "out of memory");
    free(set->pairs);
    set->pairs = NULL;
    set->n_pairs = 0;
    set->folds = 0;
    qsort(set->images, set->n_images, sizeof *set->images, cmp_str);
    for (size_t i = 0; i < set->n_images; i++) {
        size_t len = folder_length(set->images[i]);
        if (n_ids && len == folder_length(set->images[people[n_ids - 1].first]) &&
            !strncmp(set->images[i], set->images[people[n_ids - 1].first], len)) {
            people[n_ids - 1].count++;
        } else {
            identity p = {(int)i, 1};
            people[n_ids++] = p;
        }
    }
    /* Keep the part asked for: images move down in place, identities renumber. */
    size_t kept = 0, kept_ids = 0;
    for (size_t i = 0; i < n_ids; i++) {
        identity p = {(int)kept, 0};
        for (int k = 0; k < people[i].count; k++) {
            char *path = set->images[people[i].first + k];
            if (in_part(opts, i, (size_t)k, (size_t)people[i].count)) {
                set->images[kept++] = path;
                p.count++;
            } else {
                free(path);
            }
        }
        if (p.count) people[kept_ids++] = p;
    }
    set->n_images = kept;
    n_ids = kept_ids;
    int rc = make_pairs(&b, people, n_ids, opts);
    free(people);
    return rc ? fg_fail(err, FG_ENOMEM, "out of memory making pairs") : FG_OK;
}
