/*
 * facemesh.c - MediaPipe's FaceMesh (468 points in 3-D and a face-flag confidence from a 192x192
 * face crop) and its iris model (71 eye-region points and 5 iris points from a 64x64 eye crop),
 * as @vladmandic/human 3.3.6 ships them (facemesh.json, iris.json), translated from the graph
 * (src/nn/graph_model.c) into XNNPACK runtimes with their high-resolution residual blocks fused
 * between them (src/nn/staged.c). Each net's first convolution (3x3 stride 2 with a PReLU) runs
 * directly (src/nn/conv.c): in XNNPACK its indirect GEMM and the PReLU's two passes over the
 * output took 0.3-0.4 ms, three times the arithmetic's. The crops and what is made of the points
 * are the face layer's (src/face/mesh.c).
 */
#include <stdlib.h>

#include "core/error.h"
#include "models/models.h"
#include "nn/nn.h"

/* FaceMesh's 14 residual blocks run fused in one chain (src/nn/block.c): two stride-1 blocks at
 * each of 96x96x16, 48x48x32, 24x24x64, 12x12x128 and 6x6x128, and the strided blocks p_re_lu_4,
 * _7, _10 and _13 between them. In XNNPACK a stride-1 block was four operators, the first ones
 * bound by memory traffic on 96x96x16 tensors, and a strided one seven. */
#define MESH "StatefulPartitionedCall/model_1/"
#define INPUT_NODE "input_1"
#define MESH_FIRST MESH "batch_normalization_1/FusedBatchNormV3" /* 192x192x3 -> 96x96x16 */
#define MESH_FIRST_C 16
#define MESH_BLOCKS 14
#define MESH_PRELU(i) MESH "p_re_lu_" #i "/Relu"
static const char *const MESH_ENDS[MESH_BLOCKS] = {
    MESH_PRELU(2),  MESH_PRELU(3),  MESH_PRELU(4),  MESH_PRELU(5),  MESH_PRELU(6),
    MESH_PRELU(7),  MESH_PRELU(8),  MESH_PRELU(9),  MESH_PRELU(10), MESH_PRELU(11),
    MESH_PRELU(12), MESH_PRELU(13), MESH_PRELU(14), MESH_PRELU(15)};
/* From p_re_lu_15 two branches run fused as well (the contours' third is not computed): the
 * mesh's (the strided p_re_lu_16 to 3x3x128, two blocks at 3x3, and p_re_lu_20, whose 1x1 from
 * 128 to 32 channels is also its residual) and the face flag's (the strided p_re_lu_26 and
 * p_re_lu_28, as p_re_lu_20). In XNNPACK they were some 30 operators on 3x3 maps, each a few
 * microseconds of setup for a few of work. Each ends in its head, a 3x3 VALID convolution to one
 * pixel (src/nn/dense.c: the mesh's 1.6 MB of weights held as the float16 they are shipped as);
 * XNNPACK then runs only the face flag's sigmoid and the reshapes. */
#define MESH_BRANCH 4
#define FLAG_BRANCH 2
static const char *const MESH_BRANCH_ENDS[MESH_BRANCH] = {MESH_PRELU(16), MESH_PRELU(17),
                                                          MESH_PRELU(18), MESH_PRELU(20)};
static const char *const FLAG_BRANCH_ENDS[FLAG_BRANCH] = {MESH_PRELU(26), MESH_PRELU(28)};
#define MESH_CHAINS 3
static const nn_chain_spec MESH_CHAIN_SPECS[MESH_CHAINS] = {
    {MESH_FIRST, 96, 96, MESH_BLOCKS, MESH_ENDS, NULL},
    {MESH_PRELU(15), 6, 6, MESH_BRANCH, MESH_BRANCH_ENDS, MESH "conv2d_21/BiasAdd"},
    {MESH_PRELU(15), 6, 6, FLAG_BRANCH, FLAG_BRANCH_ENDS, MESH "conv2d_31/BiasAdd"},
};

static const fgm_net_spec MESH_NET = {.model = "facemesh",
                                      .input = INPUT_NODE,
                                      .first = MESH_FIRST,
                                      .k = 3,
                                      .cout = MESH_FIRST_C,
                                      .h = FGM_MESH_INPUT,
                                      .w = FGM_MESH_INPUT,
                                      .chains = MESH_CHAIN_SPECS,
                                      .nchains = MESH_CHAINS};

struct fgm_mesh {
    fgm_first first;
    nn_staged *net;
};

/* The iris net runs fused in three chains, image by image: its trunk (four bottleneck blocks at
 * 32x32, 64 channels through 32; the strided bottleneck p_re_lu_10 to 16x16x128; four at 16x16,
 * 128 through 64; the strided p_re_lu_20 to 8x8x128), then from its end the two branches, the
 * eye contours and the iris (each two bottlenecks at 8x8, a strided one, two at 4x4, a strided
 * one, two at 2x2). XNNPACK then runs only the two heads (2x2 convolutions to 1x1) and their
 * concatenation. In XNNPACK a strided bottleneck was six operators, the small 8x8 to 2x2 blocks
 * some hundred operators of 1-15 us, and the strided blocks split the net into a runtime per
 * resolution. */
