/* common.c - what the networks share. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/clock.h"
#include "core/error.h"
#include "models/models.h"

static void run_on_pool(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx)
{
    nn_parallel_bands(pool, n, bands, fn, ctx);
}

fgi_runner fgm_runner(const nn_runtime *rt)
{
    return (fgi_runner){run_on_pool, rt, rt ? nn_runtime_threads(rt) : 1};
}

void fgm_normalize(float *hwc, size_t pixels, const float mean[3], int div255)
{
    /* Each tfjs op rounds to float32: (x - mean) is one op, / 255 another. */
    for (size_t i = 0; i < pixels; i++) {
        for (int c = 0; c < 3; c++) {
            float v = hwc[3 * i + c] - mean[c];
            hwc[3 * i + c] = div255 ? v / 255.0f : v;
        }
    }
}

/* The first convolution (the node `name`, reading `input`) of the open model gm, checked to be
 * k x k stride 2 from 3 to cout channels, for a batch of h x w images. */
static int first_open(fgm_first *f, const nn_graph_model *gm, const fgm_net_spec *spec, int batch,
                      fg_error *err)
{
    const nn_conv *cv = &f->conv;
    const char *model = nn_graph_model_name(gm);
    int rc;

    memset(f, 0, sizeof *f);
    if ((rc = nn_graph_model_read_conv(gm, spec->input, spec->first, &f->conv, err))) return rc;
    if (cv->k != spec->k || cv->stride != 2 || cv->cin != 3 || cv->cout != spec->cout)
        return fg_fail(err, FG_EMODEL_CORRUPT,
                       "%s: %s is a %dx%d stride-%d convolution of %d -> %d channels, not "
                       "%dx%d stride 2 of 3 -> %d",
                       model, spec->first, cv->k, cv->k, cv->stride, cv->cin, cv->cout, spec->k,
                       spec->k, spec->cout);
    f->h = spec->h, f->w = spec->w, f->batch = batch;
    f->profile.macs[NN_OP_CONV] = (uint64_t)batch * nn_conv_macs(cv, spec->h, spec->w);
    f->profiling = nn_profiling();
    if (!(f->input = fg_alloc_lines(sizeof(float) * (size_t)batch * spec->h * spec->w * 3)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    return FG_OK;
}

int fgm_net_open(const char *model_dir, const fgm_net_spec *spec,
                 const nn_graph_model_options *opts, fgm_first *f, nn_staged **net, fg_error *err)
{
    nn_graph_model *gm;
    int rc;

    *net = NULL;
    memset(f, 0, sizeof *f);
    if ((rc = nn_graph_model_open(model_dir, spec->model, &gm, err))) return rc;
    if (!(rc = first_open(f, gm, spec, opts->batch > 0 ? opts->batch : 1, err)))
        rc = nn_staged_open(gm, opts, spec->chains, spec->nchains, net, err);
    nn_graph_model_close(gm);
    return rc;
}

void fgm_first_free(fgm_first *f)
{
    nn_conv_free(&f->conv);
    free(f->input);
    f->input = NULL;
}

void fgm_first_run(fgm_first *f, nn_staged *net)
{
    const double start = f->profiling ? fg_monotonic() : 0;
    int oh, ow;
    nn_conv_output_size(&f->conv, f->h, f->w, &oh, &ow);
    for (int n = 0; n < f->batch; n++)
        nn_conv_run_on(&f->conv, f->input + (size_t)n * f->h * f->w * 3,
                       nn_staged_input(net) + (size_t)n * oh * ow * f->conv.cout, f->h, f->w,
                       nn_staged_runtime(net));
    if (f->profiling) {
        f->profile.ms[NN_OP_CONV] += (fg_monotonic() - start) * 1e3;
        f->profile.runs++;
    }
}

void fgm_first_profile(const fgm_first *f, const nn_staged *net, nn_profile *out)
{
    nn_staged_profile(net, out);
    nn_profile_add(out, &f->profile);
}
