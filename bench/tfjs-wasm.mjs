// The tfjs wasm backend in Node, shared by the reference side of `make bench` (bench/reference.mjs)
// and the golden generator (tests/golden/make-human-goldens.mjs): @tensorflow/tfjs 4.22.0 with
// tfjs-backend-wasm 4.22.0 (XNNPACK compiled to WebAssembly), and @vladmandic/human 3.3.6 on it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import workerThreads from 'node:worker_threads';
import { resolveObjectURL } from 'node:buffer';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(scriptDir, '..');
export const nodeModules = path.join(repoRoot, 'node_modules');
export const wasmDir = path.join(nodeModules, '@tensorflow/tfjs-backend-wasm/dist') + path.sep;
export const humanModelDir = path.join(nodeModules, '@vladmandic/human/models');

// tfjs and Emscripten print through console.log/warn; keep all of it off stdout.
export function redirectConsoleToStderr() {
    for (const level of ['log', 'info', 'warn', 'debug']) {
        console[level] = (...args) => console.error('[tfjs]', ...args);
    }
}

// Lets the Emscripten pthread runtime of tfjs-backend-wasm start its workers under Node.
// The runtime asks for `new Worker("blob:...")` with the worker script in a Blob, then posts it a
// "load" message whose urlOrBlob is another Blob (the module factory's source). Node's Worker takes
// neither, and Blob contents can only be read asynchronously, so the worker starts with a small
// bootstrap that queues messages until the worker script arrives, then evaluates it and replays
// the queue in order. The factory source refers to bundle-level names (require$$N,
// commonjsGlobal, __dirname) which the bootstrap defines as globals.
function installThreadShim() {
    const RealWorker = workerThreads.Worker;
    const bootstrap = `
const wt = require('worker_threads');
const fs = require('fs');
Object.assign(globalThis, {
    require, __filename: ${JSON.stringify(fileURLToPath(import.meta.url))}, __dirname: ${JSON.stringify(scriptDir)},
    require$$0: fs, require$$1: require('path'), require$$3: require('perf_hooks'), require$$4: require('os'),
    commonjsGlobal: globalThis,
});
const port = wt.parentPort;
const portOn = port.on.bind(port);
let handler = null;
let queued = [];
let chain = Promise.resolve();
port.on = (event, fn) => { if (event === 'message') { handler = fn; return port; } return portOn(event, fn); };
portOn('message', (msg) => {
    chain = chain.then(() => receive(msg)).catch((e) => {
        fs.writeSync(2, 'reference.mjs thread shim: ' + ((e && e.stack) || e) + String.fromCharCode(10));
        process.exit(1);
    });
});
async function receive(msg) {
    if (msg && msg.__fgWorkerScript !== undefined) {
        (0, eval)(msg.__fgWorkerScript);
        const pending = queued;
        queued = null;
        for (const m of pending) await deliver(m);
    } else if (queued) {
        queued.push(msg);
    } else {
        await deliver(msg);
    }
}
async function deliver(msg) {
    if (msg && msg.cmd === 'load' && msg.urlOrBlob && typeof msg.urlOrBlob !== 'string') {
        (0, eval)(await msg.urlOrBlob.text());
        const importScripts = globalThis.importScripts;
        globalThis.importScripts = (f) => { if (f !== '__fg_preloaded__') importScripts(f); };
        msg.urlOrBlob = '__fg_preloaded__';
    }
    handler(msg);
}
`;
    class BlobWorker extends RealWorker {
        constructor(file, options) {
            if (typeof file !== 'string' || !file.startsWith('blob:')) {
                super(file, options);
                return;
            }
            const blob = resolveObjectURL(file);
            if (!blob) throw new Error(`thread shim: unknown blob URL ${file}`);
            super(bootstrap, { ...options, eval: true });
            blob.text().then((text) => this.postMessage({ __fgWorkerScript: text }));
        }
    }
    workerThreads.Worker = BlobWorker;
}

