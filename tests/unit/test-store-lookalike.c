/* test-store-lookalike.c - usernames are unique up to look-alikes (FG_USERNAME_KEY_SQL), also
 * in a data dir of schema 4 that migration 5 indexes: look-alike pairs created before are kept,
 * a third is refused. A database that group or others may read is refused at open. Deleting an
 * account pseudonymises its audit events; fg_store_audit_prune deletes the old ones. */
#include "harness.h"
#include "store/store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const float FACE[1][FG_DESCRIPTOR_DIM] = {{0.5f}};

static int create(fg_store *store, const char *name, fg_store_user *user, fg_error *err)
{
    return fg_store_user_create(store, name, "", FACE, 1, NULL, NULL, user, NULL, err);
}

static int sql(const char *path, const char *text)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, text, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static void audit(fg_store *store, int64_t time, const char *username, const char *client)
{
    fg_audit_event ev = {.time = time, .distance = NAN};
    fg_error err = {0};
    snprintf(ev.event, sizeof ev.event, "login");
    snprintf(ev.username, sizeof ev.username, "%s", username);
    snprintf(ev.client, sizeof ev.client, "%s", client);
    snprintf(ev.outcome, sizeof ev.outcome, "ok");
    CHECK_EQ_INT(fg_store_audit_add(store, &ev, &err), FG_OK);
}

int main(void)
{
    char dir[] = "/tmp/fg-test-lookalike-XXXXXX", path[256], pseudonym[32];
    fg_store *store = NULL;
    fg_store_user user, leaver;
    fg_audit_event *events = NULL;
    size_t count = 0;
    fg_error err = {0};

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/facegate.db", dir);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(create(store, "victim", &user, &err), FG_OK);
    CHECK_EQ_INT(create(store, "Vic.tim", NULL, &err), FG_STORE_EEXIST);
    CHECK_EQ_INT(create(store, "VICT1M", NULL, &err), FG_STORE_EEXIST);
    CHECK_EQ_INT(create(store, "v_i-c.t_i_m", NULL, &err), FG_STORE_EEXIST);
    CHECK_EQ_INT(create(store, "victim.", NULL, &err), FG_EINVAL); /* not allowed */
    CHECK_EQ_INT(create(store, "victims", NULL, &err), FG_OK);
    fg_store_close(store);

    /* Back to schema 4 with a look-alike pair, as an older server could create. */
    CHECK_EQ_INT(sql(path, "DROP INDEX users_username_key;"
                           "ALTER TABLE templates DROP COLUMN recognizer;"
                           "ALTER TABLE templates DROP COLUMN alignment;"
                           "INSERT INTO users (uid, username, display_name, created_at) VALUES "
                           "('00112233445566778899aabbccddeeff', 'Jane.D0e-1i', '', 1000),"
                           "('ffeeddccbbaa99887766554433221100', 'jane_doe.lI', '', 1001);"
                           "DELETE FROM schema_version; INSERT INTO schema_version VALUES (4);"),
                 SQLITE_OK);

    CHECK_EQ_INT(chmod(path, 0644), 0);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_STORE_EDB);
    CHECKF(strstr(err.message, "chmod 600") != NULL, "%s", err.message);
    CHECK_EQ_INT(chmod(path, 0600), 0);

    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_get(store, "Jane.D0e-1i", &user, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_get(store, "jane_doe.lI", &user, &err), FG_OK);
    CHECK_EQ_INT(create(store, "JANED0E1l", NULL, &err), FG_STORE_EEXIST);
    CHECK_EQ_INT(create(store, "jane.doe", NULL, &err), FG_OK);
    CHECK_EQ_INT(create(store, "jane-doe", NULL, &err), FG_STORE_EEXIST);

    /* A deleted account's events keep neither its name nor its address; others' are kept. */
    CHECK_EQ_INT(create(store, "leaver", &leaver, &err), FG_OK);
    audit(store, 100, "leaver", "192.0.2.1");
    audit(store, 200, "LEAVER", "192.0.2.2");
    audit(store, 300, "victims", "192.0.2.3");
    CHECK_EQ_INT(fg_store_user_delete(store, leaver.id, &err), FG_OK);
    snprintf(pseudonym, sizeof pseudonym, "deleted-%.8s", leaver.uid);
    CHECK_EQ_INT(fg_store_audit_list(store, 10, &events, &count, &err), FG_OK);
    CHECK_EQ_INT((int)count, 3);
    CHECK(strcmp(events[0].username, "victims") == 0 && strcmp(events[0].client, "192.0.2.3") == 0);
    for (size_t i = 1; i < count; i++)
        CHECKF(strcmp(events[i].username, pseudonym) == 0 && events[i].client[0] == 0,
               "event %zu: '%s' from '%s'", i, events[i].username, events[i].client);
    free(events);

    CHECK_EQ_INT(fg_store_audit_prune(store, 200, &err), FG_OK);
    CHECK_EQ_INT(fg_store_audit_list(store, 10, &events, &count, &err), FG_OK);
    CHECK_EQ_INT((int)count, 2);
    CHECK_EQ_INT((int)events[1].time, 200);
    free(events);
    fg_store_close(store);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(path), 0);
    return fg_test_done();
}
