/**
 * A counting semaphore: at most `limit` tasks run at once, the rest wait in
 * arrival order — for at most `maxWaitMs` when the caller gives one, so a
 * burst larger than a database can absorb is told to come back rather than
 * kept waiting past any client's patience.
 *
 * @example
 *   const limit = createLimiter(8);
 *   await limit.run(() => createRole(), { maxWaitMs: 20_000 });
 */
export interface Limiter {
  run<T>(task: () => Promise<T>, options?: { maxWaitMs?: number }): Promise<T>;
  readonly active: number;
  readonly waiting: number;
}

/** Thrown when a task waited `maxWaitMs` without getting a slot; it never ran. */
export class LimiterTimeout extends Error {
  constructor(readonly waitedMs: number) {
    super(`no slot within ${waitedMs} ms`);
    this.name = 'LimiterTimeout';
  }
}

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limiter needs a positive integer limit');
  let active = 0;
  const queue: Array<() => void> = [];
  // A finishing task hands its slot straight to the next waiter, so a newcomer
  // can never slip in between and exceed the limit.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active--;
  };
  const waitForSlot = (maxWaitMs: number | undefined) =>
    new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const take = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      queue.push(take);
      if (maxWaitMs !== undefined) {
        timer = setTimeout(() => {
          const at = queue.indexOf(take);
          if (at >= 0) queue.splice(at, 1);
          reject(new LimiterTimeout(maxWaitMs));
        }, maxWaitMs);
      }
    });
  return {
    async run<T>(task: () => Promise<T>, options: { maxWaitMs?: number } = {}): Promise<T> {
      if (active >= limit) await waitForSlot(options.maxWaitMs);
      else active++;
      try {
        return await task();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
