import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Resolve the @dirigen/* path aliases from the one place they are declared.
const tsconfig = JSON.parse(readFileSync(resolve(import.meta.dirname, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
const alias = Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
  find: new RegExp(`^${name.replace('/', '\\/')}$`),
  replacement: resolve(import.meta.dirname, target!),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      { resolve: { alias }, test: { name: 'unit', include: ['libs/**/*.unit.spec.ts', 'services/**/*.unit.spec.ts', 'scripts/**/*.unit.spec.ts', 'e2e/**/*.unit.spec.ts'] } },
      {
        resolve: { alias },
        test: {
          name: 'int',
          include: ['libs/**/*.int.spec.ts', 'services/**/*.int.spec.ts', 'scripts/**/*.int.spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.spec.ts'],
          globalSetup: ['e2e/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
