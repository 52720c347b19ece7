/*
 * test-image-decode-scaled.c - fg_image_decode_scaled: a JPEG or WebP larger than need_side is
 * decoded at the smallest n/8 of its size whose longer side is still >= need_side (JPEG through
 * libjpeg-turbo's DCT scaling, WebP through libwebp's scaler), with *scale reporting it, the EXIF
 * orientation still applied, and the picture the same as the full decode shrunk; smaller
 * images, PNGs and need_side 0 are decoded whole.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

/* Mean absolute difference between the scaled decode and the full one sampled at the same
 * places (box average of the full image's pixels under each scaled pixel). */
static double difference(const fg_image *small, const fg_image *full)
{
    double sum = 0;
    int kx = full->width / small->width, ky = full->height / small->height;
    for (int y = 0; y < small->height; y++)
        for (int x = 0; x < small->width; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0;
                for (int j = 0; j < ky; j++)
                    for (int i = 0; i < kx; i++)
                        acc +=
                            full->rgb[(((size_t)(y * ky + j)) * full->width + x * kx + i) * 3 + c];
                sum += fabs(acc / (kx * ky) - small->rgb[((size_t)y * small->width + x) * 3 + c]);
            }
    return sum / ((double)small->width * small->height * 3);
}

static void check(const char *what, const uint8_t *bytes, size_t size, int need, int want_w,
                  int want_h, double want_scale)
{
    fg_image img = {0}, full = {0};
    fg_error err = {0};
    double scale = 0;
    int rc = fg_image_decode_scaled(bytes, size, 0, need, &img, &scale, &err);
    CHECKF(rc == FG_OK, "%s: %s", what, err.message);
    CHECKF(img.width == want_w && img.height == want_h, "%s: %dx%d, want %dx%d", what, img.width,
           img.height, want_w, want_h);
    CHECK_NEAR(scale, want_scale, 1e-9);
    if (rc == FG_OK && fg_image_decode(bytes, size, 0, &full, &err) == FG_OK &&
        full.width % img.width == 0 && full.height % img.height == 0) {
        double d = difference(&img, &full);
        CHECKF(d < 4.0, "%s: differs from the full decode by %.2f grey levels", what, d);
    }
    fg_image_free(&img);
    fg_image_free(&full);
}

int main(void)
{
    size_t size = 0, exif_size = 0;
    uint8_t *rgb = fx_pattern(4096, 3072);
    uint8_t *jpeg = rgb ? fx_jpeg_rgb(rgb, 4096, 3072, &size) : NULL;
    CHECK(jpeg != NULL);
    if (jpeg) {
        check("4096x3072 JPEG, need 2048", jpeg, size, 2048, 2048, 1536, 0.5);
        check("4096x3072 JPEG, need 1500", jpeg, size, 1500, 1536, 1152, 0.375);
        check("4096x3072 JPEG, need 400", jpeg, size, 400, 512, 384, 0.125);
        check("4096x3072 JPEG, need 0", jpeg, size, 0, 4096, 3072, 1.0);
        check("4096x3072 JPEG, need 5000", jpeg, size, 5000, 4096, 3072, 1.0);
        /* EXIF orientation 6 (rotate 90): decoded scaled, then turned upright. */
        uint8_t *turned = fx_jpeg_with_orientation(jpeg, size, 6, 0, &exif_size);
        CHECK(turned != NULL);
        if (turned) check("rotated JPEG, need 2048", turned, exif_size, 2048, 1536, 2048, 0.5);
        free(turned);
    }
    free(jpeg);
    free(rgb);

    /* Odd sizes round up like TurboJPEG: 3001x1001 at 6/8 is 2251x751. */
    rgb = fx_pattern(3001, 1001);
    jpeg = rgb ? fx_jpeg_rgb(rgb, 3001, 1001, &size) : NULL;
    if (jpeg) check("3001x1001 JPEG, need 2200", jpeg, size, 2200, 2251, 751, 2251.0 / 3001.0);
    free(jpeg);
    free(rgb);

    rgb = fx_pattern(2400, 1600);
    uint8_t *webp = rgb ? fx_webp(rgb, 2400, 1600, 90, &size) : NULL;
    CHECK(webp != NULL);
    if (webp) check("2400x1600 WebP, need 1000", webp, size, 1000, 1200, 800, 0.5);
    free(webp);
    uint8_t *png = rgb ? fx_png_rgb(rgb, 2400, 1600, &size) : NULL;
    CHECK(png != NULL);
    if (png) check("2400x1600 PNG, need 1000", png, size, 1000, 2400, 1600, 1.0);
    free(png);
    free(rgb);

    /* Small images are never scaled; the size arithmetic on its own. */
    int w = 0, h = 0;
    fgi_scaled_size(640, 480, 2048, &w, &h);
    CHECK(w == 640 && h == 480);
    fgi_scaled_size(30000, 20, 2048, &w, &h);
    CHECK(w == 3750 && h == 3); /* at 1/8 the longer side is still over 2048 */
    fgi_scaled_size(6324, 6324, 2048, &w, &h);
    CHECK(w == 2372 && h == 2372);
    return fg_test_done();
}
