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

// A `.only` left in a file would run it alone and skip the rest silently (vitest allows it outside CI by default):
// it is an error in every project, everywhere. ESLint forbids `.only`/`.skip`/`.todo` before it gets here.
export const strict = { allowOnly: false };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      { resolve: { alias }, test: { ...strict, name: 'unit', include: ['libs/**/*.unit.spec.ts', 'services/**/*.unit.spec.ts', 'scripts/**/*.unit.spec.ts', 'e2e/**/*.unit.spec.ts'] } },
      {
        resolve: { alias },
        test: {
          ...strict,
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
          ...strict,
          name: 'e2e',
          include: ['e2e/**/*.e2e.spec.ts'],
          globalSetup: ['e2e/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The card-data scan, run by `npm test` after the e2e stage, over everything that suite left behind:
        // every topic of the broker (still up), service, broker and PostgreSQL logs, a dump of the database,
        // every span and every HTTP answer the suite recorded. The platform is stopped by then.
        resolve: { alias },
        test: {
          ...strict,
          name: 'scan',
          include: ['e2e/**/*.scan.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
