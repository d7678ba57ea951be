import { randomBytes } from 'node:crypto';
import { KeyMaterialError, keyBytes } from './aead';
import { KekRing } from './key-encryption-keys';
import type { DataKeyPurpose, DataKeyRow, KeyStore } from './key-store';

/** A record names a data key version this vault cannot use: missing, retired, or its KEK is not held. Fail closed. */
export class KeyUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyUnavailableError';
  }
}

export interface DataKeysOptions {
  /** How long a merchant's current card key version is trusted before rereading (a rotation is picked up within this). */
  currentVersionTtlMs: number;
  /** Unwrapped data keys held in memory at most. */
  cachedKeysMax: number;
  /** A KEK version missing from the ring triggers a reload of the sources at most this often. */
  kekReloadIntervalMs: number;
}

/**
 * Per-merchant data keys: random AES-256 keys, stored only wrapped by a KEK version, unwrapped
 * on first use and held in memory. A card key is rotated by adding a version; the fingerprint
 * key never rotates (fingerprints must stay comparable), only its wrapping does.
 */
export class DataKeys {
  private readonly unwrapped = new Map<string, Buffer>();
  private readonly currentVersions = new Map<string, { version: number; expiresAt: number }>();
  private ring: KekRing = new KekRing(new Map());
  private reloadedAt = -Infinity;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly store: KeyStore,
    private readonly loadKeks: () => Promise<Map<number, Buffer>>,
    private readonly options: DataKeysOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads the KEKs and checks each against the registry: wrong or too few shares stop the vault here. */
  async start(): Promise<KekRing> {
    await this.loadAndVerifyKeks();
    this.reloadedAt = this.now();
    if (this.ring.versions.length === 0) throw new KeyMaterialError('no active key-encryption key is held: every version given is retired, or none was given');
    return this.ring;
  }

  get kekRing(): KekRing {
    return this.ring;
  }

  async currentCardKey(merchantId: string): Promise<{ version: number; key: Buffer }> {
    const cached = this.currentVersions.get(merchantId);
    if (cached && cached.expiresAt > this.now()) return { version: cached.version, key: await this.key(merchantId, 'card', cached.version) };
    const row = (await this.store.currentDataKey(merchantId, 'card')) ?? (await this.create(merchantId, 'card', 1));
    this.currentVersions.set(merchantId, { version: row.version, expiresAt: this.now() + this.options.currentVersionTtlMs });
    return { version: row.version, key: this.remember(row, await this.unwrapRow(row)) };
  }

  cardKey(merchantId: string, version: number): Promise<Buffer> {
    return this.key(merchantId, 'card', version);
  }

  async fingerprintKey(merchantId: string): Promise<Buffer> {
    const cached = this.unwrapped.get(cacheKey(merchantId, 'fingerprint', 1));
    if (cached) return cached;
    const row = (await this.store.dataKey(merchantId, 'fingerprint', 1)) ?? (await this.create(merchantId, 'fingerprint', 1));
    return this.remember(row, await this.unwrapRow(row));
  }

  /** Adds a merchant's next card key version (wrapped under the current KEK); null when `expectedCurrent` is no longer current. */
  async addCardKeyVersion(merchantId: string, expectedCurrent: number): Promise<DataKeyRow | null> {
    const current = await this.store.currentDataKey(merchantId, 'card');
    if ((current?.version ?? 0) !== expectedCurrent) return null;
    return this.create(merchantId, 'card', expectedCurrent + 1);
  }

  /** Wraps an unwrapped data key under the current KEK (for rewrapping). */
  wrap(merchantId: string, purpose: DataKeyPurpose, version: number, dataKey: Buffer): { kekVersion: number; wrapped: Buffer } {
    return this.ring.wrap(dataKey, wrappingContext(merchantId, purpose, version));
  }

