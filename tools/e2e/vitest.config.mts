import { defineConfig } from 'vitest/config';

export default defineConfig(() => ({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/tools/e2e',
  resolve: { conditions: ['@regent/source'] },
  ssr: { resolve: { conditions: ['@regent/source'] } },
  test: {
    name: '@regent/e2e',
    watch: false,
    globals: true,
    environment: 'node',
    include: ['src/**/*.{test,spec}.ts'],
    reporters: ['default'],
    testTimeout: 120000,
    fileParallelism: false,
    hookTimeout: 120000,
  },
}));
