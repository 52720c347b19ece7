/*
 * test-image-jpeg-corrupt.c - garbage in the middle of a JPEG's entropy-coded data is
 * FG_EIMAGE_CORRUPT; so is a progressive "scan bomb" with thousands of scans.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "image-fixtures.h"
#include "facegate.h"

static void check_corrupt(const uint8_t *bytes, size_t size, const char *what)
{
    fg_image img = {0};
    fg_error err = {0};
    int rc = fg_image_decode(bytes, size, 0, &img, &err);
    CHECKF(rc == FG_EIMAGE_CORRUPT, "%s: %d (%s)", what, rc, err.message);
    CHECK(err.message[0] != '\0');
    CHECK(img.rgb == NULL);
    printf("%s: %s\n", what, err.message);
}

/* The golden JPEG with a run of bytes in the middle of its scan overwritten. */
static void check_garbage(const uint8_t *jpeg, size_t size, uint8_t fill, const char *what)
{
    uint8_t *bad = malloc(size);
    CHECK(bad != NULL);
    if (!bad) return;
    memcpy(bad, jpeg, size);
    uint64_t seed = 42;
    for (size_t i = size / 2; i < size / 2 + 256; i++) {
        uint8_t v = fill ? fill : (uint8_t)fx_rand(&seed);
        bad[i] = v == 0xff ? 0xfe : v; /* no accidental markers: pure entropy-data damage */
    }
    check_corrupt(bad, size, what);
    free(bad);
}

/* SOI, then 1000 bare SOS segments: rejected by counting, before libjpeg runs. */
static void check_scan_bomb(const uint8_t *jpeg, size_t size)
{
    const size_t sos = 10, count = 1000;
    uint8_t *bomb = malloc(size + sos * count);
    CHECK(bomb != NULL);
    if (!bomb) return;
    /* Keep the real headers up to the first SOS, then repeat a minimal one. */
    size_t head = 2;
    while (head + 4 < size && !(jpeg[head] == 0xff && jpeg[head + 1] == 0xda))
        head += 2 + ((size_t)jpeg[head + 2] << 8 | jpeg[head + 3]);
    memcpy(bomb, jpeg, head);
    size_t n = head;
    for (size_t i = 0; i < count; i++) {
        static const uint8_t seg[10] = {0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0};
        memcpy(bomb + n, seg, sos);
        n += sos;
    }
    clock_t t0 = clock();
    check_corrupt(bomb, n, "1000 scans");
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    free(bomb);
}

int main(void)
{
    size_t size = 0;
    uint8_t *jpeg = fg_test_read(fg_test_shared("golden/single640.jpg"), &size);
    CHECK(jpeg != NULL && size > 1000);
    if (!jpeg) return fg_test_done();
    check_garbage(jpeg, size, 0, "random bytes mid-scan");
    check_garbage(jpeg, size, 0x00, "zeros mid-scan");
    check_scan_bomb(jpeg, size);
    free(jpeg);
    return fg_test_done();
}
