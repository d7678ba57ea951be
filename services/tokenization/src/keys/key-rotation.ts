import type { DataSource, EntityManager } from 'typeorm';
import { VaultCrypto, VaultCryptoError } from '../vault-crypto';
import type { DataKeys } from './data-keys';
import { type DataKeyPurpose, toDataKey } from './key-store';

export interface KeyVersionsInUse {
  keyEncryptionKeys: { version: number; state: string; dataKeysWrapped: number; current: boolean }[];
  cardDataKeys: { version: number; state: string; merchants: number; records: number }[];
  /** Records whose data key version is missing or retired: they cannot be opened (and fail closed). */
  unreadableRecords: number;
}

export interface RotationOptions {
  batchSizeMax: number;
  /** How long running vaults may keep sealing under a replaced card key version (their cache TTL). */
  versionSettleMs: number;
  progress: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

interface CardRecordRow {
  token: string;
  merchant_id: string;
  data_key_version: number;
  nonce: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  target_version: number;
}

/**
 * Key rotation without downtime, in bounded batches, each batch one transaction: rerunning a
 * command after a crash continues where it stopped, because every step selects only what is
 * not yet on the newest version.
 */
export class KeyRotation {
  private readonly crypto: VaultCrypto;

  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: DataKeys,
    private readonly options: RotationOptions,
  ) {
    if (!(options.batchSizeMax >= 1 && options.batchSizeMax <= 10_000)) throw new Error('invariant: batchSizeMax is within 1..10000');
    this.crypto = new VaultCrypto(keys);
  }

  async versionsInUse(): Promise<KeyVersionsInUse> {
    const current = this.keys.kekRing.versions.length > 0 ? this.keys.kekRing.currentVersion : undefined;
    const keks: { version: number; state: string; data_keys: string }[] = await this.dataSource.query(
      `SELECT k.version, k.state, count(d.version) AS data_keys FROM vault.key_encryption_keys k
       LEFT JOIN vault.data_keys d ON d.kek_version = k.version AND d.state = 'active' GROUP BY k.version, k.state ORDER BY k.version`,
    );
    const dataKeys: { version: number; state: string; merchants: string; records: string }[] = await this.dataSource.query(
      `SELECT d.version, d.state, count(*) AS merchants, coalesce(sum(c.records), 0) AS records FROM vault.data_keys d
       LEFT JOIN (SELECT merchant_id, data_key_version, count(*) AS records FROM vault.cards GROUP BY 1, 2) c
         ON c.merchant_id = d.merchant_id AND c.data_key_version = d.version
       WHERE d.purpose = 'card' GROUP BY d.version, d.state ORDER BY d.version, d.state`,
    );
    const [unreadable]: { count: string }[] = await this.dataSource.query(
      `SELECT count(*) FROM vault.cards c WHERE NOT EXISTS (SELECT 1 FROM vault.data_keys d
         WHERE d.merchant_id = c.merchant_id AND d.purpose = 'card' AND d.version = c.data_key_version AND d.state = 'active')`,
    );
    return {
      keyEncryptionKeys: keks.map((row) => ({ version: row.version, state: row.state, dataKeysWrapped: Number(row.data_keys), current: row.version === current })),
      cardDataKeys: dataKeys.map((row) => ({ version: row.version, state: row.state, merchants: Number(row.merchants), records: Number(row.records) })),
      unreadableRecords: Number(unreadable!.count),
    };
  }

