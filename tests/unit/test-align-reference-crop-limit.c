/*
 * `--align reference` limits the descriptor crop the way face-api does: alignDlib() takes
 * min(size, W + x) with W x H the landmarks' own image, the detection box the 68-point net ran
 * on, not the photo. It matters for faces at the image edge whose alignment square is wider
 * than their box: on these 150x150 stills the crop is the box's size, not the photo's.
 *
 * Golden: tests/golden/align-crop-limit.json, written by tests/golden/reference-faces.mjs
 * (face-api on tfjs-wasm) from PNGs in ../shared/faces/bbt: identical pixels, so the same
 * integer crop and a descriptor within L2 1e-4 of the reference's.
 */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* Whether the file is the one the golden was made from. */
static int same_file(const char *path, const char *sha256_hex)
{
    size_t size;
    unsigned char *bytes = fg_test_read(path, &size), digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    if (!bytes) return 0;
    crypto_hash_sha256(digest, bytes, size);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    free(bytes);
    return strcmp(hex, sha256_hex) == 0;
}

static void check_image(fg_engine *e, json_t *want)
{
    const char *file = json_string_value(json_object_get(want, "file"));
    char path[1024];
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t n = 0;
    fg_error err = {0};
    json_t *wf = json_object_get(want, "faces");

    snprintf(path, sizeof path, "%s", fg_test_shared(file));
    CHECKF(same_file(path, json_string_value(json_object_get(want, "sha256"))),
           "%s is missing or not the photo the golden was made from", file);
    CHECKF(fg_image_load(path, 0, &img, &err) == FG_OK, "%s: %s", file, err.message);
    if (!img.rgb) return;
    CHECKF(fg_detect(e, &img, &faces, &n, &err) == FG_OK, "%s: %s", file, err.message);
    CHECKF(n == json_array_size(wf), "%s: %zu faces, reference %zu", file, n, json_array_size(wf));
    for (size_t i = 0; i < n && i < json_array_size(wf); i++) {
        json_t *w = json_array_get(wf, i), *crop = json_object_get(w, "descriptor_crop");
        fg_rect r = faces[i].align_rect;
        float d[FG_DESCRIPTOR_DIM];
        double s = 0;
        CHECKF(r.x == num(crop, "x") && r.y == num(crop, "y") && r.width == num(crop, "width") &&
                   r.height == num(crop, "height"),
               "%s face %zu: crop %d,%d %dx%d, reference %g,%g %gx%g", file, i, r.x, r.y, r.width,
               r.height, num(crop, "x"), num(crop, "y"), num(crop, "width"), num(crop, "height"));
        CHECKF(fg_describe(e, &img, &faces[i], d, &err) == FG_OK, "%s: %s", file, err.message);
        for (int k = 0; k < FG_DESCRIPTOR_DIM; k++) {
            double v =
                d[k] - json_number_value(json_array_get(json_object_get(w, "descriptor"), k));
            s += v * v;
        }
        CHECKF(sqrt(s) < 1e-4, "%s face %zu: descriptor L2 %g from the reference's", file, i,
               sqrt(s));
        printf("%s: crop %d,%d %dx%d (photo %dx%d), descriptor L2 %.2g\n", file, r.x, r.y, r.width,
               r.height, img.width, img.height, sqrt(s));
    }
    free(faces);
    fg_image_free(&img);
}

int main(void)
{
    json_error_t jerr;
    json_t *golden = json_load_file(fg_test_source("tests/golden/align-crop-limit.json"), 0, &jerr);
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    size_t i;
    json_t *image;

    CHECKF(golden != NULL, "golden: %s", jerr.text);
    CHECK(sodium_init() >= 0);
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.align = FG_ALIGN_REFERENCE;
    o.padding = FG_PADDING_NONE; /* the reference's single detection pass */
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "%s", err.message);
    if (golden && e) {
        CHECK(json_array_size(json_object_get(golden, "images")) >= 3);
        json_array_foreach(json_object_get(golden, "images"), i, image) check_image(e, image);
    }
    fg_engine_free(e);
    json_decref(golden);
    return fg_test_done();
}
