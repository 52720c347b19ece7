// Shared helpers of the server tests: start a real `facegate serve` on 127.0.0.1 with a fresh
// data dir, talk to it with fetch, and find the test photos.
//
// With FG_TEST_PG_URL set (scripts/test.sh starts a throw-away PostgreSQL and sets it to
// postgres://facegate@127.0.0.1:PORT/), every server gets a fresh PostgreSQL database instead of
// the SQLite file: the same tests then run against the shared store.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.FACEGATE_BIN
  ? path.resolve(process.env.FACEGATE_BIN)
  : path.join(ROOT, 'build/facegate');
export const SHARED = path.resolve(process.env.FG_SHARED_DIR || path.join(ROOT, '../shared'));
export const PG_URL = process.env.FG_TEST_PG_URL || '';
export const MODELS = path.resolve(
  process.env.FG_MODEL_DIR || path.join(ROOT, 'node_modules/@vladmandic/face-api/model'),
);

/** Absolute path of a portrait, e.g. photo('obama/obama1.jpg'). */
export function photo(rel) {
  return path.join(SHARED, 'faces/portraits', rel);
}

/** A data URL of a file. */
export function dataUrl(file, type = 'image/jpeg') {
  return `data:${type};base64,${fs.readFileSync(file).toString('base64')}`;
}

// Temp dirs (data dirs, generated images) are removed when the test process exits.
const tempDirs = new Set();
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'fg-server-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * A new data dir holding a signing.key the test knows (to sign tokens of its own); resolves
 * { dataDir, seed }. SQLite signs with the file; PostgreSQL imports it into the database on the
 * first start (a cluster that shared files keeps its keys).
 */
export function dataDirWithSigningKey() {
  const dataDir = tempDir();
  const seed = crypto.randomBytes(32);
  fs.writeFileSync(path.join(dataDir, 'signing.key'), `${seed.toString('hex')}\n`, { mode: 0o600 });
  return { dataDir, seed };
}

let databases = 0;

const exited = (proc) => proc.exitCode !== null || proc.signalCode !== null;

/** A new, empty PostgreSQL database on FG_TEST_PG_URL's server; resolves its URL. */
export function newDatabase() {
  if (!PG_URL) throw new Error('FG_TEST_PG_URL is not set');
  const name = `fg_test_${process.pid}_${++databases}`;
  execFileSync('psql', [`${PG_URL}postgres`, '-qc', `CREATE DATABASE ${name}`]);
  return `${PG_URL}${name}`;
}

/**
 * Starts `facegate serve --port 0` and resolves once the banner names the port.
 * Returns { url, dataDir, store, log(), stop(), kill(), restart() }. Extra args are appended;
 * `bin` is another facegate binary (an installed one). store: a postgres:// URL, or (default) a
 * new database when FG_TEST_PG_URL is set, else SQLite in the data dir.
 * liveness: the --liveness mode. The tests that sign up and log in with still photos test other
 * things than liveness, so they pin 'off'; liveness.test.mjs passes 'required' (the default of
 * the server itself).
 */
