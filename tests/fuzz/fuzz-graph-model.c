/*
 * fuzz-graph-model.c - the TF.js graph-model translator (nn_graph_model_parse, what
 * nn_graph_model_load runs after reading the files): a model.json (modelTopology.node[] and a
 * weightsManifest) and the weight file it names. The input is the model.json, a NUL byte, then
 * the weight file's bytes. The model is asked for output "y" from a 4x4x2 input. A success is a
 * runtime that runs and gives finite-sized outputs; a failure is a model error with a message
 * and nothing built.
 */
#include <string.h>

#include "fuzz.h"
#include "nn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_size = nul ? (size_t)(nul - data) : size;
    const nn_blob shard = {nul ? nul + 1 : data + size, nul ? size - json_size - 1 : 0};
    const char *outputs[1] = {"y"};
    const nn_graph_model_options opts = {.name = "fuzz.json",
                                         .outputs = outputs,
                                         .num_outputs = 1,
                                         .input = {4, 4, 2},
                                         .batch = 1,
                                         .threads = 1};
    nn_runtime *rt = NULL;
    fg_error err = {0};
    int rc = nn_graph_model_parse(data, json_size, &shard, 1, &opts, &rt, &err);
    if (rc == FG_OK) {
        size_t count = 0;
        FG_FUZZ_CHECK(rt != NULL);
        memset(nn_runtime_input(rt), 0, sizeof(float) * 4 * 4 * 2);
        if (nn_run(rt, &err) == FG_OK) {
            FG_FUZZ_CHECK(nn_runtime_output(rt, 0, &count) != NULL && count > 0);
        } else {
            FG_FUZZ_CHECK(err.message[0]);
        }
    } else {
        FG_FUZZ_CHECK(err.message[0] && rt == NULL);
    }
    nn_runtime_free(rt);
    return 0;
}

/* A 1x1 convolution with a bias and ReLU (as _FusedConv2D), then a Mul by a constant and a
 * Reshape: the shapes of a real model's first and last nodes. */
void fg_fuzz_seeds(void)
{
    static const char model[] =
        "{\"modelTopology\":{\"node\":["
        "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":["
        "{\"size\":\"-1\"},{\"size\":\"4\"},{\"size\":\"4\"},{\"size\":\"2\"}]}}}},"
        "{\"name\":\"w\",\"op\":\"Const\"},{\"name\":\"b\",\"op\":\"Const\"},"
        "{\"name\":\"k\",\"op\":\"Const\"},{\"name\":\"s\",\"op\":\"Const\"},"
        "{\"name\":\"c\",\"op\":\"_FusedConv2D\",\"input\":[\"x\",\"w\",\"b\"],\"attr\":{"
        "\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}},\"padding\":{\"s\":\"U0FNRQ==\"},"
        "\"fused_ops\":{\"list\":{\"s\":[\"Qmlhc0FkZA==\",\"UmVsdQ==\"]}},"
        "\"num_args\":{\"i\":\"1\"}}},"
        "{\"name\":\"m\",\"op\":\"Mul\",\"input\":[\"c\",\"k\"]},"
        "{\"name\":\"y\",\"op\":\"Reshape\",\"input\":[\"m\",\"s\"]}]},"
        "\"weightsManifest\":[{\"paths\":[\"w.bin\"],\"weights\":["
        "{\"name\":\"w\",\"shape\":[1,1,2,3],\"dtype\":\"float32\"},"
        "{\"name\":\"b\",\"shape\":[3],\"dtype\":\"float32\"},"
        "{\"name\":\"k\",\"shape\":[1],\"dtype\":\"float32\"},"
        "{\"name\":\"s\",\"shape\":[2],\"dtype\":\"int32\"}]}]}";
    const float w[6] = {0.5f, -1.0f, 0.25f, 2.0f, 1.0f, -0.5f}, b[3] = {0.1f, 0.0f, -0.2f};
    const float k = 3.0f;
    const int32_t s[2] = {1, 48};
    uint8_t input[sizeof model + sizeof w + sizeof b + sizeof k + sizeof s], *p = input;
    memcpy(p, model, sizeof model), p += sizeof model; /* the NUL separates the model */
    memcpy(p, w, sizeof w), p += sizeof w;
    memcpy(p, b, sizeof b), p += sizeof b;
    memcpy(p, &k, sizeof k), p += sizeof k;
    memcpy(p, s, sizeof s);
    fg_fuzz_seed("conv-mul-reshape", input, sizeof input);
    fg_fuzz_seed("model-only", model, sizeof model - 1);
}
