#!/usr/bin/env node
// Writes tests/golden/human/: what @vladmandic/human 3.3.6 computes on @tensorflow/tfjs 4.22.0
// with the wasm backend (Node), for the fast path's tests to compare with. Numbers only: network
// outputs, boxes, keypoints, mesh points, angles, and SHA-256 checksums of inputs the C side
// rebuilds itself. No pixels.
//
//   node tests/golden/make-human-goldens.mjs [--shared ../shared] [--out tests/golden/human]
//
// Needs build/fg-rgb (make build): every photo is decoded by facegate's own decoder, so Human
// and the C pipeline see identical pixels.
//
// What it writes:
//   nets.json + nets-*.f32   each graph model run by Human's GraphModel on a synthetic input
//                            both sides compute (pattern() below), and on the crops Human cut for
//                            the first face of single640.jpg (checked by SHA-256; the C test
//                            rebuilds them from the photo)
//   pipeline.json            per photo: Human's detect() faces (scores, boxes, angles) and, from
//                            a detector-only run, BlazeFace's boxes and 6 keypoints
//   mesh.f32                 the faces' 478 mesh points (x, y, z) before Human's Math.trunc
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

import { createHuman, initBackend, redirectConsoleToStderr, repoRoot } from '../../bench/tfjs-wasm.mjs';

const { values: args } = parseArgs({
    options: {
        shared: { type: 'string', default: process.env.FG_SHARED_DIR || path.resolve(repoRoot, '../shared') },
        out: { type: 'string', default: path.join(repoRoot, 'tests/golden/human') },
    },
});

// The photos: the 7 golden photos and 12 portraits (paths relative to the shared folder, except
// the face-api demo photos, which ship in the npm package).
const PHOTOS = [
    'golden/single640.jpg',
    ...[1, 2, 3, 4, 5, 6].map((i) => `npm:@vladmandic/face-api/demo/sample${i}.jpg`),
    'faces/portraits/alex_lacamoire/alex-lacamoire.png',
    'faces/portraits/alex_lacamoire/alex_lacamoire1.jpg',
    'faces/portraits/biden/biden.jpg',
    'faces/portraits/biden/biden2.jpg',
    'faces/portraits/kit_harington/john1.jpeg',
    'faces/portraits/kit_harington/johnsnow_test1.jpg',
    'faces/portraits/lin_manuel_miranda/lin-manuel-miranda.png',
    'faces/portraits/obama/obama.jpg',
    'faces/portraits/obama/obama2.jpg',
    'faces/portraits/obama/obama3.jpg',
    'faces/portraits/rose_leslie/img1.jpg',
    'faces/portraits/rose_leslie/img2.jpg',
];
const MAX_FACES = 20;

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const f32bytes = (arr) => Buffer.from(new Float32Array(arr).buffer);

// The synthetic network input: integers only, so JS and C compute the same float32 values:
// v = ((7 x (c + 1) + 13 y + 5 ((x y) mod 17) + 31 seed) mod 256) / 255, then lo + (hi - lo) v.
export function pattern(h, w, c, seed, lo, hi) {
    const out = new Float32Array(h * w * c);
    for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
            for (let k = 0; k < c; k++) {
                const n = (7 * x * (k + 1) + 13 * y + 5 * ((x * y) % 17) + 31 * seed) % 256;
                out[(y * w + x) * c + k] = lo + (hi - lo) * (n / 255);
            }
        }
    }
    return out;
}

function resolvePhoto(rel) {
    if (rel.startsWith('npm:')) return path.join(repoRoot, 'node_modules', rel.slice(4));
    return path.join(args.shared, rel);
}

// facegate's decoder (build/fg-rgb writes a PPM): the pixels the C tests see.
function decode(file) {
    const ppm = execFileSync(path.join(repoRoot, 'build/fg-rgb'), [file], { maxBuffer: 1 << 30 });
    const header = ppm.toString('latin1', 0, 64).match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
    if (!header) throw new Error(`fg-rgb gave no PPM for ${file}`);
    const [w, h] = [Number(header[1]), Number(header[2])];
    const rgb = ppm.subarray(header[0].length);
    if (rgb.length !== w * h * 3) throw new Error(`fg-rgb: ${rgb.length} bytes for ${w}x${h}`);
    return { w, h, rgb };
}

// Runs fn while every GraphModel.execute call is recorded: model name, input, outputs.
async function recording(human, fn) {
    const calls = [];
    const restore = [];
    for (const [name, model] of Object.entries(human.models.models)) {
        if (!model) continue;
        const execute = model.execute.bind(model);
        model.execute = (input, outputs) => {
            const res = execute(input, outputs);
            const list = Array.isArray(res) ? res : [res];
            calls.push({
                model: name, input: input.dataSync().slice(), inputShape: input.shape,
                outputs: list.map((t) => ({ shape: t.shape, data: t.dataSync().slice() })),
            });
            return res;
        };
        restore.push(() => { model.execute = execute; });
    }
    try {
        return { result: await fn(), calls };
    } finally {
        restore.forEach((r) => r());
    }
}

// Human's detect() with Math.trunc replaced by the identity: the same computation, with the
// mesh points (and boxes) as the floats they are before Human truncates them.
async function detectUntruncated(human, input) {
    const trunc = Math.trunc;
    Math.trunc = (x) => x;
    try {
        return await human.detect(input);
    } finally {
        Math.trunc = trunc;
    }
}

