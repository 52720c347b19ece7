/*
 * test-image-png-too-large.c - a PNG whose header claims 30000x30000 (or a side over
 * FG_MAX_SIDE) is FG_EIMAGE_TOO_LARGE from the header alone, with the dimensions in the message;
 * max_pixels is honoured exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

static void check_header(uint32_t w, uint32_t h, const char *expected_in_message)
{
    uint8_t png[64];
    size_t n = fx_png_header(png, w, h);
    fg_image img = {0};
    fg_error err = {0};
    CHECK_EQ_INT(fg_image_decode(png, n, 0, &img, &err), FG_EIMAGE_TOO_LARGE);
    CHECKF(strstr(err.message, expected_in_message) != NULL, "message \"%s\" lacks \"%s\"",
           err.message, expected_in_message);
    CHECK(img.rgb == NULL);
}

int main(void)
{
    check_header(30000, 30000,
                 "image is 30000x30000 (900000000 pixels), larger than the 40000000-pixel limit");
    check_header(30001, 10, "image is 30001x10, larger than the 30000-pixel side limit");
    check_header(10, 2000000000, "image is 10x2000000000");

    /* max_pixels: exactly enough passes, one pixel less fails. */
    uint8_t *rgb = fx_pattern(20, 10);
    size_t size = 0;
    uint8_t *png = rgb ? fx_png_rgb(rgb, 20, 10, &size) : NULL;
    fg_image img = {0};
    fg_error err = {0};
    CHECK(png != NULL);
    if (png) {
        CHECK_EQ_INT(fg_image_decode(png, size, 200, &img, &err), FG_OK);
        fg_image_free(&img);
        CHECK_EQ_INT(fg_image_decode(png, size, 199, &img, &err), FG_EIMAGE_TOO_LARGE);
        CHECKF(strstr(err.message, "20x10 (200 pixels), larger than the 199-pixel limit") != NULL,
               "%s", err.message);
    }
    free(png);
    free(rgb);

    /* The limit check itself. */
    CHECK_EQ_INT(fgi_check_dims(30000, 30000, UINT64_MAX, NULL), FG_OK);
    CHECK_EQ_INT(fgi_check_dims(0, 5, 0, &err), FG_EIMAGE_CORRUPT);
    CHECK_EQ_INT(fgi_check_dims(UINT64_MAX, UINT64_MAX, UINT64_MAX, &err), FG_EIMAGE_TOO_LARGE);
    CHECK_EQ_INT(fgi_check_dims(6325, 6325, 0, &err), FG_EIMAGE_TOO_LARGE); /* 40.005 MP */
    CHECK_EQ_INT(fgi_check_dims(6324, 6324, 0, &err), FG_OK);
    return fg_test_done();
}
