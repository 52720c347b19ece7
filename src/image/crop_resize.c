/*
 * crop_resize.c - tf.image.cropAndResize (bilinear) as tfjs-backend-wasm computes it, for the
 * fast path's face and eye crops, and the same float32 resampling along any two axes
 * (fgi_resample_on), which resize.c uses for BlazeFace's stretch where float32 is exact.
 *
 * The wasm kernel works in float32: with m = size - 1 per axis, the source row of output row y
 * is y1 * m + y * ((y2 - y1) * m / (out_h - 1)) (each step rounded to float), a row outside
 * [0, m] takes the extrapolation value, and so does a column; inside, the four neighbours are
 * blended with top = tl + (tr - tl) * fx, bottom likewise, out = top + (bottom - top) * fy. These
 * are the same float operations (no FMA: -ffp-contract=off), so the crops are bit-exact.
 *
 * top and bottom depend only on their source row, so each source row's horizontal pass is
 * computed once and kept while consecutive output rows share it; the vertical blend then runs
 * over contiguous rows. With AVX2 the horizontal pass does two columns per 8-float vector (a
 * pixel's three channels and one wasted lane each), the blend 8 floats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "image/image.h"
#include "image/simd.h"

/* A column of the crop: its left and right source offsets (pixel * channels) and weight. */
typedef struct column {
    size_t l, r;
    float fx;
    int outside; /* takes the extrapolation value */
} column;

static float element(const fgi_pixels *src, const void *row, size_t i)
{
    return src->u8 ? (float)((const uint8_t *)row)[i] : ((const float *)row)[i];
}

/* Columns [from, to) of one source row: l + (r - l) * fx per channel; outside columns get 0 (the
 * blend overwrites them). */
static void hpass_scalar(const fgi_pixels *src, const void *row, const column *cols, int from,
                         int to, float *dst)
{
    const size_t ch = (size_t)src->channels;
    for (int x = from; x < to; x++) {
        const column *c = &cols[x];
        float *o = dst + (size_t)x * ch;
        for (size_t k = 0; k < ch; k++) {
            if (c->outside) {
                o[k] = 0.0f;
                continue;
            }
            const float l = element(src, row, c->l + k), r = element(src, row, c->r + k);
            o[k] = l + (r - l) * c->fx;
        }
    }
}

#ifdef FGI_X86
/* Column c's left (or right) pixel as four floats, the fourth from the next pixel. */
static __m128 pixel4(const fgi_pixels *src, const void *row, size_t offset)
{
    if (!src->u8) return _mm_loadu_ps((const float *)row + offset);
    uint32_t bytes;
    memcpy(&bytes, (const uint8_t *)row + offset, 4);
    const __m128i zero = _mm_setzero_si128();
    return _mm_cvtepi32_ps(
        _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128((int)bytes), zero), zero));
}

/* The same for three channels, a column per 4-float vector: each store's fourth lane is
 * overwritten by the next column, so the last column of the range is left to the caller. The
 * loads read one element past the pixel, hence the caller's range: columns whose neighbours are
 * not the row's last pixel. */
static void hpass_rgb_sse2(const fgi_pixels *src, const void *row, const column *cols, int from,
                           int to, float *dst)
{
    for (int x = from; x < to; x++) {
        const column *c = &cols[x];
        const __m128 l = pixel4(src, row, c->l), r = pixel4(src, row, c->r);
        _mm_storeu_ps(dst + (size_t)x * 3,
                      _mm_add_ps(l, _mm_mul_ps(_mm_sub_ps(r, l), _mm_set1_ps(c->fx))));
    }
}

/* The two columns' weights, each in four lanes. */
FGI_TARGET_AVX2 static __m256 weights8(const column *c, const column *d)
{
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(c->fx)), _mm_set1_ps(d->fx), 1);
}

/* l + (r - l) * fx of two columns, stored at column x's three values and x + 1's (whose store
 * reaches a lane into x + 2). */
FGI_TARGET_AVX2 static void blend2(__m256 l, __m256 r, __m256 fx, float *dst, int x)
{
    const __m256 v = _mm256_add_ps(l, _mm256_mul_ps(_mm256_sub_ps(r, l), fx));
    _mm_storeu_ps(dst + (size_t)x * 3, _mm256_castps256_ps128(v));
    _mm_storeu_ps(dst + (size_t)x * 3 + 3, _mm256_extractf128_ps(v, 1));
}

