import { describe, expect, it } from 'vitest';
import { capKey, createCapMemo } from '../../lib/leases/cap-memo.js';

describe('the memory of workloads refused for their cap', () => {
  it('remembers a workload for its time, then forgets it', () => {
    let now = 0;
    const memo = createCapMemo({ forMs: 60_000, now: () => now });
    const key = capKey('orders', 'https://issuer', 'pod:a');
    expect(memo.refusedRecently(key)).toBe(false);
    memo.remember(key);
    now = 59_999;
    expect(memo.refusedRecently(key)).toBe(true);
    expect(memo.refusedRecently(capKey('orders', 'https://other-issuer', 'pod:a'))).toBe(false);
    now = 60_000;
    expect(memo.refusedRecently(key)).toBe(false);
  });

  it('stays bounded: past 10,000 workloads the oldest are forgotten first', () => {
    let now = 0;
    const memo = createCapMemo({ now: () => now });
    for (let i = 0; i <= 10_000; i++) {
      now = i;
      memo.remember(`pod:${i}`);
    }
    expect(memo.refusedRecently('pod:0')).toBe(false);
    expect(memo.refusedRecently('pod:1')).toBe(true);
    expect(memo.refusedRecently('pod:10000')).toBe(true);
  });
});
