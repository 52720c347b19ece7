/*
 * Each of the fast path's TF.js graph models, translated to XNNPACK, reproduces what
 * @vladmandic/human 3.3.6 on tfjs-wasm computes from the same input (max abs error <= 1e-3):
 *   - BlazeFace on ../shared/reference/blazeface/golden (single640.jpg): our resize and
 *     normalisation give its input tensors exactly, the network its 896x17 rows, the anchors
 *     are its anchors, and detection gives BLAZEFACE.md's box and keypoints;
 *   - BlazeFace, FaceMesh and iris on a synthetic input both sides compute
 *     (tests/golden/human/nets.json: the pattern's SHA-256 is checked first);
 *   - FaceMesh and iris on the crops Human cut for single640.jpg's face: rebuilt here from the
 *     photo, bit-exact (SHA-256), then run.
 */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "face/mesh.h"
#include "harness.h"
#include "image/image.h"
#include "models/models.h"

#define TOLERANCE 1e-3

static json_t *nets;

static void sha256_hex(const void *data, size_t size, char hex[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, size);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

static float *read_f32(const char *path, size_t *count)
{
    size_t bytes = 0;
    float *v = fg_test_read(path, &bytes);
    CHECKF(v != NULL, "cannot read %s", path);
    *count = v ? bytes / sizeof(float) : 0;
    return v;
}

/* Output `index` of model `key` in nets.json against `got` (count values). */
static void check_output(const char *key, size_t index, const float *got, size_t count)
{
    const json_t *o = json_array_get(
        json_object_get(json_object_get(json_object_get(nets, "models"), key), "outputs"), index);
    char rel[256];
    size_t n = 0;
    snprintf(rel, sizeof rel, "tests/golden/human/%s",
             json_string_value(json_object_get(o, "file")));
    float *want = read_f32(fg_test_source(rel), &n);
    CHECKF(n == count, "%s output %zu: %zu values, golden %zu", key, index, count, n);
    if (want && n == count) {
        double d = fg_test_max_diff(got, want, n);
        printf("%s output %zu: max abs error %.3g\n", key, index, d);
        CHECKF(d <= TOLERANCE, "%s output %zu: max abs error %g", key, index, d);
    }
    free(want);
}

static const char *input_sha(const char *key)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(nets, "models"), key), "input"), "sha256"));
}

/* make-human-goldens.mjs pattern(): integers only, so both sides get the same floats. */
static void pattern(float *out, int h, int w, int c, int seed, double lo, double hi)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                int n = (7 * x * (k + 1) + 13 * y + 5 * ((x * y) % 17) + 31 * seed) % 256;
                out[((size_t)y * w + x) * c + k] = (float)(lo + (hi - lo) * (n / 255.0));
            }
}

static void check_input(const char *key, const float *in, size_t count)
{
    char hex[65];
    sha256_hex(in, count * sizeof(float), hex);
    CHECKF(input_sha(key) && strcmp(hex, input_sha(key)) == 0,
           "%s: our input differs from the golden run's (SHA-256 %.12s)", key, hex);
}

