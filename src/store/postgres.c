/*
 * postgres.c - the shared store backend: PostgreSQL through libpq, for several servers on one
 * database (`--store postgres://...`).
 *
 * Every SQL statement of the backend is in this file: the schema migrations (MIGRATIONS, applied
 * at open in one transaction under an advisory lock, so servers starting together migrate once)
 * and the statements, sent with PQexecParams (nothing prepared, so a new connection needs no
 * set-up).
 *
 * Two connections: one for the front's calls (serialised by the front's mutex) and one that only
 * LISTENs for change notifications (`wait`, run by one thread). A connection the database drops
 * is opened again on a later call, at most every RECONNECT_S; until then calls fail with
 * FG_STORE_EUNAVAILABLE, which the server answers with 503. A statement outside a transaction
 * that meets a connection the database closed (a restart) is sent once more on a new one.
 *
 * Writers of users and templates take a transaction-level advisory lock (WRITE_LOCK) first: one
 * writer at a time across every server, so the change log's sequence order is its commit order,
 * and the duplicate-face check that the front runs inside that transaction sees every sign-up
 * committed before it. Each write NOTIFYs CHANNEL; PostgreSQL delivers it on commit.
 */
#include "core/clock.h"
#include "store/backend.h"

#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_LOCK "7370658297"    /* pg_advisory_xact_lock key of the writers */
#define MIGRATE_LOCK "7370658298"  /* ... of the schema migration */
#define LIMITS_LOCK_CLASS "737065" /* pg_advisory_xact_lock(class, key hash) of the limits */
#define LIMITS_PRUNE_S 60          /* expired limit rows are deleted at most this often */
#define CHANNEL "facegate_changes"
#define RECONNECT_S 0.5
#define MAX_PARAMS 10

/* Schema migrations: MIGRATIONS[i] takes the schema from version i to i + 1. Append only. */
static const char *const MIGRATIONS[] = {
    /* 1: users (with their never reused account id uid), encrypted templates, audit log,
     * revoked sessions, the change log, OpenID Connect clients and codes (as SQLite's 1-4) */
    "CREATE TABLE users ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  uid TEXT NOT NULL UNIQUE,"
    "  username TEXT NOT NULL,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  created_at BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX users_username ON users (lower(username));"
    "CREATE TABLE templates ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  nonce BYTEA NOT NULL,"
    "  ciphertext BYTEA NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX templates_user_id ON templates(user_id);"
    "CREATE TABLE audit ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  time BIGINT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  username TEXT NOT NULL DEFAULT '',"
    "  client TEXT NOT NULL DEFAULT '',"
    "  outcome TEXT NOT NULL,"
    "  distance DOUBLE PRECISION);"
    "CREATE TABLE revoked_sessions ("
    "  jti TEXT PRIMARY KEY,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX revoked_sessions_expires ON revoked_sessions(expires_at);"
    "CREATE TABLE changes ("
    "  seq BIGSERIAL PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  user_id BIGINT NOT NULL,"
    "  template_id BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE oidc_clients ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  secret_hash TEXT NOT NULL DEFAULT '',"
    "  redirect_uris TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE oidc_codes ("
    "  code_hash TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,"
    "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  redirect_uri TEXT NOT NULL,"
    "  code_challenge TEXT NOT NULL DEFAULT '',"
    "  nonce TEXT NOT NULL DEFAULT '',"
    "  scope TEXT NOT NULL,"
    "  amr TEXT NOT NULL,"
    "  auth_time BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used BOOLEAN NOT NULL DEFAULT false);",
    /* 2: look-alike usernames (backend.h): indexed, not unique, so that look-alike pairs
     * created before are kept (as SQLite's 5). */
    "CREATE INDEX users_username_key ON users ((" FG_USERNAME_KEY_SQL("username") "));",
    /* 3: what made each template (existing ones: the defaults of store.h; SQLite's 6) */
    "ALTER TABLE templates ADD COLUMN recognizer TEXT NOT NULL "
    "DEFAULT '" FG_TEMPLATE_RECOGNIZER_DEFAULT "';"
    "ALTER TABLE templates ADD COLUMN alignment TEXT NOT NULL "
    "DEFAULT '" FG_TEMPLATE_ALIGNMENT_DEFAULT "';",
    /* 4: what every server must agree on besides the users: the failed-attempt limits
     * (server/ratelimit.c's rows, deleted once expired) and the session signing keys, sealed
     * under a key derived from the descriptor key (one row, id 1). */
    "CREATE TABLE limits ("
    "  key TEXT PRIMARY KEY,"
    "  failures BIGINT[] NOT NULL,"
    "  pending BIGINT[] NOT NULL,"
    "  consecutive INTEGER NOT NULL,"
    "  locked_until BIGINT NOT NULL,"
    "  last_failure BIGINT NOT NULL,"
    "  tokens DOUBLE PRECISION NOT NULL,"
    "  refilled_ms BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL);"
    "CREATE INDEX limits_expires ON limits(expires_at);"
    "CREATE TABLE signing_keys ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  version BIGINT NOT NULL,"
    "  current_nonce BYTEA NOT NULL,"
    "  current_sealed BYTEA NOT NULL,"
    "  previous_nonce BYTEA,"
    "  previous_sealed BYTEA,"
    "  rotated_at BIGINT NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

#define USER_COLUMNS                                                                               \
    "SELECT u.id, u.username, u.display_name, u.created_at, "                                      \
    "(SELECT count(*) FROM templates t WHERE t.user_id = u.id), u.uid FROM users u "

typedef struct pg_store {
    char *url;
    PGconn *conn;   /* the front's calls */
    PGconn *listen; /* LISTEN CHANNEL, used by wait() only */
    int in_tx;
    double next_connect, next_listen; /* monotonic seconds before which not to reconnect */
    double next_prune;                /* ... before which not to delete expired limit rows */
} pg_store;

/* Parameters of one statement, as text (or raw bytes for bytea). */
typedef struct params {
    int n;
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS];
    int formats[MAX_PARAMS];
    char numbers[MAX_PARAMS][32];
} params;

static void param_text(params *p, const char *v)
{
    p->values[p->n] = v;
    p->lengths[p->n] = 0;
    p->formats[p->n++] = 0;
}

static void param_int(params *p, int64_t v)
{
    snprintf(p->numbers[p->n], sizeof p->numbers[0], "%lld", (long long)v);
    param_text(p, p->numbers[p->n]);
}

static void param_bytes(params *p, const void *v, size_t len)
{
    p->values[p->n] = v;
    p->lengths[p->n] = (int)len;
    p->formats[p->n++] = 1;
}

/* libpq's messages end in a newline; ours do not. */
static const char *trimmed(const char *msg, char *buf, size_t cap)
{
    size_t n;
    snprintf(buf, cap, "%s", msg && *msg ? msg : "no message");
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("relation exists, skipping") are not for the server's log */
}

