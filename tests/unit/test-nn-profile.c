/*
 * test-nn-profile.c - a graph counts its multiply-adds by kind of operator, and a runtime built
 * with profiling on sums XNNPACK's operator times into those kinds (one per nn_run); one built
 * without it records no time.
 *
 * The graph: 64x64x16 input -> 3x3 stride-2 conv to 32x32x32 -> 3x3 depthwise -> 1x1 conv to
 * 64 -> max pool to 16x16 -> global average -> fully connected to 10.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

static float *filled(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (float)((i * 7919) % 17) / 17.0f - 0.5f;
    return p;
}

static nn_runtime *build(fg_error *err)
{
    float *w3 = filled(3 * 3 * 16 * 32), *dw = filled(3 * 3 * 32), *w1 = filled(32 * 64);
    float *fc = filled(64 * 10), *bias = filled(64);
    nn_runtime *rt = NULL;
    nn_graph *g = nn_graph_new(1);
    nn_t x = nn_input(g, 64, 64, 16);
    x = nn_conv2d(g, x, w3, 3, 3, 32, bias, 2, NN_SAME, NN_ACT_RELU);
    x = nn_depthwise(g, x, dw, 3, 3, bias, 1, NN_SAME, NN_ACT_RELU6);
    x = nn_conv2d(g, x, w1, 1, 1, 64, bias, 1, NN_VALID, NN_ACT_NONE);
    x = nn_maxpool(g, x, 2, 2, NN_VALID);
    x = nn_global_avgpool(g, x);
    nn_output(g, nn_fc(g, x, fc, 10, bias, NN_ACT_NONE));
    CHECK_EQ_INT(nn_graph_build(g, 1, &rt, err), FG_OK);
    nn_graph_free(g);
    free(w3), free(dw), free(w1), free(fc), free(bias);
    return rt;
}

int main(void)
{
    fg_error err;
    nn_profile p;
    nn_runtime *plain, *timed;

    plain = build(&err);
    nn_set_profiling(1);
    timed = build(&err);
    nn_set_profiling(0);
    CHECK(plain && timed);
    if (!plain || !timed) return fg_test_done();

    /* Multiply-adds, counted by the builder whether profiling is on or not. */
    for (int i = 0; i < 2; i++) {
        nn_runtime_profile(i ? timed : plain, &p);
        CHECK_EQ_INT(p.macs[NN_OP_CONV], 32 * 32 * 3 * 3 * 16 * 32);
        CHECK_EQ_INT(p.macs[NN_OP_DEPTHWISE], 32 * 32 * 3 * 3 * 32);
        CHECK_EQ_INT(p.macs[NN_OP_CONV1X1], 32 * 32 * 32 * 64);
        CHECK_EQ_INT(p.macs[NN_OP_FC], 64 * 10);
        CHECK_EQ_INT(p.macs[NN_OP_OTHER], 0);
        CHECK_EQ_INT(nn_runtime_macs(i ? timed : plain), 32 * 32 * 3 * 3 * 16 * 32 +
                                                             32 * 32 * 3 * 3 * 32 +
                                                             32 * 32 * 32 * 64 + 64 * 10);
        CHECK_EQ_INT(p.runs, 0);
    }

    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(nn_run(plain, &err), FG_OK);
        CHECK_EQ_INT(nn_run(timed, &err), FG_OK);
    }
    nn_runtime_profile(plain, &p);
    CHECK_EQ_INT(p.runs, 0);
    for (int k = 0; k < NN_OP_KINDS; k++)
        CHECK(p.ms[k] == 0.0);

    nn_runtime_profile(timed, &p);
    CHECK_EQ_INT(p.runs, 3);
    double total = 0;
    for (int k = 0; k < NN_OP_KINDS; k++) {
        CHECKF(p.ms[k] >= 0.0 && p.ms[k] < 1e4, "%s: %g ms", nn_op_kind_name((nn_op_kind)k),
               p.ms[k]);
        total += p.ms[k];
    }
    /* XNNPACK times in whole microseconds; three runs of 7M multiply-adds take hundreds. */
    CHECKF(p.ms[NN_OP_CONV] > 0.0 && p.ms[NN_OP_CONV1X1] > 0.0, "conv %g ms, 1x1 %g ms",
           p.ms[NN_OP_CONV], p.ms[NN_OP_CONV1X1]);
    CHECKF(total > 0.0, "total %g ms", total);

    CHECK(!strcmp(nn_op_kind_name(NN_OP_CONV1X1), "1x1 conv"));
    CHECK(!strcmp(nn_op_kind_name(NN_OP_DEPTHWISE), "depthwise"));
    CHECK(!strcmp(nn_op_kind_name((nn_op_kind)NN_OP_KINDS), "?"));

    nn_runtime_free(plain);
    nn_runtime_free(timed);
    return fg_test_done();
}
