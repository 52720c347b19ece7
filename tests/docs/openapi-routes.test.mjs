// docs/openapi.yaml describes exactly the server's routes: every entry of the route table in
// src/server/routes.c has its operation, and every operation has its route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const normal = (p) => p.replace(/\{[^}]+\}/g, '{}');

test('every route is documented, and only routes are', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fg-openapi-')), 'openapi.json');
  execFileSync(path.join(root, 'node_modules/.bin/redocly'), ['bundle', 'docs/openapi.yaml', '-o', out], {
    cwd: root,
    stdio: 'pipe',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  const spec = JSON.parse(fs.readFileSync(out, 'utf8'));
  const documented = new Set();
  for (const [p, item] of Object.entries(spec.paths))
    for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${normal(p)}`);

  const table = fs.readFileSync(path.join(root, 'src/server/routes.c'), 'utf8');
  const routes = new Set([...table.matchAll(/\{"(GET|POST|DELETE|PUT|PATCH)", "([^"]+)",/g)].map((m) => `${m[1]} ${normal(m[2])}`));
  assert.ok(routes.size > 20, `found ${routes.size} routes`);
  assert.deepEqual([...routes].filter((r) => !documented.has(r)), [], 'routes missing from docs/openapi.yaml');
  assert.deepEqual([...documented].filter((r) => !routes.has(r)), [], 'documented operations with no route');
});
