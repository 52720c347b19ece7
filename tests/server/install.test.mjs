// `make install DESTDIR=... PREFIX=/usr` into a temporary directory: the tree runs (the installed
// binary finds its bundled libraries, models and web app), and its systemd unit passes
// `systemd-analyze verify`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, call, startServer, tempDir } from './helpers.mjs';

test('make install DESTDIR=... gives a tree that runs and a unit that verifies', { timeout: 300_000 }, async () => {
  const root = tempDir('fg-install-');
  execFileSync('make', ['--no-print-directory', 'install', `DESTDIR=${root}`, 'PREFIX=/usr'], { cwd: ROOT, stdio: 'pipe' });
  const at = (p) => path.join(root, p);
  for (const file of [
    'usr/bin/facegate',
    'usr/lib/systemd/system/facegate.service',
    'etc/facegate/serve.conf',
    'usr/share/doc/facegate/serve.conf.example',
    'usr/share/doc/facegate/OPERATIONS.md',
    'usr/share/facegate/web/index.html',
    'usr/share/facegate/models/face_recognition_model.bin',
    'usr/share/facegate/models/ssd_mobilenetv1_model-weights_manifest.json',
    'usr/share/facegate/models/blazeface.json',
    'usr/share/facegate/models/facemesh.bin',
    'usr/share/facegate/models/iris.bin',
  ]) {
    assert.ok(fs.existsSync(at(file)), `${file} is installed`);
  }
  const unit = fs.readFileSync(at('usr/lib/systemd/system/facegate.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/facegate serve --config \/etc\/facegate\/serve\.conf$/m);
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^DynamicUser=yes$/m);
  assert.match(unit, /^StateDirectory=facegate$/m);
  const conf = fs.readFileSync(at('etc/facegate/serve.conf'), 'utf8');
  assert.match(conf, /^models = \/usr\/share\/facegate\/models$/m);
  assert.match(conf, /^fast-models = \/usr\/share\/facegate\/models$/m);

  // systemd-analyze checks the unit inside the tree (--root), as it would on the machine it is
  // installed on: that machine's base units and kill(1) are lent from this one.
  fs.mkdirSync(at('etc/systemd/system'), { recursive: true });
  for (const target of ['sysinit.target', 'basic.target', 'shutdown.target', 'multi-user.target', 'network-online.target']) {
    fs.copyFileSync(path.join('/usr/lib/systemd/system', target), at(`etc/systemd/system/${target}`));
  }
  fs.mkdirSync(at('bin'));
  fs.copyFileSync('/bin/kill', at('bin/kill'));
  fs.chmodSync(at('bin/kill'), 0o755);
  const verify = spawnSync('systemd-analyze', ['verify', `--root=${root}`, at('usr/lib/systemd/system/facegate.service')], {
    encoding: 'utf8',
  });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'no warnings');

  // The installed binary runs from the tree with the installed config, models and web app.
  const server = await startServer({
    bin: at('usr/bin/facegate'),
    args: ['--config', at('etc/facegate/serve.conf'), '--models', at('usr/share/facegate/models'),
      '--fast-models', at('usr/share/facegate/models'), '--web-root', at('usr/share/facegate/web')],
  });
  try {
    assert.equal((await call(server, 'GET', '/readyz')).status, 200);
    assert.match(server.log(), new RegExp(`fast path +${root}/usr/share/facegate/models\n`));
    const page = await call(server, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="root">/);
    const libs = execFileSync('ldd', [at('usr/bin/facegate')], { encoding: 'utf8' });
    assert.match(libs, new RegExp(`libXNNPACK\\.so => ${root}/usr/bin/\\.\\./lib/facegate/`), libs);
  } finally {
    await server.stop();
  }
});
