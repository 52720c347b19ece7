/*
 * image.h - the image toolkit the rest of the engine uses (internal, prefix fgi_).
 *
 * Pixels are RGB8, row-major, no row padding (fg_image); float tensors are HWC, RGB, row-major.
 * Numeric kernels (resize, batch tensor, warp) return 0 or FG_EINVAL / FG_ENOMEM and take no
 * fg_error: their failures are caller bugs or out-of-memory, which the caller reports.
 */
#ifndef FG_IMAGE_IMAGE_H
#define FG_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "facegate.h"

/* ---------------------------------------------------------------------------------------------
 * Decoding
 */

typedef enum fgi_format {
    FGI_FORMAT_UNKNOWN = 0,
    FGI_FORMAT_JPEG,
    FGI_FORMAT_PNG,
    FGI_FORMAT_WEBP,
} fgi_format;

/* What fgi_image_decode found besides the pixels. */
typedef struct fgi_decode_info {
    fgi_format format;
    int orientation;  /* EXIF orientation 1..8 that was applied (1: none or not a JPEG) */
    int stored_width; /* dimensions as stored in the file, before the orientation */
    int stored_height;
    double scale; /* decoded width / stored width: 1, or less when decoded scaled down */
} fgi_decode_info;

/* The format announced by the magic bytes (JPEG FF D8 FF, PNG signature, RIFF....WEBP). */
fgi_format fgi_sniff(const void *bytes, size_t size);

/* "JPEG", "PNG", "WebP" or "unknown". */
const char *fgi_format_name(fgi_format format);

/* fg_image_decode, also reporting the format and the EXIF orientation (info may be NULL). */
int fgi_image_decode(const void *bytes, size_t size, uint64_t max_pixels, fg_image *out,
                     fgi_decode_info *info, fg_error *err);

/* fg_image_decode_scaled with the same report (need_side 0: full size). */
int fgi_image_decode_scaled(const void *bytes, size_t size, uint64_t max_pixels, int need_side,
                            fg_image *out, fgi_decode_info *info, fg_error *err);

/* Checks header dimensions against FG_MAX_SIDE and max_pixels (0 = FG_DEFAULT_MAX_PIXELS)
 * without overflow: FG_EIMAGE_CORRUPT for a zero side, FG_EIMAGE_TOO_LARGE over a limit. */
int fgi_check_dims(uint64_t width, uint64_t height, uint64_t max_pixels, fg_error *err);

/* What every codec checks once it has read the header: fgi_check_dims, then that the file is
 * not a decompression bomb. A picture of a face cannot be compressed below a few hundredths of
 * a bit per pixel; a tiny file announcing a huge image (a 1.4 KB WebP of 6000x6000, a 242-byte
 * JPEG header claiming 6324x6324) is refused as FG_EIMAGE_TOO_LARGE before any pixel exists.
 * Only images over FGI_BOMB_MIN_PIXELS are judged: smaller ones are cheap whatever they hold. */
#define FGI_BOMB_MIN_PIXELS (2048u * 2048u)
int fgi_check_header(fgi_format format, uint64_t width, uint64_t height, size_t file_size,
                     uint64_t max_pixels, fg_error *err);

/* The size a codec that can decode scaled produces for a stored width x height: the smallest
 * n/8 of it (n = 1..8, libjpeg-turbo's DCT scaling factors, sides rounded up as TurboJPEG
 * does) whose longer side is still at least need_side. need_side 0 or a smaller image: the
 * stored size. Returns n. */
int fgi_scaled_size(int width, int height, int need_side, int *out_w, int *out_h);

/* Rotates/flips img in place so that a JPEG with EXIF orientation 1..8 ends up upright
 * (5..8 swap width and height). Other values leave the image unchanged. */
int fgi_orient(fg_image *img, int orientation, fg_error *err);

/* ---------------------------------------------------------------------------------------------
 * Geometry
 */

/* Copies the pixels of rect, which must lie inside img and be non-empty, into *out (freed with
 * fg_image_free). FG_EINVAL with a message otherwise. */
int fgi_crop(const fg_image *img, fg_rect rect, fg_image *out, fg_error *err);

/* A network's input normalisation, written with the pixels: v / div - sub, two float32 ops as
 * tfjs's tf.sub(tf.div(x, div), sub) (x / 127.5 - 1: {127.5f, 1.0f}; x / 255: {255.0f, 0.0f}).
 * NULL where a function takes one: the values as they are. */
typedef struct fgi_norm {
    float div, sub;
} fgi_norm;

/* Whether the image kernels take their AVX2 paths (the CPU has AVX2 and they were not turned
 * off); the portable paths give the same bits. */
int fgi_have_avx2(void);

/* Turns the AVX2 paths off (0) or back on where the CPU has them: for the tests that compare
 * both paths. Not thread-safe: call it before any kernel runs. */
void fgi_use_avx2(int on);

/* A way to run fn(ctx, band, from, to) over `bands` bands of [0, n), the bands possibly at once
 * on other threads (run returns when all are done): the image functions' hook into a thread
 * pool, which this module does not link. A NULL runner, or fewer than 2 bands: this thread. */
typedef void (*fgi_band_fn)(void *ctx, int band, int from, int to);
typedef struct fgi_runner {
    void (*run)(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx);
    const void *pool;
    int bands;
} fgi_runner;

