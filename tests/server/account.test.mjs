// Sign-up, log-in, sessions, admin and persistence against a real `facegate serve`.
// The tests of this file run in order and share one server and one data dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, call, photo, dataUrl, adminToken, embed, PG_URL, cameraFrame } from './helpers.mjs';

let server;
const tokens = {};

before(async () => {
  // Generous failure limits: this file fails log-ins on purpose (rate-limit.test.mjs tests them).
  // The fixed LFW threshold: these tests pin the API with two or three press photos per person,
  // which the adaptive policy's fallback for so few users refuses (policy.test.mjs tests that).
  server = await startServer({
    args: ['--rate-limit-ip', '64', '--rate-limit-account', '64', '--policy', 'fixed'],
  });
});

after(async () => {
  await server?.stop();
});

function cookieOf(res) {
  return res.headers.get('set-cookie') || '';
}

function login(image, username) {
  const json = { image: dataUrl(cameraFrame(image)) };
  if (username) json.username = username;
  return call(server, 'POST', '/api/v1/login', { json });
}

test('sign up obama with one photo', async () => {
  const res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', display_name: 'Barack', images: [dataUrl(photo('obama/obama.jpg'))] },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.user.username, 'obama');
  assert.equal(res.body.user.display_name, 'Barack');
  assert.equal(res.body.user.faces, 1);
  assert.match(res.body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(res.body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const cookie = cookieOf(res);
  assert.match(cookie, /^fg_session=[\w-]+\.[\w-]+\.[\w-]+;/);
  for (const attr of ['HttpOnly', 'SameSite=Lax', 'Path=/']) assert.ok(cookie.includes(attr), cookie);
  assert.equal(res.headers.get('cache-control'), 'no-store');
});

test('log in with another obama photo → obama', async () => {
  const res = await login('obama/obama1.jpg');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.user.username, 'obama');
  assert.ok(res.body.distance > 0 && res.body.distance < 0.5, `distance ${res.body.distance}`);
  assert.ok(res.body.expires_at);
  assert.match(cookieOf(res), /^fg_session=/);
  tokens.obama = res.body.token;
});

test('concurrent log-ins are all answered correctly', async () => {
  const images = ['obama/obama1.jpg', 'obama/obama2.jpg', 'biden/biden.jpg', 'obama/obama3.jpg'];
  const results = await Promise.all(images.map((image) => login(image)));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 401, 200]);
  assert.deepEqual(results.filter((r) => r.status === 200).map((r) => r.body.user.username),
    ['obama', 'obama', 'obama']);
});

test('a biden photo → 401 no_match', async () => {
  const res = await login('biden/biden.jpg');
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'no_match');
  assert.equal(cookieOf(res), '');
});

test('the seed routes give the seed answers', async () => {
  let res = await call(server, 'POST', '/verify', { json: { image64: dataUrl(photo('obama/obama2.jpg')) } });
  assert.deepEqual([res.status, res.body], [200, { identity: 'obama' }]);
  res = await call(server, 'POST', '/verify', { json: { image64: dataUrl(photo('biden/biden2.jpg')) } });
  assert.deepEqual([res.status, res.body], [200, { identity: 0 }]);
  res = await call(server, 'POST', '/register', {
    json: { username: 'biden', image64: dataUrl(photo('biden/biden.jpg')) },
  });
  assert.deepEqual([res.status, res.body], [200, { status: 200 }]);
  // Bare base64, no data-URL prefix.
  const bare = fs.readFileSync(photo('biden/biden2.jpg')).toString('base64');
  res = await call(server, 'POST', '/verify', { json: { image64: bare } });
  assert.deepEqual([res.status, res.body], [200, { identity: 'biden' }]);
});

