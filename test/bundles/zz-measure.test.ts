import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, it } from 'vitest';
import { invokeBundle } from '../../cli/commands/invoke.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { type Built, buildOnce, functionEnv, httpEvent, newSecretKey, sampleEvent } from './support.js';

let built: Built; let b: TestBroker; const key = newSecretKey();
beforeAll(async () => { built = await buildOnce(); b = await startTestBroker({ env: { PGMINT_SECRET_KEY: key } }); await b.setupDefault(); });
afterAll(async () => { await b.close(); await built.remove(); });
const st = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return `min ${s[0]!.toFixed(0)} median ${s[Math.floor(s.length / 2)]!.toFixed(0)}`; };
it('measure', async () => {
  const env = functionEnv(b, key);
  const bare: number[] = [];
  const rows: Record<string, { init: number[]; first: number[] }> = {};
  const add = (k: string, o: { initMs: number; firstResultMs: number }) => { (rows[k] ??= { init: [], first: [] }); rows[k].init.push(o.initMs); rows[k].first.push(o.firstResultMs); };
  for (let i = 0; i < 10; i++) {
    bare.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', 'process.stdout.write(String(performance.now()))']).toString()));
    add('api healthz', await invokeBundle({ bundle: built.bundle('api').file, functionName: 'api', event: sampleEvent('api-healthz.json'), env }));
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: `m-${i}`, podUid: crypto.randomUUID() });
    add('api exchange', await invokeBundle({ bundle: built.bundle('api').file, functionName: 'api', event: httpEvent('/api/v1/databases/main/credentials/k8s', { token }), env }));
    add('sweep', await invokeBundle({ bundle: built.bundle('sweep').file, functionName: 'sweep', event: sampleEvent('sweep.json'), env }));
    add('rotate-root', await invokeBundle({ bundle: built.bundle('rotate-root').file, functionName: 'rotate-root', event: sampleEvent('rotate-root.json'), env }));
  }
  console.log(`bare node -e start: ${st(bare)}`);
  for (const [k, v] of Object.entries(rows)) console.log(`${k}: module loaded ${st(v.init)} | first result ${st(v.first)}`);
}, 300_000);
