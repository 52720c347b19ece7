/* test-server-multipart-malformed.c - malformed multipart/form-data bodies are 400
 * bad_multipart with a message saying what is wrong, and leave nothing allocated: no boundary
 * in the Content-Type, one too long, no boundary line in the body, a part cut short, headers
 * that never end, no form-data name, a boundary line not followed by a newline, more than
 * FG_MULTIPART_MAX_PARTS parts, a name longer than 63 bytes. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "server/http.h"

static void malformed(const char *what, const char *type, const char *body, size_t len,
                      const char *reason)
{
    fg_part *parts = (fg_part *)1;
    size_t n = 99;
    fg_http_error e = {0};
    CHECKF(fg_multipart_parse(type, body, len, &parts, &n, &e) == -1, "%s: accepted", what);
    CHECKF(parts == NULL && n == 0, "%s: left parts", what);
    CHECKF(e.status == 400 && strcmp(e.code, "bad_multipart") == 0, "%s: %d %s", what, e.status,
           e.code);
    CHECKF(strstr(e.message, reason) != NULL, "%s: \"%s\" lacks \"%s\"", what, e.message, reason);
}

#define M(what, type, body, reason) malformed(what, type, body, sizeof body - 1, reason)

int main(void)
{
    const char *t = "multipart/form-data; boundary=b";
    char many[4096], longname[256];
    size_t len = 0;

    M("no boundary parameter", "multipart/form-data", "--b\r\n\r\nx\r\n--b--", "no boundary");
    M("an empty boundary", "multipart/form-data; boundary=", "--\r\n", "no boundary");
    M("a boundary of 71 characters",
      "multipart/form-data; boundary="
      "12345678901234567890123456789012345678901234567890123456789012345678901",
      "x", "longer than 70");
    M("no boundary line", t, "just text", "no \"--b\" boundary line");
    M("a part cut short", t, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",
      "not closed");
    M("headers that never end", t, "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n",
      "headers do not end");
    M("no name", t, "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "name=");
    M("not form-data", t, "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
      "not form-data");
    M("no Content-Disposition", t, "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
      "no Content-Disposition");
    M("a boundary line with junk after it", t, "--bjunk\r\n\r\nx\r\n--b--", "not followed");

    for (int i = 0; i <= FG_MULTIPART_MAX_PARTS; i++)
        len += (size_t)snprintf(many + len, sizeof many - len,
                                "--b\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\n%d\r\n",
                                i, i);
    len += (size_t)snprintf(many + len, sizeof many - len, "--b--");
    malformed("17 parts", t, many, len, "more than 16 parts");

    len = (size_t)snprintf(
        longname, sizeof longname,
        "--b\r\nContent-Disposition: form-data; name=\"%064d\"\r\n\r\nx\r\n--b--", 0);
    malformed("a 64-byte name", t, longname, len, "longer than 63");
    return fg_test_done();
}
