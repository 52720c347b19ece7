/*
 * sqlite.c - the embedded store backend: one SQLite database in WAL mode in the data dir.
 *
 * Every SQL statement of the backend is in this file: the schema migrations (MIGRATIONS) and
 * the prepared statements (STATEMENTS). Statements are prepared once at open and reset after
 * each use; the front's mutex means one connection is enough.
 *
 * secure_delete is on so a deleted user's ciphertext is overwritten, not left in free pages.
 * Writers serialise on SQLite's write lock (BEGIN IMMEDIATE), so the change log's order is the
 * commit order, as store.h's change feed needs.
 */
#include "store/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_FILE "facegate.db"
static const char *const DB_SUFFIXES[] = {"", "-wal", "-shm"};

/* Schema migrations: MIGRATIONS[i] takes the schema from version i to i + 1. Append only. */
static const char *const MIGRATIONS[] = {
    /* 1: users, encrypted templates, audit log, revoked sessions */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE templates ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  nonce BLOB NOT NULL,"
    "  ciphertext BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX templates_user_id ON templates(user_id);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  event TEXT NOT NULL,"
    "  username TEXT NOT NULL DEFAULT '',"
    "  client TEXT NOT NULL DEFAULT '',"
    "  outcome TEXT NOT NULL,"
    "  distance REAL);"
    "CREATE TABLE revoked_sessions ("
    "  jti TEXT PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 2: the account id (users.id is a rowid: SQLite hands the largest one out again once its
     * row is deleted), the OpenID Connect `sub`. Existing accounts get one here. */
    "ALTER TABLE users ADD COLUMN uid TEXT;"
    "UPDATE users SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;"
    "CREATE UNIQUE INDEX users_uid ON users(uid);",
    /* 3: OpenID Connect: registered clients; authorization codes (hashed), kept after use
     * until they expire to refuse replays. */
    "CREATE TABLE oidc_clients ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  secret_hash TEXT NOT NULL DEFAULT '',"
    "  redirect_uris TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE oidc_codes ("
    "  code_hash TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  redirect_uri TEXT NOT NULL,"
    "  code_challenge TEXT NOT NULL DEFAULT '',"
    "  nonce TEXT NOT NULL DEFAULT '',"
    "  scope TEXT NOT NULL,"
    "  amr TEXT NOT NULL,"
    "  auth_time INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;",
    /* 4: the change log that keeps every server's matcher current (see store.h) */
    "CREATE TABLE changes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind INTEGER NOT NULL,"
    "  user_id INTEGER NOT NULL,"
    "  template_id INTEGER NOT NULL DEFAULT 0);",
    /* 5: look-alike usernames (backend.h): indexed, not unique, so that look-alike pairs
     * created before are kept. */
    "CREATE INDEX IF NOT EXISTS users_username_key ON users(" FG_USERNAME_KEY_SQL("username") ");",
    /* 6: what made each template (existing ones: the defaults of store.h) */
    "ALTER TABLE templates ADD COLUMN recognizer TEXT NOT NULL "
    "DEFAULT '" FG_TEMPLATE_RECOGNIZER_DEFAULT "';"
    "ALTER TABLE templates ADD COLUMN alignment TEXT NOT NULL "
    "DEFAULT '" FG_TEMPLATE_ALIGNMENT_DEFAULT "';",
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_USER_INSERT,
    ST_USER_KEY_TAKEN,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_DELETE,
    ST_USER_LIST,
    ST_USER_COUNT,
    ST_TEMPLATE_INSERT,
    ST_TEMPLATE_ALL,
    ST_CHANGE_INSERT,
    ST_CHANGE_LAST,
    ST_CHANGES_AFTER,
    ST_BEGIN_READ,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_AUDIT_FORGET,
    ST_AUDIT_PRUNE,
    ST_REVOKED_PRUNE,
    ST_REVOKED_INSERT,
    ST_REVOKED_FIND,
    ST_USER_BY_UID,
    ST_TEMPLATE_UPDATE,
    ST_CLIENT_INSERT,
    ST_CLIENT_FIND,
    ST_CLIENT_LIST,
    ST_CLIENT_DELETE,
    ST_CODE_PRUNE,
    ST_CODE_INSERT,
    ST_CODE_FIND,
    ST_CODE_USE,
    ST_COUNT
};

#define USER_COLUMNS                                                                               \
    "u.id, u.username, u.display_name, u.created_at, "                                             \
    "(SELECT count(*) FROM templates t WHERE t.user_id = u.id), u.uid"
#define CLIENT_COLUMNS "id, name, secret_hash, redirect_uris, created_at"
#define CODE_COLUMNS                                                                               \
    "code_hash, client_id, user_id, redirect_uri, code_challenge, nonce, scope, amr, auth_time, "  \
    "expires_at"

