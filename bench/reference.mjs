#!/usr/bin/env node
// Reference side of `make bench`: times @vladmandic/face-api 1.7.15 and, for the fast path,
// @vladmandic/human 3.3.6 on @tensorflow/tfjs 4.22.0 with the tfjs-backend-wasm 4.22.0 backend
// (XNNPACK compiled to WebAssembly), stage by stage, and writes the figures in the same JSON
// shape as build/bench_engine so bench/compare.mjs can put them side by side.
//
// Human's stages: fast_frame is Human's own detect() (BlazeFace, FaceMesh and iris for every
// face; maxDetected 20, no caching between calls); blaze_detect, mesh and iris are each network
// with its input preparation (resize or crops, normalisation) and its outputs downloaded, as
// Human runs them (Human's JavaScript decoding is left out: facegate's stages include theirs).
//
//   node bench/reference.mjs --images a.jpg,b.jpg [--runs 10] [--warmup 2] [--threads 1|N|all]
//                            [--json out.json] [--golden-dir DIR] [--no-thread-shim]
//
// The table goes to stderr; the JSON goes to --json, or to stdout when --json is absent. tfjs
// console output is redirected to stderr so stdout stays valid JSON.
//
// Threads: tfjs-backend-wasm never uses its multi-threaded binary under Node (its
// WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false when IS_NODE, tfjs#3830): the
// Emscripten runtime hands worker_threads a blob: URL, which Node cannot start. For --threads > 1
// this script installs a small shim (installThreadShim) so the stock threaded-simd binary runs on
// Node worker_threads. The backend also caps its pool at hardwareConcurrency/2 (it assumes two
// hyper-threads per core), so the shim reports enough CPUs for the requested count while the
// backend initialises. The JSON's "threads" is the count the backend reports afterwards and
// "threads_note" says what was done. --no-thread-shim gives the stock behaviour (1 thread).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import { createHuman, initBackend, nodeModules, redirectConsoleToStderr, repoRoot } from './tfjs-wasm.mjs';

const modelDir = path.join(nodeModules, '@vladmandic/face-api/model');

const STAGES = ['decode', 'ssd_detect', 'tiny_detect', 'landmarks', 'descriptor', 'pipeline_ssd',
    'pipeline_ssd_with_decode', 'pipeline_tiny', 'blaze_detect', 'mesh', 'iris', 'fast_frame'];
const SANITY_MAX_L2 = 1e-4;

function usage(msg) {
    if (msg) process.stderr.write(`reference.mjs: ${msg}\n`);
    process.stderr.write('usage: node bench/reference.mjs --images A.jpg,B.jpg [--runs N] [--warmup W]\n' +
        '       [--threads 1|N|all] [--json FILE] [--golden-dir DIR] [--no-thread-shim]\n');
    process.exit(2);
}

function parseCli() {
    let values;
    try {
        ({ values } = parseArgs({
            options: {
                images: { type: 'string' },
                runs: { type: 'string', default: '10' },
                warmup: { type: 'string', default: '2' },
                threads: { type: 'string', default: '1' },
                json: { type: 'string' },
                'golden-dir': { type: 'string' },
                'no-thread-shim': { type: 'boolean', default: false },
                help: { type: 'boolean', short: 'h', default: false },
            },
            strict: true,
        }));
    } catch (e) {
        usage(e.message);
    }
    if (values.help) usage();
    if (!values.images) usage('--images is required');
    const images = values.images.split(',').map((s) => s.trim()).filter(Boolean);
    const runs = Number(values.runs);
    const warmup = Number(values.warmup);
    if (!Number.isInteger(runs) || runs < 1) usage(`--runs must be a positive integer, got "${values.runs}"`);
    if (!Number.isInteger(warmup) || warmup < 0) usage(`--warmup must be >= 0, got "${values.warmup}"`);
    const threads = values.threads === 'all' || values.threads === '0'
        ? os.availableParallelism() : Number(values.threads);
    if (!Number.isInteger(threads) || threads < 1) usage(`--threads must be a positive integer or "all", got "${values.threads}"`);
    for (const f of images) if (!fs.existsSync(f)) usage(`image not found: ${f}`);
    const sharedDir = process.env.FG_SHARED_DIR || path.resolve(repoRoot, '../shared');
    const goldenDir = values['golden-dir'] || path.join(sharedDir, 'golden');
    return { images, runs, warmup, threads, json: values.json, goldenDir, threadShim: !values['no-thread-shim'] };
}

