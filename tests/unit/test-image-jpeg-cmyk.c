/*
 * test-image-jpeg-cmyk.c - CMYK (YCCK) and greyscale JPEGs decode to RGB8; CMYK is read as
 * Adobe's inverted CMYK, the convention libjpeg-turbo itself uses.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

int main(void)
{
    const int w = 16, h = 16;
    uint8_t cmyk[16 * 16 * 4], grey[16 * 16];
    /* Inverted CMYK for an orange: C=255 (no cyan), M=128, Y=0 (full yellow), K=255 (no black):
     * RGB = C*K/255, M*K/255, Y*K/255 = 255, 128, 0. */
    for (int i = 0; i < w * h; i++) {
        cmyk[4 * i] = 255;
        cmyk[4 * i + 1] = 128;
        cmyk[4 * i + 2] = 0;
        cmyk[4 * i + 3] = 255;
        grey[i] = 77;
    }
    size_t size = 0;
    fg_image img = {0};
    fg_error err = {0};
    uint8_t *jpeg = fx_jpeg(cmyk, w, h, TJPF_CMYK, TJSAMP_444, 100, 0, &size);
    CHECK(jpeg != NULL);
    if (jpeg) {
        int rc = fg_image_decode(jpeg, size, 0, &img, &err);
        CHECKF(rc == FG_OK, "cmyk: %s", err.message);
        if (img.rgb) {
            const uint8_t *p = img.rgb + (8 * w + 8) * 3;
            CHECKF(abs(p[0] - 255) <= 3 && abs(p[1] - 128) <= 3 && p[2] <= 3, "%d,%d,%d", p[0],
                   p[1], p[2]);
        }
        fg_image_free(&img);
        free(jpeg);
    }
    jpeg = fx_jpeg(grey, w, h, TJPF_GRAY, TJSAMP_GRAY, 100, 0, &size);
    CHECK(jpeg != NULL);
    if (jpeg) {
        CHECK_EQ_INT(fg_image_decode(jpeg, size, 0, &img, &err), FG_OK);
        if (img.rgb) {
            const uint8_t *p = img.rgb + (8 * w + 8) * 3;
            CHECKF(p[0] == p[1] && p[1] == p[2] && abs(p[0] - 77) <= 1, "%d,%d,%d", p[0], p[1],
                   p[2]);
        }
        fg_image_free(&img);
        free(jpeg);
    }
    return fg_test_done();
}
