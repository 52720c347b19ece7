/*
 * options.h - the engine options every face command shares (--models, --fast-models,
 * --detector, --align, --threads, --max-pixels), and the default model folders.
 */
#ifndef FG_CLI_OPTIONS_H
#define FG_CLI_OPTIONS_H

#include "facegate.h"

/* The model folder: $FACEGATE_MODELS, else node_modules/@vladmandic/face-api/model under the
 * current directory, else the same path beside the executable's parent (build/..). The result
 * is a static buffer. */
const char *fg_cli_default_models(void);

/* The fast path's model folder (@vladmandic/human's models), found the same way from
 * $FACEGATE_FAST_MODELS and node_modules/@vladmandic/human/models. */
const char *fg_cli_default_fast_models(void);

/* Completes opts after the command line: the fast path's default folder when the command needs
 * the fast path (fast_path, or --detector blaze) and --fast-models was not given. */
void fg_cli_engine_finish(fg_engine_options *opts, int fast_path);

/* If argv[*i] is one of the shared engine options, consumes it (and its value), fills opts and
 * returns 1; returns 0 if it is not one; returns -1 (after printing why) for a bad value. */
int fg_cli_engine_option(int argc, char **argv, int *i, fg_engine_options *opts);

/* The index of v among the n names (enum order), or -1 after printing which ones are allowed
 * ("facegate: OPTION must be a, b or c, not 'v'"). */
int fg_cli_choose(const char *option, const char *v, const char *const *names, int n);

/* The help text of the shared options. */
extern const char fg_cli_engine_help[];

#endif
