/*
 * options.c - the table-driven option parser (options.h) and the face commands' engine options.
 */
#include "cli/options.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MODELS_REL "node_modules/@vladmandic/face-api/model"
#define FAST_MODELS_REL "node_modules/@vladmandic/human/models"

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

const char *const fg_cli_detector_names[] = {"ssd", "tiny", "blaze", NULL};
const char *const fg_cli_align_names[] = {"dlib", "reference", NULL};
const char *const fg_cli_padding_names[] = {"retry", "none", "always", NULL};

#define ENGINE(f) OPT_FIELD(fg_engine_options, f)

const fg_cli_option fg_cli_engine_options[] = {
    {"models", "DIR", "face-api model folder (default: $FACEGATE_MODELS or " MODELS_REL ")",
     OPT_STRING, ENGINE(model_dir)},
    {"fast-models", "DIR",
     "the fast path's model folder (@vladmandic/human; default:\n$FACEGATE_FAST_MODELS "
     "or " FAST_MODELS_REL ")",
     OPT_STRING, ENGINE(fast_model_dir)},
    {"detector", "NAME",
     "ssd (accurate, default), tiny, or blaze (the fast path: BlazeFace\n+ FaceMesh, whose "
     "points give the landmarks)",
     OPT_CHOICE, ENGINE(detector), 0, 0, fg_cli_detector_names},
    {"align", "NAME", "dlib (similarity-aligned chip, default) or reference (face-api crop)",
     OPT_CHOICE, ENGINE(align), 0, 0, fg_cli_align_names},
    {"padding", "MODE",
     "when the detector looks again at the image in a black border:\nretry (when no face it "
     "found covers the centre, default), always,\nor none (the reference's single pass)",
     OPT_CHOICE, ENGINE(padding), 0, 0, fg_cli_padding_names},
    {"tta", NULL,
     "descriptor = mean of the face's and its mirror image's (better\nat strict thresholds; "
     "recognition takes ~1.7x as long)",
     OPT_BOOL, ENGINE(tta)},
    {"threads", "N", "inference threads: 1 (default), 0 = all cores", OPT_INT, ENGINE(threads), 0,
     256},
    {"max-pixels", "N", "refuse images larger than N pixels (default 40000000)", OPT_U64,
     ENGINE(max_pixels), 1, 1e15},
};
const size_t fg_cli_engine_option_count =
    sizeof fg_cli_engine_options / sizeof fg_cli_engine_options[0];

const fg_cli_option *fg_cli_find(const fg_cli_parser *p, const char *name, size_t len,
                                 void **target)
{
    for (size_t t = 0; t < p->ntables; t++) {
        const fg_cli_table *tab = &p->tables[t];
        for (size_t i = 0; i < tab->count; i++) {
            const fg_cli_option *o = &tab->options[i];
            if (o->kind == OPT_SECTION || o->kind == OPT_NOTE) continue;
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
                if (target) *target = tab->target;
                return o;
            }
        }
    }
    return NULL;
}

int fg_cli_bad_value(const fg_cli_parser *p, const fg_cli_option *o, const char *value,
                     const fg_cli_source *src, const char *expected)
{
    fprintf(stderr, "facegate %s: %s: '%s' is not %s (from %s)\n", p->command, o->name, value,
            expected, src->what);
    return -1;
}

static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) return 1;
        if (strcasecmp(v, no[i]) == 0) return 0;
    }
    return -1;
}

/* "a, b or c" into buf. */
static const char *choice_list(const char *const *names, char *buf, size_t cap)
{
    size_t n = 0, len = 0;
    while (names[n])
        n++;
    buf[0] = 0;
    for (size_t k = 0; k < n && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                k == 0       ? ""
                                : k == n - 1 ? " or "
                                             : ", ",
                                names[k]);
    return buf;
}

int fg_cli_choose(const fg_cli_parser *p, const fg_cli_option *o, const char *value,
                  const fg_cli_source *src)
{
    char names[256];
    for (int k = 0; o->choices[k]; k++)
        if (strcmp(value, o->choices[k]) == 0) return k;
    return fg_cli_bad_value(p, o, value, src, choice_list(o->choices, names, sizeof names));
}

static void remember(fg_cli_parser *p, const fg_cli_option *o)
{
    for (size_t i = 0; i < p->nseen; i++)
        if (p->seen[i] == o) return;
    if (p->nseen < FG_CLI_MAX_SEEN) p->seen[p->nseen++] = o;
}

int fg_cli_seen(const fg_cli_parser *p, const char *name)
{
    for (size_t i = 0; i < p->nseen; i++)
        if (strcmp(p->seen[i]->name, name) == 0) return 1;
    return 0;
}