/* hpass_rgb_sse2 on a float row, two columns per 8-float vector. */
FGI_TARGET_AVX2 static void hpass_f32_avx2(const fgi_pixels *src, const float *row,
                                           const column *cols, int from, int to, float *dst)
{
    int x = from;
    for (; x + 1 < to; x += 2) {
        const column *c = &cols[x], *d = &cols[x + 1];
        const __m256 l = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(row + c->l)),
                                              _mm_loadu_ps(row + d->l), 1);
        const __m256 r = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(row + c->r)),
                                              _mm_loadu_ps(row + d->r), 1);
        blend2(l, r, weights8(c, d), dst, x);
    }
    hpass_rgb_sse2(src, row, cols, x, to, dst);
}

/* The same on an RGB8 row, with one load per column: the 8 bytes from the left neighbour hold
 * the right one too (3 bytes on), which is the right tap wherever fx is not 0; where fx is 0 the
 * right tap's weight is 0 and any value gives l. The loads reach 8 bytes from the left tap. */
FGI_TARGET_AVX2 static void hpass_u8_avx2(const fgi_pixels *src, const uint8_t *row,
                                          const column *cols, int from, int to, float *dst)
{
    /* Two columns' 8 bytes -> their left pixels (bytes 0..7, a zero after each), then the right
     * ones (8..15). */
    const __m128i split = _mm_setr_epi8(0, 1, 2, -1, 8, 9, 10, -1, 3, 4, 5, -1, 11, 12, 13, -1);
    int x = from;
    for (; x + 1 < to; x += 2) {
        const column *c = &cols[x], *d = &cols[x + 1];
        uint64_t a, b;
        memcpy(&a, row + c->l, 8);
        memcpy(&b, row + d->l, 8);
        const __m128i lr = _mm_shuffle_epi8(_mm_set_epi64x((long long)b, (long long)a), split);
        const __m256 l = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lr));
        const __m256 r = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(lr, lr)));
        blend2(l, r, weights8(c, d), dst, x);
    }
    hpass_rgb_sse2(src, row, cols, x, to, dst);
}
#endif

/* The horizontal pass of source row y into dst (out_w * channels floats). */
static void hpass(const fgi_pixels *src, size_t y, const column *cols, int out_w, int vec_from,
                  int vec_to, float *dst)
{
    const size_t elems = y * (size_t)src->width * (size_t)src->channels;
    const void *row = src->u8 ? (const void *)(src->u8 + elems) : (const void *)(src->f32 + elems);
#ifdef FGI_X86
    if (vec_from < vec_to) {
        hpass_scalar(src, row, cols, 0, vec_from, dst);
        if (fgi_have_avx2() && src->u8)
            hpass_u8_avx2(src, row, cols, vec_from, vec_to - 1, dst);
        else if (fgi_have_avx2())
            hpass_f32_avx2(src, row, cols, vec_from, vec_to - 1, dst);
        else
            hpass_rgb_sse2(src, row, cols, vec_from, vec_to - 1, dst);
        hpass_scalar(src, row, cols, vec_to - 1, out_w, dst);
        return;
    }
#else
    (void)vec_from, (void)vec_to;
#endif
    hpass_scalar(src, row, cols, 0, out_w, dst);
}

/* One output row: top + (bottom - top) * fy, then the normalisation. Inlined into a portable
 * and an AVX2 copy, which the compiler vectorises 4 and 8 floats wide. */
static inline __attribute__((always_inline)) void
blend_row(const float *top, const float *bottom, size_t n, float fy, fgi_norm norm, float *row)
{
    for (size_t i = 0; i < n; i++)
        row[i] = (top[i] + (bottom[i] - top[i]) * fy) / norm.div - norm.sub;
}

static void blend_portable(const float *top, const float *bottom, size_t n, float fy, fgi_norm norm,
                           float *row)
{
    blend_row(top, bottom, n, fy, norm, row);
}

#ifdef FGI_X86
FGI_TARGET_AVX2 static void blend_avx2(const float *top, const float *bottom, size_t n, float fy,
                                       fgi_norm norm, float *row)
{
    blend_row(top, bottom, n, fy, norm, row);
}
#endif

static void blend(const float *top, const float *bottom, size_t n, float fy, fgi_norm norm,
                  float *row)
{
#ifdef FGI_X86
    if (fgi_have_avx2()) {
        blend_avx2(top, bottom, n, fy, norm, row);
        return;
    }
#endif
    blend_portable(top, bottom, n, fy, norm, row);
}

/* Whether the vector passes may load `reach` elements from column c's taps. */
static int loadable(const column *c, size_t reach, size_t row_len)
{
    return !c->outside && c->l + reach <= row_len && c->r + reach <= row_len;
}

/* The columns whose taps the vector passes may load (three channels; the loads reach 8 bytes on
 * hpass_u8_avx2's path, 4 elements on the others): a range [*from, *to), empty when there is none.
 * Taps move monotonically with x, so the inside columns are one range. */
