/*
 * test-image-resize.c - resizeBilinear (alignCorners=false, halfPixelCenters=false) on small
 * cases worked out by hand, against a naive per-pixel transcription of the tfjs kernel, and
 * padToSquare + resize against building the padded square explicitly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

/* The tfjs CPU kernel, transcribed literally (one pixel at a time, all in double). */
static void naive_resize(const uint8_t *in, int in_w, int in_h, int out_w, int out_h, float *out)
{
    const double ry = (double)in_h / out_h, rx = (double)in_w / out_w;
    for (int r = 0; r < out_h; r++) {
        const double sy = ry * r;
        const int y0 = (int)floor(sy), y1 = (int)fmin(in_h - 1, ceil(sy));
        const double fy = sy - y0;
        for (int c = 0; c < out_w; c++) {
            const double sx = rx * c;
            const int x0 = (int)floor(sx), x1 = (int)fmin(in_w - 1, ceil(sx));
            const double fx = sx - x0;
            for (int ch = 0; ch < 3; ch++) {
                const double tl = in[(y0 * in_w + x0) * 3 + ch], tr = in[(y0 * in_w + x1) * 3 + ch];
                const double bl = in[(y1 * in_w + x0) * 3 + ch], br = in[(y1 * in_w + x1) * 3 + ch];
                const double top = tl + (tr - tl) * fx, bot = bl + (br - bl) * fx;
                out[(r * out_w + c) * 3 + ch] = (float)(top + (bot - top) * fy);
            }
        }
    }
}

/* padToSquare written out: a real zero-filled square with the image pasted in. */
static uint8_t *pad_to_square(const uint8_t *rgb, int w, int h, int is_center, int *side)
{
    const int s = w > h ? w : h;
    const int after_x = (s - w + 1) / 2, after_y = (s - h + 1) / 2; /* Math.round(d * 0.5) */
    const int before_x = is_center ? s - w - after_x : 0,
              before_y = is_center ? s - h - after_y : 0;
    uint8_t *sq = calloc((size_t)s * s, 3);
    if (!sq) return NULL;
    for (int y = 0; y < h; y++)
        memcpy(sq + ((size_t)(y + before_y) * s + before_x) * 3, rgb + (size_t)y * w * 3,
               (size_t)w * 3);
    *side = s;
    return sq;
}

