#!/usr/bin/env node
// make bench, server part: 1:N log-ins of an enrolled face against a real `facegate serve`
// (--workers = the cores), driven by wrk at 1, 2, 4, 8 and 16 keep-alive clients, several runs
// each. Prints a Markdown section: throughput against what the cores allow, and p99 against
// what the queue explains (a request waits for the ones ahead of it: with c clients on W
// engines, about ceil(c / W) service times), the cores the server process actually used (its
// CPU time over the run's wall time), and how many of its threads were busy on average (running
// or waiting for a core; sampled every 20 ms): on a shared machine the other processes' load
// shows in "cores used", while "busy threads" still says whether every engine had work.
//
//   node bench/server.mjs [--bin build/facegate] [--compare OTHER_BIN] [--runs 3] [--seconds 10]
//                         [--clients 1,2,4,8,16] [--json out.json]
// --compare runs a second build side by side (interleaved runs, same conditions), e.g. the
// previous release. Environment: FG_SHARED_DIR (the portraits), FACEGATE_BIN.
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    bin: { type: 'string', default: process.env.FACEGATE_BIN ?? path.join(root, 'build/facegate') },
    compare: { type: 'string' },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '1,2,4,8,16' },
    json: { type: 'string' },
  },
});
const shared = path.resolve(process.env.FG_SHARED_DIR ?? path.join(root, '../shared'));
const portraits = path.join(shared, 'faces/portraits');
const models = path.join(root, 'node_modules/@vladmandic/face-api/model');
const cores = os.cpus().length;
const runs = Number(opts.runs);
const clientCounts = opts.clients.split(',').map(Number);

function fail(msg) {
  process.stderr.write(`bench/server.mjs: ${msg}\n`);
  process.exit(1);
}

for (const tool of ['wrk']) {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
  } catch {
    fail(`${tool} is not installed (scripts/setup.sh installs it)`);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-bench-server-'));
const dataUrl = (file) => `data:image/jpeg;base64,${fs.readFileSync(file).toString('base64')}`;

/** Starts a server; its log goes to a file (a pipe nobody reads while wrk runs would fill up
 *  and block the server's log writes). Resolves once the banner names the port. */
function startServer(bin, name) {
  const logFile = path.join(tmp, `${name}.log`);
  const proc = spawn(bin, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir',
    path.join(tmp, `data-${name}`), '--models', models, '--web-root', path.join(tmp, 'none'),
    // One enrolled user: the fixed LFW threshold (the adaptive policy's fallback for so few users
    // need not accept another photo of him), and no per-address limits in the way of the load.
    '--workers', String(cores), '--policy', 'fixed', '--rate-limit-ip', '64',
    '--detect-limit', '1000000'], { stdio: ['ignore', 'ignore', fs.openSync(logFile, 'w')] });
  proc.label = name;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const log = fs.readFileSync(logFile, 'utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(log);
      if (m) {
        clearInterval(poll);
        proc.url = m[1];
        resolve(proc);
      } else if (proc.exitCode !== null || Date.now() - started > 120000) {
        clearInterval(poll);
        reject(new Error(`server did not start:\n${log}`));
      }
    }, 100);
  });
}

const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/** CPU seconds the process has used (user + system). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Threads of the process that are running or waiting for a core (state R). */
function busyThreads(pid) {
  let n = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      n += fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').split(') ')[1][0] === 'R';
    } catch {
      /* the thread ended */
    }
  }
  return n;
}

