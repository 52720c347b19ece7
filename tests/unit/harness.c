#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "nn/nn.h"

int fg_test_failures;
int fg_test_checks;

void fg_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fg_test_failures++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int fg_test_done(void)
{
    printf("%d checks, %d failed\n", fg_test_checks, fg_test_failures);
    if (fg_test_checks == 0) {
        fprintf(stderr, "no check ran\n");
        return 1;
    }
    return fg_test_failures ? 1 : 0;
}

int fg_test_skip(const char *why)
{
    printf("skipped: %s\n", why);
    return 77;
}

static const char *join(const char *env, const char *fallback, const char *relative)
{
    static char buf[4096];
    const char *base = getenv(env);
    snprintf(buf, sizeof buf, "%s/%s", base ? base : fallback, relative ? relative : "");
    return buf;
}

const char *fg_test_shared(const char *relative)
{
    return join("FG_SHARED_DIR", "../shared", relative);
}

const char *fg_test_models(void)
{
    const char *m = getenv("FG_MODEL_DIR");
    return m ? m : "node_modules/@vladmandic/face-api/model";
}

const char *fg_test_fast_models(void)
{
    const char *m = getenv("FG_FAST_MODEL_DIR");
    return m ? m : "node_modules/@vladmandic/human/models";
}

const char *fg_test_source(const char *relative)
{
    return join("FG_SOURCE_DIR", ".", relative);
}

void *fg_test_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto out;
    buf = malloc((size_t)n + 1);
    if (!buf) goto out;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = 0;
    if (size) *size = (size_t)n;
out:
    fclose(f);
    return buf;
}

nn_runtime *fg_test_pool(int threads)
{
    static const float one = 1.0f;
    nn_graph *g = nn_graph_new(1);
    nn_runtime *rt = NULL;
    fg_error err;
    nn_t x = nn_input(g, 1, 1, 1);
    nn_output(g, nn_conv2d(g, x, &one, 1, 1, 1, NULL, 1, NN_SAME, NN_ACT_NONE));
    CHECKF(nn_graph_build(g, threads, &rt, &err) == FG_OK, "%s", err.message);
    nn_graph_free(g);
    return rt;
}

float fg_test_frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 65535.0f - 0.5f;
}

double fg_test_max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}
