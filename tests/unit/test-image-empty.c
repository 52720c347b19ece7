/*
 * test-image-empty.c - a 0-byte image is FG_EIMAGE_EMPTY with a message, and *out is zeroed.
 */
#include "harness.h"
#include "facegate.h"

int main(void)
{
    fg_image img = {7, 7, (uint8_t *)"not owned"};
    fg_error err = {0};
    CHECK_EQ_INT(fg_image_decode("", 0, 0, &img, &err), FG_EIMAGE_EMPTY);
    CHECK_EQ_INT(err.code, FG_EIMAGE_EMPTY);
    CHECK(err.message[0] != '\0');
    CHECK(img.rgb == NULL && img.width == 0 && img.height == 0);

    err.message[0] = '\0';
    CHECK_EQ_INT(fg_image_decode(NULL, 0, 0, &img, &err), FG_EIMAGE_EMPTY);
    CHECK(err.message[0] != '\0');

    /* err is optional; out is not. */
    CHECK_EQ_INT(fg_image_decode("", 0, 0, &img, NULL), FG_EIMAGE_EMPTY);
    CHECK_EQ_INT(fg_image_decode("x", 1, 0, NULL, &err), FG_EINVAL);
    CHECK_EQ_INT(fg_image_decode(NULL, 10, 0, &img, &err), FG_EINVAL);
    return fg_test_done();
}
