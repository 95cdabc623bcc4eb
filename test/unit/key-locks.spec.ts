import { KeyLocks } from '@kernel/redis';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyLocks', () => {
  it('lets one holder per key at a time, in arrival order', async () => {
    const locks = new KeyLocks();
    const order: string[] = [];
    let inside = 0;
    let maxInside = 0;
    await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => {
      const release = await locks.acquire(['hot']);
      inside++;
      maxInside = Math.max(maxInside, inside);
      order.push(name);
      await tick();
      inside--;
      release();
    }));
    expect(maxInside).toBe(1);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(locks.size).toBe(0); // nothing left behind
  });

  it('runs operations on disjoint keys side by side', async () => {
    const locks = new KeyLocks();
    const releaseA = await locks.acquire(['a']);
    const b = locks.acquire(['b']);
    await expect(Promise.race([b.then(() => 'b acquired'), tick().then(() => 'blocked')])).resolves.toBe('b acquired');
    releaseA();
    (await b)();
  });

  it('never deadlocks on overlapping key sets taken in opposite orders', async () => {
    const locks = new KeyLocks();
    const done: number[] = [];
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const release = await locks.acquire(i % 2 ? ['x', 'y'] : ['y', 'x', 'x']);
      await tick();
      done.push(i);
      release();
    }));
    expect(done).toHaveLength(50);
    expect(locks.size).toBe(0);
  });

  it('blocks a waiter until the holder of any of its keys releases', async () => {
    const locks = new KeyLocks();
    const release = await locks.acquire(['a', 'b']);
    let acquired = false;
    const waiter = locks.acquire(['b', 'c']).then((r) => ((acquired = true), r));
    await tick();
    expect(acquired).toBe(false);
    release();
    (await waiter)();
    expect(acquired).toBe(true);
  });
});
