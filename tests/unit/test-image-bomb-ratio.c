/*
 * test-image-bomb-ratio.c - an image of more than 4 MP whose file is far too small for a
 * picture of that size (a decompression bomb) is refused from its header as
 * FG_EIMAGE_TOO_LARGE, whatever the format: a lossless WebP of 6000x6000 grey (1.4 KB), a PNG
 * of 4000x4000 grey, a tiny JPEG whose header claims 6324x6324. Real pictures of the same
 * sizes, and small flat images, still decode.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

static uint8_t *flat(int w, int h)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (rgb) memset(rgb, 0x80, (size_t)w * h * 3);
    return rgb;
}

/* Decodes bytes (freed here): refused as a bomb, or decoded. */
static void judge(const char *what, uint8_t *bytes, size_t size, int bomb)
{
    fg_image img = {0};
    fg_error err = {0};
    int rc;
    CHECKF(bytes != NULL, "%s: not encoded", what);
    if (!bytes) return;
    rc = fg_image_decode(bytes, size, 0, &img, &err);
    if (bomb) {
        CHECKF(rc == FG_EIMAGE_TOO_LARGE && strstr(err.message, "decompression bomb"), "%s: %s",
               what, err.message);
        CHECK(img.rgb == NULL);
        printf("%s (%zu bytes): %s\n", what, size, err.message);
    } else {
        CHECKF(rc == FG_OK, "%s: %s", what, err.message);
    }
    fg_image_free(&img);
    free(bytes);
}

int main(void)
{
    size_t size = 0;
    uint8_t *grey = flat(6000, 6000), *tiny = flat(16, 16), *noise = fx_noise(2400, 2000, 7);
    uint8_t *bytes;

    bytes = grey ? fx_webp(grey, 6000, 6000, 0, &size) : NULL;
    judge("6000x6000 grey lossless WebP", bytes, size, 1);
    bytes = grey ? fx_png_rgb(grey, 4000, 4000, &size) : NULL;
    judge("4000x4000 grey PNG", bytes, size, 1);
    /* A 16x16 JPEG whose frame header is patched to claim 6324x6324. */
    bytes = tiny ? fx_jpeg_rgb(tiny, 16, 16, &size) : NULL;
    for (size_t i = 2; bytes && i + 9 < size; i++)
        if (bytes[i] == 0xff && bytes[i + 1] == 0xc0) {
            bytes[i + 5] = bytes[i + 7] = 6324 >> 8;
            bytes[i + 6] = bytes[i + 8] = 6324 & 0xff;
            break;
        }
    judge("JPEG header claiming 6324x6324", bytes, size, 1);

    /* Under 4 MP the file size is not judged: a flat 16x16 JPEG and a grey 2000x2000 PNG. */
    bytes = tiny ? fx_jpeg_rgb(tiny, 16, 16, &size) : NULL;
    judge("16x16 JPEG", bytes, size, 0);
    bytes = grey ? fx_png_rgb(grey, 2000, 2000, &size) : NULL;
    judge("2000x2000 grey PNG", bytes, size, 0);
    /* A real picture of 2400x2000 (4.8 MP) in the lossy formats. */
    bytes = noise ? fx_jpeg(noise, 2400, 2000, TJPF_RGB, TJSAMP_420, 40, 0, &size) : NULL;
    judge("2400x2000 JPEG", bytes, size, 0);
    bytes = noise ? fx_webp(noise, 2400, 2000, 10, &size) : NULL;
    judge("2400x2000 WebP", bytes, size, 0);
    free(grey);
    free(tiny);
    free(noise);
    return fg_test_done();
}
