/*
 * options.h - one table-driven option parser for every facegate command, and the engine options
 * the face commands share.
 *
 * A command lists its options once, one row each (name, metavar, help, kind, field, range), in
 * the manner of Redis's standardConfig table: the command line (and, for serve, the config file
 * and the environment) and --help are all driven by the rows. Adding an option is adding a row.
 * Every command then parses, checks ranges and words its errors the same way:
 *   facegate CMD: NAME: 'VALUE' is not EXPECTED (from SOURCE)
 */
#ifndef FG_CLI_OPTIONS_H
#define FG_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "facegate.h"

typedef enum option_kind {
    OPT_TEXT,    /* char array of `size` bytes (a copy of the value) */
    OPT_STRING,  /* const char *: the value itself (command-line only: it points into argv) */
    OPT_INT,     /* signed integer (int, or int64_t by size) in [lo, hi] */
    OPT_UINT,    /* unsigned in [lo, hi] */
    OPT_SIZE,    /* size_t in [lo, hi] */
    OPT_U64,     /* uint64_t in [lo, hi] */
    OPT_FLOAT,   /* float, or double by size, in [lo, hi] */
    OPT_BOOL,    /* int 0/1: --name / --no-name on the command line, true/false elsewhere */
    OPT_CHOICE,  /* int or enum: the index of the value among `choices` */
    OPT_CUSTOM,  /* the row's `set` function */
    OPT_SECTION, /* --help only: a heading (help), not an option */
    OPT_NOTE,    /* --help only: one more line on an option described elsewhere */
} option_kind;

/* Where a value came from, for messages and for list precedence. */
typedef struct fg_cli_source {
    const char *what; /* "the command line", "FACEGATE_PORT", "serve.conf:3" */
    int rank;         /* 1 config file, 2 environment, 3 command line */
} fg_cli_source;

struct fg_cli_parser;
typedef struct fg_cli_option fg_cli_option;
/* An OPT_CUSTOM setter: 0, or -1 after printing why. field is the row's field in the table's
 * target. */
typedef int (*fg_cli_setter)(struct fg_cli_parser *p, const fg_cli_option *o, void *field,
                             const char *value, const fg_cli_source *src);

struct fg_cli_option {
    const char *name;    /* without the leading "--" */
    const char *metavar; /* NULL for booleans */
    const char *help;    /* lines after the first start with '\n' and are indented */
    option_kind kind;
    size_t offset, size;        /* the field in the table's target: OPT_FIELD(type, member) */
    double lo, hi;              /* numbers: the accepted range */
    const char *const *choices; /* OPT_CHOICE: the names, NULL-terminated, in enum order */
    fg_cli_setter set;          /* OPT_CUSTOM */
};

#define OPT_FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)

/* A command's rows and the struct their fields are in. */
typedef struct fg_cli_table {
    const fg_cli_option *options;
    size_t count;
    void *target;
} fg_cli_table;

#define FG_CLI_MAX_SEEN 128

typedef struct fg_cli_parser {
    const char *command; /* "serve", "eval", "client add": the messages' prefix */
    const fg_cli_table *tables;
    size_t ntables;
    void *ctx; /* for OPT_CUSTOM setters */
    /* Arguments that are not options: up to max_positional of them are kept here; one more is
     * "unexpected". */
    const char **positional;
    int max_positional, npositional;
    /* The options given so far (fg_cli_seen). */
    const fg_cli_option *seen[FG_CLI_MAX_SEEN];
    size_t nseen;
} fg_cli_parser;

/* The row named name (len bytes) in the parser's tables, or NULL; *target (may be NULL) gets
 * its table's target. */
const fg_cli_option *fg_cli_find(const fg_cli_parser *p, const char *name, size_t len,
                                 void **target);

/* Applies one value to one option of the table whose target is `target`: 0, or -1 after
 * printing why. */
int fg_cli_apply(fg_cli_parser *p, const fg_cli_option *o, void *target, const char *value,
                 const fg_cli_source *src);

/* Parses argv[1..argc-1]: --name VALUE, --name=VALUE, --flag, --no-flag, and positional
 * arguments. -h/--help are skipped (see fg_cli_wants_help). 0, or -1 after printing why. */
int fg_cli_parse(fg_cli_parser *p, int argc, char **argv);

/* 1 when argv[1..] holds -h or --help. */
int fg_cli_wants_help(int argc, char **argv);

/* 1 when the option named name was given. */
int fg_cli_seen(const fg_cli_parser *p, const char *name);

/* Prints "facegate CMD: NAME: 'VALUE' is not EXPECTED (from SOURCE)" and returns -1. */
int fg_cli_bad_value(const fg_cli_parser *p, const fg_cli_option *o, const char *value,
                     const fg_cli_source *src, const char *expected);

/* The index of value among the row's choices, or -1 after printing which ones are allowed. */
int fg_cli_choose(const fg_cli_parser *p, const fg_cli_option *o, const char *value,
                  const fg_cli_source *src);

/* The help of a table's rows: "  --name METAVAR" padded to `width` columns, then the help;
 * continuation lines of the help are indented to the same column. */
void fg_cli_help(FILE *f, const fg_cli_option *options, size_t count, int width);

/* The engine options of the face commands (--models, --fast-models, --detector, --align,
 * --padding, --tta, --threads, --max-pixels); their target is an fg_engine_options. */
extern const fg_cli_option fg_cli_engine_options[];
extern const size_t fg_cli_engine_option_count;
#define FG_CLI_HELP_WIDTH 19 /* the face commands' help column */

/* For a command that walks argv itself: when argv[*i] is an engine option (--name VALUE,
 * --name=VALUE, --flag, --no-flag), applies it to opts, moves *i past its value and returns 1;
 * 0 when it is not one; -1 after printing why its value is bad. */
int fg_cli_engine_arg(const char *command, int argc, char **argv, int *i, fg_engine_options *opts);

/* The engine enums' names, in enum order (NULL-terminated), for OPT_CHOICE rows. */
extern const char *const fg_cli_detector_names[];
extern const char *const fg_cli_align_names[];
extern const char *const fg_cli_padding_names[];

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

#endif