  async unwrapRow(row: DataKeyRow): Promise<Buffer> {
    if (!row.wrapped) throw new KeyUnavailableError(`data key ${row.purpose} v${row.version} of ${row.merchantId} is retired`);
    if (!this.ring.has(row.kekVersion)) await this.reloadKeks();
    if (!this.ring.has(row.kekVersion)) throw new KeyUnavailableError(`key-encryption key version ${row.kekVersion} is not held`);
    try {
      return this.ring.unwrap(row.kekVersion, row.wrapped, wrappingContext(row.merchantId, row.purpose, row.version));
    } catch {
      throw new KeyUnavailableError(`data key ${row.purpose} v${row.version} of ${row.merchantId} failed to unwrap (altered, or moved from another merchant)`);
    }
  }

  /**
   * Rereads the KEK sources when a version is missing (a new one being introduced): concurrent
   * callers share one reload, and sources are reread at most once per `kekReloadIntervalMs`.
   */
  async reloadKeks(): Promise<void> {
    if (this.reloading) return this.reloading;
    if (this.now() - this.reloadedAt < this.options.kekReloadIntervalMs) return;
    this.reloading = this.loadAndVerifyKeks().finally(() => {
      this.reloading = undefined;
      this.reloadedAt = this.now();
    });
    return this.reloading;
  }

  /** Reads the KEK sources, verifies every version against its registered check value, drops retired versions. */
  private async loadAndVerifyKeks(): Promise<void> {
    const ring = new KekRing(await this.loadKeks());
    for (const version of ring.versions) await this.store.registerKek(version, ring.checkValue(version));
    const registry = await this.store.keks();
    for (const entry of registry) {
      if (ring.has(entry.version) && !ring.matchesCheckValue(entry.version, entry.checkValue)) {
        throw new KeyMaterialError(`key-encryption key version ${entry.version} does not match its registered check value: a wrong share, or fewer shares than the threshold`);
      }
    }
    this.ring = ring.without(registry.filter((entry) => entry.state === 'retired').map((entry) => entry.version));
  }

  private async key(merchantId: string, purpose: DataKeyPurpose, version: number): Promise<Buffer> {
    const cached = this.unwrapped.get(cacheKey(merchantId, purpose, version));
    if (cached) return cached;
    const row = await this.store.dataKey(merchantId, purpose, version);
    if (!row) throw new KeyUnavailableError(`data key ${purpose} v${version} of ${merchantId} does not exist`);
    return this.remember(row, await this.unwrapRow(row));
  }

  private async create(merchantId: string, purpose: DataKeyPurpose, version: number): Promise<DataKeyRow> {
    // A KEK added since this process started is found before the new key is wrapped under an older one.
    // (While its shares are still being handed out the reload may fail: the key is then wrapped under the older KEK, and rewrap moves it.)
    const newest = Math.max(0, ...(await this.store.keks()).filter((entry) => entry.state === 'active').map((entry) => entry.version));
    if (newest > this.ring.currentVersion) await this.reloadKeks().catch(() => undefined);
    const { kekVersion, wrapped } = this.ring.wrap(randomBytes(keyBytes), wrappingContext(merchantId, purpose, version));
    const row: DataKeyRow = { merchantId, purpose, version, kekVersion, wrapped };
    if (await this.store.insertDataKey(row)) return row;
    const winner = await this.store.dataKey(merchantId, purpose, version);
    if (!winner) throw new Error(`invariant: data key ${purpose} v${version} of ${merchantId} lost a race to a row that is gone`);
    return winner;
  }

  private remember(row: DataKeyRow, key: Buffer): Buffer {
    if (this.unwrapped.size >= this.options.cachedKeysMax) this.unwrapped.delete(this.unwrapped.keys().next().value!);
    this.unwrapped.set(cacheKey(row.merchantId, row.purpose, row.version), key);
    return key;
  }
}

function cacheKey(merchantId: string, purpose: DataKeyPurpose, version: number): string {
  return `${merchantId}\u0000${purpose}\u0000${version}`;
}

/** Binds a wrapped key to its merchant, purpose and version: moved to another row, it fails to unwrap. */
function wrappingContext(merchantId: string, purpose: DataKeyPurpose, version: number): Buffer {
  return Buffer.from(`dirigen/vault/data-key/v1\u0000${merchantId}\u0000${purpose}\u0000${version}`, 'utf8');
}
