/*
 * resize.c - tfjs-exact resizeBilinear and face-api's toBatchTensor (pad to square + resize).
 *
 * The reference is the tfjs CPU kernel (alignCorners=false, halfPixelCenters=false), which
 * computes in double and rounds to float32 only on store:
 *   ratio = in/out; s = ratio*i; i0 = floor(s); i1 = min(in-1, ceil(s)); f = s - i0
 *   top = I[y0][x0] + (I[y0][x1] - I[y0][x0])*fx; bot likewise on y1; out = top + (bot-top)*fy
 * Doing exactly these double operations (no FMA: -ffp-contract=off) is bit-exact.
 *
 * Per output column and row the two source indices and the fraction are tabulated once. The
 * horizontal pass turns the (at most two) source rows of an output row into double rows; the
 * vertical pass blends them. Zero padding is virtual: a tap that falls in the padding has no
 * source index and reads as 0. Where the CPU has AVX2, both passes run 4 doubles at a time
 * (a pixel's three channels per vector; separate multiply and add), the same operations.
 *
 * Downscaling RGB8 to a power of two up to 256 a side (BlazeFace's 256 x 256 stretch) rounds in
 * no operation, in double or in float32 (exact_in_float says why), so it runs as fgi_resample_on's
 * float32 kernel instead, twice as many lanes per vector, with the same bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "image/image.h"
#include "image/simd.h"

/* Source offsets (in elements) of the two taps, or -1 when the tap lies in the padding. */
typedef struct axis_tap {
    ptrdiff_t lo, hi;
    double frac;
} axis_tap;

/* A source with `before` padding pixels, then `valid` image pixels, then padding, `padded` in
 * all, resized to `out_size`; `stride` elements between consecutive image pixels. */
static void build_taps(int padded, int before, int valid, ptrdiff_t stride, int out_size,
                       axis_tap *taps)
{
    const double ratio = (double)padded / (double)out_size;
    for (int i = 0; i < out_size; i++) {
        const double s = ratio * i;
        const double lo = floor(s);
        const double hi = fmin((double)(padded - 1), ceil(s));
        const ptrdiff_t lo_img = (ptrdiff_t)lo - before, hi_img = (ptrdiff_t)hi - before;
        taps[i].lo = lo_img >= 0 && lo_img < valid ? lo_img * stride : -1;
        taps[i].hi = hi_img >= 0 && hi_img < valid ? hi_img * stride : -1;
        taps[i].frac = s - lo;
    }
}

/* Columns [from, to) of one RGB8 source row (or padding when row is NULL) interpolated along x:
 * l + (r - l) * frac per channel, a tap in the padding reading 0. */
static void hpass_u8_edge(const uint8_t *row, const axis_tap *xt, int from, int to, double *dst)
{
    static const uint8_t zero[3];
    for (int c = from; c < to; c++) {
        const axis_tap t = xt[c];
        const uint8_t *l = row && t.lo >= 0 ? row + t.lo : zero;
        const uint8_t *r = row && t.hi >= 0 ? row + t.hi : zero;
        for (int ch = 0; ch < 3; ch++)
            dst[3 * c + ch] = l[ch] + ((double)r[ch] - l[ch]) * t.frac;
    }
}

/* The same for columns whose taps both lie in the image. */
static void hpass_u8_inside(const uint8_t *row, const axis_tap *xt, int from, int to, double *dst)
{
    for (int c = from; c < to; c++) {
        const axis_tap t = xt[c];
        const uint8_t *l = row + t.lo, *r = row + t.hi;
        for (int ch = 0; ch < 3; ch++)
            dst[3 * c + ch] = l[ch] + ((double)r[ch] - l[ch]) * t.frac;
    }
}

/* -1: not asked yet. */
static int use_avx2 = -1;

int fgi_have_avx2(void)
{
    if (use_avx2 < 0) use_avx2 = fg_cpu_avx2();
    return use_avx2;
}

void fgi_use_avx2(int on)
{
    use_avx2 = on && fg_cpu_avx2();
}