static const char *const STATEMENTS[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_USER_INSERT] = "INSERT INTO users (username, display_name, created_at, uid) "
                       "VALUES (?1, ?2, ?3, ?4)",
    [ST_USER_KEY_TAKEN] = "SELECT 1 FROM users WHERE " FG_USERNAME_KEY_SQL(
        "username") " = " FG_USERNAME_KEY_SQL("?1"),
    [ST_USER_BY_NAME] = "SELECT " USER_COLUMNS " FROM users u WHERE u.username = ?1",
    [ST_USER_BY_ID] = "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?1",
    [ST_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [ST_USER_LIST] = "SELECT " USER_COLUMNS " FROM users u ORDER BY u.username",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_TEMPLATE_INSERT] = "INSERT INTO templates (user_id, nonce, ciphertext, recognizer, "
                           "alignment, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_TEMPLATE_ALL] = "SELECT t.id, t.user_id, u.username, t.nonce, t.ciphertext, t.recognizer, "
                        "t.alignment FROM templates t JOIN users u ON u.id = t.user_id "
                        "ORDER BY t.id",
    [ST_CHANGE_INSERT] = "INSERT INTO changes (kind, user_id, template_id) VALUES (?1, ?2, ?3)",
    [ST_CHANGE_LAST] = "SELECT coalesce(max(seq), 0) FROM changes",
    [ST_CHANGES_AFTER] = "SELECT c.seq, c.kind, c.user_id, c.template_id, u.username, t.nonce, "
                         "t.ciphertext, t.recognizer, t.alignment FROM changes c "
                         "LEFT JOIN templates t ON c.kind = 1 AND t.id = c.template_id "
                         "LEFT JOIN users u ON u.id = t.user_id "
                         "WHERE c.seq > ?1 ORDER BY c.seq",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (time, event, username, client, outcome, distance) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_AUDIT_LIST] = "SELECT time, event, username, client, outcome, distance FROM audit "
                      "ORDER BY id DESC LIMIT ?1",
    [ST_AUDIT_FORGET] = "UPDATE audit SET username = 'deleted-' || substr(u.uid, 1, 8), "
                        "client = '' FROM users u WHERE u.id = ?1 "
                        "AND lower(audit.username) = lower(u.username)",
    [ST_AUDIT_PRUNE] = "DELETE FROM audit WHERE time < ?1",
    [ST_REVOKED_PRUNE] = "DELETE FROM revoked_sessions WHERE expires_at < ?1",
    [ST_REVOKED_INSERT] = "INSERT OR REPLACE INTO revoked_sessions (jti, expires_at) "
                          "VALUES (?1, ?2)",
    [ST_REVOKED_FIND] = "SELECT 1 FROM revoked_sessions WHERE jti = ?1 AND expires_at >= ?2",
    [ST_USER_BY_UID] = "SELECT " USER_COLUMNS " FROM users u WHERE u.uid = ?1",
    [ST_TEMPLATE_UPDATE] = "UPDATE templates SET nonce = ?2, ciphertext = ?3 WHERE id = ?1",
    [ST_CLIENT_INSERT] =
        "INSERT INTO oidc_clients (" CLIENT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CLIENT_FIND] = "SELECT " CLIENT_COLUMNS " FROM oidc_clients WHERE id = ?1",
    [ST_CLIENT_LIST] = "SELECT " CLIENT_COLUMNS " FROM oidc_clients ORDER BY id",
    [ST_CLIENT_DELETE] = "DELETE FROM oidc_clients WHERE id = ?1",
    [ST_CODE_PRUNE] = "DELETE FROM oidc_codes WHERE expires_at < ?1",
    [ST_CODE_INSERT] = "INSERT INTO oidc_codes (" CODE_COLUMNS ") "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_CODE_FIND] = "SELECT " CODE_COLUMNS ", used FROM oidc_codes WHERE code_hash = ?1",
    [ST_CODE_USE] = "UPDATE oidc_codes SET used = 1 WHERE code_hash = ?1 AND used = 0",
};

typedef struct sqlite_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
} sqlite_store;

