/*
 * weights.c - TF.js weight manifests: verify, read, dequantise.
 *
 * A manifest is a JSON array of groups {paths: [...], weights: [{name, shape, dtype,
 * quantization?}]}: face-api ships one as `<model>-weights_manifest.json`, a graph model holds
 * one as its `weightsManifest`. A group's buffer is its shards concatenated; tensors lie back to
 * back in manifest order. Quantised tensors take 1 (uint8) or 2 (uint16, float16) bytes per
 * element; float32 and int32 ones 4.
 */
#include "nn/manifest.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"

/* Pinned SHA-256 of every file we load: @vladmandic/face-api@1.7.15 (the face-api networks) and
 * @vladmandic/human@3.3.6 (the graph models of the fast path). A file that differs is refused:
 * weights are code. */
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
    {"blazeface.json", "cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f"},
    {"blazeface.bin", "dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72"},
    {"facemesh.json", "b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7"},
    {"facemesh.bin", "3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b"},
    {"iris.json", "49038ac9dcc09aa05474d91d98e9db5b47af4830929bcf102ed5a56bfbabb465"},
    {"iris.bin", "d7f296d184274213d4642681ae186112cbbec77fd2ab066257d3c56a1940bc71"},
};

#define MAX_FILE_BYTES (64u << 20)
/* More values than a manifest can mean (every shard is at most MAX_FILE_BYTES; the largest
 * model has 5.4 M): refused before the buffers are allocated. */
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

