// The smaller hardening items: the Secure cookie follows HTTPS, a world-readable database is
// refused, the admin token stays out of the log, conflicting Content-Length headers are refused,
// look-alike usernames cannot be created, and the audit log forgets deleted users and old rows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, call, callFrom, photo, dataUrl, adminToken, rawRequest, parseRaw, tempDir,
} from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(args = [], options = {}) {
  // The fixed LFW threshold: these log in with other photos of a sole user, which the adaptive
  // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
  const s = await startServer({ args: [...args, '--policy', 'fixed'], ...options });
  servers.push(s);
  return s;
}

const obama = () => dataUrl(photo('obama/obama.jpg'));

test('the session cookie is Secure whenever the client came over HTTPS', async () => {
  const s = await server(['--trusted-proxy', '127.0.0.1']);
  const cookieOf = (res) =>
    (typeof res.headers.get === 'function' ? res.headers.get('set-cookie') : res.headers['set-cookie']?.[0]) || '';
  let res = await call(s, 'POST', '/api/v1/users', { json: { username: 'obama', image: obama() } });
  assert.equal(res.status, 201);
  assert.doesNotMatch(cookieOf(res), /Secure/, 'plain HTTP: no Secure (the browser would drop it)');
  // The trusted proxy says the client used HTTPS.
  res = await call(s, 'POST', '/api/v1/login', {
    json: { image: dataUrl(photo('obama/obama1.jpg')) }, headers: { 'x-forwarded-proto': 'https' },
  });
  assert.equal(res.status, 200);
  assert.match(cookieOf(res), /; Secure/);
  // The page itself is HTTPS (its Origin says so): behind a TLS terminator nobody declared.
  res = await call(s, 'POST', '/api/v1/logout', { headers: { origin: 'https://127.0.0.1' } });
  assert.equal(res.status, 403); // another origin than the Host...
  res = await call(s, 'POST', '/api/v1/logout', { headers: { origin: `https://${new URL(s.url).host}` } });
  assert.equal(res.status, 200);
  assert.match(cookieOf(res), /; Secure/);
  // A proxy that is not trusted cannot claim HTTPS (nor another client address).
  res = await callFrom(s, '127.0.0.2', 'POST', '/api/v1/login', {
    json: { image: dataUrl(photo('obama/obama1.jpg')) },
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(res.status, 200);
  assert.doesNotMatch(cookieOf(res), /Secure/);
  // Behind the trusted proxy the client address is the one it forwards.
  res = await call(s, 'POST', '/api/v1/login', {
    json: { image: dataUrl(photo('obama/obama1.jpg')) }, headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' },
  });
  assert.equal(res.status, 200);
  const audit = await call(s, 'GET', '/api/v1/audit?limit=1', { headers: { authorization: `Bearer ${adminToken(s)}` } });
  assert.equal(audit.body.events[0].client, '203.0.113.7');
});

test('a facegate.db that others can read is refused, like the key files', async () => {
  const dataDir = tempDir('fg-db-mode-');
  const first = await server([], { dataDir, store: 'sqlite' });
  await first.stop();
  fs.chmodSync(path.join(dataDir, 'facegate.db'), 0o644);
  let failed = null;
  try {
    await startServer({ dataDir, store: 'sqlite' });
  } catch (e) {
    failed = e.message;
  }
  assert.ok(failed, 'the server started on a world-readable database');
  assert.match(failed, /facegate\.db has mode 644.*chmod 600/);
});

test('the admin token is never written to the log stream; only where to find it', async () => {
  const s = await server();
  const token = adminToken(s);
  assert.ok(!s.log().includes(token), 'the admin token is in the log');
  assert.match(s.log(), /admin token .*admin\.token/);
});

test('conflicting Content-Length headers → 400, and the connection is closed', async () => {
  const s = await server();
  const body = '{"image":"AAAA"}';
  for (const lengths of [[body.length, body.length + 5], [body.length, body.length]]) {
    const head = `POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      lengths.map((n) => `Content-Length: ${n}\r\n`).join('') + '\r\n';
    const res = parseRaw(await rawRequest(s, head, body));
    assert.equal(res.status, 400, `${lengths}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'bad_request');
    assert.equal(res.headers.connection, 'close');
  }
  const head = `POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const res = parseRaw(await rawRequest(s, head, body));
  assert.equal(res.status, 400);
});

test('look-alike usernames cannot be created; the rule is case, separators, 0/o and 1/l/i', async () => {
  const s = await server();
  let res = await call(s, 'POST', '/api/v1/users', { json: { username: 'victim', image: obama() } });
  assert.equal(res.status, 201);
  for (const name of ['victim.', '.victim', 'vic..tim', 'victim_', '-victim']) {
    res = await call(s, 'POST', '/api/v1/users', { json: { username: name, image: dataUrl(photo('kit_harington/john1.jpeg')) } });
    assert.equal(res.status, 400, name);
    assert.equal(res.body.error.code, 'invalid_username', name);
  }
  for (const name of ['Victim', 'vic.tim', 'vic_tim', 'v-ictim', 'VICT1M', 'vlctim']) {
    res = await call(s, 'POST', '/api/v1/users', { json: { username: name, image: dataUrl(photo('kit_harington/john1.jpeg')) } });
    assert.equal(res.status, 409, `${name}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'username_taken', name);
  }
  res = await call(s, 'POST', '/api/v1/users', { json: { username: 'john.snow', image: dataUrl(photo('kit_harington/john1.jpeg')) } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
});

test('deleting an account pseudonymises its audit rows; old rows go after --audit-retention-days', async () => {
  const dataDir = tempDir('fg-audit-');
  let s = await server([], { dataDir });
  const admin = { authorization: `Bearer ${adminToken(s)}` };
  let res = await call(s, 'POST', '/api/v1/users', { json: { username: 'leaver', image: obama() } });
  assert.equal(res.status, 201);
  const token = res.body.token;
  res = await callFrom(s, '127.0.0.2', 'POST', '/api/v1/login', { json: { image: dataUrl(photo('obama/obama1.jpg')) } });
  assert.equal(res.status, 200);
  res = await call(s, 'DELETE', '/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const audit = await call(s, 'GET', '/api/v1/audit', { headers: admin });
  assert.ok(audit.body.events.length >= 3);
  for (const e of audit.body.events) {
    assert.notEqual(e.username, 'leaver', JSON.stringify(e));
    assert.ok(!['127.0.0.1', '127.0.0.2'].includes(e.client), JSON.stringify(e));
  }
  assert.ok(audit.body.events.every((e) => /^deleted-[0-9a-f]{8}$/.test(e.username)));
  // Rows older than the retention are deleted (at start and hourly): age them by hand.
  await s.stop();
  const age = 'UPDATE audit SET time = time - 11 * 86400';
  if (s.store === 'sqlite') {
    execFileSync('python3', ['-c', `import sqlite3; db = sqlite3.connect('${path.join(dataDir, 'facegate.db')}'); ` +
      `db.execute("${age}"); db.commit()`]);
  } else {
    execFileSync('psql', [s.store, '-qc', age]);
  }
  s = await server(['--audit-retention-days', '10'], { dataDir, store: s.store });
  res = await call(s, 'GET', '/api/v1/audit', { headers: admin });
  assert.deepEqual(res.body.events, []);
});