/* fgi_image_decode_scaled with a runner: a baseline JPEG is decoded in two parts at once when on
 * has 2 or more bands (the same pixels; src/image/jpeg.c). */
int fgi_image_decode_on(const void *bytes, size_t size, uint64_t max_pixels, int need_side,
                        const fgi_runner *on, fg_image *out, fgi_decode_info *info, fg_error *err);

/* fg_image_load, decoding as fgi_image_decode_on does. */
int fgi_image_load_on(const char *path, uint64_t max_pixels, const fgi_runner *on, fg_image *out,
                      fg_error *err);

/* The bands `on` would split n rows into, each of at least min_rows: 1 when on is NULL. */
int fgi_bands(const fgi_runner *on, int n, int min_rows);
/* fn over [0, n) in `bands` bands (fgi_bands) on `on`, or as one band on this thread. */
void fgi_run_bands(const fgi_runner *on, int n, int bands, fgi_band_fn fn, void *ctx);

/* tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false) exactly as the tfjs CPU
 * kernel computes it (double arithmetic, float on store): RGB8 in_w x in_h -> out_w x out_h
 * float HWC (out holds out_w*out_h*3 floats), normalised by norm (NULL: none). */
int fgi_resize_bilinear_u8(const uint8_t *rgb, int in_w, int in_h, int out_w, int out_h,
                           const fgi_norm *norm, float *out);
/* The same, in bands of output rows on `on` where the resize runs in float32 (the same values). */
int fgi_resize_bilinear_u8_on(const uint8_t *rgb, int in_w, int in_h, int out_w, int out_h,
                              const fgi_norm *norm, float *out, const fgi_runner *on);

/* The same on a float HWC image with any number of channels. */
int fgi_resize_bilinear_f32(const float *hwc, int in_w, int in_h, int channels, int out_w,
                            int out_h, float *out);

/* face-api NetInput.toBatchTensor(input_size, is_center) of one RGB8 image: padToSquare with
 * zeros (is_center 0: all padding after the image; 1: round(diff/2) after, the rest before),
 * then resizeBilinear to input_size x input_size unless the square side already equals it
 * (the ratio-1 resize is the identity, so both cases go through one path). Bit-exact with
 * the reference; out holds input_size*input_size*3 floats in 0..255. The padded square is
 * never built: padding is indexed virtually. */
int fgi_to_batch_tensor(const uint8_t *rgb, int w, int h, int input_size, int is_center,
                        float *out);

/* fgi_to_batch_tensor of a rectangle of img (inside img, non-empty), without copying it. */
int fgi_rect_to_batch_tensor(const fg_image *img, fg_rect rect, int input_size, int is_center,
                             float *out);

/* A pixel source for fgi_crop_and_resize: RGB8 (u8) or float (f32) HWC, exactly one set. */
typedef struct fgi_pixels {
    const uint8_t *u8;
    const float *f32;
    int width, height, channels;
} fgi_pixels;

/* tf.image.cropAndResize(image, [box], [0], [out_h, out_w], 'bilinear', extrapolation) as
 * tfjs-backend-wasm computes it, bit-exact: box = {y1, x1, y2, x2} relative to the image (it may
 * reach outside [0, 1]); out gets out_h x out_w x channels floats, normalised by norm (NULL:
 * none; the extrapolation value is normalised too, as tfjs's ops after the crop do). */
int fgi_crop_and_resize(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                        float extrapolation, const fgi_norm *norm, float *out);
/* The same in bands of output rows on `on` (the same values). */
int fgi_crop_and_resize_on(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                           float extrapolation, const fgi_norm *norm, float *out,
                           const fgi_runner *on);

/* An axis of fgi_resample_on: output index i samples the source at start + i * step (two float32
 * operations, the product rounded first). */
typedef struct fgi_axis {
    float start, step;
} fgi_axis;

/* Bilinear resampling in float32 as tfjs-backend-wasm computes it, of which cropAndResize is the
 * case of a box's axes: at a position p per axis, the neighbours floor(p) and min(size - 1,
 * ceil(p)) blended by p - floor(p), horizontally then vertically; a position outside
 * [0, size - 1] takes the extrapolation value. out and norm as fgi_crop_and_resize; on as
 * fgi_crop_and_resize_on (NULL: this thread). */
int fgi_resample_on(const fgi_pixels *src, fgi_axis x, fgi_axis y, int out_w, int out_h,
                    float extrapolation, const fgi_norm *norm, float *out, const fgi_runner *on);

/* tf.image.flipLeftRight of one HWC image, in place. */
void fgi_flip_left_right(float *hwc, int w, int h, int channels);

/* Affine chip: for every output pixel (u, v), samples img bilinearly at
 * x = m[0]*u + m[1]*v + m[2], y = m[3]*u + m[4]*v + m[5] (pixel centres at integers), treating
 * pixels outside the image as 0. out_hwc holds out_w*out_h*3 floats in 0..255. */
int fgi_warp_affine(const fg_image *img, const double m[6], int out_w, int out_h, float *out_hwc);
/* The same in bands of rows on `on` (the same values). */
int fgi_warp_affine_on(const fg_image *img, const double m[6], int out_w, int out_h, float *out_hwc,
                       const fgi_runner *on);

#endif
