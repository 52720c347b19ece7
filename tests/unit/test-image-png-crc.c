/*
 * test-image-png-crc.c - a PNG with a CRC error (in IHDR, or in IDAT because a data byte
 * changed) is FG_EIMAGE_CORRUPT; so is one cut short.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

/* Offset of the first chunk of the given type, or 0. */
static size_t find_chunk(const uint8_t *png, size_t size, const char *type)
{
    size_t pos = 8;
    while (pos + 12 <= size) {
        size_t len = (size_t)png[pos] << 24 | png[pos + 1] << 16 | png[pos + 2] << 8 | png[pos + 3];
        if (memcmp(png + pos + 4, type, 4) == 0) return pos;
        pos += 12 + len;
    }
    return 0;
}

static void check_damaged(const uint8_t *png, size_t size, size_t offset, size_t cut,
                          const char *what)
{
    uint8_t *bad = malloc(size);
    fg_image img = {0};
    fg_error err = {0};
    CHECK(bad != NULL);
    if (!bad) return;
    memcpy(bad, png, size);
    if (offset) bad[offset] ^= 0x55;
    int rc = fg_image_decode(bad, cut ? cut : size, 0, &img, &err);
    CHECKF(rc == FG_EIMAGE_CORRUPT, "%s: %d (%s)", what, rc, err.message);
    CHECK(err.message[0] != '\0');
    CHECK(img.rgb == NULL);
    printf("%s: %s\n", what, err.message);
    fg_image_free(&img);
    free(bad);
}

int main(void)
{
    uint8_t *rgb = fx_noise(64, 48, 7);
    size_t size = 0;
    uint8_t *png = rgb ? fx_png_rgb(rgb, 64, 48, &size) : NULL;
    CHECK(png != NULL);
    if (!png) return fg_test_done();

    fg_image img = {0};
    CHECK_EQ_INT(fg_image_decode(png, size, 0, &img, NULL), FG_OK);
    CHECK(img.rgb && memcmp(img.rgb, rgb, 64 * 48 * 3) == 0);
    fg_image_free(&img);

    size_t ihdr = find_chunk(png, size, "IHDR"), idat = find_chunk(png, size, "IDAT");
    CHECK(ihdr == 8 && idat > 0);
    size_t idat_len =
        (size_t)png[idat] << 24 | png[idat + 1] << 16 | png[idat + 2] << 8 | png[idat + 3];
    check_damaged(png, size, ihdr + 8 + 13, 0, "IHDR CRC");
    check_damaged(png, size, idat + 8 + idat_len, 0, "IDAT CRC");
    check_damaged(png, size, idat + 8 + idat_len / 2, 0, "IDAT data byte");
    check_damaged(png, size, 0, idat + 8 + idat_len / 2, "cut inside IDAT");
    free(png);
    free(rgb);
    return fg_test_done();
}
