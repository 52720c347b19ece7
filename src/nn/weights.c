/*
 * weights.c - TF.js "layers" weight manifests: verify, read, dequantise.
 *
 * A manifest is a JSON array of groups {paths: [...], weights: [{name, shape, dtype,
 * quantization?}]}. A group's buffer is its shards concatenated; tensors lie back to back in
 * manifest order. uint8-quantised tensors take one byte per element; float32 ones four.
 */
#include "nn/nn.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/error.h"

/* Pinned SHA-256 of every file we load, from @vladmandic/face-api@1.7.15. A file that differs
 * is refused: weights are code. */
static const struct {
    const char *file;
    const char *sha256;
} pinned[] = {
    {"face_recognition_model-weights_manifest.json",
     "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"},
    {"face_recognition_model.bin",
     "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"},
    {"face_landmark_68_model-weights_manifest.json",
     "ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"},
    {"face_landmark_68_model.bin",
     "4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"},
    {"ssd_mobilenetv1_model-weights_manifest.json",
     "888f744dffbc84f5f060d1f8427d9742341943a2dfaaf9205d10029b7e7a2955"},
    {"ssd_mobilenetv1_model.bin",
     "2835640602d53718aa6ae9a42896327eaa21beefed056c218d32ca7d79e1e2f8"},
    {"tiny_face_detector_model-weights_manifest.json",
     "5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"},
    {"tiny_face_detector_model.bin",
     "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"},
};

#define MAX_FILE_BYTES (64u << 20)
/* More values than a manifest can mean (every shard is at most MAX_FILE_BYTES; the largest
 * face-api model has 5.4 M): refused before the buffers are allocated. */
#define MAX_TOTAL_VALUES ((size_t)1 << 26)

static int read_file(const char *path, unsigned char **data, size_t *size, fg_error *err)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return fg_fail(err, FG_EMODEL_MISSING, "cannot open model file %s: %s", path,
                       strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto io;
    if ((unsigned long)n > MAX_FILE_BYTES) {
        fclose(f);
        return fg_fail(err, FG_EMODEL_CORRUPT, "model file %s is %ld bytes, too large", path, n);
    }
    buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        fclose(f);
        return fg_fail(err, FG_ENOMEM, "out of memory reading %s", path);
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) goto io;
    fclose(f);
    *data = buf;
    *size = (size_t)n;
    return FG_OK;
io:
    free(buf);
    fclose(f);
    return fg_fail(err, FG_EIO, "cannot read model file %s", path);
}

/* Reads <dir>/<file> and checks it against the pinned hash. */
static int read_verified(const char *dir, const char *file, unsigned char **data, size_t *size,
                         fg_error *err)
{
    char path[4096];
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    const char *want = NULL;
    int rc;

    if (strchr(file, '/') || strstr(file, ".."))
        return fg_fail(err, FG_EMODEL_CORRUPT, "manifest names an unexpected file '%s'", file);
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++)
        if (strcmp(pinned[i].file, file) == 0) want = pinned[i].sha256;
    if (!want) return fg_fail(err, FG_EMODEL_CORRUPT, "no pinned SHA-256 for model file %s", file);

    snprintf(path, sizeof path, "%s/%s", dir, file);
    if ((rc = read_file(path, data, size, err)) != FG_OK) return rc;
    crypto_hash_sha256(digest, *data, *size);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    if (strcmp(hex, want) != 0) {
        free(*data);
        *data = NULL;
        return fg_fail(err, FG_EMODEL_CORRUPT,
                       "model file %s fails its SHA-256 check (got %.12s..., want %.12s...)", path,
                       hex, want);
    }
    return FG_OK;
}

static int dtype_bytes(const char *dtype, const json_t *quant)
{
    if (quant) {
        const char *q = json_string_value(json_object_get(quant, "dtype"));
        return q && strcmp(q, "uint8") == 0 ? 1 : -1;
    }
    if (strcmp(dtype, "float32") == 0 || strcmp(dtype, "int32") == 0) return 4;
    return -1;
}

