/*
 * test-image-webp-decode.c - lossless WebP decodes to the exact pixels, lossy WebP to the right
 * size and roughly the right colours.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

int main(void)
{
    const int w = 33, h = 17;
    uint8_t *noise = fx_noise(w, h, 3), *pattern = fx_pattern(w, h);
    size_t size = 0;
    fg_image img = {0};
    fg_error err = {0};
    fgi_decode_info info;

    uint8_t *lossless = fx_webp(noise, w, h, 0, &size);
    CHECK(lossless != NULL);
    if (lossless) {
        int rc = fgi_image_decode(lossless, size, 0, &img, &info, &err);
        CHECKF(rc == FG_OK, "lossless: %s", err.message);
        CHECK_EQ_INT(info.format, FGI_FORMAT_WEBP);
        CHECK_EQ_INT(img.width, w);
        CHECK_EQ_INT(img.height, h);
        CHECK(img.rgb && memcmp(img.rgb, noise, (size_t)w * h * 3) == 0);
        fg_image_free(&img);
        CHECK_EQ_INT(fg_image_decode(lossless, size, (uint64_t)w * h - 1, &img, &err),
                     FG_EIMAGE_TOO_LARGE);
    }

    uint8_t *lossy = fx_webp(pattern, w, h, 90, &size);
    CHECK(lossy != NULL);
    if (lossy) {
        int rc = fg_image_decode(lossy, size, 0, &img, &err);
        CHECKF(rc == FG_OK, "lossy: %s", err.message);
        CHECK_EQ_INT(img.width, w);
        CHECK_EQ_INT(img.height, h);
        if (img.rgb) { /* the top-left quadrant is red */
            const uint8_t *p = img.rgb + ((size_t)2 * w + 2) * 3;
            CHECKF(p[0] > 160 && p[1] < 90 && p[2] < 90, "%d,%d,%d", p[0], p[1], p[2]);
        }
        fg_image_free(&img);
    }
    free(lossless);
    free(lossy);
    free(noise);
    free(pattern);
    return fg_test_done();
}
