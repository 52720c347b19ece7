/*
 * test-nn-conv-live-taps.c - nn_conv2d leaves out the kernel taps that only ever meet padding
 * (a 3x3 'same' convolution of a 1x1 map is its centre tap, as in the recognition net's last
 * block) and gives the same output as a plain convolution with every tap; the multiply-adds it
 * counts are those of the taps it keeps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

/* TensorFlow-style convolution, every tap, zero padding (HWIO filter, NHWC input). */
static float naive(const float *in, int h, int w, int cin, const float *f, int k, int cout,
                   const float *bias, int stride, nn_padding pad, int oy, int ox, int o)
{
    int out_h = pad == NN_SAME ? (h + stride - 1) / stride : (h - k) / stride + 1;
    int out_w = pad == NN_SAME ? (w + stride - 1) / stride : (w - k) / stride + 1;
    int th = (out_h - 1) * stride + k - h, tw = (out_w - 1) * stride + k - w;
    int top = pad == NN_SAME && th > 0 ? th / 2 : 0, left = pad == NN_SAME && tw > 0 ? tw / 2 : 0;
    double acc = bias[o];
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
            int iy = oy * stride - top + ky, ix = ox * stride - left + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (int c = 0; c < cin; c++)
                acc += (double)in[((size_t)iy * w + ix) * cin + c] *
                       f[(((size_t)ky * k + kx) * cin + c) * cout + o];
        }
    return (float)acc;
}

static void check_case(int h, int w, int cin, int k, int cout, int stride, nn_padding pad,
                       int out_h, int out_w, int kept_h, int kept_w)
{
    size_t nin = (size_t)h * w * cin, nf = (size_t)k * k * cin * cout;
    float *in = malloc(nin * sizeof *in), *f = malloc(nf * sizeof *f);
    float *bias = malloc((size_t)cout * sizeof *bias);
    nn_runtime *rt = NULL;
    nn_profile p;
    fg_error err;

    for (size_t i = 0; i < nin; i++)
        in[i] = (float)((i * 37) % 23) / 23.0f - 0.4f;
    for (size_t i = 0; i < nf; i++)
        f[i] = (float)((i * 53) % 29) / 29.0f - 0.5f;
    for (int o = 0; o < cout; o++)
        bias[o] = 0.01f * (float)o;

    nn_graph *g = nn_graph_new(1);
    nn_t x = nn_input(g, h, w, cin);
    nn_t y = nn_conv2d(g, x, f, k, k, cout, bias, stride, pad, NN_ACT_NONE);
    CHECK_EQ_INT(y.h, out_h);
    CHECK_EQ_INT(y.w, out_w);
    nn_output(g, y);
    CHECK_EQ_INT(nn_graph_build(g, 1, &rt, &err), FG_OK);
    nn_graph_free(g);
    if (rt) {
        memcpy(nn_runtime_input(rt), in, nin * sizeof *in);
        CHECK_EQ_INT(nn_run(rt, &err), FG_OK);
        size_t count = 0;
        const float *out = nn_runtime_output(rt, 0, &count);
        CHECK_EQ_INT(count, (size_t)out_h * out_w * cout);
        double worst = 0;
        for (int oy = 0; oy < out_h; oy++)
            for (int ox = 0; ox < out_w; ox++)
                for (int o = 0; o < cout; o++) {
                    float want = naive(in, h, w, cin, f, k, cout, bias, stride, pad, oy, ox, o);
                    double d = fabs((double)out[((size_t)oy * out_w + ox) * cout + o] - want);
                    if (d > worst) worst = d;
                }
        CHECKF(worst <= 1e-5, "%dx%d k%d s%d: max error %g", h, w, k, stride, worst);
        nn_runtime_profile(rt, &p);
        CHECK_EQ_INT(nn_runtime_macs(rt), (uint64_t)out_h * out_w * kept_h * kept_w * cin * cout);
        nn_runtime_free(rt);
    }
    free(in), free(f), free(bias);
}

int main(void)
{
    /* 3x3 'same' on 1x1: the centre tap only (a 1x1 convolution). */
    check_case(1, 1, 32, 3, 48, 1, NN_SAME, 1, 1, 1, 1);
    /* 3x3 'same' stride 2 on 2x2: TF pads the bottom/right only, so the last row and column of
     * the kernel meet nothing but padding. */
    check_case(2, 2, 16, 3, 32, 2, NN_SAME, 1, 1, 2, 2);
    /* 3x3 'same' on 1x5: one kernel row, all three columns. */
    check_case(1, 5, 8, 3, 16, 1, NN_SAME, 1, 5, 1, 3);
    /* Every tap meets the input somewhere: nothing left out. */
    check_case(5, 5, 8, 3, 16, 1, NN_SAME, 5, 5, 3, 3);
    check_case(4, 4, 8, 3, 16, 2, NN_VALID, 1, 1, 3, 3);
    check_case(7, 7, 3, 7, 8, 2, NN_VALID, 1, 1, 7, 7);
    return fg_test_done();
}
