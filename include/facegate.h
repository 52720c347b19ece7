/*
 * facegate.h - the public C API of libfacegate.
 *
 * Pipeline: image bytes -> fg_image_decode -> fg_detect (boxes + 68 landmarks) -> fg_describe
 * (aligned chip -> 128-d descriptor) -> fg_match_distance.
 *
 * Errors: every function that can fail returns 0 or a negative FG_E* code, and fills the
 * optional `fg_error *err` with the code and a specific message ("image is 30000x30000, larger
 * than the 40000000-pixel limit"). fg_strerror(code) gives the generic text of a code.
 *
 * Ownership: whoever allocates documents who frees; every *_free(NULL) is a no-op.
 *
 * Threads: an fg_engine is NOT safe to use from two threads at once (it owns the XNNPACK
 * runtimes and their activation buffers). Open one engine per thread; engines are independent.
 * fg_image_*, fg_distance, fg_match_distance and fg_strerror are thread-safe.
 */
#ifndef FACEGATE_H
#define FACEGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's exported functions: everything else in libfacegate is built with hidden
 * visibility, so a program linking the shared library sees this header's API and nothing more. */
#if defined(__GNUC__)
#define FG_API __attribute__((visibility("default")))
#else
#define FG_API
#endif

#define FG_DESCRIPTOR_DIM 128
#define FG_LANDMARKS 68

/* Every error code: FG_ERRNO_MAP(XX) calls XX(symbol, value, name, text) once per code, in
 * the manner of libuv's UV_ERRNO_MAP. It generates the enum below and the tables behind
 * fg_error_name (the stable snake_case name, for APIs and logs) and fg_strerror (the generic
 * text). Codes are negative; -1..-99 are the engine's, -100.. the store's (the server's store,
 * not part of libfacegate, returns them). Adding a code is adding one row. */
#define FG_ERRNO_MAP(XX)                                                                           \
    XX(FG_OK, 0, "ok", "success")                                                                  \
    XX(FG_ENOMEM, -1, "out_of_memory", "out of memory")                                            \
    XX(FG_EINVAL, -2, "invalid_argument", "invalid argument")                                      \
    XX(FG_EIO, -3, "io_error", "file could not be read")                                           \
    XX(FG_EIMAGE_EMPTY, -10, "empty_image", "the image is empty (0 bytes)")                        \
    XX(FG_EIMAGE_FORMAT, -11, "unsupported_image", "not a JPEG, PNG or WebP image")                \
    XX(FG_EIMAGE_CORRUPT, -12, "corrupt_image", "the image data is truncated or corrupt")          \
    XX(FG_EIMAGE_TOO_LARGE, -13, "image_too_large", "the image dimensions exceed the limit")       \
    XX(FG_EMODEL_MISSING, -20, "model_missing", "a model file is missing")                         \
    XX(FG_EMODEL_CORRUPT, -21, "model_corrupt", "a model file is corrupt or fails its checksum")   \
    XX(FG_ENN, -22, "inference_failed", "the inference engine failed")                             \
    XX(FG_ENOFACE, -30, "no_face", "no face found")                                                \
    XX(FG_STORE_EEXIST, -100, "already_exists", "the name is taken")                               \
    XX(FG_STORE_ENOTFOUND, -101, "not_found", "no such user or record")                            \
    XX(FG_STORE_EDB, -102, "database_error", "the database failed")                                \
    XX(FG_STORE_ECRYPTO, -103, "decrypt_failed",                                                   \
       "a template failed to decrypt (wrong key or tampered row)")                                 \
    XX(FG_STORE_EKEY, -104, "bad_key_file", "the key file is unreadable, malformed or too open")   \
    XX(FG_STORE_EUSED, -105, "already_used", "the authorization code was used before")             \
    XX(FG_STORE_EUNAVAILABLE, -106, "unavailable", "the database server cannot be reached")        \
    XX(FG_STORE_ENOTSUP, -107, "not_supported", "this store backend does not do that")             \
    XX(FG_STORE_EFULL, -108, "too_many_templates", "the user already holds the most templates")

#define FG_ERRNO_ENUM_(symbol, value, name, text) symbol = value,
enum { FG_ERRNO_MAP(FG_ERRNO_ENUM_) };
#undef FG_ERRNO_ENUM_

typedef struct fg_error {
    int code;
    char message[256];
} fg_error;

/* Generic, static description of an error code. Never NULL. */
FG_API const char *fg_strerror(int code);
/* Stable snake_case name of an error code ("image_too_large"), for APIs and logs. Never NULL. */
FG_API const char *fg_error_name(int code);

/* ---------------------------------------------------------------------------------------------
 * Images
 */

