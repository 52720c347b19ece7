/*
 * models.h - the four face-api networks on XNNPACK (one file each in src/models/), and the fast
 * path's TF.js graph models from @vladmandic/human (blazeface.c, facemesh.c).
 *
 * Each network is opened once (weights loaded, verified, built into an XNNPACK runtime and then
 * the float weights freed) and run many times. A network object is single-threaded, like the
 * engine that owns it.
 *
 * Every network offers two levels:
 *   *_forward: the raw network on an already normalised input tensor (HWC float32), for the
 *              parity tests against golden/intermediate;
 *   the task-level call that does face-api's pre- and post-processing as ARCH.md specifies.
 */
#ifndef FG_MODELS_H
#define FG_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"
#include "image/image.h"
#include "nn/nn.h"

/* Runs the image functions' bands (fgi_runner) on rt's thread pool, one band a thread; rt NULL:
 * one band on the caller's thread. */
fgi_runner fgm_runner(const nn_runtime *rt);

/* In-place normalisation shared by the nets, bit-exact with tfjs:
 * x = (float)((float)(x - (float)mean[c]) / 255) when div255, else x - mean. */
void fgm_normalize(float *hwc, size_t pixels, const float mean[3], int div255);

/* ---- a fast-path net's first convolution (common.c) -------------------------------------- */

/* The fast-path nets run their first convolution directly (nn/conv.c says why), into the input
 * of the staged rest (nn_staged opened with input_node = the convolution). */
typedef struct fgm_first {
    nn_conv conv;
    float *input; /* batch x h x w x 3, what the net's *_input hands out */
    int h, w, batch, profiling;
    nn_profile profile; /* the convolution's time and multiply-adds */
} fgm_first;
/* A fast-path net: its first convolution, then the staged rest (whose input_node it is). */
typedef struct fgm_net_spec {
    const char *model;           /* "blazeface": <model_dir>/<model>.json */
    const char *input;           /* the node the first convolution reads */
    const char *first;           /* the first convolution, k x k stride 2, 3 -> cout channels, */
    int k, cout, h, w;           /* on h x w images */
    const nn_chain_spec *chains; /* the staged rest's chains of fused blocks */
    int nchains;
} fgm_net_spec;
/* Reads the model once and makes from it the first convolution f (for a batch of opts->batch
 * images; the staged rest's input is then (h / 2) x (w / 2) x cout, rounded up) and the staged
 * rest (nn_staged_open with opts). Free f with fgm_first_free and net with nn_staged_free,
 * also after an error. */
int fgm_net_open(const char *model_dir, const fgm_net_spec *spec,
                 const nn_graph_model_options *opts, fgm_first *f, nn_staged **net, fg_error *err);
void fgm_first_free(fgm_first *f);
/* The convolution of each image of f->input into net's input, on net's threads. */
void fgm_first_run(fgm_first *f, nn_staged *net);
/* Where the time went: net's profile and the convolution's. */
void fgm_first_profile(const fgm_first *f, const nn_staged *net, nn_profile *out);

/* ---- detections (ssd_mobilenetv1.c, tiny_face_detector.c) ------------------------------- */

typedef struct fgm_detection {
    float score;
    double x, y, width, height;        /* box in image pixels, unclipped (face-api's det.box) */
    double rel_x, rel_y, rel_w, rel_h; /* the same box relative to the image size */
} fgm_detection;

typedef struct fgm_ssd fgm_ssd;
int fgm_ssd_open(const char *model_dir, int threads, fgm_ssd **out, fg_error *err);
void fgm_ssd_free(fgm_ssd *m);
/* Multiply-adds of one run of the network. */
/* The network's runtime: multiply-adds and profile (nn_runtime_macs, nn_runtime_profile). */
const nn_runtime *fgm_ssd_runtime(const fgm_ssd *m);
/* Raw network: input 512x512x3 normalised ((x/127.5)-1); outputs box encodings [5118][4]
 * (ty, tx, th, tw) and class logits [5118][3], pointers valid until the next call. */
int fgm_ssd_forward(fgm_ssd *m, const float *input, const float **box_encodings,
                    const float **class_logits, fg_error *err);