async function wrk(server, clients, seconds) {
  const url = server.url;
  const cpu0 = cpuSeconds(server.pid);
  const samples = [];
  const sampler = setInterval(() => samples.push(busyThreads(server.pid)), 20);
  const out = await new Promise((resolve, reject) => {
    execFile('wrk', ['-t', String(Math.min(clients, 4)), '-c', String(clients), '-d', `${seconds}s`,
      '--timeout', '30s', '-s', path.join(root, 'bench/server.lua'), `${url}/api/v1/login`],
    { encoding: 'utf8', env: { ...process.env, FG_BENCH_BODY: path.join(tmp, 'body.json') } },
    (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  clearInterval(sampler);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) fail(`no figures from wrk:\n${out}`);
  const r = JSON.parse(line);
  r.rps = r.requests / (r.duration_us / 1e6);
  r.cores_used = (cpuSeconds(server.pid) - cpu0) / (r.duration_us / 1e6);
  r.busy_threads = samples.reduce((a, b) => a + b, 0) / Math.max(samples.length, 1);
  r.errors = r.connect_errors + r.read_errors + r.write_errors + r.timeouts + r.non2xx;
  return r;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, digits = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));

const body = path.join(tmp, 'body.json');
fs.writeFileSync(body, JSON.stringify({ image: dataUrl(path.join(portraits, 'obama/obama1.jpg')) }));
const servers = [];
try {
  for (const [bin, name] of [[opts.bin, 'facegate'], ...(opts.compare ? [[opts.compare, 'compared']] : [])]) {
    const server = await startServer(bin, name);
    servers.push(server);
    let res = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'obama', image: dataUrl(path.join(portraits, 'obama/obama.jpg')) }),
    });
    if (res.status !== 201) fail(`sign-up failed: ${res.status} ${await res.text()}`);
    res = await fetch(`${server.url}/api/v1/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: fs.readFileSync(body),
    });
    if (res.status !== 200) fail(`log-in failed: ${res.status} ${await res.text()}`);
    await wrk(server, cores, 2); // warm-up
  }

  const results = [];
  for (const clients of clientCounts) {
    for (let run = 1; run <= runs; run++) {
      for (const server of servers) {
        process.stderr.write(`bench: server ${server.label}, ${clients} client(s), run ${run}/${runs}\n`);
        results.push({ server: server.label, clients, run, ...(await wrk(server, clients, Number(opts.seconds))) });
      }
    }
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ cores, results }, null, 2));
  const lines = [];
  for (const server of servers) {
    const mine = results.filter((r) => r.server === server.label);
    // One client: one request at a time, so its rate is one engine's; the cores allow W times it.
    const single = mine.filter((r) => r.clients === 1);
    const perEngine = median(single.map((r) => r.rps));
    const service = median(single.map((r) => r.p50_ms));
    const bin = path.relative(root, server.spawnfile) || server.spawnfile;
    lines.push(`### Server: 1:N log-ins under load (wrk, ${cores} engines on ${cores} cores)` +
      `${servers.length > 1 ? `: ${bin}` : ''}`, '');
    lines.push(`\`${bin} serve --workers ${cores}\`, one enrolled user, every request a 1:N log-in ` +
      `of another photo of them (obama1.jpg, 1480x832, JSON), ${opts.seconds} s per run, keep-alive ` +
      `connections. "of the cores": the rate over ${cores} x the one-client rate ` +
      `(${fmt(perEngine)}/s); "p99 / queue": p99 over ceil(clients / ${cores}) x the one-client ` +
      `median (${fmt(service)} ms), the time the requests ahead of it explain; "cores used": the ` +
      `server's CPU time over the wall time, and "per core-s" the log-ins per CPU second; "busy ` +
      `threads": its threads running or waiting for a core, on average (the engines at work: ` +
      `${cores} when every engine has a request).`, '');
    lines.push('| clients | run | requests/s | of the cores | cores used | per core-s | busy threads | p50 ms | p90 ms | p99 ms | p99 / queue | errors |');
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of mine) {
      const ideal = perEngine * Math.min(r.clients, cores);
      const queueMs = Math.ceil(r.clients / cores) * service;
      lines.push(`| ${r.clients} | ${r.run} | ${fmt(r.rps)} | ${(100 * r.rps / ideal).toFixed(0)}% | ` +
        `${r.cores_used.toFixed(2)} | ${fmt(r.rps / r.cores_used)} | ${r.busy_threads.toFixed(2)} | ` +
        `${fmt(r.p50_ms)} | ${fmt(r.p90_ms)} | ${fmt(r.p99_ms)} | ` +
        `${(r.p99_ms / queueMs).toFixed(2)} | ${r.errors} |`);
    }
    lines.push('', '| clients | requests/s (median of runs) | of the cores | cores used | per core-s | busy threads | p99 ms (median) | p99 / queue |');
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const clients of clientCounts) {
      const rs = mine.filter((r) => r.clients === clients);
      const rps = median(rs.map((r) => r.rps)), p99 = median(rs.map((r) => r.p99_ms));
      lines.push(`| ${clients} | ${fmt(rps)} | ${(100 * rps / (perEngine * Math.min(clients, cores))).toFixed(0)}% | ` +
        `${median(rs.map((r) => r.cores_used)).toFixed(2)} | ${fmt(median(rs.map((r) => r.rps / r.cores_used)))} | ` +
        `${median(rs.map((r) => r.busy_threads)).toFixed(2)} | ${fmt(p99)} | ` +
        `${(p99 / (Math.ceil(clients / cores) * service)).toFixed(2)} |`);
    }
    lines.push('');
  }
  process.stdout.write(`${lines.join('\n')}`);
} finally {
  for (const server of servers) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
