/*
 * winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and
 * Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 tile of outputs is
 * computed from its 4x4 input tile with 16 multiplications per input and output channel pair
 * instead of 36, so a layer's multiply-adds drop 2.25-fold (a little less where the map has an
 * odd size and the last tiles are half empty).
 *
 * The descriptor's ResNet spends 80% of its multiply-adds in such convolutions (35x35x32,
 * 17x17x64, 8x8x128), which XNNPACK runs directly at about 56% of the core's FMA peak. Per band
 * of 2x2 tiles (row-major over the map):
 *   1. input transform, V = B^T d B per tile and channel, into V[16][tiles][cin];
 *   2. 16 matrix products M[e] = V[e] U[e], U the transformed weights (computed once, in
 *      double, when the layer is made), stored by slices of 8 to 24 output channels, each slice's
 *      cin rows contiguous: a product streams its slice in order and keeps it in L1 for every
 *      group of tiles (read with a row stride of cout, U[e]'s 64 KB for 128 channels missed L1
 *      on every row, 512 bytes apart, and the products ran at a quarter of the core's peak);
 *   3. output transform, y = A^T M A per tile and channel, + bias (+ a residual), ReLU.
 * A band's V and M stay in L2. The transforms only add and subtract; the only rounding beyond a
 * direct convolution's is in U and in the sums of the transforms, a few units in the last place
 * of float32 (the unit test bounds it against a direct convolution in double).
 *
 * The AVX2+FMA kernels need cin and cout multiples of 8; other sizes, or a CPU without AVX2/FMA,
 * take the plain C loops, which compute the same transforms in the same order.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
#define HAVE_X86 1
#endif

#define TILE_ELEMS 16 /* a 4x4 input tile, a 4x4 product */
/* Tiles per band, a multiple of every register tile's: V and M of a band stay in L2. */
#define BAND_TILES 24

/* The vectors of 8 output channels of the slice at o: 24 channels a slice, 16 to end in two
 * equal slices rather than 24 + 8 (a product's register tile is 12 vectors: 4 tiles x 3, 6 x 2
 * or 12 x 1). */
static int slice_vecs(int cout, int o)
{
    const int left = cout - o;
    return left == 32 || left == 16 ? 2 : left >= 24 ? 3 : 1;
}

/* Channels of the slice at o (less than 8 vectors' only at the end of an odd cout). */
static int slice_width(int cout, int o)
{
    const int w = 8 * slice_vecs(cout, o);
    return w < cout - o ? w : cout - o;
}

/* Where U[e]'s slice at o starts: the slices before it hold o * cin floats. */
static size_t slice_at(const nn_wino *wc, int e, int o)
{
    return ((size_t)e * wc->cin * wc->cout) + (size_t)o * wc->cin;
}

int nn_wino_init(nn_wino *wc, const float *hwio, const float *bias, int cin, int cout,
                 fg_error *err)
{
    /* G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], U = G g G^T. */
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    memset(wc, 0, sizeof *wc);
    if (cin < 1 || cout < 1)
        return fg_fail(err, FG_EINVAL, "a Winograd convolution needs channels in and out");
    wc->u = fg_alloc_lines(sizeof(float) * TILE_ELEMS * (size_t)cin * (size_t)cout);
    wc->bias = fg_alloc_lines(sizeof(float) * (size_t)cout);
    if (!wc->u || !wc->bias) {
        nn_wino_free(wc);
        return fg_fail(err, FG_ENOMEM, "out of memory for a convolution's weights");
    }
    wc->cin = cin, wc->cout = cout;
    memcpy(wc->bias, bias, sizeof(float) * (size_t)cout);
    for (int o0 = 0, width; o0 < cout; o0 += width) {
        width = slice_width(cout, o0);
        for (int i = 0; i < cin; i++)
            for (int o = o0; o < o0 + width; o++) {
                double g[3][3], gg[4][3];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        g[ky][kx] = hwio[(((size_t)ky * 3 + kx) * cin + i) * cout + o];
                for (int r = 0; r < 4; r++)
                    for (int kx = 0; kx < 3; kx++)
                        gg[r][kx] = G[r][0] * g[0][kx] + G[r][1] * g[1][kx] + G[r][2] * g[2][kx];
                for (int e = 0; e < TILE_ELEMS; e++) {
                    const int r = e / 4, c = e % 4;
                    wc->u[slice_at(wc, e, o0) + (size_t)i * width + (o - o0)] =
                        (float)(gg[r][0] * G[c][0] + gg[r][1] * G[c][1] + gg[r][2] * G[c][2]);
                }
            }
    }
    return FG_OK;
}

