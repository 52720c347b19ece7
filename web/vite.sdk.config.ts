import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build:sdk`: the SDK as an ES module library in sdk/dist (React stays a peer), plus its
// optional stylesheet as sdk/dist/facegate.css. Type declarations come from tsc (sdk/tsconfig.build.json).
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
  build: {
    outDir: 'sdk/dist',
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: fileURLToPath(new URL('./sdk/src/index.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'facegate-sdk.js',
    },
    rollupOptions: {
      external: ['react', 'react-dom', 'react/jsx-runtime', 'react/jsx-dev-runtime'],
    },
  },
});
