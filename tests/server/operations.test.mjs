// Operations: the client address behind a trusted proxy (and only then), the Secure cookie a
// trusted proxy asks for, the separate management listener, liveness and readiness, and the
// readiness notification to systemd (sd_notify).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { adminToken, call, photo, startServer, tempDir } from './helpers.mjs';

const servers = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function start(args, env = {}) {
  const server = await startServer({ args, env });
  servers.push(server);
  return server;
}

const face = fs.readFileSync(photo('obama/obama1.jpg'));

/** A failed 1:N log-in (nobody is enrolled) seen as coming through a proxy for `client`. */
const failedLogin = (server, headers) =>
  call(server, 'POST', '/api/v1/login', { body: face, headers: { 'content-type': 'image/jpeg', ...headers } });

async function auditClients(server) {
  const res = await call(server, 'GET', '/api/v1/audit?limit=50', {
    headers: { authorization: `Bearer ${adminToken(server)}` },
  });
  return res.body.events.map((e) => e.client);
}

test('behind a trusted proxy, X-Forwarded-For names the client: audit and per-client limits use it', async () => {
  const server = await start(['--trusted-proxy', '127.0.0.1', '--trusted-proxy', '10.0.0.0/8', '--rate-limit-ip', '2']);
  assert.match(server.log(), /proxies +2 trusted ranges/);
  const a = { 'x-forwarded-for': '203.0.113.7' };
  assert.equal((await failedLogin(server, a)).status, 401);
  assert.equal((await failedLogin(server, a)).status, 401);
  assert.equal((await failedLogin(server, a)).status, 429, 'the third failure of 203.0.113.7 is limited');
  // Another client behind the same proxy has its own budget, whatever it claims further left.
  const b = { 'x-forwarded-for': '203.0.113.7, 198.51.100.2, 10.1.1.1' };
  assert.equal((await failedLogin(server, b)).status, 401, '198.51.100.2 is not limited');
  const clients = await auditClients(server);
  assert.ok(clients.includes('203.0.113.7'));
  assert.ok(clients.includes('198.51.100.2'));
  assert.ok(!clients.includes('127.0.0.1'), 'the proxy itself is never the client');
});

test('without a trusted proxy the header is ignored, and no proxy can ask for a Secure cookie', async () => {
  const server = await start(['--rate-limit-ip', '50']);
  await failedLogin(server, { 'x-forwarded-for': '203.0.113.7' });
  assert.deepEqual([...new Set(await auditClients(server))], ['127.0.0.1']);
  const signup = await call(server, 'POST', '/api/v1/users?username=obama', {
    body: face,
    headers: { 'content-type': 'image/jpeg', 'x-forwarded-proto': 'https' },
  });
  assert.equal(signup.status, 201);
  assert.doesNotMatch(signup.headers.get('set-cookie'), /Secure/);
});

test('a trusted proxy that terminated TLS gets the Secure cookie', async () => {
  const server = await start(['--trusted-proxy', '127.0.0.1']);
  const signup = await call(server, 'POST', '/api/v1/users?username=obama', {
    body: face,
    headers: { 'content-type': 'image/jpeg', 'x-forwarded-proto': 'https' },
  });
  assert.equal(signup.status, 201);
  assert.match(signup.headers.get('set-cookie'), /; Secure/);
});

test('--admin-listen: metrics and health move to the management listener', async () => {
  const server = await start(['--admin-listen', '127.0.0.1:0']);
  const port = /admin +http:\/\/127\.0\.0\.1:(\d+)\//.exec(server.log())?.[1];
  assert.ok(port, server.log());
  const admin = { url: `http://127.0.0.1:${port}` };
  for (const route of ['/metrics', '/healthz', '/livez', '/readyz']) {
    assert.equal((await call(server, 'GET', route)).status, 404, `${route} is off the public port`);
    assert.equal((await call(admin, 'GET', route)).status, 200, `${route} is on the admin port`);
  }
  assert.match((await call(admin, 'GET', '/metrics')).body, /facegate_http_requests_total/);
  assert.equal((await call(admin, 'GET', '/api/v1/me')).status, 404, 'no API on the admin port');
  assert.equal((await call(admin, 'GET', '/')).status, 404, 'no web app on the admin port');
  assert.equal((await call(server, 'GET', '/api/v1/me')).status, 401, 'the API stays public');
});

test('liveness and readiness on one listener', async () => {
  const server = await start([]);
  assert.deepEqual((await call(server, 'GET', '/livez')).body, { status: 'alive' });
  const ready = await call(server, 'GET', '/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ok');
});

test('bad operations options are refused with a reason', async () => {
  for (const [args, reason] of [
    [['--trusted-proxy', '10.0.0.0/33'], /trusted-proxy: '10.0.0.0\/33' is not an address or range/],
    [['--admin-listen', 'localhost'], /admin-listen: 'localhost' is not HOST:PORT/],
    [['--issuer', 'https://login.example.com/'], /--issuer .* must be an http\(s\) URL without a trailing slash/],
  ]) {
    await assert.rejects(startServer({ args }), reason);
  }
});

test('sd_notify: READY once listening, RELOADING/READY around SIGHUP, STOPPING on SIGTERM', async () => {
  // A stand-in for systemd's notification socket (AF_UNIX datagrams), in Python: Node has none.
  const dir = tempDir('fg-notify-');
  const socketPath = path.join(dir, 'notify.sock');
  const listener = spawn('python3', ['-u', '-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode(), flush=True)
`, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let messages = '';
  listener.stdout.setEncoding('utf8');
  listener.stdout.on('data', (chunk) => { messages += chunk; });
  try {
    await waitUntil(() => messages.includes('bound'));
    const server = await start([], { NOTIFY_SOCKET: socketPath });
    await waitUntil(() => /READY=1/.test(messages));
    server.proc.kill('SIGHUP');
    await waitUntil(() => /RELOADING=1\s+READY=1/.test(messages));
    await server.stop();
    await waitUntil(() => /STOPPING=1/.test(messages));
  } finally {
    listener.kill();
  }
});

async function waitUntil(predicate, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