int nn_read_verified(const char *dir, const char *file, unsigned char **data, size_t *size,
                     fg_error *err)
{
    char path[4096];
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    const char *want = NULL;
    int rc;

    *data = NULL;
    *size = 0;
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

/* How a tensor is stored. */
typedef enum storage { STORE_F32, STORE_I32, STORE_U8, STORE_U16, STORE_F16 } storage;

static int storage_of(const char *dtype, const json_t *quant, storage *out)
{
    if (quant) {
        const char *q = json_string_value(json_object_get(quant, "dtype"));
        if (!q) return -1;
        if (strcmp(q, "uint8") == 0) return *out = STORE_U8, 1;
        if (strcmp(q, "uint16") == 0) return *out = STORE_U16, 2;
        if (strcmp(q, "float16") == 0) return *out = STORE_F16, 2;
        return -1;
    }
    if (strcmp(dtype, "float32") == 0) return *out = STORE_F32, 4;
    if (strcmp(dtype, "int32") == 0) return *out = STORE_I32, 4;
    return -1;
}

int nn_json_error_code(const json_error_t *jerr, int verified)
{
    /* jansson reports some of its allocation failures as syntax errors, or not at all. */
    if (verified || json_error_code(jerr) == json_error_out_of_memory || !jerr->text[0])
        return FG_ENOMEM;
    return FG_EMODEL_CORRUPT;
}

/* IEEE half to float, exactly (subnormals, infinities and NaN included), by moving the bits:
 * ldexpf per weight made decoding most of the time the fast path's models took to open. */
float nn_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 31, f = h & 1023;
    uint32_t bits;
    float v;
    if (e == 0) { /* zero or subnormal: f * 2^-24, exact in float */
        v = (float)f * 0x1p-24f;
        memcpy(&bits, &v, sizeof bits);
        bits |= sign;
    } else if (e == 31) { /* infinity or NaN */
        bits = sign | 0x7f800000u | f << 13;
    } else {
        bits = sign | (e + 112) << 23 | f << 13; /* exponent bias 15 -> 127 */
    }
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Decodes one tensor of n elements from src into dst, as tfjs's decodeWeights does: quantised
 * values are dequantised in double and rounded to float32 (int32 tensors to the nearest
 * integer); float16 converts exactly. */
static void decode_tensor(float *dst, const unsigned char *src, size_t n, storage st, int is_int,
                          const json_t *quant)
{
    double scale = json_number_value(json_object_get(quant, "scale"));
    double min = json_number_value(json_object_get(quant, "min"));
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = src + i * (st == STORE_U8 ? 1 : st >= STORE_U16 ? 2 : 4);
        uint32_t bits = p[0];
        if (st != STORE_U8) bits |= (uint32_t)p[1] << 8;
        if (st == STORE_F32 || st == STORE_I32) bits |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        switch (st) {
        case STORE_F32:
            memcpy(&dst[i], &bits, sizeof bits);
            break;
        case STORE_I32:
            dst[i] = (float)(int32_t)bits;
            break;
        case STORE_F16:
            dst[i] = nn_half_to_float((uint16_t)bits);
            break;
        default: { /* uint8, uint16 */
            double v = (double)bits * scale + min;
            dst[i] = is_int ? (float)round(v) : (float)v;
        }
        }
    }
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

/* A group's shards concatenated (the next json_array_size(paths) of shards[*next...]). */
static int group_buffer(const json_t *paths, const nn_blob *shards, size_t nshards, size_t *next,
                        const char *what, unsigned char **buf, size_t *size, fg_error *err)
{
    size_t n = json_array_size(paths), total = 0;
    *buf = NULL;
    *size = 0;
    if (!json_is_array(paths) || n > nshards - *next)
        return fg_fail(err, FG_EMODEL_CORRUPT, "%s: weight group names %zu files, %zu left", what,
                       n, nshards - *next);
    for (size_t i = 0; i < n; i++) {
        if (shards[*next + i].size > MAX_FILE_BYTES)
            return fg_fail(err, FG_EMODEL_CORRUPT, "%s: weight file too large", what);
        total += shards[*next + i].size;
    }
    if (!(*buf = malloc(total + 1)))
        return fg_fail(err, FG_ENOMEM, "out of memory loading %s", what);
    for (size_t i = 0; i < n; i++, (*next)++) {
        if (shards[*next].size) memcpy(*buf + *size, shards[*next].data, shards[*next].size);
        *size += shards[*next].size;
    }
    return FG_OK;
}

int nn_weights_decode(const json_t *groups, const nn_blob *shards, size_t nshards, const char *what,
                      nn_weights *out, fg_error *err)
{
    size_t total_values = 0, total_names = 0, ntensors = 0, gi, ti, next = 0;
    const json_t *group, *spec;
    float *values;
    char *names;
    int rc;

    memset(out, 0, sizeof *out);
    if (!json_is_array(groups))
        return fg_fail(err, FG_EMODEL_CORRUPT, "%s: the weights manifest is not a list", what);
    /* First pass: sizes, so that all tensors share two allocations. */
    json_array_foreach(groups, gi, group)
    {
        json_array_foreach(json_object_get(group, "weights"), ti, spec)
        {
            nn_tensor t;
            const char *name = json_string_value(json_object_get(spec, "name"));
            size_t n = parse_shape(json_object_get(spec, "shape"), &t);
            if (!name || !n || total_values > (SIZE_MAX / sizeof(float)) / 2 - n)
                return fg_fail(err, FG_EMODEL_CORRUPT, "%s: bad tensor spec #%zu (%s)", what, ti,
                               name ? name : "no name");
            total_values += n;
            if (total_values > MAX_TOTAL_VALUES)
                return fg_fail(err, FG_EMODEL_CORRUPT,
                               "%s: declares more than %zu values, more than a model holds", what,
                               MAX_TOTAL_VALUES);
            total_names += strlen(name) + 1;
            ntensors++;
        }
    }
    out->tensors = calloc(ntensors ? ntensors : 1, sizeof *out->tensors);
    out->values = fg_alloc_lines((total_values ? total_values : 1) * sizeof(float));
    out->names = malloc(total_names ? total_names : 1);
    if (!out->tensors || !out->values || !out->names) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory loading %s", what);
        goto fail;
    }

    values = out->values;
    names = out->names;
    json_array_foreach(groups, gi, group)
    {
        unsigned char *buf;
        size_t size, offset = 0;
        if ((rc = group_buffer(json_object_get(group, "paths"), shards, nshards, &next, what, &buf,
                               &size, err)))
            goto fail;
        json_array_foreach(json_object_get(group, "weights"), ti, spec)
        {
            nn_tensor *t = &out->tensors[out->count];
            const char *name = json_string_value(json_object_get(spec, "name"));
            const char *dtype = json_string_value(json_object_get(spec, "dtype"));
            json_t *quant = json_object_get(spec, "quantization");
            size_t n = parse_shape(json_object_get(spec, "shape"), t);
            storage st = STORE_F32;
            int eb = dtype ? storage_of(dtype, quant, &st) : -1;
            if (eb < 0 || n > (size - offset) / (size_t)eb) {
                free(buf);
                rc = fg_fail(err, FG_EMODEL_CORRUPT,
                             "%s: tensor %s has an unsupported type or lies past the end of its "
                             "weight file (truncated?)",
                             what, name);
                goto fail;
            }
            decode_tensor(values, buf + offset, n, st, strcmp(dtype, "int32") == 0, quant);
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
                         "%s: weight file holds %zu bytes, manifest describes %zu", what, size,
                         offset);
            goto fail;
        }
    }
    if (next != nshards) {
        rc = fg_fail(err, FG_EMODEL_CORRUPT, "%s: %zu weight files given, manifest names %zu", what,
                     nshards, next);
        goto fail;
    }
    return FG_OK;
