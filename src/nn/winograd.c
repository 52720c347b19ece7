/*
 * winograd.c - 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016), with tiles of 2x2 or 4x4 outputs:
 *   F(2x2, 3x3): each 2x2 tile from its 4x4 input tile, 16 multiplications per input and output
 *                channel pair instead of 36 (2.25-fold fewer);
 *   F(4x4, 3x3): each 4x4 tile from its 6x6 input tile, 36 instead of 144 (4-fold fewer), but
 *                its transformed weights are 36 floats per channel pair instead of 16, and its
 *                transforms multiply by 2, 4, 5 and 8 as well as add.
 * Where the map's size is not a multiple of the tile's, the last tiles are partly empty.
 *
 * The descriptor's ResNet spends 80% of its multiply-adds in such convolutions (35x35x32,
 * 17x17x64, 8x8x128), which XNNPACK runs directly at about 56% of the core's FMA peak. Per band
 * of tiles (row-major over the map), with A = m + 2 the input tile's side and E = A^2:
 *   1. input transform, V = B^T d B per tile and channel, into V[E][tiles][cin];
 *   2. E matrix products M[e] = V[e] U[e], U the transformed weights (computed once, in double,
 *      when the layer is made), stored by slices of 8 to 24 output channels (32 for the AVX-512
 *      products), each slice's cin rows contiguous: a product streams its slice in order and
 *      keeps it in L1 for every group of tiles (read with a row stride of cout, U[e]'s 64 KB
 *      for 128 channels missed L1 on every row, 512 bytes apart, and the products ran at a
 *      quarter of the core's peak);
 *   3. output transform, y = A^T M A per tile and channel, + bias (+ a residual), ReLU.
 * A band's V and M stay in L2. The rounding beyond a direct convolution's is in U and in the
 * sums of the transforms: a few units in the last place of float32 for F(2x2), some more for
 * F(4x4), whose transforms have larger coefficients (the unit test bounds both against a direct
 * convolution in double; the descriptor's largest error against face-api's went from 3.1e-7 to
 * 4.0e-7 with F(4x4) at 32 and 64 channels).
 *
 * Threads split a map's tiles in bands; a map of one band's tiles or fewer (8x8 and less) is
 * split by output channels instead (nn_wino_run says why).
 *
 * The AVX2+FMA kernels need cin and cout multiples of 8; other sizes, or a CPU without AVX2/FMA,
 * take the plain C loops, which compute the same transforms in the same order. Where the CPU has
 * AVX-512 and cout is a multiple of 32, the products run on 16-float vectors (the same sums in
 * the same order, so the same bits): on a Xeon with two 512-bit FMA units, the descriptor 4.6 ->
 * 3.8 ms on one thread, 2.7 -> 2.2 on two, with the tail's (conv.c); and so do the transforms
 * (winograd_tiles.h, one source for both widths; the input's where cin is a multiple of 16).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/nn.h"

#if defined(__x86_64__) || defined(__i386__)
#include "nn/avx2.h"
#define HAVE_X86 1
#endif

#define MAX_ELEMS 36 /* a 6x6 input tile, a 6x6 product (F(4x4, 3x3)) */

/* Tiles per band at most: V and M of a band stay in L2, and each band reads all of U. With
 * 4x4 tiles, 12 (a multiple of every register tile's) at 32 channels, where U is 147 KB; 16 at
 * 64, where U is 590 KB and one band fewer per thread pays (17x17x64: 82 instead of 88 us on
 * one thread, 47 instead of 53 on two; 35x35x32 took longer with 16). */
static int band_tiles_max(const nn_wino *wc)
{
    return wc->m == 2 ? 24 : wc->cin >= 64 ? 16 : 12;
}

/* Elements of a transformed tile: (m + 2)^2. */
static int tile_elems(const nn_wino *wc)
{
    return (wc->m + 2) * (wc->m + 2);
}