test('a duplicate username → 409 username_taken (case-insensitive)', async () => {
  for (const username of ['obama', 'OBAMA']) {
    const res = await call(server, 'POST', '/api/v1/users', {
      json: { username, image: dataUrl(photo('kit_harington/john1.jpeg')) },
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'username_taken');
  }
});

test('the same face under a new name → 409 face_already_enrolled', async () => {
  const res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'barry', images: [dataUrl(photo('obama/obama2.jpg'))] },
  });
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, 'face_already_enrolled');
  assert.doesNotMatch(res.body.error.message, /obama/); // no hint of who
});

test('sign-up by multipart/form-data and by a raw image body', async () => {
  const form = new FormData();
  form.append('username', 'kit');
  form.append('display_name', 'Kit Harington');
  form.append('image', new Blob([fs.readFileSync(photo('kit_harington/john1.jpeg'))],
    { type: 'image/jpeg' }), 'john1.jpeg');
  let res = await call(server, 'POST', '/api/v1/users', { body: form });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.user.display_name, 'Kit Harington');

  res = await call(server, 'POST', '/api/v1/users?username=rose', {
    body: fs.readFileSync(photo('rose_leslie/img2.jpg')),
    headers: { 'content-type': 'image/jpeg' },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.user.username, 'rose');
  assert.equal(res.body.user.display_name, 'rose');
});

test('1:1 log-in: the right username → 200, a wrong one → 401', async () => {
  let res = await login('obama/obama1.jpg', 'obama');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.user.username, 'obama');
  tokens.obamaOneToOne = res.body.token;
  for (const wrong of ['biden', 'nobody']) {
    res = await login('obama/obama1.jpg', wrong);
    assert.equal(res.status, 401, wrong);
    assert.equal(res.body.error.code, 'no_match');
  }
});

test('the token verifies against the JWKS', async () => {
  const jwks = await call(server, 'GET', '/.well-known/jwks.json');
  assert.equal(jwks.status, 200);
  assert.equal(jwks.body.keys.length, 1);
  const jwk = jwks.body.keys[0];
  assert.equal(jwk.kty, 'OKP');
  assert.equal(jwk.crv, 'Ed25519');
  assert.equal(jwk.alg, 'EdDSA');
  assert.equal(Buffer.from(jwk.x, 'base64url').length, 32);

  const [h, c, s] = tokens.obama.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(c, 'base64url'));
  assert.deepEqual(header, { alg: 'EdDSA', typ: 'JWT', kid: jwk.kid });
  const key = crypto.createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  assert.ok(crypto.verify(null, Buffer.from(`${h}.${c}`), key, Buffer.from(s, 'base64url')));
  // A tampered token does not verify.
  const forged = Buffer.from(JSON.stringify({ ...claims, preferred_username: 'biden' })).toString('base64url');
  assert.ok(!crypto.verify(null, Buffer.from(`${h}.${forged}`), key, Buffer.from(s, 'base64url')));

  assert.match(claims.sub, /^[0-9a-f]{32}$/); // the account id
  assert.equal(claims.preferred_username, 'obama');
  assert.equal(claims.name, 'Barack');
  assert.equal(claims.iss, 'facegate');
  assert.equal(claims.exp - claims.iat, 3600);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 120);
  assert.match(claims.jti, /^[\w-]{16,}$/);
});

test('sessions: /me by bearer and by cookie; logout revokes the token', async () => {
  let res = await call(server, 'GET', '/api/v1/me');
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'unauthorized');

  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.obama}` } });
  assert.equal(res.status, 200);
  assert.equal(res.body.user.username, 'obama');

  const fresh = await login('obama/obama1.jpg');
  res = await call(server, 'GET', '/api/v1/me', { headers: { cookie: `fg_session=${fresh.body.token}` } });
  assert.equal(res.status, 200);
  assert.equal(res.body.user.username, 'obama');

  res = await call(server, 'POST', '/api/v1/logout', { headers: { cookie: `fg_session=${fresh.body.token}` } });
  assert.deepEqual([res.status, res.body], [200, { ok: true }]);
  assert.match(cookieOf(res), /fg_session=;.*Max-Age=0/);
  res = await call(server, 'GET', '/api/v1/me', { headers: { cookie: `fg_session=${fresh.body.token}` } });
  assert.equal(res.status, 401);

  // A token signed by someone else's key is refused.
  const [h, c] = tokens.obama.split('.');
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const sig = crypto.sign(null, Buffer.from(`${h}.${c}`), privateKey).toString('base64url');
  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${h}.${c}.${sig}` } });
  assert.equal(res.status, 401);
});

