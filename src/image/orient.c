/*
 * orient.c - apply an EXIF orientation (1..8) so the pixels are upright.
 */
#include <stdlib.h>

#include "image/error.h"
#include "image/image.h"

int fgi_orient(fg_image *img, int orientation, fg_error *err)
{
    if (!img || !img->rgb) return fg_fail(err, FG_EINVAL, "fgi_orient: no image");
    if (orientation < 2 || orientation > 8) return FG_OK;

    /* Source pixel of output (ox, oy) is base + ox*step_x + oy*step_y (in pixels) of the
     * stored W x H image. EXIF: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW,
     * 7 transverse, 8 rotate 90 CCW. */
    const ptrdiff_t w = img->width, h = img->height;
    ptrdiff_t base = 0, step_x = 1, step_y = w;
    switch (orientation) {
    case 2: base = w - 1; step_x = -1; step_y = w; break;
    case 3: base = h * w - 1; step_x = -1; step_y = -w; break;
    case 4: base = (h - 1) * w; step_x = 1; step_y = -w; break;
    case 5: base = 0; step_x = w; step_y = 1; break;
    case 6: base = (h - 1) * w; step_x = -w; step_y = 1; break;
    case 7: base = h * w - 1; step_x = -w; step_y = -1; break;
    case 8: base = w - 1; step_x = w; step_y = -1; break;
    }
    const int swap = orientation >= 5;
    const int out_w = swap ? img->height : img->width;
    const int out_h = swap ? img->width : img->height;

    uint8_t *dst = malloc((size_t)w * (size_t)h * 3);
    if (!dst)
        return fg_fail(err, FG_ENOMEM, "out of memory rotating a %dx%d image", img->width,
                       img->height);
    uint8_t *d = dst;
    for (int oy = 0; oy < out_h; oy++) {
        const uint8_t *row = img->rgb + 3 * (base + oy * step_y);
        for (int ox = 0; ox < out_w; ox++, d += 3) {
            const uint8_t *s = row + 3 * (ox * step_x);
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    free(img->rgb);
    img->rgb = dst;
    img->width = out_w;
    img->height = out_h;
    return FG_OK;
}
