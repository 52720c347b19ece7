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
            /* floor() without the libm call: x, y > -1 here. */
            const ptrdiff_t x0 = x >= 0 ? (ptrdiff_t)x : -1, y0 = y >= 0 ? (ptrdiff_t)y : -1;
            const double fx = x - (double)x0, fy = y - (double)y0;
            if (x0 >= 0 && y0 >= 0 && x0 + 1 < img->width && y0 + 1 < img->height) {
                const uint8_t *tl = img->rgb + ((size_t)y0 * img->width + (size_t)x0) * 3;
                const uint8_t *bl = tl + (size_t)img->width * 3;
                for (int c = 0; c < 3; c++) {
                    const double top = tl[c] + (tl[c + 3] - (double)tl[c]) * fx;
                    const double bot = bl[c] + (bl[c + 3] - (double)bl[c]) * fx;
                    o[c] = (float)(top + (bot - top) * fy);
                }
                continue;
            }
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
