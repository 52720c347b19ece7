/*
 * orient.c - apply an EXIF orientation (1..8) so the pixels are upright.
 */
#include <stdlib.h>

#include "core/error.h"
#include "image/image.h"

int fgi_orient(fg_image *img, int orientation, fg_error *err)
{
    if (!img || !img->rgb) return fg_fail(err, FG_EINVAL, "fgi_orient: no image");
    if (orientation < 2 || orientation > 8) return FG_OK;

    /* EXIF orientations as (transpose, mirror x, mirror y) of the stored W x H image: 2 mirror,
     * 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW, 7 transverse, 8 rotate 90 CCW.
     * Output (ox, oy) reads stored pixel base + ox*step_x + oy*step_y. */
    static const struct {
        uint8_t transpose, mirror_x, mirror_y;
    } ops[9] = {[2] = {0, 1, 0}, [3] = {0, 1, 1}, [4] = {0, 0, 1}, [5] = {1, 0, 0},
                [6] = {1, 0, 1}, [7] = {1, 1, 1}, [8] = {1, 1, 0}};
    const ptrdiff_t w = img->width, h = img->height;
    const ptrdiff_t base =
        (ops[orientation].mirror_x ? w - 1 : 0) + (ops[orientation].mirror_y ? (h - 1) * w : 0);
    const ptrdiff_t along_x = ops[orientation].mirror_x ? -1 : 1;
    const ptrdiff_t along_y = ops[orientation].mirror_y ? -w : w;
    const ptrdiff_t step_x = ops[orientation].transpose ? along_y : along_x;
    const ptrdiff_t step_y = ops[orientation].transpose ? along_x : along_y;
    const int swap = ops[orientation].transpose;
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
