/*
 * fuzz-data-url.c - images sent as text: data URLs (image/jpeg|png|webp;base64,...) and bare
 * base64 in either alphabet, padded or not, with whitespace (fg_decode_image_text). Either an
 * error with a code, status and message, or bytes no longer than 3/4 of the text.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_blob blob = {0};
    fg_http_error e = {0};
    if (fg_decode_image_text((const char *)data, size, &blob, &e) == 0) {
        FG_FUZZ_CHECK(blob.data != NULL && blob.size <= size / 4 * 3 + 3);
        free(blob.data);
    } else {
        FG_FUZZ_CHECK(blob.data == NULL && e.code && e.message[0] && e.status >= 400);
    }
    return 0;
}

void fg_fuzz_seeds(void)
{
    static const char *const seeds[] = {
        "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQ==",
        "data:image/png;charset=x;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1Pe",
        "data:image/webp;base64,UklGRiQAAABXRUJQVlA4IBgAAAAwAQCdASoBAAEAAQAcJaQAA3AA/v3AgAA",
        "DATA:IMAGE/JPG;BASE64,/9j/4AAQ\n SkZJ\tRgAB AQ==",
        "  /9j_4AAQSkZJRgABAQAAAQABAAD-2wBDAAEBAQ",
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png,not-base64",
        "QUJDRA=",
    };
    fg_fuzz_seed_texts(seeds, sizeof seeds / sizeof seeds[0]);
}
