/*
 * run.c - the descriptors of an evaluation's images: worker threads (one engine each) and
 * an append-only cache, so a rerun of a 5,000-image set takes seconds.
 *
 * The cache holds two kinds of record: the detected face of an image (keyed by the detector
 * options) and its descriptor (keyed by those and the alignment options). A run with another
 * alignment or --tta then reuses the detections, the expensive part, and only describes again.
 *
 * Cache file: the line "facegate-eval-cache 3\n", then records of
 *   u32 key length, key bytes, u32 value length, value bytes
 * in host byte order (a local file, not an exchange format). Keys are
 *   "face <detector tag>\t<absolute path>\t<size>\t<mtime ns>"  -> head + faces
 *   "desc <detector tag> <describe tag>\t<...same...>"          -> fg_eval_descriptor
 * so an edited image or other engine options miss. A later record of a key wins; a truncated
 * last record (an interrupted run) is ignored. Errors are not cached: they fail fast anyway.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "eval/eval.h"

#define CACHE_MAGIC "facegate-eval-cache 3\n"
/* Bump when the pipeline changes what a detection or descriptor is for the same options. */
#define PIPELINE_VERSION "5"
#define MAX_KEY 65536
#define MAX_VALUE 65536

/* What the cache keeps of a detection: how many faces were found, then the first
 * min(faces, MAX_RECORD_FACES) of them (score descending). */
typedef struct face_record_head {
    int32_t status; /* FG_EVAL_FACE or FG_EVAL_NO_FACE */
    int32_t faces;
} face_record_head;

#define MAX_RECORD_FACES 16

/* ---- the cache ------------------------------------------------------------------------------ */

typedef struct cache_entry {
    char *key;
    void *value;
    size_t size;
} cache_entry;

typedef struct cache {
    cache_entry *slots;
    size_t cap, count;
    FILE *append; /* NULL: no cache file */
} cache;

static cache_entry *cache_slot(cache *c, const char *key)
{
    size_t h = fg_eval_hash(key) & (c->cap - 1);
    while (c->slots[h].key && strcmp(c->slots[h].key, key))
        h = (h + 1) & (c->cap - 1);
    return &c->slots[h];
}

/* The value of key and its size, or NULL. */
static const void *cache_get(cache *c, const char *key, size_t *size)
{
    if (!c->cap || !key) return NULL;
    cache_entry *e = cache_slot(c, key);
    if (!e->key) return NULL;
    *size = e->size;
    return e->value;
}

/* Inserts or replaces; takes ownership of key and value (both freed on failure). */
static int cache_put(cache *c, char *key, void *value, size_t size)
{
    if ((c->count + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024, old_cap = c->cap;
        cache_entry *old = c->slots;
        if (!(c->slots = calloc(cap, sizeof *c->slots))) {
            c->slots = old;
            free(key);
            free(value);
            return -1;
        }
        c->cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].key) *cache_slot(c, old[i].key) = old[i];
        free(old);
    }
    cache_entry *e = cache_slot(c, key);
    if (e->key) {
        free(key);
        free(e->value);
    } else {
        e->key = key;
        c->count++;
    }
    e->value = value;
    e->size = size;
    return 0;
}

static void cache_close(cache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        free(c->slots[i].key);
        free(c->slots[i].value);
    }
    free(c->slots);
    if (c->append) fclose(c->append);
    memset(c, 0, sizeof *c);
}

/* One record from f into *key / *value; 0, or -1 at the end or on a truncated record. */
static int read_record(FILE *f, char **key, void **value, size_t *size)
{
    uint32_t klen, vlen;
    *key = NULL;
    *value = NULL;
    if (fread(&klen, sizeof klen, 1, f) != 1 || klen == 0 || klen > MAX_KEY) return -1;
    if (!(*key = malloc(klen + 1)) || fread(*key, 1, klen, f) != klen) goto bad;
    (*key)[klen] = 0;
    if (fread(&vlen, sizeof vlen, 1, f) != 1 || vlen > MAX_VALUE) goto bad;
    if (!(*value = malloc(vlen ? vlen : 1)) || fread(*value, 1, vlen, f) != vlen) goto bad;
    *size = vlen;
    return 0;
bad:
    free(*key);
    free(*value);
    return -1;
}

