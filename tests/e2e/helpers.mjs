// Shared by the end-to-end tests: fake-webcam videos made from photos, free ports, waiting for a
// server, and Chromium (Debian's, through playwright-core) with a given video as its camera.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = path.resolve(repo, process.env.FACEGATE_BIN ?? 'build/facegate');
export const shared = path.resolve(process.env.FG_SHARED_DIR ?? path.join(repo, '..', 'shared'));
export const portraits = path.join(shared, 'faces', 'portraits');
export const webRoot = path.join(repo, 'web', 'dist');
export const models = path.join(repo, 'node_modules', '@vladmandic', 'face-api', 'model');
export const outDir = path.join(repo, 'test-output');
export const shotDir = path.join(outDir, 'screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const DESKTOP = { width: 1024, height: 900 };
export const PHONE = { width: 375, height: 812 };
export const STEP_TIMEOUT = 60_000;

/** A 640×480, 10 fps, 3 s .y4m in `dir` of one still photo; `crop` (fractions of width/height:
 *  x, y, w, h) frames the photo the way a webcam would see the person. */
export function photoVideo(dir, name, photo, crop) {
  const out = path.join(dir, `${name}.y4m`);
  const framing = crop ? `crop=iw*${crop[2]}:ih*${crop[3]}:iw*${crop[0]}:ih*${crop[1]},` : '';
  const filter =
    `${framing}scale=640:480:force_original_aspect_ratio=decrease,` +
    'pad=640:480:(ow-iw)/2:(oh-ih)/2,format=yuv420p';
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', path.join(portraits, photo), '-t', '3',
    '-vf', filter, '-r', '10', out]);
  return out;
}

/** A webcam that sees an empty grey wall. */
export function emptyVideo(dir, name) {
  const out = path.join(dir, `${name}.y4m`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x8b8f96:s=640x480:r=10', '-t', '3',
    '-pix_fmt', 'yuv420p', out]);
  return out;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Waits until GET url answers 2xx (or `child` exits, which fails). */
export async function waitForUrl(url, child, limitMs, what = 'the server') {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}; see ${outDir}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not answer ${url} within ${limitMs} ms`);
}

/** Stops a child process: SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Launches Chromium whose camera plays `video` (null: a machine without a camera), runs
 *  `scenario(page, context)`, always closes it. */
export async function withCamera(video, scenario, viewport = DESKTOP) {
  const camera = video
    ? ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`]
    : [];
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--use-fake-ui-for-media-stream', ...camera],
  });
  try {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    const consoleErrors = [];
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    await scenario(page, context);
    assert.deepEqual(consoleErrors, [], 'the page threw uncaught errors');
  } finally {
    await browser.close();
  }
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: true });
}
