/* fg_detect's padded passes (fg_engine_options.padding) and test-time augmentation:
 *  - a bbt crop the plain pass misses is found by the retry, mapped back inside the photo;
 *  - when the plain pass finds a face covering the centre, the retry changes nothing (parity);
 *    when its faces all lie off centre (an LFW photo whose subject it misses), the retry runs
 *    like ALWAYS does: the plain faces first, then only the faces the plain pass missed;
 *  - FG_PADDING_NONE is the reference's single pass;
 *  - --tta gives a descriptor close to, but not equal to, the plain one, equal to the mean of
 *    the descriptors of the chip and its mirror image (one batch of two in the engine). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/align.h"
#include "harness.h"
#include "models/models.h"

static fg_engine *open_engine(fg_padding padding, int tta)
{
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.padding = padding;
    o.tta = tta;
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "engine: %s", err.message);
    return e;
}

static fg_face *detect(fg_engine *e, const char *rel, fg_image *img, size_t *n)
{
    fg_face *faces = NULL;
    fg_error err = {0};
    *n = 0;
    CHECKF(fg_image_load(fg_test_shared(rel), 0, img, &err) == FG_OK, "%s: %s", rel, err.message);
    if (img->rgb) CHECKF(fg_detect(e, img, &faces, n, &err) == FG_OK, "%s: %s", rel, err.message);
    return faces;
}

static int same_face(const fg_face *a, const fg_face *b)
{
    return a->score == b->score && !memcmp(&a->box, &b->box, sizeof a->box) &&
           !memcmp(a->landmarks, b->landmarks, sizeof a->landmarks) && a->padded == b->padded;
}

int main(void)
{
    fg_engine *retry = open_engine(FG_PADDING_RETRY, 0), *none = open_engine(FG_PADDING_NONE, 0);
    fg_engine *always = open_engine(FG_PADDING_ALWAYS, 0), *tta = open_engine(FG_PADDING_RETRY, 1);
    fg_image img = {0};
    size_t n_none, n_retry, n_always;
    fg_face *f_none, *f_retry, *f_always;
    if (!retry || !none || !always || !tta) goto out;

    /* A crop with chin and forehead cut off: only a padded pass sees the face. */
    f_none = detect(none, "faces/bbt/leonard/leonard5.png", &img, &n_none);
    fg_image_free(&img);
    f_retry = detect(retry, "faces/bbt/leonard/leonard5.png", &img, &n_retry);
    CHECK_EQ_INT(n_none, 0);
    CHECK_EQ_INT(n_retry, 1);
    if (n_retry) {
        const fg_face *f = &f_retry[0];
        CHECK(f->padded == 1);
        CHECK(f->box.x >= 0 && f->box.y >= 0 && f->box.x + f->box.width <= img.width &&
              f->box.y + f->box.height <= img.height);
        CHECK(f->box.width > img.width / 2); /* the face fills the frame */
        /* The eyes are inside the photo, left eye left of the right one. */
        CHECK(f->landmarks[36].x > 0 && f->landmarks[45].x < img.width &&
              f->landmarks[36].x < f->landmarks[45].x);
        float plain[FG_DESCRIPTOR_DIM], mirrored[FG_DESCRIPTOR_DIM];
        fg_error err = {0};
        CHECK(fg_describe(retry, &img, f, plain, &err) == FG_OK);
        CHECK(fg_describe(tta, &img, f, mirrored, &err) == FG_OK);
        float d = fg_distance(plain, mirrored);
        CHECKF(d > 0 && d < 0.25f, "TTA moved the descriptor by %g", d);
        /* The TTA engine runs the chip and its mirror image as one batch of two: the same as
         * the mean of two single runs. */
        static float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3];
        float one[FG_DESCRIPTOR_DIM], other[FG_DESCRIPTOR_DIM];
        fgm_resnet *net = NULL;
        CHECK(fg_align_dlib_chip(&img, f->landmarks, chip) == FG_OK);
        if (fgm_resnet_open(fg_test_models(), 1, 1, &net, &err) == FG_OK &&
            fgm_resnet_describe_chip(net, chip, one, &err) == FG_OK) {
            for (int y = 0; y < FG_CHIP_SIZE; y++)
                for (int l = 0, r = FG_CHIP_SIZE - 1; l < r; l++, r--)
                    for (int c = 0; c < 3; c++) {
                        float *row = chip + (size_t)y * FG_CHIP_SIZE * 3, t = row[l * 3 + c];
                        row[l * 3 + c] = row[r * 3 + c];
                        row[r * 3 + c] = t;
                    }
            CHECK(fgm_resnet_describe_chip(net, chip, other, &err) == FG_OK);
            double worst = 0;
            for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
                worst = fmax(worst, fabs((one[i] + other[i]) * 0.5 - mirrored[i]));
            CHECKF(worst < 1e-6, "batched TTA differs from two runs by %g", worst);
        } else {
            CHECKF(0, "recognition net: %s", err.message);
        }
        fgm_resnet_free(net);
    }
    free(f_none);
    free(f_retry);
    fg_image_free(&img);

    /* The plain pass finds a face: RETRY is the reference's answer, ALWAYS keeps it first. */
    f_none = detect(none, "golden/single640.jpg", &img, &n_none);
    fg_image_free(&img);
    f_retry = detect(retry, "golden/single640.jpg", &img, &n_retry);
    fg_image_free(&img);
    f_always = detect(always, "golden/single640.jpg", &img, &n_always);
    fg_image_free(&img);
    CHECK_EQ_INT(n_none, 1);
    CHECK_EQ_INT(n_retry, n_none);
    CHECK(n_always >= n_none);
    for (size_t i = 0; i < n_none && i < n_retry && i < n_always; i++) {
        CHECK(same_face(&f_none[i], &f_retry[i]));
        CHECK(same_face(&f_none[i], &f_always[i]));
    }
    free(f_none);
    free(f_retry);
    free(f_always);

    /* LFW: the plain pass finds only the man beside the subject, away from the centre; RETRY
     * (no face covers the centre) and ALWAYS add the subject. */
    f_retry =
        detect(retry, "faces/lfw_view1/Kosuke_Kitajima/Kosuke_Kitajima_0002.jpg", &img, &n_retry);
    fg_image_free(&img);
    f_always =
        detect(always, "faces/lfw_view1/Kosuke_Kitajima/Kosuke_Kitajima_0002.jpg", &img, &n_always);
    CHECK_EQ_INT(n_retry, 2);
    CHECK_EQ_INT(n_always, 2);
    if (n_retry == 2 && n_always == 2) {
        CHECK(same_face(&f_retry[0], &f_always[0]));
        CHECK(same_face(&f_retry[1], &f_always[1]));
        CHECK(f_always[1].padded == 1);
        /* The added face is the one in the middle. */
        double c0 = f_always[0].box.x + f_always[0].box.width / 2 - img.width / 2.0;
        double c1 = f_always[1].box.x + f_always[1].box.width / 2 - img.width / 2.0;
        CHECK(fabs(c1) < fabs(c0));
    }
    free(f_retry);
    free(f_always);
    fg_image_free(&img);

out:
    fg_engine_free(retry);
    fg_engine_free(none);
    fg_engine_free(always);
    fg_engine_free(tta);
    return fg_test_done();
}