/* An RGB8 image, row-major, 3 bytes per pixel, no row padding. */
typedef struct fg_image {
    int width;
    int height;
    uint8_t *rgb; /* owned: width*height*3 bytes, freed by fg_image_free */
} fg_image;

#define FG_DEFAULT_MAX_PIXELS 40000000u /* 40 MP */
#define FG_MAX_SIDE 30000               /* no side may exceed this, whatever max_pixels says */

/* Decodes a JPEG, PNG or WebP held in memory into RGB8, applying the EXIF orientation of JPEGs
 * (PNG/WebP: none). Greyscale, palette, 16-bit and alpha are converted to RGB8 (alpha dropped).
 * The header's dimensions are checked against max_pixels (0 = FG_DEFAULT_MAX_PIXELS) before
 * any pixel buffer is allocated, and an image of more than 4 MP whose file is far too small to
 * hold a picture of that size (a decompression bomb: more than 1000 pixels per byte, 100 for
 * PNG) is refused as FG_EIMAGE_TOO_LARGE there too. On success *out owns the pixels; on failure
 * *out is zeroed. */
FG_API int fg_image_decode(const void *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                           fg_error *err);

/* fg_image_decode for a caller that needs at most need_side pixels on the longer side: a larger
 * JPEG is decoded scaled down by libjpeg-turbo's DCT scaling (the factors n/8; far less memory
 * and time than a full decode), a larger WebP through libwebp's scaler (less memory), to the
 * smallest n/8 of the stored size whose longer side is still >= need_side. PNGs are decoded
 * whole. max_pixels applies to the stored size. *scale (may be NULL) receives the decoded width
 * over the stored width, before the EXIF orientation: 1 when nothing was scaled. */
FG_API int fg_image_decode_scaled(const void *bytes, size_t size, uint64_t max_pixels,
                                  int need_side, fg_image *out, double *scale, fg_error *err);

/* Reads a file and decodes it as fg_image_decode does. */
FG_API int fg_image_load(const char *path, uint64_t max_pixels, fg_image *out, fg_error *err);

/* Frees the pixels and zeroes the struct. NULL and an empty image are no-ops. */
FG_API void fg_image_free(fg_image *img);

/* ---------------------------------------------------------------------------------------------
 * Engine
 */

typedef enum fg_detector {
    FG_DETECTOR_SSD = 0,   /* SSD-MobileNetV1, 512 input: accurate (default) */
    FG_DETECTOR_TINY = 1,  /* TinyFaceDetector, 416 input: fast */
    FG_DETECTOR_BLAZE = 2, /* the fast path: BlazeFace, then FaceMesh (+ iris) per face, whose
                              points give the 68 landmarks (needs fast_model_dir) */
} fg_detector;

typedef enum fg_align {
    FG_ALIGN_DLIB = 0,      /* similarity transform onto dlib's mean face (default) */
    FG_ALIGN_REFERENCE = 1, /* face-api's axis-aligned crop, for parity with the reference */
} fg_align;

/* The detector misses faces that fill the frame; it finds them on the image padded with a black
 * border. fg_detect's padded passes (borders of half the image, then of the whole image). */
typedef enum fg_padding {
    FG_PADDING_RETRY = 0,  /* when none of the plain pass's faces covers the image centre: it
                              found nobody, or only someone beside the subject (default) */
    FG_PADDING_NONE = 1,   /* never: the reference's single pass (parity with face-api) */
    FG_PADDING_ALWAYS = 2, /* also when it finds faces, adding the faces only the padded image
                              shows (a large face next to a smaller one): twice the detection */
} fg_padding;

/* The options' names as the command line and the logs spell them ("ssd", "tiny", "blaze"; "dlib",
 * "reference"; "retry", "none", "always"), or "?" for a value outside the enum. */
FG_API const char *fg_detector_name(fg_detector detector);
FG_API const char *fg_align_name(fg_align align);
FG_API const char *fg_padding_name(fg_padding padding);

typedef struct fg_engine_options {
    const char *model_dir; /* folder with the face-api *-weights_manifest.json + .bin files */
    fg_detector detector;  /* default FG_DETECTOR_SSD */
    fg_align align;        /* default FG_ALIGN_DLIB */
    int threads;           /* XNNPACK threads: 1 = single-threaded (default), 0 = all cores */
    float min_score;       /* detection score threshold, default 0.5 */
    uint64_t max_pixels;   /* decode limit, default FG_DEFAULT_MAX_PIXELS */
    int tta;               /* 1: test-time augmentation, the descriptor is the mean of the face's
                              and its mirror image's (one batch of two through the recognition
                              net: ~1.7x as long). Default 0 */
    fg_padding padding;    /* default FG_PADDING_RETRY */
    const char *fast_model_dir; /* folder with @vladmandic/human's blazeface, facemesh and iris
                                   .json + .bin: the fast path (fg_detect_mesh, and fg_detect
                                   with FG_DETECTOR_BLAZE, which requires it). NULL: no fast
                                   path (default) */
    float mesh_min_confidence;  /* the fast path keeps a face when FaceMesh's face flag is at
                                   least this (0..1); default FG_MESH_MIN_CONFIDENCE */
} fg_engine_options;

