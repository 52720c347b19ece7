/*
 * fg-rgb - decodes an image with facegate's decoder (EXIF orientation applied) and writes it to
 * stdout as a binary PPM (P6). The golden generator (tests/golden/make-human-goldens.mjs) feeds
 * the reference these exact pixels, so both sides see identical input.
 */
#include <stdio.h>

#include "facegate.h"

int main(int argc, char **argv)
{
    fg_image img = {0};
    fg_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: fg-rgb IMAGE > out.ppm\n");
        return 2;
    }
    if (fg_image_load(argv[1], 0, &img, &err) != FG_OK) {
        fprintf(stderr, "fg-rgb: %s: %s\n", argv[1], err.message);
        return 1;
    }
    printf("P6\n%d %d\n255\n", img.width, img.height);
    size_t n = (size_t)img.width * img.height * 3;
    int ok = fwrite(img.rgb, 1, n, stdout) == n;
    fg_image_free(&img);
    return ok ? 0 : 1;
}
