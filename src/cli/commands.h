/*
 * commands.h - the subcommands of the facegate binary. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit status.
 */
#ifndef FG_CLI_COMMANDS_H
#define FG_CLI_COMMANDS_H

int fg_cmd_serve(int argc, char **argv);         /* src/cli/cmd_serve.c */
int fg_cmd_detect(int argc, char **argv);        /* src/cli/cmd_face.c */
int fg_cmd_embed(int argc, char **argv);         /* src/cli/cmd_face.c */
int fg_cmd_compare(int argc, char **argv);       /* src/cli/cmd_face.c */
int fg_cmd_eval(int argc, char **argv);          /* src/cli/cmd_eval.c */
int fg_cmd_liveness(int argc, char **argv);      /* src/cli/cmd_liveness.c */
int fg_cmd_eval_liveness(int argc, char **argv); /* src/cli/cmd_liveness.c */
int fg_cmd_client(int argc, char **argv);        /* src/cli/cmd_admin.c */
int fg_cmd_keys(int argc, char **argv);          /* src/cli/cmd_admin.c */
int fg_cmd_backup(int argc, char **argv);        /* src/cli/cmd_admin.c */
int fg_cmd_restore(int argc, char **argv);       /* src/cli/cmd_admin.c */

/* Applies the text of a `facegate serve` config file (`name = value` lines, # comments) to
 * *config, as --config FILE does; name names it in messages (printed on stderr). 0, or -1 at
 * the first bad line. For tests and the fuzz harness (tests/fuzz/fuzz-config.c). */
struct fg_server_config;
int fg_serve_config_text(const char *text, size_t len, const char *name,
                         struct fg_server_config *config);

#endif
