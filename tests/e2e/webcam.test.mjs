// End to end: the web app in a real Chromium, its webcam fed from .y4m videos made from photos,
// against a real `facegate serve`. Run from the repo root: node --test --test-concurrency=1 tests/e2e/
//
// Chromium's fake camera plays one file per browser launch, so each scenario launches its own
// browser. Screenshots of every screen land in test-output/screenshots/ for a person to look at.
//
// Environment: FACEGATE_BIN (default build/facegate), FG_SHARED_DIR (default ../shared),
// CHROMIUM (default /usr/bin/chromium), FG_E2E_KEEP=1 keeps the temporary data directory.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PHONE,
  bin,
  emptyVideo,
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
let server;
let baseUrl;
let adminToken;
// Other sites' web servers on one port: the SDK example served from an origin facegate lists
// in --cors-origin (localhost), and an attacker's pages on one it does not (127.0.0.2).
let otherSites = [];
let otherUrl;
let attackerUrl;
const videos = {};
const otherPages = {};

const heading = (page, name) => page.getByRole('heading', { level: 1, name });

before(async () => {
  assert.ok(existsSync(bin), `no server binary at ${bin}: build it (make) or set FACEGATE_BIN`);
  assert.ok(existsSync(path.join(webRoot, 'index.html')), 'no web/dist: run `npm run build` in web/');
  assert.ok(existsSync(portraits), `no test photos at ${portraits}: set FG_SHARED_DIR`);
  mkdirSync(shotDir, { recursive: true });
  tmp = mkdtempSync(path.join(tmpdir(), 'facegate-e2e-'));

  // Sign-up and log-in use different photos of the same man; the rejection uses another man.
  videos.obamaSignUp = photoVideo(tmp, 'obama-signup', 'obama/obama.jpg', [0.05, 0, 0.9, 0.54]);
  videos.obamaLogin = photoVideo(tmp, 'obama-login', 'obama/obama1.jpg');
  videos.biden = photoVideo(tmp, 'biden', 'biden/biden2.jpg');
  videos.empty = emptyVideo(tmp, 'empty');

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // "localhost" is another site than "127.0.0.1" for the browser (cookies, Sec-Fetch-Site).
  const otherPort = await freePort();
  otherUrl = `http://localhost:${otherPort}`;
  attackerUrl = `http://127.0.0.2:${otherPort}`;
  const serveOther = (req, res) => {
    const url = new URL(req.url, otherUrl);
    if (otherPages[url.pathname]) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(otherPages[url.pathname]);
      return;
    }
    const file = path.join(webRoot, path.normalize(url.pathname).replace(/^\/+/, ''));
    if (!file.startsWith(webRoot) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    res.writeHead(200, { 'content-type': type });
    res.end(readFileSync(file));
  };
  for (const host of ['127.0.0.1', '127.0.0.2']) {
    const site = createHttpServer(serveOther);
    await new Promise((resolve) => site.listen(otherPort, host, resolve));
    otherSites.push(site);
  }
  const dataDir = path.join(tmp, 'data');
  mkdirSync(dataDir);
  const log = openSync(path.join(outDir, 'e2e-server.log'), 'w');
  server = spawn(
    bin,
    [
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--models',
      models,
      '--web-root',
      webRoot,
      '--cors-origin',
      otherUrl,
      // The fixed LFW threshold: a second press photo of the only user logs in, which the
      // adaptive policy's fallback for so few users refuses (tests/server/policy.test.mjs).
      '--policy',
      'fixed',
    ],
    { cwd: repo, stdio: ['ignore', log, log] },
  );
  await waitForUrl(`${baseUrl}/healthz`, server, 60_000, 'facegate serve');
  adminToken = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
});

