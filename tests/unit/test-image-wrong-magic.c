/*
 * test-image-wrong-magic.c - bytes that are not JPEG, PNG or WebP are FG_EIMAGE_FORMAT, and the
 * message shows what the bytes started with.
 */
#include <string.h>

#include "harness.h"
#include "image/image.h"

static void check_format_error(const char *bytes, size_t size, const char *expected_in_message)
{
    fg_image img = {0};
    fg_error err = {0};
    CHECK_EQ_INT(fg_image_decode(bytes, size, 0, &img, &err), FG_EIMAGE_FORMAT);
    CHECK_EQ_INT(err.code, FG_EIMAGE_FORMAT);
    CHECKF(strstr(err.message, expected_in_message) != NULL, "message \"%s\" lacks \"%s\"",
           err.message, expected_in_message);
    CHECK(img.rgb == NULL);
}

int main(void)
{
    const char *html = "<html><body>not an image</body></html>";
    check_format_error(html, strlen(html),
                       "not a JPEG, PNG or WebP image (starts with 3c 68 74 6d)");
    check_format_error("GIF89a\1\0\1\0", 10, "47 49 46 38");
    check_format_error("\xff\xd8", 2, "ff d8");                /* too short for the JPEG magic */
    check_format_error("RIFF\4\0\0\0WAVE", 12, "52 49 46 46"); /* RIFF, but not WebP */
    check_format_error("\x89PNG\r\n\x1a", 7, "89 50 4e 47");

    CHECK_EQ_INT(fgi_sniff("\xff\xd8\xff\xe0", 4), FGI_FORMAT_JPEG);
    CHECK_EQ_INT(fgi_sniff("\x89PNG\r\n\x1a\n", 8), FGI_FORMAT_PNG);
    CHECK_EQ_INT(fgi_sniff("RIFF\0\0\0\0WEBP", 12), FGI_FORMAT_WEBP);
    CHECK_EQ_INT(fgi_sniff(html, strlen(html)), FGI_FORMAT_UNKNOWN);
    CHECK_EQ_INT(fgi_sniff(NULL, 0), FGI_FORMAT_UNKNOWN);
    CHECK(strcmp(fgi_format_name(FGI_FORMAT_WEBP), "WebP") == 0);
    return fg_test_done();
}
