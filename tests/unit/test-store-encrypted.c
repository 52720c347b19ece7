/* test-store-encrypted.c - descriptors are encrypted at rest: the database files never hold
 * the float bytes; a different key or a template moved to another user fails to decrypt;
 * the key file is 0600 and a group-readable key file is refused. */
#include "harness.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ignore(void *ctx, int64_t t, int64_t u, const float d[FG_DESCRIPTOR_DIM])
{
    (void)ctx, (void)t, (void)u, (void)d;
    return 0;
}

/* 1 if any 16-byte run of the descriptor's float bytes occurs in the file. */
static int file_holds(const char *path, const float *descriptor)
{
    size_t size = 0;
    unsigned char *bytes = fg_test_read(path, &size);
    int found = 0;
    if (!bytes) return 0;
    for (int k = 0; k + 4 <= FG_DESCRIPTOR_DIM && !found; k += 4)
        found = memmem(bytes, size, descriptor + k, 16) != NULL;
    free(bytes);
    return found;
}

int main(void)
{
    char dir[] = "/tmp/fg-test-store-enc-XXXXXX", path[512], cmd[600];
    float d[1][FG_DESCRIPTOR_DIM];
    fg_store *store = NULL;
    fg_store_user a, b;
    fg_error err = {0};
    struct stat st;
    uint8_t secret[32], again[32];
    int created = 0;
    sqlite3 *db;

    CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        d[0][i] = 0.01f * (float)(i - 64) + 0.001234f;
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "alice", "", (const float(*)[128])d, 1, NULL, NULL, &a,
                                      NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "bob", "", (const float(*)[128])d, 1, NULL, NULL, &b,
                                      NULL, &err),
                 FG_OK);

    /* Neither the main file nor the WAL holds the plaintext (checked with the store open, so
     * the WAL still has the fresh pages). */
    snprintf(path, sizeof path, "%s/facegate.db", dir);
    CHECK(!file_holds(path, d[0]));
    snprintf(path, sizeof path, "%s/facegate.db-wal", dir);
    CHECK(!file_holds(path, d[0]));
    fg_store_close(store);
    snprintf(path, sizeof path, "%s/facegate.db", dir);
    CHECK(!file_holds(path, d[0]));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 077) == 0);

    snprintf(path, sizeof path, "%s/" FG_STORE_KEY_FILE, dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* A template moved to another user no longer decrypts (the username is the AAD). */
    snprintf(path, sizeof path, "%s/facegate.db", dir);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    snprintf(cmd, sizeof cmd, "UPDATE templates SET user_id = %lld WHERE user_id = %lld",
             (long long)b.id, (long long)a.id);
    CHECK(sqlite3_exec(db, cmd, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_template_each(store, ignore, NULL, &err), FG_STORE_ECRYPTO);
    CHECK(strstr(err.message, "does not decrypt") != NULL);
    fg_store_close(store);

    /* A permissive key file is refused; a fresh key cannot decrypt the old rows. */
    snprintf(path, sizeof path, "%s/" FG_STORE_KEY_FILE, dir);
    CHECK(chmod(path, 0644) == 0);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_STORE_EKEY);
    CHECK(strstr(err.message, "chmod 600") != NULL);
    CHECK(unlink(path) == 0);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, &created, &err), FG_OK);
    CHECK_EQ_INT(created, 1);
    CHECK_EQ_INT(fg_store_template_each(store, ignore, NULL, &err), FG_STORE_ECRYPTO);
    fg_store_close(store);

    /* fg_keyfile_load: creates once, then reads the same bytes; rejects malformed files. */
    snprintf(path, sizeof path, "%s/test.key", dir);
    CHECK_EQ_INT(fg_keyfile_load(path, secret, sizeof secret, &created, &err), FG_OK);
    CHECK_EQ_INT(created, 1);
    CHECK_EQ_INT(fg_keyfile_load(path, again, sizeof again, &created, &err), FG_OK);
    CHECK_EQ_INT(created, 0);
    CHECK(memcmp(secret, again, sizeof secret) == 0);
    CHECK_EQ_INT(fg_keyfile_load(path, again, 16, &created, &err), FG_STORE_EKEY);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    return fg_test_done();
}
