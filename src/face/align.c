/*
 * align.c - reference crop and dlib-style similarity alignment of a face.
 */
#include "face/align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

fg_rect fg_align_reference_rect(const fg_point lm[FG_LANDMARKS], int crop_w, int crop_h)
{
    /* face-api works in doubles; our landmarks are floats, which moves these by < 1e-4 px. */
    double lx = 0, ly = 0, rx = 0, ry = 0, mx = 0, my = 0;
    for (int i = 36; i <= 41; i++)
        lx += lm[i].x, ly += lm[i].y;
    for (int i = 42; i <= 47; i++)
        rx += lm[i].x, ry += lm[i].y;
    for (int i = 48; i <= 67; i++)
        mx += lm[i].x, my += lm[i].y;
    lx /= 6, ly /= 6, rx /= 6, ry /= 6, mx /= 20, my /= 20;
    double eye_to_mouth = (hypot(mx - lx, my - ly) + hypot(mx - rx, my - ry)) / 2;
    double size = floor(eye_to_mouth / 0.45);
    double refx = (lx + rx + mx) / 3, refy = (ly + ry + my) / 3;
    double x = floor(fmax(0, refx - 0.5 * size));
    double y = floor(fmax(0, refy - 0.43 * size));
    fg_rect r = {(int)x, (int)y, (int)fmin(size, crop_w + x), (int)fmin(size, crop_h + y)};
    return r;
}

fg_rect fg_clip_box(double x, double y, double w, double h, int image_w, int image_h)
{
    double right = x + w, bottom = y + h;
    double x0 = fmax(x, 0), y0 = fmax(y, 0);
    double cw = fmin(right - x0, image_w - x0), ch = fmin(bottom - y0, image_h - y0);
    fg_rect r = {(int)floor(x0), (int)floor(y0), (int)floor(cw), (int)floor(ch)};
    return r;
}

/* dlib's mean face for landmarks 17..67 in a unit square (get_face_chip_details). */
static const double mean_x[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991,
    0.98004,     0.490127,  0.490127, 0.490127, 0.490127, 0.36688,  0.426036, 0.490127, 0.554217,
    0.613373,    0.121737,  0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
    0.793132,    0.858516,  0.79751,  0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395,
    0.639268,    0.726104,  0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096,
    0.490127,    0.552157,  0.689874, 0.553364, 0.490127, 0.42689};
static const double mean_y[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009,  0.409805,  0.515625,  0.587326,  0.609345,  0.628106,  0.609345,
    0.587326, 0.216423, 0.178758,  0.179852,  0.231733,  0.245099,  0.244077,  0.231733,  0.179852,
    0.178758, 0.216423, 0.244077,  0.245099,  0.780233,  0.745405,  0.727388,  0.742578,  0.727388,
    0.745405, 0.780233, 0.864805,  0.902192,  0.909281,  0.902192,  0.864805,  0.784792,  0.778746,
    0.785343, 0.778746, 0.784792,  0.824182,  0.831803,  0.824182};

/* Points 27..54 and 60..64: dlib leaves out the brows and the lower lip. */
static int used(int i)
{
    return (i >= 27 && i <= 54) || (i >= 60 && i <= 64);
}

void fg_align_dlib_transform(const fg_point lm[FG_LANDMARKS], double m[6])
{
    const double pad = 0.25, size = FG_CHIP_SIZE;
    double su = 0, sv = 0, sx = 0, sy = 0, n = 0;
    double num_a = 0, num_b = 0, den = 0;

    for (int i = 17; i < FG_LANDMARKS; i++) {
        if (!used(i)) continue;
        su += (pad + mean_x[i - 17]) / (2 * pad + 1) * size;
        sv += (pad + mean_y[i - 17]) / (2 * pad + 1) * size;
        sx += lm[i].x;
        sy += lm[i].y;
        n++;
    }
    su /= n, sv /= n, sx /= n, sy /= n;
    /* Least squares for x = a u - b v + tx, y = b u + a v + ty on centred points. */
    for (int i = 17; i < FG_LANDMARKS; i++) {
        if (!used(i)) continue;
        double u = (pad + mean_x[i - 17]) / (2 * pad + 1) * size - su;
        double v = (pad + mean_y[i - 17]) / (2 * pad + 1) * size - sv;
        double x = lm[i].x - sx, y = lm[i].y - sy;
        num_a += u * x + v * y;
        num_b += u * y - v * x;
        den += u * u + v * v;
    }
    double a = num_a / den, b = num_b / den;
    m[0] = a, m[1] = -b, m[2] = sx - (a * su - b * sv);
    m[3] = b, m[4] = a, m[5] = sy - (b * su + a * sv);
}

