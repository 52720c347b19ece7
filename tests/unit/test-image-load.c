/*
 * test-image-load.c - fg_image_load reads files: a missing file or a directory is FG_EIO with
 * the path in the message; an empty file is FG_EIMAGE_EMPTY; a real file decodes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

int main(void)
{
    fg_image img = {0};
    fg_error err = {0};
    char dir[] = "/tmp/fg-test-image-load-XXXXXX", path[sizeof dir + 32];
    CHECK(mkdtemp(dir) != NULL);

    snprintf(path, sizeof path, "%s/missing.jpg", dir);
    CHECK_EQ_INT(fg_image_load(path, 0, &img, &err), FG_EIO);
    CHECKF(strstr(err.message, "missing.jpg") != NULL, "%s", err.message);
    CHECK_EQ_INT(fg_image_load(dir, 0, &img, &err), FG_EIO);
    CHECKF(strstr(err.message, "not a regular file") != NULL, "%s", err.message);
    CHECK_EQ_INT(fg_image_load(NULL, 0, &img, &err), FG_EINVAL);

    snprintf(path, sizeof path, "%s/empty.png", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK_EQ_INT(fg_image_load(path, 0, &img, &err), FG_EIMAGE_EMPTY);
    unlink(path);

    uint8_t *rgb = fx_pattern(24, 16);
    size_t size = 0;
    uint8_t *jpeg = rgb ? fx_jpeg_rgb(rgb, 24, 16, &size) : NULL;
    snprintf(path, sizeof path, "%s/ok.jpg", dir);
    f = fopen(path, "wb");
    CHECK(f && jpeg && fwrite(jpeg, 1, size, f) == size);
    if (f) fclose(f);
    int rc = fg_image_load(path, 0, &img, &err);
    CHECKF(rc == FG_OK, "%s", err.message);
    CHECK(img.width == 24 && img.height == 16 && img.rgb != NULL);
    fg_image_free(&img);
    unlink(path);
    rmdir(dir);
    free(jpeg);
    free(rgb);
    return fg_test_done();
}