static PGconn *connect_db(const char *url, fg_error *err)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *values[] = {url, "3", "facegate", NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);
    char msg[200];
    if (!c) {
        fg_fail(err, FG_ENOMEM, "out of memory connecting to PostgreSQL");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        fg_fail(err, FG_STORE_EUNAVAILABLE, "cannot connect to PostgreSQL: %s",
                trimmed(PQerrorMessage(c), msg, sizeof msg));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* A connection for the front's calls: the open one, or a new one. */
static int ensure_conn(pg_store *s, fg_error *err)
{
    double now;
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) return FG_OK;
    now = fg_monotonic();
    if (now < s->next_connect)
        return fg_fail(err, FG_STORE_EUNAVAILABLE, "the database is unavailable (reconnecting)");
    PQfinish(s->conn);
    s->conn = connect_db(s->url, err);
    if (s->conn) return FG_OK;
    s->next_connect = now + RECONNECT_S;
    return err ? err->code : FG_STORE_EUNAVAILABLE;
}

/* The error of a failed result: taken username, database gone, or another failure. */
static int result_error(const PGresult *r, const char *what, fg_error *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char msg[200];
    trimmed(PQresultErrorMessage(r), msg, sizeof msg);
    if (state && strcmp(state, "23505") == 0)
        return fg_fail(err, FG_STORE_EEXIST, "%s: the username is taken", what);
    if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))
        return fg_fail(err, FG_STORE_EUNAVAILABLE, "%s: %s", what, msg);
    return fg_fail(err, FG_STORE_EDB, "%s: %s", what, msg);
}

/* Runs one statement; *out (may be NULL) receives the result (caller PQclears). binary: results
 * in binary format. */
static int run(pg_store *s, const char *what, const char *sql, const params *p, int binary,
               PGresult **out, fg_error *err)
{
    for (int attempt = 0;; attempt++) {
        PGresult *r;
        ExecStatusType st;
        int rc = ensure_conn(s, err);
        if (rc != FG_OK) return rc;
        r = PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->values : NULL,
                         p ? p->lengths : NULL, p ? p->formats : NULL, binary);
        st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN) {
            if (out)
                *out = r;
            else
                PQclear(r);
            return FG_OK;
        }
        if (PQstatus(s->conn) == CONNECTION_BAD) {
            PQclear(r);
            if (!s->in_tx && attempt == 0) continue; /* the database restarted: once more */
            return fg_fail(err, FG_STORE_EUNAVAILABLE, "%s: the database connection was lost",
                           what);
        }
        rc = result_error(r, what, err);
        PQclear(r);
        return rc;
    }
}

/* Starts a COPY ... TO STDOUT. */
static int copy_out(pg_store *s, const char *sql, fg_error *err)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = PQresultStatus(r) == PGRES_COPY_OUT ? FG_OK : result_error(r, "read templates", err);
    PQclear(r);
    return rc;
}

