import { defineConfig } from 'vitest/config';

export default defineConfig(() => ({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/tools/chaos',
  resolve: { conditions: ['@regent/source'] },
  ssr: { resolve: { conditions: ['@regent/source'] } },
  test: {
    name: '@regent/chaos',
    watch: false,
    globals: true,
    environment: 'node',
    include: ['src/**/*.{test,spec}.ts'],
    reporters: ['default'],
    testTimeout: 240000,
    fileParallelism: false,
    hookTimeout: 120000,
  },
}));