/* Rows [from, to) of the box-filtered image: each pixel the mean of its k x k block of img. */
typedef struct shrink_task {
    const fg_image *img;
    fg_image *small;
    int x0, y0, k;
} shrink_task;

static void shrink_rows(void *ctx, int band, int from, int to)
{
    const shrink_task *t = ctx;
    const fg_image *img = t->img;
    const int k = t->k, sw = t->small->width;
    (void)band;
    for (int y = from; y < to; y++) {
        for (int x = 0; x < sw; x++) {
            unsigned sum[3] = {0, 0, 0};
            for (int dy = 0; dy < k; dy++) {
                const uint8_t *p =
                    img->rgb +
                    ((size_t)(t->y0 + y * k + dy) * img->width + t->x0 + (size_t)x * k) * 3;
                for (int dx = 0; dx < k; dx++, p += 3)
                    sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
            }
            for (int c = 0; c < 3; c++)
                t->small->rgb[((size_t)y * sw + x) * 3 + c] =
                    (uint8_t)((sum[c] + k * k / 2) / (k * k));
        }
    }
}

int fg_align_dlib_chip(const fg_image *img, const fg_point lm[FG_LANDMARKS],
                       float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3])
{
    return fg_align_dlib_chip_on(img, lm, chip, NULL);
}

int fg_align_dlib_chip_on(const fg_image *img, const fg_point lm[FG_LANDMARKS],
                          float chip[FG_CHIP_SIZE * FG_CHIP_SIZE * 3], const fgi_runner *on)
{
    double m[6];
    fg_align_dlib_transform(lm, m);
    double scale = hypot(m[0], m[3]); /* image pixels per chip pixel */
    int k = (int)floor(scale);
    if (k < 2) return fgi_warp_affine_on(img, m, FG_CHIP_SIZE, FG_CHIP_SIZE, chip, on);

    /* Shrink the part of the image under the chip by k with a box filter, then warp from the
     * smaller image: sampling a large face at 150 points alone would alias. */
    double xs[4], ys[4], minx = 1e30, miny = 1e30, maxx = -1e30, maxy = -1e30;
    const double corners[4][2] = {
        {0, 0}, {FG_CHIP_SIZE, 0}, {0, FG_CHIP_SIZE}, {FG_CHIP_SIZE, FG_CHIP_SIZE}};
    for (int i = 0; i < 4; i++) {
        xs[i] = m[0] * corners[i][0] + m[1] * corners[i][1] + m[2];
        ys[i] = m[3] * corners[i][0] + m[4] * corners[i][1] + m[5];
        minx = fmin(minx, xs[i]), maxx = fmax(maxx, xs[i]);
        miny = fmin(miny, ys[i]), maxy = fmax(maxy, ys[i]);
    }
    int x0 = (int)fmax(0, floor(minx) - k), y0 = (int)fmax(0, floor(miny) - k);
    int x1 = (int)fmin(img->width, ceil(maxx) + k), y1 = (int)fmin(img->height, ceil(maxy) + k);
    int sw = (x1 - x0) / k, sh = (y1 - y0) / k;
    if (sw < 2 || sh < 2) return fgi_warp_affine_on(img, m, FG_CHIP_SIZE, FG_CHIP_SIZE, chip, on);

    fg_image small = {sw, sh, malloc((size_t)sw * sh * 3)};
    if (!small.rgb) return FG_ENOMEM;
    shrink_task t = {img, &small, x0, y0, k};
    fgi_run_bands(on, sh, fgi_bands(on, sh, 2), shrink_rows, &t);
    /* Small pixel (xs, ys) covers big pixels x0 + xs*k ... + k-1: its centre is at
     * x0 + xs*k + (k-1)/2, so big x maps to small (x - x0 - (k-1)/2) / k. */
    double ms[6] = {m[0] / k, m[1] / k, (m[2] - x0 - (k - 1) / 2.0) / k,
                    m[3] / k, m[4] / k, (m[5] - y0 - (k - 1) / 2.0) / k};
    int rc = fgi_warp_affine_on(&small, ms, FG_CHIP_SIZE, FG_CHIP_SIZE, chip, on);
    free(small.rgb);
    return rc;
}
