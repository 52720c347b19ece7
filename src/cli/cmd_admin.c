/*
 * cmd_admin.c - operator commands on a data directory: `facegate client`, `facegate keys`,
 * `facegate backup`, `facegate restore`.
 *
 * Each takes --data-dir DIR (default $FACEGATE_DATA_DIR, else ./data) and --store (default
 * $FACEGATE_STORE, else sqlite: the data dir's database; or serve's postgres://... URL). Commands
 * that only add rows or files (client, keys rotate, backup) work while `facegate serve` runs on the
 * same directory; those that rewrite what a running server holds in memory (keys
 * rotate-descriptor-key, restore) refuse to run until it stops.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "server/clients.h"
#include "server/keys.h"
#include "store/store.h"

/* The parsed command line of one of these commands. */
typedef struct admin_args {
    const char *data_dir;
    const char *store;
    const char *name, *id;
    const char *redirect_uris[FG_CLIENT_MAX_REDIRECTS];
    size_t redirect_count;
    int public_client;
    const char *positional[2];
    int npositional;
} admin_args;

/* --redirect-uri URI: one more. */
static int add_redirect(fg_cli_parser *p, const fg_cli_option *o, void *field, const char *value,
                        const fg_cli_source *src)
{
    admin_args *a = p->ctx;
    (void)o, (void)field, (void)src;
    if (a->redirect_count == FG_CLIENT_MAX_REDIRECTS) {
        fprintf(stderr, "facegate %s: at most %d redirect URIs\n", p->command,
                FG_CLIENT_MAX_REDIRECTS);
        return -1;
    }
    a->redirect_uris[a->redirect_count++] = value;
    return 0;
}

#define ADMIN(f) OPT_FIELD(admin_args, f)

/* The options of every admin command (each usage text says which it takes). */
static const fg_cli_option OPTIONS[] = {
    {"data-dir", "DIR", "the server's data directory (default $FACEGATE_DATA_DIR or ./data)",
     OPT_STRING, ADMIN(data_dir)},
    {"store", "URL", "the server's store: sqlite (default) or postgres://...", OPT_STRING,
     ADMIN(store)},
    {"name", "NAME", "client add: the client's display name", OPT_STRING, ADMIN(name)},
    {"id", "ID", "client add: the client id (default: generated)", OPT_STRING, ADMIN(id)},
    {"redirect-uri", "URI", "client add: an allowed redirect URI (repeatable)", OPT_CUSTOM, 0, 0, 0,
     0, .set = add_redirect},
    {"public", NULL, "client add: a public client (no secret, PKCE)", OPT_BOOL,
     ADMIN(public_client)},
};

/* Parses argv[first..] of command `cmd`; 0, or -1 after printing why. */
static int parse(const char *cmd, int argc, char **argv, int first, admin_args *a)
{
    fg_cli_table table = {OPTIONS, sizeof OPTIONS / sizeof OPTIONS[0], a};
    fg_cli_parser p = {.command = cmd,
                       .tables = &table,
                       .ntables = 1,
                       .ctx = a,
                       .positional = a->positional,
                       .max_positional = 2};
    memset(a, 0, sizeof *a);
    a->data_dir = getenv("FACEGATE_DATA_DIR");
    if (!a->data_dir || !*a->data_dir) a->data_dir = "data";
    a->store = getenv("FACEGATE_STORE");
    if (!a->store || !*a->store) a->store = "sqlite";
    if (fg_cli_parse(&p, argc - (first - 1), argv + (first - 1)) != 0) return -1;
    a->npositional = p.npositional;
    return 0;
}

