/*
 * test-image-warp-affine.c - fgi_warp_affine samples bilinearly at the mapped position, with
 * the image extended by zeros outside; its AVX2 path (runs of 4 pixels inside the image) gives
 * the scalar path's bits on random similarity maps whose chips cover the inside, the borders
 * and the outside of images of several sizes (on a CPU without AVX2 both runs are scalar); in
 * bands of rows (fgi_warp_affine_on: a 2-thread pool, and 3 bands run last to first) the same
 * bits, and so the dlib chip of a large face (box-filtered first, in bands too).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/align.h"
#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"
#include "models/models.h"

static fgi_runner runners[2]; /* a 2-thread pool's, and 3 bands last to first on this thread */

static void backwards(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx)
{
    (void)pool;
    for (int b = bands - 1; b >= 0; b--)
        fn(ctx, b, (int)((long)n * b / bands), (int)((long)n * (b + 1) / bands));
}

/* A random similarity (any rotation) that maps an out_w x out_h chip onto 0.4 to 1.6 times the
 * image's width, centred up to half the image away from its centre: as dlib's alignment maps a
 * chip onto a face, with the chip crossing the borders or past them. */
static void random_map(int w, int h, int out_w, int out_h, unsigned *seed, double m[6])
{
    const double angle = 6.3 * fg_test_frand(seed);
    const double scale = (1.0 + 1.2 * fg_test_frand(seed)) * w / out_w;
    const double cx = w * (0.5 + fg_test_frand(seed)), cy = h * (0.5 + fg_test_frand(seed));
    m[0] = scale * cos(angle), m[1] = -scale * sin(angle);
    m[3] = scale * sin(angle), m[4] = scale * cos(angle);
    m[2] = cx - (m[0] * out_w + m[1] * out_h) / 2;
    m[5] = cy - (m[3] * out_w + m[4] * out_h) / 2;
}

/* Both paths on one map: the same bits. Counts the chip's zero (outside) and other pixels. */
static void check_paths(const fg_image *img, const double m[6], int out_w, int out_h,
                        size_t *outside, size_t *inside)
{
    const size_t n = (size_t)out_w * out_h * 3;
    float *vec = malloc(n * sizeof *vec), *scalar = malloc(n * sizeof *scalar);
    CHECK(vec && scalar);
    if (vec && scalar) {
        fgi_use_avx2(1);
        CHECK_EQ_INT(fgi_warp_affine(img, m, out_w, out_h, vec), FG_OK);
        fgi_use_avx2(0);
        CHECK_EQ_INT(fgi_warp_affine(img, m, out_w, out_h, scalar), FG_OK);
        fgi_use_avx2(1);
        CHECKF(memcmp(vec, scalar, n * sizeof *vec) == 0,
               "%dx%d image, %dx%d chip, map %g %g %g %g %g %g: the paths differ", img->width,
               img->height, out_w, out_h, m[0], m[1], m[2], m[3], m[4], m[5]);
        for (int r = 0; r < 2; r++) {
            memset(vec, 0xff, n * sizeof *vec);
            CHECK_EQ_INT(fgi_warp_affine_on(img, m, out_w, out_h, vec, &runners[r]), FG_OK);
            CHECKF(memcmp(vec, scalar, n * sizeof *vec) == 0,
                   "%dx%d image, %dx%d chip, runner %d: the bands differ", img->width, img->height,
                   out_w, out_h, r);
        }
        for (size_t i = 0; i < n; i += 3) {
            const int zero = scalar[i] == 0 && scalar[i + 1] == 0 && scalar[i + 2] == 0;
            *outside += zero;
            *inside += !zero;
        }
    }
    free(vec);
    free(scalar);
}

static void vector_path_is_the_scalar_one(void)
{
    /* 1 and 2 pixels wide or high (no run inside), odd, a chip's source */
    static const int sizes[][2] = {{1, 1}, {2, 2}, {1, 9}, {9, 2}, {7, 5}, {33, 20}, {200, 160}};
    static const int chips[][2] = {{150, 150}, {37, 23}, {5, 3}};
    unsigned seed = 17;
    size_t outside = 0, inside = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        fg_image img = {sizes[s][0], sizes[s][1], fx_noise(sizes[s][0], sizes[s][1], 20 + s)};
        CHECK(img.rgb != NULL);
        if (!img.rgb) continue;
        for (int i = 0; i < 40; i++) {
            const int *chip = chips[i % 3];
            double m[6];
            random_map(img.width, img.height, chip[0], chip[1], &seed, m);
            check_paths(&img, m, chip[0], chip[1], &outside, &inside);
        }
        /* Integer positions (the taps' weights 0) and NaN (all outside). */
        const double identity[6] = {1, 0, 0, 0, 1, 0}, nan_map[6] = {NAN, 0, 0, 0, 1, 0};
        check_paths(&img, identity, 40, 9, &outside, &inside);
        check_paths(&img, nan_map, 8, 2, &outside, &inside);
        fg_image_free(&img);
    }
    /* both kinds of pixel, in quantity */
    CHECKF(outside > 100000 && inside > 100000, "%zu outside, %zu inside", outside, inside);
}