typedef struct fg_engine fg_engine;

/* Fills *opts with the defaults above (model_dir = NULL: must be set by the caller). */
FG_API void fg_engine_options_init(fg_engine_options *opts);

/* Loads and verifies (SHA-256) the weights of the chosen detector, the landmark net and the
 * recognition net, and builds their XNNPACK runtimes. Free with fg_engine_free. */
FG_API int fg_engine_open(const fg_engine_options *opts, fg_engine **out, fg_error *err);
FG_API void fg_engine_free(fg_engine *engine);
FG_API const fg_engine_options *fg_engine_get_options(const fg_engine *engine);

/* fg_image_decode with the engine's max_pixels, on the engine's threads: with 2 or more, a
 * baseline JPEG is decoded in two parts at once (the same pixels as fg_image_decode's). */
FG_API int fg_engine_decode_image(fg_engine *engine, const void *bytes, size_t size, fg_image *out,
                                  fg_error *err);
/* Reads a file and decodes it as fg_engine_decode_image does. */
FG_API int fg_engine_load_image(fg_engine *engine, const char *path, fg_image *out, fg_error *err);

typedef struct fg_box {
    float x, y, width, height; /* image pixels, float, unclipped */
} fg_box;

typedef struct fg_point {
    float x, y;
} fg_point;

typedef struct fg_rect {
    int x, y, width, height; /* integer pixel rectangle */
} fg_rect;

typedef struct fg_face {
    float score;                      /* detector confidence 0..1 */
    fg_box box;                       /* detection box */
    fg_point landmarks[FG_LANDMARKS]; /* iBUG-68 order, image pixels */
    fg_rect landmark_crop;            /* crop fed to the landmark net */
    fg_rect align_rect;               /* reference alignment rect (dlib-style box of face-api) */
    int padded;                       /* 1: only a padded pass found it (a face that fills the
                                         frame); 0: the plain pass, the reference's, found it */
} fg_face;

/* ---------------------------------------------------------------------------------------------
 * The fast path: BlazeFace -> FaceMesh (468 points in 3-D) + iris, per face. Cheap enough to run
 * on every video frame (the measures a liveness check follows: head pose, eyes, mouth, and the
 * raw 3-D points for a parallax check).
 */

/* The points of an fg_face_mesh: FaceMesh's 468 (MediaPipe's canonical face mesh numbering; its
 * eye contours refined by the iris model), then the iris of the subject's left eye (468: centre,
 * 469..472: right, top, left, bottom edge) and of the subject's right eye (473..477). */
#define FG_MESH_POINTS 478
#define FG_MESH_IRIS_LEFT 468
#define FG_MESH_IRIS_RIGHT 473

/* The default face-flag gate of a new face: FaceMesh's confidence that its crop holds a face.
 * Chosen on face-free image crops, where BlazeFace alone (Human's 0.2) fires often and FaceMesh
 * reaches 0.58 on an arm and 0.91 on a buttoned vest (README, "The fast path"); real faces give
 * 0.99-1.0. Human's own gate is 0.2. */
#define FG_MESH_MIN_CONFIDENCE 0.9f
/* fg_track_mesh's gate: a face found in the previous frame is followed while its flag stays at
 * least this (a head turned 35-40 degrees gives 0.75-0.9). */
#define FG_MESH_TRACK_MIN_CONFIDENCE 0.5f

/* The subject's eyes (not the image's sides): index of fg_face_mesh.eye_openness etc. */
enum { FG_EYE_RIGHT = 0, FG_EYE_LEFT = 1 };

typedef struct fg_point3 {
    float x, y, z;
} fg_point3;

