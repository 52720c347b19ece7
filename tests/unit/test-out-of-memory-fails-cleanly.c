/*
 * test-out-of-memory-fails-cleanly.c - when the Nth allocation fails, for every N from 1 up to
 * the number of allocations the call makes, fg_image_decode (JPEG, PNG, WebP), fg_engine_open
 * and fg_store_open return a clean error (FG_ENOMEM; the store: FG_ENOMEM or FG_STORE_EDB,
 * SQLite's SQLITE_NOMEM), leave their output empty and do not crash; the sanitize suite's leak
 * checker finds no leak. Then N past the last allocation succeeds.
 *
 * How allocations fail (SQLite's fault injection, done from outside): the test binary is linked
 * with -Wl,--wrap=malloc,... so every malloc/calloc/realloc/posix_memalign/strdup that
 * libfacegate's and the store's own code make goes through __wrap_*; SQLite allocates through
 * the same counter (SQLITE_CONFIG_MALLOC). Not covered: allocations inside libjpeg-turbo,
 * libspng, libwebp, libexif, libsodium and XNNPACK, which call the C library directly, and
 * inside jansson, whose json_loadb (2.14) asserts in lex_scan_string or returns a document
 * with a member missing when one of its allocations fails (tried with json_set_alloc_funcs).
 */
#include <errno.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "image-fixtures.h"
#include "store/store.h"

/* --- the failing allocator ------------------------------------------------------------------ */

static atomic_long oom_count;   /* allocations since oom_arm */
static atomic_long oom_fail_at; /* the allocation to refuse (1-based); 0: none */
static atomic_int oom_refused;  /* it was refused */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);

static void oom_arm(long fail_at)
{
    atomic_store(&oom_count, 0);
    atomic_store(&oom_refused, 0);
    atomic_store(&oom_fail_at, fail_at);
}

static int oom_refuse(void)
{
    long n = atomic_fetch_add(&oom_count, 1) + 1;
    if (n != atomic_load(&oom_fail_at)) return 0;
    atomic_store(&oom_refused, 1);
    return 1;
}