static void vector_columns(const fgi_pixels *src, const column *cols, int out_w, int *from, int *to)
{
    const size_t row_len = (size_t)src->width * 3, reach = src->u8 && fgi_have_avx2() ? 8 : 4;
    *from = *to = 0;
    if (src->channels != 3) return;
    int x = 0;
    while (x < out_w && !loadable(&cols[x], reach, row_len))
        x++;
    int end = x;
    while (end < out_w && loadable(&cols[end], reach, row_len))
        end++;
    *from = x;
    *to = end;
}

/* What every band of output rows of one resampling shares. */
typedef struct plan {
    const fgi_pixels *src;
    const column *cols;
    fgi_axis ay;
    fgi_norm nm;
    int out_w, vec_from, vec_to, any_outside, copy_rows;
    size_t row_len;
    float outside; /* the extrapolation value, normalised */
    float *out;
    float *caches; /* a band's two horizontal passes: 2 * row_len floats a band */
} plan;

/* Output rows [y0, y1), top and bottom the band's cached horizontal passes. */
static void resample_rows(const plan *p, float *top, float *bottom, int y0, int y1)
{
    const fgi_pixels *src = p->src;
    const size_t in_h = (size_t)src->height, in_w = (size_t)src->width, ch = (size_t)src->channels;
    const size_t row_len = p->row_len;
    const float m1h = (float)(in_h - 1);
    ptrdiff_t top_y = -1, bottom_y = -1; /* the source rows in top and bottom; -1: none */
    for (int y = y0; y < y1; y++) {
        float *row = p->out + (size_t)y * row_len;
        const float yi = p->ay.start + (float)y * p->ay.step;
        if (yi < 0 || yi > (float)(in_h - 1)) {
            for (size_t i = 0; i < row_len; i++)
                row[i] = p->outside;
            continue;
        }
        if (p->copy_rows) {
            const size_t first = (size_t)yi * in_w * ch;
            for (size_t i = 0; i < row_len; i++)
                row[i] = (src->u8 ? (float)src->u8[first + i] : src->f32[first + i]) / p->nm.div -
                         p->nm.sub;
            continue;
        }
        const float top_i = floorf(yi), bottom_i = fminf(m1h, ceilf(yi)), fy = yi - top_i;
        const ptrdiff_t t = (ptrdiff_t)top_i, b = (ptrdiff_t)bottom_i;
        /* Reuse what the previous output row computed: rows move down (or up, for a flipped box)
         * by less than one source row per output row when the crop enlarges. */
        if (t != top_y) {
            if (t == bottom_y) {
                float *swap = top;
                top = bottom;
                bottom = swap;
                bottom_y = top_y;
            } else {
                hpass(src, (size_t)t, p->cols, p->out_w, p->vec_from, p->vec_to, top);
            }
            top_y = t;
        }
        if (b != bottom_y && b != t) {
            hpass(src, (size_t)b, p->cols, p->out_w, p->vec_from, p->vec_to, bottom);
            bottom_y = b;
        }
        blend(top, b == t ? top : bottom, row_len, fy, p->nm, row);
        for (int x = 0; p->any_outside && x < p->out_w; x++)
            if (p->cols[x].outside)
                for (size_t k = 0; k < ch; k++)
                    row[(size_t)x * ch + k] = p->outside;
    }
}

static void band_rows(void *ctx, int band, int y0, int y1)
{
    const plan *p = ctx;
    float *top = p->caches + (size_t)band * 2 * p->row_len;
    resample_rows(p, top, top + p->row_len, y0, y1);
}

/* Output rows a band takes at least when the resampling is split among threads. */
#define BAND_ROWS 32

int fgi_bands(const fgi_runner *on, int n, int min_rows)
{
    int bands = on && on->run && on->bands > 1 ? on->bands : 1;
    bands = bands > n / min_rows ? n / min_rows : bands;
    return bands < 1 ? 1 : bands;
}

void fgi_run_bands(const fgi_runner *on, int n, int bands, fgi_band_fn fn, void *ctx)
{
    if (bands > 1)
        on->run(on->pool, n, bands, fn, ctx);
    else
        fn(ctx, 0, 0, n);
}

/* The resampling the public functions share. copy_rows: the wasm kernel's whole-row copy (see
 * fgi_crop_and_resize); on: bands of rows on other threads, or NULL. */
