// Limits hold under concurrency: simultaneous add-face requests cannot push an account past its
// 10 faces (the count is checked under the lock that enrols), and the count survives a restart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, photo, dataUrl, adminToken } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

test('12 simultaneous add-face requests on an 8-face account leave it with 10', async () => {
  const server = await startServer({ args: ['--workers', '2'] });
  servers.push(server);
  const obama = ['obama/obama.jpg', 'obama/obama1.jpg', 'obama/obama2.jpg'];
  let res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', images: obama.map((f) => dataUrl(photo(f))) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const auth = { authorization: `Bearer ${res.body.token}` };
  for (let i = 0; i < 5; i++) {
    res = await call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo(obama[i % 3])) }, headers: auth });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  assert.equal(res.body.user.faces, 8);
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    call(server, 'POST', '/api/v1/me/faces', { json: { image: dataUrl(photo(obama[i % 3])) }, headers: auth })));
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 2, String(statuses));
  assert.equal(statuses.filter((s) => s === 409).length, 10, String(statuses));
  assert.ok(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'too_many_faces'));
  await server.restart();
  res = await call(server, 'GET', '/api/v1/users', { headers: { authorization: `Bearer ${adminToken(server)}` } });
  assert.equal(res.body.users[0].faces, 10);
});
