/*
 * The fast path's head pose follows a real head and has the signs facegate.h documents: on the
 * liveness dev clip dev_tranvanluyt_real (read at run time from ../shared/liveness; skipped
 * when absent), run as a webcam stream, within clips.csv's labelled spans:
 *   turn_left 2.0-5.5 s (the subject's left, the nose towards the image's right): yaw < -20;
 *   turn_right 7.4-10.4 s (labelled ~18 degrees): yaw > +8;
 *   look_down 11.5-13.9 s: pitch > +15;  look_up 14.3-15.9 s: pitch < -10;
 * and in the first second (frontal, the head a little lowered) |yaw|, |pitch| < 12. Each bound
 * is on the extreme frame of the span (the head passes through the pose, it does not hold it):
 * measured -33, +18, +30 and -22, 10 degrees or more past the bounds; frontal |yaw| 3, |pitch|
 * 9.6.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "clip-frames.h"
#include "harness.h"

/* The lowest or highest value of one angle over the frames in [t0, t1]. */
static double extreme(const frame_measure *f, int n, double t0, double t1, int which, int lowest)
{
    double best = lowest ? INFINITY : -INFINITY;
    for (int i = 0; i < n; i++) {
        if (f[i].t < t0 || f[i].t > t1 || isnan(f[i].open)) continue;
        double v = which == 0 ? f[i].yaw : f[i].pitch;
        best = lowest ? fmin(best, v) : fmax(best, v);
    }
    return best;
}

int main(void)
{
    const char *clip = fg_test_shared("liveness/dev_tranvanluyt_real.mp4");
    frame_measure *frames;
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    int n;

    if (access(clip, R_OK) != 0) return fg_test_skip("no ../shared/liveness");
    frames = malloc(MAX_FRAMES * sizeof *frames);
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.fast_model_dir = fg_test_fast_models();
    o.detector = FG_DETECTOR_BLAZE;
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "%s", err.message);
    if (!e || !frames) goto out;
    n = clip_frames(e, clip, frames, MAX_FRAMES);
    CHECKF(n > 280, "%d frames", n);

    double left = extreme(frames, n, 2.0, 5.5, 0, 1), right = extreme(frames, n, 7.4, 10.4, 0, 0);
    double down = extreme(frames, n, 11.5, 13.9, 1, 0), up = extreme(frames, n, 14.3, 15.9, 1, 1);
    double front_yaw = fmax(fabs(extreme(frames, n, 0, 1, 0, 1)), extreme(frames, n, 0, 1, 0, 0));
    double front_pitch = fmax(fabs(extreme(frames, n, 0, 1, 1, 1)), extreme(frames, n, 0, 1, 1, 0));
    printf("turn left: yaw %.1f; turn right: yaw %.1f; look down: pitch %.1f; look up: pitch "
           "%.1f; frontal: |yaw| <= %.1f, |pitch| <= %.1f\n",
           left, right, down, up, front_yaw, front_pitch);
    CHECKF(left < -20, "turn_left: yaw only down to %.1f", left);
    CHECKF(right > 8, "turn_right: yaw only up to %.1f", right);
    CHECKF(down > 15, "look_down: pitch only up to %.1f", down);
    CHECKF(up < -10, "look_up: pitch only down to %.1f", up);
    CHECKF(front_yaw < 12 && front_pitch < 12, "frontal: yaw %.1f, pitch %.1f", front_yaw,
           front_pitch);
out:
    fg_engine_free(e);
    free(frames);
    return fg_test_done();
}