/* The vectors of 8 output channels of the slice at o: 24 channels a slice, 16 to end in two
 * equal slices rather than 24 + 8 (a product's register tile is 12 vectors: 4 tiles x 3, 6 x 2
 * or 12 x 1), per block of 64 channels (24 + 24 + 16), so that two threads can split a layer's
 * channels at 64 on slice boundaries. With AVX-512 (wc->wide), 32 channels a slice: two vectors
 * of 16 for 12 tiles. */
static int slice_vecs(const nn_wino *wc, int o)
{
    const int cout = wc->cout, left = cout - o > 64 ? 64 - o % 64 : cout - o;
    if (wc->wide) return 4;
    return left == 32 || left == 16 ? 2 : left >= 24 ? 3 : 1;
}

/* Channels of the slice at o (less than 8 vectors' only at the end of an odd cout). */
static int slice_width(const nn_wino *wc, int o)
{
    const int w = 8 * slice_vecs(wc, o);
    return w < wc->cout - o ? w : wc->cout - o;
}

/* Where U[e]'s slice at o starts: the slices before it hold o * cin floats. */
static size_t slice_at(const nn_wino *wc, int e, int o)
{
    return ((size_t)e * wc->cin * wc->cout) + (size_t)o * wc->cin;
}

/* The transforms (Lavin and Gray): U = G g G^T, V = B^T d B, y = A^T M A. F(2x2, 3x3) takes its
 * points at 0, 1, -1 and infinity, F(4x4, 3x3) at 0, 1, -1, 2, -2 and infinity. */
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

