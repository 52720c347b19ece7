/*
 * store.c - the store front: validation, descriptor encryption, locking, backend dispatch.
 */
#include "core/clock.h"
#include "store/backend.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fg_store {
    const fg_store_backend *backend;
    void *db;
    pthread_mutex_t lock;
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    /* the follower of the change feed, and the last change delivered to it */
    fg_store_change_fn follower;
    void *follower_ctx;
    int64_t last_change;
    /* the kind of template this store's caller compares, and how many others were left out */
    char recognizer[FG_TEMPLATE_KIND_MAX + 1], alignment[FG_TEMPLATE_KIND_MAX + 1];
    size_t skipped;
};

static const char AAD_PREFIX[] = "facegate/template/v1/";

/* "sqlite" (or NULL) and PostgreSQL URLs; NULL for anything else. */
static const fg_store_backend *find_backend(const char *location)
{
    if (!location || strcmp(location, "sqlite") == 0) return &fg_store_sqlite;
    if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0)
        return &fg_store_postgres;
    return NULL;
}

int fg_store_open(const char *location, const char *data_dir, fg_store **out, int *key_created,
                  fg_error *err)
{
    const fg_store_backend *be = find_backend(location);
    char key_path[4096];
    fg_store *store;
    int rc;

    *out = NULL;
    if (key_created) *key_created = 0;
    if (sodium_init() < 0) return fg_fail(err, FG_ENOMEM, "libsodium failed to start");
    if (!be)
        return fg_fail(err, FG_EINVAL,
                       "unknown store \"%.64s\": use sqlite or a postgres://... URL", location);
    if ((size_t)snprintf(key_path, sizeof key_path, "%s/%s", data_dir, FG_STORE_KEY_FILE) >=
        sizeof key_path)
        return fg_fail(err, FG_EINVAL, "data directory path is too long");

    store = calloc(1, sizeof *store);
    if (!store) return fg_fail(err, FG_ENOMEM, "out of memory opening the store");
    pthread_mutex_init(&store->lock, NULL);
    store->backend = be;
    snprintf(store->recognizer, sizeof store->recognizer, FG_TEMPLATE_RECOGNIZER_DEFAULT);
    snprintf(store->alignment, sizeof store->alignment, FG_TEMPLATE_ALIGNMENT_DEFAULT);
    rc = fg_keyfile_load(key_path, store->key, sizeof store->key, key_created, err);
    if (rc != FG_OK) goto fail;
    rc = be->open(location, data_dir, &store->db, err);
    if (rc != FG_OK) goto fail;
    *out = store;
    return FG_OK;
fail:
    sodium_memzero(store->key, sizeof store->key);
    pthread_mutex_destroy(&store->lock);
    free(store);
    return rc;
}

void fg_store_close(fg_store *store)
{
    if (!store) return;
    store->backend->close(store->db);
    sodium_memzero(store->key, sizeof store->key);
    pthread_mutex_destroy(&store->lock);
    free(store);
}

const char *fg_store_backend_name(const fg_store *store)
{
    return store->backend->name;
}

int fg_store_is_shared(const fg_store *store)
{
    return store->backend->shared;
}

int fg_store_username_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    int only_dots = 1;
    if (n < FG_USERNAME_MIN || n > FG_USERNAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok) return 0;
        if (c != '.') only_dots = 0;
    }
    return !only_dots;
}

static int is_separator(char c)
{
    return c == '.' || c == '_' || c == '-';
}

int fg_store_username_allowed(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!fg_store_username_valid(name) || is_separator(name[0]) || is_separator(name[n - 1]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (is_separator(name[i]) && is_separator(name[i - 1])) return 0;
    return 1;
}

/* Display names: valid UTF-8 is the server's job; here only length and no control bytes. */
static int display_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n > FG_DISPLAY_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) return 0;
    return 1;
}

