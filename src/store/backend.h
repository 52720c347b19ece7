/*
 * backend.h - what a store backend implements (internal to src/store).
 *
 * A backend moves rows and sealed blobs; it never sees plaintext descriptors or the key.
 * The front (store.c) holds a mutex around every call but `wait`, so a backend needs no locking
 * of its own. All SQL of a backend lives in its one file, with its schema migrations.
 */
#ifndef FG_STORE_BACKEND_H
#define FG_STORE_BACKEND_H

#include <sodium.h>

#include "core/error.h" /* fg_fail */
#include "store/store.h"

#define FG_SEALED_PLAIN_BYTES (FG_DESCRIPTOR_DIM * 4) /* little-endian float32 */
#define FG_SEALED_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define FG_SEALED_BYTES (FG_SEALED_PLAIN_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* A username's look-alike key in SQL (SQLite and PostgreSQL alike): lower-cased, without . _ -,
 * 0 read as o, 1 and i as l. Backends index it and refuse a new name whose key is taken. */
#define FG_USERNAME_KEY_SQL(x)                                                                     \
    "replace(replace(replace(lower(replace(replace(replace(" x ", '.', ''), '_', ''), '-', '')), " \
    "'0', 'o'), '1', 'l'), 'i', 'l')"

/* An encrypted template as stored, with what made it (in the clear: not biometric). */
typedef struct fg_sealed_template {
    uint8_t nonce[FG_SEALED_NONCE_BYTES];
    uint8_t ciphertext[FG_SEALED_BYTES];
    char recognizer[FG_TEMPLATE_KIND_MAX + 1];
    char alignment[FG_TEMPLATE_KIND_MAX + 1];
} fg_sealed_template;

/* A sealed signing seed, and the set of them as stored. */
typedef struct fg_sealed_seed {
    uint8_t nonce[FG_SEALED_NONCE_BYTES];
    uint8_t ciphertext[32 + crypto_aead_xchacha20poly1305_ietf_ABYTES];
} fg_sealed_seed;
typedef struct fg_sealed_keyset {
    fg_sealed_seed current, previous;
    int has_previous;
    int64_t version;
} fg_sealed_keyset;

/* Called per template (kind FG_STORE_CHANGE_ADD, with the owner's username, the AAD, and the
 * sealed blob) or per deleted user (FG_STORE_CHANGE_DELETE, username NULL, sealed NULL). For
 * template_reseal the function replaces *sealed in place. */
typedef int (*fg_sealed_fn)(void *ctx, int kind, int64_t user_id, int64_t template_id,
                            const char *username, fg_sealed_template *sealed);