static int db_fail(sqlite_store *s, fg_error *err, const char *what)
{
    return fg_fail(err, FG_STORE_EDB, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Resets and clears a statement after use so it holds no locks or bound blobs. */
static sqlite3_stmt *stmt(sqlite_store *s, int which)
{
    sqlite3_stmt *st = s->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Runs a statement that returns no rows. */
static int exec_stmt(sqlite_store *s, sqlite3_stmt *st, fg_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? FG_OK : db_fail(s, err, what);
}

static int sqlite_begin(void *db, fg_error *err)
{
    sqlite_store *s = db;
    return exec_stmt(s, stmt(s, ST_BEGIN), err, "begin transaction");
}

static int sqlite_commit(void *db, fg_error *err)
{
    sqlite_store *s = db;
    return exec_stmt(s, stmt(s, ST_COMMIT), err, "commit");
}

static void sqlite_rollback(void *db)
{
    sqlite_store *s = db;
    if (!sqlite3_get_autocommit(s->db)) exec_stmt(s, stmt(s, ST_ROLLBACK), NULL, "rollback");
}

static int migrate(sqlite_store *s, fg_error *err)
{
    sqlite3_stmt *st = NULL;
    int version = 0, rc;
    char *msg = NULL;

    if (sqlite3_exec(s->db,
                     "BEGIN IMMEDIATE;"
                     "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);",
                     NULL, NULL, &msg) != SQLITE_OK)
        goto sql_error;
    if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
        SQLITE_OK)
        goto sql_error;
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return fg_fail(err, FG_STORE_EDB,
                       "database schema version %d is newer than this facegate (%d)", version,
                       SCHEMA_VERSION);
    }
    for (int v = version; v < SCHEMA_VERSION; v++) {
        char set[96];
        if (sqlite3_exec(s->db, MIGRATIONS[v], NULL, NULL, &msg) != SQLITE_OK) goto sql_error;
        snprintf(set, sizeof set,
                 "DELETE FROM schema_version; INSERT INTO schema_version "
                 "VALUES (%d);",
                 v + 1);
        if (sqlite3_exec(s->db, set, NULL, NULL, &msg) != SQLITE_OK) goto sql_error;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) goto sql_error;
    return FG_OK;

sql_error:
    rc = fg_fail(err, FG_STORE_EDB, "schema migration failed: %s",
                 msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void sqlite_close(void *db)
{
    sqlite_store *s = db;
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

/* The database holds biometric templates (sealed) and the audit log: like the key files, it is
 * refused when group or others may read it. So are its -wal and -shm files, when present. */
static int check_private(const char *path, fg_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return FG_OK; /* -wal / -shm absent */
    if (st.st_mode & 077)
        return fg_fail(err, FG_STORE_EDB,
                       "%s has mode %03o: group and others must not read it (chmod 600 %s)", path,
                       (unsigned)(st.st_mode & 0777), path);
    return FG_OK;
}

static int sqlite_open(const char *location, const char *data_dir, void **out, fg_error *err)
{
    char path[4096];
    sqlite_store *s;
    char *msg = NULL;
    int fd, rc;

    (void)location;
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, DB_FILE) >= sizeof path)
        return fg_fail(err, FG_EINVAL, "data directory path is too long");
    /* Create the file ourselves so it (and the -wal/-shm SQLite derives from it) is 0600. */
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fg_fail(err, FG_STORE_EDB, "cannot open %s: %s", path, strerror(errno));
    close(fd);
    for (size_t i = 0; i < sizeof DB_SUFFIXES / sizeof DB_SUFFIXES[0]; i++) {
        char file[4200];
        snprintf(file, sizeof file, "%s%s", path, DB_SUFFIXES[i]);
        if ((rc = check_private(file, err)) != FG_OK) return rc;
    }

    s = calloc(1, sizeof *s);
    if (!s) return fg_fail(err, FG_ENOMEM, "out of memory opening %s", path);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = fg_fail(err, FG_STORE_EDB, "cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        rc = fg_fail(err, FG_STORE_EDB, "cannot configure %s: %s", path,
                     msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        goto fail;
    }
    rc = migrate(s, err);
    if (rc != FG_OK) goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, STATEMENTS[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            rc = db_fail(s, err, "prepare statement");
            goto fail;
        }
    }
    *out = s;
    return FG_OK;
fail:
    sqlite_close(s);
    return rc;
}

/* Binds the nonce, the ciphertext and (kind) the recognizer and alignment from nonce_col on. */
static int bind_sealed(sqlite3_stmt *st, int nonce_col, const fg_sealed_template *t, int kind)
{
    if (sqlite3_bind_blob(st, nonce_col, t->nonce, sizeof t->nonce, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(st, nonce_col + 1, t->ciphertext, sizeof t->ciphertext, SQLITE_STATIC) !=
            SQLITE_OK)
        return -1;
    if (!kind) return 0;
    return sqlite3_bind_text(st, nonce_col + 2, t->recognizer, -1, SQLITE_STATIC) == SQLITE_OK &&
                   sqlite3_bind_text(st, nonce_col + 3, t->alignment, -1, SQLITE_STATIC) ==
                       SQLITE_OK
               ? 0
               : -1;
}

/* Appends to the change log. Inside the write transaction. */
static int log_change(sqlite_store *s, int kind, int64_t user_id, int64_t template_id,
                      fg_error *err)
{
    sqlite3_stmt *st = stmt(s, ST_CHANGE_INSERT);
    sqlite3_bind_int(st, 1, kind);
    sqlite3_bind_int64(st, 2, user_id);
    sqlite3_bind_int64(st, 3, template_id);
    return exec_stmt(s, st, err, "log change");
}

static int sqlite_template_insert(void *db, int64_t user_id, int64_t created_at,
                                  const fg_sealed_template *t, int64_t *template_id, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_TEMPLATE_INSERT);
    int64_t id;
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 6, created_at);
    if (bind_sealed(st, 2, t, 1) != 0) return db_fail(s, err, "bind template");
    if (exec_stmt(s, st, err, "insert template") != FG_OK) return FG_STORE_EDB;
    id = sqlite3_last_insert_rowid(s->db);
    if (template_id) *template_id = id;
    return log_change(s, FG_STORE_CHANGE_ADD, user_id, id, err);
}