#define IRIS "StatefulPartitionedCall/model/"
#define IRIS_FIRST IRIS "batch_normalization/FusedBatchNormV3" /* 64x64x3 -> 32x32x64 */
#define IRIS_FIRST_C 64
#define IRIS_PRELU(i) IRIS "p_re_lu_" #i "/Relu"
#define IRIS_TRUNK 10
#define IRIS_BRANCH 8
static const char *const IRIS_ENDS[IRIS_TRUNK] = {
    IRIS_PRELU(2),  IRIS_PRELU(4),  IRIS_PRELU(6),  IRIS_PRELU(8),  IRIS_PRELU(10),
    IRIS_PRELU(12), IRIS_PRELU(14), IRIS_PRELU(16), IRIS_PRELU(18), IRIS_PRELU(20)};
static const char *const IRIS_CONTOUR_ENDS[IRIS_BRANCH] = {
    IRIS_PRELU(22), IRIS_PRELU(24), IRIS_PRELU(26), IRIS_PRELU(28),
    IRIS_PRELU(30), IRIS_PRELU(32), IRIS_PRELU(34), IRIS_PRELU(36)};
static const char *const IRIS_IRIS_ENDS[IRIS_BRANCH] = {
    IRIS_PRELU(38), IRIS_PRELU(40), IRIS_PRELU(42), IRIS_PRELU(44),
    IRIS_PRELU(46), IRIS_PRELU(48), IRIS_PRELU(50), IRIS_PRELU(52)};
#define IRIS_CHAINS 3
static const nn_chain_spec IRIS_CHAIN_SPECS[IRIS_CHAINS] = {
    {IRIS_FIRST, 32, 32, IRIS_TRUNK, IRIS_ENDS, NULL},
    {IRIS_PRELU(20), 8, 8, IRIS_BRANCH, IRIS_CONTOUR_ENDS, NULL},
    {IRIS_PRELU(20), 8, 8, IRIS_BRANCH, IRIS_IRIS_ENDS, NULL},
};

static const fgm_net_spec IRIS_NET = {.model = "iris",
                                      .input = INPUT_NODE,
                                      .first = IRIS_FIRST,
                                      .k = 3,
                                      .cout = IRIS_FIRST_C,
                                      .h = FGM_IRIS_INPUT,
                                      .w = FGM_IRIS_INPUT,
                                      .chains = IRIS_CHAIN_SPECS,
                                      .nchains = IRIS_CHAINS};

struct fgm_iris {
    fgm_first first;
    nn_staged *net;
};

int fgm_mesh_open(const char *model_dir, int threads, fgm_mesh **out, fg_error *err)
{
    /* output_mesh and output_faceflag; the contours head is left out (Human ignores it). */
    static const char *const outputs[2] = {"Identity_2", "Identity_1"};
    const nn_graph_model_options opts = {
        .outputs = outputs,
        .num_outputs = 2,
        .input = {FGM_MESH_INPUT / 2, FGM_MESH_INPUT / 2, MESH_FIRST_C},
        .batch = 1,
        .threads = threads,
        .input_node = MESH_FIRST};
    fgm_mesh *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m))) return fg_fail(err, FG_ENOMEM, "out of memory for FaceMesh");
    if ((rc = fgm_net_open(model_dir, &MESH_NET, &opts, &m->first, &m->net, err))) {
        fgm_mesh_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_mesh_free(fgm_mesh *m)
{
    if (!m) return;
    fgm_first_free(&m->first);
    nn_staged_free(m->net);
    free(m);
}

void fgm_mesh_profile(const fgm_mesh *m, nn_profile *out)
{
    fgm_first_profile(&m->first, m->net, out);
}

float *fgm_mesh_input(fgm_mesh *m)
{
    return m->first.input;
}

fgi_runner fgm_mesh_runner(const fgm_mesh *m)
{
    return fgm_runner(nn_staged_runtime(m->net));
}

int fgm_mesh_forward(fgm_mesh *m, const float **points, float *confidence, fg_error *err)
{
    int rc;
    fgm_first_run(&m->first, m->net);
    if ((rc = nn_staged_run(m->net, err))) return rc;
    *points = nn_staged_output(m->net, 0, NULL);
    *confidence = nn_staged_output(m->net, 1, NULL)[0];
    return FG_OK;
}

int fgm_iris_open(const char *model_dir, int threads, fgm_iris **out, fg_error *err)
{
    static const char *const outputs[1] = {"Identity"};
    /* Both eyes in one batch, as Human runs them: the weights are read once for the two. */
    const nn_graph_model_options opts = {
        .outputs = outputs,
        .num_outputs = 1,
        .input = {FGM_IRIS_INPUT / 2, FGM_IRIS_INPUT / 2, IRIS_FIRST_C},
        .batch = 2,
        .threads = threads,
        .input_node = IRIS_FIRST};
    fgm_iris *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return fg_fail(err, FG_ENOMEM, "out of memory for the iris net");
    if ((rc = fgm_net_open(model_dir, &IRIS_NET, &opts, &m->first, &m->net, err))) {
        fgm_iris_free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_iris_free(fgm_iris *m)
{
    if (!m) return;
    fgm_first_free(&m->first);
    nn_staged_free(m->net);
    free(m);
}

void fgm_iris_profile(const fgm_iris *m, nn_profile *out)
{
    fgm_first_profile(&m->first, m->net, out);
}

float *fgm_iris_input(fgm_iris *m)
{
    return m->first.input;
}

int fgm_iris_forward(fgm_iris *m, const float **points, fg_error *err)
{
    int rc;
    fgm_first_run(&m->first, m->net);
    if ((rc = nn_staged_run(m->net, err))) return rc;
    *points = nn_staged_output(m->net, 0, NULL);
    return FG_OK;
}
