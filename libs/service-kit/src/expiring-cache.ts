/**
 * A small read-through cache for configuration read on every event and changed rarely
 * (merchant limits, routes): entries live `ttlMs`, at most `entriesMax` of them (the whole
 * cache is dropped when full: configuration is cheap to reload, memory is bounded).
 */
export class ExpiringCache<Key, Value> {
  private readonly entries = new Map<Key, { value: Value; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly entriesMax: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: Key, load: () => Promise<Value>): Promise<Value> {
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const value = await load();
    if (this.entries.size >= this.entriesMax) this.entries.clear();
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    return value;
  }
}
