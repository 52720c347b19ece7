/*
 * keys.h - the session signing keys, and the data directory's lock.
 *
 * The signing key signs new tokens; the previous one, when there is one, is the key before the
 * last `facegate keys rotate` and still verifies the tokens it signed until they expire. Both
 * are Ed25519 seeds. Where they live:
 *   - SQLite (one server): signing.key and signing-previous.key in the data dir, as hex
 *     (fg_keyfile_*). The running server re-reads them on SIGHUP.
 *   - a shared store (PostgreSQL): the database (fg_store_signing_*), sealed under the
 *     descriptor key, so every server signs and verifies with the same keys without copying
 *     files, and a rotation reaches them all (they re-read the keys when notified). The first
 *     server creates them, from the data dir's files if it has some (a cluster that shared
 *     files keeps its sessions), else new; after that the files are not read.
 *
 * facegate.lock is held (flock) by a running `facegate serve` and holds its process id, so the
 * offline commands (restore, rotate-descriptor-key) can refuse to run under a live server and
 * `keys rotate` can tell it to reload.
 */
#ifndef FG_SERVER_KEYS_H
#define FG_SERVER_KEYS_H

#include <sys/types.h>

#include "server/jwt.h"
#include "store/store.h"

#define FG_SIGNING_KEY_FILE "signing.key"
#define FG_SIGNING_PREVIOUS_FILE "signing-previous.key"
#define FG_ADMIN_TOKEN_FILE "admin.token"
#define FG_LOCK_FILE "facegate.lock"

/* Loads the keys: from a shared store (created there on first use, see above), else from
 * signing.key (created on first run) and signing-previous.key (if present). store may be NULL
 * (files). */
int fg_keys_load(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err);

/* A new signing key; the current one becomes the previous one, and tokens of the key before it
 * no longer verify. Files: signing.key moves to signing-previous.key and a new signing.key is
 * written (each step an atomic rename). Shared store: one update that every server is told of.
 * Fills *keys with the new set (may be NULL). */
int fg_keys_rotate(const char *data_dir, fg_store *store, fg_jwt_keyset *keys, fg_error *err);

/* Takes the data dir's lock for this process (writing its pid into the file); *fd stays open
 * while the lock is held (close it to release). Fails when another process holds it. */
int fg_datadir_lock(const char *data_dir, int *fd, fg_error *err);

/* The pid of the process holding the data dir's lock, or 0 when nobody holds it. */
pid_t fg_datadir_owner(const char *data_dir);

#endif