typedef struct fg_store_backend {
    const char *name;
    int shared; /* several servers may use one database */
    /* location: the URL for PostgreSQL; SQLite uses data_dir. */
    int (*open)(const char *location, const char *data_dir, void **db, fg_error *err);
    void (*close)(void *db);

    /* A write transaction, serialised with every other writer of users and templates on every
     * server. The three writes below run inside one and append to the change log. */
    int (*begin)(void *db, fg_error *err);
    int (*commit)(void *db, fg_error *err);
    void (*rollback)(void *db);
    /* The user row; uid: the account id the front generated, FG_STORE_UID_LEN hex digits,
     * stored unique. FG_STORE_EEXIST when the name, or its FG_USERNAME_KEY_SQL, is taken. */
    int (*user_insert)(void *db, const char *uid, const char *username, const char *display_name,
                       int64_t created_at, int64_t *user_id, fg_error *err);
    int (*template_insert)(void *db, int64_t user_id, int64_t created_at,
                           const fg_sealed_template *sealed, int64_t *template_id, fg_error *err);
    /* The user (FG_STORE_ENOTFOUND if absent), its templates, and its name in its audit rows,
     * replaced by "deleted-" + the first 8 digits of its uid, their client address cleared. */
    int (*user_delete)(void *db, int64_t id, fg_error *err);
    /* Many users (uids[i], usernames[i]) with one template each, inside a write transaction
     * (NULL: the front inserts them one by one with the two calls above). */
    int (*import)(void *db, const char *const *uids, const char *const *usernames,
                  const fg_sealed_template *sealed, size_t n, int64_t created_at, fg_error *err);

    /* By username when username != NULL, else by id. */
    int (*user_find)(void *db, const char *username, int64_t id, fg_store_user *user,
                     fg_error *err);
    /* By account id (fg_store_user.uid). */
    int (*user_find_uid)(void *db, const char *uid, fg_store_user *user, fg_error *err);
    int (*user_list)(void *db, fg_store_user **users, size_t *count, fg_error *err);
    int (*user_count)(void *db, size_t *count, fg_error *err);
    /* Every template (SQLite: in id order; PostgreSQL: in storage order), and in *last_change
     * the change log's last entry, from one snapshot. */
    int (*template_each)(void *db, fg_sealed_fn fn, void *ctx, int64_t *last_change, fg_error *err);
    /* The change log after `after`, in order; *last set to the last entry delivered. An ADD whose
     * template is gone since is skipped (its deletion follows). */
    int (*changes)(void *db, int64_t after, fg_sealed_fn fn, void *ctx, int64_t *last,
                   fg_error *err);
    /* Waits for another server's change (NULL: nobody else writes). Called without the front's
     * mutex, by one thread: it uses a connection of its own. */
    int (*wait)(void *db, int timeout_ms, fg_error *err);

    int (*audit_insert)(void *db, const fg_audit_event *event, fg_error *err);
    int (*audit_list)(void *db, size_t limit, fg_audit_event **events, size_t *count,
                      fg_error *err);
    /* Deletes the audit rows older than `before` (unix seconds). */
    int (*audit_prune)(void *db, int64_t before, fg_error *err);
    int (*session_revoke)(void *db, const char *jti, int64_t expires, int64_t now, fg_error *err);
    int (*session_revoked)(void *db, const char *jti, int64_t now, int *revoked, fg_error *err);

    /* OpenID Connect clients and codes (see store.h). */
    int (*client_insert)(void *db, const fg_oidc_client *client, fg_error *err);
    int (*client_find)(void *db, const char *id, fg_oidc_client *client, fg_error *err);
    int (*client_list)(void *db, fg_oidc_client **clients, size_t *count, fg_error *err);
    int (*client_delete)(void *db, const char *id, fg_error *err);
    int (*code_insert)(void *db, const fg_oidc_code *code, int64_t now, fg_error *err);
    int (*code_consume)(void *db, const char *code_hash, fg_oidc_code *code, fg_error *err);

    /* The failed-attempt limits (store.h, fg_store_limits_update); NULL: not shared. */
    int (*limits_update)(void *db, const char *const *keys, size_t n, fg_limit_fn fn, void *ctx,
                         fg_error *err);
    /* The sealed signing keys: FG_STORE_ENOTFOUND when none; insert does nothing if there are
     * some; rotate moves current to previous and sets next if the version is still `version`
     * (else FG_STORE_EUSED), and notifies every server. NULL: keys are files (SQLite). */
    int (*signing_get)(void *db, fg_sealed_keyset *keys, fg_error *err);
    int (*signing_insert)(void *db, const fg_sealed_keyset *keys, fg_error *err);
    int (*signing_rotate)(void *db, const fg_sealed_seed *next, int64_t version, fg_error *err);

    /* Rewrites every template in one transaction: fn re-seals each (in place). */
    int (*template_reseal)(void *db, fg_sealed_fn fn, void *ctx, fg_error *err);
    /* Online copy of the database into the new file dest (NULL: the database's own tools do it,
     * e.g. pg_dump for PostgreSQL). */
    int (*backup)(void *db, const char *dest, fg_error *err);
    /* Copies a backup into a data dir without a database (no open store needed). */
    int (*restore)(const char *src, const char *data_dir, fg_error *err);
} fg_store_backend;

/* A client's redirect URIs as stored: one per line (a URI holds no raw newline). */
#define FG_REDIRECTS_TEXT_MAX (FG_CLIENT_MAX_REDIRECTS * (FG_REDIRECT_URI_MAX + 1) + 1)
void fg_redirects_join(const fg_oidc_client *client, char text[FG_REDIRECTS_TEXT_MAX]);
void fg_redirects_split(const char *text, fg_oidc_client *client);

/* Used authorization codes stay this long past their expiry so a replay is recognised. */
#define FG_CODE_KEEP_S 600

extern const fg_store_backend fg_store_sqlite;
extern const fg_store_backend fg_store_postgres;

#endif
