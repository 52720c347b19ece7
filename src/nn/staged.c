/*
 * staged.c - a graph model run as XNNPACK runtimes with chains of fused residual blocks
 * (block.c) between them: runtime 0 computes the first chain's input from the model's input,
 * runtime i the input of chain i from chain i - 1's last block, and the last runtime the model's
 * outputs from the ends of the chains that nothing else reads (one input each). When the model's
 * input is the first chain's input (a caller that computes the layers before it itself) there is
 * no runtime 0, and a chain that starts from an earlier chain's end (branches of a net: the iris
 * net's two heads) reads it with no runtime between. A chain may end in a head to one pixel
 * (dense.c) run after its last block. BlazeFace's, FaceMesh's and the iris net's
 * high-resolution stages run this way (block.c says why). A chain's strided blocks change its size
 * on the way, so that one chain can run a net's stages at several resolutions: each runtime switch
 * costs (the operators' setup and a pass over the tensor).
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/clock.h"
#include "core/error.h"
#include "nn/nn.h"

typedef struct chain {
    int h, w, c;    /* the input's size */
    int oh, ow, oc; /* the output's */
    int n;
    nn_block *blocks;
    nn_dense head; /* after the last block when cout > 0 (its output then the chain's) */
    float *tail;   /* the last block's output for the head, batch images */
    int from;   /* the chain whose end is its input, or -1: the runtime before it, or the input */
    float *out; /* where its last block writes: a runtime's input, or own */
    float *own; /* batch * oh * ow * oc floats when no runtime reads the end */
} chain;

struct nn_staged {
    int nchains, batch, profiling;
    /* rt[i] computes chain i's input (NULL when that is the staged input or a chain's end),
     * rt[nchains] the model's outputs. */
    nn_runtime *rt[NN_STAGED_MAX_CHAINS + 1];
    float *input; /* the first chain's input, when it is the model's */
    chain chains[NN_STAGED_MAX_CHAINS];
    float *scratch[2]; /* ping-pong between a chain's blocks, one image */
    nn_profile block_profile;
};

/* The chain's head to one pixel from its last block's output (oh x ow x oc), which it then ends
 * in; tail holds that output for it. */