after(async () => {
  await stopChild(server);
  for (const site of otherSites) site.close();
  if (tmp && !process.env.FG_E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
});

test('sign up obama with the camera, see the account page, log out', { timeout: 120_000 }, async () => {
  await withCamera(videos.obamaSignUp, async (page) => {
    await page.goto(`${baseUrl}/#/signup`);
    await heading(page, 'Sign up').waitFor();
    await page.getByLabel('Username').fill('obama');
    await page.getByLabel('Display name (optional)').fill('Barack Obama');
    await shot(page, '01-signup-form');
    await page.getByRole('button', { name: 'Continue: scan my face' }).click();

    // The face box is drawn and the pictures are counted while the camera runs.
    await page.locator('.fg-camera[data-hint="ok"]').waitFor();
    await shot(page, '02-signup-camera');

    await heading(page, 'Your account').waitFor();
    await page
      .getByTestId('username')
      .filter({ hasText: /^obama$/ })
      .waitFor();
    assert.equal(await page.getByTestId('faces').textContent(), '3');
    await shot(page, '03-account');

    await page.getByRole('button', { name: 'Log out' }).click();
    await heading(page, 'Log in').waitFor();
    const me = await page.request.get(`${baseUrl}/api/v1/me`);
    assert.equal(me.status(), 401, 'the session cookie is gone after log out');
  });
});

test('log in with a different photo of obama lands on his account', { timeout: 120_000 }, async () => {
  await withCamera(videos.obamaLogin, async (page) => {
    // Hold the log-in answer a moment so the "checking" state can be photographed.
    await page.route('**/api/v1/login', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await route.continue();
    });
    await page.goto(`${baseUrl}/#/login`);
    await page.getByText('Checking your face…').waitFor();
    await shot(page, '04-login-checking');

    await heading(page, 'Your account').waitFor();
    await page
      .getByTestId('username')
      .filter({ hasText: /^obama$/ })
      .waitFor();
    assert.match(await page.locator('.who').textContent(), /Barack Obama/);
    await shot(page, '05-account-after-login');
  });
});

test('1:1 log-in: "log in with my username" checks only that account', { timeout: 90_000 }, async () => {
  await withCamera(videos.obamaLogin, async (page) => {
    await page.goto(`${baseUrl}/#/login`);
    await page.getByLabel('Log in with my username').check();
    await page.getByLabel('Username', { exact: true }).fill('obama');
    const login = page.waitForRequest('**/api/v1/login');
    await page.getByRole('button', { name: 'Scan my face' }).click();
    assert.equal((await login).postDataJSON().username, 'obama');
    await heading(page, 'Your account').waitFor();
    await page
      .getByTestId('username')
      .filter({ hasText: /^obama$/ })
      .waitFor();
  });
});

test('admin sees obama and the audit log', { timeout: 60_000 }, async () => {
  await withCamera(videos.empty, async (page) => {
    await page.goto(`${baseUrl}/#/admin`);
    await page.getByLabel('Admin token').waitFor();
    await shot(page, '06-admin-token');
    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Open admin' }).click();
    const users = page.getByRole('table', { name: /^Users/ });
    await users.getByRole('rowheader', { name: 'obama' }).waitFor();
    await page.getByRole('table', { name: /^Audit log/ }).waitFor();
    await shot(page, '06-admin-tables');
  });
});

test('the SDK example page logs obama in with <FaceLogin>', { timeout: 60_000 }, async () => {
  await withCamera(videos.obamaLogin, async (page) => {
    await page.goto(`${baseUrl}/example/index.html`);
    await page.getByRole('heading', { name: 'Hello, Barack Obama!' }).waitFor();
    await shot(page, '07-sdk-example');
  });
});

test('the SDK example served from another origin logs obama in through CORS', { timeout: 60_000 }, async () => {
  await withCamera(videos.obamaLogin, async (page) => {
    await page.goto(`${otherUrl}/example/index.html?server=${encodeURIComponent(baseUrl)}`);
    await page.getByRole('heading', { name: 'Hello, Barack Obama!' }).waitFor();
  });
});

