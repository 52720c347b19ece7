// Several servers, one truth: two `facegate serve` processes on one PostgreSQL database (each
// with its own data dir holding a copy of the descriptor key and the admin token; the signing
// keys and the failed-attempt limits are the database's). Runs when FG_TEST_PG_URL is set
// (scripts/test.sh's PostgreSQL pass); skipped on SQLite, which one server owns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, call, callFrom, photo, dataUrl, cameraFrame, adminToken, newDatabase, tempDir,
  PG_URL, SHARED, ROOT, BIN,
} from './helpers.mjs';

const skip = PG_URL ? false : 'needs PostgreSQL (FG_TEST_PG_URL; scripts/test.sh server)';
// --policy fixed: two or three people log in with second press photos, which the adaptive
// policy's fallback for so few users refuses (policy.test.mjs tests the adaptive policy).
// --signup-limit: every sign-up here comes from 127.0.0.1, and the burst below alone makes up
// to 24 (the per-address sign-up budget is tested in oracles.test.mjs).
const ARGS = ['--rate-limit-ip', '64', '--rate-limit-account', '64', '--signup-limit', '1000',
  '--workers', '1', '--policy', 'fixed'];
let a;
let b;

const others = [];

/** Two servers on one new database (or `store`): B gets its own data dir (a running server
 * locks its own) with A's descriptor key and admin token copied, as an operator would; nothing
 * else (the signing keys are in the database). */
async function startPair(args, store = newDatabase()) {
  const first = await startServer({ store, args });
  const dir = tempDir();
  for (const f of ['descriptor.key', 'admin.token']) {
    fs.copyFileSync(path.join(first.dataDir, f), path.join(dir, f));
    fs.chmodSync(path.join(dir, f), 0o600);
  }
  const second = await startServer({ store, dataDir: dir, args });
  return [first, second];
}

before(async () => {
  if (skip) return;
  [a, b] = await startPair(ARGS);
});

after(async () => {
  await Promise.all([a, b, ...others].filter(Boolean).map((s) => s.stop()));
});

const signup = (server, username, image) =>
  call(server, 'POST', '/api/v1/users', { json: { username, image: dataUrl(image) } });
// Log-ins send camera frames (at most --frame-max-pixels): rel is a portrait (photo()'s path).
const login = (server, rel) =>
  call(server, 'POST', '/api/v1/login', { json: { image: dataUrl(cameraFrame(rel)) } });
const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

async function templates(server) {
  const res = await call(server, 'GET', '/metrics');
  return Number(/^facegate_enrolled_templates (\d+)$/m.exec(res.body)[1]);
}

/** Polls until cond() holds; resolves the milliseconds it took, or fails after limitMs. */
async function within(limitMs, cond, what) {
  const started = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - started;
    if (Date.now() - started > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An LFW photo of a person (one of many distinct people for bursts). */
function lfwPeople(count) {
  const dir = path.join(SHARED, 'faces/lfw_view1');
  return fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, `${n}_0001.jpg`)))
    .slice(0, count).map((n) => ({ name: n, file: path.join(dir, n, `${n}_0001.jpg`) }));
}

function pgCtl(action) {
  execFileSync('bash', ['-c', `. ${ROOT}/scripts/postgres.sh && pg_ctl_run ${action}`],
    { stdio: 'ignore' });
}

/** Starts attempt() until ok(result), each start within limitMs of t0 (a log-in's own face work
 * may end later: "within 1 s" is when the attempt is made). Resolves the result that was ok. */
