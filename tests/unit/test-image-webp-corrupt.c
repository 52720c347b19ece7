/*
 * test-image-webp-corrupt.c - a truncated or damaged WebP is FG_EIMAGE_CORRUPT with a message.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

static void check_bad(const uint8_t *webp, size_t size, size_t cut, size_t flip_at,
                      const char *what)
{
    uint8_t *bad = malloc(size);
    fg_image img = {0};
    fg_error err = {0};
    CHECK(bad != NULL);
    if (!bad) return;
    memcpy(bad, webp, size);
    if (flip_at) bad[flip_at] ^= 0xff;
    int rc = fg_image_decode(bad, cut, 0, &img, &err);
    CHECKF(rc == FG_EIMAGE_CORRUPT, "%s: %d (%s)", what, rc, err.message);
    CHECK(err.message[0] != '\0');
    CHECK(img.rgb == NULL);
    printf("%s: %s\n", what, err.message);
    free(bad);
}

int main(void)
{
    const int w = 64, h = 48;
    uint8_t *rgb = fx_pattern(w, h);
    size_t lossy_size = 0, lossless_size = 0;
    uint8_t *lossy = fx_webp(rgb, w, h, 80, &lossy_size);
    uint8_t *lossless = fx_webp(rgb, w, h, 0, &lossless_size);
    CHECK(lossy && lossless && lossy_size > 40 && lossless_size > 40);
    if (lossy && lossless) {
        /* "RIFF" size WEBP "VP8 " size, then the VP8 frame tag (3 bytes) and start code. */
        check_bad(lossy, lossy_size, lossy_size / 2, 0, "lossy cut in half");
        check_bad(lossy, lossy_size, 20, 0, "lossy cut after the chunk header");
        check_bad(lossy, lossy_size, lossy_size, 23, "lossy start code damaged");
        check_bad(lossless, lossless_size, lossless_size / 2, 0, "lossless cut in half");
        check_bad(lossless, lossless_size, lossless_size, 20, "lossless signature damaged");
    }
    free(lossy);
    free(lossless);
    free(rgb);
    return fg_test_done();
}