/* A face 5 times the chip's scale (68 points on an ellipse): the chip is box-filtered first. The
 * chip of another image comes first each time, so that a row the bands left out of the filtered
 * image (malloc'd again at the same size) would hold that image's values. */
static void large_chip_in_bands(void)
{
    fg_image img = {1200, 1000, fx_noise(1200, 1000, 3)};
    fg_image other = {1200, 1000, fx_noise(1200, 1000, 4)};
    fg_point lm[FG_LANDMARKS];
    const size_t n = (size_t)FG_CHIP_SIZE * FG_CHIP_SIZE * 3;
    float *one = malloc(n * sizeof *one), *bands = malloc(n * sizeof *bands);
    CHECK(img.rgb && one && bands);
    for (int i = 0; i < FG_LANDMARKS && img.rgb; i++) {
        const double a = 6.2832 * i / FG_LANDMARKS;
        lm[i] = (fg_point){(float)(600 + 250 * cos(a) + 7 * (i % 5)),
                           (float)(480 + 320 * sin(a) + 5 * (i % 3))};
    }
    if (img.rgb && one && bands) {
        double m[6];
        fg_align_dlib_transform(lm, m);
        CHECKF(hypot(m[0], m[3]) >= 2, "scale %g: no box filter", hypot(m[0], m[3]));
        CHECK_EQ_INT(fg_align_dlib_chip(&img, lm, one), FG_OK);
        for (int r = 0; r < 2 && other.rgb; r++) {
            CHECK_EQ_INT(fg_align_dlib_chip(&other, lm, bands), FG_OK);
            memset(bands, 0xff, n * sizeof *bands);
            CHECK_EQ_INT(fg_align_dlib_chip_on(&img, lm, bands, &runners[r]), FG_OK);
            CHECKF(memcmp(one, bands, n * sizeof *one) == 0, "runner %d: the chip differs", r);
        }
    }
    free(img.rgb);
    free(other.rgb);
    free(one);
    free(bands);
}

int main(void)
{
    nn_runtime *pool = fg_test_pool(2);
    runners[0] = fgm_runner(pool);
    runners[1] = (fgi_runner){backwards, NULL, 3};
    vector_path_is_the_scalar_one();
    large_chip_in_bands();

    fg_image img = {6, 4, fx_noise(6, 4, 1)};
    float out[8 * 8 * 3];
    CHECK(img.rgb != NULL);
    if (!img.rgb) return fg_test_done();

    /* Identity: the image itself. */
    const double identity[6] = {1, 0, 0, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, identity, 6, 4, out), FG_OK);
    int same = 1;
    for (int i = 0; i < 6 * 4 * 3; i++)
        same &= out[i] == img.rgb[i];
    CHECK(same);

    /* Half a pixel to the right: the mean of horizontal neighbours; past the last column the
     * missing neighbour is 0. */
    const double half[6] = {1, 0, 0.5, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, half, 6, 4, out), FG_OK);
    CHECK_NEAR(out[0], (img.rgb[0] + img.rgb[3]) / 2.0, 1e-4);
    CHECK_NEAR(out[5 * 3 + 1], img.rgb[5 * 3 + 1] / 2.0, 1e-4);

    /* Mirror: u -> 5 - u. */
    const double mirror[6] = {-1, 0, 5, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, mirror, 6, 4, out), FG_OK);
    CHECK(out[0] == img.rgb[5 * 3] && out[(2 * 6 + 1) * 3 + 2] == img.rgb[(2 * 6 + 4) * 3 + 2]);

    /* Scaled 2x into an 8x8 chip shifted off the image: the outside is black, the inside
     * interpolated (chip (1,1) -> image (0.5, 0.5) is the mean of four pixels). */
    const double zoom[6] = {0.5, 0, 0, 0, 0.5, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, zoom, 8, 8, out), FG_OK);
    double mean = (img.rgb[0] + img.rgb[3] + img.rgb[18] + img.rgb[21]) / 4.0;
    CHECK_NEAR(out[(1 * 8 + 1) * 3], mean, 1e-4);
    const double far_away[6] = {1, 0, -100, 0, 1, 1e300};
    CHECK_EQ_INT(fgi_warp_affine(&img, far_away, 8, 8, out), FG_OK);
    int zeros = 1;
    for (int i = 0; i < 8 * 8 * 3; i++)
        zeros &= out[i] == 0.0f;
    CHECK(zeros);

    CHECK_EQ_INT(fgi_warp_affine(&img, identity, 0, 4, out), FG_EINVAL);
    CHECK_EQ_INT(fgi_warp_affine(NULL, identity, 6, 4, out), FG_EINVAL);
    fg_image_free(&img);
    nn_runtime_free(pool);
    return fg_test_done();
}
