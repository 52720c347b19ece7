/*
 * video.h - video files as RGB frames with their timestamps (FFmpeg's libavformat, libavcodec
 * and libswscale), for the fast path's per-frame tests and the liveness work. Internal: prefix
 * fgv_. Not part of libfacegate (the engine needs no FFmpeg): its own library, facegate_video.
 *
 * Frames come in presentation order, upright as stored (a rotation flag in the container is
 * not applied; the test clips are re-encoded upright). Every frame's size is checked against
 * the pixel limit before it is converted.
 */
#ifndef FG_VIDEO_VIDEO_H
#define FG_VIDEO_VIDEO_H

#include <stdint.h>

#include "facegate.h"

typedef struct fgv_reader fgv_reader;

/* What fgv_next returns after the last frame. */
#define FGV_END 1

/* Opens the first video stream of a file. max_pixels as for fg_image_decode (0 = default).
 * Errors: FG_EIO (cannot open or read), FG_EIMAGE_FORMAT (no video stream, or no decoder for
 * it), FG_EIMAGE_TOO_LARGE, FG_ENOMEM. */
int fgv_open(const char *path, uint64_t max_pixels, fgv_reader **out, fg_error *err);

/* The next frame: *frame gets RGB8 pixels owned by the reader (valid until the next call or
 * fgv_close; do not free them), *seconds its presentation time from the stream's start.
 * Returns FG_OK, FGV_END after the last frame, or FG_EIMAGE_CORRUPT / FG_ENOMEM. */
int fgv_next(fgv_reader *r, fg_image *frame, double *seconds, fg_error *err);

/* The stream's nominal frame rate (frames per second; 0 when unknown) and frame size. */
double fgv_fps(const fgv_reader *r);
int fgv_width(const fgv_reader *r);
int fgv_height(const fgv_reader *r);

/* Closes the file and frees everything. NULL is a no-op. */
void fgv_close(fgv_reader *r);

#endif
