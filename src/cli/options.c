#include "cli/options.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODELS_REL "node_modules/@vladmandic/face-api/model"
#define FAST_MODELS_REL "node_modules/@vladmandic/human/models"

const char fg_cli_engine_help[] =
    "  --models DIR        face-api model folder (default: $FACEGATE_MODELS or " MODELS_REL ")\n"
    "  --fast-models DIR   the fast path's model folder (@vladmandic/human; default:\n"
    "                      $FACEGATE_FAST_MODELS or " FAST_MODELS_REL ")\n"
    "  --detector NAME     ssd (accurate, default), tiny, or blaze (the fast path: BlazeFace\n"
    "                      + FaceMesh, whose points give the landmarks)\n"
    "  --align NAME        dlib (similarity-aligned chip, default) or reference (face-api crop)\n"
    "  --padding MODE      when the detector looks again at the image in a black border:\n"
    "                      retry (when no face it found covers the centre, default), always,\n"
    "                      or none (the reference's single pass)\n"
    "  --tta               descriptor = mean of the face's and its mirror image's (better\n"
    "                      at strict thresholds; recognition takes ~1.7x as long)\n"
    "  --threads N         inference threads: 1 (default), 0 = all cores\n"
    "  --max-pixels N      refuse images larger than N pixels (default 40000000)\n";

static int readable(const char *dir, const char *probe)
{
    char path[PATH_MAX + 128];
    if (strlen(dir) >= PATH_MAX) return 0;
    snprintf(path, sizeof path, "%s/%s", dir, probe);
    return access(path, R_OK) == 0;
}

/* $env, else rel under the current directory, else rel beside the executable's folder (build/..),
 * each tried for the file `probe`; rel when none has it. buf keeps the result. */
static const char *default_dir(const char *env_name, const char *rel, const char *probe, char *buf,
                               size_t size)
{
    const char *env = getenv(env_name);
    char exe[PATH_MAX];
    ssize_t n;

    if (env && *env) return env;
    if (readable(rel, probe)) return rel;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0; /* build/ */
        snprintf(buf, size, "%s/../%s", exe, rel);
        if (readable(buf, probe)) return buf;
    }
    return rel;
}

const char *fg_cli_default_models(void)
{
    static char buf[PATH_MAX + 64];
    return default_dir("FACEGATE_MODELS", MODELS_REL, "face_recognition_model.bin", buf,
                       sizeof buf);
}

const char *fg_cli_default_fast_models(void)
{
    static char buf[PATH_MAX + 64];
    return default_dir("FACEGATE_FAST_MODELS", FAST_MODELS_REL, "blazeface.json", buf, sizeof buf);
}

void fg_cli_engine_finish(fg_engine_options *opts, int fast_path)
{
    if (!opts->fast_model_dir && (fast_path || opts->detector == FG_DETECTOR_BLAZE))
        opts->fast_model_dir = fg_cli_default_fast_models();
}

static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "facegate: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int fg_cli_choose(const char *option, const char *v, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(v, names[k]) == 0) return k;
    fprintf(stderr, "facegate: %s must be", option);
    for (int k = 0; k < n; k++)
        fprintf(stderr, "%s %s", k == 0 ? "" : k == n - 1 ? " or" : ",", names[k]);
    fprintf(stderr, ", not '%s'\n", v);
    return -1;
}

int fg_cli_engine_option(int argc, char **argv, int *i, fg_engine_options *opts)
{
    const char *a = argv[*i], *v;
    char *end;

    if (strcmp(a, "--models") == 0) {
        if (!(v = value(argc, argv, i))) return -1;
        opts->model_dir = v;
    } else if (strcmp(a, "--fast-models") == 0) {
        if (!(v = value(argc, argv, i))) return -1;
        opts->fast_model_dir = v;
    } else if (strcmp(a, "--detector") == 0) {
        const char *names[] = {fg_detector_name(FG_DETECTOR_SSD),
                               fg_detector_name(FG_DETECTOR_TINY),
                               fg_detector_name(FG_DETECTOR_BLAZE)};
        int k = (v = value(argc, argv, i)) ? fg_cli_choose(a, v, names, 3) : -1;
        if (k < 0) return -1;
        opts->detector = (fg_detector)k;
    } else if (strcmp(a, "--align") == 0) {
        const char *names[] = {fg_align_name(FG_ALIGN_DLIB), fg_align_name(FG_ALIGN_REFERENCE)};
        int k = (v = value(argc, argv, i)) ? fg_cli_choose(a, v, names, 2) : -1;
        if (k < 0) return -1;
        opts->align = (fg_align)k;
    } else if (strcmp(a, "--padding") == 0) {
        const char *names[] = {fg_padding_name(FG_PADDING_RETRY), fg_padding_name(FG_PADDING_NONE),
                               fg_padding_name(FG_PADDING_ALWAYS)};
        int k = (v = value(argc, argv, i)) ? fg_cli_choose(a, v, names, 3) : -1;
        if (k < 0) return -1;
        opts->padding = (fg_padding)k;
    } else if (strcmp(a, "--tta") == 0) {
        opts->tta = 1;
    } else if (strcmp(a, "--threads") == 0) {
        if (!(v = value(argc, argv, i))) return -1;
        long n = strtol(v, &end, 10);
        if (*v == 0 || *end || n < 0 || n > 256) {
            fprintf(stderr, "facegate: --threads must be 0..256, not '%s'\n", v);
            return -1;
        }
        opts->threads = (int)n;
    } else if (strcmp(a, "--max-pixels") == 0) {
        if (!(v = value(argc, argv, i))) return -1;
        unsigned long long n = strtoull(v, &end, 10);
        if (*v == 0 || *end || n == 0) {
            fprintf(stderr, "facegate: --max-pixels must be a positive number, not '%s'\n", v);
            return -1;
        }
        opts->max_pixels = n;
    } else {
        return 0;
    }
    return 1;
}
