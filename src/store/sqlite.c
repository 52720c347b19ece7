/*
 * sqlite.c - the embedded store backend: one SQLite database in WAL mode in the data dir.
 *
 * Every SQL statement of the backend is in this file: the schema migrations (MIGRATIONS) and
 * the prepared statements (STATEMENTS). Statements are prepared once at open and reset after
 * each use; the front's mutex means one connection is enough.
 *
 * secure_delete is on so a deleted user's ciphertext is overwritten, not left in free pages.
 */
#include "store/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_FILE "facegate.db"

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
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_USER_INSERT,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_DELETE,
    ST_USER_LIST,
    ST_USER_COUNT,
    ST_TEMPLATE_INSERT,
    ST_TEMPLATE_ALL,
    ST_AUDIT_INSERT,
    ST_AUDIT_LIST,
    ST_REVOKED_PRUNE,
    ST_REVOKED_INSERT,
    ST_REVOKED_FIND,
    ST_COUNT
};

#define USER_COLUMNS                                                                               \
    "u.id, u.username, u.display_name, u.created_at, "                                             \
    "(SELECT count(*) FROM templates t WHERE t.user_id = u.id)"

static const char *const STATEMENTS[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_USER_INSERT] = "INSERT INTO users (username, display_name, created_at) VALUES (?1, ?2, ?3)",
    [ST_USER_BY_NAME] = "SELECT " USER_COLUMNS " FROM users u WHERE u.username = ?1",
    [ST_USER_BY_ID] = "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?1",
    [ST_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [ST_USER_LIST] = "SELECT " USER_COLUMNS " FROM users u ORDER BY u.username",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_TEMPLATE_INSERT] = "INSERT INTO templates (user_id, nonce, ciphertext, created_at) "
                           "VALUES (?1, ?2, ?3, ?4)",
    [ST_TEMPLATE_ALL] = "SELECT t.id, t.user_id, u.username, t.nonce, t.ciphertext "
                        "FROM templates t JOIN users u ON u.id = t.user_id ORDER BY t.id",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (time, event, username, client, outcome, distance) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_AUDIT_LIST] = "SELECT time, event, username, client, outcome, distance FROM audit "
                      "ORDER BY id DESC LIMIT ?1",
    [ST_REVOKED_PRUNE] = "DELETE FROM revoked_sessions WHERE expires_at < ?1",
    [ST_REVOKED_INSERT] = "INSERT OR REPLACE INTO revoked_sessions (jti, expires_at) "
                          "VALUES (?1, ?2)",
    [ST_REVOKED_FIND] = "SELECT 1 FROM revoked_sessions WHERE jti = ?1 AND expires_at >= ?2",
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

static int begin(sqlite_store *s, fg_error *err)
{
    return exec_stmt(s, stmt(s, ST_BEGIN), err, "begin transaction");
}

static int commit(sqlite_store *s, fg_error *err)
{
    return exec_stmt(s, stmt(s, ST_COMMIT), err, "commit");
}

static void rollback(sqlite_store *s)
{
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

static int sqlite_open(const char *data_dir, void **out, fg_error *err)
{
    char path[4096];
    sqlite_store *s;
    char *msg = NULL;
    int fd, rc;

    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, DB_FILE) >= sizeof path)
        return fg_fail(err, FG_EINVAL, "data directory path is too long");
    /* Create the file ourselves so it (and the -wal/-shm SQLite derives from it) is 0600. */
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fg_fail(err, FG_STORE_EDB, "cannot open %s: %s", path, strerror(errno));
    close(fd);

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

static int bind_sealed(sqlite3_stmt *st, int nonce_col, const fg_sealed_template *t)
{
    if (sqlite3_bind_blob(st, nonce_col, t->nonce, sizeof t->nonce, SQLITE_STATIC) != SQLITE_OK)
        return -1;
    return sqlite3_bind_blob(st, nonce_col + 1, t->ciphertext, sizeof t->ciphertext,
                             SQLITE_STATIC) == SQLITE_OK
               ? 0
               : -1;
}

static int insert_template(sqlite_store *s, int64_t user_id, int64_t created_at,
                           const fg_sealed_template *t, int64_t *template_id, fg_error *err)
{
    sqlite3_stmt *st = stmt(s, ST_TEMPLATE_INSERT);
    sqlite3_bind_int64(st, 1, user_id);
    sqlite3_bind_int64(st, 4, created_at);
    if (bind_sealed(st, 2, t) != 0) return db_fail(s, err, "bind template");
    if (exec_stmt(s, st, err, "insert template") != FG_OK) return FG_STORE_EDB;
    if (template_id) *template_id = sqlite3_last_insert_rowid(s->db);
    return FG_OK;
}

