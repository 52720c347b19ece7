/*
 * keys.c - session signing keys (data dir files, or a shared store), their rotation, and the
 * data dir lock.
 */
#include "server/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"

static int key_path(const char *dir, const char *file, char *path, size_t cap, fg_error *err)
{
    if ((size_t)snprintf(path, cap, "%s/%s", dir, file) >= cap)
        return fg_fail(err, FG_EINVAL, "data directory path is too long");
    return FG_OK;
}

static int load_files(const char *data_dir, fg_jwt_keyset *keys, fg_error *err)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    char path[4096];
    int rc;

    memset(keys, 0, sizeof *keys);
    if ((rc = key_path(data_dir, FG_SIGNING_KEY_FILE, path, sizeof path, err)) != FG_OK) return rc;
    if ((rc = fg_keyfile_load(path, seed, sizeof seed, NULL, err)) != FG_OK) return rc;
    fg_jwt_key_from_seed(&keys->keys[0], seed);
    keys->count = 1;
    if ((rc = key_path(data_dir, FG_SIGNING_PREVIOUS_FILE, path, sizeof path, err)) != FG_OK)
        return rc;
    rc = fg_keyfile_read(path, seed, sizeof seed, err);
    if (rc == FG_OK) {
        fg_jwt_key_from_seed(&keys->keys[1], seed);
        /* A rotation cut short leaves both files with one key: publish it once. */
        if (strcmp(keys->keys[1].kid, keys->keys[0].kid) != 0) keys->count = 2;
    } else if (rc == FG_STORE_ENOTFOUND) {
        rc = FG_OK;
    }
    sodium_memzero(seed, sizeof seed);
    return rc;
}

static void keyset_from_seeds(const fg_signing_seeds *seeds, fg_jwt_keyset *keys)
{
    memset(keys, 0, sizeof *keys);
    fg_jwt_key_from_seed(&keys->keys[0], seeds->current);
    keys->count = 1;
    if (seeds->has_previous) {
        fg_jwt_key_from_seed(&keys->keys[1], seeds->previous);
        keys->count = 2;
    }
}

/* The seeds a shared store starts with: the data dir's files if it has them (so a cluster
 * that copied files keeps its sessions), else a new key. */
static int first_seeds(const char *data_dir, fg_signing_seeds *seeds, fg_error *err)
{
    char path[4096];
    int rc;
    memset(seeds, 0, sizeof *seeds);
    if ((rc = key_path(data_dir, FG_SIGNING_KEY_FILE, path, sizeof path, err)) != FG_OK) return rc;
    rc = fg_keyfile_read(path, seeds->current, sizeof seeds->current, err);
    if (rc == FG_STORE_ENOTFOUND) {
        randombytes_buf(seeds->current, sizeof seeds->current);
        return FG_OK;
    }
    if (rc != FG_OK) return rc;
    if ((rc = key_path(data_dir, FG_SIGNING_PREVIOUS_FILE, path, sizeof path, err)) != FG_OK)
        return rc;
    rc = fg_keyfile_read(path, seeds->previous, sizeof seeds->previous, err);
    if (rc == FG_STORE_ENOTFOUND) return FG_OK;
    /* A rotation cut short leaves both files with one key: it is not a previous key. */
    seeds->has_previous =
        rc == FG_OK && sodium_memcmp(seeds->previous, seeds->current, sizeof seeds->current) != 0;
    return rc;
}

static int load_shared(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err)
{
    fg_signing_seeds seeds, first;
    int rc = fg_store_signing_get(store, &seeds, err);
    if (rc == FG_STORE_ENOTFOUND) {
        rc = first_seeds(data_dir, &first, err);
        if (rc == FG_OK) rc = fg_store_signing_init(store, &first, &seeds, err);
        sodium_memzero(&first, sizeof first);
    }
    if (rc == FG_OK) keyset_from_seeds(&seeds, keys);
    sodium_memzero(&seeds, sizeof seeds);
    return rc;
}

int fg_keys_load(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err)
{
    if (store && fg_store_is_shared(store)) return load_shared(data_dir, store, keys, err);
    return load_files(data_dir, keys, err);
}

static int rotate_shared(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err)
{
    fg_signing_seeds seeds;
    uint8_t seed[crypto_sign_SEEDBYTES];
    fg_jwt_keyset current;
    /* The keys exist before they rotate (a cluster rotating before its first start). */
    int rc = load_shared(data_dir, store, &current, err);
    sodium_memzero(&current, sizeof current);
    if (rc != FG_OK) return rc;
    randombytes_buf(seed, sizeof seed);
    rc = fg_store_signing_rotate(store, seed, &seeds, err);
    if (rc == FG_OK && keys) keyset_from_seeds(&seeds, keys);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(&seeds, sizeof seeds);
    return rc;
}

int fg_keys_rotate(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    char current[4096], previous[4096];
    int rc;

    if (store && fg_store_is_shared(store)) return rotate_shared(data_dir, store, keys, err);
    if ((rc = key_path(data_dir, FG_SIGNING_KEY_FILE, current, sizeof current, err)) != FG_OK ||
        (rc = key_path(data_dir, FG_SIGNING_PREVIOUS_FILE, previous, sizeof previous, err)) !=
            FG_OK)
        return rc;
    if ((rc = fg_keyfile_load(current, seed, sizeof seed, NULL, err)) != FG_OK) return rc;
    rc = fg_keyfile_replace(previous, seed, sizeof seed, err);
    if (rc == FG_OK) {
        randombytes_buf(seed, sizeof seed);
        rc = fg_keyfile_replace(current, seed, sizeof seed, err);
    }
    sodium_memzero(seed, sizeof seed);
    if (rc == FG_OK && keys) rc = load_files(data_dir, keys, err);
    return rc;
}

int fg_datadir_lock(const char *data_dir, int *fd, fg_error *err)
{
    char path[4096], pid[32];
    int lock_fd, n;
    *fd = -1;
    if (key_path(data_dir, FG_LOCK_FILE, path, sizeof path, err) != FG_OK) return FG_EINVAL;
    lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd < 0) return fg_fail(err, FG_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        close(lock_fd);
        return fg_fail(err, FG_EIO, "another facegate (pid %ld) is using the data directory %s",
                       (long)fg_datadir_owner(data_dir), data_dir);
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(lock_fd, 0) != 0 || pwrite(lock_fd, pid, (size_t)n, 0) != n) {
        close(lock_fd);
        return fg_fail(err, FG_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    *fd = lock_fd;
    return FG_OK;
}

pid_t fg_datadir_owner(const char *data_dir)
{
    char path[4096], text[32] = {0};
    long pid = 0;
    int fd;
    if (key_path(data_dir, FG_LOCK_FILE, path, sizeof path, NULL) != FG_OK) return 0;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) { /* nobody holds it */
        close(fd);
        return 0;
    }
    if (read(fd, text, sizeof text - 1) > 0) pid = strtol(text, NULL, 10);
    close(fd);
    return pid > 0 ? (pid_t)pid : 0;
}
