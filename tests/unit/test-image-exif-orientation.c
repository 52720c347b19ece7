/*
 * test-image-exif-orientation.c - a JPEG's EXIF orientation (1..8, either byte order) is applied
 * so the decoded pixels are upright; fgi_orient maps pixels as the EXIF spec says.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

/* The 3x2 image  a b c / d e f  (one grey level per letter) after each orientation, written out
 * by hand from the EXIF definitions rather than from a formula. */
static void check_orient_by_hand(void)
{
    static const struct {
        int orientation, width, height;
        const char *letters;
    } cases[] = {
        {1, 3, 2, "abcdef"}, {2, 3, 2, "cbafed"}, {3, 3, 2, "fedcba"}, {4, 3, 2, "defabc"},
        {5, 2, 3, "adbecf"}, {6, 2, 3, "daebfc"}, {7, 2, 3, "fcebda"}, {8, 2, 3, "cfbead"},
        {0, 3, 2, "abcdef"}, {9, 3, 2, "abcdef"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fg_image img = {3, 2, malloc(18)};
        CHECK(img.rgb != NULL);
        if (!img.rgb) return;
        for (int p = 0; p < 6; p++)
            memset(img.rgb + 3 * p, 'a' + p, 3);
        CHECK_EQ_INT(fgi_orient(&img, cases[i].orientation, NULL), FG_OK);
        CHECK_EQ_INT(img.width, cases[i].width);
        CHECK_EQ_INT(img.height, cases[i].height);
        char got[7] = {0};
        for (int p = 0; p < 6; p++)
            got[p] = (char)img.rgb[3 * p];
        CHECKF(strcmp(got, cases[i].letters) == 0, "orientation %d: %s, expected %s",
               cases[i].orientation, got, cases[i].letters);
        fg_image_free(&img);
    }
}

/* Source pixel (in the stored image) of output pixel (x, y) for each orientation. */
static void stored_xy(int orientation, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (orientation) {
    case 2:
        *sx = w - 1 - x;
        *sy = y;
        break;
    case 3:
        *sx = w - 1 - x;
        *sy = h - 1 - y;
        break;
    case 4:
        *sx = x;
        *sy = h - 1 - y;
        break;
    case 5:
        *sx = y;
        *sy = x;
        break;
    case 6:
        *sx = y;
        *sy = h - 1 - x;
        break;
    case 7:
        *sx = w - 1 - y;
        *sy = h - 1 - x;
        break;
    case 8:
        *sx = w - 1 - y;
        *sy = x;
        break;
    default:
        *sx = x;
        *sy = y;
        break;
    }
}

/* Decodes the JPEG with each orientation and compares every pixel with the plain decode. */
static void check_jpeg_orientation(const uint8_t *jpeg, size_t size, const fg_image *plain,
                                   int orientation, int big_endian)
{
    size_t tagged_size = 0;
    uint8_t *tagged = fx_jpeg_with_orientation(jpeg, size, orientation, big_endian, &tagged_size);
    fg_image img = {0};
    fg_error err = {0};
    fgi_decode_info info;
    CHECK(tagged != NULL);
    if (!tagged) return;
    int rc = fgi_image_decode(tagged, tagged_size, 0, &img, &info, &err);
    CHECKF(rc == FG_OK, "orientation %d: %s", orientation, err.message);
    CHECK_EQ_INT(info.orientation, orientation);
    CHECK_EQ_INT(info.stored_width, plain->width);
    CHECK_EQ_INT(info.stored_height, plain->height);
    const int swap = orientation >= 5;
    CHECK_EQ_INT(img.width, swap ? plain->height : plain->width);
    CHECK_EQ_INT(img.height, swap ? plain->width : plain->height);
    if (rc == FG_OK && img.width == (swap ? plain->height : plain->width)) {
        int mismatches = 0;
        for (int y = 0; y < img.height; y++)
            for (int x = 0; x < img.width; x++) {
                int sx, sy;
                stored_xy(orientation, plain->width, plain->height, x, y, &sx, &sy);
                const uint8_t *a = img.rgb + ((size_t)y * img.width + x) * 3;
                const uint8_t *b = plain->rgb + ((size_t)sy * plain->width + sx) * 3;
                mismatches += memcmp(a, b, 3) != 0;
            }
        CHECKF(mismatches == 0, "orientation %d (%s): %d pixels differ", orientation,
               big_endian ? "MM" : "II", mismatches);
        /* Orientation 6 (a phone held upright): the stored top-left quadrant (red) is at the
         * top right after rotating 90 degrees clockwise. */
        if (orientation == 6) {
            const uint8_t *p = img.rgb + (size_t)(img.width - 2) * 3;
            CHECKF(p[0] > 180 && p[1] < 80 && p[2] < 80, "top right is %d,%d,%d, not red", p[0],
                   p[1], p[2]);
        }
    }
    fg_image_free(&img);
    free(tagged);
}

int main(void)
{
    check_orient_by_hand();

    const int w = 40, h = 24;
    uint8_t *rgb = fx_pattern(w, h);
    size_t size = 0;
    uint8_t *jpeg = rgb ? fx_jpeg_rgb(rgb, w, h, &size) : NULL;
    fg_image plain = {0};
    CHECK(jpeg != NULL);
    if (jpeg) {
        CHECK_EQ_INT(fg_image_decode(jpeg, size, 0, &plain, NULL), FG_OK);
        for (int o = 1; o <= 8; o++) {
            check_jpeg_orientation(jpeg, size, &plain, o, 0);
            check_jpeg_orientation(jpeg, size, &plain, o, 1);
        }
        /* Out-of-range values are ignored, not guessed at. */
        size_t bad_size = 0;
        uint8_t *bad = fx_jpeg_with_orientation(jpeg, size, 9, 0, &bad_size);
        fg_image img = {0};
        fgi_decode_info info;
        CHECK_EQ_INT(fgi_image_decode(bad, bad_size, 0, &img, &info, NULL), FG_OK);
        CHECK_EQ_INT(info.orientation, 1);
        CHECK_EQ_INT(img.width, w);
        fg_image_free(&img);
        free(bad);
    }
    fg_image_free(&plain);
    free(jpeg);
    free(rgb);
    return fg_test_done();
}
