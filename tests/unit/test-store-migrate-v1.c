/* test-store-migrate-v1.c - a data dir of the first schema (before OpenID Connect) opens: its
 * users keep their templates and get a random account id (uid) each, and the new tables work.
 * The v1 database is made by taking today's back to v1 (drop what migrations 2 and 3 added). */
#include "harness.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int count_templates(void *ctx, int64_t template_id, int64_t user_id,
                           const float descriptor[FG_DESCRIPTOR_DIM])
{
    (void)template_id, (void)user_id, (void)descriptor;
    ++*(int *)ctx;
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/fg-test-migrate-XXXXXX", path[256];
    float d[2][FG_DESCRIPTOR_DIM] = {{0.5f}, {0.25f, 0.5f}};
    fg_store *store = NULL;
    fg_store_user a, b, again;
    fg_oidc_client client = {.id = "app", .redirect_count = 1}, got;
    fg_error err = {0};
    sqlite3 *db = NULL;
    int templates = 0;

    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "obama", "", (const float(*)[128])d, 2, NULL, NULL, &a,
                                      NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "biden", "", (const float(*)[128])d, 1, NULL, NULL, &b,
                                      NULL, &err),
                 FG_OK);
    CHECK_EQ_INT((int)strlen(a.uid), FG_STORE_UID_LEN);
    CHECK(strcmp(a.uid, b.uid) != 0);
    fg_store_close(store);

    snprintf(path, sizeof path, "%s/facegate.db", dir);
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db,
                              "DROP TABLE changes; DROP TABLE oidc_codes; DROP TABLE oidc_clients;"
                              "DROP INDEX users_uid; ALTER TABLE users DROP COLUMN uid;"
                              "ALTER TABLE templates DROP COLUMN recognizer;"
                              "ALTER TABLE templates DROP COLUMN alignment;"
                              "DELETE FROM schema_version; INSERT INTO schema_version VALUES (1);",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);

    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_get(store, "obama", &a, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_get(store, "biden", &b, &err), FG_OK);
    CHECK_EQ_INT((int)strlen(a.uid), FG_STORE_UID_LEN);
    CHECK(strspn(a.uid, "0123456789abcdef") == FG_STORE_UID_LEN);
    CHECK(strcmp(a.uid, b.uid) != 0);
    CHECK_EQ_INT(fg_store_user_get_uid(store, a.uid, &again, &err), FG_OK);
    CHECK_EQ_INT((int)again.id, (int)a.id);
    CHECK_EQ_INT(fg_store_user_get_uid(store, "0123", &again, &err), FG_STORE_ENOTFOUND);
    CHECK_EQ_INT(fg_store_template_each(store, count_templates, &templates, &err), FG_OK);
    CHECK_EQ_INT(templates, 3);

    snprintf(client.redirect_uris[0], sizeof client.redirect_uris[0], "https://app.example/cb");
    CHECK_EQ_INT(fg_store_client_add(store, &client, &err), FG_OK);
    CHECK_EQ_INT(fg_store_client_add(store, &client, &err), FG_STORE_EEXIST);
    CHECK_EQ_INT(fg_store_client_get(store, "app", &got, &err), FG_OK);
    CHECK(strcmp(got.redirect_uris[0], "https://app.example/cb") == 0);
    fg_store_close(store);
    return fg_test_done();
}
