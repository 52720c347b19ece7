// Part of make bench: the server's CPU per liveness challenge session. One `facegate serve`
// with one worker; SESSIONS sessions (default 10), each fed the first 20 frames of a real clip
// (../shared/liveness/dev_shenasa_turns.mp4, 400x220, decoded to JPEG here) in requests of 4 at
// the clip's pace, two sessions at a time. The server's own CPU time (utime + stime of its
// process, /proc) over the run gives the CPU per session and the frames handled per CPU second
// (= per core). Prints Markdown on stdout.
//   node bench/liveness-server.mjs [SESSIONS]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHARED, call, dataUrl, ffmpeg, startServer, tempDir } from '../tests/server/helpers.mjs';

const SESSIONS = Number(process.argv[2] ?? process.env.BENCH_LIVENESS_SESSIONS ?? 10);
const FRAMES = 20;
const BATCH = 4;
const clip = path.join(SHARED, 'liveness', 'dev_shenasa_turns.mp4');
if (!fs.existsSync(clip)) {
  console.error(`bench: ${clip} is missing; the liveness bench is skipped`);
  process.exit(0);
}
const dir = tempDir('fg-bench-liveness-');
ffmpeg('-i', clip, '-frames:v', String(FRAMES), '-q:v', '3', path.join(dir, '%03d.jpg'));
const frames = fs.readdirSync(dir).sort().map((f, i) => ({ t: (i * 1000) / 15, image: dataUrl(path.join(dir, f)) }));

const ticks = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime
}

async function session(server) {
  const start = await call(server, 'POST', '/api/v1/liveness', { json: {} });
  if (start.status !== 201) throw new Error(`POST /api/v1/liveness: ${start.status}`);
  const t0 = performance.now();
  let fed = 0;
  for (let i = 0; i < frames.length; i += BATCH) {
    const batch = frames.slice(i, i + BATCH);
    const wait = batch[batch.length - 1].t - (performance.now() - t0);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const res = await call(server, 'POST', `/api/v1/liveness/${start.body.id}/frames`, {
      json: { secret: start.body.secret, frames: batch },
    });
    if (res.status !== 200) throw new Error(`frames: ${res.status} ${JSON.stringify(res.body)}`);
    fed += res.body.frames;
    if (res.body.state !== 'running') break;
  }
  return fed;
}

const server = await startServer({
  liveness: 'required',
  args: ['--workers', '1', '--liveness-steps', 'turn_left,turn_right,blink', '--liveness-step-seconds', '30',
    '--liveness-sessions-per-client', '1000'],
});
try {
  await session(server); // warm-up: first-use allocations
  const before = cpuSeconds(server.proc.pid);
  const started = performance.now();
  let fed = 0;
  for (let i = 0; i < SESSIONS; i += 2) {
    const counts = await Promise.all([session(server), ...(i + 1 < SESSIONS ? [session(server)] : [])]);
    fed += counts.reduce((a, b) => a + b, 0);
  }
  const cpu = cpuSeconds(server.proc.pid) - before;
  const wall = (performance.now() - started) / 1000;
  console.log('\n#### Liveness challenge on the server (one worker, fast path per frame)\n');
  console.log('| sessions | frames | server CPU | CPU per session (20 frames) | frames per CPU second | wall |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${SESSIONS} | ${fed} | ${cpu.toFixed(2)} s | ${((cpu / fed) * FRAMES * 1000).toFixed(0)} ms ` +
    `| ${(fed / cpu).toFixed(1)} | ${wall.toFixed(1)} s |`);
  console.log(`\n${os.cpus()[0].model}; target: at most 300 ms of CPU per 20-frame session (issue 12). ` +
    'Includes JPEG decoding, BlazeFace + FaceMesh + iris on every frame, the descriptors the ' +
    'verifier asks for, JSON and HTTP.');
} finally {
  await server.stop();
}