/* After PQgetCopyData returned n < 0: the COPY's own result. */
static int copy_end(pg_store *s, int n, fg_error *err)
{
    PGresult *r;
    int rc = FG_OK;
    if (n == -2)
        rc =
            fg_fail(err, PQstatus(s->conn) == CONNECTION_BAD ? FG_STORE_EUNAVAILABLE : FG_STORE_EDB,
                    "read templates: %s", PQerrorMessage(s->conn));
    while ((r = PQgetResult(s->conn)) != NULL) {
        if (rc == FG_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = result_error(r, "read templates", err);
        PQclear(r);
    }
    return rc;
}

static int64_t get_int(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A big-endian int8 of a binary result. */
static int64_t get_int_binary(const PGresult *r, int row, int col)
{
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t v = 0;
    if (PQgetlength(r, row, col) != 8) return 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (int64_t)v;
}

static int begin_with(pg_store *s, const char *sql, fg_error *err)
{
    int rc = run(s, "begin transaction", sql, NULL, 0, NULL, err);
    if (rc == FG_OK) s->in_tx = 1;
    return rc;
}

static void pg_rollback(void *db)
{
    pg_store *s = db;
    if (s->in_tx && s->conn && PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    s->in_tx = 0;
}

static int pg_begin(void *db, fg_error *err)
{
    pg_store *s = db;
    int rc = begin_with(s, "BEGIN", err);
    if (rc == FG_OK)
        rc = run(s, "take the write lock", "SELECT pg_advisory_xact_lock(" WRITE_LOCK ")", NULL, 0,
                 NULL, err);
    if (rc != FG_OK) pg_rollback(s);
    return rc;
}

static int pg_commit(void *db, fg_error *err)
{
    pg_store *s = db;
    int rc = run(s, "commit", "COMMIT", NULL, 0, NULL, err);
    s->in_tx = 0;
    return rc;
}

/* Several statements in one string (PQexecParams takes one). */
static int run_script(pg_store *s, const char *sql, fg_error *err)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc =
        PQresultStatus(r) == PGRES_COMMAND_OK ? FG_OK : result_error(r, "schema migration", err);
    PQclear(r);
    return rc;
}

static int migrate(pg_store *s, fg_error *err)
{
    PGresult *r = NULL;
    int version, rc;
    if ((rc = begin_with(s, "BEGIN", err)) != FG_OK) return rc;
    rc = run(s, "lock the schema", "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL, 0, NULL,
             err);
    if (rc == FG_OK)
        rc = run(s, "create schema_version",
                 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", NULL, 0,
                 NULL, err);
    if (rc == FG_OK)
        rc = run(s, "read schema_version", "SELECT coalesce(max(version), 0) FROM schema_version",
                 NULL, 0, &r, err);
    if (rc != FG_OK) goto fail;
    version = (int)get_int(r, 0, 0);
    PQclear(r);
    if (version > SCHEMA_VERSION) {
        rc = fg_fail(err, FG_STORE_EDB,
                     "database schema version %d is newer than this facegate (%d)", version,
                     SCHEMA_VERSION);
        goto fail;
    }
    for (int v = version; v < SCHEMA_VERSION && rc == FG_OK; v++) {
        params p = {0};
        param_int(&p, v + 1);
        rc = run_script(s, MIGRATIONS[v], err);
        if (rc == FG_OK)
            rc = run(s, "set schema_version", "DELETE FROM schema_version", NULL, 0, NULL, err);
        if (rc == FG_OK)
            rc = run(s, "set schema_version", "INSERT INTO schema_version VALUES ($1)", &p, 0, NULL,
                     err);
    }
    if (rc == FG_OK) rc = pg_commit(s, err);
    if (rc == FG_OK) return FG_OK;
fail:
    pg_rollback(s);
    return rc;
}

static void pg_close(void *db)
{
    pg_store *s = db;
    if (!s) return;
    PQfinish(s->conn);
    PQfinish(s->listen);
    free(s->url);
    free(s);
}

static int pg_open(const char *location, const char *data_dir, void **out, fg_error *err)
{
    pg_store *s = calloc(1, sizeof *s);
    int rc;
    (void)data_dir;
    *out = NULL;
    if (!s || !(s->url = strdup(location))) {
        free(s);
        return fg_fail(err, FG_ENOMEM, "out of memory opening the store");
    }
    s->conn = connect_db(s->url, err);
    rc = s->conn ? migrate(s, err) : (err ? err->code : FG_STORE_EUNAVAILABLE);
    if (rc != FG_OK) {
        pg_close(s);
        return rc;
    }
    *out = s;
    return FG_OK;
}

/* Appends to the change log and announces it (delivered at commit). Inside the transaction. */
static int log_change(pg_store *s, int kind, int64_t user_id, int64_t template_id, fg_error *err)
{
    params p = {0};
    int rc;
    param_int(&p, kind);
    param_int(&p, user_id);
    param_int(&p, template_id);
    rc =
        run(s, "log change", "INSERT INTO changes (kind, user_id, template_id) VALUES ($1, $2, $3)",
            &p, 0, NULL, err);
    if (rc == FG_OK) rc = run(s, "notify", "NOTIFY " CHANNEL, NULL, 0, NULL, err);
    return rc;
}

/* Runs an INSERT ... RETURNING id. */
static int insert_returning(pg_store *s, const char *what, const char *sql, const params *p,
                            int64_t *id, fg_error *err)
{
    PGresult *r;
    int rc = run(s, what, sql, p, 0, &r, err);
    if (rc != FG_OK) return rc;
    *id = get_int(r, 0, 0);
    PQclear(r);
    return FG_OK;
}

static int pg_user_insert(void *db, const char *uid, const char *username, const char *display_name,
                          int64_t created_at, int64_t *user_id, fg_error *err)
{
    params p = {0}, name = {0};
    PGresult *r;
    int rc, taken;
    /* Writers hold the write lock (pg_begin): no look-alike can be inserted between the two. */
    param_text(&name, username);
    rc = run(db, "look up username",
             "SELECT 1 FROM users WHERE " FG_USERNAME_KEY_SQL("username") " = " FG_USERNAME_KEY_SQL(
                 "$1::text"),
             &name, 0, &r, err);
    if (rc != FG_OK) return rc;
    taken = PQntuples(r) > 0;
    PQclear(r);
    if (taken) return fg_fail(err, FG_STORE_EEXIST, "username \"%s\" is taken", username);
    param_text(&p, uid);
    param_text(&p, username);
    param_text(&p, display_name);
    param_int(&p, created_at);
    rc = insert_returning(db, "insert user",
                          "INSERT INTO users (uid, username, display_name, created_at) "
                          "VALUES ($1, $2, $3, $4) RETURNING id",
                          &p, user_id, err);
    if (rc == FG_STORE_EEXIST)
        return fg_fail(err, FG_STORE_EEXIST, "username \"%s\" is taken", username);
    return rc;
}

static int pg_template_insert(void *db, int64_t user_id, int64_t created_at,
                              const fg_sealed_template *t, int64_t *template_id, fg_error *err)
{
    params p = {0};
    int64_t id;
    int rc;
    param_int(&p, user_id);
    param_bytes(&p, t->nonce, sizeof t->nonce);
    param_bytes(&p, t->ciphertext, sizeof t->ciphertext);
    param_int(&p, created_at);
    param_text(&p, t->recognizer);
    param_text(&p, t->alignment);
    rc = insert_returning(db, "insert template",
                          "INSERT INTO templates (user_id, nonce, ciphertext, created_at, "
                          "recognizer, alignment) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                          &p, &id, err);
    if (rc != FG_OK) return rc;
    if (template_id) *template_id = id;
    return log_change(db, FG_STORE_CHANGE_ADD, user_id, id, err);
}

static int pg_user_delete(void *db, int64_t id, fg_error *err)
{
    pg_store *s = db;
    PGresult *r;
    params p = {0};
    int rc, deleted;
    param_int(&p, id);
    rc = run(s, "forget the user's audit rows",
             "UPDATE audit SET username = 'deleted-' || substr(u.uid, 1, 8), client = '' "
             "FROM users u WHERE u.id = $1 AND lower(audit.username) = lower(u.username)",
             &p, 0, NULL, err);
    if (rc != FG_OK) return rc;
    rc = run(s, "delete user", "DELETE FROM users WHERE id = $1", &p, 0, &r, err);
    if (rc != FG_OK) return rc;
    deleted = atoi(PQcmdTuples(r));
    PQclear(r);
    if (!deleted) return fg_fail(err, FG_STORE_ENOTFOUND, "no such user");
    return log_change(s, FG_STORE_CHANGE_DELETE, id, 0, err);
}

/* Appends a big-endian integer of `bytes` bytes. */
static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* Sends rows (username, nonce, ciphertext) to a COPY ... FROM STDIN (FORMAT binary). */
static int copy_rows(pg_store *s, const char *const *uids, const char *const *usernames,
                     const fg_sealed_template *sealed, size_t n, fg_error *err)
{
    static const uint8_t header[19] = "PGCOPY\n\377\r\n";
    uint8_t row[2 + 4 + FG_STORE_UID_LEN + 4 + FG_USERNAME_MAX + 4 + sizeof sealed->nonce + 4 +
                sizeof sealed->ciphertext];
    PGresult *r;
    int ok = PQputCopyData(s->conn, (const char *)header, sizeof header) == 1;
    for (size_t i = 0; i < n && ok; i++) {
        size_t ulen = strlen(uids[i]), len = strlen(usernames[i]);
        uint8_t *p = put_be(row, 4, 2);
        p = put_be(p, ulen, 4);
        memcpy(p, uids[i], ulen);
        p = put_be(p + ulen, len, 4);
        memcpy(p, usernames[i], len);
        p = put_be(p + len, sizeof sealed[i].nonce, 4);
        memcpy(p, sealed[i].nonce, sizeof sealed[i].nonce);
        p = put_be(p + sizeof sealed[i].nonce, sizeof sealed[i].ciphertext, 4);
        memcpy(p, sealed[i].ciphertext, sizeof sealed[i].ciphertext);
        p += sizeof sealed[i].ciphertext;
        ok = PQputCopyData(s->conn, (const char *)row, (int)(p - row)) == 1;
    }
    if (ok) ok = PQputCopyData(s->conn, "\377\377", 2) == 1;
    if (PQputCopyEnd(s->conn, ok ? NULL : "facegate: import aborted") != 1) ok = 0;
    while ((r = PQgetResult(s->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
            ok = 0;
            result_error(r, "import rows", err);
        }
        PQclear(r);
    }
    return ok ? FG_OK : fg_fail(err, FG_STORE_EDB, "import rows: %s", PQerrorMessage(s->conn));
}

/* The COPY goes to a temporary table; three statements then make the users, their templates
 * and the change log from it. */
static int pg_import(void *db, const char *const *uids, const char *const *usernames,
                     const fg_sealed_template *sealed, size_t n, int64_t created_at, fg_error *err)
{
    pg_store *s = db;
    PGresult *r = NULL;
    params p = {0};
    int rc;
    param_int(&p, created_at);
    /* The front stamps every template with its store's kind: the first one's is everyone's. */
    param_text(&p, n ? sealed[0].recognizer : FG_TEMPLATE_RECOGNIZER_DEFAULT);
    param_text(&p, n ? sealed[0].alignment : FG_TEMPLATE_ALIGNMENT_DEFAULT);
    rc = run(s, "import",
             "CREATE TEMP TABLE import_rows (uid TEXT, username TEXT, nonce BYTEA, "
             "ciphertext BYTEA) ON COMMIT DROP",
             NULL, 0, NULL, err);
    if (rc == FG_OK)
        rc = run(s, "import", "COPY import_rows FROM STDIN (FORMAT binary)", NULL, 0, &r, err);
    if (rc != FG_OK) return rc;
    PQclear(r);
    if ((rc = copy_rows(s, uids, usernames, sealed, n, err)) != FG_OK) return rc;
    if ((rc = run(s, "import", "ANALYZE import_rows", NULL, 0, NULL, err)) != FG_OK) return rc;
    rc = run(s, "import users",
             "WITH u AS (INSERT INTO users (uid, username, display_name, created_at) "
             "SELECT uid, username, username, $1 FROM import_rows RETURNING id, username), "
             "t AS (INSERT INTO templates (user_id, nonce, ciphertext, created_at, recognizer, "
             "alignment) SELECT u.id, i.nonce, i.ciphertext, $1, $2, $3 FROM u "
             "JOIN import_rows i USING (username) "
             "RETURNING id, user_id) "
             "INSERT INTO changes (kind, user_id, template_id) SELECT 1, user_id, id FROM t "
             "ORDER BY id",
             &p, 0, NULL, err);
    if (rc == FG_OK) rc = run(s, "notify", "NOTIFY " CHANNEL, NULL, 0, NULL, err);
    return rc;
}

/* Runs a query and hands each row to read, `item` bytes apart, into a malloc'd array. */
static int list_rows(void *db, const char *what, const char *sql, const params *p, size_t item,
                     void (*read)(const PGresult *, int, void *), void **items, size_t *count,
                     fg_error *err)
{
    PGresult *r;
    size_t n;
    int rc = run(db, what, sql, p, 0, &r, err);
    if (rc != FG_OK) return rc;
    n = (size_t)PQntuples(r);
    *items = calloc(n ? n : 1, item);
    if (!*items) {
        PQclear(r);
        return fg_fail(err, FG_ENOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < n; i++)
        read(r, (int)i, (char *)*items + i * item);
    *count = n;
    PQclear(r);
    return FG_OK;
}

/* Runs a query for one row: read fills *out (may be NULL); FG_STORE_ENOTFOUND ("no such
 * <noun>") without one. */
static int find_row(void *db, const char *noun, const char *sql, const params *p,
                    void (*read)(const PGresult *, int, void *), void *out, fg_error *err)
{
    PGresult *r;
    int rc = run(db, noun, sql, p, 0, &r, err);
    if (rc != FG_OK) return rc;
    if (PQntuples(r) == 0)
        rc = fg_fail(err, FG_STORE_ENOTFOUND, "no such %s", noun);
    else if (out)
        read(r, 0, out);
    PQclear(r);
    return rc;
}

static void read_user(const PGresult *r, int row, void *out)
{
    fg_store_user *user = out;
    memset(user, 0, sizeof *user);
    user->id = get_int(r, row, 0);
    snprintf(user->username, sizeof user->username, "%s", PQgetvalue(r, row, 1));
    snprintf(user->display_name, sizeof user->display_name, "%s", PQgetvalue(r, row, 2));
    user->created_at = get_int(r, row, 3);
    user->faces = (int)get_int(r, row, 4);
    snprintf(user->uid, sizeof user->uid, "%s", PQgetvalue(r, row, 5));
}

static int pg_user_find(void *db, const char *username, int64_t id, fg_store_user *user,
                        fg_error *err)
{
    params p = {0};
    if (username)
        param_text(&p, username);
    else
        param_int(&p, id);
    return find_row(db, "user",
                    username ? USER_COLUMNS "WHERE lower(u.username) = lower($1)"
                             : USER_COLUMNS "WHERE u.id = $1",
                    &p, read_user, user, err);
}

static int pg_user_find_uid(void *db, const char *uid, fg_store_user *user, fg_error *err)
{
    params p = {0};
    param_text(&p, uid);
    return find_row(db, "user", USER_COLUMNS "WHERE u.uid = $1", &p, read_user, user, err);
}

static int pg_user_list(void *db, fg_store_user **users, size_t *count, fg_error *err)
{
    return list_rows(db, "list users", USER_COLUMNS "ORDER BY lower(u.username)", NULL,
                     sizeof **users, read_user, (void **)users, count, err);
}

static int pg_user_count(void *db, size_t *count, fg_error *err)
{
    PGresult *r;
    int rc = run(db, "count users", "SELECT count(*) FROM users", NULL, 0, &r, err);
    if (rc != FG_OK) return rc;
    *count = (size_t)get_int(r, 0, 0);
    PQclear(r);
    return FG_OK;
}

/* Text of at most FG_TEMPLATE_KIND_MAX bytes into dst ("" when longer). */
static void copy_kind(char dst[FG_TEMPLATE_KIND_MAX + 1], const char *src, int64_t len)
{
    if (len < 0 || len > FG_TEMPLATE_KIND_MAX) len = 0;
    memcpy(dst, src, (size_t)len);
    dst[len] = 0;
}

/* Row `row` of a binary result holding (template id, user id, username, nonce, ciphertext,
 * recognizer, alignment) from column `col`: checks the blobs and hands the template to fn. */
static int deliver_one(const PGresult *r, int row, int col, fg_sealed_fn fn, void *ctx,
                       fg_error *err)
{
    fg_sealed_template t;
    int64_t template_id = get_int_binary(r, row, col);
    if (PQgetlength(r, row, col + 3) != (int)sizeof t.nonce ||
        PQgetlength(r, row, col + 4) != (int)sizeof t.ciphertext)
        return fg_fail(err, FG_STORE_ECRYPTO, "template %lld has a malformed blob",
                       (long long)template_id);
    memcpy(t.nonce, PQgetvalue(r, row, col + 3), sizeof t.nonce);
    memcpy(t.ciphertext, PQgetvalue(r, row, col + 4), sizeof t.ciphertext);
    copy_kind(t.recognizer, PQgetvalue(r, row, col + 5), PQgetlength(r, row, col + 5));
    copy_kind(t.alignment, PQgetvalue(r, row, col + 6), PQgetlength(r, row, col + 6));
    return fn(ctx, FG_STORE_CHANGE_ADD, get_int_binary(r, row, col + 1), template_id,
              PQgetvalue(r, row, col + 2), &t);
}

/* Big-endian integer of `bytes` bytes at *p if the row has them; advances *p. */
static int take_be(const uint8_t **p, const uint8_t *end, int bytes, int64_t *v)
{
    uint64_t x = 0;
    if (end - *p < bytes) return -1;
    for (int i = 0; i < bytes; i++)
        x = x << 8 | (*p)[i];
    *p += bytes;
    *v = bytes == 4 ? (int32_t)x : bytes == 2 ? (int16_t)x : (int64_t)x;
    return 0;
}

/* One row of COPY ... (FORMAT binary): id, user_id (int8), username (text), nonce, ciphertext
 * (bytea), recognizer, alignment (text), handed to fn (*stop: its answer, or the error of a
 * malformed row). The first row follows the 19-byte file header; the trailer is skipped. */
static void copy_row(const uint8_t *p, const uint8_t *end, int first, fg_sealed_fn fn, void *ctx,
                     int *stop, fg_error *err)
{
    static const char signature[11] = "PGCOPY\n\377\r\n";
    char username[FG_USERNAME_MAX + 1];
    fg_sealed_template t;
    int64_t fields, len, id = 0, user_id = 0;
    if (first) {
        if (end - p < 19 || memcmp(p, signature, sizeof signature) != 0) goto bad;
        p += 19;
    }
    if (take_be(&p, end, 2, &fields) != 0) goto bad;
    if (fields == -1) return;
    if (fields != 7 || take_be(&p, end, 4, &len) || len != 8 || take_be(&p, end, 8, &id) ||
        take_be(&p, end, 4, &len) || len != 8 || take_be(&p, end, 8, &user_id) ||
        take_be(&p, end, 4, &len) || len < 0 || len > FG_USERNAME_MAX || end - p < len)
        goto bad;
    memcpy(username, p, (size_t)len);
    username[len] = 0;
    p += len;
    if (take_be(&p, end, 4, &len) || len != (int64_t)sizeof t.nonce || end - p < len) goto bad;
    memcpy(t.nonce, p, sizeof t.nonce);
    p += len;
    if (take_be(&p, end, 4, &len) || len != (int64_t)sizeof t.ciphertext || end - p < len) goto bad;
    memcpy(t.ciphertext, p, sizeof t.ciphertext);
    p += len;
    if (take_be(&p, end, 4, &len) || len < 0 || end - p < len) goto bad;
    copy_kind(t.recognizer, (const char *)p, len);
    p += len;
    if (take_be(&p, end, 4, &len) || len < 0 || end - p < len) goto bad;
    copy_kind(t.alignment, (const char *)p, len);
    *stop = fn(ctx, FG_STORE_CHANGE_ADD, user_id, id, username, &t);
    return;
bad:
    *stop = fg_fail(err, FG_STORE_ECRYPTO, "template %lld: malformed row", (long long)id);
}

/* A million templates are over half a gigabyte: they stream through COPY ... TO STDOUT in
 * storage order, with the join in memory (work_mem) rather than in temporary files. */
static int pg_template_each(void *db, fg_sealed_fn fn, void *ctx, int64_t *last_change,
                            fg_error *err)
{
    pg_store *s = db;
    PGresult *r = NULL;
    int rc = begin_with(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err), first = 1;
    if (rc == FG_OK)
        rc = run(s, "read the change log", "SELECT coalesce(max(seq), 0) FROM changes", NULL, 0, &r,
                 err);
    if (rc == FG_OK) {
        *last_change = get_int(r, 0, 0);
        PQclear(r);
        rc = run(s, "read templates", "SET LOCAL work_mem = '256MB'", NULL, 0, NULL, err);
    }
    if (rc == FG_OK)
        rc = copy_out(
            s,
            "COPY (SELECT t.id, t.user_id, u.username, t.nonce, t.ciphertext, t.recognizer, "
            "t.alignment FROM templates t JOIN users u ON u.id = t.user_id) "
            "TO STDOUT (FORMAT binary)",
            err);
    if (rc == FG_OK) {
        int stop = FG_OK;
        for (;;) { /* after a failure the rest is read and dropped, to end the COPY */
            char *row;
            int n = PQgetCopyData(s->conn, &row, 0);
            if (n < 0) {
                int end = copy_end(s, n, stop == FG_OK ? err : NULL);
                if (stop == FG_OK) stop = end;
                break;
            }
            if (stop == FG_OK)
                copy_row((const uint8_t *)row, (const uint8_t *)row + n, first, fn, ctx, &stop,
                         err);
            PQfreemem(row);
            first = 0;
        }
        rc = stop;
    }
    pg_rollback(s);
    return rc;
}

static int pg_changes(void *db, int64_t after, fg_sealed_fn fn, void *ctx, int64_t *last,
                      fg_error *err)
{
    PGresult *r;
    params p = {0};
    int rc, rows;
    param_int(&p, after);
    rc = run(db, "read the change log",
             "SELECT c.seq, c.kind::int8, c.template_id, c.user_id, u.username, t.nonce, "
             "t.ciphertext, t.recognizer, t.alignment "
             "FROM changes c LEFT JOIN templates t ON c.kind = 1 AND t.id = c.template_id "
             "LEFT JOIN users u ON u.id = t.user_id WHERE c.seq > $1 ORDER BY c.seq",
             &p, 1, &r, err);
    if (rc != FG_OK) return rc;
    rows = PQntuples(r);
    for (int i = 0; i < rows && rc == FG_OK; i++) {
        int kind = (int)get_int_binary(r, i, 1);
        if (kind == FG_STORE_CHANGE_DELETE)
            rc = fn(ctx, kind, get_int_binary(r, i, 3), 0, NULL, NULL);
        else if (kind == FG_STORE_CHANGE_ADD && !PQgetisnull(r, i, 5))
            rc = deliver_one(r, i, 2, fn, ctx, err); /* else deleted since: its deletion follows */
        if (rc == FG_OK) *last = get_int_binary(r, i, 0); /* a failed one comes again next time */
    }
    PQclear(r);
    return rc;
}

static int pg_wait(void *db, int timeout_ms, fg_error *err)
{
    pg_store *s = db;
    struct pollfd pfd;
    PGnotify *note;
    int got = 0;
    if (!s->listen || PQstatus(s->listen) != CONNECTION_OK) {
        double now = fg_monotonic();
        PQfinish(s->listen);
        s->listen = NULL;
        if (now >= s->next_listen) s->listen = connect_db(s->url, err);
        if (s->listen) {
            PGresult *r = PQexec(s->listen, "LISTEN " CHANNEL);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            PQclear(r);
            if (ok) return 1; /* changes may have been missed while away: catch up */
            PQfinish(s->listen);
            s->listen = NULL;
        }
        s->next_listen = now + RECONNECT_S;
        usleep((useconds_t)(timeout_ms < 500 ? timeout_ms : 500) * 1000);
        return fg_fail(err, FG_STORE_EUNAVAILABLE, "cannot listen for changes: no database");
    }
    pfd.fd = PQsocket(s->listen);
    pfd.events = POLLIN;
    if (PQnotifies(s->listen) == NULL && poll(&pfd, 1, timeout_ms) <= 0) return 0;
    if (!PQconsumeInput(s->listen)) {
        PQfinish(s->listen);
        s->listen = NULL;
        return fg_fail(err, FG_STORE_EUNAVAILABLE, "lost the database connection");
    }
    while ((note = PQnotifies(s->listen)) != NULL) {
        got = 1;
        PQfreemem(note);
    }
    return got;
}

static int pg_audit_insert(void *db, const fg_audit_event *ev, fg_error *err)
{
    params p = {0};
    char distance[32];
    param_int(&p, ev->time);
    param_text(&p, ev->event);
    param_text(&p, ev->username);
    param_text(&p, ev->client);
    param_text(&p, ev->outcome);
    snprintf(distance, sizeof distance, "%.9g", ev->distance);
    param_text(&p, isnan(ev->distance) ? NULL : distance);
    return run(db, "insert audit event",
               "INSERT INTO audit (time, event, username, client, outcome, distance) "
               "VALUES ($1, $2, $3, $4, $5, $6)",
               &p, 0, NULL, err);
}

static void read_audit(const PGresult *r, int row, void *out)
{
    fg_audit_event *ev = out;
    ev->time = get_int(r, row, 0);
    snprintf(ev->event, sizeof ev->event, "%s", PQgetvalue(r, row, 1));
    snprintf(ev->username, sizeof ev->username, "%s", PQgetvalue(r, row, 2));
    snprintf(ev->client, sizeof ev->client, "%s", PQgetvalue(r, row, 3));
    snprintf(ev->outcome, sizeof ev->outcome, "%s", PQgetvalue(r, row, 4));
    ev->distance = PQgetisnull(r, row, 5) ? NAN : strtod(PQgetvalue(r, row, 5), NULL);
}

static int pg_audit_list(void *db, size_t limit, fg_audit_event **events, size_t *count,
                         fg_error *err)
{
    params p = {0};
    param_int(&p, (int64_t)limit);
    return list_rows(db, "list audit events",
                     "SELECT time, event, username, client, outcome, distance FROM audit "
                     "ORDER BY id DESC LIMIT $1",
                     &p, sizeof **events, read_audit, (void **)events, count, err);
}

static int pg_audit_prune(void *db, int64_t before, fg_error *err)
{
    params p = {0};
    param_int(&p, before);
    return run(db, "prune the audit log", "DELETE FROM audit WHERE time < $1", &p, 0, NULL, err);
}

static int pg_session_revoke(void *db, const char *jti, int64_t expires, int64_t now, fg_error *err)
{
    params p = {0};
    int rc;
    param_int(&p, now);
    rc = run(db, "prune revoked sessions", "DELETE FROM revoked_sessions WHERE expires_at < $1", &p,
             0, NULL, err);
    if (rc != FG_OK) return rc;
    p.n = 0;
    param_text(&p, jti);
    param_int(&p, expires);
    return run(db, "revoke session",
               "INSERT INTO revoked_sessions (jti, expires_at) VALUES ($1, $2) "
               "ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at",
               &p, 0, NULL, err);
}

static int pg_session_revoked(void *db, const char *jti, int64_t now, int *revoked, fg_error *err)
{
    PGresult *r;
    params p = {0};
    int rc;
    param_text(&p, jti);
    param_int(&p, now);
    rc = run(db, "look up session",
             "SELECT 1 FROM revoked_sessions WHERE jti = $1 AND expires_at >= $2", &p, 0, &r, err);
    if (rc != FG_OK) return rc;
    *revoked = PQntuples(r) > 0;
    PQclear(r);
    return FG_OK;
}

/* --- failed-attempt limits ------------------------------------------------------------------ */

/* A key's advisory lock: FNV-1a (a collision only makes two keys wait for each other). */
static int32_t limit_lock(const char *key)
{
    uint32_t h = 2166136261u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return (int32_t)h;
}

static int compare_locks(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A bigint[] as PostgreSQL writes it ("{1,2,3}"), at most FG_LIMIT_TIMES values. */
static int parse_times(const char *text, int64_t *times)
{
    int n = 0;
    while (*text && n < FG_LIMIT_TIMES) {
        char *end;
        long long v;
        if (*text == '{' || *text == ',' || *text == '}') {
            text++;
            continue;
        }
        v = strtoll(text, &end, 10);
        if (end == text) break;
        times[n++] = v;
        text = end;
    }
    return n;
}

#define TIMES_TEXT_MAX (FG_LIMIT_TIMES * 21 + 3)
static const char *format_times(const int64_t *times, int n, char out[TIMES_TEXT_MAX])
{
    size_t len = 1;
    out[0] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, TIMES_TEXT_MAX - len, "%s%lld", i ? "," : "",
                                (long long)times[i]);
    snprintf(out + len, TIMES_TEXT_MAX - len, "}");
    return out;
}

static void read_limit(const PGresult *r, int row, fg_limit_row *out)
{
    out->nfailures = parse_times(PQgetvalue(r, row, 1), out->failures);
    out->npending = parse_times(PQgetvalue(r, row, 2), out->pending);
    out->consecutive = (int)get_int(r, row, 3);
    out->locked_until = get_int(r, row, 4);
    out->last_failure = get_int(r, row, 5);
    out->tokens = strtod(PQgetvalue(r, row, 6), NULL);
    out->refilled_ms = get_int(r, row, 7);
    out->expires_at = get_int(r, row, 8);
}

static int write_limit(pg_store *s, const fg_limit_row *row, fg_error *err)
{
    char failures[TIMES_TEXT_MAX], pending[TIMES_TEXT_MAX], tokens[32];
    params p = {0};
    param_text(&p, row->key);
    param_text(&p, format_times(row->failures, row->nfailures, failures));
    param_text(&p, format_times(row->pending, row->npending, pending));
    param_int(&p, row->consecutive);
    param_int(&p, row->locked_until);
    param_int(&p, row->last_failure);
    snprintf(tokens, sizeof tokens, "%.17g", row->tokens);
    param_text(&p, tokens);
    param_int(&p, row->refilled_ms);
    param_int(&p, row->expires_at);
    return run(s, "write the limits",
               "INSERT INTO limits (key, failures, pending, consecutive, locked_until, "
               "last_failure, tokens, refilled_ms, expires_at) "
               "VALUES ($1, $2::bigint[], $3::bigint[], $4, $5, $6, $7, $8, $9) "
               "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
               "pending = excluded.pending, consecutive = excluded.consecutive, "
               "locked_until = excluded.locked_until, last_failure = excluded.last_failure, "
               "tokens = excluded.tokens, refilled_ms = excluded.refilled_ms, "
               "expires_at = excluded.expires_at",
               &p, 0, NULL, err);
}

/* Deletes expired rows now and then, skipping rows another transaction holds (so it never
 * waits for one, and two servers pruning cannot deadlock with each other or with an update). */
static void prune_limits(pg_store *s)
{
    params p = {0};
    double now = fg_monotonic();
    if (now < s->next_prune) return;
    s->next_prune = now + LIMITS_PRUNE_S;
    param_int(&p, (int64_t)fg_now());
    run(s, "prune the limits",
        "DELETE FROM limits WHERE key IN (SELECT key FROM limits WHERE expires_at < $1 "
        "LIMIT 10000 FOR UPDATE SKIP LOCKED)",
        &p, 0, NULL, NULL);
}

/* One transaction: the keys' advisory locks in ascending order (no two servers wait for each
 * other in a cycle), read, fn, write. */
static int pg_limits_update(void *db, const char *const *keys, size_t n, fg_limit_fn fn, void *ctx,
                            fg_error *err)
{
    pg_store *s = db;
    fg_limit_row rows[FG_LIMIT_KEYS];
    int32_t locks[FG_LIMIT_KEYS];
    PGresult *r;
    params p = {0};
    int rc, verdict = 0;

    memset(rows, 0, sizeof rows);
    for (size_t i = 0; i < n; i++) {
        snprintf(rows[i].key, sizeof rows[i].key, "%s", keys[i]);
        locks[i] = limit_lock(keys[i]);
    }
    qsort(locks, n, sizeof locks[0], compare_locks);
    if ((rc = begin_with(s, "BEGIN", err)) != FG_OK) return rc;
    for (size_t i = 0; i < n && rc == FG_OK; i++) {
        if (i > 0 && locks[i] == locks[i - 1]) continue;
        p.n = 0;
        param_int(&p, locks[i]);
        rc = run(s, "lock the limits", "SELECT pg_advisory_xact_lock(" LIMITS_LOCK_CLASS ", $1)",
                 &p, 0, NULL, err);
    }
    if (rc != FG_OK) goto fail;
    p.n = 0;
    for (size_t i = 0; i < FG_LIMIT_KEYS; i++)
        param_text(&p, keys[i < n ? i : n - 1]);
    rc = run(s, "read the limits",
             "SELECT key, failures, pending, consecutive, locked_until, last_failure, tokens, "
             "refilled_ms, expires_at FROM limits WHERE key IN ($1, $2, $3)",
             &p, 0, &r, err);
    if (rc != FG_OK) goto fail;
    for (int row = 0; row < PQntuples(r); row++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].key, PQgetvalue(r, row, 0)) == 0) read_limit(r, row, &rows[i]);
    PQclear(r);
    verdict = fn(ctx, rows, n);
    if (verdict < 0) {
        rc = verdict;
        goto fail;
    }
    for (size_t i = 0; i < n && verdict == 0 && rc == FG_OK; i++)
        rc = write_limit(s, &rows[i], err);
    if (rc == FG_OK) rc = pg_commit(s, err);
    if (rc != FG_OK) goto fail;
    prune_limits(s);
    return verdict;
fail:
    pg_rollback(s);
    return rc;
}

/* --- session signing keys ------------------------------------------------------------------- */

static int read_seed(const PGresult *r, int col, fg_sealed_seed *seed, fg_error *err)
{
    if (PQgetlength(r, 0, col) != (int)sizeof seed->nonce ||
        PQgetlength(r, 0, col + 1) != (int)sizeof seed->ciphertext)
        return fg_fail(err, FG_STORE_EDB, "the signing keys' row is malformed");
    memcpy(seed->nonce, PQgetvalue(r, 0, col), sizeof seed->nonce);
    memcpy(seed->ciphertext, PQgetvalue(r, 0, col + 1), sizeof seed->ciphertext);
    return FG_OK;
}

static int pg_signing_get(void *db, fg_sealed_keyset *keys, fg_error *err)
{
    PGresult *r;
    int rc = run(db, "read the signing keys",
                 "SELECT version, current_nonce, current_sealed, previous_nonce, previous_sealed "
                 "FROM signing_keys WHERE id = 1",
                 NULL, 1, &r, err);
    if (rc != FG_OK) return rc;
    memset(keys, 0, sizeof *keys);
    if (PQntuples(r) != 1) {
        rc = fg_fail(err, FG_STORE_ENOTFOUND, "the database holds no signing keys");
    } else {
        keys->version = get_int_binary(r, 0, 0);
        rc = read_seed(r, 1, &keys->current, err);
        keys->has_previous = !PQgetisnull(r, 0, 3);
        if (rc == FG_OK && keys->has_previous) rc = read_seed(r, 3, &keys->previous, err);
    }
    PQclear(r);
    return rc;
}

static int pg_signing_insert(void *db, const fg_sealed_keyset *keys, fg_error *err)
{
    params p = {0};
    param_int(&p, keys->version);
    param_bytes(&p, keys->current.nonce, sizeof keys->current.nonce);
    param_bytes(&p, keys->current.ciphertext, sizeof keys->current.ciphertext);
    param_bytes(&p, keys->has_previous ? keys->previous.nonce : NULL,
                keys->has_previous ? sizeof keys->previous.nonce : 0);
    param_bytes(&p, keys->has_previous ? keys->previous.ciphertext : NULL,
                keys->has_previous ? sizeof keys->previous.ciphertext : 0);
    param_int(&p, fg_now());
    return run(db, "store the signing keys",
               "INSERT INTO signing_keys (id, version, current_nonce, current_sealed, "
               "previous_nonce, previous_sealed, rotated_at) VALUES (1, $1, $2, $3, $4, $5, $6) "
               "ON CONFLICT (id) DO NOTHING",
               &p, 0, NULL, err);
}

static int pg_signing_rotate(void *db, const fg_sealed_seed *next, int64_t version, fg_error *err)
{
    PGresult *r;
    params p = {0};
    int rc, rotated;
    param_bytes(&p, next->nonce, sizeof next->nonce);
    param_bytes(&p, next->ciphertext, sizeof next->ciphertext);
    param_int(&p, fg_now());
    param_int(&p, version);
    rc = run(db, "rotate the signing keys",
             "UPDATE signing_keys SET previous_nonce = current_nonce, "
             "previous_sealed = current_sealed, current_nonce = $1, current_sealed = $2, "
             "version = version + 1, rotated_at = $3 WHERE id = 1 AND version = $4",
             &p, 0, &r, err);
    if (rc != FG_OK) return rc;
    rotated = atoi(PQcmdTuples(r));
    PQclear(r);
    if (!rotated)
        return fg_fail(err, FG_STORE_EUSED, "another rotation of the signing keys came first");
    /* Every server's follower wakes up and reloads the keys. */
    return run(db, "notify", "NOTIFY " CHANNEL, NULL, 0, NULL, err);
}

/* --- OpenID Connect clients and codes ------------------------------------------------------- */

#define CLIENT_COLUMNS "id, name, secret_hash, redirect_uris, created_at"
#define CODE_COLUMNS                                                                               \
    "code_hash, client_id, user_id, redirect_uri, code_challenge, nonce, scope, amr, auth_time, "  \
    "expires_at"

static void read_client(const PGresult *r, int row, void *out)
{
    fg_oidc_client *c = out;
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, row, 0));
    snprintf(c->name, sizeof c->name, "%s", PQgetvalue(r, row, 1));
    snprintf(c->secret_hash, sizeof c->secret_hash, "%s", PQgetvalue(r, row, 2));
    fg_redirects_split(PQgetvalue(r, row, 3), c);
    c->created_at = get_int(r, row, 4);
}

static int pg_client_insert(void *db, const fg_oidc_client *c, fg_error *err)
{
    char uris[FG_REDIRECTS_TEXT_MAX];
    params p = {0};
    int rc;
    fg_redirects_join(c, uris);
    param_text(&p, c->id);
    param_text(&p, c->name);
    param_text(&p, c->secret_hash);
    param_text(&p, uris);
    param_int(&p, c->created_at);
    rc = run(db, "insert client",
             "INSERT INTO oidc_clients (" CLIENT_COLUMNS ") VALUES ($1, $2, $3, $4, $5)", &p, 0,
             NULL, err);
    if (rc == FG_STORE_EEXIST)
        return fg_fail(err, FG_STORE_EEXIST, "client id \"%s\" is taken", c->id);
    return rc;
}

static int pg_client_find(void *db, const char *id, fg_oidc_client *client, fg_error *err)
{
    params p = {0};
    param_text(&p, id);
    return find_row(db, "client", "SELECT " CLIENT_COLUMNS " FROM oidc_clients WHERE id = $1", &p,
                    read_client, client, err);
}

static int pg_client_list(void *db, fg_oidc_client **clients, size_t *count, fg_error *err)
{
    return list_rows(db, "list clients", "SELECT " CLIENT_COLUMNS " FROM oidc_clients ORDER BY id",
                     NULL, sizeof **clients, read_client, (void **)clients, count, err);
}

static int pg_client_delete(void *db, const char *id, fg_error *err)
{
    PGresult *r;
    params p = {0};
    int rc, deleted;
    param_text(&p, id);
    rc = run(db, "delete client", "DELETE FROM oidc_clients WHERE id = $1", &p, 0, &r, err);
    if (rc != FG_OK) return rc;
    deleted = atoi(PQcmdTuples(r));
    PQclear(r);
    return deleted ? FG_OK : fg_fail(err, FG_STORE_ENOTFOUND, "no such client");
}

static int pg_code_insert(void *db, const fg_oidc_code *c, int64_t now, fg_error *err)
{
    params p = {0};
    int rc;
    param_int(&p, now - FG_CODE_KEEP_S);
    rc = run(db, "prune codes", "DELETE FROM oidc_codes WHERE expires_at < $1", &p, 0, NULL, err);
    if (rc != FG_OK) return rc;
    p.n = 0;
    param_text(&p, c->code_hash);
    param_text(&p, c->client_id);
    param_int(&p, c->user_id);
    param_text(&p, c->redirect_uri);
    param_text(&p, c->code_challenge);
    param_text(&p, c->nonce);
    param_text(&p, c->scope);
    param_text(&p, c->amr);
    param_int(&p, c->auth_time);
    param_int(&p, c->expires_at);
    return run(db, "insert code",
               "INSERT INTO oidc_codes (" CODE_COLUMNS ") "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
               &p, 0, NULL, err);
}

static void read_code(const PGresult *r, fg_oidc_code *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->code_hash, sizeof c->code_hash, "%s", PQgetvalue(r, 0, 0));
    snprintf(c->client_id, sizeof c->client_id, "%s", PQgetvalue(r, 0, 1));
    c->user_id = get_int(r, 0, 2);
    snprintf(c->redirect_uri, sizeof c->redirect_uri, "%s", PQgetvalue(r, 0, 3));
    snprintf(c->code_challenge, sizeof c->code_challenge, "%s", PQgetvalue(r, 0, 4));
    snprintf(c->nonce, sizeof c->nonce, "%s", PQgetvalue(r, 0, 5));
    snprintf(c->scope, sizeof c->scope, "%s", PQgetvalue(r, 0, 6));
    snprintf(c->amr, sizeof c->amr, "%s", PQgetvalue(r, 0, 7));
    c->auth_time = get_int(r, 0, 8);
    c->expires_at = get_int(r, 0, 9);
}

