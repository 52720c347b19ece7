// The HTTP surface: security headers, static files for the web app, CORS, the detect route,
// configuration sources and their precedence, and a graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, startServer, call, photo, dataUrl, rawRequest, parseRaw, ffmpeg, tempDir, cameraFrame } from './helpers.mjs';

let server;
let web;

before(async () => {
  web = tempDir('fg-web-');
  fs.mkdirSync(path.join(web, 'assets'));
  fs.writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>facegate</title>');
  fs.mkdirSync(path.join(web, 'example'));
  fs.writeFileSync(path.join(web, 'example/index.html'), '<!doctype html><title>example</title>');
  fs.writeFileSync(path.join(web, 'assets/app-1234abcd.js'), 'console.log("hi")');
  fs.writeFileSync(path.join(web, '.env'), 'SECRET=1');
  fs.writeFileSync(path.join(path.dirname(web), 'fg-outside-secret.txt'), 'secret');
  fs.symlinkSync(path.join(path.dirname(web), 'fg-outside-secret.txt'), path.join(web, 'link.txt'));
  ffmpeg('-f', 'lavfi', '-i', 'color=c=0x808080:s=320x240', '-frames:v', '1', path.join(web, 'gray.png'));
  server = await startServer({ args: ['--web-root', web] });
});

after(async () => {
  await server?.stop();
  if (web) fs.rmSync(web, { recursive: true, force: true });
  fs.rmSync(path.join(path.dirname(web), 'fg-outside-secret.txt'), { force: true });
});

