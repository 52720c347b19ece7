/*
 * fuzz-weights.c - the TF.js weights manifest loader (nn_weights_parse, the parsing behind
 * nn_weights_load): a JSON manifest of groups {paths, weights: [{name, shape, dtype,
 * quantization}]}, and the shard bytes it describes. The input is the manifest, a NUL byte,
 * then the bytes every shard the manifest names reads as. A success has every tensor named and
 * filled; a failure is a model error with a message and nothing allocated.
 */
#include <string.h>

#include "fuzz.h"
#include "core/error.h"
#include "nn/nn.h"

typedef struct shard {
    const uint8_t *data;
    size_t size;
} shard;

static int read_shard(void *ctx, const char *file, unsigned char **data, size_t *size,
                      fg_error *err)
{
    const shard *s = ctx;
    (void)file;
    *data = malloc(s->size ? s->size : 1);
    if (!*data) return fg_fail(err, FG_ENOMEM, "out of memory");
    if (s->size) memcpy(*data, s->data, s->size);
    *size = s->size;
    return FG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t manifest_size = nul ? (size_t)(nul - data) : size;
    shard s = {nul ? nul + 1 : data + size, nul ? size - manifest_size - 1 : 0};
    nn_weights w;
    fg_error err = {0};
    int rc = nn_weights_parse((const char *)data, manifest_size, "fuzz-weights_manifest.json",
                              read_shard, &s, &w, &err);
    if (rc == FG_OK) {
        for (size_t i = 0; i < w.count; i++)
            FG_FUZZ_CHECK(w.tensors[i].name && w.tensors[i].data && w.tensors[i].count > 0);
        FG_FUZZ_CHECK(nn_weights_find(&w, "conv/weights") == NULL ||
                      nn_weights_find(&w, "conv/weights")->count > 0);
    } else {
        FG_FUZZ_CHECK(err.message[0] && w.tensors == NULL && w.count == 0);
    }
    nn_weights_free(&w);
    return 0;
}

void fg_fuzz_seeds(void)
{
    /* A float32 3x1 conv with a bias, a uint8-quantised tensor, an int32 one; 2 groups. */
    static const char manifest[] =
        "[{\"paths\":[\"a.bin\"],\"weights\":["
        "{\"name\":\"conv/weights\",\"shape\":[3,1,1,1],\"dtype\":\"float32\"},"
        "{\"name\":\"conv/bias\",\"shape\":[1],\"dtype\":\"float32\"}]},"
        "{\"paths\":[\"b.bin\",\"c.bin\"],\"weights\":["
        "{\"name\":\"q\",\"shape\":[2,2],\"dtype\":\"float32\","
        "\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}},"
        "{\"name\":\"n\",\"shape\":[1],\"dtype\":\"int32\"}]}]";
    uint8_t input[sizeof manifest + 16];
    float values[4] = {1.0f, -2.5f, 0.25f, 3.0f};
    memcpy(input, manifest, sizeof manifest); /* the NUL separates the manifest */
    memcpy(input + sizeof manifest, values, sizeof values);
    fg_fuzz_seed("two-groups", input, sizeof input);
    fg_fuzz_seed("manifest-only", manifest, sizeof manifest - 1);
}
