import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@dirigen/observability';
import { createServiceDataSource, migrateServiceDatabase } from '@dirigen/persistence';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallerAuthenticator } from '../caller-auth';
import { CallerRateLimiter } from '../caller-rate-limiter';
import { CardVault } from '../card-vault';
import { tokenizationMigrations, vaultSchema } from '../tokenization.migrations';
import { VaultCrypto } from '../vault-crypto';
import { DataKeys } from './data-keys';
import { kekCheckValue, type KekSources, readKeyEncryptionKeys, splitKeyEncryptionKey } from './key-encryption-keys';
import { KeyRotation } from './key-rotation';
import { PgKeyStore } from './key-store';

// Envelope keys and rotation against the real PostgreSQL: KEK rewrap, card key rotation while
// cards are tokenized and detokenized, a crash mid-rotation resumed, retirement, fail-closed reads.

const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/dirigen_test';
const secrets = { intake: 'intake-secret-for-rotation-test', gateway: 'gateway-secret-for-rotation-test' };
const intake = { name: 'intake', secret: secrets.intake, certificateName: 'intake' };
const gateway = { name: 'gateway', secret: secrets.gateway, certificateName: 'gateway' };
const cards = ['4242424242424242', '5555555555554444', '4000056655665556', '378282246310005'];
const cvcFor = (number: string) => (number.startsWith('37') ? '1234' : '123');

let dataSource: DataSource;
let kekDir: string;
let sources: KekSources;
const progress: string[] = [];

function keysFor(keySources: KekSources, currentVersionTtlMs = 0): DataKeys {
  return new DataKeys(new PgKeyStore(dataSource), () => readKeyEncryptionKeys(keySources), { currentVersionTtlMs, cachedKeysMax: 1_000, kekReloadIntervalMs: 0 });
}

async function vaultWith(keys: DataKeys): Promise<CardVault> {
  await keys.start();
  return new CardVault(
    dataSource,
    new VaultCrypto(keys),
    new CallerAuthenticator(`intake:${secrets.intake},gateway:${secrets.gateway}`, { certificateRequired: true }),
    new CallerRateLimiter(new Map([['gateway', { ratePerSecond: 100_000, burst: 100_000 }]])),
    createLogger('rotation-int'),
    { securityCodeTtlMs: 60_000 },
  );
}

async function startedKeys(keySources: KekSources = sources): Promise<DataKeys> {
  const keys = keysFor(keySources);
  await keys.start();
  return keys;
}

function rotationWith(keys: DataKeys, batchSizeMax = 7, onProgress: (line: string) => void = () => {}): KeyRotation {
  return new KeyRotation(dataSource, keys, { batchSizeMax, versionSettleMs: 100, progress: (line) => (progress.push(line), onProgress(line)) });
}

async function tokenizeAll(vault: CardVault, merchantId: string, count: number): Promise<{ token: string; number: string }[]> {
  const saved = [];
  for (let index = 0; index < count; index++) {
    const number = cards[index % cards.length]!;
    // Years from now whenever the suite runs: the vault refuses an expired card by the clock.
    const facts = await vault.tokenize(intake, merchantId, { number, expMonth: 12, expYear: new Date().getUTCFullYear() + 8, cvc: cvcFor(number) }, 'saved');
    await vault.releaseCvc(gateway, merchantId, facts.token);
    saved.push({ token: facts.token, number });
  }
  return saved;
}

async function expectAllOpen(vault: CardVault, merchantId: string, saved: { token: string; number: string }[]): Promise<void> {
  for (const card of saved) {
    expect((await vault.detokenize(gateway, { merchantId, token: card.token, purpose: 'rotation-check' })).number).toBe(card.number);
  }
}

beforeAll(async () => {
  await migrateServiceDatabase({ url: databaseUrl, schema: vaultSchema, applicationName: 'key-rotation.int.spec', migrations: tokenizationMigrations });
  dataSource = await createServiceDataSource({ url: databaseUrl, schema: vaultSchema, applicationName: 'key-rotation.int.spec', poolSizeMax: 6 }).initialize();
  kekDir = mkdtempSync(join(tmpdir(), 'vault-kek-'));
  writeFileSync(join(kekDir, 'kek.json'), JSON.stringify({ versions: { 1: randomBytes(32).toString('base64') } }));
  sources = { file: join(kekDir, 'kek.json'), sharesDir: join(kekDir, 'shares'), sharesMin: 2 };
  await import('node:fs').then((fs) => fs.mkdirSync(sources.sharesDir!));
});