async function attemptWithin(t0, limitMs, attempt, ok, what) {
  for (;;) {
    const started = Date.now();
    if (started - t0 > limitMs) assert.fail(`${what}: no attempt within ${limitMs} ms succeeded`);
    const res = await attempt();
    if (ok(res)) return res;
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a sign-up on A logs in on B within 1 s; the session works on both', { skip }, async () => {
  const before = await templates(b);
  const res = await signup(a, 'obama', photo('obama/obama.jpg'));
  assert.equal(res.status, 201);
  const acked = Date.now();
  const loggedIn = await attemptWithin(acked, 1000, () => login(b, 'obama/obama1.jpg'),
    (r) => r.status === 200, 'log-in on B');
  assert.equal(loggedIn.body.user.username, 'obama');
  assert.equal(await templates(b), before + 1);
  // One signing key for all, from the database: A's token opens B, B's opens A, and no server
  // has a key file.
  assert.equal((await call(b, 'GET', '/api/v1/me', bearer(res.body.token))).status, 200);
  assert.equal((await call(a, 'GET', '/api/v1/me', bearer(loggedIn.body.token))).status, 200);
  for (const server of [a, b]) {
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'signing.key')), server.dataDir);
  }
});

const kidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url')).kid;
const jwks = async (server) =>
  (await call(server, 'GET', '/.well-known/jwks.json')).body.keys.map((k) => k.kid);

test('keys rotate on A: every server signs with the new key; older tokens verify until the next rotation', { skip }, async () => {
  const old = (await login(a, 'obama/obama1.jpg')).body.token;
  const before = kidOf(old);
  assert.deepEqual(await jwks(b), [before]);
  const out = execFileSync(BIN, ['keys', 'rotate', '--data-dir', a.dataDir, '--store', a.store],
    { encoding: 'utf8' });
  assert.match(out, /new signing key/);
  const next = /new signing key (\S+);/.exec(out)[1];
  // B was not signalled (another data dir): it learns of the rotation from the database.
  for (const server of [a, b]) {
    await within(2000, async () => (await jwks(server)).join() === [next, before].join(),
      'JWKS lists the new key first, then the previous one');
  }
  const fresh = (await login(a, 'obama/obama1.jpg')).body.token;
  assert.equal(kidOf(fresh), next);
  assert.equal(kidOf((await login(b, 'obama/obama1.jpg')).body.token), next);
  for (const server of [a, b]) {
    assert.equal((await call(server, 'GET', '/api/v1/me', bearer(fresh))).status, 200);
    assert.equal((await call(server, 'GET', '/api/v1/me', bearer(old))).status, 200);
  }
  // The next rotation, from B's data dir, drops the oldest key everywhere.
  execFileSync(BIN, ['keys', 'rotate', '--data-dir', b.dataDir, '--store', b.store]);
  for (const server of [a, b]) {
    await within(2000, async () => (await jwks(server)).length === 2 &&
      (await jwks(server))[1] === next, 'the second rotation reached the server');
    assert.equal((await call(server, 'GET', '/api/v1/me', bearer(old))).status, 401);
    assert.equal((await call(server, 'GET', '/api/v1/me', bearer(fresh))).status, 200);
  }
});

test('a token revoked on A is refused on B', { skip }, async () => {
  const res = await login(a, 'obama/obama2.jpg');
  assert.equal(res.status, 200);
  assert.equal((await call(b, 'GET', '/api/v1/me', bearer(res.body.token))).status, 200);
  assert.equal((await call(a, 'POST', '/api/v1/logout', bearer(res.body.token))).status, 200);
  const me = await call(b, 'GET', '/api/v1/me', bearer(res.body.token));
  assert.equal(me.status, 401);
  assert.match(me.body.error.message, /logged out/);
});

test('a deletion on A is refused on B within 1 s', { skip }, async () => {
  let res = await signup(a, 'biden', photo('biden/biden.jpg'));
  assert.equal(res.status, 201);
  const token = res.body.token;
  await within(5000, async () => (await login(b, 'biden/biden2.jpg')).status === 200,
    'B logs biden in');
  const before = await templates(b);
  res = await call(a, 'DELETE', '/api/v1/me', bearer(token));
  assert.equal(res.status, 200);
  res = await attemptWithin(Date.now(), 1000, () => login(b, 'biden/biden2.jpg'),
    (r) => r.status === 401, 'refused on B');
  assert.equal(res.body.error.code, 'no_match');
  assert.equal(await templates(b), before - 1);
  assert.equal((await call(b, 'GET', '/api/v1/me', bearer(token))).status, 401);
});