static int read_head(nn_staged *s, const nn_graph_model *gm, const nn_chain_spec *spec, chain *ch,
                     fg_error *err)
{
    int rc;
    if ((rc = nn_graph_model_read_head(gm, spec->ends[spec->n - 1], spec->head, ch->oh, ch->ow,
                                       &ch->head, err)))
        return rc;
    if (!(ch->tail = fg_alloc_lines(sizeof(float) * s->batch * ch->oh * ch->ow * ch->oc)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %s", nn_graph_model_name(gm));
    s->block_profile.macs[NN_OP_BLOCK] += (uint64_t)s->batch * nn_dense_macs(&ch->head);
    ch->oh = ch->ow = 1, ch->oc = ch->head.cout;
    return FG_OK;
}

/* Reads a chain's blocks and checks that each takes what the one before gives; *largest gets
 * the largest tensor between two of its blocks (floats). */
static int read_chain(nn_staged *s, const nn_graph_model *gm, const char *model,
                      const nn_chain_spec *spec, chain *ch, size_t *largest, fg_error *err)
{
    int rc, h = spec->h, w = spec->w;
    if (spec->n < 1 || spec->h < 1 || spec->w < 1)
        return fg_fail(err, FG_EINVAL, "%s: a chain of fused blocks needs a size and blocks",
                       model);
    if (!(ch->blocks = calloc((size_t)spec->n, sizeof *ch->blocks)))
        return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    if ((rc = nn_graph_model_read_blocks(gm, spec->input, spec->ends, spec->n, ch->blocks, err)))
        return rc;
    ch->h = spec->h, ch->w = spec->w, ch->n = spec->n, ch->c = ch->blocks[0].cin;
    *largest = 0;
    for (int i = 0; i < spec->n; i++) {
        const nn_block *b = &ch->blocks[i];
        const int c = i ? ch->blocks[i - 1].c : ch->c;
        if (b->cin != c)
            return fg_fail(err, FG_EMODEL_CORRUPT, "%s: %s takes %d channels, not %d", model,
                           spec->ends[i], b->cin, c);
        if (!nn_block_fits(b, h, w))
            return fg_fail(err, FG_EINVAL, "%s: %s cannot be fused at %dx%d", model, spec->ends[i],
                           h, w);
        s->block_profile.macs[NN_OP_BLOCK] += (uint64_t)s->batch * nn_block_macs(b, h, w);
        nn_block_output_size(b, h, w, &h, &w);
        const size_t n = (size_t)h * w * b->c;
        *largest = n > *largest ? n : *largest;
    }
    ch->oh = h, ch->ow = w, ch->oc = ch->blocks[spec->n - 1].c;
    return spec->head ? read_head(s, gm, spec, ch, err) : FG_OK;
}

static const char *chain_end(const nn_chain_spec *spec)
{
    return spec->head ? spec->head : spec->ends[spec->n - 1];
}

/* Chain i's source: the latest chain before it ending in its input node (its output then of
 * the size chain i takes), else -1. */
static int find_source(const nn_staged *s, const char *model, const nn_chain_spec *specs, int i,
                       int *from, fg_error *err)
{
    const chain *ch = &s->chains[i];
    *from = -1;
    for (int j = i - 1; j >= 0 && *from < 0; j--)
        if (strcmp(chain_end(&specs[j]), specs[i].input) == 0) *from = j;
    if (*from < 0) return FG_OK;
    const chain *src = &s->chains[*from];
    if (src->oh != ch->h || src->ow != ch->w || src->oc != ch->c)
        return fg_fail(err, FG_EMODEL_CORRUPT, "%s: %s is not %dx%dx%d", model, specs[i].input,
                       ch->h, ch->w, ch->c);
    return FG_OK;
}

/* 1 when chain j's end is read by a later chain or by the runtime after it. */
static int end_is_read(const nn_staged *s, int j)
{
    for (int i = j + 1; i < s->nchains; i++)
        if (s->chains[i].from == j) return 1;
    return j + 1 < s->nchains && s->chains[j + 1].from < 0;
}

/* Runtime i < nchains: from the model's input (i = 0) or chain i - 1's end to chain i's input,
 * which must be exactly batch * h * w * c values. */
static int open_runtime(nn_staged *s, const nn_graph_model *gm, const char *model,
                        const nn_graph_model_options *opts, const nn_chain_spec *specs, int i,
                        fg_error *err)
{
    nn_graph_model_options o = *opts;
    const chain *ch = &s->chains[i];
    size_t count;
    int rc;
    if (i > 0) {
        const chain *prev = &s->chains[i - 1];
        o.input_node = chain_end(&specs[i - 1]);
        o.input[0] = prev->oh, o.input[1] = prev->ow, o.input[2] = prev->oc;
    }
    o.outputs = &specs[i].input, o.num_outputs = 1;
    if ((rc = nn_graph_model_runtime(gm, &o, &s->rt[i], err))) return rc;
    nn_runtime_output(s->rt[i], 0, &count);
    if (count != (size_t)s->batch * ch->h * ch->w * ch->c)
        return fg_fail(err, FG_EMODEL_CORRUPT, "%s: %s is not %dx%dx%d", model, specs[i].input,
                       ch->h, ch->w, ch->c);
    return FG_OK;
}

/* The last runtime: the model's outputs from the ends of the chains that nothing else reads
 * (its inputs 0, 1, ... in the chains' order), or from the model's input without chains. */
static int open_last(nn_staged *s, const nn_graph_model *gm, const char *model,
                     const nn_graph_model_options *opts, const nn_chain_spec *specs, fg_error *err)
{
    nn_graph_model_options o = *opts;
    const char *extra[NN_MAX_INPUTS - 1];
    int k = 0, ends[NN_MAX_INPUTS], rc;
    for (int j = 0; j < s->nchains; j++) {
        if (end_is_read(s, j)) continue;
        if (k == NN_MAX_INPUTS)
            return fg_fail(err, FG_EINVAL, "%s: more than %d chains end unread", model,
                           NN_MAX_INPUTS);
        const chain *ch = &s->chains[j];
        int *shape = k ? o.extra_input[k - 1] : o.input;
        shape[0] = ch->oh, shape[1] = ch->ow, shape[2] = ch->oc;
        if (k)
            extra[k - 1] = chain_end(&specs[j]);
        else
            o.input_node = chain_end(&specs[j]);
        ends[k++] = j;
    }
    o.extra_inputs = extra, o.num_extra_inputs = k ? k - 1 : 0;
    if ((rc = nn_graph_model_runtime(gm, &o, &s->rt[s->nchains], err))) return rc;
    for (int i = 0; i < k; i++)
        s->chains[ends[i]].out = nn_runtime_input_at(s->rt[s->nchains], i, NULL);
    return FG_OK;
}

static int open_parts(nn_staged *s, const nn_graph_model *gm, const char *model,
                      const nn_graph_model_options *opts, const nn_chain_spec *specs, fg_error *err)
{
    size_t scratch = 0;
    int rc;
    for (int i = 0; i < s->nchains; i++) {
        size_t n = 0;
        if ((rc = read_chain(s, gm, model, &specs[i], &s->chains[i], &n, err)) ||
            (rc = find_source(s, model, specs, i, &s->chains[i].from, err)))
            return rc;
        scratch = n > scratch ? n : scratch;
    }
    if (opts->input_node && s->nchains && strcmp(opts->input_node, specs[0].input) == 0) {
        const chain *first = &s->chains[0];
        if (opts->input[0] != first->h || opts->input[1] != first->w || opts->input[2] != first->c)
            return fg_fail(err, FG_EMODEL_CORRUPT, "%s: %s is not %dx%dx%d", model, specs[0].input,
                           opts->input[0], opts->input[1], opts->input[2]);
        if (!(s->input = fg_alloc_lines(sizeof(float) * s->batch * first->h * first->w * first->c)))
            return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    }
    for (int i = s->input ? 1 : 0; i < s->nchains; i++)
        if (s->chains[i].from < 0 && (rc = open_runtime(s, gm, model, opts, specs, i, err)))
            return rc;
    if ((rc = open_last(s, gm, model, opts, specs, err))) return rc;
    for (int i = 0; i < s->nchains; i++) {
        chain *ch = &s->chains[i];
        if (i + 1 < s->nchains && s->rt[i + 1]) ch->out = nn_runtime_input(s->rt[i + 1]);
        if (!ch->out &&
            !(ch->out = ch->own = fg_alloc_lines(sizeof(float) * s->batch * ch->oh * ch->ow * ch->oc)))
            return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    }
    for (int i = 0; i < 2; i++)
        if (!(s->scratch[i] = fg_alloc_lines(sizeof(float) * scratch)))
            return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    s->profiling = nn_profiling();
    return FG_OK;
}

int nn_staged_open(const nn_graph_model *gm, const nn_graph_model_options *opts,
                   const nn_chain_spec *chains, int nchains, nn_staged **out, fg_error *err)
{
    const char *model = nn_graph_model_name(gm);
    nn_staged *s;
    int rc;

    *out = NULL;
    if (nchains < 0 || nchains > NN_STAGED_MAX_CHAINS)
        return fg_fail(err, FG_EINVAL, "%s: %d chains of fused blocks (at most %d)", model, nchains,
                       NN_STAGED_MAX_CHAINS);
    if (!(s = calloc(1, sizeof *s))) return fg_fail(err, FG_ENOMEM, "out of memory for %s", model);
    s->nchains = nchains;
    s->batch = opts->batch > 0 ? opts->batch : 1;
    if ((rc = open_parts(s, gm, model, opts, chains, err))) {
        nn_staged_free(s);
        return rc;
    }
    *out = s;
    return FG_OK;
}

void nn_staged_free(nn_staged *s)
{
    if (!s) return;
    for (int i = 0; i <= s->nchains; i++)
        nn_runtime_free(s->rt[i]);
    for (int i = 0; i < s->nchains; i++) {
        for (int b = 0; s->chains[i].blocks && b < s->chains[i].n; b++)
            nn_block_free(&s->chains[i].blocks[b]);
        free(s->chains[i].blocks);
        nn_dense_free(&s->chains[i].head);
        free(s->chains[i].tail);
        free(s->chains[i].own);
    }
    free(s->input);
    free(s->scratch[0]);
    free(s->scratch[1]);
    free(s);
}

float *nn_staged_input(nn_staged *s)
{
    return s->input ? s->input : nn_runtime_input(s->rt[0]);
}

const float *nn_staged_output(const nn_staged *s, int i, size_t *count)
{
    return nn_runtime_output(s->rt[s->nchains], i, count);
}

const nn_runtime *nn_staged_runtime(const nn_staged *s)
{
    int i = 0;
    while (!s->rt[i])
        i++; /* the last is never NULL */
    return s->rt[i];
}

/* Chain i's blocks, image by image, from x into y through the scratch buffers (into its tail
 * when a head follows, then run on every image at once). */
static void run_chain(nn_staged *s, int i, const float *x, float *y)
{
    const chain *ch = &s->chains[i];
    float *end = ch->head.cout ? ch->tail : y;
    /* The last block's output per image: the head's input, or the chain's output. */
    const size_t step = ch->head.cout ? (size_t)ch->head.cin : (size_t)ch->oh * ch->ow * ch->oc;
    for (int n = 0; n < s->batch; n++) {
        const float *from = x + (size_t)ch->h * ch->w * ch->c * n;
        int h = ch->h, w = ch->w;
        for (int b = 0; b < ch->n; b++) {
            float *to = b == ch->n - 1 ? end + step * n : s->scratch[b % 2];
            nn_block_run_on(&ch->blocks[b], from, to, h, w, nn_staged_runtime(s));
            nn_block_output_size(&ch->blocks[b], h, w, &h, &w);
            from = to;
        }
    }
    if (ch->head.cout) nn_dense_run(&ch->head, ch->tail, y, s->batch, nn_staged_runtime(s));
}

int nn_staged_run(nn_staged *s, fg_error *err)
{
    int rc;
    double blocks = 0;
    for (int i = 0; i <= s->nchains; i++) {
        if (s->rt[i] && (rc = nn_run(s->rt[i], err))) return rc;
        if (i == s->nchains) break;
        const chain *ch = &s->chains[i];
        const double start = s->profiling ? fg_monotonic() : 0;
        const float *x = s->rt[i]        ? nn_runtime_output(s->rt[i], 0, NULL)
                         : ch->from >= 0 ? s->chains[ch->from].out
                                         : s->input;
        run_chain(s, i, x, ch->out);
        if (s->profiling) blocks += fg_monotonic() - start;
    }
    if (s->profiling) {
        s->block_profile.ms[NN_OP_BLOCK] += blocks * 1e3;
        s->block_profile.runs++;
    }
    return FG_OK;
}

void nn_staged_profile(const nn_staged *s, nn_profile *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i <= s->nchains; i++) {
        nn_profile p;
        if (!s->rt[i]) continue;
        nn_runtime_profile(s->rt[i], &p);
        nn_profile_add(out, &p);
    }
    nn_profile_add(out, &s->block_profile);
}
