// Vite builds web/ into web/dist, which the cityloop binary serves at /app/.
// The proxy below is for development only (`npm run dev` / `npm run preview`
// against a running `cityloop demo`); in production the binary serves both
// the app and the API from one origin, so no proxy is involved.
import { defineConfig } from 'vite';

const api = process.env.CITYLOOP_API ?? 'http://127.0.0.1:8080';
const proxy = {
  '/api': { target: api, changeOrigin: true },
  '/transparency': { target: api, changeOrigin: true },
  '/citizen': { target: api, changeOrigin: true },
};

export default defineConfig({
  base: '/app/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // MapLibre alone is ~1 MB minified; it is one chunk the browser caches.
    chunkSizeWarningLimit: 1500,
  },
  // MapLibre's worker is bundled as a module worker (see src/maplibre.ts).
  worker: { format: 'es' },
  server: { proxy },
  preview: { proxy },
});
