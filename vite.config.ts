import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workers are ES modules (they import the engine).
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, outDir: 'dist/web' },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
