/*
 * test-image-jpeg-two-parts.c - a JPEG decoded in two parts at once (src/image/jpeg.c: on a runner
 * of 2 or more bands, the rows above a cut by one decompressor and the rows below it by another
 * that skips to the cut) gives what the one-call decode gives:
 *  - the same pixels, bit for bit, on the golden photo, a few of the shared portraits, and JPEGs
 *    made here in every chroma subsampling (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, grey) at odd sizes,
 *    from 64 rows (the least it splits) up; progressive ones (which take the one-call path);
 *  - the same pixels when decoded scaled down (need_side), and on an image 4 pixels wide, where
 *    several DCT scalings give the same width and the one libjpeg-turbo's tjDecompress2 picks is
 *    the largest that fits both sides;
 *  - on a 2-thread pool and on a runner that runs the lower part first on this thread;
 *  - FG_EIMAGE_CORRUPT with a message and nothing allocated for a file cut short anywhere (above
 *    the cut, below it, only EOI missing), and the same outcome as the one-call decode (and the
 *    same pixels when both accept it) for entropy data overwritten above or below the cut;
 *  - fg_engine_decode_image on a 2-thread engine: the same pixels as fg_image_decode.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "facegate.h"
#include "harness.h"
#include "image/image.h"
#include "models/models.h"
#include "nn/nn.h"

static fgi_runner pool_runner;

/* The bands on this thread, the last first: the lower part decodes before the upper one. */
static void backwards(const void *pool, int n, int bands, fgi_band_fn fn, void *ctx)
{
    (void)pool;
    for (int b = bands - 1; b >= 0; b--)
        fn(ctx, b, (int)((long)n * b / bands), (int)((long)n * (b + 1) / bands));
}

static const fgi_runner backwards_runner = {backwards, NULL, 2};

static int same_image(const fg_image *a, const fg_image *b)
{
    return a->width == b->width && a->height == b->height && a->rgb && b->rgb &&
           memcmp(a->rgb, b->rgb, (size_t)a->width * (size_t)a->height * 3) == 0;
}

/* Both runners against the one-call decode, at full size and scaled to need_side. Returns the
 * one-call decode's code. */
static int check_same(const uint8_t *bytes, size_t size, int need_side, const char *what)
{
    fg_image want = {0};
    fg_error err = {0};
    const int rc = fgi_image_decode_scaled(bytes, size, 0, need_side, &want, NULL, &err);
    const fgi_runner *runners[2] = {&pool_runner, &backwards_runner};
    for (int r = 0; r < 2; r++) {
        fg_image got = {0};
        fg_error err2 = {0};
        const int rc2 =
            fgi_image_decode_on(bytes, size, 0, need_side, runners[r], &got, NULL, &err2);
        CHECKF(rc2 == rc, "%s (need_side %d, runner %d): %d (%s), one call %d (%s)", what,
               need_side, r, rc2, err2.message, rc, err.message);
        if (rc == FG_OK && rc2 == FG_OK)
            CHECKF(same_image(&got, &want), "%s (need_side %d, runner %d): other pixels", what,
                   need_side, r);
        if (rc2 != FG_OK) {
            CHECKF(got.rgb == NULL && got.width == 0, "%s: an image left after an error", what);
            CHECKF(err2.message[0] != '\0', "%s: no message", what);
        }
        fg_image_free(&got);
    }
    fg_image_free(&want);
    return rc;
}

/* 1 when path is a JPEG (some of the shared photos named .jpg are not) and was checked. */
static int check_file(const char *path)
{
    size_t size = 0;
    uint8_t *bytes = fg_test_read(path, &size);
    CHECKF(bytes != NULL, "cannot read %s", path);
    if (!bytes) return 0;
    const int jpeg = size > 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff;
    if (jpeg) {
        CHECKF(check_same(bytes, size, 0, path) == FG_OK, "%s does not decode", path);
        check_same(bytes, size, 150, path);
    }
    free(bytes);
    return jpeg;
}

/* The first n JPEGs of a shared faces folder's people (the first JPEG of each). */
static void check_folder(const char *relative, int n)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fg_test_shared(relative));
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "cannot open %s", dir);
    if (!d) return;
    char *names[64];
    int count = 0;
    for (struct dirent *e; (e = readdir(d)) && count < 64;)
        if (e->d_name[0] != '.') names[count++] = strdup(e->d_name);
    closedir(d);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j], names[j] = t;
            }
    int done = 0;
    for (int i = 0; i < count && done < n; i++) {
        char sub[4608];
        snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
        DIR *p = opendir(sub);
        if (!p) continue;
        for (struct dirent *e; (e = readdir(p));) {
            const size_t len = strlen(e->d_name);
            char file[4864];
            snprintf(file, sizeof file, "%s/%s", sub, e->d_name);
            if (len > 4 && strcmp(e->d_name + len - 4, ".jpg") == 0 && check_file(file)) {
                done++;
                break;
            }
        }
        closedir(p);
    }
    for (int i = 0; i < count; i++)
        free(names[i]);
    CHECKF(done == n, "%s: %d JPEGs checked of %d", relative, done, n);
}