test('add a face: the account holder\'s face is added, other faces are refused', async () => {
  const auth = { authorization: `Bearer ${tokens.obama}` };
  let res = await call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo('obama/obama3.jpg')) }, headers: auth });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.user.faces, 2);
  res = await call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo('biden/biden2.jpg')) }, headers: auth });
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, 'face_already_enrolled');
  res = await call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo('alex_lacamoire/img1.jpg')) }, headers: auth });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'face_mismatch');
  res = await call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo('obama/obama1.jpg')) } });
  assert.equal(res.status, 401);
});

test('admin routes refuse without the admin token and work with it', async () => {
  for (const [method, route] of [['GET', '/api/v1/users'], ['GET', '/api/v1/audit'], ['DELETE', '/api/v1/users/biden']]) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${tokens.obama}` }]) {
      const res = await call(server, method, route, { headers });
      assert.equal(res.status, 401, `${method} ${route} ${JSON.stringify(headers)}`);
      assert.equal(res.body.error.code, 'unauthorized');
    }
  }
  const admin = { authorization: `Bearer ${adminToken(server)}` };
  let res = await call(server, 'GET', '/api/v1/users', { headers: admin });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.users.map((u) => u.username), ['biden', 'kit', 'obama', 'rose']);
  assert.equal(res.body.users.find((u) => u.username === 'obama').faces, 2);

  res = await call(server, 'GET', '/api/v1/audit?limit=50', { headers: admin });
  assert.equal(res.status, 200);
  const events = res.body.events;
  assert.ok(events.length > 10);
  const ok = events.find((e) => e.event === 'login' && e.outcome === 'ok');
  assert.equal(ok.username, 'obama');
  assert.equal(ok.client, '127.0.0.1');
  assert.equal(typeof ok.distance, 'number');
  assert.ok(events.some((e) => e.event === 'login' && e.outcome === 'no_match'));
  assert.ok(events.some((e) => e.event === 'signup' && e.outcome === 'face_already_enrolled'));

  res = await call(server, 'GET', '/api/v1/audit?limit=zero', { headers: admin });
  assert.equal(res.status, 400);
});

test('metrics count requests, latencies, log-ins and users', async () => {
  const res = await call(server, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  assert.match(text, /facegate_http_requests_total\{route="login",status="200"\} [1-9]/);
  assert.match(text, /facegate_http_requests_total\{route="login",status="401"\} [1-9]/);
  assert.match(text, /facegate_http_request_duration_seconds_bucket\{route="login",le="\+Inf"\} [1-9]/);
  assert.match(text, /facegate_http_request_duration_seconds_count\{route="signup"\} [1-9]/);
  assert.match(text, /facegate_logins_total\{outcome="success"\} [1-9]/);
  assert.match(text, /facegate_logins_total\{outcome="no_match"\} [1-9]/);
  assert.match(text, /^facegate_enrolled_users 4$/m);
  assert.match(text, /^facegate_enrolled_templates 5$/m);
});

// The files the store writes: SQLite's in the data dir, or this database's and the WAL in the
// PostgreSQL data dir (FG_TEST_PG_DATA).
function storeFiles() {
  if (!PG_URL) {
    const files = fs.readdirSync(server.dataDir).filter((f) => f.startsWith('facegate.db'));
    assert.ok(files.includes('facegate.db'));
    return files.map((f) => path.join(server.dataDir, f));
  }
  const oid = execFileSync('psql', [server.store, '-qAtc',
    'CHECKPOINT; SELECT oid FROM pg_database WHERE datname = current_database()'],
  { encoding: 'utf8' }).trim();
  const dirs = [path.join(process.env.FG_TEST_PG_DATA, 'base', oid),
    path.join(process.env.FG_TEST_PG_DATA, 'pg_wal')];
  return dirs.flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)))
    .filter((f) => fs.statSync(f).isFile());
}

test('the store files hold no plaintext descriptor', async () => {
  // obama was enrolled from obama.jpg; logging in with the same photo gives distance 0, which
  // shows `facegate embed` computes exactly the stored template.
  const res = await login('obama/obama.jpg');
  assert.equal(res.status, 200);
  assert.equal(res.body.distance, 0);
  const floats = Float32Array.from(embed(photo('obama/obama.jpg')));
  const bytes = Buffer.from(floats.buffer);
  let searched = 0;
  for (const f of storeFiles()) {
    const db = fs.readFileSync(f);
    searched += db.length;
    // Any 4 consecutive floats (16 bytes) of the descriptor, in either byte order.
    for (let k = 0; k + 4 <= 128; k += 4) {
      const le = bytes.subarray(4 * k, 4 * k + 16);
      const be = Buffer.from(le).swap32();
      assert.equal(db.indexOf(le), -1, `${f} holds descriptor floats ${k}..${k + 3}`);
      assert.equal(db.indexOf(be), -1, `${f} holds descriptor floats ${k}..${k + 3} (BE)`);
    }
  }
  assert.ok(searched > 4096);
  // The search itself works: a buffer holding the bytes is found.
  assert.notEqual(Buffer.concat([Buffer.alloc(100), bytes]).indexOf(bytes.subarray(0, 16)), -1);
  // With PostgreSQL the signing key is sealed in the database, shared by every server.
  for (const key of ['descriptor.key', 'admin.token', ...(PG_URL ? [] : ['signing.key'])]) {
    assert.equal(fs.statSync(path.join(server.dataDir, key)).mode & 0o777, 0o600, key);
  }
});

test('after a restart the user still logs in and old sessions stay valid', async () => {
  await server.restart();
  assert.doesNotMatch(server.log(), /admin token/); // printed once, on the first run only
  assert.match(server.log(), /4 users, 5 face templates/);
  let res = await login('obama/obama2.jpg');
  assert.equal(res.status, 200);
  assert.equal(res.body.user.username, 'obama');
  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.obama}` } });
  assert.equal(res.status, 200);
});