static void check_blazeface_shared(fgm_blaze *blaze)
{
    const char *dir = "reference/blazeface/golden/";
    char path[512];
    size_t n;
    fg_image img = {0};
    fg_error err = {0};
    float *rgb256, *norm256, *raw, *anchors, *resized = malloc(256 * 256 * 3 * sizeof(float));
    const float *rows;

    snprintf(path, sizeof path, "%sinput256_rgb.f32", dir);
    rgb256 = read_f32(fg_test_shared(path), &n);
    snprintf(path, sizeof path, "%sinput256_norm.f32", dir);
    norm256 = read_f32(fg_test_shared(path), &n);
    snprintf(path, sizeof path, "%sraw_896x17.f32", dir);
    raw = read_f32(fg_test_shared(path), &n);
    snprintf(path, sizeof path, "%sanchors_896x2.f32", dir);
    anchors = read_f32(fg_test_shared(path), &n);
    CHECK(fg_image_load(fg_test_shared("golden/single640.jpg"), 0, &img, &err) == FG_OK);
    if (!rgb256 || !norm256 || !raw || !anchors || !img.rgb || !resized) goto out;

    /* tf.image.resizeBilinear and x / 127.5 - 1, bit for bit. */
    CHECK(fgi_resize_bilinear_u8(img.rgb, img.width, img.height, 256, 256, NULL, resized) == FG_OK);
    CHECK(fg_test_max_diff(resized, rgb256, 256 * 256 * 3) == 0);
    float *in = fgm_blaze_input(blaze);
    const fgi_norm norm = {127.5f, 1.0f};
    CHECK(fgi_resize_bilinear_u8(img.rgb, img.width, img.height, 256, 256, &norm, in) == FG_OK);
    CHECK(fg_test_max_diff(in, norm256, 256 * 256 * 3) == 0);
    CHECK(fg_test_max_diff(fgm_blaze_anchors(blaze), anchors, FGM_BLAZE_ANCHORS * 2) == 0);
    CHECK(fgm_blaze_forward(blaze, &rows, &err) == FG_OK);
    double d = fg_test_max_diff(rows, raw, FGM_BLAZE_ANCHORS * FGM_BLAZE_ROW);
    printf("blazeface (shared golden) rows: max abs error %.3g\n", d);
    CHECKF(d <= TOLERANCE, "BlazeFace rows off by %g", d);

    /* BLAZEFACE.md section 7: row 273, score 0.90017, Human's square [215, 116, 251, 251]. */
    fgm_blaze_box *boxes = NULL;
    size_t count = 0;
    static const double kp[6][2] = {{326.69, 194.64}, {387.19, 240.36}, {312.60, 242.49},
                                    {284.35, 268.14}, {291.68, 188.31}, {418.69, 285.04}};
    CHECK(fgm_blaze_detect(blaze, &img, 0.2f, 0.1f, 1, &boxes, &count, &err) == FG_OK);
    CHECK_EQ_INT(count, 1);
    if (count == 1) {
        double sq[4];
        CHECK_EQ_INT(boxes[0].row, 273);
        CHECK_NEAR(boxes[0].score, 0.90017, 1e-5);
        CHECK_NEAR(boxes[0].x1, 250.52, 0.01);
        CHECK_NEAR(boxes[0].x2, 430.28, 0.01);
        CHECK_NEAR(boxes[0].y1, 173.94, 0.01);
        CHECK_NEAR(boxes[0].y2, 308.75, 0.01);
        fgf_blaze_square(&boxes[0], sq);
        CHECK(sq[0] == 215 && sq[1] == 116 && sq[2] - sq[0] == 251 && sq[3] - sq[1] == 251);
        for (int k = 0; k < 6; k++) {
            CHECK_NEAR(boxes[0].keypoints[k][0], kp[k][0], 0.006);
            CHECK_NEAR(boxes[0].keypoints[k][1], kp[k][1], 0.006);
        }
    }
    free(boxes);
out:
    fg_image_free(&img);
    free(rgb256), free(norm256), free(raw), free(anchors), free(resized);
}

