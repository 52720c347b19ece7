// Failed log-ins are limited per client address (429 + Retry-After) and per account (423
// lockout after consecutive failures). Small limits on the command line keep this quick.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, photo, dataUrl, adminToken } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const login = (server, image, username) =>
  call(server, 'POST', '/api/v1/login', {
    json: username ? { username, image: dataUrl(photo(image)) } : { image: dataUrl(photo(image)) },
  });

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
  res = await call(server, 'POST', '/verify', { json: { image64: dataUrl(photo('biden/biden.jpg')) } });
  assert.equal(res.status, 429);
  assert.ok(res.headers.get('retry-after'));
  // Bad input is not a failed log-in attempt and does not reset anything either.
  const metrics = await call(server, 'GET', '/metrics');
  assert.match(metrics.body, /facegate_logins_total\{outcome="rate_limited"\} 2/);
  assert.match(metrics.body, /facegate_logins_total\{outcome="no_match"\} 3/);
});

test('consecutive failures on one account → 423 locked_out, whichever way in', async () => {
  const server = await startServer({
    args: ['--lockout-after', '3', '--lockout-seconds', '120', '--rate-limit-account', '10',
      '--rate-limit-ip', '64'],
  });
  servers.push(server);
  let res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) },
  });
  assert.equal(res.status, 201);
  for (const name of ['obama', 'ghost']) { // an unknown account behaves the same: no hint
    for (let i = 0; i < 3; i++) {
      res = await login(server, 'biden/biden.jpg', name);
      assert.equal(res.status, 401, `${name} attempt ${i + 1}`);
    }
    res = await login(server, 'obama/obama1.jpg', name); // even the right face
    assert.equal(res.status, 423, name);
    assert.equal(res.body.error.code, 'locked_out');
    const retry = Number(res.headers.get('retry-after'));
    assert.ok(retry > 100 && retry <= 120, `Retry-After ${retry}`);
  }
  // 1:N reaches the locked account too (the sign-up photo: a sole user gets the fallback
  // threshold, which another press photo of him need not pass).
  res = await login(server, 'obama/obama.jpg');
  assert.equal(res.status, 423);
  const audit = await call(server, 'GET', '/api/v1/audit', {
    headers: { authorization: `Bearer ${adminToken(server)}` },
  });
  assert.ok(audit.body.events.some((e) => e.outcome === 'locked_out' && e.username === 'obama'));
});
