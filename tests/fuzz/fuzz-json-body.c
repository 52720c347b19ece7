/*
 * fuzz-json-body.c - a JSON request body as the sign-up route reads it: the object parsed once
 * (jansson, duplicate keys refused), text fields ("username", "display_name") and 1..5 images
 * ("images" array or "image", data URLs or base64). Every failure is an HTTP error with a code;
 * a success gives 1..5 images.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fg_request *req = fg_fuzz_request(FG_BODY_JSON, "application/json", data, size);
    fg_http_error e = {0};
    const char *text = NULL;
    fg_blob *images = NULL;
    size_t n = 0;
    if (fg_req_text(req, "username", &text, &e) == 0 && text) FG_FUZZ_CHECK(strlen(text) < size);
    fg_req_text(req, "display_name", &text, &e);
    if (fg_req_images(req, "image", 5, &images, &n, &e) == 0) {
        FG_FUZZ_CHECK(images && n >= 1 && n <= 5);
        fg_blobs_free(images, n);
    } else {
        FG_FUZZ_CHECK(!images && e.code && e.status >= 400);
    }
    fg_fuzz_request_free(req);
    return 0;
}

void fg_fuzz_seeds(void)
{
    static const char *const seeds[] = {
        ("{\"username\":\"obama\",\"display_name\":\"Barack\",\"images\":["
         "\"data:image/jpeg;base64,/9j/4AAQ\",\"/9j/4AAQ\"]}"),
        "{\"username\":\"obama\",\"image\":\"data:image/png;base64,iVBORw0KGgo=\"}",
        "{\"image64\":\"QUJD\",\"username\":null,\"images\":null}",
        "{\"username\":42,\"images\":[1,2]}",
        "{\"a\":1,\"a\":2}",
        "[\"not an object\"]",
        "{\"username\":\"a\\u0000b\",\"image\":\"\"}",
    };
    fg_fuzz_seed_texts(seeds, sizeof seeds / sizeof seeds[0]);
}