/* Opens the store of an existing data dir (never creates a SQLite one), or the PostgreSQL one. */
static fg_store *open_store(const char *cmd, const admin_args *a)
{
    const char *data_dir = a->data_dir;
    char path[4096];
    struct stat st;
    fg_store *store = NULL;
    fg_error err = {0};
    snprintf(path, sizeof path, "%s/facegate.db", data_dir);
    if (strcmp(a->store, "sqlite") == 0 && stat(path, &st) != 0) {
        fprintf(stderr, "facegate %s: %s has no database (%s): wrong --data-dir?\n", cmd, data_dir,
                strerror(errno));
        return NULL;
    }
    if (fg_store_open(a->store, data_dir, &store, NULL, &err) != FG_OK) {
        fprintf(stderr, "facegate %s: %s\n", cmd, err.message);
        return NULL;
    }
    return store;
}

static void print_json(json_t *json)
{
    char *text = json ? json_dumps(json, JSON_INDENT(2)) : NULL;
    if (text) puts(text);
    free(text);
    json_decref(json);
}

/* --- facegate client ------------------------------------------------------------------------ */

static const char CLIENT_USAGE[] =
    "usage: facegate client add --name NAME --redirect-uri URI [--redirect-uri URI...]\n"
    "                           [--public] [--id ID] [--data-dir DIR]\n"
    "       facegate client list [--data-dir DIR]\n"
    "       facegate client remove ID [--data-dir DIR]\n"
    "(each also takes --store URL: the server's postgres://... store; default sqlite)\n\n"
    "OpenID Connect clients (relying parties) allowed to sign people in with facegate.\n"
    "add prints the client as JSON, with client_secret (shown only this once) unless --public;\n"
    "a public client (a browser or mobile app) has no secret and must use PKCE. Redirect URIs\n"
    "match exactly: https://..., http:// only on 127.0.0.1, localhost or [::1].\n";

