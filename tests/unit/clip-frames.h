/*
 * clip-frames.h - every frame of a video clip through the fast path as the server will run it
 * on a webcam stream: fg_detect_mesh on the first frame or after a loss, fg_track_mesh on the
 * next ones. Included by the tests that read ../shared/liveness clips (static functions).
 */
#ifndef FG_TEST_CLIP_FRAMES_H
#define FG_TEST_CLIP_FRAMES_H

#include <math.h>
#include <stdlib.h>

#include "facegate.h"
#include "harness.h"
#include "video/video.h"

#define MAX_FRAMES 2000

typedef struct frame_measure {
    double t, open; /* seconds; mean eye openness, NAN when no face */
    float yaw, pitch, roll;
} frame_measure;

/* Every frame of the clip through the fast path, as a webcam stream. Returns the frame count. */
static int clip_frames(fg_engine *e, const char *path, frame_measure *out, int max)
{
    fgv_reader *r = NULL;
    fg_image img;
    fg_error err = {0};
    fg_face_mesh mesh;
    double t;
    int n = 0, have = 0;
    CHECKF(fgv_open(path, 0, &r, &err) == FG_OK, "%s: %s", path, err.message);
    if (!r) return 0;
    while (n < max && fgv_next(r, &img, &t, &err) == FG_OK) {
        if (have) have = fg_track_mesh(e, &img, &mesh, NULL, &err) == FG_OK;
        if (!have) {
            fg_face *faces = NULL;
            fg_face_mesh *meshes = NULL;
            size_t count = 0;
            CHECKF(fg_detect_mesh(e, &img, &faces, &meshes, &count, &err) == FG_OK, "%s: %s", path,
                   err.message);
            if ((have = count > 0)) mesh = meshes[0];
            free(faces);
            free(meshes);
        }
        out[n].t = t;
        out[n].open = have ? (mesh.eye_openness[0] + mesh.eye_openness[1]) / 2.0 : NAN;
        out[n].yaw = have ? mesh.yaw : 0;
        out[n].pitch = have ? mesh.pitch : 0;
        out[n].roll = have ? mesh.roll : 0;
        n++;
    }
    fgv_close(r);
    return n;
}

#endif