/* Decodes one tensor of n elements from src into dst. */
static void decode_tensor(float *dst, const unsigned char *src, size_t n, const char *dtype,
                          const json_t *quant)
{
    int is_int = strcmp(dtype, "int32") == 0;
    if (quant) {
        double scale = json_number_value(json_object_get(quant, "scale"));
        double min = json_number_value(json_object_get(quant, "min"));
        for (size_t i = 0; i < n; i++) {
            double v = (double)src[i] * scale + min;
            dst[i] = is_int ? (float)round(v) : (float)v;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                        (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        if (is_int) {
            dst[i] = (float)(int32_t)bits;
        } else {
            memcpy(&dst[i], &bits, sizeof bits);
        }
    }
}

/* The shard reader of nn_weights_load: the file under the model folder, SHA-256 verified. */
static int read_shard_file(void *dir, const char *file, unsigned char **data, size_t *size,
                           fg_error *err)
{
    return read_verified(dir, file, data, size, err);
}

/* Concatenates a group's shards into one buffer. */
static int read_group(nn_shard_reader read_shard, void *ctx, const json_t *paths,
                      unsigned char **buf, size_t *size, fg_error *err)
{
    size_t i;
    json_t *p;
    *buf = NULL;
    *size = 0;
    json_array_foreach(paths, i, p)
    {
        unsigned char *shard = NULL, *grown;
        size_t n;
        int rc;
        if (!json_is_string(p)) {
            rc = fg_fail(err, FG_EMODEL_CORRUPT, "manifest path is not a string");
        } else if ((rc = read_shard(ctx, json_string_value(p), &shard, &n, err)) == FG_OK) {
            if ((grown = realloc(*buf, *size + n + 1)) != NULL) {
                memcpy(grown + *size, shard, n);
                *buf = grown;
                *size += n;
            } else {
                rc = fg_fail(err, FG_ENOMEM, "out of memory loading weights");
            }
            free(shard);
        }
        if (rc != FG_OK) { /* the shards read so far go too (found by fuzz-weights) */
            free(*buf);
            *buf = NULL;
            *size = 0;
            return rc;
        }
    }
    return FG_OK;
}

/* Parses a tensor spec's shape into t; returns the element count or 0 on error. */
static size_t parse_shape(const json_t *shape, nn_tensor *t)
{
    size_t count = 1, i;
    json_t *d;
    if (!json_is_array(shape) || json_array_size(shape) > 4) return 0;
    t->rank = (int)json_array_size(shape);
    json_array_foreach(shape, i, d)
    {
        json_int_t v = json_integer_value(d);
        if (!json_is_integer(d) || v <= 0 || v > (1 << 24) || count > (SIZE_MAX >> 25)) return 0;
        t->shape[i] = (int)v;
        count *= (size_t)v;
    }
    return count;
}

int nn_weights_load(const char *model_dir, const char *model, nn_weights *out, fg_error *err)
{
    char manifest_file[256];
    unsigned char *manifest_bytes = NULL;
    size_t manifest_size;
    int rc;

    memset(out, 0, sizeof *out);
    snprintf(manifest_file, sizeof manifest_file, "%s-weights_manifest.json", model);
    if ((rc = read_verified(model_dir, manifest_file, &manifest_bytes, &manifest_size, err)))
        return rc;
    rc = nn_weights_parse((const char *)manifest_bytes, manifest_size, manifest_file,
                          read_shard_file, (void *)model_dir, out, err);
    free(manifest_bytes);
    return rc;
}

int nn_weights_parse(const char *manifest, size_t manifest_size, const char *manifest_file,
                     nn_shard_reader read_shard, void *ctx, nn_weights *out, fg_error *err)
{
    size_t total_values = 0, total_names = 0, ntensors = 0, gi, ti;
    json_t *root = NULL, *group, *spec;
    json_error_t jerr;
    int rc;

    memset(out, 0, sizeof *out);
    root = json_loadb(manifest, manifest_size, 0, &jerr);
    if (!json_is_array(root)) {
        rc = fg_fail(err, FG_EMODEL_CORRUPT, "%s: not a weights manifest (%s)", manifest_file,
                     jerr.text);
        goto fail;
    }

    /* First pass: sizes, so that all tensors share two allocations. */
    json_array_foreach(root, gi, group)
    {
        json_array_foreach(json_object_get(group, "weights"), ti, spec)
        {
            nn_tensor t;
            const char *name = json_string_value(json_object_get(spec, "name"));
            size_t n = parse_shape(json_object_get(spec, "shape"), &t);
            if (!name || !n) {
                rc = fg_fail(err, FG_EMODEL_CORRUPT, "%s: bad tensor spec #%zu", manifest_file, ti);
                goto fail;
            }
            total_values += n;
            total_names += strlen(name) + 1;
            ntensors++;
            if (total_values > MAX_TOTAL_VALUES) {
                rc = fg_fail(err, FG_EMODEL_CORRUPT,
                             "%s: declares more than %zu values, more than a model holds",
                             manifest_file, MAX_TOTAL_VALUES);
                goto fail;
            }
        }
    }
    out->tensors = calloc(ntensors ? ntensors : 1, sizeof *out->tensors);
    out->values = malloc((total_values ? total_values : 1) * sizeof(float));
    out->names = malloc(total_names ? total_names : 1);
    if (!out->tensors || !out->values || !out->names) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory loading %s", manifest_file);
        goto fail;
    }

    {
        float *values = out->values;
        char *names = out->names;
        json_array_foreach(root, gi, group)
        {
            unsigned char *buf;
            size_t size, offset = 0;
            if ((rc = read_group(read_shard, ctx, json_object_get(group, "paths"), &buf, &size,
                                 err)))
                goto fail;
            json_array_foreach(json_object_get(group, "weights"), ti, spec)
            {
                nn_tensor *t = &out->tensors[out->count];
                const char *name = json_string_value(json_object_get(spec, "name"));
                const char *dtype = json_string_value(json_object_get(spec, "dtype"));
                json_t *quant = json_object_get(spec, "quantization");
                size_t n = parse_shape(json_object_get(spec, "shape"), t);
                int eb = dtype ? dtype_bytes(dtype, quant) : -1;
                if (eb < 0 || n > (size - offset) / (size_t)eb) {
                    free(buf);
                    rc = fg_fail(err, FG_EMODEL_CORRUPT,
                                 "%s: tensor %s has an unsupported type or lies past the end "
                                 "of its weight file",
                                 manifest_file, name);
                    goto fail;
                }
                decode_tensor(values, buf + offset, n, dtype, quant);
                strcpy(names, name);
                t->name = names;
                t->count = n;
                t->data = values;
                names += strlen(name) + 1;
                values += n;
                offset += n * (size_t)eb;
                out->count++;
            }
            free(buf);
            if (offset != size) {
                rc = fg_fail(err, FG_EMODEL_CORRUPT,
                             "%s: weight file holds %zu bytes, manifest describes %zu",
                             manifest_file, size, offset);
                goto fail;
            }
        }
    }
    json_decref(root);
    return FG_OK;
fail:
    json_decref(root);
    nn_weights_free(out);
    return rc;
}

const nn_tensor *nn_weights_find(const nn_weights *w, const char *name)
{
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return &w->tensors[i];
    return NULL;
}

const nn_tensor *nn_weights_need(const nn_weights *w, const char *name, size_t count, fg_error *err)
{
    const nn_tensor *t = nn_weights_find(w, name);
    if (!t) {
        fg_fail(err, FG_EMODEL_CORRUPT, "model has no tensor named %s", name);
        return NULL;
    }
    if (count && t->count != count) {
        fg_fail(err, FG_EMODEL_CORRUPT, "tensor %s has %zu values, expected %zu", name, t->count,
                count);
        return NULL;
    }
    return t;
}

void nn_weights_free(nn_weights *w)
{
    if (!w) return;
    free(w->tensors);
    free(w->values);
    free(w->names);
    memset(w, 0, sizeof *w);
}
