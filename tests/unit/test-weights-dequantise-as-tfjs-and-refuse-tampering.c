/* The weight loader reproduces TF.js's dequantised tensors exactly (golden/weights_check),
 * converts every float16 value exactly (Human's models are stored so), and refuses missing or
 * tampered model files. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "nn/manifest.h"
#include "nn/nn.h"

static void check_model(const char *model)
{
    char rel[256];
    nn_weights w;
    fg_error err = {0};
    json_error_t jerr;
    json_t *golden, *tensors, *t;
    size_t i;
    int mismatched = 0;

    snprintf(rel, sizeof rel, "golden/weights_check/%s.json", model);
    golden = json_load_file(fg_test_shared(rel), 0, &jerr);
    CHECKF(golden != NULL, "cannot read %s: %s", rel, jerr.text);
    if (!golden) return;
    CHECKF(nn_weights_load(fg_test_models(), model, &w, &err) == FG_OK, "%s: %s", model,
           err.message);
    tensors = json_object_get(golden, "tensors");
    CHECK_EQ_INT(w.count, json_array_size(tensors));
    json_array_foreach(tensors, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const nn_tensor *x = nn_weights_find(&w, name);
        json_t *first = json_object_get(t, "first");
        double sum = 0;
        int bad = 0;
        if (!x) {
            CHECKF(0, "%s: tensor %s missing", model, name);
            continue;
        }
        CHECK_EQ_INT(x->count, json_integer_value(json_object_get(t, "count")));
        for (size_t k = 0; k < x->count; k++)
            sum += x->data[k];
        /* Exact to float32 rounding: each value equal to the golden double cast to float. */
        for (size_t k = 0; k < json_array_size(first) && k < x->count; k++)
            bad |= x->data[k] != (float)json_number_value(json_array_get(first, k));
        bad |= x->data[x->count - 1] != (float)json_number_value(json_object_get(t, "last"));
        /* The sum is accumulated in double over float32 values in both programs; allow only
         * summation-order noise. */
        double gsum = json_number_value(json_object_get(t, "sum"));
        bad |= !(sum - gsum <= 1e-9 * (1 + x->count) && gsum - sum <= 1e-9 * (1 + x->count));
        if (bad) {
            mismatched++;
            CHECKF(0, "%s: tensor %s differs (sum %.12g vs %.12g)", model, name, sum, gsum);
        }
    }
    CHECKF(mismatched == 0, "%s: %d tensors differ", model, mismatched);
    nn_weights_free(&w);
    json_decref(golden);
}

static void check_tampered(void)
{
    char dir[] = "/tmp/fg-weights-XXXXXX", path[512], src[1024];
    nn_weights w;
    fg_error err = {0};
    const char *model = "face_landmark_68_model";
    size_t n;
    unsigned char *bytes;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    /* Missing files: a clear model_missing error. */
    CHECK_EQ_INT(nn_weights_load(dir, model, &w, &err), FG_EMODEL_MISSING);
    CHECK(strstr(err.message, "face_landmark_68_model-weights_manifest.json") != NULL);

    /* A copy with one flipped byte in the .bin: model_corrupt. */
    const char *files[] = {"face_landmark_68_model-weights_manifest.json",
                           "face_landmark_68_model.bin"};
    for (int i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "%s/%s", fg_test_models(), files[i]);
        bytes = fg_test_read(src, &n);
        CHECK(bytes != NULL);
        if (!bytes) return;
        if (i == 1) bytes[n / 2] ^= 0x40;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        f = fopen(path, "wb");
        CHECK(f && fwrite(bytes, 1, n, f) == n);
        if (f) fclose(f);
        free(bytes);
    }
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(nn_weights_load(dir, model, &w, &err), FG_EMODEL_CORRUPT);
    CHECKF(strstr(err.message, "SHA-256") != NULL, "message: %s", err.message);
    CHECK(w.tensors == NULL && w.values == NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    nn_weights_free(NULL);
}

/* All 65536 half-precision bit patterns as one float16 tensor, against IEEE's definition. */
static void every_half(void)
{
    enum { N = 65536 };
    unsigned char *bytes = malloc(2 * N);
    json_t *groups =
        json_pack("[{s:[s], s:[{s:s, s:[i], s:s, s:{s:s}}]}]", "paths", "h.bin", "weights", "name",
                  "h", "shape", N, "dtype", "float32", "quantization", "dtype", "float16");
    nn_weights w;
    fg_error err;
    int wrong = 0;
    for (int i = 0; i < N; i++)
        bytes[2 * i] = (unsigned char)(i & 255), bytes[2 * i + 1] = (unsigned char)(i >> 8);
    const nn_blob shard = {bytes, 2 * N};
    int rc = nn_weights_decode(groups, &shard, 1, "every_half", &w, &err);
    CHECKF(rc == FG_OK, "%s", err.message);
    if (!rc) {
        const float *v = nn_weights_find(&w, "h")->data;
        for (int i = 0; i < N; i++) {
            const int e = (i >> 10) & 31, f = i & 1023;
            const double mag = e == 0    ? ldexp(f, -24)
                               : e == 31 ? (f ? NAN : INFINITY)
                                         : ldexp(f | 1024, e - 25);
            const double want = i & 0x8000 ? -mag : mag;
            const int same = isnan(want) ? isnan(v[i])
                                         : (double)v[i] == want && !signbit(v[i]) == !signbit(want);
            if (!same && wrong++ < 5)
                fprintf(stderr, "half 0x%04x -> %g, want %g\n", i, v[i], want);
        }
        CHECKF(wrong == 0, "%d of 65536 half values converted wrongly", wrong);
        nn_weights_free(&w);
    }
    json_decref(groups);
    free(bytes);
}

int main(void)
{
    every_half();
    check_model("face_recognition_model");
    check_model("face_landmark_68_model");
    check_model("ssd_mobilenetv1_model");
    check_model("tiny_face_detector_model");
    check_tampered();
    return fg_test_done();
}
