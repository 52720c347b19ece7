/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The app (index.html) and the SDK example page (example/index.html) build into dist/, which
// `facegate serve --web-root web/dist` serves at `/`. `npm run dev` proxies the API to a local server.
const server = process.env.FACEGATE_URL ?? 'http://127.0.0.1:8080';
const proxied = ['/api', '/register', '/verify', '/healthz', '/metrics', '/.well-known'];

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { '@facegate/sdk': fileURLToPath(new URL('./sdk/src/index.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      input: {
        app: fileURLToPath(new URL('./index.html', import.meta.url)),
        example: fileURLToPath(new URL('./example/index.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: server, changeOrigin: false }])),
  },
  test: {
    environment: 'happy-dom',
    setupFiles: ['./test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}', 'sdk/src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
