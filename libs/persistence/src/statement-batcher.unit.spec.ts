import { describe, expect, it } from 'vitest';
import { StatementBatcher } from './statement-batcher';

/** A write whose statements the test finishes by hand, recording the batches it was given. */
function controlledWrite() {
  const batches: number[][] = [];
  const finishers: ((error?: Error) => void)[] = [];
  const write = (items: readonly number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push([...items]);
      finishers.push((error) => (error ? reject(error) : resolve(items.map((item) => item * 10))));
    });
  return { batches, finishers, write };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StatementBatcher', () => {
  it('writes an item at once when nothing is in flight', async () => {
    const { batches, finishers, write } = controlledWrite();
    const batcher = new StatementBatcher(write, { batchSizeMax: 10, inFlightMax: 1 });
    const result = batcher.submit(1);
    expect(batches).toEqual([[1]]);
    finishers[0]!();
    expect(await result).toBe(10);
  });

  it('gathers the items that arrive while a statement runs into the next one, and answers each its own result', async () => {
    const { batches, finishers, write } = controlledWrite();
    const batcher = new StatementBatcher(write, { batchSizeMax: 10, inFlightMax: 1 });
    const first = batcher.submit(1);
    const later = [2, 3, 4].map((item) => batcher.submit(item));
    expect(batches).toEqual([[1]]);
    finishers[0]!();
    await first;
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finishers[1]!();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
  });

  it('never puts more than batchSizeMax items in a statement, nor runs more than inFlightMax at once', async () => {
    const { batches, finishers, write } = controlledWrite();
    const batcher = new StatementBatcher(write, { batchSizeMax: 2, inFlightMax: 2 });
    const results = [1, 2, 3, 4, 5, 6, 7].map((item) => batcher.submit(item));
    expect(batches).toEqual([[1], [2]]);
    finishers[0]!();
    await turn();
    expect(batches).toEqual([[1], [2], [3, 4]]);
    finishers[1]!();
    await turn();
    expect(batches).toEqual([[1], [2], [3, 4], [5, 6]]);
    finishers[2]!();
    finishers[3]!();
    await turn();
    finishers[4]!();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(batches.at(-1)).toEqual([7]);
  });

  it('fails every item of a failing statement, and goes on with the next ones', async () => {
    const { finishers, write } = controlledWrite();
    const batcher = new StatementBatcher(write, { batchSizeMax: 10, inFlightMax: 1 });
    const first = batcher.submit(1);
    const [second, third] = [batcher.submit(2), batcher.submit(3)];
    finishers[0]!();
    await first;
    await turn();
    finishers[1]!(new Error('connection lost'));
    await expect(second).rejects.toThrow('connection lost');
    await expect(third).rejects.toThrow('connection lost');
    const fourth = batcher.submit(4);
    finishers[2]!();
    expect(await fourth).toBe(40);
  });
});
