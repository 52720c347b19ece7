// The accept threshold adapts to who is enrolled. Fifteen LFW people get about the LFW
// calibration (0.38); with fourteen of them replaced by Korean idols (look-alikes: 0.38 accepts
// three quarters of cross-person pairs among them) the threshold tightens, and a look-alike who
// is not enrolled, accepted as one of them by the fixed 0.38 on the same data dir, is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, call, dataUrl, adminToken, tempDir, newDatabase, PG_URL, SHARED } from './helpers.mjs';

const LFW = path.join(SHARED, 'faces/lfw_view1');
const IDOLS = path.join(SHARED, 'faces/asia_dev/kpop_idols_web');
const IMPOSTOR = 'Jihyo'; // not enrolled; her photos are nearest to an enrolled idol
const LIMITS = ['--rate-limit-ip', '64', '--rate-limit-account', '64', '--lockout-after', '1000',
  '--signup-limit', '1000', '--workers', '2'];
const dataDir = tempDir('fg-policy-test-');
const store = PG_URL ? newDatabase() : 'sqlite'; // one database across the restarts
let server;

after(async () => {
  await server?.stop();
});

const photos = (dir) => fs.readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()
  .map((f) => path.join(dir, f));
const type = (file) => (file.endsWith('.png') ? 'image/png' : 'image/jpeg');
const admin = (route) => call(server, 'GET', route, {
  headers: { authorization: `Bearer ${adminToken(server)}` },
});

/** Signs up `username` with the first of its photos the server takes (a photo may be refused
 * for its quality, or as too close to somebody enrolled). Returns the photo used. */
async function signUp(username, files) {
  const refused = [];
  for (const file of files) {
    const res = await call(server, 'POST', '/api/v1/users', {
      json: { username, images: [dataUrl(file, type(file))] },
    });
    if (res.status === 201) return file;
    refused.push(`${path.basename(file)}: ${res.body.error?.code}`);
  }
  throw new Error(`${username} could not sign up: ${refused.join(', ')}`);
}

async function threshold() {
  const res = await admin('/api/v1/threshold');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

test('fifteen LFW people: the threshold is estimated and stays near 0.38', async () => {
  server = await startServer({ store, dataDir, args: LIMITS });
  let report = await threshold();
  assert.deepEqual([report.policy, report.basis, report.users], ['adaptive', 'fallback', 0]);
  assert.equal(report.threshold, report.fallback);
  const names = fs.readdirSync(LFW).filter((n) => !n.includes('.')).sort();
  let enrolled = 0;
  for (const name of names) {
    if (enrolled === 15) break;
    try {
      await signUp(name.toLowerCase().replace(/[^a-z0-9._-]/g, '').slice(0, 32), photos(path.join(LFW, name)));
      enrolled++;
    } catch { /* a person whose photos all fail the quality gate: the next one */ }
    if (enrolled === 14) {
      report = await threshold();
      assert.equal(report.basis, 'fallback', 'fourteen users are too few to estimate from');
    }
  }
  report = await threshold();
  assert.equal(report.basis, 'estimated');
  assert.equal(report.users, 15);
  assert.ok(Math.abs(report.threshold - 0.38) <= 0.02, `threshold ${report.threshold}`);
  assert.ok(report.impostor_pairs >= 15 * 14, `${report.impostor_pairs} pairs`);
  assert.ok(report.estimated_far <= 0.01, `estimated FAR ${report.estimated_far}`);
});

let impostorPhoto = null;
let lookalike = null;

test('fourteen of them replaced by look-alikes: the threshold tightens', async () => {
  const users = (await admin('/api/v1/users')).body.users.map((u) => u.username);
  for (const name of users.slice(1)) {
    const res = await call(server, 'DELETE', `/api/v1/users/${name}`, {
      headers: { authorization: `Bearer ${adminToken(server)}` },
    });
    assert.equal(res.status, 200);
  }
  assert.equal((await threshold()).basis, 'fallback');
  for (const idol of fs.readdirSync(IDOLS).sort()) {
    if (idol !== IMPOSTOR) await signUp(idol.toLowerCase(), photos(path.join(IDOLS, idol)));
  }
  const report = await threshold();
  assert.equal(report.basis, 'estimated');
  assert.equal(report.users, 15);
  assert.ok(report.threshold < 0.3, `threshold ${report.threshold}`);
  assert.ok(report.threshold_low < report.threshold, JSON.stringify(report));
  assert.ok(report.estimated_far <= 0.01, `estimated FAR ${report.estimated_far}`);
});

test('with the fixed 0.38 a look-alike who is not enrolled logs in as one of them', async () => {
  await server.stop();
  server = await startServer({ store, dataDir, args: [...LIMITS, '--policy', 'fixed'] });
  assert.equal((await threshold()).basis, 'fixed');
  for (const file of photos(path.join(IDOLS, IMPOSTOR))) {
    const res = await call(server, 'POST', '/api/v1/login', { json: { image: dataUrl(file, type(file)) } });
    if (res.status === 200) {
      impostorPhoto = file;
      lookalike = res.body.user.username;
      assert.ok(res.body.distance < 0.38);
      break;
    }
    assert.equal(res.status, 401, JSON.stringify(res.body));
  }
  assert.ok(impostorPhoto, `no photo of ${IMPOSTOR} was accepted at 0.38`);
  assert.notEqual(lookalike, IMPOSTOR.toLowerCase());
});

test('the adaptive threshold refuses that look-alike, 1:N and 1:1', async () => {
  await server.stop();
  server = await startServer({ store, dataDir, args: LIMITS });
  const image = dataUrl(impostorPhoto, type(impostorPhoto));
  let res = await call(server, 'POST', '/api/v1/login', { json: { image } });
  assert.equal(res.status, 401, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'no_match');
  res = await call(server, 'POST', '/api/v1/login', { json: { image, username: lookalike } });
  assert.equal(res.status, 401, JSON.stringify(res.body));
  // The audit log has the distance: under 0.38, over this population's threshold.
  const events = (await admin('/api/v1/audit?limit=5')).body.events.filter((e) => e.event === 'login');
  assert.ok(events.length >= 2);
  for (const e of events.slice(0, 2)) {
    assert.equal(e.outcome, 'no_match');
    assert.ok(e.distance < 0.38, `distance ${e.distance}`);
  }
});
