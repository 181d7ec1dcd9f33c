/**
 * How long sweeping N expired roles takes. Opt-in (it plants up to 10,000
 * roles): PGMINT_SWEEP_SCALE=1000,10000 npx vitest run test/lifecycle/sweep-scale.test.ts
 * Prints the numbers; asserts only that every role is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { countRoles, plantExpired } from './helpers.js';

const sizes = (process.env.PGMINT_SWEEP_SCALE ?? '').split(',').filter(Boolean).map(Number);
const server = (process.env.PGMINT_SWEEP_SERVER ?? 'pg18') as 'pg18' | 'pg15';

describe.skipIf(sizes.length === 0)(`sweep scale on ${server}`, () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server, env: { PGMINT_SWEEP_GRACE: '0' } });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  for (const n of sizes) {
    it(`sweeps ${n} expired leases`, { timeout: 1_800_000 }, async () => {
      const tag = `scale${n}`;
      const t0 = Date.now();
      await plantExpired(b, n, { tag });
      const planted = Date.now() - t0;
      const result = await sweep(b.deps, { maxMs: 1_700_000 });
      console.log(JSON.stringify({ server, n, plant_ms: planted, sweep_ms: result.duration_ms, per_role_ms: +(result.duration_ms / n).toFixed(2), revoked: result.revoked }));
      expect(result.revoked).toBe(n);
      expect(await countRoles(b, `pgm_${tag}_`)).toBe(0);
    });
  }
});
