/*
 * measure.h - the per-frame measures the liveness verifier follows, from one fast-path mesh:
 * head pose (the mesh's own, Human's calculateFaceAngle), each eye's openness on the
 * iris-refined lid contours, the face's extent, and the points of the nose-parallax test.
 */
#ifndef FG_LIVENESS_MEASURE_H
#define FG_LIVENESS_MEASURE_H

#include "liveness/liveness.h"

/* The most frames a neutral pose may be judged over (fgl_config.neutral_frames). */
#define FGL_NEUTRAL_MAX 16
/* Points of the parallax test: the face plane's 10, then the nose's 2. */
#define FGL_PLANE_POINTS 10
#define FGL_NOSE_POINTS 2

typedef struct fgl_plane {
    double x[FGL_PLANE_POINTS + FGL_NOSE_POINTS], y[FGL_PLANE_POINTS + FGL_NOSE_POINTS];
    double iod; /* inter-ocular distance (outer eye corners), pixels */
} fgl_plane;

typedef struct fgl_measure {
    double t;
    float yaw, pitch, roll;
    float eye[2];          /* openness per eye ([FG_EYE_RIGHT], [FG_EYE_LEFT]) */
    double cx, cy, fw, fh; /* the mesh's extent: centre, width, height (pixels) */
    fgl_plane plane;
} fgl_measure;

/* The measures of one mesh. */
void fgl_measure_mesh(const fg_face_mesh *mesh, fgl_measure *out);

/* The frame's main face (the widest whose FaceMesh flag is at least min_confidence): its index
 * and measures. Returns how many people the frame shows: 0, 1, or more when another face at
 * least min_width of the main one's width is centred outside it (BlazeFace returns nested
 * duplicate boxes on one face: the same person). */
int fgl_main_face(const fgl_frame *f, float min_confidence, float min_width, int *index,
                  fgl_measure *out);

/* The nose's motion that a homography of the face plane (fitted from ref to cur) does not
 * explain, in ref's inter-ocular distances (x + = toward the image's right, y + = down). A flat
 * picture moves every point by one homography. Returns 0, or -1 when the fit is degenerate. */
int fgl_parallax(const fgl_plane *ref, const fgl_plane *cur, double *dx, double *dy);

#endif
