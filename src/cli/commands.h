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

#endif
