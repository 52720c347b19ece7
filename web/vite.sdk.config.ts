import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build:sdk`: the SDK as an ES module library in sdk/dist with two entry points:
// facegate-sdk.js (React components + client; React stays a peer) and client.js (the client
// alone, no React), plus the optional stylesheet sdk/dist/facegate.css. Type declarations come
// from tsc (sdk/tsconfig.build.json). `npm run check:sdk` checks what would be published.
const css = fileURLToPath(new URL('./sdk/src/facegate.css', import.meta.url));

export default defineConfig({
  plugins: [
    react(),
    {
      name: 'facegate-sdk-css',
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: 'facegate.css', source: readFileSync(css, 'utf8') });
      },
    },
  ],
  publicDir: false, // the app's favicon is not the SDK's
  build: {
    outDir: 'sdk/dist',
    emptyOutDir: true,
    // No source maps: they would point at sources the package does not ship.
    sourcemap: false,
    lib: {
      entry: {
        'facegate-sdk': fileURLToPath(new URL('./sdk/src/index.ts', import.meta.url)),
        client: fileURLToPath(new URL('./sdk/src/core.ts', import.meta.url)),
      },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: {
      external: ['react', 'react-dom', 'react/jsx-runtime', 'react/jsx-dev-runtime'],
      output: { chunkFileNames: '[name]-shared.js' },
    },
  },
});