test('API replies carry the security headers and no-store', async () => {
  const res = await call(server, 'GET', '/healthz');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
  assert.equal(res.headers.get('access-control-allow-origin'), null); // no CORS by default
  const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('the web app is served from --web-root with its CSP', async () => {
  let res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.match(await res.text(), /<title>facegate/);

  res = await fetch(`${server.url}/assets/app-1234abcd.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/javascript/);
  assert.match(res.headers.get('cache-control'), /immutable/);

  res = await fetch(`${server.url}/login/face`); // a client-side route → index.html
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>facegate/);

  res = await fetch(`${server.url}/example/`); // a folder → its index.html
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(await res.text(), /<title>example/);

  for (const route of ['/missing.js', '/.env', '/link.txt', '/api/v1/unknown']) {
    const r = await call(server, 'GET', route);
    assert.equal(r.status, 404, route);
    assert.equal(r.body.error.code, 'not_found');
  }
  const raw = parseRaw(await rawRequest(server, 'GET /../fg-outside-secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.notEqual(raw.status, 200);
  assert.ok(!String(raw.body).includes('secret'));
});

test('detect gives boxes, landmarks, the fast path\'s measures and a hint for the camera UI', async () => {
  let res = await call(server, 'POST', '/api/v1/detect', { json: { image: dataUrl(photo('obama/obama2.jpg')) } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.width, 626);
  assert.equal(res.body.height, 1200);
  assert.equal(res.body.faces.length, 1);
  const face = res.body.faces[0];
  assert.ok(face.score > 0.5);
  assert.ok(face.box.width > 100 && face.box.height > 100);
  assert.equal(face.landmarks.length, 68);
  assert.equal(face.landmarks[0].length, 2);
  assert.equal(res.body.hint, 'ok');
  // The guidance runs on the fast path by default: a frontal portrait, eyes open, speaking.
  const m = face.measures;
  assert.ok(m.confidence > 0.9, JSON.stringify(m));
  for (const angle of ['yaw', 'pitch', 'roll']) assert.ok(Math.abs(m.pose[angle]) < 20, JSON.stringify(m));
  assert.ok(m.eye_openness.left > 0.15 && m.eye_openness.right > 0.15, JSON.stringify(m));
  assert.ok(m.mouth_openness > 0.2 && m.mouth_openness < 1, JSON.stringify(m));

  res = await call(server, 'POST', '/api/v1/detect', {
    body: fs.readFileSync(path.join(web, 'gray.png')), headers: { 'content-type': 'image/png' },
  });
  assert.equal(res.status, 200);
  assert.deepEqual([res.body.faces.length, res.body.hint], [0, 'no_face']);
  assert.ok(res.body.message.length > 0);
});

test('--guidance login answers detect with the log-in detector (no measures)', async () => {
  const login = await startServer({ args: ['--guidance', 'login', '--workers', '1'] });
  try {
    assert.match(login.log(), /guidance +\/api\/v1\/detect by the log-in detector\n/);
    assert.match(login.log(), /fast path +not loaded\n/);
    const res = await call(login, 'POST', '/api/v1/detect', { json: { image: dataUrl(photo('obama/obama2.jpg')) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.faces.length, 1);
    assert.equal(res.body.faces[0].measures, undefined);
  } finally {
    await login.stop();
  }
  const bad = await startServer({ args: ['--guidance', 'sometimes'] }).catch((e) => e);
  assert.ok(bad instanceof Error && /guidance: 'sometimes' is not fast or login/.test(bad.message), String(bad));
});

test('--tta takes its own calibrated threshold unless one is given; the banner names the engine', async () => {
  const tta = await startServer({ args: ['--tta', '--workers', '1'] });
  try {
    assert.match(tta.log(), /engine +ssd detector, dlib chip, padding retry, tta\n/);
    assert.match(tta.log(), /threshold +adaptive .* ceiling 0\.375,/);
  } finally {
    await tta.stop();
  }
  const given = await startServer({ args: ['--tta', '--threshold', '0.4', '--padding', 'always', '--workers', '1'] });
  try {
    assert.match(given.log(), /engine +ssd detector, dlib chip, padding always, tta\n/);
    assert.match(given.log(), /threshold +adaptive .* ceiling 0\.400,/);
  } finally {
    await given.stop();
  }
});

test('config file < environment < command line; CORS allow-list; graceful SIGINT', async () => {
  const dir = tempDir('fg-config-');
  const conf = path.join(dir, 'serve.conf');
  fs.writeFileSync(conf, [
    '# facegate serve configuration',
    'threshold = 0.42',
    'margin = 0.2',
    'workers = 1',
    'cors-origin = http://from-file.example',
    'token-ttl = 600',
  ].join('\n'));
  const other = await startServer({
    args: ['--config', conf, '--cors-origin', 'http://app.example'],
    env: { FACEGATE_MARGIN: '0.07', FACEGATE_CORS_ORIGIN: 'http://b.example,http://c.example' },
  });
  try {
    assert.match(other.log(), /workers +1,[^\n]*\n +threshold +adaptive[^\n]*ceiling 0\.420,[^\n]*margin 0\.070/);
    assert.doesNotMatch(other.log(), /Warning/);
    assert.match(other.log(), /CORS +http:\/\/app\.example\n/);

    // Preflight from the allowed origin, and from another one.
    let res = await fetch(`${other.url}/api/v1/login`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.match(res.headers.get('access-control-allow-methods'), /POST/);
    assert.match(res.headers.get('access-control-allow-headers'), /Content-Type/);
    res = await fetch(`${other.url}/api/v1/login`, {
      method: 'OPTIONS', headers: { origin: 'http://b.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    res = await fetch(`${other.url}/healthz`, { headers: { origin: 'http://app.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.match(res.headers.get('vary'), /Origin/);

    // A request running when SIGINT arrives is still answered; then the process exits 0.
    const stopped = new Promise((resolve) => other.proc.once('exit', (code) => resolve(code)));
    const running = call(other, 'POST', '/api/v1/detect', {
      body: fs.readFileSync(cameraFrame('obama/obama3.jpg')), headers: { 'content-type': 'image/jpeg' },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    other.proc.kill('SIGINT');
    const answer = await running;
    assert.equal(answer.status, 200);
    assert.equal(answer.body.faces.length, 1);
    assert.equal(await stopped, 0);
    assert.match(other.log(), /SIGINT received/);
    assert.match(other.log(), /stopped\n$/);
  } finally {
    await other.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options are refused with a clear message and exit status 2', () => {
  const cases = [
    [['serve', '--port', 'eighty'], /port: 'eighty' is not a number/],
    [['serve', '--threshold', '7'], /threshold: '7' is not a number from/],
    [['serve', '--policy', 'strict'], /policy: 'strict' is not adaptive or fixed/],
    [['serve', '--target-far', '0.5'], /target-far: '0.5' is not a number from/],
    [['serve', '--cors-origin', '*'], /no wildcard/],
    [['serve', '--frobnicate'], /unknown option '--frobnicate'/],
    [['serve', '--config', '/nonexistent/facegate.conf'], /cannot read config file/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(BIN, args, { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
  }
  const env = spawnSync(BIN, ['serve'], { encoding: 'utf8', env: { ...process.env, FACEGATE_WORKERS: '0' } });
  assert.equal(env.status, 2);
  assert.match(env.stderr, /workers: '0' .*FACEGATE_WORKERS/);
  const help = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--data-dir DIR/);
});
