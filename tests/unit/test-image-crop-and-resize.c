/*
 * test-image-crop-and-resize.c - fgi_crop_and_resize against a per-pixel transcription of
 * tfjs-backend-wasm's cropAndResize (bilinear) followed by the normalisation as a separate op, bit
 * for bit: random RGB8 and float images of 1, 3 and 4 channels, random boxes reaching outside the
 * image or flipped, crops smaller and larger than the box, and the kernel's whole-row copy case;
 * through the AVX2 paths and the portable ones; and in bands of rows (fgi_crop_and_resize_on):
 * on a 2-thread pool, and 3 bands run last to first on this thread, each band starting with
 * nothing cached.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"
#include "models/models.h"

static fgi_runner pool_runner; /* a 2-thread pool's */

/* The bands one after another on this thread, the last first. */
static void backwards(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx)
{
    (void)pool;
    for (int b = bands - 1; b >= 0; b--)
        fn(ctx, b, (int)((long)n * b / bands), (int)((long)n * (b + 1) / bands));
}

static float pixel(const fgi_pixels *src, size_t x, size_t y, size_t c)
{
    size_t i = (y * (size_t)src->width + x) * (size_t)src->channels + c;
    return src->u8 ? (float)src->u8[i] : src->f32[i];
}

/* The wasm kernel, one output value at a time, all in float; then tf.sub(tf.div(v, d), s). */
static void naive_crop(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                       float extrapolation, const fgi_norm *norm, float *out)
{
    const size_t in_h = (size_t)src->height, in_w = (size_t)src->width, ch = (size_t)src->channels;
    const float y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
    const float m1h = (float)(in_h - 1), m1w = (float)(in_w - 1);
    const float hscale = out_h > 1 ? (y2 - y1) * m1h / (float)(out_h - 1) : 0.0f;
    const float wscale = out_w > 1 ? (x2 - x1) * m1w / (float)(out_w - 1) : 0.0f;
    const int same_size = (float)out_w == 1.0f + (x2 - x1) * m1w;
    const float ylf = out_h > 1 ? y1 * (float)in_h + hscale : (float)(0.5 * (y1 + y2) * m1h);
    const float xlf = out_w > 1 ? x1 * m1w + wscale : (float)(0.5 * (x1 + x2) * m1w);
    const int interpolates = ylf - floorf(ylf) != 0.0f || xlf - floorf(xlf) != 0.0f;
    const int copy_rows = x2 > x1 && x1 >= 0 && same_size && !interpolates;
    for (int y = 0; y < out_h; y++) {
        const float yi = out_h > 1 ? y1 * m1h + (float)y * hscale : (float)(0.5 * (y1 + y2) * m1h);
        for (int x = 0; x < out_w; x++) {
            const float xi =
                out_w > 1 ? x1 * m1w + (float)x * wscale : (float)(0.5 * (x1 + x2) * m1w);
            for (size_t k = 0; k < ch; k++) {
                float v;
                if (yi < 0 || yi > (float)(in_h - 1)) {
                    v = extrapolation;
                } else if (copy_rows) {
                    v = pixel(src, (size_t)x, (size_t)yi, k);
                } else if (xi < 0 || xi > (float)(in_w - 1)) {
                    v = extrapolation;
                } else {
                    const float t = floorf(yi), b = fminf(m1h, ceilf(yi)), fy = yi - t;
                    const float l = floorf(xi), r = fminf(m1w, ceilf(xi)), fx = xi - l;
                    const float tl = pixel(src, (size_t)l, (size_t)t, k);
                    const float tr = pixel(src, (size_t)r, (size_t)t, k);
                    const float bl = pixel(src, (size_t)l, (size_t)b, k);
                    const float br = pixel(src, (size_t)r, (size_t)b, k);
                    const float top = tl + (tr - tl) * fx, bottom = bl + (br - bl) * fx;
                    v = top + (bottom - top) * fy;
                }
                if (norm) v = v / norm->div - norm->sub;
                out[((size_t)y * out_w + x) * ch + k] = v;
            }
        }
    }
}