const outputNames = { blazeface: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'], facemesh: ['Identity_2', 'Identity_1'], iris: ['Identity'] };

async function main() {
    redirectConsoleToStderr();
    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs');
    const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
    await initBackend(tf, wasmBackend, { threads: 1, threadShim: false });
    const human = await createHuman({ detector: { maxDetected: MAX_FACES } });
    const detectorOnly = await createHuman({ detector: { maxDetected: MAX_FACES }, mesh: { enabled: false }, iris: { enabled: false } });
    const htf = human.tf;
    fs.mkdirSync(args.out, { recursive: true });

    // ---- each network on the synthetic input
    const nets = {
        pattern: 'v = ((7 x (c + 1) + 13 y + 5 ((x y) mod 17) + 31 seed) mod 256) / 255, input = lo + (hi - lo) v',
        models: {},
    };
    const netSpecs = [
        { model: 'blazeface', h: 256, w: 256, seeds: [1], lo: -1, hi: 1 },
        { model: 'facemesh', h: 192, w: 192, seeds: [2], lo: 0, hi: 1 },
        { model: 'iris', h: 64, w: 64, seeds: [3, 4], lo: 0, hi: 1 },
    ];
    for (const spec of netSpecs) {
        const data = new Float32Array(spec.seeds.length * spec.h * spec.w * 3);
        spec.seeds.forEach((s, i) => data.set(pattern(spec.h, spec.w, 3, s, spec.lo, spec.hi), i * spec.h * spec.w * 3));
        const input = htf.tensor4d(data, [spec.seeds.length, spec.h, spec.w, 3]);
        const model = human.models.models[spec.model];
        const outs = model.execute(input, outputNames[spec.model]);
        const list = Array.isArray(outs) ? outs : [outs];
        const entry = { input: { shape: input.shape, seeds: spec.seeds, lo: spec.lo, hi: spec.hi, sha256: sha256(Buffer.from(data.buffer)) }, outputs: [] };
        list.forEach((t, i) => {
            const file = `nets-${spec.model}-synthetic-${i}.f32`;
            fs.writeFileSync(path.join(args.out, file), f32bytes(t.dataSync()));
            entry.outputs.push({ node: outputNames[spec.model][i], shape: t.shape, file });
            t.dispose();
        });
        input.dispose();
        nets.models[spec.model] = entry;
    }

    // ---- the whole pipeline on each photo
    const pipeline = { photos: [], max_faces: MAX_FACES, config: 'detector maxDetected 20, rotation false; mesh; iris; minConfidence 0.2, iouThreshold 0.1, scale 1.4 (defaults)' };
    const meshes = [];
    for (const rel of PHOTOS) {
        const file = resolvePhoto(rel);
        const { w, h, rgb } = decode(file);
        const input = htf.tensor4d(new Int32Array(rgb), [1, h, w, 3], 'int32');
        const { result, calls } = await recording(human, () => human.detect(input));
        const loose = await detectUntruncated(human, input);
        const det = await detectorOnly.detect(input);
        input.dispose();
        if (loose.face.length !== result.face.length) throw new Error(`${rel}: untruncated run found other faces`);
        const photo = {
            file: rel, width: w, height: h, source_sha256: sha256(fs.readFileSync(file)), pixels_sha256: sha256(rgb),
            faces: [], detector: [],
        };
        result.face.forEach((f, i) => {
            const m = loose.face[i].mesh;
            // The untruncated run must be the same computation: truncating it gives Human's mesh.
            m.forEach((p, k) => {
                for (let a = 0; a < 3; a++) {
                    if (Math.trunc(p[a]) !== f.mesh[k][a]) throw new Error(`${rel}: face ${i} point ${k} differs after trunc`);
                }
            });
            photo.faces.push({
                score: f.score, box_score: f.boxScore, face_score: f.faceScore, box: f.box, box_raw: f.boxRaw, size: f.size,
                angle_rad: f.rotation.angle, mesh_index: meshes.length, points: m.length,
            });
            meshes.push(...m.flat());
        });
        photo.detector = det.face.map((f) => ({ score: f.score, box: f.box, box_raw: f.boxRaw, size: f.size, keypoints: f.mesh.map((p) => [p[0], p[1]]) }));
        pipeline.photos.push(photo);

        if (rel === 'golden/single640.jpg') {
            // The crops Human cut for the first face, and what each net made of them.
            for (const model of ['facemesh', 'iris']) {
                const c = calls.find((x) => x.model === model);
                const entry = { input: { shape: c.inputShape, sha256: sha256(f32bytes(c.input)), photo: rel, face: 0 }, outputs: [] };
                c.outputs.forEach((o, i) => {
                    const fileOut = `nets-${model}-single640-${i}.f32`;
                    fs.writeFileSync(path.join(args.out, fileOut), f32bytes(o.data));
                    entry.outputs.push({ shape: o.shape, file: fileOut });
                });
                nets.models[`${model}_single640`] = entry;
            }
        }
        process.stderr.write(`${rel}: ${result.face.length} faces (detector ${det.face.length})\n`);
    }
    fs.writeFileSync(path.join(args.out, 'mesh.f32'), f32bytes(meshes));

    const versions = { human: human.version, tfjs: tf.version.tfjs, 'tfjs-backend-wasm': wasmBackend.version_wasm, backend: tf.getBackend(), node: process.version };
    fs.writeFileSync(path.join(args.out, 'nets.json'), JSON.stringify({ versions, ...nets }, null, 1) + '\n');
    fs.writeFileSync(path.join(args.out, 'pipeline.json'), JSON.stringify({ versions, ...pipeline }, null, 1) + '\n');
}

main().then(() => process.exit(0), (e) => {
    process.stderr.write(`make-human-goldens: ${(e && e.stack) || e}\n`);
    process.exit(1);
});
