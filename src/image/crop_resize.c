/*
 * crop_resize.c - tf.image.cropAndResize (bilinear) as tfjs-backend-wasm computes it, for the
 * fast path's face and eye crops.
 *
 * The wasm kernel works in float32: with m = size - 1 per axis, the source row of output row y
 * is y1 * m + y * ((y2 - y1) * m / (out_h - 1)) (each step rounded to float), a row outside
 * [0, m] takes the extrapolation value, and so does a column; inside, the four neighbours are
 * blended with top = tl + (tr - tl) * fx, bottom likewise, out = top + (bottom - top) * fy. These
 * are the same float operations (no FMA: -ffp-contract=off), so the crops are bit-exact.
 */
#include <math.h>
#include <string.h>

#include "image/image.h"

/* Pixel (x, y), channel c of the u8 or the float source. */
static float at(const fgi_pixels *src, size_t x, size_t y, int c)
{
    size_t i = (y * (size_t)src->width + x) * (size_t)src->channels + (size_t)c;
    return src->u8 ? (float)src->u8[i] : src->f32[i];
}

int fgi_crop_and_resize(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                        float extrapolation, float *out)
{
    if (!src || (!src->u8 == !src->f32) || src->width <= 0 || src->height <= 0 ||
        src->channels <= 0 || out_w <= 0 || out_h <= 0 || !out)
        return FG_EINVAL;
    const size_t in_h = (size_t)src->height, in_w = (size_t)src->width, ch = (size_t)src->channels;
    const float y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
    const float m1h = (float)(in_h - 1), m1w = (float)(in_w - 1);
    const float hscale = out_h > 1 ? (y2 - y1) * m1h / (float)(out_h - 1) : 0.0f;
    const float wscale = out_w > 1 ? (x2 - x1) * m1w / (float)(out_w - 1) : 0.0f;

    /* The kernel copies whole rows when the box maps pixel to pixel without interpolation. */
    const int same_size = (float)out_w == 1.0f + (x2 - x1) * m1w;
    const float ylf = out_h > 1 ? y1 * (float)in_h + hscale : (float)(0.5 * (y1 + y2) * m1h);
    const float xlf = out_w > 1 ? x1 * m1w + wscale : (float)(0.5 * (x1 + x2) * m1w);
    const int interpolates = ylf - floorf(ylf) != 0.0f || xlf - floorf(xlf) != 0.0f;
    const int copy_rows = x2 > x1 && x1 >= 0 && same_size && !interpolates;

    for (int y = 0; y < out_h; y++) {
        float *row = out + (size_t)y * out_w * ch;
        const float yi = out_h > 1 ? y1 * m1h + (float)y * hscale : (float)(0.5 * (y1 + y2) * m1h);
        if (yi < 0 || yi > (float)(in_h - 1)) {
            for (size_t i = 0; i < (size_t)out_w * ch; i++)
                row[i] = extrapolation;
            continue;
        }
        if (copy_rows) {
            for (size_t i = 0; i < (size_t)out_w * ch; i++)
                row[i] = at(src, i / ch, (size_t)yi, (int)(i % ch));
            continue;
        }
        const float top_i = floorf(yi), bottom_i = fminf(m1h, ceilf(yi)), fy = yi - top_i;
        for (int x = 0; x < out_w; x++) {
            float *o = row + (size_t)x * ch;
            const float xi =
                out_w > 1 ? x1 * m1w + (float)x * wscale : (float)(0.5 * (x1 + x2) * m1w);
            if (xi < 0 || xi > (float)(in_w - 1)) {
                for (size_t c = 0; c < ch; c++)
                    o[c] = extrapolation;
                continue;
            }
            const float left_i = floorf(xi), right_i = fminf(m1w, ceilf(xi)), fx = xi - left_i;
            const size_t l = (size_t)left_i, r = (size_t)right_i;
            const size_t t = (size_t)top_i, b = (size_t)bottom_i;
            for (size_t c = 0; c < ch; c++) {
                const float tl = at(src, l, t, (int)c), tr = at(src, r, t, (int)c);
                const float bl = at(src, l, b, (int)c), br = at(src, r, b, (int)c);
                const float top = tl + (tr - tl) * fx, bottom = bl + (br - bl) * fx;
                o[c] = top + (bottom - top) * fy;
            }
        }
    }
    return FG_OK;
}

void fgi_flip_left_right(float *hwc, int w, int h, int channels)
{
    for (int y = 0; y < h; y++) {
        float *row = hwc + (size_t)y * w * channels;
        for (int l = 0, r = w - 1; l < r; l++, r--)
            for (int c = 0; c < channels; c++) {
                float t = row[(size_t)l * channels + c];
                row[(size_t)l * channels + c] = row[(size_t)r * channels + c];
                row[(size_t)r * channels + c] = t;
            }
    }
}
