/**
 * A counting semaphore: at most `limit` tasks run at once, the rest wait in
 * arrival order. A waiter given `maxWaitMs` gives up only when the queue has
 * stopped moving — no task finished for `maxWaitMs` — so a burst larger than
 * a database can absorb at once is served late (its wait shows in the
 * response time) and only a database that stopped answering turns waiting
 * into errors.
 *
 * @example
 *   const limit = createLimiter(8);
 *   await limit.run(() => createRole(), { maxWaitMs: 20_000 });
 */
export interface Limiter {
  run<T>(task: () => Promise<T>, options?: { maxWaitMs?: number }): Promise<T>;
  readonly active: number;
  readonly waiting: number;
  /** Resolves once no task runs and none waits (at once if so now). */
  idle(): Promise<void>;
}

/** Thrown when a task waited while no slot was freed for `stalledMs`; it never ran. */
export class LimiterTimeout extends Error {
  constructor(
    readonly waitedMs: number,
    readonly stalledMs: number,
  ) {
    super(`no slot freed for ${stalledMs} ms`);
    this.name = 'LimiterTimeout';
  }
}

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limiter needs a positive integer limit');
  let active = 0;
  let lastRelease = Date.now();
  const queue: Array<() => void> = [];
  const idlers: Array<() => void> = [];
  // A finishing task hands its slot straight to the next waiter, so a newcomer
  // can never slip in between and exceed the limit.
  const release = () => {
    lastRelease = Date.now();
    const next = queue.shift();
    if (next) next();
    else if (--active === 0) for (const wake of idlers.splice(0)) wake();
  };
  const waitForSlot = (maxWaitMs: number | undefined) =>
    new Promise<void>((resolve, reject) => {
      const since = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const take = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      queue.push(take);
      if (maxWaitMs === undefined) return;
      const check = () => {
        const stalled = Date.now() - Math.max(since, lastRelease);
        if (stalled < maxWaitMs) {
          timer = setTimeout(check, maxWaitMs - stalled);
          return;
        }
        const at = queue.indexOf(take);
        if (at >= 0) queue.splice(at, 1);
        reject(new LimiterTimeout(Date.now() - since, stalled));
      };
      timer = setTimeout(check, maxWaitMs);
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
    idle() {
      return active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idlers.push(resolve));
    },
  };
}
