/*
 * fg_describe_faces runs the recognition net on several faces at once (up to four a run, the
 * runtimes reshaped to the run's images); each face's descriptor must be the same, bit for bit,
 * as fg_describe gives it alone.
 *
 * Engines: the fast path (BlazeFace, dlib chips), the SSD with face-api's crops, and the SSD with
 * test-time augmentation (each face and its mirror image in one run). Images: sample1.jpg (three
 * faces), its faces listed twice (six: a run of four, then one of two), and the photo twice side
 * by side (six faces for BlazeFace), described together, one by one, and together again (the
 * runtimes reshaped back). A face whose crop lies
 * outside the image gets face-api's 128 zeros in the middle of a run without disturbing the
 * others. Bad arguments fail with FG_EINVAL; zero faces is success.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* img twice, side by side. */
static fg_image twice(const fg_image *img)
{
    fg_image two = {2 * img->width, img->height, malloc((size_t)img->width * img->height * 6)};
    const size_t row = (size_t)img->width * 3;
    if (!two.rgb) return two;
    for (int y = 0; y < img->height; y++) {
        memcpy(two.rgb + 2 * row * y, img->rgb + row * y, row);
        memcpy(two.rgb + 2 * row * y + row, img->rgb + row * y, row);
    }
    return two;
}

/* The faces the engine finds in img, each `copies` times over (faces 0, 1, .. n-1, 0, 1, ..). */
static void check_image(fg_engine *e, const char *name, const fg_image *img, size_t want_min,
                        int copies)
{
    fg_error err = {0};
    fg_face *found = NULL, *faces;
    size_t n = 0;
    CHECKF(fg_detect(e, img, &found, &n, &err) == FG_OK, "%s: %s", name, err.message);
    CHECKF(n >= want_min, "%s: %zu faces, want at least %zu", name, n, want_min);
    if (!n) return;
    faces = calloc(n * copies, sizeof *faces);
    for (int c = 0; c < copies; c++)
        memcpy(faces + n * c, found, n * sizeof *faces);
    free(found);
    n *= copies;
    float(*together)[FG_DESCRIPTOR_DIM] = calloc(n, sizeof *together);
    float(*again)[FG_DESCRIPTOR_DIM] = calloc(n, sizeof *again);
    float(*alone)[FG_DESCRIPTOR_DIM] = calloc(n, sizeof *alone);
    CHECK(fg_describe_faces(e, img, faces, n, together, &err) == FG_OK);
    for (size_t i = 0; i < n; i++)
        CHECK(fg_describe(e, img, &faces[i], alone[i], &err) == FG_OK);
    CHECK(fg_describe_faces(e, img, faces, n, again, &err) == FG_OK);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        differ += memcmp(together[i], alone[i], sizeof together[i]) != 0;
        differ += memcmp(again[i], alone[i], sizeof again[i]) != 0;
        float norm = 0;
        for (int d = 0; d < FG_DESCRIPTOR_DIM; d++)
            norm += alone[i][d] * alone[i][d];
        CHECKF(norm > 0.1f, "%s face %zu: a descriptor of norm^2 %g", name, i, norm);
    }
    CHECKF(differ == 0, "%s: %zu of %zu descriptors differ from fg_describe's", name, differ,
           2 * n);
    printf("%-34s %zu faces: together == one by one: %s\n", name, n, differ ? "no" : "yes");
    free(together);
    free(again);
    free(alone);
    free(faces);
}

/* Faces 0 and 1 with, between them, a face whose crop lies outside the image (reference
 * alignment): zeros for it, the others as alone. */
static void check_empty_crop(fg_engine *e, const fg_image *img)
{
    fg_error err = {0};
    fg_face *faces = NULL;
    size_t n = 0;
    CHECK(fg_detect(e, img, &faces, &n, &err) == FG_OK);
    if (n < 2) {
        CHECKF(0, "sample1.jpg: %zu faces", n);
        free(faces);
        return;
    }
    fg_face three[3] = {faces[0], faces[1], faces[1]};
    three[1].align_rect = (fg_rect){img->width + 10, 0, 40, 40};
    float out[3][FG_DESCRIPTOR_DIM], a[FG_DESCRIPTOR_DIM], b[FG_DESCRIPTOR_DIM];
    CHECK(fg_describe_faces(e, img, three, 3, out, &err) == FG_OK);
    CHECK(fg_describe(e, img, &faces[0], a, &err) == FG_OK);
    CHECK(fg_describe(e, img, &faces[1], b, &err) == FG_OK);
    int zeros = 1;
    for (int d = 0; d < FG_DESCRIPTOR_DIM; d++)
        zeros &= out[1][d] == 0.0f;
    CHECK(zeros);
    CHECK(memcmp(out[0], a, sizeof a) == 0);
    CHECK(memcmp(out[2], b, sizeof b) == 0);
    free(faces);
}

int main(void)
{
    char sample[1024];
    fg_error err = {0};
    fg_image img = {0};
    snprintf(sample, sizeof sample, "%s/../demo/sample1.jpg", fg_test_models());
    if (fg_image_load(sample, 0, &img, &err) != FG_OK) {
        CHECKF(0, "%s: %s", sample, err.message);
        return fg_test_done();
    }
    fg_image two = twice(&img);
    CHECK(two.rgb != NULL);

    for (int k = 0; k < 3; k++) {
        static const char *names[3] = {"blaze+dlib", "ssd+reference", "ssd+dlib+tta"};
        fg_engine_options o;
        fg_engine *e = NULL;
        char name[64];
        fg_engine_options_init(&o);
        o.model_dir = fg_test_models();
        o.fast_model_dir = fg_test_fast_models();
        o.detector = k == 0 ? FG_DETECTOR_BLAZE : FG_DETECTOR_SSD;
        o.align = k == 1 ? FG_ALIGN_REFERENCE : FG_ALIGN_DLIB;
        o.tta = k == 2;
        o.threads = k == 0 ? 2 : 1;
        if (fg_engine_open(&o, &e, &err) != FG_OK) {
            CHECKF(0, "%s: %s", names[k], err.message);
            continue;
        }
        snprintf(name, sizeof name, "%s sample1.jpg", names[k]);
        check_image(e, name, &img, 3, 1);
        snprintf(name, sizeof name, "%s sample1.jpg, faces x2", names[k]);
        check_image(e, name, &img, 3, 2);
        /* The SSD's 512x512 input loses the smaller faces of the wide image. */
        snprintf(name, sizeof name, "%s sample1.jpg twice", names[k]);
        check_image(e, name, &two, k == 0 ? 6 : 4, 1);
        if (k == 1) check_empty_crop(e, &img);

        float d[1][FG_DESCRIPTOR_DIM];
        fg_face face = {0};
        CHECK(fg_describe_faces(e, &img, &face, 0, d, &err) == FG_OK);
        CHECK(fg_describe_faces(e, &img, NULL, 0, NULL, &err) == FG_OK);
        CHECK(fg_describe_faces(e, &img, NULL, 1, d, &err) == FG_EINVAL);
        CHECK(fg_describe_faces(e, NULL, &face, 1, d, &err) == FG_EINVAL);
        CHECK(fg_describe_faces(NULL, &img, &face, 1, d, &err) == FG_EINVAL);
        fg_engine_free(e);
    }
    fg_image_free(&two);
    fg_image_free(&img);
    return fg_test_done();
}
