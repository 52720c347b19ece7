/*
 * clip.h - a recorded clip as the liveness verifier sees a webcam stream (internal, prefix
 * fg_clip_): every frame with its timestamp and the fast path's faces, found the way the server
 * finds them ("hybrid"): BlazeFace + FaceMesh on every frame (it must count the faces), and
 * when BlazeFace finds none, the previous frame's face followed by FaceMesh alone
 * (fg_track_mesh). A still image is a picture held still: still_seconds of identical frames
 * at 15 fps. Used by `facegate liveness`, the liveness evaluation and their tests.
 */
#ifndef FG_EVAL_CLIP_H
#define FG_EVAL_CLIP_H

#include <stddef.h>

#include "facegate.h"

typedef struct fg_clip_frame {
    double t;
    fg_face *faces; /* malloc'd, count of each (NULL when none) */
    fg_face_mesh *meshes;
    size_t count;
    int tracked; /* 1: BlazeFace missed; the face was followed from the previous frame */
} fg_clip_frame;

typedef struct fg_clip_reader fg_clip_reader;

/* Opens a video file (FFmpeg) or a still image (JPEG, PNG, WebP: by content). still_seconds:
 * how long a still lasts (e.g. 3). Errors: FG_EIO, FG_EIMAGE_*, FG_ENOMEM. */
int fg_clip_open(const char *path, double still_seconds, uint64_t max_pixels, fg_clip_reader **out,
                 fg_error *err);

/* The next frame through the fast path: *frame's arrays are owned by the reader until the next
 * call; *img (optional) gets the frame's pixels (same lifetime), for descriptors. Returns FG_OK,
 * 1 after the last frame, or an error. */
int fg_clip_next(fg_clip_reader *r, fg_engine *e, fg_clip_frame *frame, fg_image *img,
                 fg_error *err);

void fg_clip_close(fg_clip_reader *r);

/* A whole clip in memory (the evaluation replays it many times). With describe_every > 0, the
 * main face of every describe_every-th frame gets a descriptor (descriptors[i], has_desc[i]). */
typedef struct fg_clip {
    fg_clip_frame *frames;
    size_t n;
    float (*descriptors)[FG_DESCRIPTOR_DIM];
    unsigned char *has_desc;
} fg_clip;

int fg_clip_load(fg_engine *e, const char *path, double still_seconds, int describe_every,
                 fg_clip *out, fg_error *err);
void fg_clip_free(fg_clip *c);

/* The index of the widest face whose FaceMesh flag is at least min_confidence, or -1. */
int fg_clip_main_face(const fg_clip_frame *f, float min_confidence);

#endif