afterAll(async () => {
  await dataSource?.destroy();
});

describe('vault key rotation', () => {
  it('rewraps every data key under a new KEK assembled from custodian shares, then retires the old KEK', async () => {
    const running = await vaultWith(keysFor(sources));
    const saved = [...(await tokenizeAll(running, 'mer_kek_a', 5)), ...(await tokenizeAll(running, 'mer_kek_b', 5))];

    const newKek = randomBytes(32);
    for (const part of (await splitKeyEncryptionKey(newKek, 3, 2)).slice(0, 2)) writeFileSync(join(sources.sharesDir!, part.fileName(2)), part.share.toString('base64'));
    await new PgKeyStore(dataSource).registerKek(2, kekCheckValue(newKek));
    const tool = await startedKeys();
    expect(await rotationWith(tool).rewrap()).toBeGreaterThanOrEqual(4);

    const status = await rotationWith(tool).versionsInUse();
    expect(status.keyEncryptionKeys.find((kek) => kek.version === 1)?.dataKeysWrapped).toBe(0);
    expect(status.keyEncryptionKeys.find((kek) => kek.version === 2)).toMatchObject({ current: true });
    await expectAllOpen(running, 'mer_kek_a', saved.slice(0, 5));

    await rotationWith(tool).retireKek(1);
    const sharesOnly = await vaultWith(keysFor({ sharesDir: sources.sharesDir!, sharesMin: 2 }));
    await expectAllOpen(sharesOnly, 'mer_kek_b', saved.slice(5));
    // A vault holding only the retired KEK refuses to start: it fails closed.
    await expect(keysFor({ file: sources.file!, sharesMin: 2 }).start()).rejects.toThrow(/no active key-encryption key/);
  });

  it('refuses to start a vault whose shares rebuild another key than the one registered', async () => {
    const wrongDir = mkdtempSync(join(tmpdir(), 'vault-wrong-shares-'));
    for (const part of (await splitKeyEncryptionKey(randomBytes(32), 2, 2))) writeFileSync(join(wrongDir, part.fileName(2)), part.share.toString('base64'));
    await expect(keysFor({ sharesDir: wrongDir, sharesMin: 2 }).start()).rejects.toThrow(/does not match its registered check value/);
  });

  it('rotates card keys and re-encrypts in batches while cards keep being tokenized and detokenized', async () => {
    const running = await vaultWith(keysFor(sources, 50));
    const saved = await tokenizeAll(running, 'mer_rot', 40);
    let flowing = true;
    const during: { token: string; number: string }[] = [];
    const traffic = (async () => {
      while (flowing) {
        during.push(...(await tokenizeAll(running, 'mer_rot', 1)));
        await expectAllOpen(running, 'mer_rot', [saved[during.length % saved.length]!, during.at(-1)!]);
      }
    })();
    const result = await rotationWith(await startedKeys(), 7)
      .rotateCardKeys('mer_rot')
      .finally(() => (flowing = false));
    await traffic;
    expect(result.newVersions).toBe(1);
    expect(during.length).toBeGreaterThan(0);
    expect(progress.some((line) => /re-encrypted \d+\/\d+ records/.test(line))).toBe(true);

    const tool = await startedKeys();
    const [{ behind }]: { behind: string }[] = await dataSource.query("SELECT count(*) AS behind FROM vault.cards WHERE merchant_id = 'mer_rot' AND data_key_version <> 2");
    expect(Number(behind)).toBe(0);
    expect(await rotationWith(tool).retireCardKey(1, 'mer_rot')).toBe(1);
    await expectAllOpen(await vaultWith(keysFor(sources)), 'mer_rot', [...saved, ...during]);
  });

  it('resumes an interrupted re-encryption on rerun without adding another version', async () => {
    const vault = await vaultWith(keysFor(sources));
    const saved = await tokenizeAll(vault, 'mer_crash', 30);
    let batches = 0;
    const crashing = rotationWith(await startedKeys(), 5, (line) => {
      if (line.startsWith('re-encrypted') && ++batches === 2) throw new Error('simulated crash');
    });
    await expect(crashing.rotateCardKeys('mer_crash')).rejects.toThrow('simulated crash');
    const [{ behind }]: { behind: string }[] = await dataSource.query("SELECT count(*) AS behind FROM vault.cards WHERE merchant_id = 'mer_crash' AND data_key_version = 1");
    expect(Number(behind)).toBe(20);

    await expect(rotationWith(await startedKeys()).retireCardKey(1, 'mer_crash')).rejects.toThrow(/still in use/);
    const resumed = await rotationWith(await startedKeys(), 5).rotateCardKeys('mer_crash');
    expect(resumed).toEqual({ newVersions: 0, reencrypted: 20, securityCodesReencrypted: 0 });
    const versions: { version: number }[] = await dataSource.query("SELECT DISTINCT data_key_version AS version FROM vault.cards WHERE merchant_id = 'mer_crash'");
    expect(versions).toEqual([{ version: 2 }]);
    await expectAllOpen(await vaultWith(keysFor(sources)), 'mer_crash', saved);
  });

  it("re-encrypts the security codes held during a card key rotation, so retiring the old version strands no payment's code", async () => {
    const vault = await vaultWith(keysFor(sources));
    const merchantId = 'mer_held_rotation';
    const { token } = await vault.tokenize(intake, merchantId, { number: cards[0]!, expMonth: 12, expYear: 2034, cvc: '123' }, 'saved');
    await vault.holdSecurityCode(intake, { merchantId, token, paymentId: 'pay_rotation', cvc: '456' });
    const result = await rotationWith(await startedKeys()).rotateCardKeys(merchantId);
    expect(result).toEqual({ newVersions: 1, reencrypted: 1, securityCodesReencrypted: 2 });
    expect(await rotationWith(await startedKeys()).retireCardKey(1, merchantId)).toBe(1);
    const after = await vaultWith(keysFor(sources));
    expect(await after.detokenize(gateway, { merchantId, token, purpose: 'authorization', paymentId: 'pay_rotation' })).toMatchObject({ cvc: '456' });
    expect(await after.detokenize(gateway, { merchantId, token, purpose: 'authorization' })).toMatchObject({ cvc: '123' });
  });

  it('refuses to retire a card key version a held security code is still sealed under', async () => {
    const vault = await vaultWith(keysFor(sources));
    const merchantId = 'mer_held_retire';
    const [card] = await tokenizeAll(vault, merchantId, 1);
    const tool = await startedKeys();
    await tool.addCardKeyVersion(merchantId, 1);
    await rotationWith(tool).reencrypt(merchantId);
    // Held under v1 by a vault that had not yet seen v2 (the settle window rotateCardKeys waits out).
    await vault.holdSecurityCode(intake, { merchantId, token: card!.token, paymentId: 'pay_late', cvc: '456' });
    await dataSource.query('UPDATE vault.held_security_codes SET data_key_version = 1 WHERE token = $1', [card!.token]);
    await expect(rotationWith(tool).retireCardKey(1, merchantId)).rejects.toThrow(/still in use/);
  });

  it('fails closed on a record naming a key version that does not exist', async () => {
    const vault = await vaultWith(keysFor(sources));
    const [card] = await tokenizeAll(vault, 'mer_wrong_version', 1);
    await dataSource.query('UPDATE vault.cards SET data_key_version = 7 WHERE token = $1', [card!.token]);
    await expect(vault.detokenize(gateway, { merchantId: 'mer_wrong_version', token: card!.token, purpose: 'probe' })).rejects.toMatchObject({ code: 'key_unavailable' });
    const [audit]: { outcome: string }[] = await dataSource.query('SELECT outcome FROM vault.detokenize_audit WHERE token = $1 ORDER BY id DESC LIMIT 1', [card!.token]);
    expect(audit?.outcome).toBe('key_unavailable');
  });
});