test('one username or one face signed up through A and B at once ends in one account', { skip }, async () => {
  // The same name, two different faces.
  let [ra, rb] = await Promise.all([
    signup(a, 'kit', photo('kit_harington/john1.jpeg')),
    signup(b, 'kit', photo('rose_leslie/img1.jpg')),
  ]);
  assert.deepEqual([ra.status, rb.status].sort(), [201, 409], `${ra.status} ${rb.status}`);
  assert.equal((ra.status === 409 ? ra : rb).body.error.code, 'username_taken');
  // The same face, two names (two faces, for two chances to overlap in the database).
  const faces = [['lin', 'manuel', 'lin_manuel_miranda/lin-manuel-miranda.png'],
    ['joe', 'joseph', 'biden/biden.jpg']];
  for (const [first, second, image] of faces) {
    [ra, rb] = await Promise.all([signup(a, first, photo(image)), signup(b, second, photo(image))]);
    assert.deepEqual([ra.status, rb.status].sort(), [201, 409], `${image}: ${ra.status} ${rb.status}`);
    assert.equal((ra.status === 409 ? ra : rb).body.error.code, 'face_already_enrolled');
  }
  const users = await call(a, 'GET', '/api/v1/users', bearer(adminToken(a)));
  const names = users.body.users.map((u) => u.username);
  assert.equal(names.filter((n) => n === 'kit').length, 1);
  for (const [first, second] of faces) {
    assert.equal(names.filter((n) => n === first || n === second).length, 1);
  }
});

test('kill -9 of A during a sign-up burst loses no acknowledged sign-up', { skip }, async () => {
  const people = lfwPeople(24);
  const acked = [];
  const burst = people.map(async (p, i) => {
    await new Promise((r) => setTimeout(r, 40 * i));
    try {
      const res = await signup(a, `burst_${i}`, p.file);
      if (res.status === 201) acked.push(`burst_${i}`);
    } catch { /* the connection died with A */ }
  });
  await new Promise((r) => setTimeout(r, 1500));
  await a.kill();
  await Promise.all(burst);
  assert.ok(acked.length >= 1 && acked.length < people.length,
    `killed mid-burst: ${acked.length} of ${people.length} acknowledged`);
  const users = await call(b, 'GET', '/api/v1/users', bearer(adminToken(b)));
  const names = new Set(users.body.users.map((u) => u.username));
  for (const name of acked) assert.ok(names.has(name), `${name} was acknowledged, then lost`);
  await a.restart();
  assert.equal((await call(a, 'GET', '/healthz')).body.users, users.body.users.length);
});

test('stopping PostgreSQL gives 503; both servers recover when it is back', { skip }, async () => {
  pgCtl('stop');
  try {
    for (const server of [a, b]) {
      let res = await call(server, 'GET', '/healthz');
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'unavailable');
      res = await login(server, 'obama/obama3.jpg');
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.headers.get('retry-after'), '1');
      res = await signup(server, 'alex', photo('alex_lacamoire/alex_lacamoire1.jpg'));
      assert.equal(res.status, 503);
    }
  } finally {
    pgCtl('start');
  }
  for (const server of [a, b]) {
    await within(5000, async () => (await call(server, 'GET', '/healthz')).status === 200,
      'healthz back');
    assert.equal((await login(server, 'obama/obama3.jpg')).status, 200);
  }
  // The feed is back too: a sign-up on B reaches A.
  const before = await templates(a);
  assert.equal((await signup(b, 'alex', photo('alex_lacamoire/alex_lacamoire1.jpg'))).status, 201);
  await within(1000, async () => (await templates(a)) === before + 1, 'A sees B\'s sign-up');
});