static int sqlite_user_insert(void *db, const char *uid, const char *username,
                              const char *display_name, int64_t created_at, int64_t *user_id,
                              fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_USER_KEY_TAKEN);
    int rc;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return fg_fail(err, FG_STORE_EEXIST, "username \"%s\" is taken", username);
    if (rc != SQLITE_DONE) return db_fail(s, err, "look up username");
    st = stmt(s, ST_USER_INSERT);
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, created_at);
    sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        int unique = sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE;
        sqlite3_reset(st);
        if (unique) return fg_fail(err, FG_STORE_EEXIST, "username \"%s\" is taken", username);
        return db_fail(s, err, "insert user");
    }
    sqlite3_reset(st);
    *user_id = sqlite3_last_insert_rowid(s->db);
    return FG_OK;
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

static void read_user(sqlite3_stmt *st, fg_store_user *user)
{
    memset(user, 0, sizeof *user);
    user->id = sqlite3_column_int64(st, 0);
    copy_text(user->username, sizeof user->username, sqlite3_column_text(st, 1));
    copy_text(user->display_name, sizeof user->display_name, sqlite3_column_text(st, 2));
    user->created_at = sqlite3_column_int64(st, 3);
    user->faces = sqlite3_column_int(st, 4);
    copy_text(user->uid, sizeof user->uid, sqlite3_column_text(st, 5));
}

/* Steps a lookup of one row: FG_OK with read_row(st, out) done, FG_STORE_ENOTFOUND with
 * "no such <what>", or FG_STORE_EDB. */
static int find_one(sqlite_store *s, sqlite3_stmt *st, void (*read_row)(sqlite3_stmt *, void *),
                    void *out, const char *what, fg_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (out) read_row(st, out);
        rc = FG_OK;
    } else if (rc == SQLITE_DONE) {
        rc = fg_fail(err, FG_STORE_ENOTFOUND, "no such %s", what);
    } else {
        rc = db_fail(s, err, what);
    }
    sqlite3_reset(st);
    return rc;
}

static void read_user_row(sqlite3_stmt *st, void *out)
{
    read_user(st, out);
}

static int sqlite_user_find(void *db, const char *username, int64_t id, fg_store_user *user,
                            fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, username ? ST_USER_BY_NAME : ST_USER_BY_ID);
    if (username)
        sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    return find_one(s, st, read_user_row, user, "user", err);
}

static int sqlite_user_find_uid(void *db, const char *uid, fg_store_user *user, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_USER_BY_UID);
    sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
    return find_one(s, st, read_user_row, user, "user", err);
}

static int sqlite_user_delete(void *db, int64_t id, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_AUDIT_FORGET);
    sqlite3_bind_int64(st, 1, id);
    if (exec_stmt(s, st, err, "forget the user's audit rows") != FG_OK) return FG_STORE_EDB;
    st = stmt(s, ST_USER_DELETE);
    sqlite3_bind_int64(st, 1, id);
    if (exec_stmt(s, st, err, "delete user") != FG_OK) return FG_STORE_EDB;
    if (sqlite3_changes(s->db) == 0) return fg_fail(err, FG_STORE_ENOTFOUND, "no such user");
    return log_change(s, FG_STORE_CHANGE_DELETE, id, 0, err);
}

/* Appends rows of `st` through read_row into a growing malloc'd array. */
static int collect_rows(sqlite_store *s, sqlite3_stmt *st, size_t item, void **items, size_t *count,
                        void (*read_row)(sqlite3_stmt *, void *), fg_error *err)
{
    size_t n = 0, cap = 0;
    char *arr = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char *grown = realloc(arr, ncap * item);
            if (!grown) {
                free(arr);
                sqlite3_reset(st);
                return fg_fail(err, FG_ENOMEM, "out of memory listing rows");
            }
            arr = grown;
            cap = ncap;
        }
        read_row(st, arr + n * item);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(arr);
        return db_fail(s, err, "list rows");
    }
    *items = arr;
    *count = n;
    return FG_OK;
}