/* A number in the row's range, stored by the field's size. */
static int apply_number(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                        const fg_cli_source *src)
{
    char *end;
    double d;
    errno = 0;
    d = strtod(value, &end);
    if (!*value || *end || errno || !(d >= o->lo && d <= o->hi)) {
        char expected[96];
        snprintf(expected, sizeof expected, "a number from %g to %g", o->lo, o->hi);
        return fg_cli_bad_value(p, o, value, src, expected);
    }
    if (o->kind != OPT_FLOAT && d != (double)(long long)d)
        return fg_cli_bad_value(p, o, value, src, "a whole number");
    if (o->kind == OPT_FLOAT && o->size == sizeof(float)) {
        float f = (float)d;
        memcpy(field, &f, sizeof f);
    } else if (o->kind == OPT_FLOAT) {
        memcpy(field, &d, sizeof d);
    } else if (o->kind == OPT_INT && o->size == sizeof(int)) {
        int n = (int)d;
        memcpy(field, &n, sizeof n);
    } else if (o->kind == OPT_INT) {
        int64_t n = (int64_t)d;
        memcpy(field, &n, sizeof n);
    } else if (o->size == sizeof(unsigned)) {
        unsigned n = (unsigned)d;
        memcpy(field, &n, sizeof n);
    } else {
        uint64_t n = (uint64_t)d;
        memcpy(field, &n, sizeof n);
    }
    return 0;
}

int fg_cli_apply(fg_cli_parser *p, const fg_cli_option *o, void *target, const char *value,
                 const fg_cli_source *src)
{
    char *field = (char *)target + o->offset;
    remember(p, o);
    switch (o->kind) {
    case OPT_TEXT:
        if (!*value || strlen(value) >= o->size)
            return fg_cli_bad_value(p, o, value, src, "a non-empty value of sensible length");
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case OPT_STRING:
        memcpy(field, &value, sizeof value);
        return 0;
    case OPT_BOOL: {
        int b = parse_bool(value);
        if (b < 0) return fg_cli_bad_value(p, o, value, src, "true or false");
        memcpy(field, &b, sizeof b);
        return 0;
    }
    case OPT_CHOICE: {
        int k = fg_cli_choose(p, o, value, src);
        if (k < 0) return -1;
        memcpy(field, &k, sizeof k);
        return 0;
    }
    case OPT_CUSTOM:
        return o->set(p, o, field, value, src);
    case OPT_SECTION:
    case OPT_NOTE:
        return -1;
    default:
        return apply_number(p, o, field, value, src);
    }
}

int fg_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

/* The option at argv[*i] ("--name VALUE", "--name=VALUE", "--flag", "--no-flag"): applied,
 * *i moved past its value, 1. 0 when it names no row of the parser's tables; -1 after printing
 * why its value is missing or bad. */
static int parse_option(fg_cli_parser *p, int argc, char **argv, int *i)
{
    const fg_cli_source src = {"the command line", 3};
    const char *name = argv[*i] + 2, *eq = strchr(name, '='), *value;
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    void *target = NULL;
    int negated = 0;
    const fg_cli_option *o = fg_cli_find(p, name, len, &target);
    if (!o && len > 3 && strncmp(name, "no-", 3) == 0) {
        o = fg_cli_find(p, name + 3, len - 3, &target);
        negated = o && o->kind == OPT_BOOL;
        if (!negated) o = NULL;
    }
    if (!o) return 0;
    if (o->kind == OPT_BOOL && !eq) {
        value = negated ? "false" : "true";
    } else if (eq) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        fprintf(stderr, "facegate %s: --%s needs a value\n", p->command, o->name);
        return -1;
    }
    return fg_cli_apply(p, o, target, value, &src) == 0 ? 1 : -1;
}

int fg_cli_parse(fg_cli_parser *p, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int r;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) continue;
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            if ((arg[0] == '-' && arg[1]) || p->npositional >= p->max_positional) {
                fprintf(stderr, "facegate %s: unexpected argument '%s' (try --help)\n", p->command,
                        arg);
                return -1;
            }
            p->positional[p->npositional++] = arg;
            continue;
        }
        if ((r = parse_option(p, argc, argv, &i)) < 0) return -1;
        if (r == 0) {
            fprintf(stderr, "facegate %s: unknown option '%s' (try --help)\n", p->command, arg);
            return -1;
        }
    }
    return 0;
}

void fg_cli_help(FILE *f, const fg_cli_option *options, size_t count, int width)
{
    for (size_t i = 0; i < count; i++) {
        const fg_cli_option *o = &options[i];
        const char *line = o->help, *nl;
        char left[64];
        if (o->kind == OPT_SECTION) {
            fprintf(f, "%s\n", o->help);
            continue;
        }
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, "  %-*s ", width, left);
        while ((nl = strchr(line, '\n')) != NULL) {
            fprintf(f, "%.*s\n%*s", (int)(nl - line), line, width + 3, "");
            line = nl + 1;
        }
        fprintf(f, "%s\n", line);
    }
}

int fg_cli_engine_arg(const char *command, int argc, char **argv, int *i, fg_engine_options *opts)
{
    const fg_cli_table table = {fg_cli_engine_options, fg_cli_engine_option_count, opts};
    fg_cli_parser p = {.command = command, .tables = &table, .ntables = 1};
    if (strncmp(argv[*i], "--", 2) != 0 || !argv[*i][2]) return 0;
    return parse_option(&p, argc, argv, i);
}