static int sqlite_user_insert(void *db, const char *username, const char *display_name,
                              int64_t created_at, const fg_sealed_template *templates, size_t n,
                              int64_t *user_id, int64_t *template_ids, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st;
    int64_t id;
    int rc;

    if ((rc = begin(s, err)) != FG_OK) return rc;
    st = stmt(s, ST_USER_INSERT);
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, display_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, created_at);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        int unique = sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE;
        sqlite3_reset(st);
        if (unique)
            rc = fg_fail(err, FG_STORE_EEXIST, "username \"%s\" is taken", username);
        else
            rc = db_fail(s, err, "insert user");
        goto fail;
    }
    sqlite3_reset(st);
    id = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < n; i++) {
        rc = insert_template(s, id, created_at, &templates[i],
                             template_ids ? &template_ids[i] : NULL, err);
        if (rc != FG_OK) goto fail;
    }
    if ((rc = commit(s, err)) != FG_OK) goto fail;
    *user_id = id;
    return FG_OK;
fail:
    rollback(s);
    return rc;
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
}

static int sqlite_user_find(void *db, const char *username, int64_t id, fg_store_user *user,
                            fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, username ? ST_USER_BY_NAME : ST_USER_BY_ID);
    int rc;
    if (username)
        sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (user) read_user(st, user);
        rc = FG_OK;
    } else if (rc == SQLITE_DONE) {
        rc = fg_fail(err, FG_STORE_ENOTFOUND, "no such user");
    } else {
        rc = db_fail(s, err, "find user");
    }
    sqlite3_reset(st);
    return rc;
}

static int sqlite_user_delete(void *db, int64_t id, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_USER_DELETE);
    sqlite3_bind_int64(st, 1, id);
    if (exec_stmt(s, st, err, "delete user") != FG_OK) return FG_STORE_EDB;
    if (sqlite3_changes(s->db) == 0) return fg_fail(err, FG_STORE_ENOTFOUND, "no such user");
    return FG_OK;
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

static void read_user_row(sqlite3_stmt *st, void *out)
{
    read_user(st, out);
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

static int sqlite_template_insert(void *db, int64_t user_id, int64_t created_at,
                                  const fg_sealed_template *sealed, int64_t *template_id,
                                  fg_error *err)
{
    return insert_template(db, user_id, created_at, sealed, template_id, err);
}

static int sqlite_template_each(void *db, fg_sealed_fn fn, void *ctx, fg_error *err)
{
    sqlite_store *s = db;
    sqlite3_stmt *st = stmt(s, ST_TEMPLATE_ALL);
    fg_sealed_template t;
    int rc, stop = FG_OK;
    while (stop == FG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t template_id = sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 3) != (int)sizeof t.nonce ||
            sqlite3_column_bytes(st, 4) != (int)sizeof t.ciphertext) {
            sqlite3_reset(st);
            return fg_fail(err, FG_STORE_ECRYPTO, "template %lld has a malformed blob",
                           (long long)template_id);
        }
        memcpy(t.nonce, sqlite3_column_blob(st, 3), sizeof t.nonce);
        memcpy(t.ciphertext, sqlite3_column_blob(st, 4), sizeof t.ciphertext);
        stop = fn(ctx, template_id, sqlite3_column_int64(st, 1),
                  (const char *)sqlite3_column_text(st, 2), &t);
    }
    sqlite3_reset(st);
    if (stop != FG_OK) return stop;
    return rc == SQLITE_DONE ? FG_OK : db_fail(s, err, "read templates");
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

const fg_store_backend fg_store_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .user_insert = sqlite_user_insert,
    .user_find = sqlite_user_find,
    .user_delete = sqlite_user_delete,
    .user_list = sqlite_user_list,
    .user_count = sqlite_user_count,
    .template_insert = sqlite_template_insert,
    .template_each = sqlite_template_each,
    .audit_insert = sqlite_audit_insert,
    .audit_list = sqlite_audit_list,
    .session_revoke = sqlite_session_revoke,
    .session_revoked = sqlite_session_revoked,
};
