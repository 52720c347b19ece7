/*
 * The fast path (BlazeFace -> FaceMesh + iris) against @vladmandic/human 3.3.6 on identical
 * pixels: tests/golden/human/pipeline.json and mesh.f32, written by
 * tests/golden/make-human-goldens.mjs from the same photos decoded by facegate's decoder (the
 * pixels' SHA-256 is checked first). With Human's thresholds (detection 0.2, face flag rounded
 * above 0.2, i.e. >= 0.205) and no padded retry:
 *   - BlazeFace alone gives Human's detector squares exactly and its 6 keypoints within 1e-3 px;
 *   - the per-face steps in Human's way (its right-eye flip included: fgf_mesher_human_eyes)
 *     give all 478 mesh points (x, y) within 0.5 px of Human's (before its Math.trunc), depth
 *     within 0.5 px;
 *   - the engine (fg_detect_mesh, right eye done right) finds the same faces in the same
 *     order: Human's boxes within 1 px (fg_face's box, the points' extent, inside them), every
 *     point but the right eye's within 0.5 px, yaw, pitch and roll within 1 degree.
 * FG_TEST_QUICK=1 (sanitizer runs) checks the first three photos only.
 */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "face/mesh.h"
#include "harness.h"
#include "models/models.h"

static double num(const json_t *a, size_t i)
{
    return json_number_value(json_array_get(a, i));
}

/* A photo of the golden list: shared data, or a face-api demo photo from node_modules. */
static const char *photo_path(const char *rel)
{
    static char buf[4096];
    if (strncmp(rel, "npm:", 4) == 0) {
        snprintf(buf, sizeof buf, "%s", fg_test_source("node_modules/"));
        strncat(buf, rel + 4, sizeof buf - strlen(buf) - 1);
        return buf;
    }
    return fg_test_shared(rel);
}

static int same_pixels(const fg_image *img, const char *want_hex)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    crypto_hash_sha256(digest, img->rgb, (unsigned long long)img->width * img->height * 3);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return want_hex && strcmp(hex, want_hex) == 0;
}

