/* test-face-quality.c - the enrolment quality gate on a real portrait: a good photo passes; the
 * same photo blurred, darkened or burnt out, or with the head turned, fails with its own code and
 * message; the landmark pose is frontal on the photo and flips sign on its mirror image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/quality.h"
#include "harness.h"

/* A copy of img with every channel mapped by gain and offset. */
static fg_image adjusted(const fg_image *img, float gain, float offset)
{
    fg_image out = {img->width, img->height, malloc((size_t)img->width * img->height * 3)};
    for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++)
        out.rgb[i] = (uint8_t)fminf(255, fmaxf(0, img->rgb[i] * gain + offset));
    return out;
}

/* One pass of a (2r+1)-wide box blur along x (dx = 1) or y (dx = 0), from src into dst. */
static void box_pass(const fg_image *src, fg_image *dst, int r, int dx)
{
    for (int y = 0; y < src->height; y++)
        for (int x = 0; x < src->width; x++)
            for (int c = 0; c < 3; c++) {
                unsigned sum = 0, n = 0;
                for (int k = -r; k <= r; k++) {
                    int xx = x + (dx ? k : 0), yy = y + (dx ? 0 : k);
                    if (yy < 0 || xx < 0 || yy >= src->height || xx >= src->width) continue;
                    sum += src->rgb[((size_t)yy * src->width + xx) * 3 + c], n++;
                }
                dst->rgb[((size_t)y * src->width + x) * 3 + c] = (uint8_t)(sum / n);
            }
}

/* A copy of img box-blurred with a (2r+1)^2 window (two separable passes). */
static fg_image blurred(const fg_image *img, int r)
{
    fg_image tmp = adjusted(img, 1, 0), out = adjusted(img, 1, 0);
    box_pass(img, &tmp, r, 1);
    box_pass(&tmp, &out, r, 0);
    fg_image_free(&tmp);
    return out;
}

static fg_quality_verdict verdict(const fg_image *img, const fg_face *face, fg_face_quality *q,
                                  char *message)
{
    fg_quality_limits limits;
    fg_quality_limits_init(&limits);
    CHECK_EQ_INT(fg_face_quality_measure(img, face, NULL, q, NULL), FG_OK);
    return fg_quality_check(q, &limits, message, 200);
}

int main(void)
{
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t n = 0;
    fg_error err = {0};
    fg_face_quality good, q;
    char message[200];

    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    if (fg_engine_open(&o, &e, &err) ||
        fg_image_load(fg_test_shared("faces/portraits/obama/obama.jpg"), 0, &img, &err) ||
        fg_detect(e, &img, &faces, &n, &err) || n < 1) {
        CHECKF(0, "setup: %s", err.message);
        return fg_test_done();
    }
    CHECK_EQ_INT(verdict(&img, &faces[0], &good, message), FG_QUALITY_OK);
    CHECK_EQ_INT(message[0], 0);
    CHECK(fabsf(good.pose.yaw) < 15 && fabsf(good.pose.roll) < 15);
    CHECK(good.face_px >= 80);
    printf("good: px %.0f sharpness %.1f brightness %.1f overexposed %.3f yaw %.1f pitch %.1f "
           "roll %.1f\n",
           good.face_px, good.sharpness, good.brightness, good.overexposed, good.pose.yaw,
           good.pose.pitch, good.pose.roll);

    fg_image dark = adjusted(&img, 0.15f, 0), burnt = adjusted(&img, 2.5f, 60),
             soft = blurred(&img, 15);
    CHECK_EQ_INT(verdict(&dark, &faces[0], &q, message), FG_QUALITY_DARK);
    CHECK(strstr(message, "too dark") != NULL);
    CHECK_EQ_INT(verdict(&burnt, &faces[0], &q, message), FG_QUALITY_OVEREXPOSED);
    CHECK(q.overexposed > good.overexposed);
    CHECK_EQ_INT(verdict(&soft, &faces[0], &q, message), FG_QUALITY_BLURRED);
    CHECK(q.sharpness < good.sharpness / 4);
    CHECK_EQ_INT(strcmp(fg_quality_code(FG_QUALITY_BLURRED), "face_blurred"), 0);

    /* The head turned: the nose tip and the mouth slid towards one side of the jaw. */
    fg_face turned = faces[0];
    float shift = 0.35f * (turned.landmarks[14].x - turned.landmarks[2].x);
    for (int i = 27; i < FG_LANDMARKS; i++)
        turned.landmarks[i].x += shift;
    CHECK_EQ_INT(verdict(&img, &turned, &q, message), FG_QUALITY_TURNED);
    CHECK(q.pose.yaw > 30);
    CHECK(strstr(message, "turned") != NULL);
    fg_face_pose mirrored;
    for (int i = 27; i < FG_LANDMARKS; i++)
        turned.landmarks[i].x -= 2 * shift;
    fg_face_pose_from_landmarks(&turned, &mirrored);
    CHECK(mirrored.yaw < -30);
    /* A pose from elsewhere (the face mesh) is used as given. */
    fg_face_pose given = {40, 0, 0};
    CHECK_EQ_INT(fg_face_quality_measure(&img, &faces[0], &given, &q, NULL), FG_OK);
    CHECK_NEAR(q.pose.yaw, 40, 0);

    fg_image_free(&dark);
    fg_image_free(&burnt);
    fg_image_free(&soft);
    free(faces);
    fg_image_free(&img);
    fg_engine_free(e);
    return fg_test_done();
}