static int sqlite_user_list(void *db, fg_store_user **users, size_t *count, fg_error *err)
{
    sqlite_store *s = db;
    return collect_rows(s, stmt(s, ST_USER_LIST), sizeof **users, (void **)users, count,
                        read_user_row, err);
}

static int sqlite_user_count(void *db, size_t *count, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_USER_COUNT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *count = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? FG_OK : db_fail(s, err, "count users");
}

/* A sealed template from columns nonce_col on (nonce, ciphertext, recognizer, alignment); -1 if
 * the blobs are malformed. */
static int read_sealed(sqlite3_stmt *st, int nonce_col, fg_sealed_template *t)
{
    if (sqlite3_column_bytes(st, nonce_col) != (int)sizeof t->nonce ||
        sqlite3_column_bytes(st, nonce_col + 1) != (int)sizeof t->ciphertext)
        return -1;
    memcpy(t->nonce, sqlite3_column_blob(st, nonce_col), sizeof t->nonce);
    memcpy(t->ciphertext, sqlite3_column_blob(st, nonce_col + 1), sizeof t->ciphertext);
    copy_text(t->recognizer, sizeof t->recognizer, sqlite3_column_text(st, nonce_col + 2));
    copy_text(t->alignment, sizeof t->alignment, sqlite3_column_text(st, nonce_col + 3));
    return 0;
}

static int malformed(sqlite3_stmt *st, int64_t template_id, fg_error *err)
{
    sqlite3_reset(st);
    return fg_fail(err, FG_STORE_ECRYPTO, "template %lld has a malformed blob",
                   (long long)template_id);
}

static int sqlite_template_each(void *db, fg_sealed_fn fn, void *ctx, int64_t *last_change,
                                fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st;
    fg_sealed_template t;
    int rc, stop = FG_OK;

    /* One read transaction: the templates and the change log's end from one snapshot. */
    if ((rc = exec_stmt(s, stmt(s, ST_BEGIN_READ), err, "begin read")) != FG_OK) return rc;
    st = stmt(s, ST_CHANGE_LAST);
    rc = sqlite3_step(st);
    *last_change = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        rc = db_fail(s, err, "read the change log");
        goto out;
    }
    st = stmt(s, ST_TEMPLATE_ALL);
    while (stop == FG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t template_id = sqlite3_column_int64(st, 0);
        if (read_sealed(st, 3, &t) != 0) {
            rc = malformed(st, template_id, err);
            goto out;
        }
        stop = fn(ctx, FG_STORE_CHANGE_ADD, sqlite3_column_int64(st, 1), template_id,
                  (const char *)sqlite3_column_text(st, 2), &t);
    }
    sqlite3_reset(st);
    rc = stop != FG_OK ? stop : rc == SQLITE_DONE ? FG_OK : db_fail(s, err, "read templates");
out:
    sqlite_rollback(s);
    return rc;
}

static int sqlite_changes(void *db, int64_t after, fg_sealed_fn fn, void *ctx, int64_t *last,
                          fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_CHANGES_AFTER);
    fg_sealed_template t;
    int rc, stop = FG_OK;
    sqlite3_bind_int64(st, 1, after);
    while (stop == FG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(st, 1);
        int64_t template_id = sqlite3_column_int64(st, 3);
        int64_t seq = sqlite3_column_int64(st, 0);
        if (kind == FG_STORE_CHANGE_ADD && sqlite3_column_type(st, 4) == SQLITE_NULL) {
            *last = seq; /* deleted since: its deletion follows */
            continue;
        }
        if (kind == FG_STORE_CHANGE_ADD && read_sealed(st, 5, &t) != 0)
            return malformed(st, template_id, err);
        stop =
            fn(ctx, kind, sqlite3_column_int64(st, 2), template_id,
               (const char *)sqlite3_column_text(st, 4), kind == FG_STORE_CHANGE_ADD ? &t : NULL);
        if (stop == FG_OK) *last = seq; /* a change that failed is delivered again next time */
    }
    sqlite3_reset(st);
    if (stop != FG_OK) return stop;
    return rc == SQLITE_DONE ? FG_OK : db_fail(s, err, "read the change log");
}

static int sqlite_audit_insert(void *db, const fg_audit_event *ev, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_AUDIT_INSERT);
    sqlite3_bind_int64(st, 1, ev->time);
    sqlite3_bind_text(st, 2, ev->event, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ev->username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ev->client, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, ev->outcome, -1, SQLITE_STATIC);
    if (isnan(ev->distance))
        sqlite3_bind_null(st, 6);
    else
        sqlite3_bind_double(st, 6, ev->distance);
    return exec_stmt(s, st, err, "insert audit event");
}

