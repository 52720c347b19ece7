// `facegate backup` while sign-ups keep arriving, then `facegate restore` into a fresh data dir:
// every user whose sign-up was acknowledged before the backup started logs in on the restored
// server. Also: restore refuses a data dir that has a database or a running server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BIN, SHARED, PG_URL, call, startServer, tempDir } from './helpers.mjs';

const run = promisify(execFile);
const LFW = path.join(SHARED, 'faces/lfw_view1');
const KEY_FILES = ['descriptor.key', 'signing.key', 'signing-previous.key', 'admin.token'];

/** One photo each of `count` different people (LFW folder names are the people). */
function people(count) {
  return fs
    .readdirSync(LFW)
    .filter((name) => fs.statSync(path.join(LFW, name)).isDirectory())
    .sort()
    .filter((_, i) => i % 97 === 0) // spread over the alphabet
    .slice(0, count)
    .map((name) => ({
      username: name.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 60),
      photo: path.join(LFW, name, fs.readdirSync(path.join(LFW, name)).sort()[0]),
    }));
}

const signUp = (server, person) =>
  call(server, 'POST', `/api/v1/users?username=${encodeURIComponent(person.username)}`, {
    body: fs.readFileSync(person.photo),
    headers: { 'content-type': 'image/jpeg' },
  });

test('backup during a sign-up load, restore into a fresh data dir: everyone acknowledged before logs in', {
  timeout: 180_000,
  skip: PG_URL && 'SQLite backups: a PostgreSQL store is backed up with its own tools',
}, async (t) => {
  const args = ['--min-face', '40'];
  const server = await startServer({ args });
  const queue = people(24);
  assert.ok(queue.length >= 20, `found ${queue.length} LFW people`);
  const acked = []; // { person, at }
  let backupStarted = Infinity;
  let backupDone;

  const worker = async () => {
    for (let person = queue.shift(); person; person = queue.shift()) {
      const res = await signUp(server, person);
      if (res.status === 201) acked.push({ person, at: Date.now() });
      if (acked.length >= 6 && !backupDone) {
        backupStarted = Date.now();
        const before = acked.filter((a) => a.at <= backupStarted).map((a) => a.person);
        const file = path.join(tempDir(), 'facegate-backup.db');
        backupDone = run(BIN, ['backup', file, '--data-dir', server.dataDir]).then(({ stdout }) => ({ stdout, file, before }));
      }
    }
  };
  let stdout, file, before;
  try {
    await Promise.all([worker(), worker()]); // two concurrent sign-up streams
    ({ stdout, file, before } = await backupDone);
  } finally {
    await server.stop();
  }
  assert.ok(before.length >= 6);
  t.diagnostic(`${acked.length} sign-ups acknowledged, ${before.length} before the backup started`);
  assert.ok(acked.some((a) => a.at > backupStarted), 'sign-ups went on while the backup ran');
  assert.match(stdout, /descriptor\.key/);
  assert.match(stdout, /signing\.key/);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  const fresh = path.join(tempDir(), 'restored');
  execFileSync(BIN, ['restore', file, '--data-dir', fresh]);
  for (const name of KEY_FILES) {
    const from = path.join(server.dataDir, name);
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(fresh, name));
  }
  assert.throws(() => execFileSync(BIN, ['restore', file, '--data-dir', fresh], { stdio: 'pipe' }), /cannot create/);

  const restored = await startServer({ args, dataDir: fresh });
  try {
    assert.throws(
      () => execFileSync(BIN, ['restore', file, '--data-dir', fresh], { stdio: 'pipe' }),
      /stop the server first/,
    );
    for (const person of before) {
      const res = await call(restored, 'POST', `/api/v1/login?username=${encodeURIComponent(person.username)}`, {
        body: fs.readFileSync(person.photo),
        headers: { 'content-type': 'image/jpeg' },
      });
      assert.equal(res.status, 200, `${person.username} logs in after the restore`);
      assert.equal(res.body.user.username, person.username);
    }
  } finally {
    await restored.stop();
  }
});

test('restore refuses a file that is not a facegate backup', async () => {
  const dir = tempDir();
  const junk = path.join(dir, 'junk.db');
  fs.writeFileSync(junk, 'not a database at all, just text');
  assert.throws(
    () => execFileSync(BIN, ['restore', junk, '--data-dir', path.join(dir, 'data')], { stdio: 'pipe' }),
    /not an SQLite database|not a facegate database|damaged/,
  );
});