test('a bulk import reaches both running servers, and a restarted server loads it', { skip }, async () => {
  const users = (await call(a, 'GET', '/healthz')).body.users;
  const [beforeA, beforeB] = [await templates(a), await templates(b)];
  const out = execFileSync(path.join(path.dirname(BIN), 'bench_store'), ['--store', a.store,
    '--data-dir', a.dataDir, '--templates', String(users + 3000)], { encoding: 'utf8' });
  assert.match(out, new RegExp(`${beforeA + 3000} templates read`));
  await within(2000, async () => (await templates(a)) === beforeA + 3000, 'A sees the import');
  await within(2000, async () => (await templates(b)) === beforeB + 3000, 'B sees the import');
  assert.equal((await login(b, 'obama/obama1.jpg')).body.user.username, 'obama');
  await b.restart();
  assert.equal(await templates(b), beforeB + 3000);
  assert.match(b.log(), new RegExp(`${users + 3000} users, ${beforeB + 3000} face templates`));
});

// The failed-attempt limits are the database's: spread over servers, the attempts of one
// address meet one limit (each server alone would grant its own), and a lockout made through
// one server holds on every other.
const loginFrom = (server, address, rel, username) =>
  callFrom(server, address, 'POST', '/api/v1/login',
    { json: { image: dataUrl(cameraFrame(rel)), ...(username ? { username } : {}) } });

test('failed log-ins spread over A and B hit one limit (429)', { skip }, async () => {
  const pair = await startPair(['--rate-limit-ip', '4', '--workers', '1', '--policy', 'fixed']);
  others.push(...pair);
  const answers = [];
  for (let i = 0; i < 6; i++) {
    answers.push((await loginFrom(pair[i % 2], '127.0.0.2', 'biden/biden.jpg')).status);
  }
  assert.deepEqual(answers, [401, 401, 401, 401, 429, 429]);
  // Another address is not concerned, on either server.
  assert.equal((await loginFrom(pair[1], '127.0.0.3', 'biden/biden.jpg')).status, 401);
});

test('simultaneous failures on A and B cannot overrun the limit: reserved in the database', { skip }, async () => {
  const pair = await startPair(['--rate-limit-ip', '5', '--workers', '1', '--policy', 'fixed']);
  others.push(...pair);
  const all = await Promise.all(Array.from({ length: 16 },
    (_, i) => loginFrom(pair[i % 2], '127.0.0.2', 'biden/biden.jpg')));
  const statuses = all.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join());
  assert.equal(statuses.filter((s) => s === 429).length, 11, statuses.join());
});

test('a lockout made on A holds on B; the owner logs in from another address', { skip }, async () => {
  const pair = await startPair(['--lockout-after', '3', '--rate-limit-ip', '64',
    '--rate-limit-account', '64', '--workers', '1', '--policy', 'fixed']);
  others.push(...pair);
  const [x, y] = pair;
  assert.equal((await call(x, 'POST', '/api/v1/users',
    { json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) } })).status, 201);
  // Three failures of one address on the account, through A, B, A.
  for (const server of [x, y, x]) {
    assert.equal((await loginFrom(server, '127.0.0.2', 'biden/biden.jpg', 'obama')).status, 401);
  }
  for (const server of [y, x]) {
    let res = await loginFrom(server, '127.0.0.2', 'obama/obama1.jpg', 'obama'); // even the right face
    assert.equal(res.status, 423, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'locked_out');
    const retry = Number(res.headers['retry-after']);
    assert.ok(retry > 20 && retry <= 30, `Retry-After ${retry}`);
    res = await loginFrom(server, '127.0.0.2', 'obama/obama1.jpg'); // 1:N lands there too
    assert.equal(res.status, 423);
  }
  // The owner, from an address that has not failed, on both servers, 1:1 and 1:N.
  assert.equal((await loginFrom(y, '127.0.0.1', 'obama/obama1.jpg', 'obama')).status, 200);
  assert.equal((await loginFrom(x, '127.0.0.1', 'obama/obama2.jpg')).status, 200);
});
