/* test-store-rekey-backup.c - rotating the descriptor key re-encrypts every template (the old
 * key no longer opens them, the new one does); a backup restores into a fresh data dir and
 * nowhere else; codes are single-use. */
#include "harness.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct sums {
    int count;
    double sum;
} sums;

static int add_up(void *ctx, int64_t template_id, int64_t user_id,
                  const float descriptor[FG_DESCRIPTOR_DIM])
{
    sums *s = ctx;
    (void)template_id, (void)user_id;
    s->count++;
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        s->sum += descriptor[i] * (double)(i + 1);
    return 0;
}

static void key_path(char *out, size_t cap, const char *dir)
{
    snprintf(out, cap, "%s/%s", dir, FG_STORE_KEY_FILE);
}

int main(void)
{
    char dir[] = "/tmp/fg-test-rekey-XXXXXX", fresh[] = "/tmp/fg-test-restore-XXXXXX";
    char path[256], backup[300], key_file[320];
    float d[3][FG_DESCRIPTOR_DIM];
    uint8_t new_key[32], old_key[32];
    fg_store *store = NULL;
    fg_store_user user;
    fg_oidc_client client = {.id = "app", .redirect_count = 1};
    fg_oidc_code code = {.client_id = "app", .code_hash = "c0de", .expires_at = 4102444800}, got;
    fg_error err = {0};
    sums before = {0}, after = {0}, restored = {0};
    size_t rekeyed = 0;

    for (int k = 0; k < 3; k++)
        for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
            d[k][i] = (float)((k + 1) * (i % 7)) / 10.0f;
    CHECK(mkdtemp(dir) != NULL && mkdtemp(fresh) != NULL);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "obama", "", (const float(*)[128])d, 2, NULL, NULL,
                                      &user, NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "biden", "", (const float(*)[128]) & d[2], 1, NULL,
                                      NULL, NULL, NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_template_each(store, add_up, &before, &err), FG_OK);

    /* Codes: one use, then FG_STORE_EUSED with the row; unknown ones are not found. */
    snprintf(client.redirect_uris[0], sizeof client.redirect_uris[0], "https://app.example/cb");
    CHECK_EQ_INT(fg_store_client_add(store, &client, &err), FG_OK);
    code.user_id = user.id;
    CHECK_EQ_INT(fg_store_code_add(store, &code, &err), FG_OK);
    CHECK_EQ_INT(fg_store_code_consume(store, "c0de", &got, &err), FG_OK);
    CHECK_EQ_INT((int)got.user_id, (int)user.id);
    CHECK_EQ_INT(fg_store_code_consume(store, "c0de", &got, &err), FG_STORE_EUSED);
    CHECK_EQ_INT(fg_store_code_consume(store, "nope", &got, &err), FG_STORE_ENOTFOUND);

    /* Rekey, then reopen with the old key file: the templates no longer open. */
    key_path(key_file, sizeof key_file, dir);
    CHECK_EQ_INT(fg_keyfile_read(key_file, old_key, sizeof old_key, &err), FG_OK);
    for (int i = 0; i < 32; i++)
        new_key[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ_INT(fg_store_rekey(store, new_key, &rekeyed, &err), FG_OK);
    CHECK_EQ_INT((int)rekeyed, 3);
    CHECK_EQ_INT(fg_store_template_each(store, add_up, &after, &err), FG_OK);
    CHECK_NEAR(after.sum, before.sum, 1e-9);
    fg_store_close(store);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_template_each(store, add_up, &(sums){0}, &err), FG_STORE_ECRYPTO);
    fg_store_close(store);
    CHECK_EQ_INT(fg_keyfile_replace(key_file, new_key, sizeof new_key, &err), FG_OK);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    after = (sums){0};
    CHECK_EQ_INT(fg_store_template_each(store, add_up, &after, &err), FG_OK);
    CHECK_EQ_INT(after.count, 3);
    CHECK_NEAR(after.sum, before.sum, 1e-9);

    /* Backup, restore into a fresh dir (with the key), and nowhere a database already is. */
    snprintf(backup, sizeof backup, "%s/copy.db", fresh);
    CHECK_EQ_INT(fg_store_backup(store, backup, &err), FG_OK);
    CHECK_EQ_INT(fg_store_backup(store, backup, &err), FG_STORE_EDB); /* exists */
    fg_store_close(store);
    snprintf(path, sizeof path, "%s/restored", fresh);
    CHECK_EQ_INT(fg_store_restore("sqlite", backup, dir, &err), FG_STORE_EDB);
    CHECK(strstr(err.message, "cannot create") != NULL);
    CHECK_EQ_INT(fg_store_restore("sqlite", key_file, fresh, &err), FG_STORE_EDB);
    CHECK(mkdir(path, 0700) == 0);
    CHECK_EQ_INT(fg_store_restore("sqlite", backup, path, &err), FG_OK);
    key_path(key_file, sizeof key_file, path);
    CHECK_EQ_INT(fg_keyfile_replace(key_file, new_key, sizeof new_key, &err), FG_OK);
    CHECK_EQ_INT(fg_store_open("sqlite", path, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_template_each(store, add_up, &restored, &err), FG_OK);
    CHECK_EQ_INT(restored.count, 3);
    CHECK_NEAR(restored.sum, before.sum, 1e-9);
    CHECK_EQ_INT(fg_store_user_get(store, "biden", NULL, &err), FG_OK);
    fg_store_close(store);
    (void)old_key;
    return fg_test_done();
}