/* One output row: top + (bottom - top) * frac in double, to float, normalised. Inlined into a
 * portable and an AVX2 copy, which the compiler vectorises 2 and 4 doubles wide. */
static inline __attribute__((always_inline)) void
vblend_row(const double *top, const double *bot, size_t n, double frac, fgi_norm nm, float *o)
{
    for (size_t i = 0; i < n; i++)
        o[i] = (float)(top[i] + (bot[i] - top[i]) * frac) / nm.div - nm.sub;
}

static void vblend_portable(const double *top, const double *bot, size_t n, double frac,
                            fgi_norm nm, float *o)
{
    vblend_row(top, bot, n, frac, nm, o);
}

#ifdef FGI_X86
FGI_TARGET_AVX2 static void vblend_avx2(const double *top, const double *bot, size_t n, double frac,
                                        fgi_norm nm, float *o)
{
    vblend_row(top, bot, n, frac, nm, o);
}

/* hpass_u8_inside with a column's three channels in one 4-double vector (separate multiply and
 * add, as the scalar code). A pixel is loaded as 4 bytes, so no tap may be the row's last pixel;
 * the fourth lane lands on the next column, which overwrites it, so the caller does the last. */
FGI_TARGET_AVX2 static void hpass_u8_avx2(const uint8_t *row, const axis_tap *xt, int from, int to,
                                          double *dst)
{
    for (int c = from; c < to; c++) {
        const axis_tap t = xt[c];
        uint32_t lb, rb;
        memcpy(&lb, row + t.lo, 4);
        memcpy(&rb, row + t.hi, 4);
        const __m256d l = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)lb)));
        const __m256d r = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)rb)));
        const __m256d v =
            _mm256_add_pd(l, _mm256_mul_pd(_mm256_sub_pd(r, l), _mm256_set1_pd(t.frac)));
        _mm256_storeu_pd(dst + 3 * (size_t)c, v);
    }
}
#endif

/* The columns of a row by the way their taps may be read. Taps move right with the column, so
 * each kind is one range. */
typedef struct column_ranges {
    int inside_from, inside_to; /* both taps in the image */
    int vec_to; /* [inside_from, vec_to): neither tap the row's last pixel (4-byte loads) */
} column_ranges;

static column_ranges ranges_of(const axis_tap *xt, int out_w, ptrdiff_t last)
{
    column_ranges r = {0, 0, 0};
    while (r.inside_from < out_w && (xt[r.inside_from].lo < 0 || xt[r.inside_from].hi < 0))
        r.inside_from++;
    r.inside_to = r.inside_from;
    while (r.inside_to < out_w && xt[r.inside_to].lo >= 0 && xt[r.inside_to].hi >= 0)
        r.inside_to++;
    r.vec_to = r.inside_from;
    while (r.vec_to < r.inside_to && xt[r.vec_to].lo < last && xt[r.vec_to].hi < last)
        r.vec_to++;
    return r;
}

/* One RGB8 source row (or padding when row is NULL) interpolated along x into dst[out_w*3]. */
static void hpass_u8(const uint8_t *row, const axis_tap *xt, int out_w, const column_ranges *cr,
                     double *dst)
{
    if (!row) {
        for (size_t i = 0; i < (size_t)out_w * 3; i++)
            dst[i] = 0.0;
        return;
    }
    hpass_u8_edge(row, xt, 0, cr->inside_from, dst);
    int done = cr->inside_from;
#ifdef FGI_X86
    if (cr->vec_to - cr->inside_from > 1 && fgi_have_avx2()) {
        hpass_u8_avx2(row, xt, cr->inside_from, cr->vec_to - 1, dst);
        done = cr->vec_to - 1;
    }
#endif
    hpass_u8_inside(row, xt, done, cr->inside_to, dst);
    hpass_u8_edge(row, xt, cr->inside_to, out_w, dst);
}

