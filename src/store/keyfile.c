/*
 * keyfile.c - secrets kept as hex text in files of mode 0600, generated on first use.
 *
 * Hex rather than raw bytes so an operator can read the admin token with `cat` and back the
 * keys up with ordinary tools. Creation uses O_EXCL, so two processes starting at once on the
 * same data dir cannot both generate (and disagree about) a key: the loser reads the winner's.
 */
#include "store/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAX_SECRET 64

int fg_keyfile_read(const char *path, uint8_t *secret, size_t len, fg_error *err)
{
    char text[2 * KEYFILE_MAX_SECRET + 8];
    size_t bin_len = 0, used = 0;
    struct stat st;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (len == 0 || len > KEYFILE_MAX_SECRET)
        return fg_fail(err, FG_EINVAL, "key length %zu is out of range", len);
    if (fd < 0)
        return fg_fail(err, errno == ENOENT ? FG_STORE_ENOTFOUND : FG_STORE_EKEY,
                       "cannot open key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fg_fail(err, FG_STORE_EKEY, "key file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return fg_fail(
            err, FG_STORE_EKEY,
            "key file %s has mode %03o: group and others must not read it (chmod 600 %s)", path,
            (unsigned)(st.st_mode & 0777), path);
    }
    while (used < sizeof text - 1 && (got = read(fd, text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)got;
    close(fd);
    text[used] = 0;
    while (used > 0 && (text[used - 1] == '\n' || text[used - 1] == '\r' || text[used - 1] == ' '))
        text[--used] = 0;
    if (used != 2 * len || sodium_hex2bin(secret, len, text, used, NULL, &bin_len, NULL) != 0 ||
        bin_len != len) {
        sodium_memzero(text, sizeof text);
        return fg_fail(err, FG_STORE_EKEY, "key file %s must hold %zu hex digits", path, 2 * len);
    }
    sodium_memzero(text, sizeof text);
    return FG_OK;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t put = write(fd, buf, n);
        if (put < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += put;
        n -= (size_t)put;
    }
    return 0;
}

/* Writes the secret as hex to a new file (fd open for writing); unlinks path on failure. */
static int write_secret(int fd, const char *path, const uint8_t *secret, size_t len, fg_error *err)
{
    char text[2 * KEYFILE_MAX_SECRET + 2];
    int failed;
    sodium_bin2hex(text, sizeof text, secret, len);
    text[2 * len] = '\n';
    failed = fchmod(fd, 0600) != 0 || write_all(fd, text, 2 * len + 1) != 0 || fsync(fd) != 0;
    sodium_memzero(text, sizeof text);
    if (close(fd) != 0) failed = 1;
    if (failed) {
        int saved = errno;
        unlink(path);
        return fg_fail(err, FG_STORE_EKEY, "cannot write key file %s: %s", path, strerror(saved));
    }
    return FG_OK;
}

int fg_keyfile_load(const char *path, uint8_t *secret, size_t len, int *created, fg_error *err)
{
    int fd, rc;

    if (created) *created = 0;
    if (len == 0 || len > KEYFILE_MAX_SECRET)
        return fg_fail(err, FG_EINVAL, "key length %zu is out of range", len);
    if (sodium_init() < 0) return fg_fail(err, FG_ENOMEM, "libsodium failed to start");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return fg_keyfile_read(path, secret, len, err);
        return fg_fail(err, FG_STORE_EKEY, "cannot create key file %s: %s", path, strerror(errno));
    }
    randombytes_buf(secret, len);
    rc = write_secret(fd, path, secret, len, err);
    if (rc != FG_OK) {
        sodium_memzero(secret, len);
        return rc;
    }
    if (created) *created = 1;
    return FG_OK;
}

/* Run as root (an operator's `facegate keys rotate` on a service's data dir), a new key file
 * belongs to whoever owns the directory, so the server running as that user can read it. */
static void give_to_dir_owner(int fd, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;
    if (geteuid() != 0) return;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (stat(dir, &st) == 0 && st.st_uid != 0 && fchown(fd, st.st_uid, st.st_gid) != 0)
        return; /* best effort: the server then says it cannot read the file */
}

int fg_keyfile_replace(const char *path, const uint8_t *secret, size_t len, fg_error *err)
{
    char tmp[4096];
    int fd, rc;
    if (len == 0 || len > KEYFILE_MAX_SECRET)
        return fg_fail(err, FG_EINVAL, "key length %zu is out of range", len);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
        return fg_fail(err, FG_EINVAL, "key file path is too long");
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fg_fail(err, FG_STORE_EKEY, "cannot create key file %s: %s", tmp, strerror(errno));
    give_to_dir_owner(fd, path);
    if ((rc = write_secret(fd, tmp, secret, len, err)) != FG_OK) return rc;
    if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return fg_fail(err, FG_STORE_EKEY, "cannot replace key file %s: %s", path, strerror(saved));
    }
    return FG_OK;
}