export async function startServer({ args = [], dataDir = tempDir(), env = {}, bin = BIN, store,
  liveness = 'off' } = {}) {
  if (store === undefined) store = PG_URL ? newDatabase() : 'sqlite';
  const server = { dataDir, store, url: null, proc: null, output: '' };
  const launch = () =>
    new Promise((resolve, reject) => {
      const proc = spawn(
        bin,
        ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir,
         '--models', MODELS, '--web-root', path.join(dataDir, 'no-web-root'), '--store', store,
         '--liveness', liveness, ...args],
        { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      server.proc = proc;
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${server.output}`)),
        60000);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk) => {
        server.output += chunk;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(server.output);
        if (m && !server.url) {
          server.url = m[1];
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        if (!server.url) reject(new Error(`server exited with ${code}:\n${server.output}`));
      });
    });
  // Stops with SIGTERM; under a sanitizer build, a report in the log fails the caller.
  server.stop = async () => {
    const code = await new Promise((resolve) => {
      if (!server.proc || exited(server.proc)) return resolve(server.proc?.exitCode);
      server.proc.once('exit', (c, signal) => resolve(c ?? signal));
      server.proc.kill('SIGTERM');
    });
    if (/ERROR: \w+Sanitizer|runtime error:/.test(server.output)) {
      throw new Error(`sanitizer report from the server:\n${server.output}`);
    }
    return code;
  };
  // kill -9: no chance to finish anything.
  server.kill = async () => {
    if (!server.proc || exited(server.proc)) return;
    const gone = new Promise((resolve) => server.proc.once('exit', resolve));
    server.proc.kill('SIGKILL');
    await gone;
  };
  server.restart = async () => {
    await server.stop();
    server.url = null;
    server.output = '';
    await launch();
  };
  server.log = () => server.output;
  await launch();
  return server;
}

/** fetch + JSON: resolves { status, headers, body } (body parsed when JSON). */
export async function call(server, method, route, { json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await fetch(server.url + route, init);
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json')) {
    parsed = JSON.parse(text);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The admin token the server generated into its data dir. */
export function adminToken(server) {
  return fs.readFileSync(path.join(server.dataDir, 'admin.token'), 'utf8').trim();
}

/** Sends raw bytes over a socket and returns the raw response text (for what fetch refuses). */
export function rawRequest(server, head, bodyChunk = '') {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    let data = '';
    const s = net.connect(+port, '127.0.0.1', () => {
      s.write(head);
      if (bodyChunk) s.write(bodyChunk);
    });
    s.setEncoding('utf8');
    s.on('data', (d) => { data += d; });
    s.on('error', (e) => (data ? resolve(data) : reject(e)));
    s.on('close', () => resolve(data));
    setTimeout(() => s.destroy(), 10000);
  });
}

/** Parses a raw HTTP response into { status, headers (lower-case), body (JSON if possible) }. */
export function parseRaw(text) {
  const split = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, split).split('\r\n');
  const status = +lines[0].split(' ')[1];
  const headers = Object.fromEntries(
    lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim()]),
  );
  let body = text.slice(split + 4);
  try { body = JSON.parse(body); } catch { /* not JSON */ }
  return { status, headers, body };
}

/** Runs ffmpeg quietly. */
export function ffmpeg(...args) {
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args]);
}

/** The 128 floats `facegate embed` prints for the one face of an image. */
export function embed(file) {
  const out = execFileSync(BIN, ['embed', '--models', MODELS, file], { encoding: 'utf8' });
  const faces = JSON.parse(out)[0].faces;
  if (faces.length !== 1) throw new Error(`expected one face in ${file}, got ${faces.length}`);
  return faces[0].descriptor;
}

/** Peak resident memory of the server process in MB (VmHWM). */
export function peakRssMb(server) {
  const status = fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

/** A JPEG whose frame header (SOF) claims width x height; the data is the original's. */
export function jpegClaiming(jpeg, width, height) {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

/** GET over a fresh connection (no keep-alive): { status, ms } or { error, ms }. */
export function getFresh(server, route, { timeoutMs = 5000, localAddress } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.get(server.url + route, { agent: false, localAddress, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message, ms: Date.now() - started }));
  });
}

/**
 * n connections from localAddress that send the start of a request and then one more header
 * byte every intervalMs (a "slowloris"). Returns { open(), stop() }: open() counts the sockets
 * the server has not closed.
 */
export async function slowClients(server, n, { localAddress = '127.0.0.2', intervalMs = 1000 } = {}) {
  const { port } = new URL(server.url);
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port: +port, host: '127.0.0.1', localAddress });
    s.gone = false;
    s.on('error', () => { s.gone = true; });
    s.on('close', () => { s.gone = true; });
    s.on('connect', () => s.write('POST /api/v1/login HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    sockets.push(s);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const timer = setInterval(() => {
    for (const s of sockets) if (!s.gone) s.write('a');
  }, intervalMs);
  return {
    open: () => sockets.filter((s) => !s.gone).length,
    stop: () => {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

const frames = new Map();
/**
 * A portrait as a webcam could send it (log-in and /detect take camera frames of at most
 * --frame-max-pixels, 2 MiP by default): the photo itself when it is no larger, else fitted into
 * 1280x960. Returns a path.
 */
export function cameraFrame(rel) {
  const [w, h] = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries',
    'stream=width,height', '-of', 'csv=p=0', photo(rel)], { encoding: 'utf8' }).trim().split(',');
  if (w * h <= 2 * 1024 * 1024) return photo(rel);
  if (!frames.has(rel)) {
    const out = path.join(tempDir('fg-frames-'), path.basename(rel).replace(/\.\w+$/, '.jpg'));
    ffmpeg('-i', photo(rel), '-vf', 'scale=1280:960:force_original_aspect_ratio=decrease',
      '-q:v', '2', out);
    frames.set(rel, out);
  }
  return frames.get(rel);
}

/** call() from a given local address (127.0.0.x: the server sees another client). */
export function callFrom(server, localAddress, method, route, { json, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const req = http.request(server.url + route, {
      method, localAddress, agent: false,
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