static void read_audit_row(sqlite3_stmt *st, void *out)
{
    fg_audit_event *ev = out;
    memset(ev, 0, sizeof *ev);
    ev->time = sqlite3_column_int64(st, 0);
    copy_text(ev->event, sizeof ev->event, sqlite3_column_text(st, 1));
    copy_text(ev->username, sizeof ev->username, sqlite3_column_text(st, 2));
    copy_text(ev->client, sizeof ev->client, sqlite3_column_text(st, 3));
    copy_text(ev->outcome, sizeof ev->outcome, sqlite3_column_text(st, 4));
    ev->distance = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
}

static int sqlite_audit_list(void *db, size_t limit, fg_audit_event **events, size_t *count,
                             fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_AUDIT_LIST);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
    return collect_rows(s, st, sizeof **events, (void **)events, count, read_audit_row, err);
}

static int sqlite_audit_prune(void *db, int64_t before, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_AUDIT_PRUNE);
    sqlite3_bind_int64(st, 1, before);
    return exec_stmt(s, st, err, "prune the audit log");
}

static int sqlite_session_revoke(void *db, const char *jti, int64_t expires, int64_t now,
                                 fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_REVOKED_PRUNE);
    sqlite3_bind_int64(st, 1, now);
    if (exec_stmt(s, st, err, "prune revoked sessions") != FG_OK) return FG_STORE_EDB;
    st = stmt(s, ST_REVOKED_INSERT);
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, expires);
    return exec_stmt(s, st, err, "revoke session");
}

static int sqlite_session_revoked(void *db, const char *jti, int64_t now, int *revoked,
                                  fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_REVOKED_FIND);
    int rc;
    sqlite3_bind_text(st, 1, jti, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_fail(s, err, "look up session");
    *revoked = rc == SQLITE_ROW;
    return FG_OK;
}

/* --- OpenID Connect clients and codes ------------------------------------------------------- */

static void read_client_row(sqlite3_stmt *st, void *out)
{
    fg_oidc_client *c = out;
    memset(c, 0, sizeof *c);
    copy_text(c->id, sizeof c->id, sqlite3_column_text(st, 0));
    copy_text(c->name, sizeof c->name, sqlite3_column_text(st, 1));
    copy_text(c->secret_hash, sizeof c->secret_hash, sqlite3_column_text(st, 2));
    fg_redirects_split((const char *)sqlite3_column_text(st, 3), c);
    c->created_at = sqlite3_column_int64(st, 4);
}

static int sqlite_client_insert(void *db, const fg_oidc_client *c, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_CLIENT_INSERT);
    char uris[FG_REDIRECTS_TEXT_MAX];
    int rc;
    fg_redirects_join(c, uris);
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->secret_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, uris, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, c->created_at);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return FG_OK;
    if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        return fg_fail(err, FG_STORE_EEXIST, "client id \"%s\" is taken", c->id);
    return db_fail(s, err, "insert client");
}

static int sqlite_client_find(void *db, const char *id, fg_oidc_client *client, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_CLIENT_FIND);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return find_one(s, st, read_client_row, client, "client", err);
}

static int sqlite_client_list(void *db, fg_oidc_client **clients, size_t *count, fg_error *err)
{
    sqlite_store *s = db;
    return collect_rows(s, stmt(s, ST_CLIENT_LIST), sizeof **clients, (void **)clients, count,
                        read_client_row, err);
}

static int sqlite_client_delete(void *db, const char *id, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_CLIENT_DELETE);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (exec_stmt(s, st, err, "delete client") != FG_OK) return FG_STORE_EDB;
    if (sqlite3_changes(s->db) == 0) return fg_fail(err, FG_STORE_ENOTFOUND, "no such client");
    return FG_OK;
}

static int sqlite_code_insert(void *db, const fg_oidc_code *c, int64_t now, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_CODE_PRUNE);
    sqlite3_bind_int64(st, 1, now - FG_CODE_KEEP_S);
    if (exec_stmt(s, st, err, "prune codes") != FG_OK) return FG_STORE_EDB;
    st = stmt(s, ST_CODE_INSERT);
    sqlite3_bind_text(st, 1, c->code_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->client_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, c->user_id);
    sqlite3_bind_text(st, 4, c->redirect_uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->code_challenge, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, c->nonce, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, c->amr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, c->auth_time);
    sqlite3_bind_int64(st, 10, c->expires_at);
    return exec_stmt(s, st, err, "insert code");
}

typedef struct code_row {
    fg_oidc_code code;
    int used;
} code_row;

