/* nn_need checks a weight's name and its whole shape (not only its element count), records the
 * first failure on the graph with a message naming the tensor, and nn_model_open reports it. */
#include <string.h>

#include "harness.h"
#include "nn/nn.h"

static float values[3 * 3 * 8 + 8];
static nn_tensor tensors[2] = {
    {"block/depthwise_filter", 4, {3, 3, 8, 1}, 72, values},
    {"block/bias", 1, {8}, 8, values + 72},
};
static const nn_weights weights = {tensors, 2, values, NULL};

static void check_found_and_shaped(void)
{
    nn_builder b = {nn_graph_new(1), &weights, "test_model"};
    CHECK(nn_need(&b, NN_SHAPE(3, 3, 8, 1), "block/%s", "depthwise_filter") == &tensors[0]);
    CHECK(nn_need(&b, NN_SHAPE(3, NN_ANY, 8, NN_ANY), "block/depthwise_filter") == &tensors[0]);
    CHECK(nn_need(&b, NN_SHAPE(8), "block/bias") == &tensors[1]);
    CHECK_EQ_INT(nn_graph_status(b.g), FG_OK);
    nn_graph_free(b.g);
}

/* Same element count, other shape: a count check would have passed it. */
static void check_wrong_shape(void)
{
    nn_builder b = {nn_graph_new(1), &weights, "test_model"};
    nn_runtime *rt = NULL;
    fg_error err = {0};
    CHECK(nn_need(&b, NN_SHAPE(1, 1, 8, 9), "block/depthwise_filter") == NULL);
    CHECK_EQ_INT(nn_graph_status(b.g), FG_EMODEL_CORRUPT);
    /* The first error sticks: later lookups fail without replacing the message. */
    CHECK(nn_need(&b, NN_SHAPE(8), "block/bias") == NULL);
    CHECK_EQ_INT(nn_graph_build(b.g, 1, &rt, &err), FG_EMODEL_CORRUPT);
    CHECK(rt == NULL);
    CHECKF(strstr(err.message, "test_model: tensor block/depthwise_filter has shape "
                               "[3, 3, 8, 1], expected [1, 1, 8, 9]") != NULL,
           "message: %s", err.message);
    nn_graph_free(b.g);
}

static void check_wrong_rank_and_name(void)
{
    nn_builder b = {nn_graph_new(1), &weights, "test_model"};
    CHECK(nn_need(&b, NN_SHAPE(1, 8), "block/bias") == NULL);
    nn_graph_free(b.g);

    b.g = nn_graph_new(1);
    nn_runtime *rt = NULL;
    fg_error err = {0};
    CHECK(nn_need(&b, NN_SCALAR, "block/%s", "gamma") == NULL);
    CHECK_EQ_INT(nn_graph_build(b.g, 1, &rt, &err), FG_EMODEL_CORRUPT);
    CHECKF(strcmp(err.message, "test_model: no tensor named block/gamma") == 0, "message: %s",
           err.message);
    nn_graph_free(b.g);
}

/* nn_model_open on a real model whose builder asks for a tensor with a wrong shape: the error
 * comes back through the one open path, nothing leaks (ASan run). */
static void build_wrong(nn_builder *b, void *ctx)
{
    (void)ctx;
    nn_input(b->g, 112, 112, 3);
    nn_need(b, NN_SHAPE(3, 3, 3, 16), "dense0/conv0/filters"); /* it is [3, 3, 3, 32] */
}

static void check_model_open(void)
{
    nn_runtime *rt = NULL;
    fg_error err = {0};
    CHECK_EQ_INT(nn_model_open(fg_test_models(), "face_landmark_68_model", 1, 1, build_wrong, NULL,
                               &rt, &err),
                 FG_EMODEL_CORRUPT);
    CHECK(rt == NULL);
    CHECKF(strstr(err.message, "dense0/conv0/filters has shape [3, 3, 3, 32], expected "
                               "[3, 3, 3, 16]") != NULL,
           "message: %s", err.message);
    CHECK_EQ_INT(
        nn_model_open(fg_test_models(), "no_such_model", 1, 1, build_wrong, NULL, &rt, &err),
        FG_EMODEL_CORRUPT); /* no pinned hash for its manifest */
}

int main(void)
{
    check_found_and_shaped();
    check_wrong_shape();
    check_wrong_rank_and_name();
    check_model_open();
    return fg_test_done();
}
