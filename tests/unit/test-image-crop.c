/*
 * test-image-crop.c - fgi_crop copies a rectangle inside the image and refuses any other with
 * FG_EINVAL and a message.
 */
#include <string.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

int main(void)
{
    fg_image img = {10, 8, fx_noise(10, 8, 1)}, crop = {0};
    fg_error err = {0};
    CHECK(img.rgb != NULL);
    if (!img.rgb) return fg_test_done();

    CHECK_EQ_INT(fgi_crop(&img, (fg_rect){3, 2, 4, 5}, &crop, &err), FG_OK);
    CHECK_EQ_INT(crop.width, 4);
    CHECK_EQ_INT(crop.height, 5);
    int same = 1;
    for (int y = 0; y < 5; y++)
        same &= memcmp(crop.rgb + y * 4 * 3, img.rgb + ((y + 2) * 10 + 3) * 3, 4 * 3) == 0;
    CHECK(same);
    fg_image_free(&crop);

    CHECK_EQ_INT(fgi_crop(&img, (fg_rect){0, 0, 10, 8}, &crop, &err), FG_OK);
    CHECK(memcmp(crop.rgb, img.rgb, 10 * 8 * 3) == 0);
    fg_image_free(&crop);

    const fg_rect bad[] = {{-1, 0, 2, 2}, {9, 0, 2, 2},          {0, 7, 2, 2},         {0, 0, 0, 2},
                           {0, 0, 2, -1}, {2147483647, 0, 2, 2}, {0, 0, 2147483647, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.message[0] = '\0';
        CHECK_EQ_INT(fgi_crop(&img, bad[i], &crop, &err), FG_EINVAL);
        CHECK(crop.rgb == NULL && err.message[0] != '\0');
    }
    CHECK(strstr(err.message, "not inside the 10x8 image") != NULL);
    fg_image_free(&img);
    return fg_test_done();
}
