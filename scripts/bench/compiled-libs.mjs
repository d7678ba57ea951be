// The platform's own libraries as compiled under dist/, loaded as the services load them (with the
// @dirigen/* aliases resolved), so a phase that measures a library uses the code the services run.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './options.mjs';

const require = createRequire(import.meta.url);

/** `dist/libs/<name>/src/index.js`, building the project first when it was never built. */
export async function requireCompiledLib(name) {
  const entry = join(repoRoot, 'dist/libs', name, 'src/index.js');
  if (!existsSync(entry)) (await import('../platform/platform.mjs')).buildProject();
  require(join(repoRoot, 'scripts/platform/register-paths.cjs'));
  return require(entry);
}
