/*
 * test-error-codes-have-names.c - every error code of FG_ERRNO_MAP, the engine's and the
 * store's, has a distinct snake_case name and a text; fg_set_error / fg_fail fill an fg_error
 * (or accept NULL) and truncate long messages.
 */
#include <ctype.h>
#include <string.h>

#include "harness.h"
#include "core/error.h"

int main(void)
{
#define CODE_(symbol, value, name, text) symbol,
    static const int codes[] = {FG_ERRNO_MAP(CODE_)};
#undef CODE_
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *name = fg_error_name(codes[i]);
        CHECK(strcmp(name, "unknown_error") != 0);
        CHECK(strcmp(fg_strerror(codes[i]), "unknown error") != 0);
        for (const char *p = name; *p; p++)
            CHECKF(islower((unsigned char)*p) || *p == '_', "%s", name);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(name, fg_error_name(codes[j])) != 0);
    }
    CHECK(strcmp(fg_error_name(FG_EIMAGE_TOO_LARGE), "image_too_large") == 0);
    CHECK(strcmp(fg_error_name(FG_ENOFACE), "no_face") == 0);
    CHECK(strcmp(fg_error_name(FG_STORE_EUNAVAILABLE), "unavailable") == 0);
    CHECK(strcmp(fg_strerror(FG_STORE_EEXIST), "the name is taken") == 0);
    CHECK(n >= 21);
    CHECK(strcmp(fg_error_name(-999), "unknown_error") == 0);
    CHECK(fg_strerror(12345) != NULL);

    fg_error err = {0};
    CHECK_EQ_INT(fg_fail(&err, FG_EIMAGE_TOO_LARGE, "image is %dx%d", 3, 4), FG_EIMAGE_TOO_LARGE);
    CHECK_EQ_INT(err.code, FG_EIMAGE_TOO_LARGE);
    CHECK(strcmp(err.message, "image is 3x4") == 0);
    CHECK_EQ_INT(fg_fail(NULL, FG_EINVAL, "nobody listens"), FG_EINVAL);
    fg_set_error(NULL, FG_EIO, "nor here");

    char longer[600];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    fg_set_error(&err, FG_EIO, "%s", longer);
    CHECK_EQ_INT(err.code, FG_EIO);
    CHECK_EQ_INT(strlen(err.message), sizeof err.message - 1);
    return fg_test_done();
}
