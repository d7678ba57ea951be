import { describe, expect, it } from 'vitest';
import { ChunkCoalescer } from './chunk-coalescer';

describe('ChunkCoalescer', () => {
  it('merges chunks submitted in the same turn into one call, in submission order', async () => {
    const calls: number[][] = [];
    const coalescer = new ChunkCoalescer<number>(async (items) => void calls.push([...items]), 100);
    await Promise.all([coalescer.submit([1, 2]), coalescer.submit([3]), coalescer.submit([4, 5])]);
    expect(calls).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('starts a new call when the next chunk would pass the maximum', async () => {
    const calls: number[][] = [];
    const coalescer = new ChunkCoalescer<number>(async (items) => void calls.push([...items]), 3);
    await Promise.all([coalescer.submit([1, 2]), coalescer.submit([3, 4]), coalescer.submit([5])]);
    expect(calls).toEqual([[1, 2], [3, 4, 5]]);
  });

  it('rejects every merged submitter when the call fails', async () => {
    const coalescer = new ChunkCoalescer<number>(async () => {
      throw new Error('database down');
    }, 10);
    const results = await Promise.allSettled([coalescer.submit([1]), coalescer.submit([2])]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });

  it('keeps later turns apart', async () => {
    const calls: number[][] = [];
    const coalescer = new ChunkCoalescer<number>(async (items) => void calls.push([...items]), 10);
    await coalescer.submit([1]);
    await coalescer.submit([2]);
    expect(calls).toEqual([[1], [2]]);
  });
});
