/*
 * align.h - the two ways a detected face becomes the ResNet's 150x150 input.
 */
#ifndef FG_FACE_ALIGN_H
#define FG_FACE_ALIGN_H

#include "facegate.h"
#include "image/image.h"

#define FG_CHIP_SIZE 150

/* face-api's FaceLandmarks.alignDlib(): an axis-aligned square from the eye and mouth centres
 * (ARCH.md section 6, step 4), including its min(size, W + x) quirk, in which W x H are the
 * landmarks' own image dimensions: the size of the crop the 68-point net ran on (the detection
 * box), not the photo's. */
fg_rect fg_align_reference_rect(const fg_point landmarks[FG_LANDMARKS], int crop_w, int crop_h);

/* face-api's Box.clipAtImageBorders followed by floor of each field (ARCH.md section 6). */
fg_rect fg_clip_box(double x, double y, double w, double h, int image_w, int image_h);

/* dlib's get_face_chip_details(shape, 150, 0.25) for 68 landmarks: the least-squares
 * similarity transform from chip pixel (u, v) to image (x, y) = (m0 u + m1 v + m2,
 * m3 u + m4 v + m5). */
void fg_align_dlib_transform(const fg_point landmarks[FG_LANDMARKS], double m[6]);

/* The dlib-style chip: 150x150x3 floats in 0..255, bilinear, zeros outside the image. When the
 * face is much larger than the chip, the image is first box-filtered so the chip does not alias
 * (dlib does the same with an image pyramid). Returns FG_OK or FG_ENOMEM. */
int fg_align_dlib_chip(const fg_image *img, const fg_point landmarks[FG_LANDMARKS],
                       float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3]);
/* The same, the box filter and the warp in bands of rows on `on` (the same values). */
int fg_align_dlib_chip_on(const fg_image *img, const fg_point landmarks[FG_LANDMARKS],
                          float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3], const fgi_runner *on);

#endif