static void check_synthetic(fgm_blaze *blaze, fgm_mesh *mesh, fgm_iris *iris)
{
    fg_error err = {0};
    const float *rows, *points;
    float flag;

    float *in = fgm_blaze_input(blaze);
    pattern(in, 256, 256, 3, 1, -1, 1);
    check_input("blazeface", in, 256 * 256 * 3);
    CHECK(fgm_blaze_forward(blaze, &rows, &err) == FG_OK);
    /* Human's outputs 0..3 are logits 16x16, logits 8x8, regressors 16x16, regressors 8x8. */
    float logits[FGM_BLAZE_ANCHORS], regs[FGM_BLAZE_ANCHORS * 16];
    for (int r = 0; r < FGM_BLAZE_ANCHORS; r++) {
        logits[r] = rows[r * FGM_BLAZE_ROW];
        memcpy(regs + r * 16, rows + r * FGM_BLAZE_ROW + 1, 16 * sizeof(float));
    }
    check_output("blazeface", 0, logits, 512);
    check_output("blazeface", 1, logits + 512, 384);
    check_output("blazeface", 2, regs, 512 * 16);
    check_output("blazeface", 3, regs + 512 * 16, 384 * 16);

    in = fgm_mesh_input(mesh);
    pattern(in, 192, 192, 3, 2, 0, 1);
    check_input("facemesh", in, 192 * 192 * 3);
    CHECK(fgm_mesh_forward(mesh, &points, &flag, &err) == FG_OK);
    check_output("facemesh", 0, points, FGM_MESH_POINTS * 3);
    check_output("facemesh", 1, &flag, 1);

    in = fgm_iris_input(iris);
    pattern(in, 64, 64, 3, 3, 0, 1);
    pattern(in + 64 * 64 * 3, 64, 64, 3, 4, 0, 1);
    check_input("iris", in, 2 * 64 * 64 * 3);
    CHECK(fgm_iris_forward(iris, &points, &err) == FG_OK);
    check_output("iris", 0, points, 2 * FGM_IRIS_POINTS * 3);
}

/* The crops of single640.jpg's face, rebuilt from the photo, then each net on them. */
static void check_single640_crops(fgm_blaze *blaze, fgm_mesh *mesh, fgm_iris *iris)
{
    fg_image img = {0};
    fg_error err = {0};
    fgm_blaze_box *boxes = NULL;
    size_t n = 0;
    double square[4], eyes[2][4];
    const float *points, *eye_points;
    float flag, face[192 * 192 * 3];

    CHECK(fg_image_load(fg_test_shared("golden/single640.jpg"), 0, &img, &err) == FG_OK);
    CHECK(fgm_blaze_detect(blaze, &img, 0.2f, 0.1f, 1, &boxes, &n, &err) == FG_OK && n == 1);
    if (n != 1) goto out;
    fgf_blaze_square(&boxes[0], square);
    CHECK(fgf_face_crop(&img, square, fgm_mesh_input(mesh)) == FG_OK);
    memcpy(face, fgm_mesh_input(mesh), sizeof face);
    check_input("facemesh_single640", face, 192 * 192 * 3);
    CHECK(fgm_mesh_forward(mesh, &points, &flag, &err) == FG_OK);
    check_output("facemesh_single640", 0, points, FGM_MESH_POINTS * 3);
    check_output("facemesh_single640", 1, &flag, 1);

    CHECK(fgf_eye_crops(face, points, 1, fgm_iris_input(iris), eyes) == FG_OK);
    check_input("iris_single640", fgm_iris_input(iris), 2 * 64 * 64 * 3);
    CHECK(fgm_iris_forward(iris, &eye_points, &err) == FG_OK);
    check_output("iris_single640", 0, eye_points, 2 * FGM_IRIS_POINTS * 3);
out:
    free(boxes);
    fg_image_free(&img);
}

int main(void)
{
    json_error_t jerr;
    fg_error err = {0};
    fgm_blaze *blaze = NULL;
    fgm_mesh *mesh = NULL;
    fgm_iris *iris = NULL;

    nets = json_load_file(fg_test_source("tests/golden/human/nets.json"), 0, &jerr);
    CHECKF(nets != NULL, "nets.json: %s", jerr.text);
    CHECKF(fgm_blaze_open(fg_test_fast_models(), 1, &blaze, &err) == FG_OK, "%s", err.message);
    CHECKF(fgm_mesh_open(fg_test_fast_models(), 1, &mesh, &err) == FG_OK, "%s", err.message);
    CHECKF(fgm_iris_open(fg_test_fast_models(), 1, &iris, &err) == FG_OK, "%s", err.message);
    if (nets && blaze && mesh && iris) {
        check_blazeface_shared(blaze);
        check_synthetic(blaze, mesh, iris);
        check_single640_crops(blaze, mesh, iris);
    }
    fgm_blaze_free(blaze);
    fgm_mesh_free(mesh);
    fgm_iris_free(iris);
    json_decref(nets);
    return fg_test_done();
}