  /** Rewraps every active data key not yet under the current KEK. The data keys (and so every record) stay as they are. */
  async rewrap(): Promise<number> {
    const target = this.keys.kekRing.currentVersion;
    const [{ count: total }]: { count: string }[] = await this.dataSource.query("SELECT count(*) FROM vault.data_keys WHERE state = 'active' AND kek_version <> $1", [target]);
    let rewrapped = 0;
    for (;;) {
      const done = await this.dataSource.transaction(async (manager) => {
        const rows: { merchant_id: string; purpose: DataKeyPurpose; version: number; kek_version: number; wrapped: Buffer }[] = await manager.query(
          `SELECT merchant_id, purpose, version, kek_version, wrapped FROM vault.data_keys WHERE state = 'active' AND kek_version <> $1
           ORDER BY merchant_id, purpose, version LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [target, this.options.batchSizeMax],
        );
        for (const row of rows) {
          const dataKey = await this.keys.unwrapRow(toDataKey(row));
          const { kekVersion, wrapped } = this.keys.wrap(row.merchant_id, row.purpose, row.version, dataKey);
          await manager.query('UPDATE vault.data_keys SET kek_version = $1, wrapped = $2 WHERE merchant_id = $3 AND purpose = $4 AND version = $5', [
            kekVersion, wrapped, row.merchant_id, row.purpose, row.version,
          ]);
        }
        return rows.length;
      });
      if (done === 0) break;
      rewrapped += done;
      this.options.progress(`rewrapped ${rewrapped}/${total} data keys under key-encryption key v${target} (${percent(rewrapped, Number(total))})`);
    }
    return rewrapped;
  }

  /**
   * Gives each merchant (or one) a new card data key version and re-encrypts its records under it.
   * A merchant whose previous rotation is unfinished gets no new version: the rerun finishes it.
   */
  async rotateCardKeys(merchantId?: string): Promise<{ newVersions: number; reencrypted: number; securityCodesReencrypted: number }> {
    const merchants: { merchant_id: string; version: number; behind: string }[] = await this.dataSource.query(
      `SELECT d.merchant_id, max(d.version) AS version,
              (SELECT count(*) FROM vault.cards c WHERE c.merchant_id = d.merchant_id AND c.data_key_version < max(d.version)) AS behind
       FROM vault.data_keys d WHERE d.purpose = 'card' AND d.state = 'active' AND ($1::text IS NULL OR d.merchant_id = $1)
       GROUP BY d.merchant_id ORDER BY d.merchant_id`,
      [merchantId ?? null],
    );
    let newVersions = 0;
    for (const merchant of merchants) {
      if (Number(merchant.behind) > 0) {
        this.options.progress(`${merchant.merchant_id}: rotation to v${merchant.version} unfinished (${merchant.behind} records behind), resuming it`);
        continue;
      }
      const added = await this.keys.addCardKeyVersion(merchant.merchant_id, merchant.version);
      if (added) newVersions += 1;
    }
    if (newVersions > 0) {
      this.options.progress(`${newVersions} new card key version(s); waiting ${this.options.versionSettleMs} ms until every vault seals under them`);
      await (this.options.sleep ?? delay)(this.options.versionSettleMs);
    }
    const reencrypted = await this.reencrypt(merchantId);
    return { newVersions, reencrypted, securityCodesReencrypted: await this.reencryptSecurityCodes(merchantId) };
  }

  /**
   * Re-encrypts the security codes held right now (unexpired, minutes at most) that are not on their
   * merchant's newest card key version, so that retiring the old version never strands a payment's
   * code. A code held meanwhile is sealed under the newest version already (after `versionSettleMs`).
   */
  async reencryptSecurityCodes(merchantId?: string): Promise<number> {
    let reencrypted = 0;
    for (;;) {
      const done = await this.dataSource.transaction(async (manager) => {
        const rows: { token: string; payment_id: string; merchant_id: string; data_key_version: number; nonce: Buffer; ciphertext: Buffer; auth_tag: Buffer; target_version: number }[] = await manager.query(
          `SELECT h.token, h.payment_id, h.merchant_id, h.data_key_version, h.nonce, h.ciphertext, h.auth_tag, newest.version AS target_version
           FROM vault.held_security_codes h
           JOIN LATERAL (SELECT max(d.version) AS version FROM vault.data_keys d WHERE d.merchant_id = h.merchant_id AND d.purpose = 'card' AND d.state = 'active') newest ON true
           WHERE h.data_key_version < newest.version AND h.expires_at > now() AND ($1::text IS NULL OR h.merchant_id = $1)
           LIMIT $2 FOR UPDATE OF h SKIP LOCKED`,
          [merchantId ?? null, this.options.batchSizeMax],
        );
        for (const row of rows) {
          const sealed = { keyVersion: row.data_key_version, nonce: row.nonce, ciphertext: row.ciphertext, authTag: row.auth_tag };
          let resealed;
          try {
            resealed = await this.crypto.resealSecurityCode(row.merchant_id, row.token, row.payment_id, sealed, row.target_version);
          } catch (error) {
            if (!(error instanceof VaultCryptoError)) throw error;
            // Unopenable (tampered?): useless to any payment, which fails cvc_expired without it; erased, so no batch selects it again.
            await manager.query('DELETE FROM vault.held_security_codes WHERE token = $1 AND payment_id = $2', [row.token, row.payment_id]);
            this.options.progress('a held security code failed to open and was erased');
            continue;
          }
          await manager.query('UPDATE vault.held_security_codes SET data_key_version = $1, nonce = $2, ciphertext = $3, auth_tag = $4 WHERE token = $5 AND payment_id = $6', [
            resealed.keyVersion, resealed.nonce, resealed.ciphertext, resealed.authTag, row.token, row.payment_id,
          ]);
        }
        return rows.length;
      });
      if (done === 0) break;
      reencrypted += done;
      this.options.progress(`re-encrypted ${reencrypted} held security code(s)`);
    }
    return reencrypted;
  }

  /** Re-encrypts records not on their merchant's newest card key version, batch by batch. */
  async reencrypt(merchantId?: string): Promise<number> {
    const scope = [merchantId ?? null];
    const [{ count: total }]: { count: string }[] = await this.dataSource.query(`SELECT count(*) FROM (${recordsBehindSql('')}) behind`, [...scope, null, 2_147_483_647]);
    let reencrypted = 0;
    let failed = 0;
    let after: string | null = null;
    for (;;) {
      const batch = await this.dataSource.transaction(async (manager) => {
        const rows: CardRecordRow[] = await manager.query(recordsBehindSql('FOR UPDATE OF c SKIP LOCKED'), [...scope, after, this.options.batchSizeMax]);
        let batchFailed = 0;
        for (const row of rows) batchFailed += (await this.reencryptRecord(manager, row)) ? 0 : 1;
        return { rows: rows.length, failed: batchFailed, last: rows.at(-1)?.token ?? null };
      });
      if (batch.rows === 0) break;
      after = batch.last;
      failed += batch.failed;
      reencrypted += batch.rows - batch.failed;
      this.options.progress(`re-encrypted ${reencrypted}/${total} records (${percent(reencrypted + failed, Number(total))})${failed ? `, ${failed} failed to open` : ''}`);
    }
    if (failed > 0) this.options.progress(`${failed} record(s) failed to open (tampered?) and stay on their old version; the vault refuses them`);
    return reencrypted;
  }

  /** Marks a KEK version retired once no active data key is wrapped under it; its holders may then destroy their shares. */
  async retireKek(version: number): Promise<void> {
    if (version === this.keys.kekRing.currentVersion) throw new RetirementRefused(`key-encryption key v${version} is the current one: add a newer version and rewrap first`);
    const [{ count }]: { count: string }[] = await this.dataSource.query("SELECT count(*) FROM vault.data_keys WHERE kek_version = $1 AND state = 'active'", [version]);
    if (Number(count) > 0) throw new RetirementRefused(`key-encryption key v${version} still wraps ${count} data key(s): run rewrap first`);
    const [, updated]: [unknown, number] = await this.dataSource.query(
      "UPDATE vault.key_encryption_keys SET state = 'retired', retired_at = now() WHERE version = $1 AND state = 'active'",
      [version],
    );
    if (updated === 0) throw new RetirementRefused(`key-encryption key v${version} is unknown or already retired`);
  }

  /** Destroys card data key `version` of every merchant (or one) where no record (nor held security code) uses it and it is not the current one. */
  async retireCardKey(version: number, merchantId?: string): Promise<number> {
    const inUse: { merchant_id: string; records: string; current: boolean }[] = await this.dataSource.query(
      `SELECT d.merchant_id,
              (SELECT count(*) FROM vault.cards c WHERE c.merchant_id = d.merchant_id AND c.data_key_version = d.version)
                + (SELECT count(*) FROM vault.held_security_codes h WHERE h.merchant_id = d.merchant_id AND h.data_key_version = d.version AND h.expires_at > now()) AS records,
              NOT EXISTS (SELECT 1 FROM vault.data_keys n WHERE n.merchant_id = d.merchant_id AND n.purpose = 'card' AND n.version > d.version AND n.state = 'active') AS current
       FROM vault.data_keys d WHERE d.purpose = 'card' AND d.version = $1 AND d.state = 'active' AND ($2::text IS NULL OR d.merchant_id = $2)`,
      [version, merchantId ?? null],
    );
    const blocked = inUse.filter((row) => Number(row.records) > 0 || row.current);
    if (blocked.length > 0) {
      const detail = blocked.slice(0, 5).map((row) => `${row.merchant_id} (${row.current ? 'current version' : `${row.records} records`})`).join(', ');
      throw new RetirementRefused(`card key v${version} is still in use for ${blocked.length} merchant(s): ${detail}; rotate and re-encrypt first`);
    }
    const [, retired]: [unknown, number] = await this.dataSource.query(
      `UPDATE vault.data_keys SET state = 'retired', wrapped = NULL, retired_at = now()
       WHERE purpose = 'card' AND version = $1 AND state = 'active' AND ($2::text IS NULL OR merchant_id = $2)`,
      [version, merchantId ?? null],
    );
    return retired;
  }

  private async reencryptRecord(manager: EntityManager, row: CardRecordRow): Promise<boolean> {
    let card;
    try {
      card = await this.crypto.open(row.merchant_id, row.token, { keyVersion: row.data_key_version, nonce: row.nonce, ciphertext: row.ciphertext, authTag: row.auth_tag });
    } catch (error) {
      if (error instanceof VaultCryptoError) return false;
      throw error;
    }
    const sealed = await this.crypto.seal(row.merchant_id, row.token, card, row.target_version);
    await manager.query('UPDATE vault.cards SET data_key_version = $1, nonce = $2, ciphertext = $3, auth_tag = $4 WHERE token = $5 AND data_key_version = $6', [
      sealed.keyVersion, sealed.nonce, sealed.ciphertext, sealed.authTag, row.token, row.data_key_version,
    ]);
    return true;
  }
}

export class RetirementRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetirementRefused';
  }
}

/** Readable records (their version is an active key) below their merchant's newest version, in token order after $2. */
function recordsBehindSql(locking: string): string {
  return `SELECT c.token, c.merchant_id, c.data_key_version, c.nonce, c.ciphertext, c.auth_tag, newest.version AS target_version
    FROM vault.cards c
    JOIN vault.data_keys own ON own.merchant_id = c.merchant_id AND own.purpose = 'card' AND own.version = c.data_key_version AND own.state = 'active'
    JOIN LATERAL (SELECT max(d.version) AS version FROM vault.data_keys d WHERE d.merchant_id = c.merchant_id AND d.purpose = 'card' AND d.state = 'active') newest ON true
    WHERE c.data_key_version < newest.version AND ($1::text IS NULL OR c.merchant_id = $1) AND ($2::text IS NULL OR c.token > $2)
    ORDER BY c.token LIMIT $3 ${locking}`;
}

function percent(done: number, total: number): string {
  return total === 0 ? '100%' : `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
