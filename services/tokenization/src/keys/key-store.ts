import type { DataSource, EntityManager } from 'typeorm';

export type DataKeyPurpose = 'card' | 'fingerprint';

export interface DataKeyRow {
  merchantId: string;
  purpose: DataKeyPurpose;
  version: number;
  kekVersion: number;
  /** Null once the version is retired: its key material is destroyed. */
  wrapped: Buffer | null;
}

export interface KekRegistryRow {
  version: number;
  checkValue: Buffer;
  state: 'active' | 'retired';
}

interface DataKeySqlRow {
  merchant_id: string;
  purpose: DataKeyPurpose;
  version: number;
  kek_version: number;
  wrapped: Buffer | null;
}

/** The port DataKeys uses (PostgreSQL in production, a map in unit tests). */
export interface KeyStore {
  registerKek(version: number, checkValue: Buffer): Promise<void>;
  keks(): Promise<KekRegistryRow[]>;
  dataKey(merchantId: string, purpose: DataKeyPurpose, version: number): Promise<DataKeyRow | undefined>;
  currentDataKey(merchantId: string, purpose: DataKeyPurpose): Promise<DataKeyRow | undefined>;
  insertDataKey(key: DataKeyRow): Promise<boolean>;
}

const dataKeyColumns = 'merchant_id, purpose, version, kek_version, wrapped';

/** The vault's key tables: KEK check values (never KEKs) and data keys, wrapped. */
export class PgKeyStore implements KeyStore {
  constructor(private readonly db: DataSource | EntityManager) {}

  /** Records a KEK version's check value the first time any vault process or the key tool sees it. */
  async registerKek(version: number, checkValue: Buffer): Promise<void> {
    await this.db.query('INSERT INTO vault.key_encryption_keys (version, check_value) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING', [version, checkValue]);
  }

  async keks(): Promise<KekRegistryRow[]> {
    const rows: { version: number; check_value: Buffer; state: 'active' | 'retired' }[] = await this.db.query(
      'SELECT version, check_value, state FROM vault.key_encryption_keys ORDER BY version',
    );
    return rows.map((row) => ({ version: row.version, checkValue: row.check_value, state: row.state }));
  }

  async dataKey(merchantId: string, purpose: DataKeyPurpose, version: number): Promise<DataKeyRow | undefined> {
    const [row]: DataKeySqlRow[] = await this.db.query(`SELECT ${dataKeyColumns} FROM vault.data_keys WHERE merchant_id = $1 AND purpose = $2 AND version = $3`, [merchantId, purpose, version]);
    return row && toDataKey(row);
  }

  /** The newest active version: the one new records are sealed under. */
  async currentDataKey(merchantId: string, purpose: DataKeyPurpose): Promise<DataKeyRow | undefined> {
    const [row]: DataKeySqlRow[] = await this.db.query(
      `SELECT ${dataKeyColumns} FROM vault.data_keys WHERE merchant_id = $1 AND purpose = $2 AND state = 'active' ORDER BY version DESC LIMIT 1`,
      [merchantId, purpose],
    );
    return row && toDataKey(row);
  }

  /** False when another process created that version first (the caller rereads it). */
  async insertDataKey(key: DataKeyRow): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO vault.data_keys (merchant_id, purpose, version, kek_version, wrapped) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (merchant_id, purpose, version) DO NOTHING RETURNING version`,
      [key.merchantId, key.purpose, key.version, key.kekVersion, key.wrapped],
    );
    return rows.length === 1;
  }
}

export function toDataKey(row: DataKeySqlRow): DataKeyRow {
  return { merchantId: row.merchant_id, purpose: row.purpose, version: row.version, kekVersion: row.kek_version, wrapped: row.wrapped };
}