/* BlazeFace alone vs Human's detector-only run: its square (boxRaw * size) and keypoints. */
static void check_detector(fgm_blaze *blaze, const fg_image *img, const char *file,
                           const json_t *want)
{
    fgm_blaze_box *boxes = NULL;
    size_t n = 0;
    fg_error err = {0};
    CHECKF(fgm_blaze_detect(blaze, img, 0.2f, 0.1f, 20, &boxes, &n, &err) == FG_OK, "%s: %s", file,
           err.message);
    /* Human drops boxes whose rounded score is not above 0.2. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        kept += round(100.0 * boxes[i].score) / 100 > 0.2;
    CHECKF(kept == json_array_size(want), "%s: BlazeFace %zu boxes, Human %zu", file, kept,
           json_array_size(want));
    for (size_t i = 0; i < n && i < json_array_size(want); i++) {
        const json_t *w = json_array_get(want, i), *raw = json_object_get(w, "box_raw");
        double square[4], max_kp = 0;
        fgf_blaze_square(&boxes[i], square);
        int same = square[0] == round(num(raw, 0) * img->width) &&
                   square[1] == round(num(raw, 1) * img->height) &&
                   square[2] - square[0] == round(num(raw, 2) * img->width) &&
                   square[3] - square[1] == round(num(raw, 3) * img->height);
        CHECKF(same, "%s: detection %zu square (%g, %g, %g, %g) differs from Human's", file, i,
               square[0], square[1], square[2], square[3]);
        const json_t *kp = json_object_get(w, "keypoints");
        for (int k = 0; k < FGM_BLAZE_KEYPOINTS; k++)
            for (int a = 0; a < 2; a++)
                max_kp = fmax(max_kp, fabs(boxes[i].keypoints[k][a] -
                                           num(json_array_get(kp, (size_t)k), (size_t)a)));
        CHECKF(max_kp <= 1e-3, "%s: detection %zu keypoints off by %g px", file, i, max_kp);
    }
    free(boxes);
}

static double worst_mesh, worst_depth, worst_box, worst_angle, worst_human_eyes;

/* The largest x/y and depth differences between a mesh and Human's points h (478 x 3), over
 * every point (all) or every point but the right eye's. Human's z is in 192-crop pixels; ours
 * is scaled to the image like x. NaN counts as the worst. */
static void mesh_error(const fg_face_mesh *m, const float *h, int all, double *dxy, double *dz)
{
    *dxy = *dz = 0;
    for (int k = 0; k < FG_MESH_POINTS; k++) {
        if (!all && fgf_right_eye_point(k)) continue;
        double exy = fmax(fabs(m->points[k].x - h[3 * k]), fabs(m->points[k].y - h[3 * k + 1]));
        double ez = fabs(m->points[k].z - h[3 * k + 2] * m->crop.width / FGM_MESH_INPUT);
        if (!(exy <= *dxy)) *dxy = exy;
        if (!(ez <= *dz)) *dz = ez;
    }
}

/* Human's way, right eye included: the per-face steps on each of BlazeFace's squares, gated as
 * Human gates, all 478 points. */
static void check_human_eyes(fgm_blaze *blaze, fgf_mesher *mesher, const fg_image *img,
                             const char *file, const json_t *want, const float *golden_mesh,
                             size_t mesh_values)
{
    fgm_blaze_box *boxes = NULL;
    size_t n = 0, kept = 0;
    fg_error err = {0};
    fg_face_mesh m;
    CHECK(fgm_blaze_detect(blaze, img, 0.2f, 0.1f, 20, &boxes, &n, &err) == FG_OK);
    for (size_t i = 0; i < n; i++) {
        double square[4], dxy, dz;
        fgf_blaze_square(&boxes[i], square);
        CHECK(fgf_mesh_square(mesher, img, square, 1, &m, NULL, &err) == FG_OK);
        if (!(m.confidence >= 0.205f)) continue;
        if (kept >= json_array_size(want)) {
            kept++;
            continue;
        }
        size_t at =
            (size_t)json_integer_value(json_object_get(json_array_get(want, kept++), "mesh_index"));
        if (at + 3 * FG_MESH_POINTS > mesh_values) continue;
        mesh_error(&m, golden_mesh + at, 1, &dxy, &dz);
        CHECKF(dxy <= 0.5 && dz <= 0.5, "%s face %zu (Human's eyes): points off by %g, depth %g",
               file, kept - 1, dxy, dz);
        worst_human_eyes = fmax(worst_human_eyes, fmax(dxy, dz));
    }
    CHECKF(kept == json_array_size(want), "%s: %zu faces in Human's way, Human %zu", file, kept,
           json_array_size(want));
    free(boxes);
}

static void check_face(const char *file, size_t i, const fg_face *f, const fg_face_mesh *m,
                       const json_t *want, const float *golden_mesh, int image_w, int image_h)
{
    const json_t *box = json_object_get(want, "box"), *angle = json_object_get(want, "angle_rad");
    size_t at = (size_t)json_integer_value(json_object_get(want, "mesh_index"));
    const float *h = golden_mesh + at;
    double dbox = 0, dxy = 0, dz = 0, dang = 0;

    fg_box hb;
    fgf_human_box(m, image_w, image_h, &hb);
    dbox = fmax(fmax(fabs(hb.x - num(box, 0)), fabs(hb.y - num(box, 1))),
                fmax(fabs(hb.width - num(box, 2)), fabs(hb.height - num(box, 3))));
    /* fg_face's box is the points' extent, inside Human's square. */
    CHECKF(f->box.x >= hb.x - 1 && f->box.y >= hb.y - 1 &&
               f->box.x + f->box.width <= hb.x + hb.width + 1 &&
               f->box.y + f->box.height <= hb.y + hb.height + 1 && f->box.width > 0.3 * hb.width,
           "%s face %zu: the face box (%g %g %g %g) is not inside Human's (%g %g %g %g)", file, i,
           f->box.x, f->box.y, f->box.width, f->box.height, hb.x, hb.y, hb.width, hb.height);
    mesh_error(m, h, 0, &dxy, &dz);
    const double deg = 180 / M_PI;
    dang = fmax(fabs(m->yaw - json_number_value(json_object_get(angle, "yaw")) * deg),
                fabs(m->pitch - json_number_value(json_object_get(angle, "pitch")) * deg));
    dang = fmax(dang, fabs(m->roll - json_number_value(json_object_get(angle, "roll")) * deg));
    CHECKF(dbox <= 1.0, "%s face %zu: box off by %g px", file, i, dbox);
    CHECKF(dxy <= 0.5, "%s face %zu: mesh points off by %g px", file, i, dxy);
    CHECKF(dz <= 0.5, "%s face %zu: mesh depth off by %g px", file, i, dz);
    CHECKF(dang <= 1.0, "%s face %zu: head pose off by %g degrees", file, i, dang);
    worst_box = fmax(worst_box, dbox), worst_mesh = fmax(worst_mesh, dxy);
    worst_depth = fmax(worst_depth, dz), worst_angle = fmax(worst_angle, dang);
}

int main(void)
{
    json_error_t jerr;
    json_t *golden = json_load_file(fg_test_source("tests/golden/human/pipeline.json"), 0, &jerr);
    size_t mesh_bytes = 0;
    float *mesh = fg_test_read(fg_test_source("tests/golden/human/mesh.f32"), &mesh_bytes);
    fg_engine_options o;
    fg_engine *e = NULL;
    fgm_blaze *blaze = NULL;
    fgf_mesher *mesher = NULL;
    fg_error err = {0};
    size_t i, faces_checked = 0;
    const json_t *photo;

    CHECKF(golden && mesh, "golden files: %s", jerr.text);
    if (!golden || !mesh) return fg_test_done();
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.fast_model_dir = fg_test_fast_models();
    o.detector = FG_DETECTOR_BLAZE;
    o.min_score = 0.2f;
    o.mesh_min_confidence = 0.205f;
    o.padding = FG_PADDING_NONE;
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "engine: %s", err.message);
    CHECKF(fgm_blaze_open(fg_test_fast_models(), 1, &blaze, &err) == FG_OK, "%s", err.message);
    CHECKF(fgf_mesher_open(fg_test_fast_models(), 1, &mesher, &err) == FG_OK, "%s", err.message);
    if (!e || !blaze || !mesher) return fg_test_done();
    fgf_mesher_human_eyes(mesher, 1);

    json_array_foreach(json_object_get(golden, "photos"), i, photo)
    {
        const char *file = json_string_value(json_object_get(photo, "file"));
        const json_t *want = json_object_get(photo, "faces");
        fg_image img = {0};
        fg_face *faces = NULL;
        fg_face_mesh *meshes = NULL;
        size_t n = 0;
        if (getenv("FG_TEST_QUICK") && i >= 3) break;
        CHECKF(fg_image_load(photo_path(file), 0, &img, &err) == FG_OK, "%s: %s", file,
               err.message);
        if (!img.rgb) continue;
        CHECKF(same_pixels(&img, json_string_value(json_object_get(photo, "pixels_sha256"))),
               "%s: decoded pixels differ from the golden run's", file);
        check_detector(blaze, &img, file, json_object_get(photo, "detector"));
        check_human_eyes(blaze, mesher, &img, file, want, mesh, mesh_bytes / sizeof(float));
        CHECKF(fg_detect_mesh(e, &img, &faces, &meshes, &n, &err) == FG_OK, "%s: %s", file,
               err.message);
        CHECKF(n == json_array_size(want), "%s: %zu faces, Human %zu", file, n,
               json_array_size(want));
        for (size_t k = 0; k < n && k < json_array_size(want); k++, faces_checked++) {
            const json_t *w = json_array_get(want, k);
            size_t at = (size_t)json_integer_value(json_object_get(w, "mesh_index"));
            CHECK((at + 3 * FG_MESH_POINTS) * sizeof(float) <= mesh_bytes);
            if ((at + 3 * FG_MESH_POINTS) * sizeof(float) <= mesh_bytes)
                check_face(file, k, &faces[k], &meshes[k], w, mesh, img.width, img.height);
        }
        free(faces);
        free(meshes);
        fg_image_free(&img);
    }
    printf("%zu faces, worst: box %.3f px, mesh %.4f px and depth %.4f px (the right eye "
           "apart), pose %.4f deg; with Human's eyes all points %.4f px\n",
           faces_checked, worst_box, worst_mesh, worst_depth, worst_angle, worst_human_eyes);
    CHECK(faces_checked >= (getenv("FG_TEST_QUICK") ? 3 : 30));
    fgm_blaze_free(blaze);
    fgf_mesher_free(mesher);
    fg_engine_free(e);
    free(mesh);
    json_decref(golden);
    return fg_test_done();
}
