// The vault's key tool: `npm run vault:keys -- <command>` (see README, "Keys and rotation").
//
//   status [--json]                          which KEK and card key versions exist and what still uses them
//   kek-new --local                          add a KEK version to the local-mode file (VAULT_KEK_FILE)
//   kek-new --shares N --threshold K --out D split a new KEK version into N custodian share files in D
//                                            (--offline: a new deployment's first KEK, before any database)
//   rewrap                                   rewrap every data key under the newest KEK
//   rotate-card-keys [--merchant ID]         new card key versions, then re-encrypt records (rerun resumes)
//   retire --kek V | --card-key V [--merchant ID]   retire a version nothing uses any more
//
// Reads DATABASE_URL and the KEK sources (VAULT_KEK_FILE, VAULT_KEK_SHARES_DIR) like the vault itself.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { currentKeyVersionTtlMs } from './vault-key-settings';
import { keyBytes } from './keys/aead';
import { DataKeys } from './keys/data-keys';
import { kekCheckValue, kekSourcesFromEnvironment, readKeyEncryptionKeys, splitKeyEncryptionKey } from './keys/key-encryption-keys';
import { KeyRotation, RetirementRefused } from './keys/key-rotation';
import { PgKeyStore } from './keys/key-store';

const batchSizeDefault = 500;
const sharesMax = 16;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      shares: { type: 'string' },
      threshold: { type: 'string' },
      out: { type: 'string' },
      merchant: { type: 'string' },
      kek: { type: 'string' },
      'card-key': { type: 'string' },
      'batch-size': { type: 'string' },
      offline: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  // The very first KEK of a new deployment: no database yet; the vault registers its check value at first start.
  if (command === 'kek-new' && values.offline) {
    if (values.out) mkdirSync(values.out, { recursive: true, mode: 0o700 });
    return newKek(undefined, kekSourcesFromEnvironment({ ...process.env, VAULT_KEK_SHARES_DIR: process.env.VAULT_KEK_SHARES_DIR ?? values.out }), values);
  }
  const dataSource = await new DataSource({ type: 'postgres', url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/dirigen', applicationName: 'vault-keys' }).initialize();
  try {
    const sources = kekSourcesFromEnvironment();
    const store = new PgKeyStore(dataSource);
    if (command === 'kek-new') return await newKek(store, sources, values);
    const keys = new DataKeys(store, () => readKeyEncryptionKeys(sources), { currentVersionTtlMs: 0, cachedKeysMax: 100_000, kekReloadIntervalMs: 0 });
    await keys.start();
    const rotation = new KeyRotation(dataSource, keys, {
      batchSizeMax: Number(values['batch-size'] ?? batchSizeDefault),
      versionSettleMs: currentKeyVersionTtlMs + 1_000,
      progress: (line) => process.stdout.write(`${line}\n`),
    });
    switch (command) {
      case 'status':
        return printStatus(await rotation.versionsInUse(), values.json ?? false);
      case 'rewrap':
        process.stdout.write(`done: ${await rotation.rewrap()} data key(s) rewrapped under v${keys.kekRing.currentVersion}\n`);
        return;
      case 'rotate-card-keys': {
        const result = await rotation.rotateCardKeys(values.merchant);
        process.stdout.write(`done: ${result.newVersions} new card key version(s), ${result.reencrypted} record(s) and ${result.securityCodesReencrypted} held security code(s) re-encrypted\n`);
        return;
      }
      case 'retire':
        if (values.kek) {
          await rotation.retireKek(positiveInteger(values.kek, '--kek'));
          process.stdout.write(`key-encryption key v${values.kek} retired: its custodians may destroy their shares\n`);
        } else if (values['card-key']) {
          const retired = await rotation.retireCardKey(positiveInteger(values['card-key'], '--card-key'), values.merchant);
          process.stdout.write(`card key v${values['card-key']} retired for ${retired} merchant(s): key material destroyed\n`);
        } else throw new UsageError('retire needs --kek <version> or --card-key <version>');
        return;
      default:
        throw new UsageError(`unknown command ${command ?? '(none)'}: status | kek-new | rewrap | rotate-card-keys | retire`);
    }
  } finally {
    await dataSource.destroy();
  }
}

/** A new KEK version: registered by its check value, then handed out as custodian shares or written to the local file. */
async function newKek(store: PgKeyStore | undefined, sources: ReturnType<typeof kekSourcesFromEnvironment>, values: { local?: boolean; shares?: string; threshold?: string; out?: string }) {
  const held = await readKeyEncryptionKeys(sources);
  const version = Math.max(0, ...held.keys(), ...(store ? await store.keks() : []).map((entry) => entry.version)) + 1;
  const key = randomBytes(keyBytes);
  if (values.local) {
    if (!sources.file) throw new UsageError('kek-new --local needs VAULT_KEK_FILE');
    const file = JSON.parse(readFileSync(sources.file, 'utf8')) as { versions: Record<string, string> };
    file.versions[String(version)] = key.toString('base64');
    writeFileSync(`${sources.file}.next`, JSON.stringify(file, null, 2), { mode: 0o600 });
    renameSync(`${sources.file}.next`, sources.file);
  } else {
    const shares = positiveInteger(values.shares ?? '', '--shares');
    const threshold = positiveInteger(values.threshold ?? '', '--threshold');
    if (!values.out || shares > sharesMax) throw new UsageError(`kek-new needs --local, or --shares N (≤ ${sharesMax}) --threshold K --out <directory>`);
    mkdirSync(values.out, { recursive: true, mode: 0o700 });
    for (const part of await splitKeyEncryptionKey(key, shares, threshold)) {
      const path = join(values.out, part.fileName(version));
      if (existsSync(path)) throw new UsageError(`${path} exists: refusing to overwrite a custodian share`);
      writeFileSync(path, `${part.share.toString('base64')}\n`, { mode: 0o600 });
    }
    process.stdout.write(`wrote ${shares} share files (any ${threshold} rebuild the key) to ${values.out}: give each custodian one; never keep them together\n`);
  }
  await store?.registerKek(version, kekCheckValue(key));
  key.fill(0);
  process.stdout.write(
    store
      ? `key-encryption key v${version} registered. Next: make it available to every vault (they reload it on first use), then run rewrap\n`
      : `key-encryption key v${version} created offline; the first vault to start with it registers its check value\n`,
  );
}

function printStatus(status: Awaited<ReturnType<KeyRotation['versionsInUse']>>, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(status)}\n`);
    return;
  }
  const lines = ['key-encryption keys:'];
  for (const kek of status.keyEncryptionKeys) lines.push(`  v${kek.version}  ${kek.state}${kek.current ? ' (current)' : ''}  wraps ${kek.dataKeysWrapped} data key(s)${kek.state === 'active' && kek.dataKeysWrapped === 0 && !kek.current ? '  → not in use, may be retired' : ''}`);
  lines.push('card data keys:');
  for (const key of status.cardDataKeys) lines.push(`  v${key.version}  ${key.state}  ${key.merchants} merchant(s)  ${key.records} record(s)`);
  lines.push(`unreadable records (missing or retired key version): ${status.unreadableRecords}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer`);
  return value;
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`vault-keys: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError || error instanceof RetirementRefused ? 2 : 1);
});