static void hpass_f32(const float *row, const axis_tap *xt, int out_w, int channels, double *dst)
{
    for (int c = 0; c < out_w; c++) {
        const axis_tap t = xt[c];
        for (int ch = 0; ch < channels; ch++) {
            const double l = row && t.lo >= 0 ? row[t.lo + ch] : 0.0;
            const double r = row && t.hi >= 0 ? row[t.hi + ch] : 0.0;
            *dst++ = l + (r - l) * t.frac;
        }
    }
}

/* The source of a resize: RGB8 or f32 elements, `stride` elements per row. */
typedef struct resize_src {
    const uint8_t *u8;
    const float *f32;
    ptrdiff_t stride;
    int channels;
} resize_src;

static void hpass(const resize_src *src, ptrdiff_t row_offset, const axis_tap *xt, int out_w,
                  const column_ranges *cr, double *dst)
{
    if (src->u8)
        hpass_u8(row_offset >= 0 ? src->u8 + row_offset : NULL, xt, out_w, cr, dst);
    else
        hpass_f32(row_offset >= 0 ? src->f32 + row_offset : NULL, xt, out_w, src->channels, dst);
}

/* Resizes a (virtually padded) source: x/y describe the padding of each axis; each value is
 * then normalised (v / div - sub in float, as the tfjs ops after the resize). */
static int resize_padded(const resize_src *src, int padded_w, int before_x, int valid_w,
                         int padded_h, int before_y, int valid_h, int out_w, int out_h,
                         const fgi_norm *norm, float *out)
{
    const fgi_norm nm = norm ? *norm : (fgi_norm){1.0f, 0.0f};
    const size_t row_len = (size_t)out_w * (size_t)src->channels;
    /* One block: x taps, y taps, and the two horizontally interpolated rows. */
    axis_tap *xt =
        malloc(sizeof(axis_tap) * ((size_t)out_w + (size_t)out_h) + sizeof(double) * 2 * row_len);
    if (!xt) return FG_ENOMEM;
    axis_tap *yt = xt + out_w;
    double *top = (double *)(yt + out_h), *bot = top + row_len;

    build_taps(padded_w, before_x, valid_w, src->channels, out_w, xt);
    build_taps(padded_h, before_y, valid_h, src->stride, out_h, yt);
    const column_ranges cr = ranges_of(xt, out_w, (ptrdiff_t)(valid_w - 1) * src->channels);
    ptrdiff_t top_row = -2, bot_row = -2; /* -2: nothing computed yet (-1 is padding) */
    for (int r = 0; r < out_h; r++) {
        const axis_tap t = yt[r];
        /* Upscaling reuses source rows: only recompute a row when it changes. */
        if (t.lo != top_row) {
            if (t.lo == bot_row) {
                double *swap = top;
                top = bot;
                bot = swap;
                bot_row = top_row;
            } else {
                hpass(src, t.lo, xt, out_w, &cr, top);
            }
            top_row = t.lo;
        }
        /* Both taps on one source row (s is whole): the bottom row is the top one. */
        if (t.hi != bot_row && t.hi != t.lo) {
            hpass(src, t.hi, xt, out_w, &cr, bot);
            bot_row = t.hi;
        }
        const double *b = t.hi == t.lo ? top : bot;
        float *o = out + (size_t)r * row_len;
#ifdef FGI_X86
        if (fgi_have_avx2()) {
            vblend_avx2(top, b, row_len, t.frac, nm, o);
            continue;
        }
#endif
        vblend_portable(top, b, row_len, t.frac, nm, o);
    }
    free(xt);
    return FG_OK;
}

static int sizes_ok(int in_w, int in_h, int out_w, int out_h)
{
    return in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0;
}

/* Whether float32 computes an axis of an RGB8 resize exactly, and so gives the double kernel's
 * bits: out a power of two 2^k <= 256, out <= in < 2^16 (upscaling reaches past in - 1, where
 * fgi_resample_on extrapolates and resizeBilinear clamps). The ratio in / 2^k and every position
 * i * ratio (< in, a multiple of 2^-k) are then exact, fractions are multiples of 2^-k, a
 * horizontal blend is a multiple of 2^-k in [0, 255] (8 + k bits) and a vertical one a multiple
 * of 2^-2k in [0, 255] (8 + 2k <= 24 bits, float's significand): no operation rounds. The
 * tfjs-wasm kernel computes in float32 and gives these bits too (BlazeFace's 256 x 256 golden
 * input). */
