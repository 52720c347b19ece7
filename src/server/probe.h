/*
 * probe.h - from image bytes to a usable face: decode, detect, pick, describe.
 *
 * The face rules of sign-up and log-in live here: an image must hold exactly one face whose
 * box is at least min_face_px on its shorter side. Smaller faces (people in the background)
 * are ignored when one usable face is present. Failures become HTTP errors: empty_image,
 * unsupported_image, corrupt_image, image_too_large, no_face, face_too_small, multiple_faces.
 */
#ifndef FG_SERVER_PROBE_H
#define FG_SERVER_PROBE_H

#include "server/http.h"

typedef struct fg_probe {
    int width, height;
    fg_face face;
    float descriptor[FG_DESCRIPTOR_DIM];
} fg_probe;

/* The one usable face of the image and its descriptor. `what` names the image in messages
 * ("image 2"). */
int fg_probe_face(fg_server *s, const fg_blob *image, const char *what, fg_probe *out,
                  fg_http_error *e);

/* Every face of the image (for the camera UI), found by the guidance's path (--guidance).
 * *faces and, on the fast path, *meshes (meshes[i] goes with faces[i]; else NULL) are malloc'd
 * (free() each). */
int fg_probe_detect(fg_server *s, const fg_blob *image, int *width, int *height, fg_face **faces,
                    fg_face_mesh **meshes, size_t *count, fg_http_error *e);

/* Decodes one camera frame (a liveness challenge's) within the frame pixel limit. Free *img
 * with fg_image_free. */
int fg_probe_decode_frame(fg_server *s, const fg_blob *image, const char *what, fg_image *img,
                          fg_http_error *e);

#endif
