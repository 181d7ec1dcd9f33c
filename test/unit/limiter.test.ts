import { describe, expect, it } from 'vitest';
import { createLimiter, LimiterTimeout } from '../../lib/targets/limiter.js';

describe('createLimiter', () => {
  it('never runs more than its limit at once, and runs every task', async () => {
    const limiter = createLimiter(3);
    let running = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setImmediate(r));
          running--;
          return i;
        }),
      ),
    );
    expect(done).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(limiter.active).toBe(0);
  });

  it('gives up on a waiter after maxWaitMs without running it, and keeps serving others', async () => {
    const limiter = createLimiter(1);
    let release!: () => void;
    const blocker = limiter.run(() => new Promise<void>((r) => (release = r)));
    let ran = false;
    const waiter = limiter.run(
      async () => {
        ran = true;
      },
      { maxWaitMs: 20 },
    );
    await expect(waiter).rejects.toBeInstanceOf(LimiterTimeout);
    expect(ran).toBe(false);
    expect(limiter.waiting).toBe(0);
    release();
    await blocker;
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
    expect(limiter.active).toBe(0);
  });

  it('keeps a waiter queued past maxWaitMs while slots keep being freed, and runs it', async () => {
    const limiter = createLimiter(1);
    let ran = 0;
    // Ten tasks of 15 ms each: the last waits ~135 ms, far past maxWaitMs, but the queue never stalls for 40 ms.
    const tasks = Array.from({ length: 10 }, () =>
      limiter.run(
        async () => {
          await new Promise((r) => setTimeout(r, 15));
          ran++;
        },
        { maxWaitMs: 40 },
      ),
    );
    const started = Date.now();
    await Promise.all(tasks);
    expect(ran).toBe(10);
    expect(Date.now() - started).toBeGreaterThan(100);
  });
  it('tells when it is idle: at once when nothing runs, else once the last queued task has finished', async () => {
    const limiter = createLimiter(1);
    let idle = false;
    await limiter.idle();
    const releases: Array<() => void> = [];
    const tasks = [0, 1].map(() => limiter.run(() => new Promise<void>((r) => releases.push(r))));
    void limiter.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 10));
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 10));
    // The first finished, the second took its slot: still busy.
    expect(idle).toBe(false);
    expect(limiter.active).toBe(1);
    releases.shift()!();
    await Promise.all(tasks);
    await new Promise((r) => setTimeout(r, 0));
    expect(idle).toBe(true);
  });
});