static void read_code_row(sqlite3_stmt *st, void *out)
{
    code_row *row = out;
    fg_oidc_code *c = &row->code;
    memset(row, 0, sizeof *row);
    copy_text(c->code_hash, sizeof c->code_hash, sqlite3_column_text(st, 0));
    copy_text(c->client_id, sizeof c->client_id, sqlite3_column_text(st, 1));
    c->user_id = sqlite3_column_int64(st, 2);
    copy_text(c->redirect_uri, sizeof c->redirect_uri, sqlite3_column_text(st, 3));
    copy_text(c->code_challenge, sizeof c->code_challenge, sqlite3_column_text(st, 4));
    copy_text(c->nonce, sizeof c->nonce, sqlite3_column_text(st, 5));
    copy_text(c->scope, sizeof c->scope, sqlite3_column_text(st, 6));
    copy_text(c->amr, sizeof c->amr, sqlite3_column_text(st, 7));
    c->auth_time = sqlite3_column_int64(st, 8);
    c->expires_at = sqlite3_column_int64(st, 9);
    row->used = sqlite3_column_int(st, 10);
}

static int sqlite_code_consume(void *db, const char *code_hash, fg_oidc_code *code, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st;
    code_row row;
    int rc;
    if ((rc = sqlite_begin(s, err)) != FG_OK) return rc;
    st = stmt(s, ST_CODE_FIND);
    sqlite3_bind_text(st, 1, code_hash, -1, SQLITE_STATIC);
    if ((rc = find_one(s, st, read_code_row, &row, "authorization code", err)) != FG_OK) goto out;
    *code = row.code;
    if (row.used) {
        rc = fg_fail(err, FG_STORE_EUSED, "the authorization code was used before");
        goto out;
    }
    st = stmt(s, ST_CODE_USE);
    sqlite3_bind_text(st, 1, code_hash, -1, SQLITE_STATIC);
    if ((rc = exec_stmt(s, st, err, "use code")) != FG_OK) goto out;
    rc = sqlite_commit(s, err);
out:
    sqlite_rollback(s);
    return rc;
}

/* --- maintenance ---------------------------------------------------------------------------- */

typedef struct sealed_row {
    int64_t id, user_id;
    char username[FG_USERNAME_MAX + 1];
    fg_sealed_template sealed;
} sealed_row;

static void read_sealed_row(sqlite3_stmt *st, void *out)
{
    sealed_row *row = out;
    memset(row, 0, sizeof *row);
    row->id = sqlite3_column_int64(st, 0);
    row->user_id = sqlite3_column_int64(st, 1);
    copy_text(row->username, sizeof row->username, sqlite3_column_text(st, 2));
    /* A malformed blob stays zero here: it fails to open, as template_each reports. */
    if (sqlite3_column_bytes(st, 3) == (int)sizeof row->sealed.nonce &&
        sqlite3_column_bytes(st, 4) == (int)sizeof row->sealed.ciphertext) {
        memcpy(row->sealed.nonce, sqlite3_column_blob(st, 3), sizeof row->sealed.nonce);
        memcpy(row->sealed.ciphertext, sqlite3_column_blob(st, 4), sizeof row->sealed.ciphertext);
    }
}

/* Reads every template first, then rewrites them inside the one transaction (SQLite does not
 * promise what a scan sees of rows updated while it runs). Memory: about 200 bytes each. */
static int sqlite_template_reseal(void *db, fg_sealed_fn fn, void *ctx, fg_error *err)
{
    sqlite_store *s = db;
    sealed_row *rows = NULL;
    size_t count = 0;
    int rc;
    if ((rc = sqlite_begin(s, err)) != FG_OK) return rc;
    rc = collect_rows(s, stmt(s, ST_TEMPLATE_ALL), sizeof *rows, (void **)&rows, &count,
                      read_sealed_row, err);
    for (size_t i = 0; rc == FG_OK && i < count; i++) {
        sqlite3_stmt *st;
        rc = fn(ctx, FG_STORE_CHANGE_ADD, rows[i].user_id, rows[i].id, rows[i].username,
                &rows[i].sealed);
        if (rc != FG_OK) break;
        st = stmt(s, ST_TEMPLATE_UPDATE);
        sqlite3_bind_int64(st, 1, rows[i].id);
        if (bind_sealed(st, 2, &rows[i].sealed, 0) != 0) rc = db_fail(s, err, "bind template");
        if (rc == FG_OK) rc = exec_stmt(s, st, err, "update template");
    }
    if (rows) sodium_memzero(rows, count * sizeof *rows);
    free(rows);
    if (rc == FG_OK) rc = sqlite_commit(s, err);
    sqlite_rollback(s);
    return rc;
}