/* One UPDATE marks the code used if it was not: two servers cannot both redeem it. */
static int pg_code_consume(void *db, const char *code_hash, fg_oidc_code *code, fg_error *err)
{
    PGresult *r;
    params p = {0};
    int rc;
    param_text(&p, code_hash);
    rc = run(db, "use code",
             "UPDATE oidc_codes SET used = true WHERE code_hash = $1 AND NOT used "
             "RETURNING " CODE_COLUMNS,
             &p, 0, &r, err);
    if (rc != FG_OK) return rc;
    if (PQntuples(r) == 1) {
        read_code(r, code);
        PQclear(r);
        return FG_OK;
    }
    PQclear(r);
    rc = run(db, "find code", "SELECT " CODE_COLUMNS " FROM oidc_codes WHERE code_hash = $1", &p, 0,
             &r, err);
    if (rc != FG_OK) return rc;
    if (PQntuples(r) == 0) {
        rc = fg_fail(err, FG_STORE_ENOTFOUND, "no such authorization code");
    } else {
        read_code(r, code);
        rc = fg_fail(err, FG_STORE_EUSED, "the authorization code was used before");
    }
    PQclear(r);
    return rc;
}

const fg_store_backend fg_store_postgres = {
    .name = "postgres",
    .shared = 1,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .user_insert = pg_user_insert,
    .template_insert = pg_template_insert,
    .user_delete = pg_user_delete,
    .import = pg_import,
    .user_find = pg_user_find,
    .user_find_uid = pg_user_find_uid,
    .user_list = pg_user_list,
    .user_count = pg_user_count,
    .template_each = pg_template_each,
    .changes = pg_changes,
    .wait = pg_wait,
    .audit_insert = pg_audit_insert,
    .audit_list = pg_audit_list,
    .audit_prune = pg_audit_prune,
    .session_revoke = pg_session_revoke,
    .session_revoked = pg_session_revoked,
    .client_insert = pg_client_insert,
    .client_find = pg_client_find,
    .client_list = pg_client_list,
    .client_delete = pg_client_delete,
    .code_insert = pg_code_insert,
    .code_consume = pg_code_consume,
    .limits_update = pg_limits_update,
    .signing_get = pg_signing_get,
    .signing_insert = pg_signing_insert,
    .signing_rotate = pg_signing_rotate,
    .template_reseal = NULL, /* every server holds the key: see fg_store_rekey */
    .backup = NULL,          /* pg_dump and base backups */
    .restore = NULL,
};
