/*
 * winograd_tiles.h - the Winograd input and output transforms of nn/winograd.c on SIMD vectors,
 * one source for two widths: winograd.c includes it once for AVX2 (8 floats) and once for
 * AVX-512 (16), each time with these defined (and undefined here after use):
 *   WT_VEC the vector type, WT_LANES its floats, WT_NAME(f) f with the width's suffix,
 *   WT_TARGET the functions' target attribute, and the operations WT_LOAD, WT_STORE, WT_ADD,
 *   WT_SUB, WT_FMADD, WT_FNMADD, WT_SET1, WT_ZERO, WT_MAX (the width's intrinsics); it uses
 *   winograd.c's band, band_tiles and INLINE.
 * Both widths do the same operations on each channel in the same order, so the same bits. The
 * input side needs cin, the output side the band's output channels, a multiple of WT_LANES.
 */

/* bt4 and bt6 on vectors of WT_LANES channels, d[k * step]. */
WT_TARGET static INLINE void WT_NAME(bt4)(WT_VEC *d, int step)
{
    const WT_VEC d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step];
    d[0] = WT_SUB(d0, d2), d[step] = WT_ADD(d1, d2);
    d[2 * step] = WT_SUB(d2, d1), d[3 * step] = WT_SUB(d1, d3);
}

WT_TARGET static INLINE void WT_NAME(bt6)(WT_VEC *d, int step)
{
    const WT_VEC d0 = d[0], d1 = d[step], d2 = d[2 * step], d3 = d[3 * step], d4 = d[4 * step],
                 d5 = d[5 * step];
    const WT_VEC four = WT_SET1(4.0f), five = WT_SET1(-5.0f), two = WT_SET1(2.0f);
    const WT_VEC t3 = WT_SUB(d3, d1), t4 = WT_SUB(d4, d2);
    d[0] = WT_FMADD(four, d0, WT_FMADD(five, d2, d4));
    d[step] = WT_FNMADD(four, WT_ADD(d1, d2), WT_ADD(d3, d4));
    d[2 * step] = WT_FMADD(four, WT_SUB(d1, d2), WT_SUB(d4, d3));
    d[3 * step] = WT_FMADD(two, t3, t4);
    d[4 * step] = WT_FNMADD(two, t3, t4);
    d[5 * step] = WT_FMADD(four, d1, WT_FMADD(five, d3, d5));
}

/* V of the band's tiles: a x a (A = 4 or 6) input tiles, m = A - 2 apart. */
WT_TARGET static INLINE void WT_NAME(input_tiles)(const band *b, float *v, const int A)
{
    const int cin = b->wc->cin, n = band_tiles(b), m = A - 2;
    const WT_VEC zero = WT_ZERO();
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        const float *rows[6];
        int live[6];
        for (int k = 0; k < A; k++) {
            const int iy = m * ty - 1 + k, ix = m * tx - 1 + k;
            rows[k] = iy >= 0 && iy < b->h ? b->x + (size_t)iy * b->w * cin : NULL;
            live[k] = ix >= 0 && ix < b->w;
        }
        for (int i = 0; i < cin; i += WT_LANES) {
            WT_VEC d[36];
#pragma GCC unroll 6
            for (int r = 0; r < A; r++)
#pragma GCC unroll 6
                for (int c = 0; c < A; c++)
                    d[r * A + c] = rows[r] && live[c]
                                       ? WT_LOAD(rows[r] + (size_t)(m * tx - 1 + c) * cin + i)
                                       : zero;
#pragma GCC unroll 6
            for (int c = 0; c < A; c++)
                A == 6 ? WT_NAME(bt6)(d + c, 6) : WT_NAME(bt4)(d + c, 4);
#pragma GCC unroll 6
            for (int r = 0; r < A; r++)
                A == 6 ? WT_NAME(bt6)(d + r * 6, 1) : WT_NAME(bt4)(d + r * 4, 1);
            float *q = v + (size_t)t * cin + i;
#pragma GCC unroll 36
            for (int e = 0; e < A * A; e++)
                WT_STORE(q + (size_t)e * n * cin, d[e]);
        }
    }
}

