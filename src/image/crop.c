/*
 * crop.c - copy an integer rectangle out of an RGB8 image (tf.slice on an image tensor).
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"

int fgi_crop(const fg_image *img, fg_rect rect, fg_image *out, fg_error *err)
{
    if (!out) return fg_fail(err, FG_EINVAL, "fgi_crop: out is NULL");
    memset(out, 0, sizeof *out);
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return fg_fail(err, FG_EINVAL, "fgi_crop: empty source image");
    /* Written as subtractions so that no sum can overflow. */
    if (rect.width <= 0 || rect.height <= 0 || rect.x < 0 || rect.y < 0 ||
        rect.x > img->width - rect.width || rect.y > img->height - rect.height)
        return fg_fail(err, FG_EINVAL, "crop %dx%d at (%d,%d) is not inside the %dx%d image",
                       rect.width, rect.height, rect.x, rect.y, img->width, img->height);

    const size_t row_bytes = (size_t)rect.width * 3, src_stride = (size_t)img->width * 3;
    uint8_t *rgb = malloc(row_bytes * (size_t)rect.height);
    if (!rgb)
        return fg_fail(err, FG_ENOMEM, "out of memory for a %dx%d crop", rect.width, rect.height);
    const uint8_t *src = img->rgb + (size_t)rect.y * src_stride + (size_t)rect.x * 3;
    for (int y = 0; y < rect.height; y++)
        memcpy(rgb + (size_t)y * row_bytes, src + (size_t)y * src_stride, row_bytes);
    out->width = rect.width;
    out->height = rect.height;
    out->rgb = rgb;
    return FG_OK;
}
