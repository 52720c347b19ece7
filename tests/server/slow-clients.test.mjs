// Slow clients (issue: 600 connections from one address, each sending a byte every few seconds,
// took /healthz down): connections per address are capped, a request must arrive whole within
// --request-timeout however it trickles in, and health checks are still answered meanwhile.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, getFresh, slowClients } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

test('600 slow connections from one address: capped, cut at the deadline, /healthz answers', async () => {
  const server = await startServer({ args: ['--request-timeout', '5'] });
  servers.push(server);
  const slow = await slowClients(server, 600, { localAddress: '127.0.0.2', intervalMs: 1000 });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const held = slow.open();
    assert.ok(held <= 32, `${held} slow connections from one address are held (cap 32)`);
    for (let i = 0; i < 5; i++) {
      const res = await getFresh(server, '/healthz', { timeoutMs: 2000 });
      assert.equal(res.status, 200, `health check ${i + 1}: ${res.error ?? res.status}`);
      assert.ok(res.ms < 1000, `health check ${i + 1} took ${res.ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Each of them keeps sending a byte a second, but none delivers a whole request in 5 s.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(slow.open(), 0, 'slow connections outlived --request-timeout');
    assert.match(server.log(), /closed \d+ connections? .*request-timeout/);
  } finally {
    slow.stop();
  }
  const res = await getFresh(server, '/healthz');
  assert.equal(res.status, 200);
});