WT_TARGET static void WT_NAME(input)(const band *b, float *v)
{
    if (b->wc->m == 4)
        WT_NAME(input_tiles)(b, v, 6);
    else
        WT_NAME(input_tiles)(b, v, 4);
}

/* at4 and at6 on vectors: p[k * step] -> y[k], k < A - 2. */
WT_TARGET static INLINE void WT_NAME(at4)(const WT_VEC *p, int step, WT_VEC *y)
{
    y[0] = WT_ADD(WT_ADD(p[0], p[step]), p[2 * step]);
    y[1] = WT_SUB(WT_SUB(p[step], p[2 * step]), p[3 * step]);
}

WT_TARGET static INLINE void WT_NAME(at6)(const WT_VEC *p, int step, WT_VEC *y)
{
    const WT_VEC a = WT_ADD(p[step], p[2 * step]), b = WT_SUB(p[step], p[2 * step]);
    const WT_VEC c = WT_ADD(p[3 * step], p[4 * step]);
    const WT_VEC d = WT_SUB(p[3 * step], p[4 * step]);
    y[0] = WT_ADD(WT_ADD(p[0], a), c);
    y[1] = WT_FMADD(WT_SET1(2.0f), d, b);
    y[2] = WT_FMADD(WT_SET1(4.0f), c, a);
    y[3] = WT_ADD(WT_FMADD(WT_SET1(8.0f), d, b), p[5 * step]);
}

/* y of the band's tiles from their products: A x A products, m x m outputs (m = A - 2). */
WT_TARGET static INLINE void WT_NAME(output_tiles)(const band *b, const float *mp, const int A)
{
    const int cout = b->wc->cout, n = band_tiles(b), m = A - 2;
    const WT_VEC zero = WT_ZERO();
    const size_t step = (size_t)n * cout;
    for (int t = 0; t < n; t++) {
        const int ty = (b->t0 + t) / b->tw, tx = (b->t0 + t) % b->tw;
        const int rows = b->h - m * ty < m ? b->h - m * ty : m;
        const int cols = b->w - m * tx < m ? b->w - m * tx : m;
        for (int o = b->o0; o < b->o1; o += WT_LANES) {
            /* p: the products; s[r][c] = (A^T p)[r][c], columns first; y a row of A^T p A. */
            WT_VEC p[36], s[4 * 6], y[4];
            const float *at = mp + (size_t)t * cout + o;
#pragma GCC unroll 36
            for (int e = 0; e < A * A; e++)
                p[e] = WT_LOAD(at + (size_t)e * step);
#pragma GCC unroll 6
            for (int c = 0; c < A; c++) {
                WT_VEC col[4];
                A == 6 ? WT_NAME(at6)(p + c, 6, col) : WT_NAME(at4)(p + c, 4, col);
#pragma GCC unroll 4
                for (int r = 0; r < m; r++)
                    s[r * 6 + c] = col[r];
            }
            const WT_VEC bias = WT_LOAD(b->wc->bias + o);
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) {
                if (r >= rows) continue;
                A == 6 ? WT_NAME(at6)(s + r * 6, 1, y) : WT_NAME(at4)(s + r * 6, 1, y);
#pragma GCC unroll 4
                for (int c = 0; c < m; c++) {
                    if (c >= cols) continue;
                    const size_t to = ((size_t)(m * ty + r) * b->w + m * tx + c) * cout + o;
                    WT_VEC out = WT_ADD(y[c], bias);
                    if (b->res) out = WT_ADD(out, WT_LOAD(b->res + to));
                    if (b->relu) out = WT_MAX(out, zero);
                    WT_STORE(b->y + to, out);
                }
            }
        }
    }
}

WT_TARGET static void WT_NAME(output)(const band *b, const float *m)
{
    if (b->wc->m == 4)
        WT_NAME(output_tiles)(b, m, 6);
    else
        WT_NAME(output_tiles)(b, m, 4);
}

#undef WT_VEC
#undef WT_LANES
#undef WT_NAME
#undef WT_TARGET
#undef WT_LOAD
#undef WT_STORE
#undef WT_ADD
#undef WT_SUB
#undef WT_FMADD
#undef WT_FNMADD
#undef WT_SET1
#undef WT_ZERO
#undef WT_MAX
