/* test-store-change-feed.c - the change feed that keeps a server's matcher current: follow
 * delivers every template once; a write delivers its own change before it returns; another
 * writer's changes (a second handle on the same database, as another process would be) arrive
 * with fg_store_sync, in commit order; a guard's refusal writes nothing; a bulk import is
 * delivered like sign-ups. On SQLite (the PostgreSQL backend runs the same front under the
 * server tests' PostgreSQL pass). */
#include "harness.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct feed {
    int adds, deletes;
    int64_t last_user, last_template;
    float first_value;
} feed;

static int follow(void *ctx, int kind, int64_t user_id, int64_t template_id,
                  const float descriptor[FG_DESCRIPTOR_DIM])
{
    feed *f = ctx;
    if (kind == FG_STORE_CHANGE_ADD) {
        f->adds++;
        f->first_value = descriptor[0];
    } else {
        f->deletes++;
    }
    f->last_user = user_id;
    f->last_template = template_id;
    return 0;
}

static int refuse(void *ctx)
{
    (*(int *)ctx)++;
    return 7;
}

static void descriptor(float d[FG_DESCRIPTOR_DIM], float v)
{
    for (int i = 0; i < FG_DESCRIPTOR_DIM; i++)
        d[i] = v + 0.001f * (float)i;
}

int main(void)
{
    char dir[] = "/tmp/fg-test-feed-XXXXXX";
    fg_store *a = NULL, *b = NULL;
    fg_store_user user;
    fg_error err = {0};
    feed fa = {0}, fb = {0};
    float d[2][FG_DESCRIPTOR_DIM];
    int64_t ids[2];
    int guarded = 0;
    char cmd[64];

    CHECK(mkdtemp(dir) != NULL);
    CHECK_EQ_INT(fg_store_open("sqlite", dir, &a, NULL, &err), FG_OK);
    CHECK_EQ_INT(fg_store_open(NULL, dir, &b, NULL, &err), FG_OK);
    CHECK(!fg_store_is_shared(a));
    CHECK(strcmp(fg_store_backend_name(a), "sqlite") == 0);
    CHECK_EQ_INT(fg_store_wait(a, 10, &err), FG_STORE_ENOTSUP);

    /* One user before anybody follows: follow delivers it once. */
    descriptor(d[0], 0.5f);
    CHECK_EQ_INT(fg_store_user_create(a, "alice", "", (const float(*)[FG_DESCRIPTOR_DIM])d, 1, NULL,
                                      NULL, &user, ids, &err),
                 FG_OK);
    CHECK_EQ_INT(fg_store_follow(a, follow, &fa, &err), FG_OK);
    CHECK_EQ_INT(fg_store_follow(b, follow, &fb, &err), FG_OK);
    CHECK_EQ_INT(fa.adds, 1);
    CHECK_EQ_INT(fb.adds, 1);
    CHECK_NEAR(fa.first_value, 0.5f, 0);
    CHECK_EQ_INT(fg_store_sync(a, &err), FG_OK);
    CHECK_EQ_INT(fa.adds, 1); /* nothing new: not delivered twice */

    /* A's own write is delivered to A before it returns; B gets it at its next sync. */
    descriptor(d[0], 0.25f);
    descriptor(d[1], 0.75f);
    CHECK_EQ_INT(fg_store_user_create(a, "bob", "", (const float(*)[FG_DESCRIPTOR_DIM])d, 2, NULL,
                                      NULL, &user, ids, &err),
                 FG_OK);
    CHECK_EQ_INT(fa.adds, 3);
    CHECK_EQ_INT(fa.last_template, ids[1]);
    CHECK_EQ_INT(fb.adds, 1);
    CHECK_EQ_INT(fg_store_sync(b, &err), FG_OK);
    CHECK_EQ_INT(fb.adds, 3);
    CHECK_EQ_INT(fb.last_user, user.id);
    CHECK_NEAR(fb.first_value, 0.75f, 0);

    /* B's write catches B up first, then A learns of it at its sync; a deletion likewise. */
    CHECK_EQ_INT(fg_store_template_add(b, user.id, d[0], 0, NULL, NULL, &ids[0], &err), FG_OK);
    CHECK_EQ_INT(fb.adds, 4);
    CHECK_EQ_INT(fg_store_user_delete(b, user.id, &err), FG_OK);
    CHECK_EQ_INT(fb.deletes, 1);
    CHECK_EQ_INT(fg_store_sync(a, &err), FG_OK);
    CHECK_EQ_INT(fa.adds, 3);    /* the template added then deleted is skipped ... */
    CHECK_EQ_INT(fa.deletes, 1); /* ... its user's deletion follows */
    CHECK_EQ_INT(fa.last_user, user.id);

    /* A guard's refusal: its value comes back and nothing is written or delivered. */
    CHECK_EQ_INT(fg_store_user_create(a, "carol", "", (const float(*)[FG_DESCRIPTOR_DIM])d, 1,
                                      refuse, &guarded, NULL, NULL, &err),
                 7);
    CHECK_EQ_INT(guarded, 1);
    CHECK_EQ_INT(fg_store_user_get(a, "carol", NULL, &err), FG_STORE_ENOTFOUND);
    CHECK_EQ_INT(fg_store_template_add(a, fa.last_user, d[0], 0, refuse, &guarded, NULL, &err), 7);
    CHECK_EQ_INT(fa.adds, 3);

    /* A bulk import reaches both followers. */
    {
        const char *names[2] = {"imported1", "imported2"};
        CHECK_EQ_INT(fg_store_import(b, names, (const float(*)[FG_DESCRIPTOR_DIM])d, 2, &err),
                     FG_OK);
        CHECK_EQ_INT(fb.adds, 6);
        CHECK_EQ_INT(fg_store_sync(a, &err), FG_OK);
        CHECK_EQ_INT(fa.adds, 5);
        CHECK_EQ_INT(fg_store_user_get(a, "IMPORTED2", &user, &err), FG_OK);
        CHECK_EQ_INT(user.faces, 1);
        names[1] = "alice"; /* taken: the whole import is refused */
        CHECK_EQ_INT(fg_store_import(b, names, (const float(*)[FG_DESCRIPTOR_DIM])d, 2, &err),
                     FG_STORE_EEXIST);
        CHECK_EQ_INT(fb.adds, 6);
    }

    fg_store_close(a);
    fg_store_close(b);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return fg_test_done();
}
