#!/usr/bin/env node
// Writes the reference's whole-pipeline output for a few photos, as golden data for the C tests:
// @vladmandic/face-api 1.7.15 on @tensorflow/tfjs 4.22.0 with the wasm backend (one thread), the
// same reference `make bench` runs (bench/reference.mjs).
//
//   node tests/golden/reference-faces.mjs --out FILE [--shared DIR] IMAGE...
//
// IMAGE paths are relative to the shared data folder (default ../shared): the golden file names
// them that way, never holds their pixels, and records each file's SHA-256 so a test can tell
// that it reads the photo the golden was made from. PNG only (lossless: every decoder gives the
// same pixels, so a difference is the pipeline's, not the decoder's): 8-bit grey, grey+alpha,
// RGB or RGBA, not interlaced.
//
// Per face: the SSD detection box, the 68 landmarks, face-api's descriptor crop
// (landmarks.align(null, {useDlibAlignment: true}), what withFaceDescriptors() crops) and the
// 128-d descriptor.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

function usage(msg) {
    if (msg) process.stderr.write(`reference-faces.mjs: ${msg}\n`);
    process.stderr.write('usage: node tests/golden/reference-faces.mjs --out FILE [--shared DIR] IMAGE...\n');
    process.exit(2);
}

// A minimal PNG decoder (zlib + the five scanline filters) to packed RGB.
function decodePng(bytes) {
    const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
    if (!bytes.subarray(0, 8).equals(sig)) throw new Error('not a PNG');
    let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
    const idat = [];
    for (let off = 8; off + 8 <= bytes.length;) {
        const len = bytes.readUInt32BE(off);
        const kind = bytes.toString('latin1', off + 4, off + 8);
        const data = bytes.subarray(off + 8, off + 8 + len);
        if (kind === 'IHDR') {
            width = data.readUInt32BE(0);
            height = data.readUInt32BE(4);
            [depth, type] = [data[8], data[9]];
            interlace = data[12];
        } else if (kind === 'IDAT') {
            idat.push(data);
        } else if (kind === 'IEND') {
            break;
        }
        off += 12 + len;
    }
    const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[type];
    if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG (depth ${depth}, type ${type}, interlace ${interlace})`);
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * channels;
    const px = Buffer.alloc(stride * height);
    for (let y = 0; y < height; y++) {
        const filter = raw[y * (stride + 1)];
        const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
        for (let i = 0; i < stride; i++) {
            const a = i >= channels ? px[y * stride + i - channels] : 0;
            const b = y > 0 ? px[(y - 1) * stride + i] : 0;
            const c = y > 0 && i >= channels ? px[(y - 1) * stride + i - channels] : 0;
            const p = a + b - c;
            const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
            const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            const pred = [0, a, b, (a + b) >> 1, paeth][filter];
            if (pred === undefined) throw new Error(`bad PNG filter ${filter}`);
            px[y * stride + i] = (line[i] + pred) & 255;
        }
    }
    const rgb = new Int32Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
        const colour = channels >= 3;
        for (let c = 0; c < 3; c++) rgb[3 * i + c] = px[i * channels + (colour ? c : 0)];
    }
    return { width, height, rgb };
}

const round = (x, d = 1e6) => Math.round(x * d) / d;

async function main() {
    let parsed;
    try {
        parsed = parseArgs({
            options: { out: { type: 'string' }, shared: { type: 'string' } },
            allowPositionals: true,
            strict: true,
        });
    } catch (e) {
        usage(e.message);
    }
    const { values, positionals } = parsed;
    if (!values.out || positionals.length === 0) usage('--out and at least one image are required');
    const shared = path.resolve(values.shared || process.env.FG_SHARED_DIR || path.join(root, '../shared'));

    const tf = require('@tensorflow/tfjs');
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const faceapi = require(path.join(root, 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js'));
    wasm.setWasmPaths(path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep);
    wasm.setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the wasm backend');
    await tf.ready();
    const modelDir = path.join(root, 'node_modules/@vladmandic/face-api/model');
    for (const net of ['ssdMobilenetv1', 'faceLandmark68Net', 'faceRecognitionNet']) await faceapi.nets[net].loadFromDisk(modelDir);
    const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });

    const images = [];
    for (const rel of positionals) {
        const bytes = fs.readFileSync(path.join(shared, rel));
        const { width, height, rgb } = decodePng(bytes);
        const input = tf.tensor3d(rgb, [height, width, 3], 'int32');
        const results = await faceapi.detectAllFaces(input, options).withFaceLandmarks().withFaceDescriptors();
        input.dispose();
        images.push({
            file: rel,
            sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
            width,
            height,
            faces: results.map((r) => {
                const box = r.detection.box;
                const crop = r.landmarks.align(null, { useDlibAlignment: true });
                return {
                    score: round(r.detection.score),
                    box: { x: round(box.x), y: round(box.y), width: round(box.width), height: round(box.height) },
                    landmarks: r.landmarks.positions.map((p) => [round(p.x, 1e4), round(p.y, 1e4)]),
                    descriptor_crop: { x: crop.x, y: crop.y, width: crop.width, height: crop.height },
                    descriptor: Array.from(r.descriptor, (v) => round(v, 1e7)),
                };
            }),
        });
        process.stderr.write(`reference-faces: ${rel}: ${results.length} face(s)\n`);
    }
    const doc = {
        what: 'face-api whole pipeline (SSD, minConfidence 0.5; 68 landmarks; dlib-style crop; descriptor)',
        versions: { 'face-api': faceapi.version, tfjs: tf.version.tfjs, backend: 'wasm, 1 thread' },
        images,
    };
    fs.writeFileSync(values.out, `${JSON.stringify(doc, null, 1)}\n`);
}

main().catch((e) => {
    process.stderr.write(`reference-faces.mjs: ${e.stack || e}\n`);
    process.exit(1);
});
