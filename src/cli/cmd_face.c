/*
 * cmd_face.c - facegate detect / embed / compare: the engine on image files, JSON on stdout.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "facegate.h"

typedef enum { CMD_DETECT, CMD_EMBED, CMD_COMPARE } command;

/* What a face command's own options set. */
typedef struct face_args {
    int mesh;
    double threshold; /* -1: the calibrated one of the engine's options */
} face_args;

#define FACE(f) OPT_FIELD(face_args, f)

static const fg_cli_option DETECT_OPTIONS[] = {
    {"mesh", NULL,
     "the fast path's measures of each face (BlazeFace +\nFaceMesh + iris, whatever --detector "
     "says): head pose\nin degrees, eye and mouth openness, irises",
     OPT_BOOL, FACE(mesh)},
};
static const fg_cli_option COMPARE_OPTIONS[] = {
    {"threshold", "T", "decision threshold on the match distance (default 0.38)", OPT_FLOAT,
     FACE(threshold), 1e-9, 1e9},
};

static const struct face_command {
    const char *name;
    const char *intro;
    const fg_cli_option *options;
    size_t count;
} COMMANDS[] = {
    [CMD_DETECT] = {"detect",
                    "usage: facegate detect [OPTIONS] IMAGE...\n"
                    "Detects faces and their 68 landmarks; prints JSON.\n",
                    DETECT_OPTIONS, 1},
    [CMD_EMBED] = {"embed",
                   "usage: facegate embed [OPTIONS] IMAGE...\n"
                   "Prints the 128-d descriptor of every face found, as JSON.\n",
                   NULL, 0},
    [CMD_COMPARE] =
        {"compare",
         "usage: facegate compare [OPTIONS] IMAGE_A IMAGE_B\n"
         "Match distance (Euclidean between the unit-length descriptors) between the\n"
         "most confident face of each image; \"euclidean\" is the reference's distance\n"
         "(threshold 0.6). Exit status 0: same person (distance < threshold), 1:\n"
         "different, 2: error.\n",
         COMPARE_OPTIONS, 1},
};

static void print_usage(command cmd, FILE *f)
{
    fputs(COMMANDS[cmd].intro, f);
    fg_cli_help(f, COMMANDS[cmd].options, COMMANDS[cmd].count, FG_CLI_HELP_WIDTH);
    fputs("Options:\n", f);
    fg_cli_help(f, fg_cli_engine_options, fg_cli_engine_option_count, FG_CLI_HELP_WIDTH);
    fprintf(f, "  %-*s %s\n", FG_CLI_HELP_WIDTH, "-h, --help", "this help");
}

static json_t *error_json(const char *file, const fg_error *err)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "file", file, "error", "code", fg_error_name(err->code),
                     "message", err->message);
}

static json_t *box_json(const fg_box *b)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "x", (double)b->x, "y", (double)b->y, "width",
                     (double)b->width, "height", (double)b->height);
}

static json_t *point3_json(const fg_point3 *p)
{
    return json_pack("[f, f, f]", (double)p->x, (double)p->y, (double)p->z);
}

/* The fast path's per-face measures (not the 478 points). */
static json_t *mesh_json(const fg_face_mesh *m)
{
    return json_pack(
        "{s:f, s:{s:f, s:f, s:f}, s:{s:f, s:f}, s:f, s:{s:{s:o, s:f}, s:{s:o, s:f}}}", "confidence",
        (double)m->confidence, "pose", "yaw", (double)m->yaw, "pitch", (double)m->pitch, "roll",
        (double)m->roll, "eye_openness", "right", (double)m->eye_openness[FG_EYE_RIGHT], "left",
        (double)m->eye_openness[FG_EYE_LEFT], "mouth_openness", (double)m->mouth_openness, "iris",
        "right", "centre", point3_json(&m->iris[FG_EYE_RIGHT]), "radius",
        (double)m->iris_radius[FG_EYE_RIGHT], "left", "centre", point3_json(&m->iris[FG_EYE_LEFT]),
        "radius", (double)m->iris_radius[FG_EYE_LEFT]);
}

static json_t *face_json(const fg_face *f, const float *descriptor)
{
    json_t *o = json_pack("{s:f, s:o}", "score", (double)f->score, "box", box_json(&f->box));
    if (descriptor) {
        json_t *d = json_array();
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            json_array_append_new(d, json_real(descriptor[i]));
        json_object_set_new(o, "descriptor", d);
    } else {
        json_t *lm = json_array();
        for (int i = 0; i < FG_LANDMARKS; i++)
            json_array_append_new(
                lm, json_pack("[f, f]", (double)f->landmarks[i].x, (double)f->landmarks[i].y));
        json_object_set_new(o, "landmarks", lm);
    }
    return o;
}

/* Loads, detects (with meshes on the fast path when `mesh`) and (for embed) describes one
 * file. Returns its JSON (never NULL). */