/* Crops src both ways and compares every bit; returns 1 when they agree. */
static int same_crop(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                     float extrapolation, const fgi_norm *norm)
{
    const size_t n = (size_t)out_w * out_h * (size_t)src->channels;
    float *mine = malloc(n * sizeof *mine), *ref = malloc(n * sizeof *ref);
    int same = 0;
    if (mine && ref) {
        const fgi_runner three = {backwards, NULL, 3};
        const fgi_runner *runners[2] = {&pool_runner, &three};
        naive_crop(src, box, out_w, out_h, extrapolation, norm, ref);
        same = fgi_crop_and_resize(src, box, out_w, out_h, extrapolation, norm, mine) == FG_OK &&
               memcmp(mine, ref, n * sizeof *mine) == 0;
        for (int r = 0; r < 2; r++) {
            memset(mine, 0xff, n * sizeof *mine);
            same = same &&
                   fgi_crop_and_resize_on(src, box, out_w, out_h, extrapolation, norm, mine,
                                          runners[r]) == FG_OK &&
                   memcmp(mine, ref, n * sizeof *mine) == 0;
        }
    }
    free(mine);
    free(ref);
    return same;
}

static float uniform(uint64_t *state, float lo, float hi)
{
    return lo + (hi - lo) * (float)(fx_rand(state) / 4294967296.0);
}

/* A random w x h image of ch channels, u8 or float (the float one holds fractions too). */
static fgi_pixels random_image(uint64_t *state, int w, int h, int ch, int as_float)
{
    const size_t n = (size_t)w * h * (size_t)ch;
    fgi_pixels p = {NULL, NULL, w, h, ch};
    if (as_float) {
        float *f = malloc(n * sizeof *f);
        for (size_t i = 0; f && i < n; i++)
            f[i] = uniform(state, -1.0f, 2.0f);
        p.f32 = f;
    } else {
        uint8_t *u = malloc(n);
        for (size_t i = 0; u && i < n; i++)
            u[i] = (uint8_t)fx_rand(state);
        p.u8 = u;
    }
    return p;
}

static void free_image(fgi_pixels *p)
{
    free((void *)p->u8);
    free((void *)p->f32);
}

static void check_random(int rounds)
{
    static const int channels[3] = {3, 1, 4};
    static const fgi_norm norms[2] = {{255.0f, 0.0f}, {127.5f, 1.0f}};
    uint64_t state = 12345;
    for (int i = 0; i < rounds; i++) {
        const int w = 1 + (int)(fx_rand(&state) % 90), h = 1 + (int)(fx_rand(&state) % 90);
        const int ch = channels[i % 3], as_float = (i / 3) % 2;
        fgi_pixels src = random_image(&state, w, h, ch, as_float);
        CHECK(src.u8 || src.f32);
        if (!src.u8 && !src.f32) return;
        /* Mostly boxes around the image, some far outside, some flipped (y2 < y1, x2 < x1). */
        float box[4];
        for (int k = 0; k < 4; k++)
            box[k] = uniform(&state, -0.4f, 1.4f);
        if (i % 4 == 0) {
            box[0] = fminf(box[0], box[2]) * 0.5f, box[2] = fmaxf(box[0], box[2]);
            box[1] = uniform(&state, 0.0f, 0.3f), box[3] = uniform(&state, 0.7f, 1.0f);
        }
        const int out_w = 1 + (int)(fx_rand(&state) % (i % 7 == 0 ? 300 : 70));
        const int out_h = 1 + (int)(fx_rand(&state) % (i % 5 == 1 ? 200 : 70));
        const fgi_norm *norm = i % 3 == 2 ? NULL : &norms[i % 2];
        const float extrapolation = i % 5 == 0 ? 0.5f : 0.0f;
        CHECKF(same_crop(&src, box, out_w, out_h, extrapolation, norm),
               "round %d: %dx%dx%d %s, box %g %g %g %g -> %dx%d", i, w, h, ch,
               as_float ? "float" : "u8", box[0], box[1], box[2], box[3], out_w, out_h);
        free_image(&src);
    }
}

