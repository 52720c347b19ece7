/*
 * warp.c - sample an affine-warped chip out of an image (dlib-style face alignment).
 */
#include <math.h>

#include "image/image.h"

/* Pixel (x, y) of img, or NULL outside it: the image is extended with zeros. */
static const uint8_t *pixel_at(const fg_image *img, ptrdiff_t x, ptrdiff_t y)
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return NULL;
    return img->rgb + (y * img->width + x) * 3;
}

int fgi_warp_affine(const fg_image *img, const double m[6], int out_w, int out_h, float *out_hwc)
{
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0 || !m || !out_hwc || out_w <= 0 ||
        out_h <= 0)
        return FG_EINVAL;
    float *o = out_hwc;
    for (int v = 0; v < out_h; v++) {
        for (int u = 0; u < out_w; u++, o += 3) {
            const double x = m[0] * u + m[1] * v + m[2];
            const double y = m[3] * u + m[4] * v + m[5];
            /* Also rejects NaN, and keeps the casts below in range. */
            if (!(x > -1.0 && y > -1.0 && x < img->width && y < img->height)) {
                o[0] = o[1] = o[2] = 0.0f;
                continue;
            }
            const double fx0 = floor(x), fy0 = floor(y);
            const double fx = x - fx0, fy = y - fy0;
            const ptrdiff_t x0 = (ptrdiff_t)fx0, y0 = (ptrdiff_t)fy0;
            const uint8_t *tl = pixel_at(img, x0, y0), *tr = pixel_at(img, x0 + 1, y0);
            const uint8_t *bl = pixel_at(img, x0, y0 + 1), *br = pixel_at(img, x0 + 1, y0 + 1);
            for (int c = 0; c < 3; c++) {
                const double a = tl ? tl[c] : 0.0, b = tr ? tr[c] : 0.0;
                const double d = bl ? bl[c] : 0.0, e = br ? br[c] : 0.0;
                const double top = a + (b - a) * fx, bot = d + (e - d) * fx;
                o[c] = (float)(top + (bot - top) * fy);
            }
        }
    }
    return FG_OK;
}
