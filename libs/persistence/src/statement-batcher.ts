export interface StatementBatcherOptions {
  /** Most items in one statement. */
  batchSizeMax: number;
  /** Statements running at once (each holds a pooled connection). */
  inFlightMax: number;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit in the application: single-row writes that arrive while earlier ones are being
 * written wait, and go together in one multi-row statement (one round trip, one commit, one WAL
 * flush) as soon as a statement slot frees up. Nothing waits for a timer: an idle service writes
 * each item at once; a busy one writes bigger batches. Each caller learns its own item's result,
 * and only after the statement holding it committed. A failing statement fails every item in it.
 */
export class StatementBatcher<Item, Result> {
  private readonly queue: Waiting<Item, Result>[] = [];
  private inFlight = 0;

  constructor(
    /** Writes the items in one statement; answers one result per item, in order. */
    private readonly write: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly options: StatementBatcherOptions,
  ) {
    if (!(options.batchSizeMax >= 1 && options.inFlightMax >= 1)) throw new Error('invariant: a statement batcher needs batchSizeMax and inFlightMax of at least 1');
  }

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.startNext();
    });
  }

  private startNext(): void {
    if (this.inFlight >= this.options.inFlightMax || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.batchSizeMax);
    this.inFlight++;
    this.write(batch.map((waiting) => waiting.item))
      .then(
        (results) => {
          if (results.length !== batch.length) throw new Error(`invariant: a batched write of ${batch.length} items answered ${results.length} results`);
          batch.forEach((waiting, index) => waiting.resolve(results[index]!));
        },
      )
      .catch((error: unknown) => batch.forEach((waiting) => waiting.reject(error)))
      .finally(() => {
        this.inFlight--;
        this.startNext();
      });
  }
}
