/*
 * test-image-png-formats.c - every PNG colour type and bit depth decodes to RGB8: grey is
 * replicated, palettes are expanded, 16-bit keeps the high byte, alpha is dropped (not
 * composited), Adam7 interlacing is undone.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

#define W 5
#define H 3

/* Encodes raw PNG samples, decodes them, and compares with the expected RGB8 pixels. */
static void check_png(const char *what, const void *raw, size_t raw_len, int color_type,
                      int bit_depth, int interlace, const struct spng_plte *plte,
                      const uint8_t expected[W * H * 3])
{
    size_t size = 0;
    uint8_t *png = fx_png(raw, raw_len, W, H, color_type, bit_depth, interlace, plte, &size);
    fg_image img = {0};
    fg_error err = {0};
    CHECKF(png != NULL, "%s: could not encode", what);
    if (!png) return;
    int rc = fg_image_decode(png, size, 0, &img, &err);
    CHECKF(rc == FG_OK, "%s: %s", what, err.message);
    CHECK_EQ_INT(img.width, W);
    CHECK_EQ_INT(img.height, H);
    if (rc == FG_OK) {
        int first_bad = -1;
        for (int i = 0; i < W * H * 3 && first_bad < 0; i++)
            if (img.rgb[i] != expected[i]) first_bad = i;
        CHECKF(first_bad < 0, "%s: sample %d is %d, expected %d", what, first_bad,
               first_bad < 0 ? 0 : img.rgb[first_bad], first_bad < 0 ? 0 : expected[first_bad]);
    }
    fg_image_free(&img);
    free(png);
}

int main(void)
{
    uint8_t expected[W * H * 3];
    uint8_t raw8[W * H * 4];
    uint16_t raw16[W * H * 3];

    /* Grey 8-bit. */
    for (int i = 0; i < W * H; i++) {
        raw8[i] = (uint8_t)(i * 17);
        memset(expected + 3 * i, i * 17, 3);
    }
    check_png("grey8", raw8, W * H, SPNG_COLOR_TYPE_GRAYSCALE, 8, 0, NULL, expected);
    check_png("grey8 interlaced", raw8, W * H, SPNG_COLOR_TYPE_GRAYSCALE, 8, 1, NULL, expected);

    /* Grey 1-bit: rows are packed and padded to a byte (5 pixels -> 1 byte per row). */
    for (int y = 0; y < H; y++) {
        raw8[y] = (uint8_t)(y == 1 ? 0xa8 : 0x50); /* 10101 / 01010 */
        for (int x = 0; x < W; x++)
            memset(expected + 3 * (y * W + x), (raw8[y] >> (7 - x)) & 1 ? 255 : 0, 3);
    }
    check_png("grey1", raw8, H, SPNG_COLOR_TYPE_GRAYSCALE, 1, 0, NULL, expected);

    /* Grey 16-bit: 0xXYXY samples, whose 8-bit value is 0xXY by truncation and by rounding. */
    for (int i = 0; i < W * H; i++) {
        raw16[i] = (uint16_t)((i * 17) * 0x101);
        memset(expected + 3 * i, i * 17, 3);
    }
    check_png("grey16", raw16, W * H * 2, SPNG_COLOR_TYPE_GRAYSCALE, 16, 0, NULL, expected);

    /* RGB 16-bit. */
    for (int i = 0; i < W * H * 3; i++) {
        raw16[i] = (uint16_t)(((i * 5) & 0xff) * 0x101);
        expected[i] = (uint8_t)((i * 5) & 0xff);
    }
    check_png("rgb16", raw16, W * H * 6, SPNG_COLOR_TYPE_TRUECOLOR, 16, 0, NULL, expected);

    /* Grey + alpha: alpha dropped. */
    for (int i = 0; i < W * H; i++) {
        raw8[2 * i] = (uint8_t)(200 - i);
        raw8[2 * i + 1] = (uint8_t)(i * 10); /* alpha 0 for the first pixel */
        memset(expected + 3 * i, 200 - i, 3);
    }
    check_png("grey+alpha", raw8, W * H * 2, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, 0, NULL, expected);

    /* RGBA: alpha dropped, colour under alpha 0 kept. */
    for (int i = 0; i < W * H; i++) {
        for (int c = 0; c < 3; c++)
            raw8[4 * i + c] = expected[3 * i + c] = (uint8_t)(i * 7 + c * 50);
        raw8[4 * i + 3] = (uint8_t)(i % 2 ? 255 : 0);
    }
    check_png("rgba", raw8, W * H * 4, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, 0, NULL, expected);
    check_png("rgba interlaced", raw8, W * H * 4, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, 1, NULL,
              expected);

    /* Palette, 4-bit indices (two per byte, rows padded: 5 pixels -> 3 bytes). */
    struct spng_plte plte = {.n_entries = 3};
    const uint8_t colours[3][3] = {{255, 0, 0}, {0, 128, 0}, {10, 20, 30}};
    for (int e = 0; e < 3; e++) {
        plte.entries[e].red = colours[e][0];
        plte.entries[e].green = colours[e][1];
        plte.entries[e].blue = colours[e][2];
    }
    memset(raw8, 0, sizeof raw8);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int index = (x + y) % 3;
            raw8[y * 3 + x / 2] |= (uint8_t)(index << (x % 2 ? 0 : 4));
            memcpy(expected + 3 * (y * W + x), colours[index], 3);
        }
    check_png("palette4", raw8, H * 3, SPNG_COLOR_TYPE_INDEXED, 4, 0, &plte, expected);
    return fg_test_done();
}