test('a deleted user cannot log in', async () => {
  let res = await call(server, 'DELETE', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.obama}` } });
  assert.deepEqual([res.status, res.body], [200, { deleted: 'obama' }]);
  res = await login('obama/obama1.jpg');
  assert.equal(res.status, 401);
  assert.equal(res.body.error.code, 'no_match');
  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.obama}` } });
  assert.equal(res.status, 401);

  const admin = { authorization: `Bearer ${adminToken(server)}` };
  res = await call(server, 'DELETE', '/api/v1/users/biden', { headers: admin });
  assert.deepEqual([res.status, res.body], [200, { deleted: 'biden' }]);
  res = await call(server, 'DELETE', '/api/v1/users/biden', { headers: admin });
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'not_found');
  res = await call(server, 'POST', '/verify', { json: { image64: dataUrl(photo('biden/biden2.jpg')) } });
  assert.deepEqual(res.body, { identity: 0 });

  // The name is free again, and a re-created account does not inherit old (unrevoked) sessions.
  res = await call(server, 'POST', '/api/v1/users', { json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) } });
  assert.equal(res.status, 201);
  res = await call(server, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${tokens.obamaOneToOne}` } });
  assert.equal(res.status, 401);

  res = await call(server, 'GET', '/healthz');
  assert.deepEqual(res.body, { status: 'ok', users: 3, version: res.body.version });
});