void nn_wino_free(nn_wino *wc)
{
    if (!wc) return;
    free(wc->u);
    free(wc->bias);
    memset(wc, 0, sizeof *wc);
}

/* The band's geometry: tiles [t0, t1) of the map's tiles in row-major order, tw a row. */
typedef struct band {
    const nn_wino *wc;
    const float *x, *res;
    float *y;
    int h, w, relu, tw, t0, t1;
} band;

static int band_tiles(const band *b)
{
    return b->t1 - b->t0;
}

/* ---- plain C ------------------------------------------------------------------------------ */

/* B^T d B of one 4x4 tile, in place: rows then columns. */
static void input_transform(float d[4][4])
{
    for (int c = 0; c < 4; c++) {
        const float d0 = d[0][c], d1 = d[1][c], d2 = d[2][c], d3 = d[3][c];
        d[0][c] = d0 - d2, d[1][c] = d1 + d2, d[2][c] = d2 - d1, d[3][c] = d1 - d3;
    }
    for (int r = 0; r < 4; r++) {
        const float d0 = d[r][0], d1 = d[r][1], d2 = d[r][2], d3 = d[r][3];
        d[r][0] = d0 - d2, d[r][1] = d1 + d2, d[r][2] = d2 - d1, d[r][3] = d1 - d3;
    }
}

/* A^T m A of one 4x4 product: rows then columns. */
static void output_transform(const float m[4][4], float y[2][2])
{
    float s[2][4];
    for (int c = 0; c < 4; c++) {
        s[0][c] = m[0][c] + m[1][c] + m[2][c];
        s[1][c] = m[1][c] - m[2][c] - m[3][c];
    }
    for (int r = 0; r < 2; r++) {
        y[r][0] = s[r][0] + s[r][1] + s[r][2];
        y[r][1] = s[r][1] - s[r][2] - s[r][3];
    }
}

static void band_portable(const band *b, float *v, float *m)
{
    const nn_wino *wc = b->wc;
    const int cin = wc->cin, cout = wc->cout, n = band_tiles(b);
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        for (int i = 0; i < cin; i++) {
            float d[4][4];
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    const int iy = 2 * ty - 1 + r, ix = 2 * tx - 1 + c;
                    d[r][c] = iy < 0 || iy >= b->h || ix < 0 || ix >= b->w
                                  ? 0.0f
                                  : b->x[((size_t)iy * b->w + ix) * cin + i];
                }
            input_transform(d);
            for (int e = 0; e < TILE_ELEMS; e++)
                v[((size_t)e * n + t) * cin + i] = d[e / 4][e % 4];
        }
    }
    for (int e = 0; e < TILE_ELEMS; e++)
        for (int t = 0; t < n; t++) {
            float *q = m + ((size_t)e * n + t) * cout;
            const float *s = v + ((size_t)e * n + t) * cin;
            for (int o0 = 0, width; o0 < cout; o0 += width) {
                const float *u = wc->u + slice_at(wc, e, o0);
                width = slice_width(cout, o0);
                for (int o = 0; o < width; o++)
                    q[o0 + o] = 0.0f;
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < width; o++)
                        q[o0 + o] += s[i] * u[(size_t)i * width + o];
            }
        }
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        for (int o = 0; o < cout; o++) {
            float p[4][4], y[2][2];
            for (int e = 0; e < TILE_ELEMS; e++)
                p[e / 4][e % 4] = m[((size_t)e * n + t) * cout + o];
            output_transform((const float(*)[4])p, y);
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 2; c++) {
                    const int oy = 2 * ty + r, ox = 2 * tx + c;
                    if (oy >= b->h || ox >= b->w) continue;
                    const size_t at = ((size_t)oy * b->w + ox) * cout + o;
                    float out = y[r][c] + wc->bias[o];
                    if (b->res) out += b->res[at];
                    b->y[at] = b->relu && out < 0.0f ? 0.0f : out;
                }
        }
    }
}

/* ---- AVX2 + FMA --------------------------------------------------------------------------- */

#ifdef HAVE_X86
#define TARGET NN_AVX2
#define INLINE NN_INLINE
#define ACCS 12 /* accumulators of a product's register tile: tiles x channel vectors */

