/*
 * Broken graph models fail to load with a specific error, without crashing or leaking (the
 * suite runs again under ASan/UBSan). Each is made here from Human's real blazeface.json/.bin:
 * in a temporary folder for the file loader (a tampered weight file, a truncated one, a missing
 * one: the pinned SHA-256 or the open fails), and in memory for the parser behind it (what a
 * model would do if its hash were not pinned: truncated weights, an unsupported op, tensors of
 * the wrong shape, a cycle, an input of the wrong size, not JSON).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nn/nn.h"

static const char *const outputs[4] = {"Identity", "Identity_2", "Identity_1", "Identity_3"};
static const nn_graph_model_options opts = {.name = "blazeface.json",
                                            .outputs = outputs,
                                            .num_outputs = 4,
                                            .input = {256, 256, 3},
                                            .batch = 1,
                                            .threads = 1};

static char *json_text;
static unsigned char *bin;
static size_t json_size, bin_size;

static void write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, size, f) == size);
    if (f) fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* Loads from dir; expects `code` and a message containing `needle`. */
static void expect_load(const char *dir, int code, const char *needle, const char *what)
{
    nn_runtime *rt = NULL;
    fg_error err = {0};
    int rc = nn_graph_model_load(dir, "blazeface", &opts, &rt, &err);
    CHECKF(rc == code, "%s: got %d (%s), expected %d", what, rc, err.message, code);
    CHECKF(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.message,
           needle);
    CHECK(rt == NULL);
    nn_runtime_free(rt);
}

static void test_files(void)
{
    char dir[] = "/tmp/fg-graph-XXXXXX";
    unsigned char *tampered = malloc(bin_size);
    CHECK(mkdtemp(dir) != NULL && tampered != NULL);
    if (!tampered) return;

    write_file(dir, "blazeface.json", json_text, json_size);
    expect_load(dir, FG_EMODEL_MISSING, "blazeface.bin", "missing weight file");

    memcpy(tampered, bin, bin_size);
    tampered[bin_size / 3] ^= 0x01;
    write_file(dir, "blazeface.bin", tampered, bin_size);
    expect_load(dir, FG_EMODEL_CORRUPT, "SHA-256", "one bit flipped in the weights");

    write_file(dir, "blazeface.bin", bin, bin_size - 1000);
    expect_load(dir, FG_EMODEL_CORRUPT, "SHA-256", "truncated weight file");

    /* The real files load: the folder itself is fine. */
    write_file(dir, "blazeface.bin", bin, bin_size);
    nn_runtime *rt = NULL;
    fg_error err = {0};
    CHECKF(nn_graph_model_load(dir, "blazeface", &opts, &rt, &err) == FG_OK, "%s", err.message);
    nn_runtime_free(rt);

    remove_file(dir, "blazeface.json");
    remove_file(dir, "blazeface.bin");
    rmdir(dir);
    free(tampered);
}

/* Parses model text with a weight shard of `size` bytes; expects code + needle. */
static void expect_parse(const char *text, size_t size, const nn_graph_model_options *o, int code,
                         const char *needle, const char *what)
{
    const nn_blob shard = {bin, size};
    nn_runtime *rt = NULL;
    fg_error err = {0};
    int rc = nn_graph_model_parse(text, strlen(text), &shard, 1, o, &rt, &err);
    CHECKF(rc == code, "%s: got %d (%s), expected %d", what, rc, err.message, code);
    CHECKF(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.message,
           needle);
    CHECK(rt == NULL);
    nn_runtime_free(rt);
}

/* The real model.json with one change made by `edit`, as text (caller frees). */
static char *edited(void (*edit)(json_t *root))
{
    json_t *root = json_loadb(json_text, json_size, 0, NULL);
    char *text;
    edit(root);
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static json_t *node_named(json_t *root, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(json_object_get(root, "modelTopology"), "node"), i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0) return n;
    }
    return NULL;
}

static json_t *weight_named(json_t *root, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(
        json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights"), i,
        w)
    {
        if (strcmp(json_string_value(json_object_get(w, "name")), name) == 0) return w;
    }
    return NULL;
}

#define RELU "StatefulPartitionedCall/functional_1/re_lu_3/Relu"
#define STEM "StatefulPartitionedCall/functional_1/conv2d/Relu"

static void unsupported_op(json_t *root)
{
    json_object_set_new(node_named(root, RELU), "op", json_string("Softplus"));
}

/* [5, 5, 3, 24] -> [5, 5, 24, 3]: the same bytes, the wrong layout for its input. */
static void transposed_filter(json_t *root)
{
    json_object_set_new(weight_named(root, "unknown"), "shape",
                        json_pack("[i,i,i,i]", 5, 5, 24, 3));
}

/* [5, 5, 3, 24] -> [5, 5, 3, 12]: half the bytes, so every later tensor is misplaced. */
static void shrunk_filter(json_t *root)
{
    json_object_set_new(weight_named(root, "unknown"), "shape",
                        json_pack("[i,i,i,i]", 5, 5, 3, 12));
}

static void cycle(json_t *root)
{
    /* The stem convolution reads the output of a later block. */
    json_array_set_new(json_object_get(node_named(root, STEM), "input"), 0, json_string(RELU));
}

static void dangling_input(json_t *root)
{
    json_array_set_new(json_object_get(node_named(root, RELU), "input"), 0,
                       json_string("no/such/node"));
}

static void test_parse(void)
{
    char *text;
    nn_graph_model_options o = opts;

    expect_parse(json_text, bin_size - 4, &opts, FG_EMODEL_CORRUPT, "truncated",
                 "truncated weights");
    expect_parse(json_text, 0, &opts, FG_EMODEL_CORRUPT, "truncated", "no weights at all");

    text = edited(unsupported_op);
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT, "op 'Softplus' is not supported",
                 "unsupported op");
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT, RELU, "unsupported op names its node");
    free(text);

    text = edited(transposed_filter);
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT,
                 "the filter is [5, 5, 24, 3] but the input has 3 channels",
                 "filter of the wrong shape");
    free(text);

    text = edited(shrunk_filter);
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT, "manifest describes",
                 "tensor sizes that do not add up");
    free(text);

    text = edited(cycle);
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT, "cycle", "a cycle");
    free(text);

    text = edited(dangling_input);
    expect_parse(text, bin_size, &opts, FG_EMODEL_CORRUPT, "no/such/node is not a node",
                 "an input that does not exist");
    free(text);

    o.input[0] = o.input[1] = 128;
    expect_parse(json_text, bin_size, &o, FG_EMODEL_CORRUPT, "expected [128, 128, 3]",
                 "an input of the wrong size");
    o = opts;
    const char *const missing[1] = {"Identity_9"};
    o.outputs = missing, o.num_outputs = 1;
    expect_parse(json_text, bin_size, &o, FG_EMODEL_CORRUPT, "no output node named Identity_9",
                 "an output that does not exist");
    expect_parse("{\"modelTopology\": [", 19, &opts, FG_EMODEL_CORRUPT, "not JSON", "not JSON");
    expect_parse("{}", bin_size, &opts, FG_EMODEL_CORRUPT, "no modelTopology", "empty object");
}

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/blazeface.json", fg_test_fast_models());
    json_text = fg_test_read(path, &json_size);
    snprintf(path, sizeof path, "%s/blazeface.bin", fg_test_fast_models());
    bin = fg_test_read(path, &bin_size);
    CHECKF(json_text && bin, "cannot read Human's blazeface model from %s", fg_test_fast_models());
    if (json_text && bin) {
        test_files();
        test_parse();
    }
    free(json_text);
    free(bin);
    return fg_test_done();
}