test('forms on another site can neither log the visitor in as someone else nor out', { timeout: 90_000 }, async () => {
  // Mallory enrols her own face; her pages post forms to facegate from another site.
  const image = (file) => `data:image/jpeg;base64,${readFileSync(path.join(portraits, file)).toString('base64')}`;
  const signup = await fetch(`${baseUrl}/api/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'mallory', image: image('rose_leslie/img1.jpg') }),
  });
  assert.equal(signup.status, 201);
  const autoSubmit = (action, enctype, fields) =>
    `<!doctype html><form method="post" action="${baseUrl}${action}" enctype="${enctype}">${fields}</form>` +
    '<script>document.forms[0].submit()</script>';
  // text/plain makes the body `NAME=VALUE`: a JSON object with a throwaway member at the end.
  const json = `{"image":"${image('rose_leslie/img2.jpg')}","x":"`;
  otherPages['/login.html'] = autoSubmit('/api/v1/login', 'text/plain', `<input name='${json}' value='"}'>`);
  otherPages['/logout.html'] = autoSubmit('/api/v1/logout', 'application/x-www-form-urlencoded', '');

  await withCamera(videos.empty, async (page) => {
    const login = await page.request.post(`${baseUrl}/api/v1/login`, {
      data: { image: image('obama/obama1.jpg') },
    });
    assert.equal(login.status(), 200, 'obama logs in');
    const who = async () => {
      const me = await page.request.get(`${baseUrl}/api/v1/me`);
      return me.status() === 200 ? (await me.json()).user.username : me.status();
    };
    assert.equal(await who(), 'obama');
    for (const attack of ['/login.html', '/logout.html']) {
      const answer = page.waitForResponse((r) => r.url().startsWith(baseUrl));
      await page.goto(`${attackerUrl}${attack}`);
      const response = await answer;
      assert.equal(response.status(), 403, `${attack}: ${await response.text()}`);
      assert.equal(await who(), 'obama', `after ${attack} the visitor is still obama`);
    }
  });
});

test('biden is rejected with a clear message and a way to try again', { timeout: 60_000 }, async () => {
  await withCamera(videos.biden, async (page) => {
    await page.goto(`${baseUrl}/#/login`);
    const alert = page.getByRole('alert');
    await alert.getByText('We could not recognise you').waitFor();
    await alert.getByRole('button', { name: 'Try again' }).waitFor();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Log in');
    await shot(page, '08-login-rejected');
  });
});

test('no face in view: guidance instead of a capture', { timeout: 60_000 }, async () => {
  await withCamera(videos.empty, async (page) => {
    await page.goto(`${baseUrl}/#/signup`);
    await page.getByLabel('Username').fill('nobody');
    await page.getByRole('button', { name: 'Continue: scan my face' }).click();
    await page.getByText('No face found — look at the camera').waitFor();
    await page.waitForTimeout(1500);
    assert.equal(await page.getByText('0 of 3 pictures').count(), 1, 'nothing was captured');
    await shot(page, '09-signup-no-face');
  });
});

test('phone width: the log-in screen fits 375 px', { timeout: 60_000 }, async () => {
  await withCamera(
    videos.empty,
    async (page) => {
      await page.goto(`${baseUrl}/#/login`);
      await page.getByText('No face found — look at the camera').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at phone width`);
      await shot(page, '10-phone-login');
    },
    PHONE,
  );
});

test('phone width: signing up a face that is already enrolled says so', { timeout: 90_000 }, async () => {
  await withCamera(
    videos.obamaLogin,
    async (page) => {
      await page.goto(`${baseUrl}/#/signup`);
      await page.getByLabel('Username').fill('barack');
      await page.getByRole('button', { name: 'Continue: scan my face' }).click();
      const alert = page.getByRole('alert');
      await alert.getByText('This face already has an account').waitFor();
      await alert.getByRole('link', { name: 'Log in instead' }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at phone width`);
      await shot(page, '11-phone-signup-face-enrolled');
    },
    PHONE,
  );
});

test('no camera at all: a plain message instead of a broken preview', { timeout: 60_000 }, async () => {
  await withCamera(null, async (page) => {
    await page.goto(`${baseUrl}/#/login`);
    const alert = page.getByRole('alert');
    await alert.getByText('No camera found').waitFor();
    await shot(page, '12-login-no-camera');
  });
});
