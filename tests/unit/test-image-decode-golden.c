/*
 * test-image-decode-golden.c - the golden PNGs and the golden JPEG decode to the right sizes,
 * from a file and from memory alike, and the JPEG's pixels are close to the reference's.
 */
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "harness.h"
#include "image/image.h"

static const struct golden_png {
    const char *path;
    int width, height;
} golden_pngs[] = {
    {"golden/pixels/sample1.png", 1920, 1280}, {"golden/pixels/sample2.png", 1920, 1367},
    {"golden/pixels/sample3.png", 1920, 1350}, {"golden/pixels/sample4.png", 1920, 1448},
    {"golden/pixels/sample5.png", 1920, 1398}, {"golden/pixels/sample6.png", 1920, 1537},
    {"golden/pixels/single640.png", 640, 480},
};

static void check_png(const struct golden_png *g)
{
    fg_image from_file = {0}, from_memory = {0};
    fg_error err = {0};
    fgi_decode_info info;
    size_t size = 0;
    uint8_t *bytes = fg_test_read(fg_test_shared(g->path), &size);
    CHECKF(bytes != NULL, "cannot read %s", g->path);

    int rc = fg_image_load(fg_test_shared(g->path), 0, &from_file, &err);
    CHECKF(rc == FG_OK, "%s: %s", g->path, err.message);
    CHECK_EQ_INT(from_file.width, g->width);
    CHECK_EQ_INT(from_file.height, g->height);

    rc = fgi_image_decode(bytes, size, 0, &from_memory, &info, &err);
    CHECKF(rc == FG_OK, "%s: %s", g->path, err.message);
    CHECK_EQ_INT(info.format, FGI_FORMAT_PNG);
    CHECK_EQ_INT(info.orientation, 1);
    CHECK_EQ_INT(info.stored_width, g->width);
    CHECK_EQ_INT(info.stored_height, g->height);
    CHECK(from_file.rgb && from_memory.rgb &&
          memcmp(from_file.rgb, from_memory.rgb, (size_t)g->width * g->height * 3) == 0);
    fg_image_free(&from_file);
    fg_image_free(&from_memory);
    CHECK(from_file.rgb == NULL && from_file.width == 0);
    free(bytes);
}

/* single640.jpg through libjpeg-turbo vs the reference's jpeg-js pixels (single640.png): two
 * decoders differ by a level or two per sample, never by an orientation or a colour swap. */
static void check_jpeg(void)
{
    fg_image jpeg = {0}, png = {0};
    fg_error err = {0};
    fgi_decode_info info;
    size_t size = 0;
    uint8_t *bytes = fg_test_read(fg_test_shared("golden/single640.jpg"), &size);
    CHECK(bytes != NULL);
    if (!bytes) return;
    int rc = fgi_image_decode(bytes, size, 0, &jpeg, &info, &err);
    CHECKF(rc == FG_OK, "single640.jpg: %s", err.message);
    CHECK_EQ_INT(info.format, FGI_FORMAT_JPEG);
    CHECK_EQ_INT(info.orientation, 1);
    CHECK_EQ_INT(jpeg.width, 640);
    CHECK_EQ_INT(jpeg.height, 480);
    /* Exactly the pixels of TurboJPEG's defaults, which golden/libjpeg was computed on. */
    tjhandle tj = tjInitDecompress();
    uint8_t *direct = malloc(640 * 480 * 3);
    CHECK(tj && direct);
    if (tj && direct && jpeg.rgb) {
        CHECK_EQ_INT(tjDecompress2(tj, bytes, size, direct, 640, 0, 480, TJPF_RGB, 0), 0);
        CHECK(memcmp(direct, jpeg.rgb, 640 * 480 * 3) == 0);
    }
    free(direct);
    if (tj) tjDestroy(tj);

    rc = fg_image_load(fg_test_shared("golden/pixels/single640.png"), 0, &png, &err);
    CHECK_EQ_INT(rc, FG_OK);
    if (jpeg.rgb && png.rgb && jpeg.width == png.width && jpeg.height == png.height) {
        size_t n = (size_t)jpeg.width * jpeg.height * 3;
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += abs((int)jpeg.rgb[i] - (int)png.rgb[i]);
        printf("single640: mean |libjpeg - jpeg-js| = %.3f\n", sum / (double)n);
        CHECK(sum / (double)n < 2.0);
    }
    fg_image_free(&jpeg);
    fg_image_free(&png);
    free(bytes);
}

int main(void)
{
    for (size_t i = 0; i < sizeof golden_pngs / sizeof golden_pngs[0]; i++)
        check_png(&golden_pngs[i]);
    check_jpeg();
    fg_image_free(NULL); /* a no-op */
    return fg_test_done();
}
