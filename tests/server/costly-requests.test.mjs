// Cheap requests that cost a lot: decompression bombs are refused from their header, camera
// frames (/detect, log-in) have a webcam-sized pixel limit, large JPEGs are decoded scaled down,
// and a /detect flood does not slow /healthz.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer, call, photo, dataUrl, ffmpeg, tempDir, peakRssMb, jpegClaiming, getFresh,
} from './helpers.mjs';

let server;
let work;
const file = (name) => fs.readFileSync(path.join(work, name));
const raw = (route, body, type) => call(server, 'POST', route, { body, headers: { 'content-type': type } });

before(async () => {
  work = tempDir('fg-costly-');
  // 6000x6000 of one grey: 1.4 KB as lossless WebP (the reported bomb), 1.6 MB as a JPEG of a
  // test pattern (a real 36 MP picture); a 16x16 JPEG whose header claims 6324x6324.
  ffmpeg('-f', 'lavfi', '-i', 'color=c=0x808080:s=6000x6000', '-frames:v', '1', '-c:v', 'libwebp',
    '-lossless', '1', path.join(work, 'bomb.webp'));
  ffmpeg('-f', 'lavfi', '-i', 'color=c=0x808080:s=6000x6000', '-frames:v', '1',
    path.join(work, 'bomb.png'));
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=6000x6000', '-frames:v', '1', '-q:v', '3',
    path.join(work, 'big.jpg'));
  ffmpeg('-f', 'lavfi', '-i', 'color=c=gray:s=16x16', '-frames:v', '1', '-pix_fmt', 'gray',
    path.join(work, 'tiny.jpg'));
  fs.writeFileSync(path.join(work, 'claims.jpg'), jpegClaiming(file('tiny.jpg'), 6324, 6324));
  // Webcam-like frames of one face: 1920x1080 (2 MP) and 2400x1350 (3.2 MP); a 4800 px photo.
  const pad = (w, h) => `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`;
  ffmpeg('-i', photo('obama/obama1.jpg'), '-vf', pad(1920, 1080), path.join(work, 'frame2mp.jpg'));
  ffmpeg('-i', photo('obama/obama1.jpg'), '-vf', pad(2400, 1350), path.join(work, 'frame3mp.jpg'));
  ffmpeg('-i', photo('obama/obama.jpg'), '-vf', 'scale=4800:-2:flags=lanczos', '-q:v', '2',
    path.join(work, 'obama4800.jpg'));
  // The fixed LFW threshold: these log in with other photos of a sole user, which the adaptive
  // policy's fallback for so few users need not accept (tests/server/policy.test.mjs).
  server = await startServer({ args: ['--workers', '2', '--policy', 'fixed'] });
});

after(async () => {
  await server?.stop();
});

test('a 1.4 KB WebP of 6000x6000 is refused from its header on every image route', async () => {
  assert.ok(file('bomb.webp').length < 2000);
  await raw('/api/v1/detect', file('frame2mp.jpg'), 'image/jpeg'); // warm up the engines
  const before = peakRssMb(server);
  for (const route of ['/api/v1/detect', '/api/v1/login', '/api/v1/users?username=bomber']) {
    const res = await raw(route, file('bomb.webp'), 'image/webp');
    assert.equal(res.status, 413, `${route}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'image_too_large');
  }
  // Refused from the header: nothing near the 108 MB of a decoded 6000x6000 RGB image.
  const grown = peakRssMb(server) - before;
  assert.ok(grown < 60, `peak memory grew by ${grown.toFixed(0)} MB`);
  const res = await raw('/api/v1/users?username=bomber', file('bomb.png'), 'image/png');
  assert.equal(res.status, 413, JSON.stringify(res.body));
  assert.match(res.body.error.message, /bytes/);
});

test('a JPEG header claiming 6324x6324 costs no big allocation', async () => {
  await raw('/api/v1/detect', file('frame2mp.jpg'), 'image/jpeg'); // warm up the engines
  const before = peakRssMb(server);
  for (const route of ['/api/v1/detect', '/api/v1/users?username=claimer']) {
    const res = await raw(route, file('claims.jpg'), 'image/jpeg');
    assert.equal(res.status, 413, `${route}: ${JSON.stringify(res.body)}`);
  }
  // A real 36 MP JPEG is still accepted for sign-up, decoded at a fraction of its size.
  const res = await raw('/api/v1/users?username=pattern', file('big.jpg'), 'image/jpeg');
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error.code, 'no_face');
  const grown = peakRssMb(server) - before;
  assert.ok(grown < 60, `peak memory grew by ${grown.toFixed(0)} MB (full decode: 108 MB)`);
});

test('camera frames: 2 MP is accepted, more is refused on /detect and log-in, not on sign-up', async () => {
  let res = await raw('/api/v1/detect', file('frame2mp.jpg'), 'image/jpeg');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.faces.length, 1);
  assert.deepEqual([res.body.width, res.body.height], [1920, 1080]);
  const box = res.body.faces[0].box; // in the frame's own pixels, whatever the decode scale
  assert.ok(box.x > 600 && box.x + box.width < 1320, JSON.stringify(box));
  for (const route of ['/api/v1/detect', '/api/v1/login']) {
    res = await raw(route, file('frame3mp.jpg'), 'image/jpeg');
    assert.equal(res.status, 413, `${route}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'image_too_large');
    assert.match(res.body.error.message, /frame/);
  }
  res = await raw('/api/v1/users?username=obama', file('obama4800.jpg'), 'image/jpeg');
  assert.equal(res.status, 201, JSON.stringify(res.body));
  res = await call(server, 'POST', '/api/v1/login', { json: { image: dataUrl(photo('obama/obama2.jpg')) } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.user.username, 'obama');
});

test('a /detect flood from 4 clients does not slow /healthz', async () => {
  const frame = file('frame2mp.jpg');
  let stop = false;
  const flood = Array.from({ length: 4 }, async () => {
    while (!stop) await raw('/api/v1/detect', frame, 'image/jpeg');
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const times = [];
  for (let i = 0; i < 15; i++) {
    const res = await getFresh(server, '/healthz', { timeoutMs: 3000 });
    assert.equal(res.status, 200, res.error);
    times.push(res.ms);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stop = true;
  await Promise.all(flood);
  times.sort((a, b) => a - b);
  assert.ok(times[7] < 100, `/healthz median ${times[7]} ms under a /detect flood (${times})`);
});
