import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// `vite --config renderer/vite.config.ts` for development: API calls go to a running
// `orchard serve` (ORCHARD_URL, default port) so the page and the API share one origin
// through the proxy, which keeps the SameSite=Strict session cookie working.
const target = process.env.ORCHARD_URL ?? 'http://127.0.0.1:11435';

export default defineConfig({
  root,
  // Relative asset URLs: the service serves the UI at `/`, and a relative base keeps the
  // bundle working if it is ever mounted elsewhere or opened by the Electron shell.
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/v1': { target, changeOrigin: false },
      '/auth': { target, changeOrigin: false },
    },
  },
});
