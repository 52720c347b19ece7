/*
 * backend.h - what a store backend implements (internal to src/store).
 *
 * A backend moves rows and sealed blobs; it never sees plaintext descriptors or the key.
 * The front (store.c) holds a mutex around every call, so a backend needs no locking of its
 * own. All SQL of a backend lives in its one file, with its schema migrations.
 */
#ifndef FG_STORE_BACKEND_H
#define FG_STORE_BACKEND_H

#include <sodium.h>

#include "image/error.h" /* fg_fail */
#include "store/store.h"

#define FG_SEALED_PLAIN_BYTES (FG_DESCRIPTOR_DIM * 4) /* little-endian float32 */
#define FG_SEALED_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define FG_SEALED_BYTES (FG_SEALED_PLAIN_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

/* An encrypted template as stored. */
typedef struct fg_sealed_template {
    uint8_t nonce[FG_SEALED_NONCE_BYTES];
    uint8_t ciphertext[FG_SEALED_BYTES];
} fg_sealed_template;

/* Called per stored template by template_each; username is the owner's (the AAD). For
 * template_reseal the function replaces *sealed in place. */
typedef int (*fg_sealed_fn)(void *ctx, int64_t template_id, int64_t user_id, const char *username,
                            fg_sealed_template *sealed);

typedef struct fg_store_backend {
    const char *name;
    int (*open)(const char *data_dir, void **db, fg_error *err);
    void (*close)(void *db);
    /* Inserts the user row then its n templates in one transaction. */
    /* Inserts the user row (uid: the account id the front generated, FG_STORE_UID_LEN hex
     * digits, stored unique) then its n templates in one transaction. */
    int (*user_insert)(void *db, const char *uid, const char *username, const char *display_name,
                       int64_t created_at, const fg_sealed_template *templates, size_t n,
                       int64_t *user_id, int64_t *template_ids, fg_error *err);
    /* By username when username != NULL, else by id. */
    int (*user_find)(void *db, const char *username, int64_t id, fg_store_user *user,
                     fg_error *err);
    /* By account id (fg_store_user.uid). */
    int (*user_find_uid)(void *db, const char *uid, fg_store_user *user, fg_error *err);
    int (*user_delete)(void *db, int64_t id, fg_error *err);
    int (*user_list)(void *db, fg_store_user **users, size_t *count, fg_error *err);
    int (*user_count)(void *db, size_t *count, fg_error *err);
    int (*template_insert)(void *db, int64_t user_id, int64_t created_at,
                           const fg_sealed_template *sealed, int64_t *template_id, fg_error *err);
    int (*template_each)(void *db, fg_sealed_fn fn, void *ctx, fg_error *err);
    int (*audit_insert)(void *db, const fg_audit_event *event, fg_error *err);
    int (*audit_list)(void *db, size_t limit, fg_audit_event **events, size_t *count,
                      fg_error *err);
    int (*session_revoke)(void *db, const char *jti, int64_t expires, int64_t now, fg_error *err);
    int (*session_revoked)(void *db, const char *jti, int64_t now, int *revoked, fg_error *err);

    /* OpenID Connect clients and codes (see store.h). */
    int (*client_insert)(void *db, const fg_oidc_client *client, fg_error *err);
    int (*client_find)(void *db, const char *id, fg_oidc_client *client, fg_error *err);
    int (*client_list)(void *db, fg_oidc_client **clients, size_t *count, fg_error *err);
    int (*client_delete)(void *db, const char *id, fg_error *err);
    int (*code_insert)(void *db, const fg_oidc_code *code, int64_t now, fg_error *err);
    int (*code_consume)(void *db, const char *code_hash, fg_oidc_code *code, fg_error *err);

    /* Rewrites every template in one transaction: fn re-seals each (in place). */
    int (*template_reseal)(void *db, fg_sealed_fn fn, void *ctx, fg_error *err);
    /* Online copy of the database into the new file dest. */
    int (*backup)(void *db, const char *dest, fg_error *err);
    /* Copies a backup into a data dir without a database (no open store needed). */
    int (*restore)(const char *src, const char *data_dir, fg_error *err);
} fg_store_backend;

extern const fg_store_backend fg_store_sqlite;

#endif
