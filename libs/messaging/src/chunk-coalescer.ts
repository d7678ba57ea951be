/**
 * Merges the chunks that partitions hand over in the same turn of the event loop into one
 * handler call. kafkajs batches per partition, and payment events spread over every partition,
 * so under load each partition holds a few messages: merged, they share one database
 * transaction instead of one each. Order within a partition is kept (each partition has at
 * most one chunk in flight); across partitions there is no order to keep.
 */
export class ChunkCoalescer<Item> {
  private pending: { items: readonly Item[]; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private pendingItems = 0;
  private scheduled = false;

  constructor(
    private readonly handle: (items: readonly Item[]) => Promise<void>,
    /** Largest merged call; a chunk that would overflow it starts the next one. */
    private readonly itemsMax: number,
  ) {}

  /** Resolves when the merged call holding `items` succeeded; rejects with its error otherwise. */
  submit(items: readonly Item[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pendingItems + items.length > this.itemsMax) this.flush();
      this.pending.push({ items, resolve, reject });
      this.pendingItems += items.length;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const group = this.pending;
    this.pending = [];
    this.pendingItems = 0;
    this.scheduled = false;
    if (group.length === 0) return;
    this.handle(group.length === 1 ? group[0]!.items : group.flatMap((entry) => entry.items)).then(
      () => group.forEach((entry) => entry.resolve()),
      (error: unknown) => group.forEach((entry) => entry.reject(error)),
    );
  }
}