int fg_cmd_client(int argc, char **argv)
{
    admin_args a;
    fg_store *store;
    fg_error err = {0};
    const char *verb = argc > 1 ? argv[1] : "";
    int rc = 1;

    if (fg_cli_wants_help(argc, argv) || argc < 2) {
        fputs(CLIENT_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (parse("client", argc, argv, 2, &a) != 0) return 2;
    if (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "remove") != 0) {
        fprintf(stderr, "facegate client: unknown action '%s'\n\n%s", verb, CLIENT_USAGE);
        return 2;
    }
    if (strcmp(verb, "remove") == 0 && a.npositional != 1) {
        fprintf(stderr, "facegate client remove: name the client id to remove\n");
        return 2;
    }
    if (!(store = open_store("client", &a))) return 1;
    if (strcmp(verb, "add") == 0) {
        fg_client_spec spec = {a.id, a.name, a.redirect_uris, a.redirect_count, a.public_client};
        fg_oidc_client client;
        char secret[FG_CLIENT_SECRET_MAX];
        if (fg_client_register(store, &spec, &client, secret, &err) == FG_OK) {
            json_t *out = fg_client_json(&client);
            if (secret[0]) json_object_set_new(out, "client_secret", json_string(secret));
            print_json(out);
            rc = 0;
        }
    } else if (strcmp(verb, "list") == 0) {
        fg_oidc_client *clients = NULL;
        size_t count = 0;
        if (fg_store_client_list(store, &clients, &count, &err) == FG_OK) {
            json_t *list = json_array();
            for (size_t i = 0; i < count; i++)
                json_array_append_new(list, fg_client_json(&clients[i]));
            free(clients);
            print_json(list);
            rc = 0;
        }
    } else if (fg_store_client_delete(store, a.positional[0], &err) == FG_OK) {
        printf("removed client %s\n", a.positional[0]);
        rc = 0;
    }
    if (rc != 0) fprintf(stderr, "facegate client %s: %s\n", verb, err.message);
    fg_store_close(store);
    return rc;
}

/* --- facegate keys -------------------------------------------------------------------------- */

static const char KEYS_USAGE[] =
    "usage: facegate keys rotate [--data-dir DIR] [--store URL]\n"
    "       facegate keys rotate-descriptor-key [--data-dir DIR]\n\n"
    "rotate: a new session signing key. The old one stays published (JWKS) and keeps verifying\n"
    "  the tokens it signed until they expire; the key before it is dropped. A running server\n"
    "  is told to reload (SIGHUP). With --store postgres://... the keys are the database's:\n"
    "  every server on it picks the new one up by itself. Rotate at most once per token\n"
    "  lifetime (--token-ttl).\n"
    "rotate-descriptor-key: a new encryption key for the face templates; every template is\n"
    "  re-encrypted in one transaction. Stop the server first.\n";

/* SQLite: the data dir's key files. PostgreSQL: the keys in the database (this data dir's
 * descriptor key opens them); every server there is notified. */
static int rotate_signing_key(const admin_args *a)
{
    const char *data_dir = a->data_dir;
    fg_jwt_keyset keys;
    fg_error err = {0};
    fg_store *store = NULL;
    pid_t server = fg_datadir_owner(data_dir);
    int rc;
    if (strcmp(a->store, "sqlite") != 0 && !(store = open_store("keys rotate", a))) return 1;
    rc = fg_keys_rotate(data_dir, store, &keys, &err);
    fg_store_close(store);
    if (rc != FG_OK) {
        fprintf(stderr, "facegate keys rotate: %s\n", err.message);
        return 1;
    }
    printf("new signing key %s; previous key %s still verifies\n", keys.keys[0].kid,
           keys.count > 1 ? keys.keys[1].kid : "(none)");
    if (store) printf("every server on the database loads it within a second\n");
    sodium_memzero(&keys, sizeof keys);
    if (server > 0) {
        if (kill(server, SIGHUP) != 0) {
            fprintf(stderr,
                    "facegate keys rotate: could not tell the server (pid %ld) to reload: %s; "
                    "send it SIGHUP (systemctl reload facegate)\n",
                    (long)server, strerror(errno));
            return 1;
        }
        printf("told the running server (pid %ld) to reload its keys\n", (long)server);
    }
    return 0;
}

static int rotate_descriptor_key(const admin_args *a)
{
    const char *data_dir = a->data_dir;
    char key_path[4096], next_path[4200];
    uint8_t key[32];
    fg_store *store;
    fg_error err = {0};
    size_t templates = 0;
    int lock_fd, rc;

    if (fg_datadir_lock(data_dir, &lock_fd, &err) != FG_OK) {
        fprintf(stderr, "facegate keys rotate-descriptor-key: %s: stop the server first\n",
                err.message);
        return 1;
    }
    if (!(store = open_store("keys rotate-descriptor-key", a))) {
        close(lock_fd);
        return 1;
    }
    snprintf(key_path, sizeof key_path, "%s/%s", data_dir, FG_STORE_KEY_FILE);
    snprintf(next_path, sizeof next_path, "%s.next", key_path);
    randombytes_buf(key, sizeof key);
    /* The new key is on disk before any template is under it, so no crash can lose it. */
    rc = fg_keyfile_replace(next_path, key, sizeof key, &err);
    if (rc == FG_OK) rc = fg_store_rekey(store, key, &templates, &err);
    if (rc == FG_OK && (rc = fg_keyfile_replace(key_path, key, sizeof key, &err)) != FG_OK)
        fprintf(stderr,
                "facegate keys rotate-descriptor-key: the templates are now under the key in %s; "
                "move it over %s\n",
                next_path, key_path);
    else
        unlink(next_path); /* done, or rolled back (the old key still holds) */
    sodium_memzero(key, sizeof key);
    fg_store_close(store);
    close(lock_fd);
    if (rc != FG_OK) {
        fprintf(stderr, "facegate keys rotate-descriptor-key: %s\n", err.message);
        return 1;
    }
    printf("re-encrypted %zu templates under a new %s\n", templates, FG_STORE_KEY_FILE);
    return 0;
}

int fg_cmd_keys(int argc, char **argv)
{
    admin_args a;
    const char *verb = argc > 1 ? argv[1] : "";
    if (fg_cli_wants_help(argc, argv) || argc < 2) {
        fputs(KEYS_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (parse("keys", argc, argv, 2, &a) != 0 || a.npositional > 0) return 2;
    if (strcmp(verb, "rotate") == 0) return rotate_signing_key(&a);
    if (strcmp(verb, "rotate-descriptor-key") == 0) return rotate_descriptor_key(&a);
    fprintf(stderr, "facegate keys: unknown action '%s'\n\n%s", verb, KEYS_USAGE);
    return 2;
}

/* --- facegate backup / restore -------------------------------------------------------------- */

/* The data dir's secrets: not in the backup file, to be saved (and restored) beside it. */
static const char *const KEY_FILES[] = {FG_STORE_KEY_FILE, FG_SIGNING_KEY_FILE,
                                        FG_SIGNING_PREVIOUS_FILE, FG_ADMIN_TOKEN_FILE};
#define NKEY_FILES (sizeof KEY_FILES / sizeof KEY_FILES[0])

static void list_key_files(FILE *out, const char *data_dir)
{
    for (size_t i = 0; i < NKEY_FILES; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", data_dir, KEY_FILES[i]);
        if (stat(path, &st) == 0) fprintf(out, "  %s\n", path);
    }
}

int fg_cmd_backup(int argc, char **argv)
{
    admin_args a;
    fg_store *store;
    fg_error err = {0};
    int rc;
    if (fg_cli_wants_help(argc, argv)) {
        printf("usage: facegate backup FILE [--data-dir DIR]\n\n"
               "Writes an online, consistent copy of the store to FILE (new, mode 0600) while the\n"
               "server keeps running, and lists the key files to save with it: they are not in\n"
               "FILE, and without descriptor.key the templates cannot be read.\n");
        return 0;
    }
    if (parse("backup", argc, argv, 1, &a) != 0) return 2;
    if (a.npositional != 1) {
        fprintf(stderr, "usage: facegate backup FILE [--data-dir DIR]\n");
        return 2;
    }
    if (!(store = open_store("backup", &a))) return 1;
    rc = fg_store_backup(store, a.positional[0], &err);
    fg_store_close(store);
    if (rc != FG_OK) {
        fprintf(stderr, "facegate backup: %s\n", err.message);
        return 1;
    }
    printf("backed up %s/facegate.db to %s\nsave these key files with it (keep them secret):\n",
           a.data_dir, a.positional[0]);
    list_key_files(stdout, a.data_dir);
    return 0;
}

int fg_cmd_restore(int argc, char **argv)
{
    admin_args a;
    fg_error err = {0};
    int lock_fd, rc;
    if (fg_cli_wants_help(argc, argv)) {
        printf("usage: facegate restore FILE [--data-dir DIR]\n\n"
               "Restores a backup made by `facegate backup` into DIR, which must hold no database\n"
               "(a fresh directory; it is created 0700). Copy the saved key files into DIR too,\n"
               "then start the server. The server must not be running on DIR.\n");
        return 0;
    }
    if (parse("restore", argc, argv, 1, &a) != 0) return 2;
    if (a.npositional != 1) {
        fprintf(stderr, "usage: facegate restore FILE [--data-dir DIR]\n");
        return 2;
    }
    if (mkdir(a.data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "facegate restore: cannot create %s: %s\n", a.data_dir, strerror(errno));
        return 1;
    }
    if (fg_datadir_lock(a.data_dir, &lock_fd, &err) != FG_OK) {
        fprintf(stderr, "facegate restore: %s: stop the server first\n", err.message);
        return 1;
    }
    rc = fg_store_restore("sqlite", a.positional[0], a.data_dir, &err);
    close(lock_fd);
    if (rc != FG_OK) {
        fprintf(stderr, "facegate restore: %s\n", err.message);
        return 1;
    }
    printf("restored %s into %s/facegate.db\nput the saved key files (", a.positional[0],
           a.data_dir);
    for (size_t i = 0; i < NKEY_FILES; i++)
        printf("%s%s", i ? ", " : "", KEY_FILES[i]);
    printf(") into %s, mode 0600, before starting the server\n", a.data_dir);
    return 0;
}