int nn_wino_init(nn_wino *wc, const float *hwio, const float *bias, int cin, int cout, int m,
                 fg_error *err)
{
    memset(wc, 0, sizeof *wc);
    if (cin < 1 || cout < 1)
        return fg_fail(err, FG_EINVAL, "a Winograd convolution needs channels in and out");
    if (m != 2 && m != 4)
        return fg_fail(err, FG_EINVAL, "Winograd tiles of %dx%d outputs: only 2x2 and 4x4", m, m);
    const int a = m + 2, elems = a * a;
    wc->u = fg_alloc_lines(sizeof(float) * (size_t)elems * (size_t)cin * (size_t)cout);
    wc->bias = fg_alloc_lines(sizeof(float) * (size_t)cout);
    if (!wc->u || !wc->bias) {
        nn_wino_free(wc);
        return fg_fail(err, FG_ENOMEM, "out of memory for a convolution's weights");
    }
    wc->cin = cin, wc->cout = cout, wc->m = m;
    wc->wide = cin % 8 == 0 && cout % 32 == 0 && fg_cpu_avx512();
    memcpy(wc->bias, bias, sizeof(float) * (size_t)cout);
    for (int o0 = 0, width; o0 < cout; o0 += width) {
        width = slice_width(wc, o0);
        for (int i = 0; i < cin; i++)
            for (int o = o0; o < o0 + width; o++) {
                double g[3][3], gg[6][3];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        g[ky][kx] = hwio[(((size_t)ky * 3 + kx) * cin + i) * cout + o];
                for (int r = 0; r < a; r++) {
                    const double *G = m == 4 ? G4[r] : G2[r];
                    for (int kx = 0; kx < 3; kx++)
                        gg[r][kx] = G[0] * g[0][kx] + G[1] * g[1][kx] + G[2] * g[2][kx];
                }
                for (int e = 0; e < elems; e++) {
                    const int r = e / a, c = e % a;
                    const double *G = m == 4 ? G4[c] : G2[c];
                    wc->u[slice_at(wc, e, o0) + (size_t)i * width + (o - o0)] =
                        (float)(gg[r][0] * G[0] + gg[r][1] * G[1] + gg[r][2] * G[2]);
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
    int o0, o1; /* output channels [o0, o1): whole slices */
} band;

static int band_tiles(const band *b)
{
    return b->t1 - b->t0;
}

/* ---- plain C ------------------------------------------------------------------------------ */

/* B^T d of 4 values (F(2x2, 3x3)), in place, d `step` apart. */
static void bt4(float *d, int step)
{
    const float d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step];
    d[0] = d0 - d2, d[step] = d1 + d2, d[2 * step] = d2 - d1, d[3 * step] = d1 - d3;
}

/* B^T d of 6 values (F(4x4, 3x3)), in place, d `step` apart. */
static void bt6(float *d, int step)
{
    const float d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step], d4 = d[4 * step],
                d5 = d[5 * step];
    const float t3 = d3 - d1, t4 = d4 - d2;
    d[0] = fmaf(4.0f, d0, fmaf(-5.0f, d2, d4));
    d[step] = fmaf(-4.0f, d1 + d2, d3 + d4);
    d[2 * step] = fmaf(4.0f, d1 - d2, d4 - d3);
    d[3 * step] = fmaf(2.0f, t3, t4);
    d[4 * step] = fmaf(-2.0f, t3, t4);
    d[5 * step] = fmaf(4.0f, d1, fmaf(-5.0f, d3, d5));
}

/* A^T m of 4 values into 2, or of 6 into 4, m `step` apart. */
static void at4(const float *p, int step, float *y, int ystep)
{
    y[0] = p[0] + p[step] + p[2 * step];
    y[ystep] = p[step] - p[2 * step] - p[3 * step];
}

static void at6(const float *p, int step, float *y, int ystep)
{
    const float a = p[step] + p[2 * step], b = p[step] - p[2 * step];
    const float c = p[3 * step] + p[4 * step], d = p[3 * step] - p[4 * step];
    y[0] = p[0] + a + c;
    y[ystep] = fmaf(2.0f, d, b);
    y[2 * ystep] = fmaf(4.0f, c, a);
    y[3 * ystep] = fmaf(8.0f, d, b) + p[5 * step];
}

/* B^T d B of one a x a tile, in place: columns then rows. */
static void input_transform(float *d, int a)
{
    for (int k = 0; k < a; k++)
        a == 6 ? bt6(d + k, 6) : bt4(d + k, 4);
    for (int k = 0; k < a; k++)
        a == 6 ? bt6(d + k * 6, 1) : bt4(d + k * 4, 1);
}

/* A^T p A of one a x a product into y (m x m): columns then rows. */
static void output_transform(const float *p, int a, float *y)
{
    float s[4 * 6];
    const int m = a - 2;
    for (int c = 0; c < a; c++)
        a == 6 ? at6(p + c, 6, s + c, 6) : at4(p + c, 4, s + c, 4);
    for (int r = 0; r < m; r++)
        a == 6 ? at6(s + r * 6, 1, y + r * 4, 1) : at4(s + r * 4, 1, y + r * 2, 1);
}

static void band_portable(const band *b, float *v, float *m)
{
    const nn_wino *wc = b->wc;
    const int cin = wc->cin, cout = wc->cout, n = band_tiles(b), tm = wc->m, a = tm + 2;
    const int elems = a * a;
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        for (int i = 0; i < cin; i++) {
            float d[MAX_ELEMS];
            for (int r = 0; r < a; r++)
                for (int c = 0; c < a; c++) {
                    const int iy = tm * ty - 1 + r, ix = tm * tx - 1 + c;
                    d[r * a + c] = iy < 0 || iy >= b->h || ix < 0 || ix >= b->w
                                       ? 0.0f
                                       : b->x[((size_t)iy * b->w + ix) * cin + i];
                }
            input_transform(d, a);
            for (int e = 0; e < elems; e++)
                v[((size_t)e * n + t) * cin + i] = d[e];
        }
    }
    for (int e = 0; e < elems; e++)
        for (int t = 0; t < n; t++) {
            float *q = m + ((size_t)e * n + t) * cout;
            const float *s = v + ((size_t)e * n + t) * cin;
            for (int o0 = b->o0, width; o0 < b->o1; o0 += width) {
                const float *u = wc->u + slice_at(wc, e, o0);
                width = slice_width(wc, o0);
                for (int o = 0; o < width; o++)
                    q[o0 + o] = 0.0f;
                for (int i = 0; i < cin; i++)
                    for (int o = 0; o < width; o++)
                        q[o0 + o] += s[i] * u[(size_t)i * width + o];
            }
        }
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        for (int o = b->o0; o < b->o1; o++) {
            float p[MAX_ELEMS], y[16];
            for (int e = 0; e < elems; e++)
                p[e] = m[((size_t)e * n + t) * cout + o];
            output_transform(p, a, y);
            for (int r = 0; r < tm; r++)
                for (int c = 0; c < tm; c++) {
                    const int oy = tm * ty + r, ox = tm * tx + c;
                    if (oy >= b->h || ox >= b->w) continue;
                    const size_t at = ((size_t)oy * b->w + ox) * cout + o;
                    float out = y[r * tm + c] + wc->bias[o];
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

/* The input transform for 8 channels at a time. */
#define WT_VEC __m256
#define WT_LANES 8
#define WT_NAME(f) f##_avx2
#define WT_TARGET NN_AVX2
#define WT_LOAD _mm256_loadu_ps
#define WT_STORE _mm256_storeu_ps
#define WT_ADD _mm256_add_ps
#define WT_SUB _mm256_sub_ps
#define WT_FMADD _mm256_fmadd_ps
#define WT_FNMADD _mm256_fnmadd_ps
#define WT_SET1 _mm256_set1_ps
#define WT_ZERO _mm256_setzero_ps
#define WT_MAX _mm256_max_ps
#include "nn/winograd_tiles.h"

/* And for 16 (AVX-512). */
#define WT_VEC __m512
#define WT_LANES 16
#define WT_NAME(f) f##_avx512
#define WT_TARGET NN_AVX512
#define WT_LOAD _mm512_loadu_ps
#define WT_STORE _mm512_storeu_ps
#define WT_ADD _mm512_add_ps
#define WT_SUB _mm512_sub_ps
#define WT_FMADD _mm512_fmadd_ps
#define WT_FNMADD _mm512_fnmadd_ps
#define WT_SET1 _mm512_set1_ps
#define WT_ZERO _mm512_setzero_ps
#define WT_MAX _mm512_max_ps
#include "nn/winograd_tiles.h"

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

/* While a slice of U (`width` channels at u) computes, the bytes of U that follow it (the next
 * slice's, at most 24 channels' worth; U is stored in the order the products read it) are
 * prefetched, a share before each of the slice's groups of tiles: out of cache, U[e] came in a
 * miss at a time. */
typedef struct prefetch {
    const char *next;
    size_t left, share;
} prefetch;

static INLINE prefetch prefetch_after(const nn_wino *wc, const float *u, int width, int groups)
{
    const float *end = wc->u + (size_t)tile_elems(wc) * wc->cin * wc->cout;
    const float *next = u + (size_t)wc->cin * width;
    const size_t most = (size_t)wc->cin * 24, rest = (size_t)(end - next);
    const size_t left = sizeof(float) * (rest < most ? rest : most);
    return (prefetch){(const char *)next, left, (left + (size_t)groups - 1) / (size_t)groups};
}

/* The share before the next group. */
static INLINE void prefetch_share(prefetch *pf)
{
    for (size_t at = 0; at < pf->share && at < pf->left; at += 64)
        _mm_prefetch(pf->next + at, _MM_HINT_T0);
    pf->next += pf->share;
    pf->left -= pf->left < pf->share ? pf->left : pf->share;
}

/* One slice of all n tiles' products, P tiles at a time. */
TARGET static INLINE void product_slice(const nn_wino *wc, const float *s, const float *u, float *q,
                                        int o, int v, int P, int n)
{
    const int cin = wc->cin, cout = wc->cout;
    prefetch pf = prefetch_after(wc, u, 8 * v, (n + P - 1) / P);
    for (int t = 0; t < n; t += P) {
        const float *st = s + (size_t)t * cin;
        prefetch_share(&pf);
        /* A whole tile with its count a constant: no test per tile in the cin loop. */
        if (n - t >= P)
            product_tile(st, u, q + (size_t)t * cout, cin, cout, o, v, P, P);
        else
            product_tile(st, u, q + (size_t)t * cout, cin, cout, o, v, P, n - t);
    }
}

TARGET static void products_avx2(const band *b, const float *v, float *m)
{
    const nn_wino *wc = b->wc;
    const int cin = wc->cin, cout = wc->cout, n = band_tiles(b), elems = tile_elems(wc);
    for (int e = 0; e < elems; e++) {
        const float *s = v + (size_t)e * n * cin;
        float *q = m + (size_t)e * n * cout;
        for (int o = b->o0, vecs; o < b->o1; o += 8 * vecs) {
            const float *u = wc->u + slice_at(wc, e, o);
            vecs = slice_vecs(wc, o);
            if (vecs == 3)
                product_slice(wc, s, u, q, o, 3, ACCS / 3, n);
            else if (vecs == 2)
                product_slice(wc, s, u, q, o, 2, ACCS / 2, n);
            else
                product_slice(wc, s, u, q, o, 1, ACCS, n);
        }
    }
}

/* products_avx2 with 16-float vectors, on U in slices of 32 channels (wc->wide): 12 tiles x 2
 * vectors a register tile, the same sums in the same order. */
#define TILES512 12

NN_AVX512 static NN_INLINE void product_tile512(const float *s, const float *u, float *q, int cin,
                                                int cout, int o, int np)
{
    __m512 acc[TILES512][3];
#pragma GCC unroll 14
    for (int p = 0; p < TILES512; p++)
        acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    nn_avx512_tile(acc, TILES512, s, (size_t)cin, u, 32, cin, 2, np);
#pragma GCC unroll 14
    for (int p = 0; p < TILES512; p++)
        if (p < np) {
            _mm512_storeu_ps(q + (size_t)p * cout + o, acc[p][0]);
            _mm512_storeu_ps(q + (size_t)p * cout + o + 16, acc[p][1]);
        }
}

NN_AVX512 static void products_avx512(const band *b, const float *v, float *m)
{
    const nn_wino *wc = b->wc;
    const int cin = wc->cin, cout = wc->cout, n = band_tiles(b), elems = tile_elems(wc);
    for (int e = 0; e < elems; e++) {
        const float *s = v + (size_t)e * n * cin;
        float *q = m + (size_t)e * n * cout;
        for (int o = b->o0; o < b->o1; o += 32) {
            const float *u = wc->u + slice_at(wc, e, o);
            prefetch pf = prefetch_after(wc, u, 32, (n + TILES512 - 1) / TILES512);
            for (int t = 0; t < n; t += TILES512) {
                const float *st = s + (size_t)t * cin;
                prefetch_share(&pf);
                /* A whole tile with its count a constant: no test per tile in the cin loop. */
                if (n - t >= TILES512)
                    product_tile512(st, u, q + (size_t)t * cout, cin, cout, o, TILES512);
                else
                    product_tile512(st, u, q + (size_t)t * cout, cin, cout, o, n - t);
            }
        }
    }
}

/* With AVX-512 (wc->wide: cout a multiple of 32, so every band's channels a multiple of 16) the
 * transforms take 16 channels at a time as well, the input's where cin is a multiple of 16: the
 * descriptor 3.30-3.48 -> 3.03-3.26 ms on one thread (best of 300, alternated three times). */
static void band_avx2(const band *b, float *v, float *m)
{
    const nn_wino *wc = b->wc;
    if (wc->wide && wc->cin % 16 == 0)
        input_avx512(b, v);
    else
        input_avx2(b, v);
    if (wc->wide)
        products_avx512(b, v, m);
    else
        products_avx2(b, v, m);
    if (wc->wide)
        output_avx512(b, m);
    else
        output_avx2(b, m);
}
#endif

/* ---- running ------------------------------------------------------------------------------ */

static int tiles_of(const nn_wino *wc, int size)
{
    return (size + wc->m - 1) / wc->m;
}

uint64_t nn_wino_macs(const nn_wino *wc, int h, int w)
{
    return (uint64_t)tiles_of(wc, h) * (uint64_t)tiles_of(wc, w) * (uint64_t)tile_elems(wc) *
           (uint64_t)wc->cin * (uint64_t)wc->cout;
}

size_t nn_wino_scratch(const nn_wino *wc)
{
    return (size_t)tile_elems(wc) * (size_t)band_tiles_max(wc) *
           ((size_t)wc->cin + (size_t)wc->cout);
}

typedef struct wino_task {
    band geometry;
    float *scratch;
    size_t per_band;
    int portable;
    int slots; /* by channels: how many parts the output channels are split into */
} wino_task;

static void run_band(const wino_task *t, const band *b, float *v)
{
    float *m = v + (size_t)tile_elems(b->wc) * (size_t)band_tiles(b) * (size_t)b->wc->cin;
#ifdef HAVE_X86
    if (!t->portable) {
        band_avx2(b, v, m);
        return;
    }
#endif
    band_portable(b, v, m);
}

/* The tiles [t0, t1) in as few bands as band_tiles_max allows, of equal sizes (not full bands
 * and a last one of a tile or two, which would read all of U for them), one after another in
 * the scratch of band slot `slot`. */
static void task_tiles(void *ctx, int slot, int t0, int t1)
{
    const wino_task *t = ctx;
    band b = t->geometry;
    const int most = band_tiles_max(b.wc), n = t1 - t0, bands = (n + most - 1) / most;
    for (int k = 0; k < bands; k++) {
        b.t0 = t0 + (int)((long)n * k / bands);
        b.t1 = t0 + (int)((long)n * (k + 1) / bands);
        run_band(t, &b, t->scratch + t->per_band * (size_t)slot);
    }
}

/* The first output channel of part k of `parts`: the start of the slice at or after k / parts of
 * cout. */
static int part_start(const nn_wino *wc, int k, int parts)
{
    const int want = (int)((long)wc->cout * k / parts);
    int o = 0;
    while (o < want)
        o += slice_width(wc, o);
    return o;
}

/* Part `slot` of the output channels of every tile (one band): each part transforms the whole
 * input, and computes its channels' products and outputs. */
static void task_channels(void *ctx, int slot, int from, int to)
{
    const wino_task *t = ctx;
    band b = t->geometry;
    (void)from, (void)to;
    b.o0 = part_start(b.wc, slot, t->slots);
    b.o1 = part_start(b.wc, slot + 1, t->slots);
    if (b.o0 < b.o1) run_band(t, &b, t->scratch + t->per_band * (size_t)slot);
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

static wino_task task_of(const nn_wino *wc, const float *x, const float *res, int relu, float *y,
                         int h, int w, float *scratch, int slots, int portable)
{
    const int tw = tiles_of(wc, w), tiles = tiles_of(wc, h) * tw;
    return (wino_task){{wc, x, res, y, h, w, relu, tw, 0, tiles, 0, wc->cout},
                       scratch,
                       nn_wino_scratch(wc),
                       portable,
                       slots};
}

void nn_wino_run(const nn_wino *wc, const float *x, const float *res, int relu, float *y, int h,
                 int w, float *scratch, int slots, const nn_runtime *rt)
{
    wino_task t = task_of(wc, x, res, relu, y, h, w, scratch, slots, use_portable(wc));
    const int tiles = t.geometry.t1;
    /* A map of one band's tiles (8x8 and less) splits its channels, so that each thread reads
     * only its share of U (2.4 MB by 4x4 tiles at 128 channels, more than L2): split by tiles,
     * every thread would read all of it for as few as 2 tiles' products. */
    if (slots > 1 && rt && tiles <= band_tiles_max(wc))
        nn_parallel_bands(rt, slots, slots, task_channels, &t);
    else
        nn_parallel_bands(rt, tiles, slots, task_tiles, &t);
}

void nn_wino_run_portable(const nn_wino *wc, const float *x, const float *res, int relu, float *y,
                          int h, int w, float *scratch)
{
    wino_task t = task_of(wc, x, res, relu, y, h, w, scratch, 1, 1);
    task_tiles(&t, 0, 0, t.geometry.t1);
}