static int same_floats(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void check_by_hand(void)
{
    /* One row [0, 100] -> 4 columns: ratio 0.5, s = 0, .5, 1, 1.5 -> 0, 50, 100, 100 (x1 is
     * clamped to the last column). */
    const uint8_t in[2 * 3] = {0, 0, 0, 100, 100, 100};
    float out[4 * 3];
    CHECK_EQ_INT(fgi_resize_bilinear_u8(in, 2, 1, 4, 1, NULL, out), FG_OK);
    CHECK(out[0] == 0.0f && out[3] == 50.0f && out[6] == 100.0f && out[9] == 100.0f);
    /* Downscale 4 -> 3: ratio 4/3, s = 0, 1.333, 2.667. */
    const uint8_t in4[4 * 3] = {0, 0, 0, 30, 30, 30, 60, 60, 60, 90, 90, 90};
    CHECK_EQ_INT(fgi_resize_bilinear_u8(in4, 4, 1, 3, 1, NULL, out), FG_OK);
    CHECK_NEAR(out[3], 40.0, 1e-5);
    CHECK_NEAR(out[6], 80.0, 1e-5);
    /* Bad arguments. */
    CHECK_EQ_INT(fgi_resize_bilinear_u8(in, 0, 1, 4, 1, NULL, out), FG_EINVAL);
    CHECK_EQ_INT(fgi_to_batch_tensor(NULL, 2, 1, 4, 0, out), FG_EINVAL);
}

static void check_against_naive(int in_w, int in_h, int out_w, int out_h, uint64_t seed)
{
    uint8_t *img = fx_noise(in_w, in_h, seed);
    float *mine = malloc(sizeof(float) * out_w * out_h * 3);
    float *ref = malloc(sizeof(float) * out_w * out_h * 3);
    float *as_float = malloc(sizeof(float) * in_w * in_h * 3);
    CHECK(img && mine && ref && as_float);
    if (img && mine && ref && as_float) {
        naive_resize(img, in_w, in_h, out_w, out_h, ref);
        CHECK_EQ_INT(fgi_resize_bilinear_u8(img, in_w, in_h, out_w, out_h, NULL, mine), FG_OK);
        CHECKF(same_floats(mine, ref, (size_t)out_w * out_h * 3), "u8 %dx%d -> %dx%d", in_w, in_h,
               out_w, out_h);
        for (int i = 0; i < in_w * in_h * 3; i++)
            as_float[i] = img[i];
        CHECK_EQ_INT(fgi_resize_bilinear_f32(as_float, in_w, in_h, 3, out_w, out_h, mine), FG_OK);
        CHECKF(same_floats(mine, ref, (size_t)out_w * out_h * 3), "f32 %dx%d -> %dx%d", in_w, in_h,
               out_w, out_h);
    }
    free(img);
    free(mine);
    free(ref);
    free(as_float);
}

/* A random in_w x in_h image resized to out_w x out_h against the naive resize, with the
 * BlazeFace normalisation written by the resize or after it (and, when `plain`, without it):
 * the same bits. */
static void check_normalised(int in_w, int in_h, int out_w, int out_h, uint64_t seed, int plain)
{
    const fgi_norm norm = {127.5f, 1.0f};
    const size_t n = (size_t)out_w * out_h * 3;
    uint8_t *img = fx_noise(in_w, in_h, seed);
    float *mine = malloc(sizeof(float) * n), *ref = malloc(sizeof(float) * n);
    CHECK(img && mine && ref);
    if (img && mine && ref) {
        naive_resize(img, in_w, in_h, out_w, out_h, ref);
        if (plain) {
            CHECK_EQ_INT(fgi_resize_bilinear_u8(img, in_w, in_h, out_w, out_h, NULL, mine), FG_OK);
            CHECKF(same_floats(mine, ref, n), "%dx%d -> %dx%d", in_w, in_h, out_w, out_h);
        }
        for (size_t k = 0; k < n; k++)
            ref[k] = ref[k] / 127.5f - 1.0f;
        CHECK_EQ_INT(fgi_resize_bilinear_u8(img, in_w, in_h, out_w, out_h, &norm, mine), FG_OK);
        CHECKF(same_floats(mine, ref, n), "normalised %dx%d -> %dx%d", in_w, in_h, out_w, out_h);
    }
    free(img);
    free(mine);
    free(ref);
}

/* Random sizes (down, up, odd ratios) through the vectorised and the edge columns. */
static void check_random(int rounds)
{
    uint64_t state = 2024;
    for (int i = 0; i < rounds; i++) {
        const int in_w = 1 + (int)(fx_rand(&state) % 120), in_h = 1 + (int)(fx_rand(&state) % 60);
        const int out_w = 1 + (int)(fx_rand(&state) % 200), out_h = 1 + (int)(fx_rand(&state) % 40);
        check_normalised(in_w, in_h, out_w, out_h, fx_rand(&state), 0);
    }
}

/* Downscales to powers of two: up to 256 (BlazeFace's 256 x 256 among them) they run in float32,
 * 512 in double: the double kernel's bits, from odd and even sizes, normalised or not. */
static void check_float_sizes(int rounds)
{
    uint64_t state = 256;
    for (int i = 0; i < rounds; i++) {
        const int out_w = 1 << (fx_rand(&state) % 10), out_h = 1 << (fx_rand(&state) % 10);
        const int in_w = out_w + (int)(fx_rand(&state) % 900);
        const int in_h = out_h + (int)(fx_rand(&state) % 700);
        check_normalised(in_w, in_h, out_w, out_h, fx_rand(&state), 1);
    }
}

static void check_corner_rect(void)
{
    const int w = 37, h = 29, size = 50;
    uint8_t *img = fx_noise(w, h, 12);
    uint8_t *crop = malloc((size_t)20 * 15 * 3);
    float *mine = malloc(sizeof(float) * size * size * 3);
    float *ref = malloc(sizeof(float) * size * size * 3);
    CHECK(img && crop && mine && ref);
    if (img && crop && mine && ref) {
        const fg_rect rect = {w - 20, h - 15, 20, 15};
        const fg_image image = {.width = w, .height = h, .rgb = img};
        for (int y = 0; y < rect.height; y++)
            memcpy(crop + (size_t)y * rect.width * 3, img + ((size_t)(rect.y + y) * w + rect.x) * 3,
                   (size_t)rect.width * 3);
        CHECK_EQ_INT(fgi_to_batch_tensor(crop, rect.width, rect.height, size, 1, ref), FG_OK);
        CHECK_EQ_INT(fgi_rect_to_batch_tensor(&image, rect, size, 1, mine), FG_OK);
        CHECK(same_floats(mine, ref, (size_t)size * size * 3));
    }
    free(img);
    free(crop);
    free(mine);
    free(ref);
}

static void check_padding(int w, int h, int size, int is_center, uint64_t seed)
{
    uint8_t *img = fx_noise(w, h, seed);
    int side = 0;
    uint8_t *sq = img ? pad_to_square(img, w, h, is_center, &side) : NULL;
    float *mine = malloc(sizeof(float) * size * size * 3);
    float *ref = malloc(sizeof(float) * size * size * 3);
    CHECK(img && sq && mine && ref);
    if (img && sq && mine && ref) {
        naive_resize(sq, side, side, size, size, ref);
        CHECK_EQ_INT(fgi_to_batch_tensor(img, w, h, size, is_center, mine), FG_OK);
        CHECKF(same_floats(mine, ref, (size_t)size * size * 3), "pad %dx%d -> %d centre %d", w, h,
               size, is_center);
    }
    free(img);
    free(sq);
    free(mine);
    free(ref);
}

int main(void)
{
    check_by_hand();
    check_against_naive(7, 5, 7, 5, 1);   /* ratio 1: the identity */
    check_against_naive(7, 5, 3, 2, 2);   /* down */
    check_against_naive(5, 7, 11, 13, 3); /* up */
    check_against_naive(640, 480, 416, 416, 4);
    check_against_naive(368, 656, 256, 256, 14); /* a portrait video frame for BlazeFace */
    check_against_naive(200, 150, 256, 256, 15); /* upscaled: the double kernel */
    check_against_naive(1, 1, 9, 9, 5);
    /* The AVX2 paths (where the CPU has them), then the portable ones. */
    check_random(fx_quick() ? 100 : 1000);
    check_float_sizes(fx_quick() ? 20 : 100);
    check_corner_rect();
    fgi_use_avx2(0);
    check_random(fx_quick() ? 100 : 1000);
    check_float_sizes(fx_quick() ? 20 : 100);
    check_corner_rect();
    check_against_naive(640, 480, 256, 256, 12);
    check_padding(177, 238, 112, 1, 13);
    fgi_use_avx2(1);
    check_padding(30, 17, 16, 0, 6);     /* wide, pad bottom */
    check_padding(17, 30, 16, 1, 7);     /* tall, odd diff 13: 7 after, 6 before */
    check_padding(30, 17, 40, 1, 8);     /* upscale with centred padding */
    check_padding(12, 12, 12, 1, 9);     /* already square at size: unchanged */
    check_padding(177, 238, 112, 1, 10); /* the landmark crop's shape */

    /* Side == input_size: the tensor is the padded image itself. */
    uint8_t *img = fx_noise(4, 3, 11);
    float out[4 * 4 * 3];
    CHECK_EQ_INT(fgi_to_batch_tensor(img, 4, 3, 4, 1, out), FG_OK);
    /* diff 1: round(0.5) = 1 row after, 0 before: row 0 is the image, row 3 is zeros. */
    CHECK(out[0] == img[0] && out[3 * 4 * 2 + 5] == img[3 * 4 * 2 + 5]);
    CHECK(out[3 * 4 * 3] == 0.0f && out[4 * 4 * 3 - 1] == 0.0f);
    free(img);
    return fg_test_done();
}