static int cache_open(cache *c, const char *path, fg_error *err)
{
    char magic[sizeof CACHE_MAGIC - 1];
    FILE *f = fopen(path, "rb");

    memset(c, 0, sizeof *c);
    if (f) {
        size_t got = fread(magic, 1, sizeof magic, f);
        if (got > 0 && (got != sizeof magic || memcmp(magic, CACHE_MAGIC, sizeof magic))) {
            fclose(f);
            return fg_fail(err, FG_EINVAL,
                           "%s is not a facegate eval cache of this version: delete it", path);
        }
        char *key;
        void *value;
        size_t size;
        while (!read_record(f, &key, &value, &size))
            if (cache_put(c, key, value, size)) break;
        fclose(f);
    }
    if (!(c->append = fopen(path, "ab"))) {
        cache_close(c);
        return fg_fail(err, FG_EIO, "cannot write the cache %s: %s", path, strerror(errno));
    }
    if (ftell(c->append) == 0) fwrite(CACHE_MAGIC, 1, sizeof CACHE_MAGIC - 1, c->append);
    return FG_OK;
}

/* Records key = value in memory and in the file. */
static void cache_store(cache *c, const char *key, const void *value, size_t size)
{
    char *k = key ? strdup(key) : NULL;
    void *v = malloc(size);
    if (!c->append || !k || !v) {
        free(k);
        free(v);
        return;
    }
    memcpy(v, value, size);
    uint32_t klen = (uint32_t)strlen(key), vlen = (uint32_t)size;
    fwrite(&klen, sizeof klen, 1, c->append);
    fwrite(key, 1, klen, c->append);
    fwrite(&vlen, sizeof vlen, 1, c->append);
    fwrite(value, 1, size, c->append);
    /* An interrupted run keeps what it computed. */
    fflush(c->append);
    cache_put(c, k, v, size);
}

/* "<kind> <tag>\t<absolute path>\t<size>\t<mtime ns>", or NULL when the file cannot be
 * stat'ed (then it is not cached and its load reports the error). */