/* Associated data binding a template to its owner's username. */
static size_t make_aad(const char *username, uint8_t *aad, size_t cap)
{
    size_t p = sizeof AAD_PREFIX - 1, u = strlen(username);
    if (p + u > cap) u = cap - p;
    memcpy(aad, AAD_PREFIX, p);
    memcpy(aad + p, username, u);
    return p + u;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int seal(const uint8_t *key, const char *username, const float descriptor[FG_DESCRIPTOR_DIM],
                fg_sealed_template *out, fg_error *err)
{
    uint8_t plain[FG_SEALED_PLAIN_BYTES], aad[sizeof AAD_PREFIX + FG_USERNAME_MAX];
    size_t aad_len = make_aad(username, aad, sizeof aad);
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        uint32_t bits;
        if (!isfinite(descriptor[i]))
            return fg_fail(err, FG_EINVAL, "descriptor value %d is not finite", i);
        memcpy(&bits, &descriptor[i], 4);
        put_le32(plain + 4 * i, bits);
    }
    randombytes_buf(out->nonce, sizeof out->nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out->ciphertext, NULL, plain, sizeof plain, aad,
                                               aad_len, NULL, out->nonce, key);
    sodium_memzero(plain, sizeof plain);
    return FG_OK;
}

/* Records the store's template kind in a sealed template. */
static void stamp(const fg_store *store, fg_sealed_template *sealed)
{
    snprintf(sealed->recognizer, sizeof sealed->recognizer, "%s", store->recognizer);
    snprintf(sealed->alignment, sizeof sealed->alignment, "%s", store->alignment);
}

static int unseal(const uint8_t *key, const char *username, const fg_sealed_template *in,
                  float descriptor[FG_DESCRIPTOR_DIM])
{
    uint8_t plain[FG_SEALED_PLAIN_BYTES], aad[sizeof AAD_PREFIX + FG_USERNAME_MAX];
    size_t aad_len = make_aad(username, aad, sizeof aad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, in->ciphertext,
                                                   sizeof in->ciphertext, aad, aad_len, in->nonce,
                                                   key) != 0)
        return FG_STORE_ECRYPTO;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++) {
        uint32_t bits = get_le32(plain + 4 * i);
        memcpy(&descriptor[i], &bits, 4);
    }
    sodium_memzero(plain, sizeof plain);
    return FG_OK;
}

/* 128 random bits as hex: an account id nobody can guess or have had before. */
static void random_uid(char out[FG_STORE_UID_LEN + 1])
{
    uint8_t bytes[FG_STORE_UID_LEN / 2];
    randombytes_buf(bytes, sizeof bytes);
    sodium_bin2hex(out, FG_STORE_UID_LEN + 1, bytes, sizeof bytes);
}

/* --- the change feed ----------------------------------------------------------------------- */

typedef struct unseal_walk {
    fg_store *store;
    fg_store_change_fn fn;
    void *ctx;
    int64_t bad_template;
} unseal_walk;

static int unseal_one(void *ctx, int kind, int64_t user_id, int64_t template_id,
                      const char *username, fg_sealed_template *sealed)
{
    unseal_walk *walk = ctx;
    float descriptor[FG_DESCRIPTOR_DIM];
    int rc;
    if (kind != FG_STORE_CHANGE_ADD) return walk->fn(walk->ctx, kind, user_id, template_id, NULL);
    if (strcmp(sealed->recognizer, walk->store->recognizer) ||
        strcmp(sealed->alignment, walk->store->alignment)) {
        walk->store->skipped++;
        return FG_OK;
    }
    if (unseal(walk->store->key, username, sealed, descriptor) != FG_OK) {
        walk->bad_template = template_id;
        return FG_STORE_ECRYPTO;
    }
    rc = walk->fn(walk->ctx, kind, user_id, template_id, descriptor);
    sodium_memzero(descriptor, sizeof descriptor);
    return rc;
}

