import { VitePWA } from 'vite-plugin-pwa';
import { defineConfig } from 'vitest/config';
import { CROSS_ORIGIN_ISOLATION } from './src/node/static-server.ts';

// Cross-origin isolated, so the page can share memory between its workers (as tessera serve and the demo serve it).
const isolation = { ...CROSS_ORIGIN_ISOLATION };

export default defineConfig({
  // Workers are ES modules (they import the engine).
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', sourcemap: true, outDir: 'dist/web' },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/web',
      filename: 'sw.ts',
      injectRegister: false, // registered by src/web/service-worker.ts through workbox-window
      registerType: 'prompt',
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        // The workers carry hash-wasm's WebAssembly inline.
        maximumFileSizeToCacheInBytes: 5 * 1024 * 1024,
      },
      manifest: {
        name: 'Tessera',
        short_name: 'Tessera',
        description: 'Build a large image from files you already have, downloading only what is missing.',
        display: 'standalone',
        start_url: '/',
        background_color: '#f4f6f9',
        theme_color: '#1d3557',
        icons: [
          { src: 'icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: 'icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
    }),
  ],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
