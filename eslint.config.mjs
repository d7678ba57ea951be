import js from '@eslint/js';
import globals from 'globals';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Architecture rules (STYLE.md 10), enforced on every `npm test`:
// services depend on libs only (never on each other); domain libs import no framework or I/O.
const frameworkAndIo = ['@nestjs/*', 'kafkajs', 'typeorm', 'pg', 'fastify', '@opentelemetry/*', 'pino', 'prom-client', 'node:http', 'node:https', 'http', 'https'];

const testFunctions = '/^(it|test|describe|suite)$/';
const testModifiers = '/^(only|skip|skipIf|runIf|todo)$/';

export default [
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.nx/**', 'libs/contracts/src/gen/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:connector', 'type:infra'] },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:infra'] },
            { sourceTag: 'type:connector', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: ['@nestjs/*', 'kafkajs', 'typeorm', 'pg'] },
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: ['@nestjs/*', 'kafkajs', 'typeorm', 'pg', 'fastify'] },
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: frameworkAndIo },
          ],
        },
      ],
    },
  },
  {
    // A focused, skipped or placeholder test never lands (STYLE.md 11): `.only` runs one test and silently skips
    // the rest, `.skip`/`.skipIf`/`.runIf`/`.todo` report a test that proves nothing. ESLint's own rule, because
    // @vitest/eslint-plugin now wants Node 22 and TypeScript 6; this catches chains too (`it.concurrent.only`).
    files: ['**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: `MemberExpression[property.name=${testModifiers}]:matches([object.name=${testFunctions}], [object.object.name=${testFunctions}])`,
          message: 'No .only, .skip, .skipIf, .runIf or .todo on a test or suite: a test either runs everywhere or is deleted.',
        },
      ],
    },
  },
  {
    // End-to-end tests read arbitrary JSON answers of the public API.
    files: ['e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];