export async function initBackend(tf, wasmBackend, opt) {
    wasmBackend.setWasmPaths(wasmDir);
    wasmBackend.setThreadsCount(opt.threads);
    const shim = opt.threads > 1 && opt.threadShim;
    const realCpus = os.cpus;
    if (shim) {
        installThreadShim();
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
        // The backend uses min(requested, 8, logicalCpus / 2) threads.
        const cpus = realCpus();
        if (cpus.length < 2 * opt.threads) {
            os.cpus = () => Array.from({ length: 2 * opt.threads }, (_, i) => cpus[i % cpus.length]);
        }
    }
    let ok;
    try {
        ok = await tf.setBackend('wasm');
        await tf.ready();
    } finally {
        os.cpus = realCpus;
    }
    if (!ok || tf.getBackend() !== 'wasm') {
        throw new Error(`could not initialise the wasm backend (backend in use: ${tf.getBackend()})` +
            (shim ? '; retry with --no-thread-shim' : ''));
    }
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const multithread = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    const threads = wasmBackend.getThreadsCount();
    let binary = 'tfjs-backend-wasm.wasm';
    if (simd && multithread) binary = 'tfjs-backend-wasm-threaded-simd.wasm';
    else if (simd) binary = 'tfjs-backend-wasm-simd.wasm';
    let note;
    if (opt.threads === 1) {
        note = 'single thread requested: stock Node configuration (tfjs-backend-wasm-simd.wasm, no pthreads)';
    } else if (!shim) {
        note = 'multi-threaded wasm is disabled by tfjs-backend-wasm 4.22.0 under Node (WASM_HAS_MULTITHREAD_SUPPORT ' +
            'is false when IS_NODE, tfjs#3830) and --no-thread-shim was given, so the backend runs 1 thread';
    } else {
        note = 'stock tfjs-backend-wasm 4.22.0 does not run multi-threaded under Node (WASM_HAS_MULTITHREAD_SUPPORT ' +
            'is false when IS_NODE, tfjs#3830; forcing it fails with ERR_WORKER_PATH on a blob: worker URL). ' +
            'This run forced the flag and used a worker_threads shim so the unmodified threaded-simd binary runs ' +
            `in Node; the backend caps threads at hardwareConcurrency/2 (= ${Math.floor(realCpus().length / 2)} here), ` +
            'so the shim reported enough CPUs during initialisation. ' +
            (threads === opt.threads ? `The backend confirmed ${threads} threads.`
                : `The backend reports ${threads} thread(s), not ${opt.threads}.`);
    }
    return { threads, simd, multithread, binary, note, shim };
}


// Human loads its models with fetch(); Node's fetch has no file: scheme, so file: URLs are read
// from disk here (only those; anything else goes to the real fetch).
function serveFileUrls() {
    if (globalThis.fetch.fgFileUrls) return;
    const realFetch = globalThis.fetch;
    const fetchFiles = async (url, init) => {
        const u = String(url);
        if (u.startsWith('file://')) return new Response(fs.readFileSync(fileURLToPath(u)));
        return realFetch(url, init);
    };
    fetchFiles.fgFileUrls = true;
    globalThis.fetch = fetchFiles;
}

// Human 3.3.6 (dist/human.node-wasm.js) on the wasm backend already initialised by initBackend,
// with only the face detector, mesh and iris enabled and no frame-to-frame caching, so every
// detect() runs BlazeFace, FaceMesh and iris on the whole image. `face` merges into config.face.
export async function createHuman(face = {}) {
    serveFileUrls();
    const require = createRequire(import.meta.url);
    const { Human } = require(path.join(nodeModules, '@vladmandic/human/dist/human.node-wasm.js'));
    const human = new Human({
        backend: 'wasm',
        wasmPath: wasmDir,
        modelBasePath: `file://${humanModelDir}/`,
        debug: false,
        async: true,
        warmup: 'none',
        cacheSensitivity: 0,
        skipAllowed: false,
        filter: { enabled: false },
        gesture: { enabled: false },
        body: { enabled: false },
        hand: { enabled: false },
        object: { enabled: false },
        segmentation: { enabled: false },
        face: {
            enabled: true,
            detector: { rotation: false, ...(face.detector || {}) },
            mesh: { enabled: true, ...(face.mesh || {}) },
            iris: { enabled: true, ...(face.iris || {}) },
            attention: { enabled: false },
            emotion: { enabled: false },
            description: { enabled: false },
            antispoof: { enabled: false },
            liveness: { enabled: false },
        },
    });
    await human.load();
    return human;
}
