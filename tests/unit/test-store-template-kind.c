/* test-store-template-kind.c - templates record the recognizer and alignment that made them, a
 * store yields only its own kind (counting the others), through the walk and the change feed,
 * and a data dir of schema 4 (before the kind was recorded) migrates, its templates taken to be
 * of the default kind. */
#include "harness.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static int count(void *ctx, int64_t template_id, int64_t user_id,
                 const float descriptor[FG_DESCRIPTOR_DIM])
{
    (void)template_id, (void)user_id, (void)descriptor;
    (*(int *)ctx)++;
    return 0;
}

/* Yielded templates of the store's current kind, and the others it skipped doing so. */
static void walk(fg_store *store, int yielded, size_t skipped)
{
    int n = 0;
    size_t before = fg_store_skipped_templates(store);
    fg_error err = {0};
    CHECK_EQ_INT(fg_store_template_each(store, count, &n, &err), FG_OK);
    CHECK_EQ_INT(n, yielded);
    CHECK_EQ_INT(fg_store_skipped_templates(store) - before, skipped);
}

static int sql(const char *dir, const char *statements)
{
    char path[256];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/facegate.db", dir);
    int rc = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, statements, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    return rc;
}

int main(void)
{
    char dir[] = "/tmp/fg-test-store-kind-XXXXXX";
    float d[2][FG_DESCRIPTOR_DIM] = {{0.5f}, {0.25f}};
    fg_store *store = NULL;
    fg_error err = {0};

    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "plain", "", (const float(*)[128])d, 2, NULL, NULL,
                                      NULL, NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_set_kind(store, FG_TEMPLATE_RECOGNIZER_DEFAULT, "reference", &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_user_create(store, "other", "", (const float(*)[128])d, 1, NULL, NULL,
                                      NULL, NULL, &err),
                 FG_OK);
    walk(store, 1, 2); /* the reference alignment's one, the two dlib ones skipped */
    CHECK_EQ_INT(fg_store_set_kind(store, FG_TEMPLATE_RECOGNIZER_DEFAULT,
                                   FG_TEMPLATE_ALIGNMENT_DEFAULT, &err),
                 FG_OK);
    walk(store, 2, 1);
    CHECK_EQ_INT(fg_store_set_kind(store, "", "dlib", &err), FG_EINVAL);
    CHECK_EQ_INT(fg_store_set_kind(store, "x", NULL, &err), FG_EINVAL);
    fg_store_close(store);

    /* Back to schema 5, as a data dir written before this version: no kind columns. */
    CHECK(sql(dir, "ALTER TABLE templates DROP COLUMN recognizer;"
                   "ALTER TABLE templates DROP COLUMN alignment;"
                   "UPDATE schema_version SET version = 5;"));
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    walk(store, 3, 0); /* all three: the default kind */
    CHECK_EQ_INT(fg_store_set_kind(store, FG_TEMPLATE_RECOGNIZER_DEFAULT, "reference", &err),
                 FG_OK);
    walk(store, 0, 3);
    fg_store_close(store);
    CHECK(sql(dir, "SELECT recognizer, alignment FROM templates;"));

    /* A newer schema than this code is refused, not guessed at. */
    CHECK(sql(dir, "UPDATE schema_version SET version = 99;"));
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_STORE_EDB);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    return fg_test_done();
}