function loadImageBytes(file) {
    const bytes = fs.readFileSync(file);
    return { file, name: path.basename(file), bytes, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
}

// Stage statistics. p90 is nearest-rank (the ceil(0.9 n)-th smallest sample).
function summarize(samples) {
    const s = [...samples].sort((a, b) => a - b);
    const n = s.length;
    const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    const round = (x) => Math.round(x * 1000) / 1000;
    return {
        median_ms: round(median),
        p90_ms: round(s[Math.max(0, Math.ceil(0.9 * n) - 1)]),
        min_ms: round(s[0]),
        mean_ms: round(s.reduce((a, b) => a + b, 0) / n),
        max_ms: round(s[n - 1]),
        runs: n,
        samples_ms: samples.map(round),
    };
}

const round2 = (x) => Math.round(x * 100) / 100;

function l2(a, b) {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
    return Math.sqrt(sum);
}

async function main() {
    const opt = parseCli();
    redirectConsoleToStderr();
    const loadAtStart = os.loadavg();

    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs');
    const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
    const faceapi = require(path.join(nodeModules, '@vladmandic/face-api/dist/face-api.node-wasm.js'));
    const jpeg = require('jpeg-js');
    const versions = {
        'face-api': faceapi.version,
        tfjs: tf.version.tfjs,
        'tfjs-backend-wasm': wasmBackend.version_wasm,
        'jpeg-js': require('jpeg-js/package.json').version,
        node: process.version,
    };

    const backend = await initBackend(tf, wasmBackend, opt);
    for (const net of ['ssdMobilenetv1', 'tinyFaceDetector', 'faceLandmark68Net', 'faceRecognitionNet']) {
        await faceapi.nets[net].loadFromDisk(modelDir);
    }

    const ssdOptions = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
    const tinyOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });

    // jpeg-js to packed RGB, then an int32 [h, w, 3] tensor, as the golden outputs were made.
    const decode = (bytes) => {
        const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
        return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    };
    const pipeline = (t, options) => faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();
    const disposeAll = (tensors) => tensors.forEach((t) => t.dispose());

    const time = async (fn) => {
        for (let i = 0; i < opt.warmup; i++) await fn();
        const before = tf.memory().numTensors;
        const samples = [];
        for (let i = 0; i < opt.runs; i++) {
            const t0 = performance.now();
            await fn();
            samples.push(performance.now() - t0);
        }
        return { ...summarize(samples), tensors_leaked: tf.memory().numTensors - before };
    };

    const human = await createHuman({ detector: { maxDetected: 20 } });
    const detectorOnly = await createHuman({ detector: { maxDetected: 20 }, mesh: { enabled: false }, iris: { enabled: false } });
    versions.human = human.version;

    const tensorsAtStart = tf.memory().numTensors;
    const results = [];
    const sanity = { max_l2: SANITY_MAX_L2, pass: true, checks: [] };
    for (const file of opt.images) {
        const img = loadImageBytes(file);
        process.stderr.write(`reference: ${img.name} ...\n`);
        const input = decode(img.bytes);
        const [height, width] = input.shape;

        // One untimed pass for the objects the per-net stages need, and for the sanity check.
        const ssdFaces = await pipeline(input, ssdOptions);
        const tinyFaces = await pipeline(input, tinyOptions);
        const first = ssdFaces[0];

        const stages = {};
        stages.decode = await time(async () => decode(img.bytes).dispose());
        stages.ssd_detect = await time(() => faceapi.detectAllFaces(input, ssdOptions));
        stages.tiny_detect = await time(() => faceapi.detectAllFaces(input, tinyOptions));
        let stageDescriptor = null;
        if (first) {
            // Same steps as withFaceLandmarks() / withFaceDescriptors() for one face: crop the
            // detection box (or the dlib-aligned box) out of the image tensor, run the net.
            stages.landmarks = await time(async () => {
                const faces = await faceapi.extractFaceTensors(input, [first.detection]);
                await faceapi.nets.faceLandmark68Net.detectLandmarks(faces[0]);
                disposeAll(faces);
            });
            const alignedBox = first.landmarks.align(null, { useDlibAlignment: true });
            stages.descriptor = await time(async () => {
                const faces = await faceapi.extractFaceTensors(input, [alignedBox]);
                stageDescriptor = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(faces[0]);
                disposeAll(faces);
            });
        } else {
            stages.landmarks = null;
            stages.descriptor = null;
        }
        stages.pipeline_ssd = await time(() => pipeline(input, ssdOptions));
        stages.pipeline_ssd_with_decode = await time(async () => {
            const t = decode(img.bytes);
            await pipeline(t, ssdOptions);
            t.dispose();
        });
        stages.pipeline_tiny = await time(() => pipeline(input, tinyOptions));
        Object.assign(stages, await humanStages(human, detectorOnly, img.bytes, decode, time));
        input.dispose();

        results.push({
            name: img.name, file: path.resolve(file), sha256: img.sha256, width, height,
            faces_ssd: ssdFaces.length, faces_tiny: tinyFaces.length, stages,
        });
        sanity.checks.push(checkAgainstGolden(opt.goldenDir, img, ssdFaces, tinyFaces, stageDescriptor));
    }
    for (const c of sanity.checks) if (c.status === 'fail') sanity.pass = false;
    sanity.checked = sanity.checks.filter((c) => c.status !== 'skipped').length;
    if (sanity.checked === 0) sanity.pass = null;

    const tensorsLeaked = tf.memory().numTensors - tensorsAtStart;
    const report = {
        schema: 'facegate-bench/1',
        implementation: 'reference',
        description: `@vladmandic/face-api@${versions['face-api']} on @tensorflow/tfjs@${versions.tfjs} ` +
            `with the wasm backend (Node ${process.version})`,
        versions,
        backend: tf.getBackend(),
        threads_requested: opt.threads,
        threads: backend.threads,
        threads_note: backend.note,
        wasm: {
            simd: backend.simd, multithread: backend.multithread, binary: backend.binary, thread_shim: backend.shim,
        },
        cpu: { model: os.cpus()[0]?.model ?? 'unknown', logical_cpus: os.availableParallelism() },
        // 1-minute load averages: other work on the machine makes the figures noisy.
        load_average: { start: round2(loadAtStart[0]), end: round2(os.loadavg()[0]) },
        runs: opt.runs,
        warmup: opt.warmup,
        stage_order: STAGES,
        stats_note: 'milliseconds of wall time (performance.now) per call; median; p90 = nearest-rank; ' +
            'decode = jpeg-js to RGB + tf.tensor3d; landmarks/descriptor = crop + net for the first SSD face; ' +
            'fast_frame = Human detect() (BlazeFace + FaceMesh + iris, every face); blaze_detect, mesh, iris = ' +
            'each Human network with its input preparation and output download, first face',
        options: {
            ssd: { minConfidence: 0.5 }, tiny: { inputSize: 416, scoreThreshold: 0.5 },
            descriptor_alignment: 'landmarks.align(null, {useDlibAlignment: true}) as in withFaceDescriptors()',
        },
        images: results,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024 * 10) / 10,
        tensors_leaked: tensorsLeaked,
        sanity,
    };

    printTable(report);
    const text = JSON.stringify(report, null, 2) + '\n';
    if (opt.json) fs.writeFileSync(opt.json, text);
    else process.stdout.write(text);
    return sanity.pass === false ? 1 : 0;
}