/* Detection on an RGB8 image: pad, resize, normalise, run, decode, NMS (iou 0.5, max 100).
 * *out is malloc'd (free()), score descending; *count may be 0 with *out NULL. */
int fgm_ssd_detect(fgm_ssd *m, const fg_image *img, float min_score, fgm_detection **out,
                   size_t *count, fg_error *err);

typedef struct fgm_tiny fgm_tiny;
int fgm_tiny_open(const char *model_dir, int threads, fgm_tiny **out, fg_error *err);
void fgm_tiny_free(fgm_tiny *m);
const nn_runtime *fgm_tiny_runtime(const fgm_tiny *m);
/* Raw network: input 416x416x3 normalised; output 13x13x25. */
int fgm_tiny_forward(fgm_tiny *m, const float *input, const float **output, fg_error *err);
int fgm_tiny_detect(fgm_tiny *m, const fg_image *img, float min_score, fgm_detection **out,
                    size_t *count, fg_error *err);

/* ---- 68 landmarks (landmarks68.c) --------------------------------------------------------- */

typedef struct fgm_landmarks fgm_landmarks;
int fgm_landmarks_open(const char *model_dir, int threads, fgm_landmarks **out, fg_error *err);
void fgm_landmarks_free(fgm_landmarks *m);
const nn_runtime *fgm_landmarks_runtime(const fgm_landmarks *m);
/* Raw network: input 112x112x3 normalised; output the 136 fc values. */
int fgm_landmarks_forward(fgm_landmarks *m, const float *input, const float **output,
                          fg_error *err);
/* Landmarks of an RGB8 crop (w x h): 68 points in crop pixels (face-api's
 * unshiftedLandmarks: relative position * (w, h)). */
int fgm_landmarks_detect(fgm_landmarks *m, const uint8_t *crop, int w, int h,
                         fg_point out[FG_LANDMARKS], fg_error *err);

/* ---- recognition ResNet (face_resnet.c) --------------------------------------------------- */

typedef struct fgm_resnet fgm_resnet;
/* batch: images a run takes at most (faces, or faces and their mirror images). */
int fgm_resnet_open(const char *model_dir, int threads, int batch, fgm_resnet **out, fg_error *err);
void fgm_resnet_free(fgm_resnet *m);
/* The net's thread pool, for its input's chip (fgm_runner). */
fgi_runner fgm_resnet_runner(const fgm_resnet *m);
/* Time and multiply-adds by kind of operator, XNNPACK's and the convolutions run outside it (as
 * "conv"); the multiply-adds of the last run's images. */
void fgm_resnet_profile(const fgm_resnet *m, nn_profile *out);
/* Raw network: input batch x 150x150x3 normalised; out gets batch x 128 values. */
int fgm_resnet_forward(fgm_resnet *m, const float *input, float *out, fg_error *err);
/* Image `slot` (0 .. batch-1) of the next run: an RGB8 crop (w, h > 0) padded to square
 * (centred), resized to 150 and normalised; or a 150x150x3 chip of 0..255 floats (dlib-style
 * aligned), normalised here. */
void fgm_resnet_set_crop(fgm_resnet *m, int slot, const uint8_t *crop, int w, int h);
void fgm_resnet_set_chip(fgm_resnet *m, int slot, const float *chip);
/* Runs the net on the images of slots 0 .. images-1 (images <= the batch): out gets one
 * descriptor per slot, each the same as a run of that image alone gives. A run of as many images
 * as the last one's starts at once; another count first reshapes the runtimes. Several images in
 * one run read the weights once for all of them (engine.c's DESCRIBE_BATCH says what it saves). */
int fgm_resnet_run(fgm_resnet *m, int images, float (*out)[FG_DESCRIPTOR_DIM], fg_error *err);
/* One image: set slot 0 and run (an empty crop gives 128 zeros, as face-api). */
int fgm_resnet_describe_crop(fgm_resnet *m, const uint8_t *crop, int w, int h,
                             float out[FG_DESCRIPTOR_DIM], fg_error *err);
int fgm_resnet_describe_chip(fgm_resnet *m, const float *chip, float out[FG_DESCRIPTOR_DIM],
                             fg_error *err);

