// End to end, OpenID Connect: a separate relying-party app (examples/oidc-rp, openid-client from
// npm, on its own port) signs obama in through facegate's authorize page in a real Chromium
// whose webcam plays a photo of him, gets an ID token and verifies it; then what a browser
// sees when the state is tampered with, when the request is bad, and when the face is unknown.
// Run from the repo root: node --test --test-concurrency=1 tests/e2e/
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  bin,
  freePort,
  models,
  outDir,
  photoVideo,
  portraits,
  repo,
  shot,
  shotDir,
  stopChild,
  waitForUrl,
  webRoot,
  withCamera,
} from './helpers.mjs';

let tmp;
let facegate;
let rp;
let fgUrl;
let rpUrl;
const videos = {};

before(async () => {
  mkdirSync(shotDir, { recursive: true });
  tmp = mkdtempSync(path.join(tmpdir(), 'facegate-e2e-oidc-'));
  videos.obama = photoVideo(tmp, 'obama-login', 'obama/obama1.jpg');
  videos.biden = photoVideo(tmp, 'biden', 'biden/biden2.jpg');

  const [fgPort, rpPort] = [await freePort(), await freePort()];
  fgUrl = `http://127.0.0.1:${fgPort}`;
  rpUrl = `http://127.0.0.1:${rpPort}`;
  const dataDir = path.join(tmp, 'data');
  const log = openSync(path.join(outDir, 'e2e-oidc-server.log'), 'w');
  facegate = spawn(
    bin,
    ['serve', '--host', '127.0.0.1', '--port', String(fgPort), '--data-dir', dataDir, '--models', models,
      '--web-root', webRoot, '--issuer', fgUrl, '--policy', 'fixed'],
    { cwd: repo, stdio: ['ignore', log, log] },
  );
  await waitForUrl(`${fgUrl}/healthz`, facegate, 60_000, 'facegate serve');
  const signup = await fetch(`${fgUrl}/api/v1/users?username=obama&display_name=Barack%20Obama`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: readFileSync(path.join(portraits, 'obama/obama.jpg')),
  });
  assert.equal(signup.status, 201);
  execFileSync(bin, ['client', 'add', '--data-dir', dataDir, '--id', 'example-app', '--name', 'Example app',
    '--redirect-uri', `${rpUrl}/callback`, '--public']);

  const rpLog = openSync(path.join(outDir, 'e2e-oidc-rp.log'), 'w');
  rp = spawn(process.execPath, [path.join(repo, 'examples/oidc-rp/server.mjs')], {
    env: { ...process.env, FACEGATE_ISSUER: fgUrl, CLIENT_ID: 'example-app', PORT: String(rpPort) },
    stdio: ['ignore', rpLog, rpLog],
  });
  await waitForUrl(rpUrl, rp, 20_000, 'the example app');
});

after(async () => {
  await stopChild(rp);
  await stopChild(facegate);
  if (tmp && !process.env.FG_E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
});

/** Verifies an EdDSA JWT with facegate's published keys. */
async function verifyWithJwks(jwt) {
  const jwks = await (await fetch(`${fgUrl}/.well-known/jwks.json`)).json();
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, 'the ID token names a published key');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')));
  return JSON.parse(Buffer.from(p, 'base64url'));
}

test('the example app signs obama in through facegate and verifies his ID token', { timeout: 120_000 }, async () => {
  await withCamera(videos.obama, async (page) => {
    await page.goto(rpUrl);
    await shot(page, '20-oidc-rp-signed-out');
    await page.getByRole('link', { name: 'Sign in with facegate' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in to Example app' }).waitFor();
    assert.ok(page.url().startsWith(`${fgUrl}/#/authorize?`), page.url());
    await shot(page, '21-oidc-authorize');

    await page.getByRole('heading', { level: 1, name: 'Hello, Barack Obama!' }).waitFor();
    assert.equal(new URL(page.url()).origin, rpUrl);
    assert.equal(await page.locator('#username').textContent(), 'obama');
    assert.equal(await page.locator('#amr').textContent(), 'face');
    assert.equal(await page.locator('#acr').textContent(), 'urn:facegate:acr:face');
    await shot(page, '22-oidc-rp-signed-in');

    const { id_token: idToken, userinfo } = await (await page.request.get(`${rpUrl}/id-token`)).json();
    const claims = await verifyWithJwks(idToken);
    assert.equal(claims.iss, fgUrl);
    assert.equal(claims.aud, 'example-app');
    assert.match(claims.sub, /^[0-9a-f]{32}$/);
    assert.equal(userinfo.sub, claims.sub);
    assert.equal(userinfo.preferred_username, 'obama');
    assert.ok(claims.nonce, 'the nonce the app sent came back');
  });
});

test('a tampered state is refused by the example app', { timeout: 90_000 }, async () => {
  await withCamera(videos.obama, async (page) => {
    await page.route(`${rpUrl}/callback**`, (route) => {
      const url = new URL(route.request().url());
      assert.ok(url.searchParams.get('code'), 'facegate sent a code');
      url.searchParams.set('state', 'forged');
      return route.continue({ url: url.href });
    });
    await page.goto(`${rpUrl}/login`);
    await page.getByRole('heading', { level: 1, name: 'Sign-in failed' }).waitFor();
    assert.match(await page.locator('#error').textContent(), /state/);
    await shot(page, '23-oidc-rp-bad-state');
  });
});

test('a bad request is shown on facegate and goes nowhere', { timeout: 60_000 }, async () => {
  await withCamera(null, async (page) => {
    for (const query of [
      `client_id=nobody&redirect_uri=${encodeURIComponent(`${rpUrl}/callback`)}`,
      `client_id=example-app&redirect_uri=${encodeURIComponent('https://evil.example.com/cb')}`,
    ]) {
      const response = await page.goto(`${fgUrl}/oauth2/authorize?response_type=code&scope=openid&${query}`);
      assert.equal(response.status(), 400);
      await page.getByRole('heading', { name: 'Sign-in request refused' }).waitFor();
      assert.equal(new URL(page.url()).origin, fgUrl);
    }
    await shot(page, '24-oidc-bad-request');
  });
});

test('an unknown face is not let through; Cancel returns access_denied to the app', { timeout: 90_000 }, async () => {
  await withCamera(videos.biden, async (page) => {
    await page.goto(`${rpUrl}/login`);
    await page.getByRole('alert').getByText('We could not recognise you').waitFor();
    assert.equal(new URL(page.url()).origin, fgUrl, 'still on facegate');
    await shot(page, '25-oidc-authorize-rejected');
    await page.getByRole('button', { name: 'Cancel and go back to Example app' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign-in failed' }).waitFor();
    assert.equal(await page.locator('#error').getAttribute('data-code'), 'access_denied');
  });
});
