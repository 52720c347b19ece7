/*
 * quality.c - enrolment quality: measurements on the aligned chip and the landmarks.
 */
#include "face/quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "face/align.h"
#include "core/error.h"

/* The chip's face region: dlib's chip puts the face in its middle with a quarter of padding. */
#define REGION_LO 25
#define REGION_HI (FG_CHIP_SIZE - 25)

static fg_point mean_point(const fg_face *f, int from, int to)
{
    fg_point p = {0, 0};
    for (int i = from; i <= to; i++)
        p.x += f->landmarks[i].x / (float)(to - from + 1),
            p.y += f->landmarks[i].y / (float)(to - from + 1);
    return p;
}

static float degrees(double radians)
{
    return (float)(radians * 180 / M_PI);
}

void fg_face_pose_from_mesh(const fg_face_mesh *mesh, fg_face_pose *out)
{
    out->yaw = -mesh->yaw;
    out->pitch = -mesh->pitch;
    out->roll = mesh->roll;
}

void fg_face_pose_from_landmarks(const fg_face *f, fg_face_pose *out)
{
    const fg_point *lm = f->landmarks;
    fg_point left_eye = mean_point(f, 36, 41), right_eye = mean_point(f, 42, 47);
    fg_point mouth = mean_point(f, 48, 67), nose = lm[30];
    double ex = right_eye.x - left_eye.x, ey = right_eye.y - left_eye.y;
    double roll = atan2(ey, ex), c = cos(-roll), s = sin(-roll);
    /* Undo the roll about the nose tip, then compare horizontal and vertical distances. */
#define ROTATED_X(p) (c * ((p).x - nose.x) - s * ((p).y - nose.y))
#define ROTATED_Y(p) (s * ((p).x - nose.x) + c * ((p).y - nose.y))
    double left = -ROTATED_X(lm[2]), right = ROTATED_X(lm[14]);
    double yaw = left + right > 0 ? (left - right) / (left + right) : 0;
    fg_point eyes = {(left_eye.x + right_eye.x) / 2, (left_eye.y + right_eye.y) / 2};
    double up = -ROTATED_Y(eyes), down = ROTATED_Y(mouth);
    /* Frontal faces put the nose tip about 0.55 of the way from the eyes to the mouth. */
    double pitch = up + down > 0 ? 0.55 - up / (up + down) : 0;
#undef ROTATED_X
#undef ROTATED_Y
    out->yaw = degrees(asin(fmax(-1, fmin(1, yaw))));
    out->pitch = degrees(asin(fmax(-1, fmin(1, 2 * pitch))));
    out->roll = degrees(roll);
}

int fg_face_quality_measure(const fg_image *img, const fg_face *face, const fg_face_pose *pose,
                            fg_face_quality *out, fg_error *err)
{
    enum { N = FG_CHIP_SIZE * FG_CHIP_SIZE };
    float *chip = malloc(N * 3 * sizeof *chip), *grey = malloc(N * sizeof *grey);
    double sum = 0, lap = 0, lap2 = 0;
    size_t count = 0, bright = 0, laps = 0;

    if (!chip || !grey || fg_align_dlib_chip(img, face->landmarks, chip) != FG_OK) {
        free(chip);
        free(grey);
        return fg_fail(err, FG_ENOMEM, "out of memory measuring the face");
    }
    for (int i = 0; i < N; i++)
        grey[i] = 0.299f * chip[3 * i] + 0.587f * chip[3 * i + 1] + 0.114f * chip[3 * i + 2];
    for (int y = REGION_LO; y < REGION_HI; y++) {
        for (int x = REGION_LO; x < REGION_HI; x++) {
            const float *g = grey + y * FG_CHIP_SIZE + x;
            double l = (double)g[-1] + g[1] + g[-FG_CHIP_SIZE] + g[FG_CHIP_SIZE] - 4.0 * g[0];
            sum += g[0], count++, bright += g[0] >= 250;
            lap += l, lap2 += l * l, laps++;
        }
    }
    out->face_px = fminf(face->box.width, face->box.height);
    out->brightness = (float)(sum / (double)count);
    out->overexposed = (float)bright / (float)count;
    out->sharpness = (float)(lap2 / (double)laps - (lap / (double)laps) * (lap / (double)laps));
    if (pose)
        out->pose = *pose;
    else
        fg_face_pose_from_landmarks(face, &out->pose);
    free(chip);
    free(grey);
    return FG_OK;
}

void fg_quality_limits_init(fg_quality_limits *l)
{
    l->min_face_px = FG_QUALITY_MIN_FACE_PX;
    l->min_sharpness = FG_QUALITY_MIN_SHARPNESS;
    l->min_brightness = FG_QUALITY_MIN_BRIGHTNESS;
    l->max_brightness = FG_QUALITY_MAX_BRIGHTNESS;
    l->max_overexposed = FG_QUALITY_MAX_OVEREXPOSED;
    l->max_yaw = FG_QUALITY_MAX_YAW;
}

fg_quality_verdict fg_quality_check(const fg_face_quality *q, const fg_quality_limits *l,
                                    char *message, size_t size)
{
    fg_quality_verdict v = FG_QUALITY_OK;
    char text[160] = "";
    if (q->face_px < l->min_face_px) {
        v = FG_QUALITY_SMALL;
        snprintf(text, sizeof text, "the face is %.0f px across, smaller than %.0f px: come closer",
                 (double)q->face_px, (double)l->min_face_px);
    } else if (q->sharpness < l->min_sharpness) {
        v = FG_QUALITY_BLURRED;
        snprintf(text, sizeof text, "the face is blurred: hold still, or clean the camera");
    } else if (q->brightness < l->min_brightness) {
        v = FG_QUALITY_DARK;
        snprintf(text, sizeof text, "the face is too dark: turn towards the light");
    } else if (q->brightness > l->max_brightness || q->overexposed > l->max_overexposed) {
        v = FG_QUALITY_OVEREXPOSED;
        snprintf(text, sizeof text, "the face is overexposed: move out of direct light");
    } else if (fabsf(q->pose.yaw) > l->max_yaw) {
        v = FG_QUALITY_TURNED;
        snprintf(text, sizeof text, "the head is turned %.0f degrees away: look at the camera",
                 (double)fabsf(q->pose.yaw));
    }
    if (message && size) snprintf(message, size, "%s", text);
    return v;
}

const char *fg_quality_code(fg_quality_verdict v)
{
    static const char *const names[] = {
        "ok", "face_too_small", "face_blurred", "face_too_dark", "face_overexposed", "face_turned"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "ok";
}