// Human 3.3.6's fast path on the image: its own detect() (fast_frame), and each of its three
// networks with the input preparation Human gives it (blaze_detect, mesh, iris), on the first
// face. Null stages when Human finds no face.
async function humanStages(human, detectorOnly, bytes, decode, time) {
    const htf = human.tf;
    const rgb = decode(bytes);
    const [h, w] = rgb.shape;
    const input = htf.tensor4d(rgb.dataSync(), [1, h, w, 3], 'int32');
    rgb.dispose();
    const models = human.models.models;
    const download = (out) => (Array.isArray(out) ? out : [out]).forEach((t) => { t.dataSync(); t.dispose(); });
    const stages = { blaze_detect: null, mesh: null, iris: null };

    stages.fast_frame = await time(() => human.detect(input));
    stages.blaze_detect = await time(async () => {
        const x = htf.tidy(() => htf.sub(htf.div(htf.image.resizeBilinear(htf.cast(input, 'float32'), [256, 256]), 127.5), 1));
        download(models.blazeface.execute(x));
        x.dispose();
    });
    const found = (await detectorOnly.detect(input)).face[0];
    if (found) {
        // Human's face square S (boxRaw, unclamped) and its cutAndResize box.
        const [rx, ry, rw, rh] = found.boxRaw;
        const box = [ry, rx, ry + rh, rx + rw];
        const cropFace = () => htf.tidy(() => htf.div(htf.image.cropAndResize(htf.cast(input, 'float32'), [box], [0], [192, 192]), 255));
        stages.mesh = await time(async () => {
            const face = cropFace();
            download(models.facemesh.execute(face));
            face.dispose();
        });
        // iris.ts getEyeBox: the two corners' box enlarged 2.3 times, made square, rounded.
        const face = cropFace();
        const mesh = models.facemesh.execute(face);
        const raw = (Array.isArray(mesh) ? mesh : [mesh]).find((t) => t.shape[t.shape.length - 1] === 1404).dataSync();
        htf.dispose(mesh);
        const eyeBox = (a, b) => {
            const [x1, y1, x2, y2] = [Math.min(raw[3 * a], raw[3 * b]), Math.min(raw[3 * a + 1], raw[3 * b + 1]),
                Math.max(raw[3 * a], raw[3 * b]), Math.max(raw[3 * a + 1], raw[3 * b + 1])];
            const [cx, cy, half] = [x1 + (x2 - x1) / 2, y1 + (y2 - y1) / 2, 2.3 * Math.max(x2 - x1, y2 - y1) / 2];
            const s = [Math.round(cx - half), Math.round(cy - half), Math.round(cx + half), Math.round(cy + half)];
            return [s[1] / 192, s[0] / 192, s[3] / 192, s[2] / 192];
        };
        const eyes = [eyeBox(263, 362), eyeBox(33, 133)];
        stages.iris = await time(async () => {
            const crops = htf.tidy(() => htf.image.flipLeftRight(htf.image.cropAndResize(face, eyes, [0, 0], [64, 64])));
            download(models.iris.execute(crops));
            crops.dispose();
        });
        face.dispose();
    }
    input.dispose();
    return stages;
}

