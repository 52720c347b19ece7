/*
 * test-image-png-bomb.c - a decompression bomb (a small, valid PNG declaring 20000x20000) is
 * refused from its header, fast, without decoding: FG_EIMAGE_TOO_LARGE.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

/* A complete 1-bit grey PNG of zeros, encoded row by row so the 50 MB of rows never exist. */
static uint8_t *make_bomb(uint32_t side, size_t *size)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {side, side, 1, SPNG_COLOR_TYPE_GRAYSCALE, 0, 0, 0};
    size_t row_len = (side + 7) / 8;
    uint8_t *row = calloc(1, row_len), *png = NULL;
    int ret, error = 0;
    if (!ctx || !row) goto done;
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, 9);
    if (spng_set_ihdr(ctx, &ihdr) != 0) goto done;
    if (spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG,
                          SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE) != 0)
        goto done;
    do
        ret = spng_encode_row(ctx, row, row_len);
    while (ret == 0);
    if (ret == SPNG_EOI) png = spng_get_png_buffer(ctx, size, &error);
done:
    free(row);
    spng_ctx_free(ctx);
    return error ? NULL : png;
}

int main(void)
{
    size_t size = 0;
    uint8_t *bomb = make_bomb(20000, &size);
    CHECK(bomb != NULL);
    if (!bomb) return fg_test_done();
    printf("bomb: %zu bytes for 20000x20000\n", size);
    CHECK(size < 1000000);

    fg_image img = {0};
    fg_error err = {0};
    clock_t t0 = clock();
    CHECK_EQ_INT(fg_image_decode(bomb, size, 0, &img, &err), FG_EIMAGE_TOO_LARGE);
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECKF(seconds < 0.05, "took %.3f s", seconds);
    CHECKF(strstr(err.message, "20000x20000 (400000000 pixels)") != NULL, "%s", err.message);
    CHECK(img.rgb == NULL);
    free(bomb);
    return fg_test_done();
}
