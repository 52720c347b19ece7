/*
 * load.c - fg_image_load: read a whole file, then decode it from memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "image/image.h"

/* No legitimate image within FG_DEFAULT_MAX_PIXELS comes close; refuse before reading it all. */
#define FGI_MAX_FILE_BYTES ((off_t)1 << 30)

/* Reads path into a malloc'd buffer (*bytes, *size); FG_EIO with the OS reason on failure. */
static int read_file(const char *path, uint8_t **bytes, size_t *size, fg_error *err)
{
    int rc = FG_OK;
    uint8_t *buf = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fg_fail(err, FG_EIO, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = fg_fail(err, FG_EIO, "cannot stat %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fg_fail(err, FG_EIO, "%s is not a regular file", path);
        goto fail;
    }
    if (st.st_size > FGI_MAX_FILE_BYTES) {
        rc = fg_fail(err, FG_EIMAGE_TOO_LARGE, "%s is %lld bytes, more than the %lld-byte limit",
                     path, (long long)st.st_size, (long long)FGI_MAX_FILE_BYTES);
        goto fail;
    }
    size_t want = (size_t)st.st_size, got = 0;
    buf = malloc(want ? want : 1);
    if (!buf) {
        rc = fg_fail(err, FG_ENOMEM, "out of memory reading %s (%zu bytes)", path, want);
        goto fail;
    }
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = fg_fail(err, FG_EIO, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0) break; /* the file shrank while we read it: decode what is there */
        got += (size_t)n;
    }
    close(fd);
    *bytes = buf;
    *size = got;
    return FG_OK;
fail:
    free(buf);
    close(fd);
    return rc;
}

int fgi_image_load_on(const char *path, uint64_t max_pixels, const fgi_runner *on, fg_image *out,
                      fg_error *err)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!out) return fg_fail(err, FG_EINVAL, "fg_image_load: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return fg_fail(err, FG_EINVAL, "fg_image_load: path is NULL");
    int rc = read_file(path, &bytes, &size, err);
    if (rc != FG_OK) return rc;
    rc = fgi_image_decode_on(bytes, size, max_pixels, 0, on, out, NULL, err);
    free(bytes);
    return rc;
}

int fg_image_load(const char *path, uint64_t max_pixels, fg_image *out, fg_error *err)
{
    return fgi_image_load_on(path, max_pixels, NULL, out, err);
}