// Compares the untimed pass with the golden outputs (same jpeg-js pixels) when a golden file for
// this exact JPEG exists: face counts, and the first face's descriptor from the full pipeline and
// from the isolated descriptor stage.
function checkAgainstGolden(goldenDir, img, ssdFaces, tinyFaces, stageDescriptor) {
    const goldenFile = path.join(goldenDir, `${img.name}.json`);
    const check = { image: img.name, golden: goldenFile };
    if (!fs.existsSync(goldenFile)) return { ...check, status: 'skipped', reason: 'no golden file' };
    const golden = JSON.parse(fs.readFileSync(goldenFile, 'utf8'));
    if (golden.image?.source_sha256 && golden.image.source_sha256 !== img.sha256) {
        return { ...check, status: 'skipped', reason: 'golden file is for a different JPEG (sha256 differs)' };
    }
    const ref = golden.backends?.wasm ?? golden.backends?.cpu;
    const failures = [];
    const detector = (key, faces) => {
        const want = ref[key].faces;
        const out = { faces_expected: want.length, faces_found: faces.length };
        if (want.length !== faces.length) failures.push(`${key}: ${faces.length} faces, expected ${want.length}`);
        if (want.length && faces.length) {
            out.descriptor_l2 = l2(faces[0].descriptor, want[0].descriptor);
            if (!(out.descriptor_l2 < SANITY_MAX_L2)) failures.push(`${key}: descriptor L2 ${out.descriptor_l2}`);
        }
        return out;
    };
    check.ssd = detector('ssd', ssdFaces);
    check.tiny = detector('tiny', tinyFaces);
    if (stageDescriptor && ref.ssd.faces.length) {
        check.descriptor_stage_l2 = l2(stageDescriptor, ref.ssd.faces[0].descriptor);
        if (!(check.descriptor_stage_l2 < SANITY_MAX_L2)) failures.push(`descriptor stage L2 ${check.descriptor_stage_l2}`);
    }
    check.status = failures.length ? 'fail' : 'pass';
    if (failures.length) check.failures = failures;
    return check;
}

