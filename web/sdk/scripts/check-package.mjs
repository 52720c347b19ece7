// Checks @facegate/sdk as it would be published (run after `npm run build:sdk`, from web/):
//  1. `npm pack` ships exactly the built modules, stylesheet, declarations, README, LICENSE;
//  2. its declarations type-check in a consumer project under TypeScript's `nodenext`
//     resolution (no extension-less relative imports: TS2834), with skipLibCheck off;
//  3. `@facegate/sdk/client` imports and works in Node without React installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sdk = path.join(web, 'sdk');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facegate-sdk-check-'));

try {
  const [pack] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: sdk, encoding: 'utf8' }),
  );
  const files = pack.files.map((f) => f.path).sort();
  const allowed = [
    /^LICENSE$/,
    /^README\.md$/,
    /^package\.json$/,
    /^dist\/[a-z-]+\.js$/,
    /^dist\/facegate\.css$/,
    /^dist\/types\/[A-Za-z]+\.d\.ts$/,
  ];
  for (const file of files)
    assert.ok(
      allowed.some((re) => re.test(file)),
      `stray file in the package: ${file}`,
    );
  for (const need of [
    'LICENSE',
    'README.md',
    'dist/client.js',
    'dist/facegate-sdk.js',
    'dist/facegate.css',
    'dist/types/index.d.ts',
    'dist/types/core.d.ts',
  ]) {
    assert.ok(files.includes(need), `the package lacks ${need}`);
  }
  assert.ok(!files.some((f) => f.endsWith('.test.d.ts') || f.endsWith('.map')), 'no tests or source maps');

  // A consumer project with the package unpacked into node_modules.
  const consumer = path.join(tmp, 'consumer');
  const installed = path.join(consumer, 'node_modules/@facegate/sdk');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', path.join(tmp, pack.filename), '-C', installed, '--strip-components=1']);
  fs.writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );

  // 3. The client alone, in Node, with no React anywhere.
  const script = `
    import { createFaceGate, FaceGateError, describeError } from '@facegate/sdk/client';
    const fg = createFaceGate({ baseUrl: 'http://facegate.invalid', fetch: async () =>
      new Response(JSON.stringify({ error: { code: 'no_match', message: 'x' } }), { status: 401 }) });
    try { await fg.login({ image: 'data:image/jpeg;base64,AA==' }); process.exit(1); }
    catch (e) { if (!(e instanceof FaceGateError) || e.code !== 'no_match') process.exit(2);
      console.log(describeError(e).title); }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: consumer,
    encoding: 'utf8',
  });
  assert.equal(out.trim(), 'We could not recognise you');
  assert.ok(!fs.readFileSync(path.join(installed, 'dist/client.js'), 'utf8').includes('react'));

  // 2. Types under nodenext, React's types lent from web/.
  for (const dep of ['react', '@types/react', 'csstype']) {
    const target = path.join(web, 'node_modules', dep);
    if (!fs.existsSync(target)) continue;
    fs.mkdirSync(path.dirname(path.join(consumer, 'node_modules', dep)), { recursive: true });
    fs.symlinkSync(target, path.join(consumer, 'node_modules', dep));
  }
  fs.writeFileSync(
    path.join(consumer, 'index.tsx'),
    `import { createFaceGate, type FaceGateClient, type FaceGateTexts } from '@facegate/sdk/client';
     import { FaceLogin, FaceSignUp, type FaceLoginProps } from '@facegate/sdk';
     const client: FaceGateClient = createFaceGate({ baseUrl: 'https://login.example.com' });
     const texts: Partial<FaceGateTexts> = { checkingFace: 'Gesicht wird geprüft…' };
     const props: FaceLoginProps = { client, texts, onLogin: (user, token) => void [user.username, token] };
     export const login = <FaceLogin {...props} />;
     export const signUp = <FaceSignUp client={client} frames={2} onSignUp={(user) => void user.faces} />;
    `,
  );
  fs.writeFileSync(
    path.join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        jsx: 'react-jsx',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      include: ['index.tsx'],
    }),
  );
  execFileSync(path.join(web, 'node_modules/.bin/tsc'), ['-p', consumer], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  console.log(
    `@facegate/sdk: ${files.length} files packed, types resolve under nodenext, client imports without React`,
  );
} catch (error) {
  if (error.stdout) console.error(String(error.stdout));
  throw error;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
