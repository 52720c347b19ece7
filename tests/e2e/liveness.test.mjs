// End to end: the liveness challenge in a real Chromium whose fake webcam plays a real clip of
// ../shared/liveness (made into a .y4m at test time), against a real `facegate serve` that asks
// for the steps the clip performs. The clip signs up and logs in through the challenge; a still
// photo of the same person is refused at the first step. Screenshots of every state land in
// test-output/screenshots/ (liveness-*). Skips when the clips are absent.
//
// Timeline: Chromium's fake camera starts the file when the page opens the camera and plays it
// at its own rate. dev_shenasa_turns turns left at 0.4-1.4 s and right at 1.7-2.7 s; the video
// holds its first frame for LEAD seconds first, so the page has started its session and the
// server has seen a neutral pose before the first turn, and both turns happen well inside their
// 5 s steps and before the file loops.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PHONE, bin, freePort, models, outDir, shared, shot, shotDir, stopChild, waitForUrl, webRoot, withCamera } from './helpers.mjs';

const CLIP = path.join(shared, 'liveness', 'dev_shenasa_turns.mp4');
const skip = existsSync(CLIP) ? false : 'no liveness clips in ../shared/liveness';
const STEPS = 'turn_left,turn_right';
const LEAD = 2.5; // seconds of the first frame before the clip plays

let tmp;
let server;
let baseUrl;
const videos = {};

const heading = (page, name) => page.getByRole('heading', { level: 1, name });
const challenge = (page) => page.locator('.fg-liveness');

function ffmpeg(...args) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args]);
}

before(async () => {
  if (skip) return;
  assert.ok(existsSync(bin), `no server binary at ${bin}: build it (make) or set FACEGATE_BIN`);
  assert.ok(existsSync(path.join(webRoot, 'index.html')), 'no web/dist: run `npm run build` in web/');
  mkdirSync(shotDir, { recursive: true });
  tmp = mkdtempSync(path.join(tmpdir(), 'facegate-e2e-liveness-'));

  // The real clip, with a still lead-in; 30 fps so the page's 15 fps capture sees every frame.
  videos.real = path.join(tmp, 'real.y4m');
  ffmpeg('-i', CLIP, '-vf', `tpad=start_duration=${LEAD}:start_mode=clone,fps=30,format=yuv420p`, '-t', '7', videos.real);
  // A still photo of the same person: the clip's first frame, held.
  videos.still = path.join(tmp, 'still.y4m');
  ffmpeg('-i', CLIP, '-vf', 'trim=end_frame=1,tpad=stop_duration=12:stop_mode=clone,fps=30,format=yuv420p', '-t', '12',
    videos.still);

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = path.join(tmp, 'data');
  mkdirSync(dataDir);
  const log = openSync(path.join(outDir, 'e2e-liveness-server.log'), 'w');
  server = spawn(
    bin,
    ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--models', models,
      '--web-root', webRoot, '--liveness', 'required', '--liveness-steps', STEPS],
    { stdio: ['ignore', log, log] },
  );
  await waitForUrl(`${baseUrl}/healthz`, server, 60_000, 'facegate serve');
});

after(async () => {
  await stopChild(server);
  if (tmp && !process.env.FG_E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
});

/** Waits for each state of a passing challenge and photographs it. */
async function followChallenge(page, prefix) {
  await challenge(page).and(page.locator('[data-phase="ready"]')).waitFor();
  await shot(page, `${prefix}-ready`);
  await page.locator('.fg-liveness-arrow[data-direction="turn_left"]').waitFor();
  assert.equal(await page.locator('.fg-liveness-prompt').textContent(), 'Turn your head to your left');
  await shot(page, `${prefix}-turn-left`);
  await page.locator('.fg-liveness-arrow[data-direction="turn_right"]').waitFor();
  assert.equal(await page.locator('.fg-liveness-count').textContent(), 'Step 2 of 2');
  await shot(page, `${prefix}-turn-right`);
  await challenge(page).and(page.locator('[data-phase="passed"]')).waitFor();
  await shot(page, `${prefix}-passed`);
}

test('the real clip signs up through the challenge', { skip, timeout: 120_000 }, async () => {
  await withCamera(videos.real, async (page) => {
    // Hold the sign-up answer a moment so the "passed, creating the account" state is seen.
    await page.route('**/api/v1/users', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      await route.continue();
    });
    await page.goto(`${baseUrl}/#/signup`);
    await heading(page, 'Sign up').waitFor();
    await page.getByLabel('Username').fill('shenasa');
    await shot(page, 'liveness-01-signup-form');
    const signup = page.waitForRequest('**/api/v1/users');
    await page.getByRole('button', { name: 'Continue: scan my face' }).click();
    await followChallenge(page, 'liveness-02-signup');
    const body = (await signup).postDataJSON();
    assert.deepEqual(Object.keys(body).sort(), ['liveness', 'liveness_secret', 'username'], 'no image is sent');

    await heading(page, 'Your account').waitFor();
    await page.getByTestId('username').filter({ hasText: /^shenasa$/ }).waitFor();
    await shot(page, 'liveness-03-account');
  });
});

test('the real clip logs in through the challenge', { skip, timeout: 120_000 }, async () => {
  await withCamera(videos.real, async (page) => {
    await page.route('**/api/v1/login', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      await route.continue();
    });
    const login = page.waitForRequest('**/api/v1/login');
    await page.goto(`${baseUrl}/#/login`);
    await followChallenge(page, 'liveness-04-login');
    assert.deepEqual(Object.keys((await login).postDataJSON()).sort(), ['liveness', 'liveness_secret']);
    await heading(page, 'Your account').waitFor();
    await page.getByTestId('username').filter({ hasText: /^shenasa$/ }).waitFor();
    await shot(page, 'liveness-05-logged-in');
  });
});

test('a still photo of the same person is refused at the first step, at phone width', { skip, timeout: 120_000 },
  async () => {
    await withCamera(videos.still, async (page) => {
      await page.goto(`${baseUrl}/#/login`);
      await page.locator('.fg-liveness-arrow[data-direction="turn_left"]').waitFor();
      await page.locator('.fg-liveness-countdown').waitFor();
      await shot(page, 'liveness-06-still-step-phone');
      const alert = page.getByRole('alert');
      await alert.getByText('The step was not done in time').waitFor();
      await alert.getByRole('button', { name: 'Try again' }).waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'liveness_step_timeout');
      await shot(page, 'liveness-07-still-refused-phone');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `the page is ${width} px wide at ${PHONE.width} px`);
    }, PHONE);
  });
