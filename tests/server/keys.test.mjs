// `facegate keys rotate-descriptor-key`: refused while the server runs; with it stopped, every
// template is re-encrypted under a new descriptor.key and the people still log in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, PG_URL, call, photo, startServer } from './helpers.mjs';

const post = (server, route, file) =>
  call(server, 'POST', route, { body: fs.readFileSync(photo(file)), headers: { 'content-type': 'image/jpeg' } });

test('rotate-descriptor-key re-encrypts every template; log-ins still work', {
  skip: PG_URL && 'SQLite only: every server on a PostgreSQL store holds the key',
}, async () => {
  // --policy fixed: two users log in with second photos (the adaptive fallback's case).
  const server = await startServer({ args: ['--policy', 'fixed'] });
  assert.equal((await post(server, '/api/v1/users?username=obama', 'obama/obama.jpg')).status, 201);
  assert.equal((await post(server, '/api/v1/users?username=biden', 'biden/biden.jpg')).status, 201);
  const keyFile = path.join(server.dataDir, 'descriptor.key');
  const before = fs.readFileSync(keyFile, 'utf8');
  const rotate = () =>
    execFileSync(BIN, ['keys', 'rotate-descriptor-key', '--data-dir', server.dataDir], { encoding: 'utf8', stdio: 'pipe' });
  assert.throws(rotate, /stop the server first/);
  await server.stop();

  assert.match(rotate(), /re-encrypted 2 templates/);
  const after = fs.readFileSync(keyFile, 'utf8');
  assert.notEqual(after, before);
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  assert.ok(!fs.existsSync(`${keyFile}.next`));

  // The old key no longer opens the templates: the server refuses to start with it.
  fs.writeFileSync(keyFile, before, { mode: 0o600 });
  await assert.rejects(server.restart(), /does not decrypt/);
  fs.writeFileSync(keyFile, after, { mode: 0o600 });
  await server.restart();
  try {
    const login = await post(server, '/api/v1/login', 'obama/obama1.jpg');
    assert.equal(login.status, 200);
    assert.equal(login.body.user.username, 'obama');
    assert.equal((await post(server, '/api/v1/login', 'biden/biden2.jpg')).body.user.username, 'biden');
  } finally {
    await server.stop();
  }
});
