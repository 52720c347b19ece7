// Sign-up and /detect are not free oracles: sign-up answers "this face is enrolled" (409) or
// not (201), so it is limited like a failed log-in (an address refused log-ins is refused
// sign-ups, and a face_already_enrolled counts as a failure) and per address per hour; the
// image is checked before anything is said about the username, so names cannot be listed with
// junk images; /detect is limited per address per minute.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, callFrom, photo, dataUrl, cameraFrame } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

const signup = (server, address, username, image) =>
  callFrom(server, address, 'POST', '/api/v1/users', { json: { username, image } });

test('an address refused log-ins is refused sign-ups; a duplicate face counts as a failure', async () => {
  // The fixed LFW threshold: a second photo of the sole user is a duplicate, which the adaptive
  // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
  const server = await startServer({ args: ['--rate-limit-ip', '3', '--policy', 'fixed'] });
  servers.push(server);
  let res = await signup(server, '127.0.0.1', 'obama', dataUrl(photo('obama/obama.jpg')));
  assert.equal(res.status, 201);
  for (let i = 0; i < 3; i++) {
    res = await callFrom(server, '127.0.0.2', 'POST', '/api/v1/login', {
      json: { image: dataUrl(cameraFrame('biden/biden.jpg')) },
    });
    assert.equal(res.status, 401);
  }
  res = await callFrom(server, '127.0.0.2', 'POST', '/api/v1/login', { json: { image: dataUrl(photo('obama/obama1.jpg')) } });
  assert.equal(res.status, 429);
  for (const image of ['obama/obama2.jpg', 'kit_harington/john1.jpeg']) {
    res = await signup(server, '127.0.0.2', 'probe', dataUrl(photo(image)));
    assert.equal(res.status, 429, `${image}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'rate_limited');
  }
  // Each face_already_enrolled answer uses up a failed attempt of the address.
  for (let i = 0; i < 3; i++) {
    res = await signup(server, '127.0.0.3', `probe${i}`, dataUrl(photo('obama/obama2.jpg')));
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'face_already_enrolled');
  }
  res = await signup(server, '127.0.0.3', 'probe9', dataUrl(photo('obama/obama2.jpg')));
  assert.equal(res.status, 429);
});

test('usernames cannot be listed: the image is checked first', async () => {
  const server = await startServer();
  servers.push(server);
  let res = await signup(server, '127.0.0.1', 'alice', dataUrl(photo('obama/obama.jpg')));
  assert.equal(res.status, 201);
  const taken = await signup(server, '127.0.0.2', 'alice', 'AAAA');
  const free = await signup(server, '127.0.0.2', 'alicia', 'AAAA');
  assert.deepEqual([taken.status, taken.body.error.code], [free.status, free.body.error.code]);
  assert.equal(taken.status, 415);
  // With a real face that is nobody's, a taken name is 409 username_taken (the person signing
  // up must be told), at the sign-up rate of their address.
  res = await signup(server, '127.0.0.2', 'alice', dataUrl(photo('kit_harington/john1.jpeg')));
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, 'username_taken');
});

test('sign-ups and /detect calls per address are limited', async () => {
  const server = await startServer({ args: ['--signup-limit', '2', '--detect-limit', '6'] });
  servers.push(server);
  const image = dataUrl(photo('obama/obama1.jpg'));
  let res;
  for (const name of ['one', 'two']) {
    res = await signup(server, '127.0.0.2', name, 'AAAA');
    assert.equal(res.status, 415, name);
  }
  res = await signup(server, '127.0.0.2', 'three', 'AAAA');
  assert.equal(res.status, 429);
  assert.ok(Number(res.headers['retry-after']) >= 1);
  res = await signup(server, '127.0.0.3', 'three', 'AAAA'); // another address is not concerned
  assert.equal(res.status, 415);
  const statuses = [];
  for (let i = 0; i < 8; i++)
    statuses.push((await callFrom(server, '127.0.0.2', 'POST', '/api/v1/detect', { json: { image } })).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
});