fail:
    nn_weights_free(out);
    return rc;
}

/* The shard reader of the files under a model folder, SHA-256 verified. */
static int read_shard_file(void *dir, const char *file, unsigned char **data, size_t *size,
                           fg_error *err)
{
    return nn_read_verified(dir, file, data, size, err);
}

/* Every shard the manifest's groups name, in order, through read_shard. */
static int read_shards(nn_shard_reader read_shard, void *ctx, const json_t *groups,
                       nn_blob **shards, size_t *nshards, fg_error *err)
{
    size_t n = 0, gi, pi, k = 0;
    const json_t *group, *path;
    int rc = FG_OK;

    *shards = NULL;
    *nshards = 0;
    json_array_foreach(groups, gi, group) n += json_array_size(json_object_get(group, "paths"));
    if (!(*shards = calloc(n ? n : 1, sizeof **shards)))
        return fg_fail(err, FG_ENOMEM, "out of memory reading weights");
    json_array_foreach(groups, gi, group)
    {
        json_array_foreach(json_object_get(group, "paths"), pi, path)
        {
            unsigned char *data;
            if (!json_is_string(path)) {
                rc = fg_fail(err, FG_EMODEL_CORRUPT, "manifest path is not a string");
                break;
            }
            if ((rc = read_shard(ctx, json_string_value(path), &data, &(*shards)[k].size, err)))
                break;
            (*shards)[k++].data = data;
        }
        if (rc) break;
    }
    *nshards = k;
    if (rc) nn_free_shards(*shards, k), *shards = NULL, *nshards = 0;
    return rc;
}

int nn_read_manifest_shards(const char *dir, const json_t *groups, nn_blob **shards,
                            size_t *nshards, fg_error *err)
{
    return read_shards(read_shard_file, (void *)dir, groups, shards, nshards, err);
}

void nn_free_shards(nn_blob *shards, size_t n)
{
    if (!shards) return;
    for (size_t i = 0; i < n; i++)
        free((void *)shards[i].data);
    free(shards);
}

/* nn_weights_parse; `verified`: the manifest matched its pinned SHA-256. */
static int weights_parse(const char *manifest, size_t manifest_size, const char *manifest_file,
                         int verified, nn_shard_reader read_shard, void *ctx, nn_weights *out,
                         fg_error *err)
{
    size_t nshards = 0;
    nn_blob *shards = NULL;
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(out, 0, sizeof *out);
    root = json_loadb(manifest, manifest_size, 0, &jerr);
    if (!json_is_array(root)) {
        int code = root ? FG_EMODEL_CORRUPT : nn_json_error_code(&jerr, verified);
        json_decref(root);
        return fg_fail(err, code, "%s: not a weights manifest (%s)", manifest_file,
                       code == FG_ENOMEM ? "out of memory"
                       : root            ? "not a list"
                                         : jerr.text);
    }
    rc = read_shards(read_shard, ctx, root, &shards, &nshards, err);
    if (!rc) rc = nn_weights_decode(root, shards, nshards, manifest_file, out, err);
    nn_free_shards(shards, nshards);
    json_decref(root);
    return rc;
}

int nn_weights_load(const char *model_dir, const char *model, nn_weights *out, fg_error *err)
{
    char manifest_file[256];
    unsigned char *bytes = NULL;
    size_t size;
    int rc;

    memset(out, 0, sizeof *out);
    snprintf(manifest_file, sizeof manifest_file, "%s-weights_manifest.json", model);
    if ((rc = nn_read_verified(model_dir, manifest_file, &bytes, &size, err))) return rc;
    rc = weights_parse((const char *)bytes, size, manifest_file, 1, read_shard_file,
                       (void *)model_dir, out, err);
    free(bytes);
    return rc;
}

int nn_weights_parse(const char *manifest, size_t manifest_size, const char *manifest_file,
                     nn_shard_reader read_shard, void *ctx, nn_weights *out, fg_error *err)
{
    return weights_parse(manifest, manifest_size, manifest_file, 0, read_shard, ctx, out, err);
}

const nn_tensor *nn_weights_find(const nn_weights *w, const char *name)
{
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return &w->tensors[i];
    return NULL;
}

void nn_weights_free(nn_weights *w)
{
    if (!w) return;
    free(w->tensors);
    free(w->values);
    free(w->names);
    memset(w, 0, sizeof *w);
}