static int resample(const fgi_pixels *src, fgi_axis ax, fgi_axis ay, int out_w, int out_h,
                    float extrapolation, const fgi_norm *norm, int copy_rows, float *out,
                    const fgi_runner *on)
{
    if (!src || (!src->u8 == !src->f32) || src->width <= 0 || src->height <= 0 ||
        src->channels <= 0 || out_w <= 0 || out_h <= 0 || !out)
        return FG_EINVAL;
    const fgi_norm nm = norm ? *norm : (fgi_norm){1.0f, 0.0f};
    const size_t in_w = (size_t)src->width, ch = (size_t)src->channels;
    const size_t row_len = (size_t)out_w * ch;
    const float m1w = (float)(in_w - 1);
    const int bands = fgi_bands(on, out_h, BAND_ROWS);

    /* One block for the columns and each band's two cached horizontal passes; small resamplings
     * on the stack. */
    enum { STACK_COLS = 256, STACK_BANDS = 2 };
    column stack_cols[STACK_COLS];
    float stack_rows[STACK_BANDS * 2 * STACK_COLS * 3] __attribute__((aligned(FG_CACHE_LINE)));
    column *cols = stack_cols;
    float *caches = stack_rows;
    if (out_w > STACK_COLS || ch > 3 || bands > STACK_BANDS) {
        if (row_len > (SIZE_MAX - (size_t)out_w * sizeof *cols) / (2 * sizeof(float) * bands))
            return FG_ENOMEM;
        if (!(cols = malloc((size_t)out_w * sizeof *cols +
                            2 * (size_t)bands * row_len * sizeof(float))))
            return FG_ENOMEM;
        caches = (float *)(cols + out_w);
    }

    /* Each column's neighbours and weight, the same float operations as per pixel, once. */
    int any_outside = 0;
    for (int x = 0; x < out_w; x++) {
        const float xi = ax.start + (float)x * ax.step;
        column *c = &cols[x];
        c->outside = xi < 0 || xi > (float)(in_w - 1);
        any_outside |= c->outside;
        if (c->outside) continue;
        const float left_i = floorf(xi), right_i = fminf(m1w, ceilf(xi));
        c->fx = xi - left_i;
        c->l = (size_t)left_i * ch;
        c->r = (size_t)right_i * ch;
    }
    plan p = {.src = src,
              .cols = cols,
              .ay = ay,
              .nm = nm,
              .out_w = out_w,
              .any_outside = any_outside,
              .copy_rows = copy_rows,
              .row_len = row_len,
              .outside = extrapolation / nm.div - nm.sub,
              .out = out,
              .caches = caches};
    vector_columns(src, cols, out_w, &p.vec_from, &p.vec_to);
    /* Each row is computed from its own source rows whatever band it is in: the same values. */
    fgi_run_bands(on, out_h, bands, band_rows, &p);
    if (cols != stack_cols) free(cols);
    return FG_OK;
}

int fgi_resample_on(const fgi_pixels *src, fgi_axis x, fgi_axis y, int out_w, int out_h,
                    float extrapolation, const fgi_norm *norm, float *out, const fgi_runner *on)
{
    return resample(src, x, y, out_w, out_h, extrapolation, norm, 0, out, on);
}

int fgi_crop_and_resize(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                        float extrapolation, const fgi_norm *norm, float *out)
{
    return fgi_crop_and_resize_on(src, box, out_w, out_h, extrapolation, norm, out, NULL);
}

int fgi_crop_and_resize_on(const fgi_pixels *src, const float box[4], int out_w, int out_h,
                           float extrapolation, const fgi_norm *norm, float *out,
                           const fgi_runner *on)
{
    if (!src || src->width <= 0 || src->height <= 0) return FG_EINVAL;
    const float y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
    const float m1h = (float)(src->height - 1), m1w = (float)(src->width - 1);
    const float hscale = out_h > 1 ? (y2 - y1) * m1h / (float)(out_h - 1) : 0.0f;
    const float wscale = out_w > 1 ? (x2 - x1) * m1w / (float)(out_w - 1) : 0.0f;

    /* The kernel copies whole rows when the box maps pixel to pixel without interpolation. */
    const int same_size = (float)out_w == 1.0f + (x2 - x1) * m1w;
    const float ylf = out_h > 1 ? y1 * (float)src->height + hscale : (float)(0.5 * (y1 + y2) * m1h);
    const float xlf = out_w > 1 ? x1 * m1w + wscale : (float)(0.5 * (x1 + x2) * m1w);
    const int interpolates = ylf - floorf(ylf) != 0.0f || xlf - floorf(xlf) != 0.0f;
    const int copy_rows = x2 > x1 && x1 >= 0 && same_size && !interpolates;

    /* A single output row or column samples the box's middle (step 0 keeps it there). */
    const fgi_axis ay =
        out_h > 1 ? (fgi_axis){y1 * m1h, hscale} : (fgi_axis){(float)(0.5 * (y1 + y2) * m1h), 0.0f};
    const fgi_axis ax =
        out_w > 1 ? (fgi_axis){x1 * m1w, wscale} : (fgi_axis){(float)(0.5 * (x1 + x2) * m1w), 0.0f};
    return resample(src, ax, ay, out_w, out_h, extrapolation, norm, copy_rows, out, on);
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
