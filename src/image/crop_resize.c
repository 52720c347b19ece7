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
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

/* Pixel (x, y), channel c of the u8 or the float source. */
static float at(const fgi_pixels *src, size_t x, size_t y, int c)
{
    size_t i = (y * (size_t)src->width + x) * (size_t)src->channels + (size_t)c;
    return src->u8 ? (float)src->u8[i] : src->f32[i];
}

/* A column of the crop: its left and right source offsets (pixel * channels) and weight. */
typedef struct column {
    size_t l, r;
    float fx;
    int outside; /* takes the extrapolation value */
} column;

/* One output row from its top and bottom source rows: the four neighbours blended as
 * top = tl + (tr - tl) * fx, bottom likewise, out = top + (bottom - top) * fy. */
#define BLEND_ROW(NAME, T)                                                                         \
    static void NAME(const T *top_row, const T *bottom_row, const column *cols, int out_w,         \
                     size_t ch, float fy, float extrapolation, float *row)                         \
    {                                                                                              \
        for (int x = 0; x < out_w; x++) {                                                          \
            float *o = row + (size_t)x * ch;                                                       \
            const column *c = &cols[x];                                                            \
            if (c->outside) {                                                                      \
                for (size_t k = 0; k < ch; k++)                                                    \
                    o[k] = extrapolation;                                                          \
                continue;                                                                          \
            }                                                                                      \
            for (size_t k = 0; k < ch; k++) {                                                      \
                const float tl = (float)top_row[c->l + k], tr = (float)top_row[c->r + k];          \
                const float bl = (float)bottom_row[c->l + k], br = (float)bottom_row[c->r + k];    \
                const float top = tl + (tr - tl) * c->fx, bottom = bl + (br - bl) * c->fx;         \
                o[k] = top + (bottom - top) * fy;                                                  \
            }                                                                                      \
        }                                                                                          \
    }
BLEND_ROW(blend_row_u8, unsigned char)
BLEND_ROW(blend_row_f32, float)

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

    /* Each column's neighbours and weight, the same float operations as per pixel, once. */
    column stack_cols[256], *cols = stack_cols;
    if (out_w > 256 && !(cols = malloc((size_t)out_w * sizeof *cols))) return FG_ENOMEM;
    for (int x = 0; x < out_w; x++) {
        const float xi = out_w > 1 ? x1 * m1w + (float)x * wscale : (float)(0.5 * (x1 + x2) * m1w);
        column *c = &cols[x];
        c->outside = xi < 0 || xi > (float)(in_w - 1);
        if (c->outside) continue;
        const float left_i = floorf(xi), right_i = fminf(m1w, ceilf(xi));
        c->fx = xi - left_i;
        c->l = (size_t)left_i * ch;
        c->r = (size_t)right_i * ch;
    }

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
        const size_t t = (size_t)top_i, b = (size_t)bottom_i;
        if (src->u8)
            blend_row_u8(src->u8 + t * in_w * ch, src->u8 + b * in_w * ch, cols, out_w, ch, fy,
                         extrapolation, row);
        else
            blend_row_f32(src->f32 + t * in_w * ch, src->f32 + b * in_w * ch, cols, out_w, ch, fy,
                          extrapolation, row);
    }
    if (cols != stack_cols) free(cols);
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