static char *cache_key(const char *kind, const char *detect_tag, const char *describe_tag,
                       const char *path)
{
    struct stat st;
    char abs[PATH_MAX];
    if (stat(path, &st) || !realpath(path, abs)) return NULL;
    size_t n = strlen(kind) + strlen(detect_tag) + strlen(describe_tag) + strlen(abs) + 64;
    char *key = malloc(n);
    if (key)
        snprintf(key, n, "%s %s%s\t%s\t%lld\t%lld", kind, detect_tag, describe_tag, abs,
                 (long long)st.st_size,
                 (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec);
    return key;
}

/* Every engine option that changes a detection, and then a descriptor. */
static void engine_tags(const fg_eval_run_options *r, char *detect, char *describe, size_t size)
{
    const fg_engine_options *o = &r->engine;
    /* The default padding adds nothing, so caches written before it was an option still hit. */
    int retry = o->padding == FG_PADDING_RETRY, blaze = o->detector == FG_DETECTOR_BLAZE;
    char gate[32] = "";
    if (blaze) snprintf(gate, sizeof gate, " mesh=%.4f", (double)o->mesh_min_confidence);
    snprintf(detect, size, "v" PIPELINE_VERSION " detector=%s score=%.4f maxpx=%llu%s%s%s",
             fg_detector_name(o->detector), (double)o->min_score, (unsigned long long)o->max_pixels,
             retry ? "" : " padding=", retry ? "" : fg_padding_name(o->padding), gate);
    snprintf(describe, size, " align=%s tta=%d quality=1%s%s", fg_align_name(o->align),
             o->tta ? 1 : 0,
             r->pick == FG_EVAL_PICK_LARGEST  ? " pick=largest"
             : r->pick == FG_EVAL_PICK_CENTER ? " pick=center"
                                              : "",
             r->plain_only ? " plain-only" : "");
}

/* ---- describing ----------------------------------------------------------------------------- */

typedef struct work {
    const fg_eval_set *set;
    const fg_eval_run_options *opts;
    fg_eval_descriptor *out;
    cache *cache;
    size_t *todo;                  /* image indices to compute */
    char **face_keys, **desc_keys; /* their cache keys (NULL: not cacheable) */
    size_t n_todo, next, done, total;
    pthread_mutex_t lock;
} work;

size_t fg_eval_pick_face(const fg_face *faces, size_t n, int w, int h, fg_eval_pick pick)
{
    size_t best = 0;
    double best_value = -INFINITY;
    for (size_t i = 0; i < n && pick != FG_EVAL_PICK_SCORE; i++) {
        const fg_box *b = &faces[i].box;
        double dx = b->x + b->width / 2 - w / 2.0, dy = b->y + b->height / 2 - h / 2.0;
        double value =
            pick == FG_EVAL_PICK_LARGEST ? (double)b->width * b->height : -(dx * dx + dy * dy);
        if (value > best_value) best = i, best_value = value;
    }
    return best;
}

/* A cached detection of image k, copied into *faces (malloc'd) and *n; 0, or -1 on a miss. */
static int cached_faces(work *w, size_t k, int *status, fg_face **faces, size_t *n)
{
    size_t size = 0;
    int rc = -1;
    pthread_mutex_lock(&w->lock);
    const uint8_t *v = cache_get(w->cache, w->face_keys[k], &size);
    face_record_head head;
    if (v && size >= sizeof head) {
        memcpy(&head, v, sizeof head);
        size_t stored = head.faces < MAX_RECORD_FACES ? (size_t)head.faces : MAX_RECORD_FACES;
        if (head.faces >= 0 && size == sizeof head + stored * sizeof **faces &&
            (*faces = malloc((stored ? stored : 1) * sizeof **faces))) {
            memcpy(*faces, v + sizeof head, stored * sizeof **faces);
            *n = stored;
            *status = head.status;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

static void store_faces(work *w, size_t k, const fg_face *faces, size_t n)
{
    size_t stored = n < MAX_RECORD_FACES ? n : MAX_RECORD_FACES;
    face_record_head head = {n ? FG_EVAL_FACE : FG_EVAL_NO_FACE, (int32_t)n};
    uint8_t *v = malloc(sizeof head + stored * sizeof *faces);
    if (!v || !w->face_keys[k]) {
        free(v);
        return;
    }
    memcpy(v, &head, sizeof head);
    if (stored) memcpy(v + sizeof head, faces, stored * sizeof *faces);
    pthread_mutex_lock(&w->lock);
    cache_store(w->cache, w->face_keys[k], v, sizeof head + stored * sizeof *faces);
    pthread_mutex_unlock(&w->lock);
    free(v);
}

/* The descriptor of the chosen face of image k of the work list, from its cached detection
 * when there is one. */
static void describe_image(fg_engine *e, work *w, size_t k, fg_eval_descriptor *d, fg_error *err)
{
    const char *path = w->set->images[w->todo[k]];
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t n = 0;
    int status = FG_EVAL_ERROR, cached = !cached_faces(w, k, &status, &faces, &n);

    memset(d, 0, sizeof *d);
    d->status = FG_EVAL_ERROR;
    if (cached && status == FG_EVAL_NO_FACE) {
        d->status = FG_EVAL_NO_FACE;
        goto out;
    }
    if (fg_engine_load_image(e, path, &img, err)) goto out;
    if (!cached) {
        if (fg_detect(e, &img, &faces, &n, err)) goto out;
        store_faces(w, k, faces, n);
    }
    d->faces = (int)n;
    /* The plain pass's faces come first. */
    while (w->opts->plain_only && n && faces[n - 1].padded)
        n--;
    if (!n) {
        d->status = FG_EVAL_NO_FACE;
        goto out;
    }
    const fg_face *f = &faces[fg_eval_pick_face(faces, n, img.width, img.height, w->opts->pick)];
    d->score = f->score;
    d->padded = f->padded;
    if (!fg_describe(e, &img, f, d->d, err) &&
        !fg_face_quality_measure(&img, f, NULL, &d->quality, err))
        d->status = FG_EVAL_FACE;
out:
    free(faces);
    fg_image_free(&img);
}

typedef struct worker {
    work *w;
    fg_engine *engine;
    pthread_t thread;
} worker;

static void *worker_main(void *arg)
{
    worker *me = arg;
    work *w = me->w;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t k = w->next < w->n_todo ? w->next++ : SIZE_MAX;
        pthread_mutex_unlock(&w->lock);
        if (k == SIZE_MAX) break;

        size_t i = w->todo[k];
        fg_eval_descriptor d;
        fg_error err = {0};
        describe_image(me->engine, w, k, &d, &err);

        pthread_mutex_lock(&w->lock);
        w->out[i] = d;
        if (d.status != FG_EVAL_ERROR && w->desc_keys[k])
            cache_store(w->cache, w->desc_keys[k], &d, sizeof d);
        w->done++;
        if (w->opts->progress)
            w->opts->progress(w->opts->progress_ctx, w->done, w->total, w->set->images[i], &d, 0,
                              d.status == FG_EVAL_ERROR ? &err : NULL);
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

int fg_eval_describe(const fg_eval_set *set, const fg_eval_run_options *opts,
                     fg_eval_descriptor *out, fg_error *err)
{
    cache c = {0};
    work w = {set, opts, out, &c, NULL, NULL, NULL, 0, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER};
    worker *workers = NULL;
    size_t n = set->n_images ? set->n_images : 1;
    unsigned char *used = calloc(n, 1);
    char detect_tag[192], describe_tag[192];
    int jobs = opts->jobs > 0 ? opts->jobs : 1, opened = 0, rc = FG_OK;

    w.todo = malloc(n * sizeof *w.todo);
    w.face_keys = calloc(n, sizeof *w.face_keys);
    w.desc_keys = calloc(n, sizeof *w.desc_keys);
    if (!used || !w.todo || !w.face_keys || !w.desc_keys) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory");
        goto out;
    }
    if (opts->cache_path && (rc = cache_open(&c, opts->cache_path, err))) goto out;
    engine_tags(opts, detect_tag, describe_tag, sizeof detect_tag);

    for (size_t p = 0; p < set->n_pairs; p++) {
        const fg_eval_pair *q = &set->pairs[p];
        for (int k = 0; k < q->a_count; k++)
            used[q->a + k] = 1;
        used[q->b] = 1;
    }
    if (opts->every_image) memset(used, 1, set->n_images);
    for (size_t i = 0; i < set->n_images; i++)
        w.total += used[i];
    /* Cached descriptors first (reported as such), the rest goes to the workers. */
    for (size_t i = 0; i < set->n_images; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].status = FG_EVAL_UNUSED;
        if (!used[i]) continue;
        char *key =
            opts->cache_path ? cache_key("desc", detect_tag, describe_tag, set->images[i]) : NULL;
        size_t size = 0;
        const fg_eval_descriptor *hit = cache_get(&c, key, &size);
        if (hit && size == sizeof *hit) {
            out[i] = *hit;
            w.done++;
            if (opts->progress)
                opts->progress(opts->progress_ctx, w.done, w.total, set->images[i], hit, 1, NULL);
            free(key);
            continue;
        }
        w.desc_keys[w.n_todo] = key;
        w.face_keys[w.n_todo] =
            opts->cache_path ? cache_key("face", detect_tag, "", set->images[i]) : NULL;
        w.todo[w.n_todo++] = i;
    }
    if (!w.n_todo) goto out;

    if ((size_t)jobs > w.n_todo) jobs = (int)w.n_todo;
    if (!(workers = calloc((size_t)jobs, sizeof *workers))) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory");
        goto out;
    }
    for (opened = 0; opened < jobs; opened++) {
        workers[opened].w = &w;
        if ((rc = fg_engine_open(&opts->engine, &workers[opened].engine, err))) goto out;
    }
    /* Worker 0 runs on this thread. */
    int started = 1;
    for (; started < jobs; started++)
        if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started])) break;
    worker_main(&workers[0]);
    for (int t = 1; t < started; t++)
        pthread_join(workers[t].thread, NULL);

