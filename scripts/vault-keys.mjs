// `npm run vault:keys -- <command>`: the vault's key tool (services/tokenization/src/vault-keys.ts),
// with local mode's defaults filled in: the database and KEK file `npm start` uses under .data/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const dataDir = resolve(process.env.DIRIGEN_DATA_DIR ?? join(repoRoot, '.data'));
const entry = join(repoRoot, 'dist/services/tokenization/src/vault-keys.js');
if (!existsSync(entry)) {
  console.error('vault-keys: not built yet; run `npm run build` (or `npm start` once)');
  process.exit(1);
}
const env = { ...process.env };
env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/dirigen';
if (!env.VAULT_KEK_FILE && !env.VAULT_KEK_SHARES_DIR && existsSync(join(dataDir, 'vault/kek.json'))) env.VAULT_KEK_FILE = join(dataDir, 'vault/kek.json');
const result = spawnSync(process.execPath, ['-r', join(repoRoot, 'scripts/platform/register-paths.cjs'), entry, ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
