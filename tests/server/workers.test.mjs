// Inference runs on a pool of engines fed by one queue: whichever engine is free takes the next
// request, whatever connection it came on. (Before, each keep-alive connection stayed on the
// HTTP worker that accepted it and inference ran there: 8 clients could all land on one worker
// and use one core of two.) make bench measures the throughput; this checks the sharing from
// the Server-Timing header of each reply (time spent queued, time spent on an engine), which
// does not depend on how busy the machine is: with both engines in use, the engine time of a
// burst adds up to about twice its wall time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, call, photo, dataUrl } from './helpers.mjs';

const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

function post(agent, server, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/api/v1/login`, {
      method: 'POST', agent, headers: { 'content-type': 'application/json' },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        const timing = Object.fromEntries((res.headers['server-timing'] ?? '').split(',')
          .map((part) => /(\w+);dur=([\d.]+)/.exec(part)).filter(Boolean)
          .map((m) => [m[1], Number(m[2])]));
        resolve({ status: res.statusCode, timing });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('8 keep-alive clients on 2 engines keep both engines busy', async () => {
  // The fixed LFW threshold: these log in with other photos of a sole user, which the adaptive
  // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
  const server = await startServer({ args: ['--workers', '2', '--policy', 'fixed'] });
  servers.push(server);
  const res = await call(server, 'POST', '/api/v1/users', {
    json: { username: 'obama', image: dataUrl(photo('obama/obama.jpg')) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const body = JSON.stringify({ image: dataUrl(photo('obama/obama1.jpg')) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    // The 8 connections open at once (the old server accepted them all on one worker), then
    // carry three bursts of 8 concurrent log-ins each.
    for (let round = 0; round < 4; round++) {
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 8 }, () => post(agent, server, body)));
      const wall = performance.now() - started;
      assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
      for (const r of results) assert.ok(r.timing.engine > 0, 'Server-Timing: engine;dur=...');
      const engineTime = results.reduce((sum, r) => sum + r.timing.engine, 0);
      const queued = results.filter((r) => r.timing.queue > r.timing.engine / 2).length;
      if (round === 0) continue; // the first burst also opens the connections
      assert.ok(engineTime / wall > 1.6, `round ${round}: engines busy ${(engineTime / wall)
        .toFixed(2)} of 2 on average (engine ${engineTime.toFixed(0)} ms in ${wall.toFixed(0)} ms)`);
      assert.ok(queued >= 4, `round ${round}: only ${queued} of 8 waited in the queue`);
    }
  } finally {
    agent.destroy();
  }
});
