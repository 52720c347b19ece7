// Cross-site request forgery: a page on another site can make the browser send a form (any of
// text/plain, urlencoded or multipart, no preflight) with the victim's cookies, and the reply's
// Set-Cookie sticks. So a JSON route refuses bodies that are not application/json (415), and a
// state-changing request whose Origin (or, without one, Sec-Fetch-Site) shows another site is
// refused (403) unless that origin is in --cors-origin. Browsers always send Origin on POST;
// clients that send neither header (curl, other backends) are not browsers and pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, call, photo, dataUrl } from './helpers.mjs';

let server;
let token;
const face = () => dataUrl(photo('obama/obama1.jpg'));

before(async () => {
  // The fixed LFW threshold: these log in with other photos of a sole user, which the adaptive
  // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
  server = await startServer({ args: ['--cors-origin', 'https://shop.example', '--policy', 'fixed'] });
  const res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  token = res.body.token;
});

after(async () => {
  await server?.stop();
});

const me = () => call(server, 'GET', '/api/v1/me', { headers: { cookie: `fg_session=${token}` } });

test('a JSON body sent as text/plain (a cross-site form) is refused: no session is set', async () => {
  const body = JSON.stringify({ image: face() });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
    const res = await call(server, 'POST', '/api/v1/login', { body, headers: { 'content-type': type } });
    assert.equal(res.status, 415, `${type}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'unsupported_media_type');
    assert.equal(res.headers.get('set-cookie'), null);
  }
  // Without any Content-Type either; with application/json (and a charset) it logs in.
  let res = await call(server, 'POST', '/api/v1/login', { body });
  assert.equal(res.status, 415);
  res = await call(server, 'POST', '/api/v1/login', {
    body, headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
});

test('a state-changing request from another site is refused, whatever its body', async () => {
  const evil = { origin: 'https://evil.example', cookie: `fg_session=${token}` };
  const form = new FormData();
  form.append('image', new Blob([Buffer.from(face().split(',')[1], 'base64')], { type: 'image/jpeg' }), 'f.jpg');
  const attempts = [
    ['POST', '/api/v1/logout', {}],
    ['POST', '/api/v1/login', { body: form }],
    ['POST', '/api/v1/login', { json: { image: face() } }],
    ['DELETE', '/api/v1/me', {}],
    ['POST', '/verify', { json: { image64: face() } }],
  ];
  for (const [method, route, extra] of attempts) {
    const res = await call(server, method, route, { ...extra, headers: { ...evil } });
    assert.equal(res.status, 403, `${method} ${route}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'forbidden_origin');
    assert.equal(res.headers.get('set-cookie'), null, `${method} ${route} set a cookie`);
  }
  // No Origin but Sec-Fetch-Site says another site (or the page is sandboxed: Origin null).
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' },
    { origin: 'null' }]) {
    const res = await call(server, 'POST', '/api/v1/logout', { headers: { ...headers, cookie: `fg_session=${token}` } });
    assert.equal(res.status, 403, JSON.stringify(headers));
  }
  assert.equal((await me()).status, 200, 'the session survived');
});

test('the OpenID Connect token endpoint takes its urlencoded form from anywhere (no cookies)', async () => {
  const res = await call(server, 'POST', '/oauth2/token', {
    body: 'grant_type=authorization_code&code=nope&client_id=nobody',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://spa.example' },
  });
  assert.ok(![403, 415].includes(res.status), `${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error, 'invalid_client'); // judged by OAuth's rules, not refused as CSRF
  const form = await call(server, 'POST', '/api/v1/login', {
    body: 'image=x', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.status, 415, 'other routes still refuse forms');
});

test('same origin, allow-listed origins and non-browser clients are served', async () => {
  const self = server.url; // http://127.0.0.1:PORT: the Host the request names
  let res = await call(server, 'POST', '/api/v1/login', { json: { image: face() }, headers: { origin: self } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  res = await call(server, 'POST', '/api/v1/login', {
    json: { image: face() }, headers: { origin: 'https://shop.example', 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
  res = await call(server, 'POST', '/api/v1/login', {
    json: { image: face() }, headers: { 'sec-fetch-site': 'same-origin' },
  });
  assert.equal(res.status, 200);
  // GETs are not state-changing: a cross-site GET is answered (and CORS keeps the reply from
  // the other site's scripts).
  res = await call(server, 'GET', '/healthz', { headers: { origin: 'https://evil.example' } });
  assert.equal(res.status, 200);
  // Log-out without an Origin (curl) works.
  res = await call(server, 'POST', '/api/v1/logout', { headers: { cookie: `fg_session=${token}` } });
  assert.equal(res.status, 200);
  assert.equal((await me()).status, 401);
});
