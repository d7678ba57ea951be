/**
 * A Map holding at most `entriesMax` entries: inserting one more evicts the oldest insertion.
 * The simulator runs for days in staging drills; without a bound its memory would grow with traffic.
 */
export class BoundedMap<Key, Value> {
  private readonly entries = new Map<Key, Value>();

  constructor(readonly entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 1) throw new Error(`invariant: entriesMax must be a positive integer, got ${entriesMax}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: Key): Value | undefined {
    return this.entries.get(key);
  }

  /** Inserts or replaces. A replaced key keeps its age: eviction follows first insertion. */
  set(key: Key, value: Value): void {
    if (!this.entries.has(key) && this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  delete(key: Key): void {
    this.entries.delete(key);
  }

  /** The entries, oldest insertion first. */
  entriesInOrder(): IterableIterator<[Key, Value]> {
    return this.entries.entries();
  }

  clear(): void {
    this.entries.clear();
  }
}
