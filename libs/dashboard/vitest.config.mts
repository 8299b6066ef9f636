import { defineConfig } from 'vitest/config';

export default defineConfig(() => ({
  root: import.meta.dirname,
  cacheDir: '../../node_modules/.vite/libs/dashboard',
  resolve: { conditions: ['@regent/source'] },
  ssr: { resolve: { conditions: ['@regent/source'] } },
  test: {
    name: '@regent/dashboard',
    watch: false,
    globals: true,
    environment: 'node',
    include: ['src/**/*.{test,spec}.ts'],
    reporters: ['default'],
    testTimeout: 30000,
    hookTimeout: 30000,
  },
}));
