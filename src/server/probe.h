/*
 * probe.h - from image bytes to a usable face: decode, detect, pick, describe.
 *
 * The face rules of sign-up and log-in live here: an image must hold exactly one face whose
 * box is at least min_face_px on its shorter side. Smaller faces (people in the background)
 * are ignored when one usable face is present. Failures become HTTP errors: empty_image,
 * unsupported_image, corrupt_image, image_too_large, no_face, face_too_small, multiple_faces;
 * for a face that is to be enrolled, the quality gate's face_blurred, face_too_dark,
 * face_overexposed, face_turned (face/quality.h).
 */
#ifndef FG_SERVER_PROBE_H
#define FG_SERVER_PROBE_H

#include "face/quality.h"
#include "server/http.h"

typedef struct fg_probe {
    int width, height;
    fg_face face;
    float descriptor[FG_DESCRIPTOR_DIM];
} fg_probe;

/* The one usable face of the image and its descriptor. `what` names the image in messages
 * ("image 2"). gate (may be NULL: log-ins) refuses a face under the enrolment limits. */
int fg_probe_face(fg_server *s, const fg_blob *image, const char *what,
                  const fg_quality_limits *gate, fg_probe *out, fg_http_error *e);

/* Every face of the image (for the camera UI). *faces is malloc'd (free()), may be NULL. When
 * exactly one face is usable, *quality gets its measurements and *measured is 1. */
int fg_probe_detect(fg_server *s, const fg_blob *image, int *width, int *height, fg_face **faces,
                    size_t *count, fg_face_quality *quality, int *measured, fg_http_error *e);

#endif