TARGET static void input_avx2(const band *b, float *v)
{
    const int cin = b->wc->cin, n = band_tiles(b);
    const __m256 zero = _mm256_setzero_ps();
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        const float *rows[4];
        int live[4];
        for (int k = 0; k < 4; k++) {
            const int iy = 2 * ty - 1 + k, ix = 2 * tx - 1 + k;
            rows[k] = iy >= 0 && iy < b->h ? b->x + (size_t)iy * b->w * cin : NULL;
            live[k] = ix >= 0 && ix < b->w;
        }
        for (int i = 0; i < cin; i += 8) {
            __m256 d[4][4];
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
                for (int c = 0; c < 4; c++)
                    d[r][c] = rows[r] && live[c]
                                  ? _mm256_loadu_ps(rows[r] + (size_t)(2 * tx - 1 + c) * cin + i)
                                  : zero;
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                const __m256 d0 = d[0][c], d1 = d[1][c], d2 = d[2][c], d3 = d[3][c];
                d[0][c] = _mm256_sub_ps(d0, d2), d[1][c] = _mm256_add_ps(d1, d2);
                d[2][c] = _mm256_sub_ps(d2, d1), d[3][c] = _mm256_sub_ps(d1, d3);
            }
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                const __m256 d0 = d[r][0], d1 = d[r][1], d2 = d[r][2], d3 = d[r][3];
                float *q = v + ((size_t)(r * 4) * n + t) * cin + i;
                _mm256_storeu_ps(q, _mm256_sub_ps(d0, d2));
                _mm256_storeu_ps(q + (size_t)n * cin, _mm256_add_ps(d1, d2));
                _mm256_storeu_ps(q + 2 * (size_t)n * cin, _mm256_sub_ps(d2, d1));
                _mm256_storeu_ps(q + 3 * (size_t)n * cin, _mm256_sub_ps(d1, d3));
            }
        }
    }
}

/* Output channels [o, o + 8 v) of np <= P tiles' products (P v = ACCS): q = s U, s cin apart,
 * q cout apart, u the slice (8 v floats a row). */
TARGET static INLINE void product_tile(const float *s, const float *u, float *q, int cin, int cout,
                                       int o, int v, int P, int np)
{
    __m256 acc[ACCS][3];
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            if (k < v) acc[p][k] = _mm256_setzero_ps();
    nn_avx2_tile(acc, P, s, (size_t)cin, u, (size_t)(8 * v), cin, v, np);
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 3
        for (int k = 0; k < 3; k++)
            if (p < np && k < v) _mm256_storeu_ps(q + (size_t)p * cout + o + 8 * k, acc[p][k]);
}

/* One slice of all n tiles' products, P tiles at a time, while the `ahead` bytes of U that
 * follow the slice (the next slice's; U is stored in the order the products read it) are
 * prefetched, a share before each group: out of cache, U[e] came in a miss at a time. */
TARGET static INLINE void product_slice(const float *s, const float *u, float *q, int cin, int cout,
                                        int o, int v, int P, int n, size_t ahead)
{
    const char *next = (const char *)(u + (size_t)cin * 8 * v);
    const size_t groups = (size_t)(n + P - 1) / P, share = (ahead + groups - 1) / groups;
    for (int t = 0; t < n; t += P, ahead -= ahead < share ? ahead : share) {
        for (size_t at = 0; at < share && at < ahead; at += 64)
            _mm_prefetch(next + at, _MM_HINT_T0);
        next += share;
        product_tile(s + (size_t)t * cin, u, q + (size_t)t * cout, cin, cout, o, v, P,
                     n - t < P ? n - t : P);
    }
}

TARGET static void products_avx2(const band *b, const float *v, float *m)
{
    const nn_wino *wc = b->wc;
    const int cin = wc->cin, cout = wc->cout, n = band_tiles(b);
    const float *end = wc->u + (size_t)TILE_ELEMS * cin * cout;
    for (int e = 0; e < TILE_ELEMS; e++) {
        const float *s = v + (size_t)e * n * cin;
        float *q = m + (size_t)e * n * cout;
        for (int o = 0, vecs; o < cout; o += 8 * vecs) {
            const float *u = wc->u + slice_at(wc, e, o);
            vecs = slice_vecs(cout, o);
            const size_t left = (size_t)(end - (u + (size_t)cin * 8 * vecs));
            const size_t ahead =
                sizeof(float) * (left < (size_t)cin * 24 ? left : (size_t)cin * 24);
            if (vecs == 3)
                product_slice(s, u, q, cin, cout, o, 3, ACCS / 3, n, ahead);
            else if (vecs == 2)
                product_slice(s, u, q, cin, cout, o, 2, ACCS / 2, n, ahead);
            else
                product_slice(s, u, q, cin, cout, o, 1, ACCS, n, ahead);
        }
    }
}

