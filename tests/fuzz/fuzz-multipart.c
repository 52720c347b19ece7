/*
 * fuzz-multipart.c - multipart/form-data bodies (multipart.c), and the fields and images a
 * route reads out of them. The input is the Content-Type header, a newline, then the body.
 * Parts lie inside the body; failures are 400 bad_multipart (or another HTTP error).
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    char content_type[512];
    size_t ct_len = nl ? (size_t)(nl - data) : 0;
    fg_part *parts = NULL;
    fg_http_error e = {0};
    size_t n = 0, body_len;
    const uint8_t *body;
    if (!nl || ct_len >= sizeof content_type) return 0;
    memcpy(content_type, data, ct_len);
    content_type[ct_len] = 0;
    body = nl + 1;
    body_len = size - ct_len - 1;

    if (fg_multipart_parse(content_type, (const char *)body, body_len, &parts, &n, &e) == 0) {
        FG_FUZZ_CHECK(n <= FG_MULTIPART_MAX_PARTS);
        for (size_t i = 0; i < n; i++)
            FG_FUZZ_CHECK(parts[i].value.size <= body_len && parts[i].value.data &&
                          parts[i].value.data[parts[i].value.size] == 0);
        fg_parts_free(parts, n);
    } else {
        FG_FUZZ_CHECK(!parts && e.status == 400 && e.message[0]);
    }

    fg_request *req = fg_fuzz_request(FG_BODY_MULTIPART, content_type, body, body_len);
    const char *text = NULL;
    fg_blob *images = NULL;
    fg_req_text(req, "username", &text, &e);
    if (fg_req_images(req, "image", 5, &images, &n, &e) == 0) fg_blobs_free(images, n);
    fg_fuzz_request_free(req);
    return 0;
}

void fg_fuzz_seeds(void)
{
    static const char *const seeds[] = {
        ("multipart/form-data; boundary=XyZ\n"
         "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nobama\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
         "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0JFIF\r\n--XyZ--\r\n"),
        ("multipart/form-data; boundary=\"quoted;b\"\n"
         "--quoted;b\r\nContent-Disposition: form-data; name=\"images\"\r\n\r\n"
         "data:image/png;base64,iVBORw0KGgo=\r\n--quoted;b  \r\n"
         "Content-Disposition: form-data; name=\"images\"; filename=\"b\\\".png\"\r\n\r\n"
         "\x89PNG\r\n--quoted;b--"),
        "multipart/form-data; boundary=b\n--b--\r\n",
        "multipart/form-data\n--b\r\n\r\nx\r\n--b--",
    };
    fg_fuzz_seed_texts(seeds, sizeof seeds / sizeof seeds[0]);
}
