// Failed log-ins are limited per client address (429 + Retry-After), each address gets growing
// delays on an account it keeps failing (423), and an account under attack from many addresses
// gives each of them one try at a time, while its owner, from an address that has not failed,
// still logs in. Attempts are reserved before the face is processed, so simultaneous requests
// cannot overrun a limit. Small limits on the command line keep this quick.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, callFrom, photo, dataUrl, adminToken, cameraFrame } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const loginJson = (image, username) =>
  username ? { username, image: dataUrl(cameraFrame(image)) } : { image: dataUrl(cameraFrame(image)) };
const login = (server, image, username) =>
  call(server, 'POST', '/api/v1/login', { json: loginJson(image, username) });
const loginFrom = (server, address, image, username) =>
  callFrom(server, address, 'POST', '/api/v1/login', { json: loginJson(image, username) });

test('failed log-ins from one client → 429 rate_limited with Retry-After', async () => {
  const server = await startServer({ args: ['--rate-limit-ip', '3', '--rate-limit-window', '60'] });
  servers.push(server);
  for (let i = 0; i < 3; i++) {
    const res = await login(server, 'biden/biden.jpg');
    assert.equal(res.status, 401, `attempt ${i + 1}`);
  }
  const started = Date.now();
  let res = await login(server, 'biden/biden.jpg');
  assert.equal(res.status, 429);
  assert.equal(res.body.error.code, 'rate_limited');
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  assert.ok(Date.now() - started < 1000, 'refused before any face work');
  // The seed route is the same log-in and is limited too.
  res = await call(server, 'POST', '/verify', { json: { image64: dataUrl(cameraFrame('biden/biden.jpg')) } });
  assert.equal(res.status, 429);
  assert.ok(res.headers.get('retry-after'));
  // Bad input is not a failed log-in attempt and does not reset anything either.
  const metrics = await call(server, 'GET', '/metrics');
  assert.match(metrics.body, /facegate_logins_total\{outcome="rate_limited"\} 2/);
  assert.match(metrics.body, /facegate_logins_total\{outcome="no_match"\} 3/);
});

test('an address failing on an account is delayed there; the owner, elsewhere, is not', async () => {
  const server = await startServer({
    // The fixed LFW threshold: other press photos of the only user log in 1:N, which the
    // adaptive policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
    args: ['--lockout-after', '3', '--rate-limit-account', '64', '--rate-limit-ip', '64',
      '--policy', 'fixed'],
  });
  servers.push(server);
  let res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) },
  });
  assert.equal(res.status, 201);
  for (let i = 0; i < 3; i++) {
    res = await loginFrom(server, '127.0.0.2', 'biden/biden.jpg', 'obama');
    assert.equal(res.status, 401, `attempt ${i + 1}`);
  }
  res = await loginFrom(server, '127.0.0.2', 'obama/obama1.jpg', 'obama'); // even the right face
  assert.equal(res.status, 423);
  assert.equal(res.body.error.code, 'locked_out');
  const retry = Number(res.headers['retry-after']);
  assert.ok(retry > 20 && retry <= 30, `first delay ${retry} s (it doubles with each failure)`);
  res = await loginFrom(server, '127.0.0.2', 'obama/obama1.jpg'); // 1:N lands there too
  assert.equal(res.status, 423);
  // The owner, from an address that has not failed: 1:1 and 1:N.
  res = await loginFrom(server, '127.0.0.1', 'obama/obama1.jpg', 'obama');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  res = await loginFrom(server, '127.0.0.1', 'obama/obama2.jpg');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // An unknown account behaves the same: no hint of who is enrolled.
  for (let i = 0; i < 3; i++) {
    res = await loginFrom(server, '127.0.0.2', 'biden/biden.jpg', 'ghost');
    assert.equal(res.status, 401);
  }
  res = await loginFrom(server, '127.0.0.2', 'biden/biden.jpg', 'ghost');
  assert.equal(res.status, 423);
  const audit = await call(server, 'GET', '/api/v1/audit', {
    headers: { authorization: `Bearer ${adminToken(server)}` },
  });
  assert.ok(audit.body.events.some((e) => e.outcome === 'locked_out' && e.username === 'obama'));
});

test('an account under attack from many addresses gives each one try; its owner logs in', async () => {
  const server = await startServer({
    // The fixed LFW threshold: these log in with other photos of a sole user, which the adaptive
    // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
    args: ['--lockout-after', '3', '--rate-limit-account', '4', '--rate-limit-ip', '64',
      '--policy', 'fixed'],
  });
  servers.push(server);
  let res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) },
  });
  assert.equal(res.status, 201);
  // The attack: ten wrong-face 1:1 attempts from two addresses within a minute. From
  // the 4th failure on, the account is guarded: an address that failed on it gets no more.
  const answers = [];
  for (let i = 0; i < 10; i++)
    answers.push((await loginFrom(server, i % 2 ? '127.0.0.3' : '127.0.0.2', 'biden/biden.jpg', 'obama')).status);
  assert.deepEqual(answers, [401, 401, 401, 401, 423, 423, 423, 423, 423, 423]);
  // The owner, from an address that has not failed, logs in by 1:1 and by 1:N.
  res = await loginFrom(server, '127.0.0.1', 'obama/obama1.jpg', 'obama');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  res = await loginFrom(server, '127.0.0.1', 'obama/obama2.jpg');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // An attacking address stays out, even with the right face; a new one gets a single try.
  res = await loginFrom(server, '127.0.0.2', 'obama/obama1.jpg', 'obama');
  assert.equal(res.status, 423);
  assert.ok(Number(res.headers['retry-after']) > 800, `Retry-After ${res.headers['retry-after']}`);
  res = await loginFrom(server, '127.0.0.4', 'biden/biden.jpg', 'obama');
  assert.equal(res.status, 401);
  res = await loginFrom(server, '127.0.0.4', 'biden/biden.jpg', 'obama');
  assert.equal(res.status, 423);
});

test('simultaneous failures cannot overrun the limit: attempts are reserved first', async () => {
  const server = await startServer({
    args: ['--rate-limit-ip', '5', '--workers', '2', '--max-connections-per-client', '64'],
  });
  servers.push(server);
  for (const n of [20, 40]) {
    const results = await Promise.all(Array.from({ length: n },
      () => loginFrom(server, n === 20 ? '127.0.0.2' : '127.0.0.3', 'biden/biden2.jpg')));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, `${n} at once: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, n - 5);
  }
});