TARGET static void output_avx2(const band *b, const float *m)
{
    const int cout = b->wc->cout, n = band_tiles(b);
    const __m256 zero = _mm256_setzero_ps();
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        const int rows = 2 * ty + 1 < b->h ? 2 : 1, cols = 2 * tx + 1 < b->w ? 2 : 1;
        for (int o = 0; o < cout; o += 8) {
            __m256 s[2][4];
            const float *p = m + (size_t)t * cout + o;
            const size_t step = (size_t)n * cout;
#pragma GCC unroll 4
            for (int c = 0; c < 4; c++) {
                const __m256 m0 = _mm256_loadu_ps(p + (size_t)c * step);
                const __m256 m1 = _mm256_loadu_ps(p + (size_t)(4 + c) * step);
                const __m256 m2 = _mm256_loadu_ps(p + (size_t)(8 + c) * step);
                const __m256 m3 = _mm256_loadu_ps(p + (size_t)(12 + c) * step);
                s[0][c] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                s[1][c] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            const __m256 bias = _mm256_loadu_ps(b->wc->bias + o);
#pragma GCC unroll 2
            for (int r = 0; r < 2; r++) {
                if (r >= rows) continue;
                __m256 y[2];
                y[0] = _mm256_add_ps(_mm256_add_ps(s[r][0], s[r][1]), s[r][2]);
                y[1] = _mm256_sub_ps(_mm256_sub_ps(s[r][1], s[r][2]), s[r][3]);
#pragma GCC unroll 2
                for (int c = 0; c < 2; c++) {
                    if (c >= cols) continue;
                    const size_t at = ((size_t)(2 * ty + r) * b->w + 2 * tx + c) * cout + o;
                    __m256 out = _mm256_add_ps(y[c], bias);
                    if (b->res) out = _mm256_add_ps(out, _mm256_loadu_ps(b->res + at));
                    if (b->relu) out = _mm256_max_ps(out, zero);
                    _mm256_storeu_ps(b->y + at, out);
                }
            }
        }
    }
}

static void band_avx2(const band *b, float *v, float *m)
{
    input_avx2(b, v);
    products_avx2(b, v, m);
    output_avx2(b, m);
}
#endif

/* ---- running ------------------------------------------------------------------------------ */

static int tiles_of(int size)
{
    return (size + 1) / 2;
}

uint64_t nn_wino_macs(const nn_wino *wc, int h, int w)
{
    return (uint64_t)tiles_of(h) * (uint64_t)tiles_of(w) * 16u * (uint64_t)wc->cin *
           (uint64_t)wc->cout;
}

size_t nn_wino_scratch(const nn_wino *wc)
{
    return TILE_ELEMS * (size_t)BAND_TILES * ((size_t)wc->cin + (size_t)wc->cout);
}

typedef struct wino_task {
    band geometry;
    float *scratch;
    size_t per_band;
    int portable;
} wino_task;

/* Bands of the tiles [t0, t1), one after another, in the scratch of band slot `slot`. */
static void run_tiles(const wino_task *t, int slot, int t0, int t1)
{
    band b = t->geometry;
    float *v = t->scratch + t->per_band * (size_t)slot;
    for (int at = t0; at < t1; at += BAND_TILES) {
        b.t0 = at;
        b.t1 = at + BAND_TILES < t1 ? at + BAND_TILES : t1;
        float *m = v + TILE_ELEMS * (size_t)band_tiles(&b) * (size_t)b.wc->cin;
#ifdef HAVE_X86
        if (!t->portable) {
            band_avx2(&b, v, m);
            continue;
        }
#endif
        band_portable(&b, v, m);
    }
}

static void task_tiles(void *ctx, int slot, int t0, int t1)
{
    run_tiles(ctx, slot, t0, t1);
}

static int use_portable(const nn_wino *wc)
{
#ifdef HAVE_X86
    return wc->cin % 8 != 0 || wc->cout % 8 != 0 || !fg_cpu_avx2_fma();
#else
    (void)wc;
    return 1;
#endif
}

void nn_wino_run(const nn_wino *wc, const float *x, const float *res, int relu, float *y, int h,
                 int w, float *scratch, int slots, const nn_runtime *rt)
{
    wino_task t = {{wc, x, res, y, h, w, relu, tiles_of(w), 0, 0},
                   scratch,
                   nn_wino_scratch(wc),
                   use_portable(wc)};
    nn_parallel_bands(rt, tiles_of(h) * tiles_of(w), slots, task_tiles, &t);
}

void nn_wino_run_portable(const nn_wino *wc, const float *x, const float *res, int relu, float *y,
                          int h, int w, float *scratch)
{
    wino_task t = {{wc, x, res, y, h, w, relu, tiles_of(w), 0, 0}, scratch, nn_wino_scratch(wc), 1};
    run_tiles(&t, 0, 0, tiles_of(h) * tiles_of(w));
}