/* ---- BlazeFace (blazeface.c): Human's blazeface.json, MediaPipe's 256x256 "back" model ---- */

#define FGM_BLAZE_INPUT 256
#define FGM_BLAZE_ANCHORS 896
#define FGM_BLAZE_ROW 17 /* logit, dx, dy, w, h, then 6 keypoints (x, y), 256-px units */
#define FGM_BLAZE_KEYPOINTS 6

/* One detection, as Human's getBoxes() makes it before enlarging it. */
typedef struct fgm_blaze_box {
    float score;                              /* sigmoid of the logit */
    int row;                                  /* its anchor row, 0 .. 895 */
    double x1, y1, x2, y2;                    /* the decoded box in image pixels */
    double keypoints[FGM_BLAZE_KEYPOINTS][2]; /* image pixels: eyes, nose, mouth, ears (the
                                                 subject's right first) */
} fgm_blaze_box;

typedef struct fgm_blaze fgm_blaze;
int fgm_blaze_open(const char *model_dir, int threads, fgm_blaze **out, fg_error *err);
void fgm_blaze_free(fgm_blaze *m);
/* Where the runs' time went (nn_profile; its runtimes were built with nn_set_profiling(1)). */
void fgm_blaze_profile(const fgm_blaze *m, nn_profile *out);
/* Raw network: fill the 256x256x3 input (x / 127.5 - 1), then forward: rows [896][17] in
 * Human's order (the 16x16 head's 512 rows, then the 8x8 head's 384), valid until the next
 * call. The anchors are [896][2] centres in 256-px units. */
float *fgm_blaze_input(fgm_blaze *m);
int fgm_blaze_forward(fgm_blaze *m, const float **rows, fg_error *err);
const float *fgm_blaze_anchors(const fgm_blaze *m);
/* Detection on an RGB8 image: stretch to 256x256 (tf.image.resizeBilinear), normalise, run,
 * decode, then hard NMS: candidates score > min_score by score, each dropped when its IoU with
 * a kept one is >= iou; at most max_boxes. *out is malloc'd (free()), score descending. */
int fgm_blaze_detect(fgm_blaze *m, const fg_image *img, float min_score, float iou, int max_boxes,
                     fgm_blaze_box **out, size_t *count, fg_error *err);

/* ---- FaceMesh and its iris model (facemesh.c): Human's facemesh.json and iris.json ------- */

#define FGM_MESH_INPUT 192
#define FGM_MESH_POINTS 468
#define FGM_IRIS_INPUT 64
#define FGM_IRIS_POINTS 76 /* 71 eye-region points, then the iris centre and 4 edge points */

typedef struct fgm_mesh fgm_mesh;
int fgm_mesh_open(const char *model_dir, int threads, fgm_mesh **out, fg_error *err);
void fgm_mesh_free(fgm_mesh *m);
/* Where the time went (runtimes built with profiling on, see nn_set_profiling). */
void fgm_mesh_profile(const fgm_mesh *m, nn_profile *out);
/* Fill the 192x192x3 input (a face crop in [0, 1]), then forward: 468 (x, y, z) in crop
 * pixels, valid until the next call, and the face-flag confidence (0..1). Forward only reads the
 * input: it holds the crop until the next fill. */
float *fgm_mesh_input(fgm_mesh *m);
/* The mesh net's thread pool, for its input's crop (fgm_runner). */
fgi_runner fgm_mesh_runner(const fgm_mesh *m);
int fgm_mesh_forward(fgm_mesh *m, const float **points, float *confidence, fg_error *err);

typedef struct fgm_iris fgm_iris;
int fgm_iris_open(const char *model_dir, int threads, fgm_iris **out, fg_error *err);
void fgm_iris_free(fgm_iris *m);
void fgm_iris_profile(const fgm_iris *m, nn_profile *out);
/* Both eyes in one run: fill the 2 x 64x64x3 input (eye crops in [0, 1]), then forward: 2 x 76
 * (x, y, z) in eye-crop pixels, valid until the next call. */
float *fgm_iris_input(fgm_iris *m);
int fgm_iris_forward(fgm_iris *m, const float **points, fg_error *err);

#endif
