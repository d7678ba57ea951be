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

  /**
   * The code, if still held. Reading does not erase it: a redelivered authorization must send
   * the PSP the same request again (same idempotency key, same body). `erase` runs once the
   * attempt's outcome is recorded; the expiry covers a gateway that never says so.
   */
  peek(token: string): string | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.cvc;
  }

  erase(token: string): boolean {
    return this.entries.delete(token);
  }

  /**
   * A code given for one payment with a saved card, kept apart from the code given at saving and
   * from other payments with the same token, so two concurrent payments never use each other's.
   */
  putForPayment(token: string, paymentId: string, cvc: string): boolean {
    return this.put(paymentKey(token, paymentId), cvc);
  }

  peekForPayment(token: string, paymentId: string): string | undefined {
    return this.peek(paymentKey(token, paymentId));
  }

  eraseForPayment(token: string, paymentId: string): boolean {
    return this.erase(paymentKey(token, paymentId));
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(token);
  }
}

/** NUL never occurs in a token (`tok_` + base64url), so no payment key can equal a token or another payment's key. */
function paymentKey(token: string, paymentId: string): string {
  return `${token}\u0000${paymentId}`;
}
