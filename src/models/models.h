/*
 * models.h - the four face-api networks on XNNPACK (one file each in src/models/).
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
#include "nn/nn.h"

/* In-place normalisation shared by the nets, bit-exact with tfjs:
 * x = (float)((float)(x - (float)mean[c]) / 255) when div255, else x - mean. */
void fgm_normalize(float *hwc, size_t pixels, const float mean[3], int div255);

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
/* batch: images per run (1, or 2 for a face and its mirror image). */
int fgm_resnet_open(const char *model_dir, int threads, int batch, fgm_resnet **out, fg_error *err);
void fgm_resnet_free(fgm_resnet *m);
int fgm_resnet_batch(const fgm_resnet *m);
const nn_runtime *fgm_resnet_runtime(const fgm_resnet *m);
/* Raw network: input batch x 150x150x3 normalised; out gets batch x 128 values. */
int fgm_resnet_forward(fgm_resnet *m, const float *input, float *out, fg_error *err);
/* Image `slot` (0 .. batch-1) of the next run: an RGB8 crop (w, h > 0) padded to square
 * (centred), resized to 150 and normalised; or a 150x150x3 chip of 0..255 floats (dlib-style
 * aligned), normalised here. */
void fgm_resnet_set_crop(fgm_resnet *m, int slot, const uint8_t *crop, int w, int h);
void fgm_resnet_set_chip(fgm_resnet *m, int slot, const float *chip);
/* Runs the net on the images set: out gets one descriptor per slot. */
int fgm_resnet_run(fgm_resnet *m, float (*out)[FG_DESCRIPTOR_DIM], fg_error *err);
/* One image on a batch-1 net: set slot 0 and run (an empty crop gives 128 zeros, as face-api). */
int fgm_resnet_describe_crop(fgm_resnet *m, const uint8_t *crop, int w, int h,
                             float out[FG_DESCRIPTOR_DIM], fg_error *err);
int fgm_resnet_describe_chip(fgm_resnet *m, const float *chip, float out[FG_DESCRIPTOR_DIM],
                             fg_error *err);

#endif
