/**
 * Card security codes, in memory only (PCI DSS 3.3.1: never written to disk, not even
 * encrypted), until the authorization that needs them takes them, or they expire.
 * A restart loses them on purpose: the payment then fails with `cvc_expired`.
 */
export class CvcStore {
  private readonly entries = new Map<string, { cvc: string; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttlMs: number,
    private readonly entriesMax: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 60_000));
    this.sweeper.unref();
  }

  /** False when full: the caller refuses the tokenization rather than evicting a live code. */
  put(token: string, cvc: string): boolean {
    if (this.entries.size >= this.entriesMax) this.sweep();
    if (this.entries.size >= this.entriesMax) return false;
    this.entries.set(token, { cvc, expiresAt: this.now() + this.ttlMs });
    return true;
  }

  /** Returns the code once and erases it. */
  take(token: string): string | undefined {
    const entry = this.entries.get(token);
    this.entries.delete(token);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    return entry.cvc;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(token);
  }
}