out:
    for (int t = 0; t < opened; t++)
        fg_engine_free(workers[t].engine);
    free(workers);
    for (size_t k = 0; k < w.n_todo; k++) {
        free(w.face_keys[k]);
        free(w.desc_keys[k]);
    }
    free(w.face_keys);
    free(w.desc_keys);
    free(w.todo);
    free(used);
    cache_close(&c);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

/* ---- scoring -------------------------------------------------------------------------------- */

void fg_eval_score(fg_eval_set *set, const fg_eval_descriptor *desc,
                   const fg_eval_score_options *opts)
{
    int mean_enroll = opts && opts->mean_enroll;
    float (*distance)(const float *, const float *) =
        opts && opts->euclidean ? fg_distance : fg_match_distance;
    for (size_t p = 0; p < set->n_pairs; p++) {
        fg_eval_pair *q = &set->pairs[p];
        const fg_eval_descriptor *probe = &desc[q->b];
        float mean[FG_DESCRIPTOR_DIM] = {0}, best = INFINITY;
        int n = 0;

        q->no_face = 1;
        q->distance = INFINITY;
        if (probe->status != FG_EVAL_FACE) continue;
        for (int k = 0; k < q->a_count; k++) {
            const fg_eval_descriptor *e = &desc[q->a + k];
            if (e->status != FG_EVAL_FACE) continue;
            n++;
            if (mean_enroll) {
                for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
                    mean[i] += e->d[i];
            } else {
                best = fminf(best, distance(e->d, probe->d));
            }
        }
        /* An enrollment keeps the images where a face was found; none left is a missing face. */
        if (!n) continue;
        if (mean_enroll) {
            for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
                mean[i] /= (float)n;
            best = distance(mean, probe->d);
        }
        q->no_face = 0;
        q->distance = best;
    }
}

void fg_eval_count_images(const fg_eval_set *set, const fg_eval_descriptor *desc, fg_eval_report *r)
{
    r->images = r->no_face = r->errors = 0;
    for (size_t i = 0; i < set->n_images; i++) {
        if (desc[i].status == FG_EVAL_UNUSED) continue;
        r->images++;
        r->errors += desc[i].status == FG_EVAL_ERROR;
        r->no_face += desc[i].status == FG_EVAL_NO_FACE;
    }
}