function printTable(report) {
    const out = [];
    const fmt = (x) => (x == null ? '-' : x.toFixed(1));
    out.push(`reference: ${report.description}`);
    out.push(`backend ${report.backend}, threads ${report.threads} (requested ${report.threads_requested}), ` +
        `simd ${report.wasm.simd}, multithread ${report.wasm.multithread}, ${report.wasm.binary}; ` +
        `${report.runs} runs after ${report.warmup} warm-up`);
    for (const img of report.images) {
        out.push('');
        out.push(`${img.name} (${img.width}x${img.height}, SSD ${img.faces_ssd} faces, tiny ${img.faces_tiny} faces)`);
        out.push(`  ${'stage'.padEnd(26)}${'median'.padStart(10)}${'p90'.padStart(10)}${'min'.padStart(10)}  ms`);
        for (const stage of STAGES) {
            const s = img.stages[stage];
            out.push(`  ${stage.padEnd(26)}${fmt(s?.median_ms).padStart(10)}${fmt(s?.p90_ms).padStart(10)}${fmt(s?.min_ms).padStart(10)}` +
                (s?.tensors_leaked ? `  (${s.tensors_leaked} tensors leaked)` : ''));
        }
    }
    out.push('');
    out.push(`peak RSS ${report.peak_rss_mb} MB; tensors leaked ${report.tensors_leaked}; ` +
        `load average ${report.load_average.start} at start, ${report.load_average.end} at end ` +
        `(${report.cpu.logical_cpus} CPUs)`);
    for (const c of report.sanity.checks) {
        if (c.status === 'skipped') {
            out.push(`sanity ${c.image}: skipped (${c.reason})`);
            continue;
        }
        const e = (x) => (x == null ? '-' : x.toExponential(1));
        out.push(`sanity ${c.image}: ${c.status.toUpperCase()} - SSD ${c.ssd.faces_found}/${c.ssd.faces_expected} faces, ` +
            `descriptor L2 ${e(c.ssd.descriptor_l2)} (stage ${e(c.descriptor_stage_l2)}); ` +
            `tiny ${c.tiny.faces_found}/${c.tiny.faces_expected} faces, L2 ${e(c.tiny.descriptor_l2)}` +
            (c.failures ? ` [${c.failures.join('; ')}]` : ''));
    }
    process.stderr.write(out.join('\n') + '\n');
}

main().then((code) => process.exit(code), (err) => {
    process.stderr.write(`reference.mjs: ${(err && err.stack) || err}\n`);
    process.exit(1);
});
