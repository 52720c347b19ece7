/*
 * test-image-fuzz.c - mutated JPEG, PNG and WebP files (fixed-seed PRNG) never crash, leak or
 * return anything but a known code; under ASan/UBSan (make test-sanitize) this is the point.
 * FG_TEST_QUICK=1 runs 100 mutations per seed file instead of 500.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

/* Small limit: a mutated header may claim a big image; no need to decode 40 MP of grey. */
#define FUZZ_MAX_PIXELS (1u << 22)

static int known_code(int rc)
{
    return rc == FG_OK || rc == FG_EIMAGE_CORRUPT || rc == FG_EIMAGE_FORMAT ||
           rc == FG_EIMAGE_TOO_LARGE || rc == FG_EIMAGE_EMPTY;
}

/* One mutant: a few random bytes replaced (often with 0x00/0xff, the values parsers care
 * about), sometimes cut short. */
static size_t mutate(const uint8_t *seed, size_t size, uint8_t *out, uint64_t *rng)
{
    memcpy(out, seed, size);
    int edits = 1 + (int)(fx_rand(rng) % 8);
    for (int i = 0; i < edits; i++) {
        size_t at = fx_rand(rng) % size;
        uint32_t kind = fx_rand(rng) % 4;
        out[at] = kind == 0 ? 0x00 : kind == 1 ? 0xff : (uint8_t)fx_rand(rng);
    }
    if (fx_rand(rng) % 8 == 0) size = fx_rand(rng) % size;
    return size;
}

static void fuzz(const char *what, const uint8_t *seed, size_t size, int rounds, uint64_t rng)
{
    uint8_t *buf = malloc(size);
    int decoded = 0, bad = 0;
    CHECKF(seed != NULL && buf != NULL, "%s: no seed", what);
    if (!seed || !buf) goto done;
    for (int i = 0; i < rounds; i++) {
        size_t n = mutate(seed, size, buf, &rng);
        fg_image img = {0};
        fg_error err = {0};
        int rc = fg_image_decode(buf, n, FUZZ_MAX_PIXELS, &img, &err);
        if (!known_code(rc) || (rc == FG_OK) != (img.rgb != NULL) ||
            (rc != FG_OK && err.message[0] == '\0'))
            bad++;
        if (rc == FG_OK && (img.width <= 0 || img.height <= 0)) bad++;
        decoded += rc == FG_OK;
        fg_image_free(&img);
    }
    CHECKF(bad == 0, "%s: %d bad results", what, bad);
    printf("%s: %d mutants, %d still decoded\n", what, rounds, decoded);
done:
    free(buf);
}

int main(void)
{
    const int rounds = fx_quick() ? 100 : 500;
    uint8_t *rgb = fx_pattern(48, 32);
    size_t size = 0;
    uint8_t *bytes;

    bytes = fx_jpeg(rgb, 48, 32, TJPF_RGB, TJSAMP_420, 90, 0, &size);
    fuzz("baseline JPEG", bytes, size, rounds, 1);
    free(bytes);
    bytes = fx_jpeg(rgb, 48, 32, TJPF_RGB, TJSAMP_444, 90, TJFLAG_PROGRESSIVE, &size);
    fuzz("progressive JPEG", bytes, size, rounds, 2);
    free(bytes);
    uint8_t *jpeg = fx_jpeg_rgb(rgb, 48, 32, &size);
    bytes = jpeg ? fx_jpeg_with_orientation(jpeg, size, 6, 1, &size) : NULL;
    fuzz("JPEG with EXIF", bytes, size, rounds, 3);
    free(bytes);
    free(jpeg);
    bytes = fx_png_rgb(rgb, 48, 32, &size);
    fuzz("PNG", bytes, size, rounds, 4);
    free(bytes);
    bytes = fx_webp(rgb, 48, 32, 80, &size);
    fuzz("lossy WebP", bytes, size, rounds, 5);
    free(bytes);
    bytes = fx_webp(rgb, 48, 32, 0, &size);
    fuzz("lossless WebP", bytes, size, rounds, 6);
    free(bytes);
    bytes = fg_test_read(fg_test_shared("golden/single640.jpg"), &size);
    fuzz("single640.jpg", bytes, size, rounds, 7);
    free(bytes);
    free(rgb);
    return fg_test_done();
}