void *__wrap_malloc(size_t size)
{
    return oom_refuse() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return oom_refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return oom_refuse() ? NULL : __real_realloc(p, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    return oom_refuse() ? ENOMEM : __real_posix_memalign(p, align, size);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = __wrap_malloc(n);
    return copy ? memcpy(copy, s, n) : NULL;
}

static void *sqlite_malloc(int n)
{
    return __wrap_malloc((size_t)n);
}

static void *sqlite_realloc(void *p, int n)
{
    return __wrap_realloc(p, (size_t)n);
}

static int sqlite_size(void *p)
{
    return (int)malloc_usable_size(p);
}

static int sqlite_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sqlite_init(void *ctx)
{
    (void)ctx;
    return SQLITE_OK;
}

static void sqlite_shutdown(void *ctx)
{
    (void)ctx;
}

static void oom_install(void)
{
    static const sqlite3_mem_methods methods = {
        sqlite_malloc,  free,        sqlite_realloc,  sqlite_size,
        sqlite_roundup, sqlite_init, sqlite_shutdown, NULL};
    CHECK_EQ_INT(sqlite3_config(SQLITE_CONFIG_MALLOC, &methods), SQLITE_OK);
}

/* --- the calls under test ------------------------------------------------------------------- */

/* One call with the Nth allocation refused: its status code, and whether its output is empty. */
typedef int (*call_fn)(const void *arg, int *output_empty);

/* Runs call with N = 1, 2, ... until it makes no more than N - 1 allocations and succeeds.
 * Every refused run must fail with one of the accepted codes and leave its output empty, or
 * succeed (the allocation was one it can do without).
 * Returns how many allocations the call makes. */
static long sweep(const char *what, call_fn call, const void *arg, const int *accepted,
                  int naccepted)
{
    long benign = 0;
    for (long n = 1;; n++) {
        int empty = 0, ok = 0, rc, refused;
        oom_arm(n);
        rc = call(arg, &empty);
        refused = atomic_load(&oom_refused);
        oom_arm(0);
        if (!refused) {
            CHECKF(rc == FG_OK, "%s: succeeded with no refusal but returned %d", what, rc);
            printf("%s: %ld allocations, each refused in turn: clean errors (%ld survived)\n", what,
                   n - 1, benign);
            return n - 1;
        }
        /* SQLite survives some failures (its "benign" allocations): success is clean too. */
        if (rc == FG_OK) {
            benign++;
            continue;
        }
        for (int i = 0; i < naccepted; i++)
            ok |= rc == accepted[i];
        CHECKF(ok, "%s: allocation %ld refused: returned %d (%s)", what, n, rc, fg_error_name(rc));
        CHECKF(empty, "%s: allocation %ld refused: output not empty", what, n);
        if (!ok || !empty) return -1;
    }
}

typedef struct image_arg {
    const uint8_t *bytes;
    size_t size;
} image_arg;

static int decode_call(const void *arg, int *empty)
{
    const image_arg *a = arg;
    fg_image img = {0};
    fg_error err = {0};
    int rc = fg_image_decode(a->bytes, a->size, 0, &img, &err);
    *empty = img.rgb == NULL && img.width == 0 && img.height == 0;
    if (rc == FG_OK) CHECK(!*empty && err.code == 0);
    if (rc != FG_OK) CHECK_EQ_INT(err.code, rc);
    fg_image_free(&img);
    return rc;
}

static int engine_call(const void *arg, int *empty)
{
    const fg_engine_options *opts = arg;
    fg_engine *e = NULL;
    fg_error err = {0};
    int rc = fg_engine_open(opts, &e, &err);
    *empty = e == NULL;
    if (rc != FG_OK) CHECK_EQ_INT(err.code, rc);
    fg_engine_free(e);
    return rc;
}

static int store_call(const void *arg, int *empty)
{
    /* On tmpfs when there is one: thousands of databases, each created with fsyncs. */
    char dir[64], path[96];
    fg_store *store = NULL;
    fg_error err = {0};
    int rc;
    (void)arg;
    snprintf(dir, sizeof dir, "%s/fg-oom-store-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) return FG_EIO;
    rc = fg_store_open("sqlite", dir, &store, NULL, &err);
    *empty = store == NULL;
    if (rc != FG_OK) CHECK_EQ_INT(err.code, rc);
    fg_store_close(store);
    static const char *const files[] = {"facegate.db", "facegate.db-wal", "facegate.db-shm",
                                        FG_STORE_KEY_FILE};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return rc;
}

int main(void)
{
    static const int enomem[] = {FG_ENOMEM};
    static const int store_codes[] = {FG_ENOMEM, FG_STORE_EDB};
    size_t jpeg_size = 0, png_size = 0, webp_size = 0;
    uint8_t *pixels = fx_pattern(64, 48);
    uint8_t *jpeg = fx_jpeg_rgb(pixels, 64, 48, &jpeg_size);
    uint8_t *png = fx_png_rgb(pixels, 64, 48, &png_size);
    uint8_t *webp = fx_webp(pixels, 64, 48, 80, &webp_size);
    image_arg images[] = {{jpeg, jpeg_size}, {png, png_size}, {webp, webp_size}};
    static const char *const image_names[] = {"fg_image_decode (JPEG)", "fg_image_decode (PNG)",
                                              "fg_image_decode (WebP)"};
    fg_engine_options opts;

    oom_install();
    for (int i = 0; i < 3; i++) {
        CHECK(images[i].bytes != NULL);
        if (images[i].bytes) CHECK(sweep(image_names[i], decode_call, &images[i], enomem, 1) > 0);
    }

    fg_engine_options_init(&opts);
    opts.model_dir = fg_test_models();
    opts.detector = FG_DETECTOR_TINY;
    CHECK(sweep("fg_engine_open (tiny)", engine_call, &opts, enomem, 1) > 0);

    CHECK(sweep("fg_store_open (sqlite)", store_call, NULL, store_codes, 2) > 0);

    free(pixels);
    free(jpeg);
    free(png);
    free(webp);
    return fg_test_done();
}