/* The face and eye crops' shapes: a square of a 640x480 frame partly outside it, and eye boxes
 * (enlarged, some flipped left-right as the iris input) of a 192x192 float crop. */
static void check_fast_path_shapes(void)
{
    uint64_t state = 99;
    fgi_pixels frame = random_image(&state, 640, 480, 3, 0);
    fgi_pixels face = random_image(&state, 192, 192, 3, 1);
    const fgi_norm div255 = {255.0f, 0.0f};
    const float inside[4] = {0.1875f, 0.296875f, 0.75f, 0.71875f};
    const float hanging[4] = {-0.25f, 0.75f, 0.6f, 1.3f}; /* off the top and the right */
    const float eye[4] = {0.3f, 0.55f, 0.45f, 0.38f};
    CHECK(frame.u8 && face.f32);
    if (frame.u8 && face.f32) {
        CHECK(same_crop(&frame, inside, 192, 192, 0.0f, &div255));
        CHECK(same_crop(&frame, hanging, 192, 192, 0.0f, &div255));
        CHECK(same_crop(&face, eye, 64, 64, 0.0f, NULL));
    }
    free_image(&frame);
    free_image(&face);
}

/* A box that maps pixel to pixel: the kernel copies whole rows (normalised all the same). */
static void check_copy_rows(void)
{
    uint64_t state = 7;
    fgi_pixels src = random_image(&state, 20, 12, 3, 0);
    const fgi_norm div255 = {255.0f, 0.0f};
    const float whole[4] = {0.0f, 0.0f, 1.0f, 1.0f};
    const float lower[4] = {-1.0f, 0.0f, 1.0f, 1.0f}; /* rows above the image: extrapolated */
    CHECK(src.u8);
    if (src.u8) {
        CHECK(same_crop(&src, whole, 20, 12, 0.0f, &div255));
        CHECK(same_crop(&src, lower, 20, 23, 0.25f, NULL));
    }
    free_image(&src);
}

/* Columns on whole pixels (fx 0, the right tap the left one, which the RGB8 vector pass reads as
 * the next pixel with weight 0) and half-way between (0.5), without the row copy. */
static void check_whole_pixels(void)
{
    uint64_t state = 8;
    fgi_pixels src = random_image(&state, 41, 33, 3, 0);
    const float whole[4] = {0.0f, 0.0f, 1.0f, 1.0f};
    CHECK(src.u8);
    if (src.u8) {
        CHECK(same_crop(&src, whole, 21, 17, 0.0f, NULL)); /* every second pixel */
        CHECK(same_crop(&src, whole, 81, 65, 0.0f, NULL)); /* pixels and their middles */
    }
    free_image(&src);
}

static void check_bad_arguments(void)
{
    uint8_t px[3] = {1, 2, 3};
    float out[3];
    const float box[4] = {0, 0, 1, 1};
    fgi_pixels none = {NULL, NULL, 1, 1, 3}, ok = {px, NULL, 1, 1, 3};
    CHECK_EQ_INT(fgi_crop_and_resize(&none, box, 1, 1, 0.0f, NULL, out), FG_EINVAL);
    CHECK_EQ_INT(fgi_crop_and_resize(&ok, box, 0, 1, 0.0f, NULL, out), FG_EINVAL);
    CHECK_EQ_INT(fgi_crop_and_resize(&ok, box, 1, 1, 0.0f, NULL, NULL), FG_EINVAL);
    CHECK_EQ_INT(fgi_crop_and_resize(&ok, box, 1, 1, 0.0f, NULL, out), FG_OK);
    CHECK(out[0] == 1.0f && out[2] == 3.0f);
}

int main(void)
{
    nn_runtime *pool = fg_test_pool(2);
    pool_runner = fgm_runner(pool);
    /* Both the AVX2 paths (where the CPU has them) and the portable ones. */
    for (int avx2 = 1; avx2 >= 0; avx2--) {
        fgi_use_avx2(avx2);
        check_bad_arguments();
        check_copy_rows();
        check_whole_pixels();
        check_fast_path_shapes();
        check_random(fx_quick() ? 300 : 3000);
    }
    nn_runtime_free(pool);
    return fg_test_done();
}