/* Copies every page of src's main database into dst's with SQLite's online backup API: the
 * copy is the state of one read transaction, and writers carry on meanwhile (WAL). */
static int copy_database(sqlite3 *dst, sqlite3 *src, const char *what, fg_error *err)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc;
    if (!b) return fg_fail(err, FG_STORE_EDB, "%s: %s", what, sqlite3_errmsg(dst));
    while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
        sqlite3_sleep(50);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) return fg_fail(err, FG_STORE_EDB, "%s: %s", what, sqlite3_errstr(rc));
    return FG_OK;
}

/* Creates `path` (mode 0600, must not exist) and opens it as a database. */
static int create_database(const char *path, sqlite3 **db, fg_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    *db = NULL;
    if (fd < 0) return fg_fail(err, FG_STORE_EDB, "cannot create %s: %s", path, strerror(errno));
    close(fd);
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = fg_fail(err, FG_STORE_EDB, "cannot open %s: %s", path,
                         *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        unlink(path);
        return rc;
    }
    return FG_OK;
}

static int sqlite_backup(void *db, const char *dest, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3 *out;
    int rc = create_database(dest, &out, err);
    if (rc != FG_OK) return rc;
    rc = copy_database(out, s->db, "backup", err);
    if (sqlite3_close(out) != SQLITE_OK && rc == FG_OK)
        rc = fg_fail(err, FG_STORE_EDB, "cannot close %s", dest);
    if (rc != FG_OK) unlink(dest);
    return rc;
}

/* The backup must be a sound facegate database no newer than this build. */
static int check_backup(sqlite3 *db, const char *src, fg_error *err)
{
    sqlite3_stmt *st = NULL;
    const char *verdict;
    int rc = FG_OK, version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        rc =
            fg_fail(err, FG_STORE_EDB, "%s is not an SQLite database: %s", src, sqlite3_errmsg(db));
    else if (!(verdict = (const char *)sqlite3_column_text(st, 0)) || strcmp(verdict, "ok") != 0)
        rc = fg_fail(err, FG_STORE_EDB, "%s is damaged: %s", src, verdict ? verdict : "?");
    sqlite3_finalize(st);
    st = NULL;
    if (rc != FG_OK) return rc;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 1)
        return fg_fail(err, FG_STORE_EDB, "%s is not a facegate database (no schema version)", src);
    if (version > SCHEMA_VERSION)
        return fg_fail(err, FG_STORE_EDB, "%s has schema version %d, newer than this facegate (%d)",
                       src, version, SCHEMA_VERSION);
    return FG_OK;
}

static int sqlite_restore(const char *src, const char *data_dir, fg_error *err)
{
    char path[4096];
    sqlite3 *in = NULL, *out = NULL;
    int rc;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, DB_FILE) >= sizeof path)
        return fg_fail(err, FG_EINVAL, "data directory path is too long");
    if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = fg_fail(err, FG_STORE_EDB, "cannot open %s: %s", src,
                     in ? sqlite3_errmsg(in) : "out of memory");
        sqlite3_close(in);
        return rc;
    }
    rc = check_backup(in, src, err);
    if (rc == FG_OK && (rc = create_database(path, &out, err)) == FG_OK) {
        rc = copy_database(out, in, "restore", err);
        if (sqlite3_close(out) != SQLITE_OK && rc == FG_OK)
            rc = fg_fail(err, FG_STORE_EDB, "cannot close %s", path);
        if (rc != FG_OK) unlink(path);
    }
    sqlite3_close(in);
    return rc;
}

const fg_store_backend fg_store_sqlite = {
    .name = "sqlite",
    .shared = 0,
    .open = sqlite_open,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .user_insert = sqlite_user_insert,
    .template_insert = sqlite_template_insert,
    .user_delete = sqlite_user_delete,
    .import = NULL,
    .user_find = sqlite_user_find,
    .user_list = sqlite_user_list,
    .user_count = sqlite_user_count,
    .template_each = sqlite_template_each,
    .changes = sqlite_changes,
    .wait = NULL,
    .audit_insert = sqlite_audit_insert,
    .audit_list = sqlite_audit_list,
    .audit_prune = sqlite_audit_prune,
    .session_revoke = sqlite_session_revoke,
    .session_revoked = sqlite_session_revoked,
    .user_find_uid = sqlite_user_find_uid,
    .client_insert = sqlite_client_insert,
    .client_find = sqlite_client_find,
    .client_list = sqlite_client_list,
    .client_delete = sqlite_client_delete,
    .code_insert = sqlite_code_insert,
    .code_consume = sqlite_code_consume,
    .template_reseal = sqlite_template_reseal,
    .backup = sqlite_backup,
    .restore = sqlite_restore,
};
