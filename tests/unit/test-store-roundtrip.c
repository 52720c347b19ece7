/* test-store-roundtrip.c - users and templates survive close/reopen, usernames are unique
 * case-insensitively, deleting a user deletes their templates, audit and revoked sessions. */
#include "harness.h"
#include "store/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct walk {
    int count;
    int64_t user_ids[16];
    float first[16];
} walk;

static int collect(void *ctx, int64_t template_id, int64_t user_id,
                   const float descriptor[FG_DESCRIPTOR_DIM])
{
    walk *w = ctx;
    (void)template_id;
    if (w->count < 16) {
        w->user_ids[w->count] = user_id;
        w->first[w->count] = descriptor[0];
    }
    w->count++;
    return 0;
}

static void fill(float d[FG_DESCRIPTOR_DIM], float v)
{
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        d[i] = v + (float)i / 1000.0f;
}

int main(void)
{
    char dir[] = "/tmp/fg-test-store-XXXXXX";
    float three[3][FG_DESCRIPTOR_DIM], one[1][FG_DESCRIPTOR_DIM];
    int64_t ids[3] = {0};
    fg_store *store = NULL;
    fg_store_user user, *users = NULL;
    fg_audit_event ev, *events = NULL;
    fg_error err = {0};
    size_t count = 0;
    int created = 0, revoked = -1;
    walk w = {0};

    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, &created, &err), FG_OK);
    CHECK_EQ_INT(created, 1);
    CHECK_EQ_INT(fg_store_open("nosuch", dir, &(fg_store *){NULL}, NULL, &err), FG_EINVAL);

    fill(three[0], 0.1f);
    fill(three[1], 0.2f);
    fill(three[2], 0.3f);
    fill(one[0], 0.9f);
    CHECK_EQ_INT(fg_store_user_create(store, "obama", "Barack", (const float(*)[128])three, 3, NULL,
                                      NULL, &user, ids, &err),
                 FG_OK);
    CHECK(strcmp(user.username, "obama") == 0);
    CHECK(strcmp(user.display_name, "Barack") == 0);
    CHECK_EQ_INT(user.faces, 3);
    CHECK(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1]);
    CHECK(user.created_at > 1700000000);

    /* Case-insensitive uniqueness; sign-up never overwrites. */
    CHECK_EQ_INT(fg_store_user_create(store, "OBAMA", "", (const float(*)[128])one, 1, NULL, NULL,
                                      NULL, NULL, &err),
                 FG_STORE_EEXIST);
    CHECK(strstr(err.message, "taken") != NULL);
    CHECK_EQ_INT(fg_store_user_create(store, "../x", "", (const float(*)[128])one, 1, NULL, NULL,
                                      NULL, NULL, &err),
                 FG_EINVAL);
    CHECK_EQ_INT(fg_store_user_create(store, "biden", "Joe\n", (const float(*)[128])one, 1, NULL,
                                      NULL, NULL, NULL, &err),
                 FG_EINVAL);
    CHECK_EQ_INT(fg_store_user_create(store, "biden", NULL, (const float(*)[128])one, 1, NULL, NULL,
                                      &user, NULL, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_template_add(store, user.id, three[2], 0, NULL, NULL, &ids[0], &err),
                 FG_OK);
    /* A limit counted in the write: biden holds 2 templates now, so a limit of 2 refuses one. */
    CHECK_EQ_INT(fg_store_template_add(store, user.id, three[2], 2, NULL, NULL, NULL, &err),
                 FG_STORE_EFULL);
    CHECK_EQ_INT(fg_store_template_add(store, 9999, three[2], 0, NULL, NULL, NULL, &err),
                 FG_STORE_ENOTFOUND);

    ev = (fg_audit_event){.time = 1,
                          .event = "login",
                          .username = "obama",
                          .client = "127.0.0.1",
                          .outcome = "ok",
                          .distance = 0.25};
    CHECK_EQ_INT(fg_store_audit_add(store, &ev, &err), FG_OK);
    ev = (fg_audit_event){
        .time = 2, .event = "login", .client = "::1", .outcome = "no_match", .distance = NAN};
    CHECK_EQ_INT(fg_store_audit_add(store, &ev, &err), FG_OK);
    CHECK_EQ_INT(fg_store_session_revoke(store, "jti-1", 4102444800, &err), FG_OK);
    CHECK_EQ_INT(fg_store_session_revoke(store, "jti-old", 1000, &err), FG_OK);
    fg_store_close(store);

    /* Reopen: the same key decrypts everything. */
    store = NULL;
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &store, &created, &err), FG_OK);
    CHECK_EQ_INT(created, 0);
    CHECK_EQ_INT(fg_store_template_each(store, collect, &w, &err), FG_OK);
    CHECK_EQ_INT(w.count, 5);
    CHECK_NEAR(w.first[0], 0.1, 1e-7);
    CHECK_NEAR(w.first[3], 0.9, 1e-7);
    CHECK_NEAR(w.first[4], 0.3, 1e-7);
    CHECK_EQ_INT(w.user_ids[4], user.id);

    CHECK_EQ_INT(fg_store_user_get(store, "Obama", &user, &err), FG_OK);
    CHECK(strcmp(user.username, "obama") == 0);
    CHECK_EQ_INT(fg_store_user_get(store, "nobody", &user, &err), FG_STORE_ENOTFOUND);
    CHECK_EQ_INT(fg_store_user_list(store, &users, &count, &err), FG_OK);
    CHECK_EQ_INT(count, 2);
    if (count == 2) {
        CHECK(strcmp(users[0].username, "biden") == 0);
        CHECK_EQ_INT(users[0].faces, 2);
        CHECK_EQ_INT(users[1].faces, 3);
    }
    free(users);

    CHECK_EQ_INT(fg_store_audit_list(store, 10, &events, &count, &err), FG_OK);
    CHECK_EQ_INT(count, 2);
    if (count == 2) {
        CHECK(strcmp(events[0].outcome, "no_match") == 0); /* newest first */
        CHECK(isnan(events[0].distance));
        CHECK_NEAR(events[1].distance, 0.25, 1e-9);
        CHECK(strcmp(events[1].username, "obama") == 0);
    }
    free(events);

    CHECK_EQ_INT(fg_store_session_revoked(store, "jti-1", &revoked, &err), FG_OK);
    CHECK_EQ_INT(revoked, 1);
    CHECK_EQ_INT(fg_store_session_revoked(store, "jti-old", &revoked, &err), FG_OK);
    CHECK_EQ_INT(revoked, 0); /* expired entries no longer count */
    CHECK_EQ_INT(fg_store_session_revoked(store, "jti-2", &revoked, &err), FG_OK);
    CHECK_EQ_INT(revoked, 0);

    /* Deleting a user deletes their templates. */
    CHECK_EQ_INT(fg_store_user_get(store, "obama", &user, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_delete(store, user.id, &err), FG_OK);
    CHECK_EQ_INT(fg_store_user_delete(store, user.id, &err), FG_STORE_ENOTFOUND);
    memset(&w, 0, sizeof w);
    CHECK_EQ_INT(fg_store_template_each(store, collect, &w, &err), FG_OK);
    CHECK_EQ_INT(w.count, 2);
    CHECK_EQ_INT(fg_store_user_count(store, &count, &err), FG_OK);
    CHECK_EQ_INT(count, 1);
    fg_store_close(store);
    fg_store_close(NULL);

    {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK_EQ_INT(system(cmd), 0);
    }
    return fg_test_done();
}
