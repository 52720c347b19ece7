/*
 * test-image-warp-affine.c - fgi_warp_affine samples bilinearly at the mapped position, with
 * the image extended by zeros outside.
 */
#include <stdlib.h>

#include "harness.h"
#include "image-fixtures.h"
#include "image/image.h"

int main(void)
{
    fg_image img = {6, 4, fx_noise(6, 4, 1)};
    float out[8 * 8 * 3];
    CHECK(img.rgb != NULL);
    if (!img.rgb) return fg_test_done();

    /* Identity: the image itself. */
    const double identity[6] = {1, 0, 0, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, identity, 6, 4, out), FG_OK);
    int same = 1;
    for (int i = 0; i < 6 * 4 * 3; i++)
        same &= out[i] == img.rgb[i];
    CHECK(same);

    /* Half a pixel to the right: the mean of horizontal neighbours; past the last column the
     * missing neighbour is 0. */
    const double half[6] = {1, 0, 0.5, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, half, 6, 4, out), FG_OK);
    CHECK_NEAR(out[0], (img.rgb[0] + img.rgb[3]) / 2.0, 1e-4);
    CHECK_NEAR(out[5 * 3 + 1], img.rgb[5 * 3 + 1] / 2.0, 1e-4);

    /* Mirror: u -> 5 - u. */
    const double mirror[6] = {-1, 0, 5, 0, 1, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, mirror, 6, 4, out), FG_OK);
    CHECK(out[0] == img.rgb[5 * 3] && out[(2 * 6 + 1) * 3 + 2] == img.rgb[(2 * 6 + 4) * 3 + 2]);

    /* Scaled 2x into an 8x8 chip shifted off the image: the outside is black, the inside
     * interpolated (chip (1,1) -> image (0.5, 0.5) is the mean of four pixels). */
    const double zoom[6] = {0.5, 0, 0, 0, 0.5, 0};
    CHECK_EQ_INT(fgi_warp_affine(&img, zoom, 8, 8, out), FG_OK);
    double mean = (img.rgb[0] + img.rgb[3] + img.rgb[18] + img.rgb[21]) / 4.0;
    CHECK_NEAR(out[(1 * 8 + 1) * 3], mean, 1e-4);
    const double far_away[6] = {1, 0, -100, 0, 1, 1e300};
    CHECK_EQ_INT(fgi_warp_affine(&img, far_away, 8, 8, out), FG_OK);
    int zeros = 1;
    for (int i = 0; i < 8 * 8 * 3; i++)
        zeros &= out[i] == 0.0f;
    CHECK(zeros);

    CHECK_EQ_INT(fgi_warp_affine(&img, identity, 0, 4, out), FG_EINVAL);
    CHECK_EQ_INT(fgi_warp_affine(NULL, identity, 6, 4, out), FG_EINVAL);
    fg_image_free(&img);
    return fg_test_done();
}
