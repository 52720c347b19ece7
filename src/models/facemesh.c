/*
 * facemesh.c - MediaPipe's FaceMesh (468 points in 3-D and a face-flag confidence from a 192x192
 * face crop) and its iris model (71 eye-region points and 5 iris points from a 64x64 eye crop),
 * as @vladmandic/human 3.3.6 ships them (facemesh.json, iris.json), each one XNNPACK runtime
 * translated from the graph (src/nn/graph_model.c). The crops and what is made of the points
 * are the face layer's (src/face/mesh.c).
 */
#include <stdlib.h>

#include "core/error.h"
#include "models/models.h"
#include "nn/nn.h"

struct fgm_mesh {
    nn_runtime *rt;
};

struct fgm_iris {
    nn_runtime *rt;
};

/* Loads a graph model into *rt, or fails with the loader's message. */
static int open_graph(const char *model_dir, const char *model, const char *const *outputs,
                      int num_outputs, int side, int batch, int threads, nn_runtime **rt,
                      fg_error *err)
{
    const nn_graph_model_options opts = {NULL,  outputs, num_outputs, {side, side, 3},
                                         batch, threads, NULL};
    return nn_graph_model_load(model_dir, model, &opts, rt, err);
}

int fgm_mesh_open(const char *model_dir, int threads, fgm_mesh **out, fg_error *err)
{
    /* output_mesh and output_faceflag; the contours head is left out (Human ignores it). */
    static const char *const outputs[2] = {"Identity_2", "Identity_1"};
    fgm_mesh *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m))) return fg_fail(err, FG_ENOMEM, "out of memory for FaceMesh");
    if ((rc = open_graph(model_dir, "facemesh", outputs, 2, FGM_MESH_INPUT, 1, threads, &m->rt,
                         err))) {
        free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_mesh_free(fgm_mesh *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m);
}

const nn_runtime *fgm_mesh_runtime(const fgm_mesh *m)
{
    return m->rt;
}

float *fgm_mesh_input(fgm_mesh *m)
{
    return nn_runtime_input(m->rt);
}

int fgm_mesh_forward(fgm_mesh *m, const float **points, float *confidence, fg_error *err)
{
    int rc = nn_run(m->rt, err);
    if (rc) return rc;
    *points = nn_runtime_output(m->rt, 0, NULL);
    *confidence = nn_runtime_output(m->rt, 1, NULL)[0];
    return FG_OK;
}

int fgm_iris_open(const char *model_dir, int threads, fgm_iris **out, fg_error *err)
{
    static const char *const outputs[1] = {"Identity"};
    fgm_iris *m;
    int rc;

    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return fg_fail(err, FG_ENOMEM, "out of memory for the iris net");
    /* Both eyes in one batch, as Human runs them: the weights are read once for the two. */
    if ((rc = open_graph(model_dir, "iris", outputs, 1, FGM_IRIS_INPUT, 2, threads, &m->rt, err))) {
        free(m);
        return rc;
    }
    *out = m;
    return FG_OK;
}

void fgm_iris_free(fgm_iris *m)
{
    if (!m) return;
    nn_runtime_free(m->rt);
    free(m);
}

const nn_runtime *fgm_iris_runtime(const fgm_iris *m)
{
    return m->rt;
}

float *fgm_iris_input(fgm_iris *m)
{
    return nn_runtime_input(m->rt);
}

int fgm_iris_forward(fgm_iris *m, const float **points, fg_error *err)
{
    int rc = nn_run(m->rt, err);
    if (rc) return rc;
    *points = nn_runtime_output(m->rt, 0, NULL);
    return FG_OK;
}