static int crypto_failed(const unseal_walk *walk, int rc, fg_error *err)
{
    if (rc == FG_STORE_ECRYPTO)
        return fg_fail(err, rc, "template %lld does not decrypt: wrong %s or a tampered row",
                       (long long)walk->bad_template, FG_STORE_KEY_FILE);
    return rc;
}

/* Delivers the changes since the last delivery. Caller holds the lock. */
static int sync_locked(fg_store *store, fg_error *err)
{
    unseal_walk walk = {store, store->follower, store->follower_ctx, 0};
    if (!store->follower) return FG_OK;
    return crypto_failed(&walk,
                         store->backend->changes(store->db, store->last_change, unseal_one, &walk,
                                                 &store->last_change, err),
                         err);
}

int fg_store_set_kind(fg_store *store, const char *recognizer, const char *alignment, fg_error *err)
{
    if (!recognizer || !alignment || !*recognizer || !*alignment ||
        strlen(recognizer) > FG_TEMPLATE_KIND_MAX || strlen(alignment) > FG_TEMPLATE_KIND_MAX)
        return fg_fail(err, FG_EINVAL, "a template kind is 1 to %d characters",
                       FG_TEMPLATE_KIND_MAX);
    pthread_mutex_lock(&store->lock);
    snprintf(store->recognizer, sizeof store->recognizer, "%s", recognizer);
    snprintf(store->alignment, sizeof store->alignment, "%s", alignment);
    pthread_mutex_unlock(&store->lock);
    return FG_OK;
}

size_t fg_store_skipped_templates(fg_store *store)
{
    size_t n;
    pthread_mutex_lock(&store->lock);
    n = store->skipped;
    pthread_mutex_unlock(&store->lock);
    return n;
}

int fg_store_follow(fg_store *store, fg_store_change_fn fn, void *ctx, fg_error *err)
{
    unseal_walk walk = {store, fn, ctx, 0};
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->template_each(store->db, unseal_one, &walk, &store->last_change, err);
    if (rc == FG_OK) {
        store->follower = fn;
        store->follower_ctx = ctx;
    }
    pthread_mutex_unlock(&store->lock);
    return crypto_failed(&walk, rc, err);
}

