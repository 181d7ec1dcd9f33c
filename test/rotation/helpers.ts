/**
 * Shared pieces of the rotation tests: the stored root passwords, the
 * rotation audit trail, and a broker process started afresh on the same
 * control plane (what runs after a crash).
 */
import type { Deps } from '../../lib/deps.js';
import { closeDeps } from '../../lib/deps.js';
import { createApp } from '../../lib/http/app.js';
import { unsealRoot } from '../../lib/targets/root-secret.js';
import { nodeDeps } from '../../functions/runtime/node.js';
import { ADMIN_TOKEN, type TestBroker } from '../support/broker.js';

export async function rootPassword(deps: Deps, id = 'main', version: 'current' | 'pending' | 'previous' = 'current'): Promise<string> {
  const db = await deps.store.databases.get(id);
  if (!db) throw new Error(`no database ${id}`);
  return unsealRoot(deps.sealKey, db, version);
}

export async function lastAuditId(b: TestBroker): Promise<number> {
  const { rows } = await b.deps.sql.query<{ id: string | null }>('SELECT max(id) AS id FROM pgmint.audit_log');
  return Number(rows[0]?.id ?? 0);
}

export interface StepRow {
  step: string;
  outcome: string;
  code: string | null;
  trigger: string;
  rotation_id: string | null;
  recovered: boolean | null;
}

export async function rotationSteps(b: TestBroker, sinceId: number): Promise<StepRow[]> {
  const { rows } = await b.deps.sql.query<StepRow>(
    `SELECT detail->>'step' AS step, outcome, code, detail->>'trigger' AS trigger, detail->>'rotation_id' AS rotation_id,
       (detail->>'recovered')::boolean AS recovered
     FROM pgmint.audit_log WHERE action = 'root.rotate' AND id > $1 ORDER BY id`,
    [sinceId],
  );
  return rows;
}

/** A new broker process on the same control plane and key: nothing survives but what was committed. */
export async function restartBroker(b: TestBroker) {
  const deps = await nodeDeps(b.env);
  const app = createApp(deps);
  return {
    deps,
    app,
    admin: (method: string, path: string) => app.request(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    exchange: async (namespace = 'prod', serviceAccount = 'api') => {
      const token = await b.issuer.mint({
        namespace,
        serviceAccount,
        podName: `${serviceAccount}-${crypto.randomUUID().slice(0, 6)}`,
        podUid: crypto.randomUUID(),
      });
      return app.request('/api/v1/databases/main/credentials/k8s', { headers: { authorization: `Bearer ${token}` } });
    },
    close: () => closeDeps(deps),
  };
}

export async function exchangeOverHttp(b: TestBroker, namespace = 'prod', serviceAccount = 'api'): Promise<Response> {
  const token = await b.issuer.mint({
    namespace,
    serviceAccount,
    podName: `${serviceAccount}-${crypto.randomUUID().slice(0, 6)}`,
    podUid: crypto.randomUUID(),
  });
  return fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
}