static int exact_in_float(int in, int out)
{
    return in < 65536 && out <= 256 && out <= in && (out & (out - 1)) == 0;
}

int fgi_resize_bilinear_u8(const uint8_t *rgb, int in_w, int in_h, int out_w, int out_h,
                           const fgi_norm *norm, float *out)
{
    return fgi_resize_bilinear_u8_on(rgb, in_w, in_h, out_w, out_h, norm, out, NULL);
}

int fgi_resize_bilinear_u8_on(const uint8_t *rgb, int in_w, int in_h, int out_w, int out_h,
                              const fgi_norm *norm, float *out, const fgi_runner *on)
{
    if (!rgb || !out || !sizes_ok(in_w, in_h, out_w, out_h)) return FG_EINVAL;
    if (exact_in_float(in_w, out_w) && exact_in_float(in_h, out_h)) {
        /* The float kernel: 8 lanes where double has 4, and no conversion per element. */
        const fgi_pixels src = {rgb, NULL, in_w, in_h, 3};
        const fgi_axis x = {0.0f, (float)in_w / (float)out_w},
                       y = {0.0f, (float)in_h / (float)out_h};
        return fgi_resample_on(&src, x, y, out_w, out_h, 0.0f, norm, out, on);
    }
    const resize_src src = {.u8 = rgb, .stride = (ptrdiff_t)in_w * 3, .channels = 3};
    return resize_padded(&src, in_w, 0, in_w, in_h, 0, in_h, out_w, out_h, norm, out);
}

int fgi_resize_bilinear_f32(const float *hwc, int in_w, int in_h, int channels, int out_w,
                            int out_h, float *out)
{
    if (!hwc || !out || channels <= 0 || !sizes_ok(in_w, in_h, out_w, out_h)) return FG_EINVAL;
    const resize_src src = {.f32 = hwc, .stride = (ptrdiff_t)in_w * channels, .channels = channels};
    return resize_padded(&src, in_w, 0, in_w, in_h, 0, in_h, out_w, out_h, NULL, out);
}

/* padToSquare + resize of a w x h RGB8 region whose rows are `stride` bytes apart. */
static int batch_tensor(const uint8_t *rgb, ptrdiff_t stride, int w, int h, int input_size,
                        int is_center, float *out)
{
    if (!rgb || !out || !sizes_ok(w, h, input_size, input_size)) return FG_EINVAL;
    const int side = w > h ? w : h;
    const int diff_x = side - w, diff_y = side - h;
    /* After the image: round(diff * 0.5), JS rounding (x.5 up) = (diff + 1) / 2; the rest
     * goes before it. Not centred: everything after. */
    const int before_x = is_center ? diff_x - (diff_x + 1) / 2 : 0;
    const int before_y = is_center ? diff_y - (diff_y + 1) / 2 : 0;
    const resize_src src = {.u8 = rgb, .stride = stride, .channels = 3};
    return resize_padded(&src, side, before_x, w, side, before_y, h, input_size, input_size, NULL,
                         out);
}

int fgi_to_batch_tensor(const uint8_t *rgb, int w, int h, int input_size, int is_center, float *out)
{
    return batch_tensor(rgb, (ptrdiff_t)w * 3, w, h, input_size, is_center, out);
}

int fgi_rect_to_batch_tensor(const fg_image *img, fg_rect rect, int input_size, int is_center,
                             float *out)
{
    if (!img || !img->rgb || rect.width <= 0 || rect.height <= 0 || rect.x < 0 || rect.y < 0 ||
        rect.x > img->width - rect.width || rect.y > img->height - rect.height)
        return FG_EINVAL;
    const ptrdiff_t stride = (ptrdiff_t)img->width * 3;
    return batch_tensor(img->rgb + rect.y * stride + (ptrdiff_t)rect.x * 3, stride, rect.width,
                        rect.height, input_size, is_center, out);
}
