/*
 * model.c - the one way a face-api network is opened: load and verify the weights, let the
 * network's builder map them onto graph nodes (checking every tensor's name and shape), build
 * the XNNPACK runtime, free the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn.h"

/* "[3, 3, 32, 1]" (NN_ANY as "?") into buf. */
static const char *shape_text(const int *dims, int rank, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < rank && n < size; i++) {
        if (dims[i] == NN_ANY)
            n += (size_t)snprintf(buf + n, size - n, "%s?", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%d", i ? ", " : "", dims[i]);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
    return buf;
}

static int shape_matches(const nn_tensor *t, nn_shape shape)
{
    if (t->rank != shape.rank) return 0;
    for (int i = 0; i < shape.rank; i++)
        if (shape.dims[i] != NN_ANY && shape.dims[i] != t->shape[i]) return 0;
    return 1;
}

const nn_tensor *nn_need(nn_builder *b, nn_shape shape, const char *fmt, ...)
{
    char name[256], have[64], want[64];
    const nn_tensor *t;
    va_list ap;

    if (nn_graph_status(b->g) != FG_OK) return NULL;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (!(t = nn_weights_find(b->w, name))) {
        nn_graph_fail(b->g, FG_EMODEL_CORRUPT, "%s: no tensor named %s", b->model, name);
        return NULL;
    }
    if (!shape_matches(t, shape)) {
        nn_graph_fail(b->g, FG_EMODEL_CORRUPT, "%s: tensor %s has shape %s, expected %s", b->model,
                      name, shape_text(t->shape, t->rank, have, sizeof have),
                      shape_text(shape.dims, shape.rank, want, sizeof want));
        return NULL;
    }
    return t;
}

int nn_builder_fail(nn_builder *b, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_graph_fail(b->g, FG_EMODEL_CORRUPT, "%s: %s", b->model, msg);
    return 0;
}

int nn_model_open_parts(const char *model_dir, const char *model, int parts, const int *num_outputs,
                        int threads, nn_parts_build_fn build, void *ctx, nn_runtime **out,
                        fg_error *err)
{
    nn_weights w;
    nn_builder b = {NULL, &w, model};
    int rc;

    for (int i = 0; i < parts; i++)
        out[i] = NULL;
    if ((rc = nn_weights_load(model_dir, model, &w, err))) return rc;
    for (int i = 0; i < parts && !rc; i++) {
        if (!(b.g = nn_graph_new(num_outputs[i]))) {
            rc = fg_fail(err, FG_ENOMEM, "out of memory building %s", model);
            break;
        }
        build(&b, i, ctx);
        rc = nn_graph_build(b.g, threads, &out[i], err);
        nn_graph_free(b.g);
    }
    nn_weights_free(&w);
    if (rc)
        for (int i = 0; i < parts; i++) {
            nn_runtime_free(out[i]);
            out[i] = NULL;
        }
    return rc;
}

typedef struct one_part {
    nn_build_fn build;
    void *ctx;
} one_part;

static void build_one(nn_builder *b, int part, void *ctx)
{
    const one_part *one = ctx;
    (void)part;
    one->build(b, one->ctx);
}

int nn_model_open(const char *model_dir, const char *model, int num_outputs, int threads,
                  nn_build_fn build, void *ctx, nn_runtime **out, fg_error *err)
{
    one_part one = {build, ctx};
    return nn_model_open_parts(model_dir, model, 1, &num_outputs, threads, build_one, &one, out,
                               err);
}