int fg_store_sync(fg_store *store, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = sync_locked(store, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_wait(fg_store *store, int timeout_ms, fg_error *err)
{
    if (!store->backend->wait)
        return fg_fail(err, FG_STORE_ENOTSUP, "the %s store has no other writers to wait for",
                       store->backend->name);
    return store->backend->wait(store->db, timeout_ms, err);
}

/* --- writes --------------------------------------------------------------------------------- */

/* One write: the cross-server lock, the feed caught up, the guard, the write, the commit, and
 * the feed again (so the caller's own change is in the matcher when this returns). */
typedef int (*write_fn)(fg_store *store, void *args, fg_error *err);

static int write_locked(fg_store *store, fg_store_guard_fn guard, void *guard_ctx, write_fn fn,
                        void *args, fg_error *err)
{
    int rc = store->backend->begin(store->db, err);
    if (rc != FG_OK) return rc;
    if ((rc = sync_locked(store, err)) != FG_OK) goto fail;
    if (guard && (rc = guard(guard_ctx)) != 0) goto fail;
    if ((rc = fn(store, args, err)) != FG_OK) goto fail;
    if ((rc = store->backend->commit(store->db, err)) != FG_OK) goto fail;
    /* Committed: a failure to deliver now is caught up by the next sync. */
    if (sync_locked(store, NULL) != FG_OK)
        fprintf(stderr, "facegate: store: change feed behind; the next sync catches up\n");
    return FG_OK;
fail:
    store->backend->rollback(store->db);
    return rc;
}

typedef struct create_args {
    const char *uid, *username, *display_name;
    const fg_sealed_template *sealed;
    size_t n;
    int64_t user_id, *template_ids;
} create_args;

static int create_user(fg_store *store, void *args, fg_error *err)
{
    create_args *a = args;
    int64_t now = fg_now();
    int rc = store->backend->user_insert(store->db, a->uid, a->username, a->display_name, now,
                                         &a->user_id, err);
    for (size_t i = 0; i < a->n && rc == FG_OK; i++)
        rc = store->backend->template_insert(store->db, a->user_id, now, &a->sealed[i],
                                             a->template_ids ? &a->template_ids[i] : NULL, err);
    return rc;
}

int fg_store_user_create(fg_store *store, const char *username, const char *display_name,
                         const float (*descriptors)[FG_DESCRIPTOR_DIM], size_t n,
                         fg_store_guard_fn guard, void *guard_ctx, fg_store_user *user,
                         int64_t *template_ids, fg_error *err)
{
    fg_sealed_template *sealed;
    char uid[FG_STORE_UID_LEN + 1];
    create_args args;
    int rc = FG_OK;

    if (!fg_store_username_allowed(username)) return fg_fail(err, FG_EINVAL, "invalid username");
    if (!display_name) display_name = "";
    if (!display_name_valid(display_name))
        return fg_fail(err, FG_EINVAL,
                       "display name is longer than %d bytes or holds "
                       "control characters",
                       FG_DISPLAY_NAME_MAX);
    if (n == 0) return fg_fail(err, FG_EINVAL, "a user needs at least one template");
    sealed = calloc(n, sizeof *sealed);
    if (!sealed) return fg_fail(err, FG_ENOMEM, "out of memory sealing templates");
    for (size_t i = 0; i < n && rc == FG_OK; i++) {
        rc = seal(store->key, username, descriptors[i], &sealed[i], err);
        stamp(store, &sealed[i]);
    }
    random_uid(uid);
    args = (create_args){uid, username, display_name, sealed, n, 0, template_ids};
    if (rc == FG_OK) {
        pthread_mutex_lock(&store->lock);
        rc = write_locked(store, guard, guard_ctx, create_user, &args, err);
        if (rc == FG_OK && user)
            rc = store->backend->user_find(store->db, NULL, args.user_id, user, err);
        pthread_mutex_unlock(&store->lock);
    }
    free(sealed);
    return rc;
}

typedef struct import_args {
    const char *const *usernames;
    const fg_sealed_template *sealed;
    size_t n;
    char (*uids)[FG_STORE_UID_LEN + 1];
} import_args;

static int import_users(fg_store *store, void *args, fg_error *err)
{
    import_args *a = args;
    const char **uids = malloc((a->n ? a->n : 1) * sizeof *uids);
    int64_t now = fg_now(), user_id;
    int rc = FG_OK;
    if (!uids) return fg_fail(err, FG_ENOMEM, "out of memory importing users");
    for (size_t i = 0; i < a->n; i++)
        uids[i] = a->uids[i];
    if (store->backend->import)
        rc = store->backend->import(store->db, uids, a->usernames, a->sealed, a->n, now, err);
    for (size_t i = 0; !store->backend->import && i < a->n && rc == FG_OK; i++) {
        rc = store->backend->user_insert(store->db, uids[i], a->usernames[i], a->usernames[i], now,
                                         &user_id, err);
        if (rc == FG_OK)
            rc = store->backend->template_insert(store->db, user_id, now, &a->sealed[i], NULL, err);
    }
    free(uids);
    return rc;
}

int fg_store_import(fg_store *store, const char *const *usernames,
                    const float (*descriptors)[FG_DESCRIPTOR_DIM], size_t n, fg_error *err)
{
    fg_sealed_template *sealed = calloc(n ? n : 1, sizeof *sealed);
    char(*uids)[FG_STORE_UID_LEN + 1] = calloc(n ? n : 1, sizeof *uids);
    import_args args = {usernames, sealed, n, uids};
    int rc = FG_OK;
    if (!sealed || !uids) {
        free(sealed);
        free(uids);
        return fg_fail(err, FG_ENOMEM, "out of memory sealing %zu templates", n);
    }
    for (size_t i = 0; i < n && rc == FG_OK; i++) {
        random_uid(uids[i]);
        if (!fg_store_username_valid(usernames[i]))
            rc = fg_fail(err, FG_EINVAL, "invalid username at row %zu", i);
        else
            rc = seal(store->key, usernames[i], descriptors[i], &sealed[i], err);
        stamp(store, &sealed[i]);
    }
    if (rc == FG_OK) {
        pthread_mutex_lock(&store->lock);
        rc = write_locked(store, NULL, NULL, import_users, &args, err);
        pthread_mutex_unlock(&store->lock);
    }
    free(sealed);
    free(uids);
    return rc;
}

int fg_store_user_get(fg_store *store, const char *username, fg_store_user *user, fg_error *err)
{
    int rc;
    if (!username) return fg_fail(err, FG_EINVAL, "no username");
    pthread_mutex_lock(&store->lock);
    rc = store->backend->user_find(store->db, username, 0, user, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_user_get_id(fg_store *store, int64_t id, fg_store_user *user, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->user_find(store->db, NULL, id, user, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_user_get_uid(fg_store *store, const char *uid, fg_store_user *user, fg_error *err)
{
    int rc;
    if (!uid || strlen(uid) != FG_STORE_UID_LEN)
        return fg_fail(err, FG_STORE_ENOTFOUND, "no such user");
    pthread_mutex_lock(&store->lock);
    rc = store->backend->user_find_uid(store->db, uid, user, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

static int delete_user(fg_store *store, void *args, fg_error *err)
{
    return store->backend->user_delete(store->db, *(int64_t *)args, err);
}

int fg_store_user_delete(fg_store *store, int64_t id, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = write_locked(store, NULL, NULL, delete_user, &id, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_user_list(fg_store *store, fg_store_user **users, size_t *count, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->user_list(store->db, users, count, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_user_count(fg_store *store, size_t *count, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->user_count(store->db, count, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

typedef struct add_args {
    int64_t user_id;
    const float *descriptor;
    size_t max_templates;
    int64_t *template_id;
} add_args;

/* Under the lock, so the owner (the AAD) cannot change between the look-up and the insert. */
static int add_template(fg_store *store, void *args, fg_error *err)
{
    add_args *a = args;
    fg_sealed_template sealed;
    fg_store_user user;
    int rc = store->backend->user_find(store->db, NULL, a->user_id, &user, err);
    if (rc == FG_OK && a->max_templates && (size_t)user.faces >= a->max_templates)
        return fg_fail(err, FG_STORE_EFULL, "the user holds %d templates already", user.faces);
    if (rc == FG_OK) rc = seal(store->key, user.username, a->descriptor, &sealed, err);
    stamp(store, &sealed);
    if (rc == FG_OK)
        rc = store->backend->template_insert(store->db, a->user_id, fg_now(), &sealed,
                                             a->template_id, err);
    return rc;
}

int fg_store_template_add(fg_store *store, int64_t user_id,
                          const float descriptor[FG_DESCRIPTOR_DIM], size_t max_templates,
                          fg_store_guard_fn guard, void *guard_ctx, int64_t *template_id,
                          fg_error *err)
{
    add_args args = {user_id, descriptor, max_templates, template_id};
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = write_locked(store, guard, guard_ctx, add_template, &args, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

typedef struct each_args {
    fg_store_template_fn fn;
    void *ctx;
} each_args;

static int each_template(void *ctx, int kind, int64_t user_id, int64_t template_id,
                         const float descriptor[FG_DESCRIPTOR_DIM])
{
    each_args *a = ctx;
    (void)kind;
    return a->fn(a->ctx, template_id, user_id, descriptor);
}

int fg_store_template_each(fg_store *store, fg_store_template_fn fn, void *ctx, fg_error *err)
{
    each_args args = {fn, ctx};
    unseal_walk walk = {store, each_template, &args, 0};
    int64_t last;
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->template_each(store->db, unseal_one, &walk, &last, err);
    pthread_mutex_unlock(&store->lock);
    return crypto_failed(&walk, rc, err);
}

int fg_store_audit_add(fg_store *store, const fg_audit_event *event, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->audit_insert(store->db, event, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_audit_list(fg_store *store, size_t limit, fg_audit_event **events, size_t *count,
                        fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->audit_list(store->db, limit, events, count, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_audit_prune(fg_store *store, int64_t before, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->audit_prune(store->db, before, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_session_revoke(fg_store *store, const char *jti, int64_t expires, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->session_revoke(store->db, jti, expires, fg_now(), err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

int fg_store_session_revoked(fg_store *store, const char *jti, int *revoked, fg_error *err)
{
    int rc;
    pthread_mutex_lock(&store->lock);
    rc = store->backend->session_revoked(store->db, jti, fg_now(), revoked, err);
    pthread_mutex_unlock(&store->lock);
    return rc;
}

void fg_redirects_join(const fg_oidc_client *c, char text[FG_REDIRECTS_TEXT_MAX])
{
    size_t len = 0;
    text[0] = 0;
    for (int i = 0; i < c->redirect_count; i++)
        len += (size_t)snprintf(text + len, FG_REDIRECTS_TEXT_MAX - len, "%s%s", i ? "\n" : "",
                                c->redirect_uris[i]);
}

void fg_redirects_split(const char *text, fg_oidc_client *c)
{
    while (text && *text && c->redirect_count < FG_CLIENT_MAX_REDIRECTS) {
        size_t n = strcspn(text, "\n");
        if (n > 0 && n <= FG_REDIRECT_URI_MAX)
            memcpy(c->redirect_uris[c->redirect_count++], text, n);
        text += n;
        if (*text) text++;
    }
}

/* Every call below is the backend's, under the front's lock. */
#define LOCKED(store, call)                                                                        \
    do {                                                                                           \
        int rc_;                                                                                   \
        pthread_mutex_lock(&(store)->lock);                                                        \
        rc_ = (call);                                                                              \
        pthread_mutex_unlock(&(store)->lock);                                                      \
        return rc_;                                                                                \
    } while (0)

int fg_store_client_add(fg_store *store, const fg_oidc_client *client, fg_error *err)
{
    if (!client->id[0] || client->redirect_count < 1 ||
        client->redirect_count > FG_CLIENT_MAX_REDIRECTS)
        return fg_fail(err, FG_EINVAL, "a client needs an id and 1 to %d redirect URIs",
                       FG_CLIENT_MAX_REDIRECTS);
    LOCKED(store, store->backend->client_insert(store->db, client, err));
}

int fg_store_client_get(fg_store *store, const char *id, fg_oidc_client *client, fg_error *err)
{
    if (!id || !*id || strlen(id) > FG_CLIENT_ID_MAX)
        return fg_fail(err, FG_STORE_ENOTFOUND, "no such client");
    LOCKED(store, store->backend->client_find(store->db, id, client, err));
}

int fg_store_client_list(fg_store *store, fg_oidc_client **clients, size_t *count, fg_error *err)
{
    LOCKED(store, store->backend->client_list(store->db, clients, count, err));
}

int fg_store_client_delete(fg_store *store, const char *id, fg_error *err)
{
    if (!id || !*id || strlen(id) > FG_CLIENT_ID_MAX)
        return fg_fail(err, FG_STORE_ENOTFOUND, "no such client");
    LOCKED(store, store->backend->client_delete(store->db, id, err));
}

int fg_store_code_add(fg_store *store, const fg_oidc_code *code, fg_error *err)
{
    LOCKED(store, store->backend->code_insert(store->db, code, fg_now(), err));
}

int fg_store_code_consume(fg_store *store, const char *code_hash, fg_oidc_code *code, fg_error *err)
{
    LOCKED(store, store->backend->code_consume(store->db, code_hash, code, err));
}

/* --- shared limits and signing keys ------------------------------------------------------- */

int fg_store_limits_update(fg_store *store, const char *const *keys, size_t n, fg_limit_fn fn,
                           void *ctx, fg_error *err)
{
    if (!store->backend->limits_update)
        return fg_fail(err, FG_STORE_ENOTSUP, "a %s store keeps no limits", store->backend->name);
    if (n < 1 || n > FG_LIMIT_KEYS)
        return fg_fail(err, FG_EINVAL, "1 to %d limit keys", FG_LIMIT_KEYS);
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) > FG_LIMIT_KEY_MAX)
            return fg_fail(err, FG_EINVAL, "a limit key is longer than %d bytes", FG_LIMIT_KEY_MAX);
    LOCKED(store, store->backend->limits_update(store->db, keys, n, fn, ctx, err));
}

static const char SIGNING_AAD[] = "facegate/signing-key/v1";

/* The seeds' key: derived from the descriptor key (one file to share), never the same key. */
static void signing_key(const fg_store *store, uint8_t key[crypto_kdf_KEYBYTES])
{
    crypto_kdf_derive_from_key(key, crypto_kdf_KEYBYTES, 1, "fgsignky", store->key);
}

static void seal_seed(const fg_store *store, const uint8_t seed[32], fg_sealed_seed *out)
{
    uint8_t key[crypto_kdf_KEYBYTES];
    signing_key(store, key);
    randombytes_buf(out->nonce, sizeof out->nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out->ciphertext, NULL, seed, 32,
                                               (const uint8_t *)SIGNING_AAD, sizeof SIGNING_AAD - 1,
                                               NULL, out->nonce, key);
    sodium_memzero(key, sizeof key);
}

static int unseal_seed(const fg_store *store, const fg_sealed_seed *in, uint8_t seed[32],
                       fg_error *err)
{
    uint8_t key[crypto_kdf_KEYBYTES];
    int bad;
    signing_key(store, key);
    bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
        seed, NULL, NULL, in->ciphertext, sizeof in->ciphertext, (const uint8_t *)SIGNING_AAD,
        sizeof SIGNING_AAD - 1, in->nonce, key);
    sodium_memzero(key, sizeof key);
    if (bad)
        return fg_fail(err, FG_STORE_ECRYPTO,
                       "the signing keys in the database do not decrypt: this data dir's %s is "
                       "not the other servers'",
                       FG_STORE_KEY_FILE);
    return FG_OK;
}

/* Reads and opens the keys. Caller holds the lock. */
static int signing_get_locked(fg_store *store, fg_signing_seeds *out, fg_error *err)
{
    fg_sealed_keyset sealed;
    int rc;
    memset(out, 0, sizeof *out);
    if (!store->backend->signing_get)
        return fg_fail(err, FG_STORE_ENOTSUP, "a %s store keeps no signing keys",
                       store->backend->name);
    if ((rc = store->backend->signing_get(store->db, &sealed, err)) != FG_OK) return rc;
    rc = unseal_seed(store, &sealed.current, out->current, err);
    if (rc == FG_OK && sealed.has_previous)
        rc = unseal_seed(store, &sealed.previous, out->previous, err);
    out->has_previous = sealed.has_previous;
    out->version = sealed.version;
    if (rc != FG_OK) sodium_memzero(out, sizeof *out);
    return rc;
}

int fg_store_signing_get(fg_store *store, fg_signing_seeds *out, fg_error *err)
{
    LOCKED(store, signing_get_locked(store, out, err));
}

static int signing_init_locked(fg_store *store, const fg_signing_seeds *seeds,
                               fg_signing_seeds *out, fg_error *err)
{
    fg_sealed_keyset sealed = {.has_previous = seeds->has_previous, .version = 1};
    int rc;
    if (!store->backend->signing_insert)
        return fg_fail(err, FG_STORE_ENOTSUP, "a %s store keeps no signing keys",
                       store->backend->name);
    seal_seed(store, seeds->current, &sealed.current);
    if (seeds->has_previous) seal_seed(store, seeds->previous, &sealed.previous);
    if ((rc = store->backend->signing_insert(store->db, &sealed, err)) != FG_OK) return rc;
    return signing_get_locked(store, out, err);
}

int fg_store_signing_init(fg_store *store, const fg_signing_seeds *seeds, fg_signing_seeds *out,
                          fg_error *err)
{
    LOCKED(store, signing_init_locked(store, seeds, out, err));
}

static int signing_rotate_locked(fg_store *store, const uint8_t new_seed[32], fg_signing_seeds *out,
                                 fg_error *err)
{
    fg_signing_seeds now;
    fg_sealed_seed next;
    int64_t version;
    int rc = signing_get_locked(store, &now, err); /* proves this data dir's key opens them */
    version = now.version;
    sodium_memzero(&now, sizeof now);
    if (rc != FG_OK) return rc;
    seal_seed(store, new_seed, &next);
    rc = store->backend->signing_rotate(store->db, &next, version, err);
    if (rc == FG_OK && out) rc = signing_get_locked(store, out, err);
    return rc;
}

int fg_store_signing_rotate(fg_store *store, const uint8_t new_seed[32], fg_signing_seeds *out,
                            fg_error *err)
{
    LOCKED(store, signing_rotate_locked(store, new_seed, out, err));
}

typedef struct reseal_walk {
    fg_store *store;
    const uint8_t *new_key;
    size_t count;
    int64_t bad_template;
} reseal_walk;

/* Opens a template with the store's key and seals it again under the new one. */
static int reseal_one(void *ctx, int kind, int64_t user_id, int64_t template_id,
                      const char *username, fg_sealed_template *sealed)
{
    reseal_walk *walk = ctx;
    float descriptor[FG_DESCRIPTOR_DIM];
    int rc;
    (void)kind;
    (void)user_id;
    if (unseal(walk->store->key, username, sealed, descriptor) != FG_OK) {
        walk->bad_template = template_id;
        return FG_STORE_ECRYPTO;
    }
    rc = seal(walk->new_key, username, descriptor, sealed, NULL);
    sodium_memzero(descriptor, sizeof descriptor);
    walk->count++;
    return rc;
}

int fg_store_rekey(fg_store *store, const uint8_t new_key[32], size_t *templates, fg_error *err)
{
    reseal_walk walk = {store, new_key, 0, 0};
    int rc;
    if (!store->backend->template_reseal)
        return fg_fail(err, FG_STORE_ENOTSUP,
                       "re-keying a %s store is not supported: every server holds the key",
                       store->backend->name);
    pthread_mutex_lock(&store->lock);
    rc = store->backend->template_reseal(store->db, reseal_one, &walk, err);
    if (rc == FG_OK) memcpy(store->key, new_key, sizeof store->key);
    pthread_mutex_unlock(&store->lock);
    if (rc == FG_STORE_ECRYPTO)
        return fg_fail(err, rc, "template %lld does not decrypt: wrong %s or a tampered row",
                       (long long)walk.bad_template, FG_STORE_KEY_FILE);
    if (rc == FG_OK && templates) *templates = walk.count;
    return rc;
}

/* PostgreSQL is backed up with its own tools (pg_dump, base backups). */
static int no_backup(const fg_store_backend *be, fg_error *err)
{
    return fg_fail(err, FG_STORE_ENOTSUP,
                   "a %s store is backed up and restored with the database's own tools", be->name);
}

int fg_store_backup(fg_store *store, const char *dest, fg_error *err)
{
    if (!store->backend->backup) return no_backup(store->backend, err);
    LOCKED(store, store->backend->backup(store->db, dest, err));
}

int fg_store_restore(const char *backend, const char *src, const char *data_dir, fg_error *err)
{
    const fg_store_backend *be = find_backend(backend);
    if (!be) return fg_fail(err, FG_EINVAL, "unknown store backend \"%s\"", backend);
    if (!be->restore) return no_backup(be, err);
    return be->restore(src, data_dir, err);
}