typedef struct fg_face_mesh {
    float confidence;                 /* FaceMesh's face flag, 0..1 */
    fg_box crop;                      /* the square (image pixels) the mesh was computed in */
    fg_point3 points[FG_MESH_POINTS]; /* x, y: image pixels; z: depth in the same units, relative
                                         to the face's centre, smaller = nearer the camera */
    float yaw;   /* head pose in degrees, Human's estimate from the mesh: yaw > 0 when the face */
    float pitch; /* turns towards the image's left (the subject's right), pitch > 0 when it */
    float roll;  /* looks down, roll > 0 when it tilts clockwise in the image */
    float eye_openness[2]; /* eye aspect ratio per eye ([FG_EYE_RIGHT], [FG_EYE_LEFT]): the mean
                              lid gap over the eye's width, in 3-D; ~0.25-0.35 open, < 0.15
                              closed (people differ: compare with the same face's own level) */
    float mouth_openness;  /* inner lip gap over the mouth's width, in 3-D (0 closed) */
    fg_point3 iris[2];     /* iris centre per eye */
    float iris_radius[2];  /* iris radius per eye, image pixels */
} fg_face_mesh;

/* Detects faces with BlazeFace and computes each one's mesh: faces[i] (box, score, the 68
 * landmarks mapped from FaceMesh's own points, before the iris net refines the eyes; usable with
 * fg_describe) goes with meshes[i]. Both arrays are malloc'd (free() each); zero faces is success
 * with both NULL. Needs fast_model_dir. The engine's detector option does not matter here: this
 * is always the fast path. */
FG_API int fg_detect_mesh(fg_engine *engine, const fg_image *img, fg_face **faces,
                          fg_face_mesh **meshes, size_t *count, fg_error *err);

/* The next video frame of a face already found: runs FaceMesh (+ iris) in the square around the
 * previous mesh's points, without BlazeFace (about a third of the work of fg_detect_mesh). On
 * success *mesh holds the new frame's mesh and *face (optional) its face; FG_ENOFACE when the
 * face flag falls below FG_MESH_TRACK_MIN_CONFIDENCE (or the engine's gate, if lower): the face
 * was lost, call fg_detect_mesh again. */
FG_API int fg_track_mesh(fg_engine *engine, const fg_image *img, fg_face_mesh *mesh, fg_face *face,
                         fg_error *err);

/* Detects faces and their 68 landmarks. On success *faces is a malloc'd array of *count faces
 * (caller frees with free()): the plain pass's faces by score descending, then those only a
 * padded pass found (fg_face.padded), by score descending. Zero faces is success with
 * *faces == NULL. With the blaze detector it runs BlazeFace and FaceMesh but not the iris net,
 * which only the meshes' eyes need: the faces are fg_detect_mesh's, bit for bit. */
FG_API int fg_detect(fg_engine *engine, const fg_image *img, fg_face **faces, size_t *count,
                     fg_error *err);

/* Computes the 128-d descriptor of one detected face with the engine's alignment. */
FG_API int fg_describe(fg_engine *engine, const fg_image *img, const fg_face *face,
                       float descriptor[FG_DESCRIPTOR_DIM], fg_error *err);

/* Same, with an explicit alignment (the engine's option is ignored). */
FG_API int fg_describe_aligned(fg_engine *engine, const fg_image *img, const fg_face *face,
                               fg_align align, float descriptor[FG_DESCRIPTOR_DIM], fg_error *err);

/* The descriptors of n faces of one image (descriptors[i] for faces[i]), each the same as
 * fg_describe gives it, for less work: the network runs on up to four faces at once and reads its
 * weights once for all of them. n == 0 is success. */
FG_API int fg_describe_faces(fg_engine *engine, const fg_image *img, const fg_face *faces, size_t n,
                             float (*descriptors)[FG_DESCRIPTOR_DIM], fg_error *err);

/* ---------------------------------------------------------------------------------------------
 * Distances between descriptors
 */

/* Euclidean distance between two descriptors: the reference's (face-api's euclideanDistance),
 * whose "same person" threshold is 0.6. */
FG_API float fg_distance(const float a[FG_DESCRIPTOR_DIM], const float b[FG_DESCRIPTOR_DIM]);

/* The distance facegate matches with: Euclidean between the descriptors scaled to unit length,
 * sqrt(2 - 2 cos(angle)), from 0 (same direction) to 2. On LFW it separates people better than
 * fg_distance (TAR at FAR 1e-4 82% instead of 76%; docs/EVAL.md). A zero descriptor is at 2
 * from everything. FG_MATCH_THRESHOLD is for this distance: the largest threshold whose
 * false-accept rate on LFW View 1 DevTrain is at most 0.1% with the default engine options. */
#define FG_MATCH_THRESHOLD 0.38f
/* The same calibration for an engine with test-time augmentation (fg_engine_options.tta), whose
 * distances are a little smaller. */
#define FG_MATCH_THRESHOLD_TTA 0.375f
FG_API float fg_match_distance(const float a[FG_DESCRIPTOR_DIM], const float b[FG_DESCRIPTOR_DIM]);

#ifdef __cplusplus
}
#endif
#endif
