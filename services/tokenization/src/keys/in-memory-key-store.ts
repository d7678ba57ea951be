import type { DataKeyPurpose, DataKeyRow, KekRegistryRow, KeyStore } from './key-store';

/** The key tables in a map, for unit tests of the key logic (the integration tests use PostgreSQL). */
export class InMemoryKeyStore implements KeyStore {
  readonly kekRows = new Map<number, KekRegistryRow>();
  readonly dataKeyRows = new Map<string, DataKeyRow & { state: 'active' | 'retired' }>();

  async registerKek(version: number, checkValue: Buffer): Promise<void> {
    if (!this.kekRows.has(version)) this.kekRows.set(version, { version, checkValue, state: 'active' });
  }

  async keks(): Promise<KekRegistryRow[]> {
    return [...this.kekRows.values()].sort((a, b) => a.version - b.version);
  }

  async dataKey(merchantId: string, purpose: DataKeyPurpose, version: number): Promise<DataKeyRow | undefined> {
    return this.dataKeyRows.get(`${merchantId}/${purpose}/${version}`);
  }

  async currentDataKey(merchantId: string, purpose: DataKeyPurpose): Promise<DataKeyRow | undefined> {
    return [...this.dataKeyRows.values()]
      .filter((row) => row.merchantId === merchantId && row.purpose === purpose && row.state === 'active')
      .sort((a, b) => b.version - a.version)[0];
  }

  async insertDataKey(key: DataKeyRow): Promise<boolean> {
    const id = `${key.merchantId}/${key.purpose}/${key.version}`;
    if (this.dataKeyRows.has(id)) return false;
    this.dataKeyRows.set(id, { ...key, state: 'active' });
    return true;
  }
}
