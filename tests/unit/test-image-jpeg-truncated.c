/*
 * test-image-jpeg-truncated.c - a JPEG cut short is FG_EIMAGE_CORRUPT, not a half-grey image
 * (libjpeg only warns "Premature end of JPEG file" and fills the rest with grey).
 */
#include <stdlib.h>

#include "harness.h"
#include "facegate.h"

static void check_cut(const uint8_t *jpeg, size_t cut)
{
    fg_image img = {0};
    fg_error err = {0};
    int rc = fg_image_decode(jpeg, cut, 0, &img, &err);
    CHECKF(rc == FG_EIMAGE_CORRUPT, "cut at %zu: %d (%s)", cut, rc, err.message);
    CHECK(err.message[0] != '\0');
    CHECK(img.rgb == NULL && img.width == 0);
    if (cut > 1000) printf("cut at %zu: %s\n", cut, err.message);
}

int main(void)
{
    size_t size = 0;
    uint8_t *jpeg = fg_test_read(fg_test_shared("golden/single640.jpg"), &size);
    CHECK(jpeg != NULL && size > 1000);
    if (!jpeg) return fg_test_done();
    check_cut(jpeg, size / 2); /* in the entropy-coded data */
    check_cut(jpeg, size - 2); /* only EOI missing: still premature */
    check_cut(jpeg, 3);        /* just the magic */
    check_cut(jpeg, 200);      /* inside the headers */
    free(jpeg);
    return fg_test_done();
}
