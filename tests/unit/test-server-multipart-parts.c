/* test-server-multipart-parts.c - multipart/form-data bodies split into their parts: names,
 * file or text (a filename, or a non-text Content-Type), values byte for byte (binary, empty,
 * containing CRLFs and boundary-like text), a preamble, a quoted boundary, whitespace after a
 * boundary line, headers in any case and order. */
#include <string.h>

#include "harness.h"
#include "server/http.h"

static const char BODY[] =
    "this preamble is ignored\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"username\"\r\n\r\n"
    "obama\r\n"
    "--XyZ  \r\n"
    "Content-Type: image/jpeg\r\n"
    "Content-Disposition: form-data; name=\"image\"; filename=\"a;b\\\".jpg\"\r\n\r\n"
    "\xff\xd8\r\n--Xy\x00\x01\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=images\r\n"
    "Content-Type: application/octet-stream\r\n\r\n"
    "\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n\r\n"
    "\r\n"
    "--XyZ--\r\n"
    "epilogue";

int main(void)
{
    fg_part *parts = NULL;
    size_t n = 0;
    fg_http_error e = {0};
    const char image[] = "\xff\xd8\r\n--Xy\x00\x01";

    CHECK_EQ_INT(fg_multipart_parse("multipart/form-data; charset=utf-8; boundary=XyZ", BODY,
                                    sizeof BODY - 1, &parts, &n, &e),
                 0);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        CHECK(strcmp(parts[0].name, "username") == 0 && !parts[0].is_file);
        CHECK(parts[0].value.size == 5 && memcmp(parts[0].value.data, "obama", 6) == 0);
        CHECK(strcmp(parts[1].name, "image") == 0 && parts[1].is_file);
        CHECK_EQ_INT(parts[1].value.size, sizeof image - 1);
        CHECK(memcmp(parts[1].value.data, image, sizeof image - 1) == 0);
        CHECK(strcmp(parts[2].name, "images") == 0 && parts[2].is_file);
        CHECK_EQ_INT(parts[2].value.size, 0);
        CHECK(strcmp(parts[3].name, "empty") == 0 && !parts[3].is_file);
        CHECK(parts[3].value.size == 0 && parts[3].value.data[0] == 0);
    }
    fg_parts_free(parts, n);

    /* A quoted boundary with a space and a semicolon in it, no preamble, no trailing CRLF. */
    static const char quoted[] = "--a b;c\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
                                 "1\r\n--a b;c--";
    CHECK_EQ_INT(fg_multipart_parse("multipart/form-data; boundary=\"a b;c\"", quoted,
                                    sizeof quoted - 1, &parts, &n, &e),
                 0);
    CHECK(n == 1 && strcmp(parts[0].name, "x") == 0 && parts[0].value.size == 1);
    fg_parts_free(parts, n);

    /* No parts at all is a valid body. */
    CHECK_EQ_INT(
        fg_multipart_parse("multipart/form-data; boundary=b", "--b--\r\n", 7, &parts, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    fg_parts_free(parts, n);
    return fg_test_done();
}
