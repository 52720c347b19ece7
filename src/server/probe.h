/*
 * probe.h - from image bytes to a usable face: decode, detect, pick, describe.
 *
 * The face rules of sign-up and log-in live here: an image must hold exactly one face whose
 * box is at least min_face_px on its shorter side. Smaller faces (people in the background)
 * are ignored when one usable face is present. Failures become HTTP errors: empty_image,
 * unsupported_image, corrupt_image, image_too_large, no_face, face_too_small, multiple_faces;
 * for a face that is to be enrolled, the quality gate's face_blurred, face_too_dark,
 * face_overexposed, face_turned (face/quality.h).
 *
 * Two kinds of image. An enrolment photo (sign-up, add a face) may be a phone photo up to
 * --max-pixels; a camera frame (log-in, detect) is what a webcam sends, up to
 * --frame-max-pixels, refused from its header when larger. Either way a JPEG or WebP larger than
 * FG_PROBE_NEED_SIDE is decoded scaled down (fg_image_decode_scaled); boxes and landmarks are
 * reported, and the minimum face size applied, in the image's own pixels.
 *
 * These run on an inference worker: req->engine must be set (FG_ROUTE_INFER routes).
 */
#ifndef FG_SERVER_PROBE_H
#define FG_SERVER_PROBE_H

#include "face/quality.h"
#include "server/http.h"

/* The longest side the pipeline needs: the detector looks at the whole image at 512 px, so in
 * a picture 2048 px long every face it can find spans at least about 80 px (the smallest usable
 * face); more pixels only cost memory and time. */
#define FG_PROBE_NEED_SIDE 2048

typedef enum fg_probe_kind {
    FG_PROBE_ENROL, /* sign-up, add a face: --max-pixels */
    FG_PROBE_FRAME, /* log-in, detect: --frame-max-pixels */
} fg_probe_kind;

typedef struct fg_probe {
    int width, height; /* of the image as sent (after its EXIF orientation) */
    fg_face face;      /* in those pixels */
    float descriptor[FG_DESCRIPTOR_DIM];
} fg_probe;

/* The one usable face of the image and its descriptor. `what` names the image in messages
 * ("image 2"). gate (may be NULL: log-ins) refuses a face under the enrolment limits. */
int fg_probe_face(fg_request *req, fg_probe_kind kind, const fg_blob *image, const char *what,
                  const fg_quality_limits *gate, fg_probe *out, fg_http_error *e);

/* Every face of the image (for the camera UI), in its own pixels, found by the guidance's path
 * (--guidance). *faces and, on the fast path, *meshes (meshes[i] goes with faces[i]; else NULL)
 * are malloc'd (free() each). When exactly one face is usable, *quality gets its measurements
 * and *measured is 1. */
int fg_probe_detect(fg_request *req, const fg_blob *image, int *width, int *height, fg_face **faces,
                    fg_face_mesh **meshes, size_t *count, fg_face_quality *quality, int *measured,
                    fg_http_error *e);

#endif