/* A w x h JPEG of smooth colours and noise, made here with libjpeg-turbo. */
static uint8_t *make_jpeg(int w, int h, int subsamp, int progressive, unsigned long *size)
{
    uint8_t *rgb = malloc((size_t)w * h * 3);
    unsigned seed = 5;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                seed = seed * 1103515245u + 12345u;
                rgb[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)((x * (c + 1) + y * (3 - c)) / 2 + (seed >> 27));
            }
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    *size = 0;
    const int flags = progressive ? TJFLAG_PROGRESSIVE : 0;
    if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, size, subsamp, 85, flags) != 0) jpeg = NULL;
    tjDestroy(tj);
    free(rgb);
    return jpeg;
}

static void check_made(void)
{
    /* 4 x 100: narrower than a DCT block, where several scalings give the same width */
    static const int sizes[][2] = {{64, 64},   {97, 131},  {640, 480},
                                   {333, 250}, {1001, 67}, {4, 100}};
    static const int subsamps[] = {TJSAMP_444, TJSAMP_422, TJSAMP_420,
                                   TJSAMP_440, TJSAMP_411, TJSAMP_GRAY};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t k = 0; k < sizeof subsamps / sizeof subsamps[0]; k++)
            for (int progressive = 0; progressive < 2; progressive++) {
                unsigned long size;
                uint8_t *jpeg =
                    make_jpeg(sizes[s][0], sizes[s][1], subsamps[k], progressive, &size);
                char what[96];
                snprintf(what, sizeof what, "%dx%d subsampling %d%s", sizes[s][0], sizes[s][1],
                         subsamps[k], progressive ? " progressive" : "");
                CHECKF(jpeg != NULL, "%s: cannot encode", what);
                if (!jpeg) continue;
                CHECKF(check_same(jpeg, size, 0, what) == FG_OK, "%s does not decode", what);
                check_same(jpeg, size, 40, what);
                check_same(jpeg, size, 70, what);
                tjFree(jpeg);
            }
}

static void check_damage(const uint8_t *jpeg, size_t size)
{
    /* cut short: in the upper part's data, in the lower part's, only EOI missing */
    const size_t cuts[] = {size / 4, size / 2, size * 9 / 10, size - 2};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu", cuts[i], size);
        CHECKF(check_same(jpeg, cuts[i], 0, what) == FG_EIMAGE_CORRUPT, "%s: accepted", what);
    }
    /* entropy data overwritten above and below the cut (no 0xff: no accidental markers) */
    const size_t at[] = {size / 5, size * 4 / 5};
    uint8_t *bad = malloc(size);
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(bad, jpeg, size);
        unsigned seed = 9;
        for (size_t j = at[i]; j < at[i] + 64 && j < size - 2; j++) {
            seed = seed * 1103515245u + 12345u;
            const uint8_t v = (uint8_t)(seed >> 24);
            bad[j] = v == 0xff ? 0xfe : v;
        }
        char what[64];
        snprintf(what, sizeof what, "garbage at %zu of %zu", at[i], size);
        check_same(bad, size, 0, what);
    }
    free(bad);
}

static void check_engine(const uint8_t *jpeg, size_t size)
{
    fg_engine_options o;
    fg_engine *e = NULL;
    fg_error err = {0};
    fg_engine_options_init(&o);
    o.model_dir = fg_test_models();
    o.threads = 2;
    CHECKF(fg_engine_open(&o, &e, &err) == FG_OK, "%s", err.message);
    if (!e) return;
    fg_image want = {0}, got = {0};
    CHECK(fg_image_decode(jpeg, size, 0, &want, &err) == FG_OK);
    CHECKF(fg_engine_decode_image(e, jpeg, size, &got, &err) == FG_OK, "%s", err.message);
    CHECK(same_image(&got, &want));
    fg_image_free(&got);
    CHECK(fg_engine_decode_image(e, jpeg, size / 2, &got, &err) == FG_EIMAGE_CORRUPT);
    CHECK(got.rgb == NULL);
    CHECK(fg_engine_decode_image(NULL, jpeg, size, &got, &err) == FG_EINVAL);
    fg_image_free(&want);
    fg_engine_free(e);
}

int main(void)
{
    nn_runtime *pool = fg_test_pool(2);
    pool_runner = fgm_runner(pool);
    size_t size = 0;
    uint8_t *golden = fg_test_read(fg_test_shared("golden/single640.jpg"), &size);
    CHECK(golden != NULL && size > 1000);
    check_file(fg_test_shared("golden/single640.jpg"));
    check_folder("faces/portraits", 5);
    check_folder("faces/asia_dev/kpop_idols_web", 4);
    check_made();
    if (golden) {
        check_damage(golden, size);
        check_engine(golden, size);
    }
    free(golden);
    nn_runtime_free(pool);
    return fg_test_done();
}