static json_t *process(fg_engine *e, const char *file, int describe, int mesh, int *failed)
{
    fg_image img = {0};
    fg_face *faces = NULL;
    fg_face_mesh *meshes = NULL;
    size_t n = 0;
    fg_error err = {0};
    float(*d)[FG_DESCRIPTOR_DIM] = NULL;
    json_t *out, *arr;
    int rc = fg_engine_load_image(e, file, &img, &err);

    if (!rc)
        rc = mesh ? fg_detect_mesh(e, &img, &faces, &meshes, &n, &err)
                  : fg_detect(e, &img, &faces, &n, &err);
    if (!rc && describe && n) {
        if (!(d = malloc(n * sizeof *d))) {
            rc = err.code = FG_ENOMEM;
            snprintf(err.message, sizeof err.message, "out of memory");
        } else {
            rc = fg_describe_faces(e, &img, faces, n, d, &err);
        }
    }
    arr = json_array();
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *f = face_json(&faces[i], describe ? d[i] : NULL);
        if (meshes) json_object_set_new(f, "mesh", mesh_json(&meshes[i]));
        json_array_append_new(arr, f);
    }
    if (rc) {
        *failed = 1;
        out = error_json(file, &err);
        json_decref(arr);
    } else {
        out = json_pack("{s:s, s:i, s:i, s:o}", "file", file, "width", img.width, "height",
                        img.height, "faces", arr);
    }
    free(d);
    free(faces);
    free(meshes);
    fg_image_free(&img);
    return out;
}

/* The descriptor of the most confident face in file; 0, or 2 after printing an error. */
static int best_descriptor(fg_engine *e, const char *file, float d[FG_DESCRIPTOR_DIM])
{
    fg_image img = {0};
    fg_face *faces = NULL;
    size_t n = 0;
    fg_error err = {0};
    int rc = fg_engine_load_image(e, file, &img, &err);
    if (!rc) rc = fg_detect(e, &img, &faces, &n, &err);
    if (!rc && n == 0)
        rc = err.code = FG_ENOFACE,
        snprintf(err.message, sizeof err.message, "no face found in %s", file);
    if (!rc) rc = fg_describe(e, &img, &faces[0], d, &err);
    free(faces);
    fg_image_free(&img);
    if (rc) fprintf(stderr, "facegate: %s: %s\n", file, err.message);
    return rc ? 2 : 0;
}

static int run(command cmd, int argc, char **argv)
{
    fg_engine_options opts;
    fg_engine *e = NULL;
    fg_error err = {0};
    const char **files = calloc((size_t)argc, sizeof *files);
    face_args args = {0, -1};
    fg_cli_table tables[] = {{COMMANDS[cmd].options, COMMANDS[cmd].count, &args},
                             {fg_cli_engine_options, fg_cli_engine_option_count, &opts}};
    fg_cli_parser p = {.command = COMMANDS[cmd].name,
                       .tables = tables,
                       .ntables = 2,
                       .positional = files,
                       .max_positional = argc};
    int nfiles, failed = 0, status = 0, mesh;
    double threshold;

    fg_engine_options_init(&opts);
    opts.model_dir = fg_cli_default_models();
    if (!files) return 2;
    if (fg_cli_wants_help(argc, argv)) {
        print_usage(cmd, stdout);
        free(files);
        return 0;
    }
    if (fg_cli_parse(&p, argc, argv) != 0) goto usage_error;
    nfiles = p.npositional, mesh = args.mesh, threshold = args.threshold;
    if (nfiles == 0 || (cmd == CMD_COMPARE && nfiles != 2)) goto usage_error;
    if (threshold < 0) threshold = opts.tta ? FG_MATCH_THRESHOLD_TTA : FG_MATCH_THRESHOLD;
    fg_cli_engine_finish(&opts, mesh);
    if (fg_engine_open(&opts, &e, &err)) {
        fprintf(stderr, "facegate: %s\n", err.message);
        free(files);
        return 2;
    }

    if (cmd == CMD_COMPARE) {
        float a[FG_DESCRIPTOR_DIM], b[FG_DESCRIPTOR_DIM];
        status = best_descriptor(e, files[0], a);
        if (!status) status = best_descriptor(e, files[1], b);
        if (!status) {
            double d = fg_match_distance(a, b);
            int same = d < threshold;
            printf("{\"distance\": %.6f, \"threshold\": %.4f, \"same\": %s, \"euclidean\": %.6f}\n",
                   d, threshold, same ? "true" : "false", (double)fg_distance(a, b));
            status = same ? 0 : 1;
        }
    } else {
        json_t *all = json_array();
        for (int i = 0; i < nfiles; i++)
            json_array_append_new(all, process(e, files[i], cmd == CMD_EMBED, mesh, &failed));
        json_dumpf(all, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9));
        fputc('\n', stdout);
        json_decref(all);
        status = failed ? 1 : 0;
    }
    fg_engine_free(e);
    free(files);
    return status;

usage_error:
    print_usage(cmd, stderr);
    free(files);
    return 2;
}

int fg_cmd_detect(int argc, char **argv)
{
    return run(CMD_DETECT, argc, argv);
}

int fg_cmd_embed(int argc, char **argv)
{
    return run(CMD_EMBED, argc, argv);
}

int fg_cmd_compare(int argc, char **argv)
{
    return run(CMD_COMPARE, argc, argv);
}
