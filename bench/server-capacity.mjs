// Requests per second one `facegate serve` answers, for docs/OPERATIONS.md ("Capacity"):
// 15 s of camera frames (POST /api/v1/detect) then 15 s of 1:N log-ins (POST /api/v1/login),
// each from 2 x workers concurrent clients, with one enrolled user.
//   node bench/server-capacity.mjs [WORKERS] [PHOTO]
// Default: 1 worker (= one core's worth), ../shared/faces/portraits/obama/obama1.jpg.
import fs from 'node:fs';
import { call, photo, startServer } from '../tests/server/helpers.mjs';

const workers = Number(process.argv[2] ?? 1);
const image = fs.readFileSync(process.argv[3] ?? photo('obama/obama1.jpg'));
const server = await startServer({
  // One enrolled user (the fixed threshold: see bench/server.mjs); no per-address limits.
  args: ['--workers', String(workers), '--rate-limit-ip', '64', '--rate-limit-account', '64', '--lockout-after', '1000000',
    '--policy', 'fixed', '--detect-limit', '1000000'],
});
try {
  const enrol = await call(server, 'POST', '/api/v1/users?username=obama', {
    body: fs.readFileSync(photo('obama/obama.jpg')),
    headers: { 'content-type': 'image/jpeg' },
  });
  if (enrol.status !== 201) throw new Error(`sign-up failed: ${enrol.status}`);
  for (const [route, label] of [['/api/v1/detect', 'detect'], ['/api/v1/login', 'login']]) {
    let ok = 0;
    let failed = 0;
    const started = Date.now();
    const end = started + 15_000;
    await Promise.all(
      Array.from({ length: 2 * workers }, async () => {
        while (Date.now() < end) {
          const res = await call(server, 'POST', route, { body: image, headers: { 'content-type': 'image/jpeg' } });
          if (res.status === 200) ok++;
          else failed++;
        }
      }),
    );
    const rate = ok / ((Date.now() - started) / 1000);
    console.log(`${label}: ${workers} worker(s), ${rate.toFixed(1)} requests/s, ${failed} failed (${image.length}-byte photo)`);
  }
} finally {
  await server.stop();
}
