// Resolves the @dirigen/* aliases of tsconfig.base.json to the compiled files under dist/ at run time.
// Preloaded into every service process: node -r scripts/platform/register-paths.cjs dist/services/<name>/src/main.js
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const tsconfigPaths = require('tsconfig-paths');

const repoRoot = join(__dirname, '..', '..');
const { compilerOptions } = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8'));
const paths = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, targets]) => [alias, targets.map((target) => target.replace(/\.ts$/, '.js'))]),
);
tsconfigPaths.register({ baseUrl: join(repoRoot, 'dist'), paths, addMatchAll: false });
