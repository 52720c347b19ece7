/*
 * fuzz-image.c - image decoding: fg_image_decode (JPEG, PNG, WebP, EXIF orientation) and the
 * scaled decode, on any bytes. A result is an error with a code and a message, or an image of
 * the size its header claims (scaled: no more than that). The decode in two parts (a runner of
 * 2 bands, here both on this thread, the lower part first) gives the same pixels whenever both
 * it and the one-call decode accept the bytes.
 * Seeds: small JPEGs (4:4:4, 4:2:0, progressive, CMYK, with an EXIF orientation; two of 80 rows,
 * which the runner decodes in two parts), PNGs (RGB, palette, grey 16-bit, interlaced) and WebPs
 * (lossy, lossless) made by the encoders.
 */
#include <string.h>

#include "fuzz.h"
#include "image-fixtures.h"
#include "image/image.h"

#define MAX_PIXELS (1u << 22) /* a mutated header may claim a lot: no need to fill 40 MP */

static void check(int rc, const fg_image *img, const fg_error *err)
{
    FG_FUZZ_CHECK((rc == FG_OK) == (img->rgb != NULL));
    FG_FUZZ_CHECK(rc == FG_OK || (rc < 0 && err->message[0]));
    FG_FUZZ_CHECK(rc != FG_OK || (img->width > 0 && img->height > 0 &&
                                  (uint64_t)img->width * (uint64_t)img->height <= MAX_PIXELS));
}

static void backwards(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx)
{
    (void)pool;
    for (int b = bands - 1; b >= 0; b--)
        fn(ctx, b, (int)((long)n * b / bands), (int)((long)n * (b + 1) / bands));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_image img = {0}, small = {0}, parts = {0};
    fg_error err = {0};
    double scale = 0;
    const fgi_runner two = {backwards, NULL, 2};
    int rc = fg_image_decode(data, size, MAX_PIXELS, &img, &err);
    check(rc, &img, &err);
    const int rc2 = fgi_image_decode_on(data, size, MAX_PIXELS, 0, &two, &parts, NULL, &err);
    check(rc2, &parts, &err);
    if (rc == FG_OK && rc2 == FG_OK)
        FG_FUZZ_CHECK(parts.width == img.width && parts.height == img.height &&
                      memcmp(parts.rgb, img.rgb, (size_t)img.width * img.height * 3) == 0);
    fg_image_free(&parts);
    rc = fg_image_decode_scaled(data, size, MAX_PIXELS, 64, &small, &scale, &err);
    check(rc, &small, &err);
    FG_FUZZ_CHECK(rc != FG_OK || (scale > 0 && scale <= 1));
    if (rc == FG_OK && img.rgb)
        FG_FUZZ_CHECK(small.width <= img.width && small.height <= img.height);
    fg_image_free(&img);
    fg_image_free(&small);
    return 0;
}

static void seed_jpeg(const char *name, const uint8_t *pixels, int pf, int subsamp, int flags)
{
    size_t size = 0;
    uint8_t *jpeg = fx_jpeg(pixels, 48, 32, pf, subsamp, 80, flags, &size);
    fg_fuzz_seed(name, jpeg, size);
    free(jpeg);
}

void fg_fuzz_seeds(void)
{
    uint8_t *rgb = fx_pattern(48, 32), *cmyk = malloc(48 * 32 * 4), *bytes;
    uint16_t grey16[48 * 32];
    uint8_t index[48 * 32];
    struct spng_plte plte = {.n_entries = 4};
    size_t size = 0, tagged_size = 0;
    if (!rgb || !cmyk) goto done;
    for (int i = 0; i < 48 * 32; i++) {
        memcpy(cmyk + 4 * i, rgb + 3 * i, 3);
        cmyk[4 * i + 3] = 200;
        grey16[i] = (uint16_t)(i * 41);
        index[i] = (uint8_t)(i % 4);
    }
    for (int i = 0; i < 4; i++)
        plte.entries[i] =
            (struct spng_plte_entry){(uint8_t)(60 * i), 90, (uint8_t)(250 - 60 * i), 255};
    seed_jpeg("444.jpg", rgb, TJPF_RGB, TJSAMP_444, 0);
    seed_jpeg("420.jpg", rgb, TJPF_RGB, TJSAMP_420, 0);
    seed_jpeg("progressive.jpg", rgb, TJPF_RGB, TJSAMP_420, TJFLAG_PROGRESSIVE);
    seed_jpeg("cmyk.jpg", cmyk, TJPF_CMYK, TJSAMP_444, 0);
    uint8_t *tall = fx_pattern(48, 80); /* 64 rows or more: decoded in two parts */
    for (int k = 0; tall && k < 2; k++) {
        bytes = fx_jpeg(tall, 48, 80, TJPF_RGB, k ? TJSAMP_420 : TJSAMP_444, 80, 0, &size);
        fg_fuzz_seed(k ? "420-80-rows.jpg" : "444-80-rows.jpg", bytes, size);
        free(bytes);
    }
    free(tall);
    bytes = fx_jpeg(rgb, 48, 32, TJPF_RGB, TJSAMP_444, 80, 0, &size);
    if (bytes) {
        uint8_t *tagged = fx_jpeg_with_orientation(bytes, size, 6, 1, &tagged_size);
        fg_fuzz_seed("exif6.jpg", tagged, tagged_size);
        free(tagged);
    }
    free(bytes);
    bytes = fx_png_rgb(rgb, 48, 32, &size);
    fg_fuzz_seed("rgb.png", bytes, size);
    free(bytes);
    bytes = fx_png(index, sizeof index, 48, 32, SPNG_COLOR_TYPE_INDEXED, 8, 0, &plte, &size);
    fg_fuzz_seed("palette.png", bytes, size);
    free(bytes);
    bytes = fx_png(grey16, sizeof grey16, 48, 32, SPNG_COLOR_TYPE_GRAYSCALE, 16, 1, NULL, &size);
    fg_fuzz_seed("grey16-interlaced.png", bytes, size);
    free(bytes);
    bytes = fx_webp(rgb, 48, 32, 70, &size);
    fg_fuzz_seed("lossy.webp", bytes, size);
    free(bytes);
    bytes = fx_webp(rgb, 48, 32, 0, &size);
    fg_fuzz_seed("lossless.webp", bytes, size);
    free(bytes);
done:
    free(rgb);
    free(cmyk);
}
