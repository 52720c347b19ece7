/*
 * mesh.h - the fast path's per-face work: FaceMesh and iris on a face square, as
 * @vladmandic/human 3.3.6 does it (facemesh.ts, iris.ts, facemeshutil.ts, angles.ts), and the
 * measures made of the points.
 */
#ifndef FG_FACE_MESH_H
#define FG_FACE_MESH_H

#include "facegate.h"
#include "models/models.h"

typedef struct fgf_mesher fgf_mesher;

/* Loads FaceMesh and the iris net from Human's model folder. */
int fgf_mesher_open(const char *model_dir, int threads, fgf_mesher **out, fg_error *err);
void fgf_mesher_free(fgf_mesher *m);
/* Its two networks (for the benchmark's per-network stages and profile). */
fgm_mesh *fgf_mesher_mesh(fgf_mesher *m);
fgm_iris *fgf_mesher_iris(fgf_mesher *m);

/* Human's face square for a BlazeFace box: enlarged 1.4 times about its centre, made square on
 * the longer side, corners rounded (enlargeBox + squarifyBox). box = x1, y1, x2, y2. */
void fgf_blaze_square(const fgm_blaze_box *d, double box[4]);

/* Human's square for the next frame: the previous square's size, centred on the middle of the
 * mesh points' extent (calculateFaceBox). */
void fgf_track_square(const fg_face_mesh *previous, double box[4]);

/* FaceMesh's input for the square `box` (x1, y1, x2, y2) of img: cutAndResize to 192x192
 * (zeros outside the image), / 255. out holds 192*192*3 floats. */
int fgf_face_crop(const fg_image *img, const double box[4], float *out);
/* The same in bands of rows on `on` (the same values). */
int fgf_face_crop_on(const fg_image *img, const double box[4], float *out, const fgi_runner *on);

/* The iris net's input for a face crop and FaceMesh's 468 raw points (crop pixels): both eyes'
 * 64x64 crops (the subject's left eye first, flipped left-right; the right eye flipped too when
 * human_eyes, as Human does); box gets each eye's square in crop pixels. out holds 2*64*64*3
 * floats. */
int fgf_eye_crops(const float *face, const float *raw, int human_eyes, float *out,
                  double box[2][4]);

/* on: the right eye goes to the iris net flipped, as Human 3.3.6 sends it (mesh.c says why
 * that is wrong); for the parity tests only. Off by default. */
void fgf_mesher_human_eyes(fgf_mesher *m, int on);

/* Whether mesh point `index` comes from the iris net's run on the subject's right eye (its
 * contours and iris): the points where fgf_mesher_human_eyes makes a difference. */
int fgf_right_eye_point(int index);

/* FaceMesh on the square `box` of img (cropped and resized to 192x192), then, when `iris`, the
 * iris net on both eyes, Human's merge of the two and the measures (without it the iris points
 * and the eye, mouth and iris measures are zero). out->confidence is the face flag; the points
 * and measures are filled whatever it is (the caller gates). face (may be NULL): the fg_face of
 * FaceMesh's own points, score the face flag: the box around the 468 points (clipped to the
 * image), the 68 landmarks (mesh.c's map), the reference alignment rect; the same with or
 * without the iris net, so a face gets the same chip and descriptor from either. */
int fgf_mesh_square(fgf_mesher *m, const fg_image *img, const double box[4], int iris,
                    fg_face_mesh *out, fg_face *face, fg_error *err);

/* Human's own box for the face (calculateFaceBox, then clampBox: the face square's size about
 * the middle of the points, integers). */
void fgf_human_box(const fg_face_mesh *mesh, int image_w, int image_h, fg_box *out);

#endif
