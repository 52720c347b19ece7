/* main.c - the facegate command: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

#ifndef FG_VERSION
#define FG_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", fg_cmd_serve, "run the HTTP server (sign-up, log-in, web app)"},
    {"detect", fg_cmd_detect, "detect faces and 68 landmarks in images (JSON)"},
    {"embed", fg_cmd_embed, "print the 128-d descriptor of each face (JSON)"},
    {"compare", fg_cmd_compare, "distance between the faces of two images; exit 0 if same"},
    {"eval", fg_cmd_eval, "accuracy on labelled pairs or folders: FAR/FRR, ROC, threshold"},
    {"liveness", fg_cmd_liveness, "run the liveness challenge on a recorded clip (JSON evidence)"},
    {"eval-liveness", fg_cmd_eval_liveness,
     "liveness on labelled clips: APCER per attack kind, BPCER (ISO/IEC 30107-3)"},
    {"client", fg_cmd_client, "OpenID Connect clients: add, list, remove"},
    {"keys", fg_cmd_keys, "rotate the session signing key or the descriptor key"},
    {"backup", fg_cmd_backup, "online copy of the store (and the key files to save)"},
    {"restore", fg_cmd_restore, "restore a backup into a fresh data directory"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: facegate COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'facegate COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("facegate %s\n", FG_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "facegate: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
