import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildProgram } from '../../cli/program.js';

interface Container {
  name: string;
  restartPolicy?: string;
  args: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
  startupProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  resources: { requests: Record<string, string> };
  env?: Array<{ name: string; value: string }>;
}

// The Deployment in infra/kubernetes/ must run the proxy as the command
// defines it: every flag it passes exists, probes hit the admin endpoints,
// and the token file is the projected token with pgmint's audience.
describe('infra/kubernetes/proxy-sidecar.yaml', () => {
  const docs = parseAllDocuments(readFileSync('infra/kubernetes/proxy-sidecar.yaml', 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const pod = deployment.spec.template.spec;
  const proxy = (pod.initContainers as Container[]).find((c) => c.name === 'pgmint-proxy')!;

  it('runs the proxy as a native sidecar with flags the command knows', () => {
    expect(proxy.restartPolicy).toBe('Always');
    expect(proxy.args.slice(0, 2)).toEqual(['proxy', 'orders']);
    const command = buildProgram().commands.find((c) => c.name() === 'proxy')!;
    const known = new Set(command.options.map((o) => o.long));
    for (const arg of proxy.args.slice(2)) expect(known, arg).toContain(arg.split('=')[0]);
    expect(proxy.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('probes the admin endpoints and reads the projected token with the pgmint audience', () => {
    expect([proxy.startupProbe.httpGet.path, proxy.livenessProbe.httpGet.path, proxy.readinessProbe.httpGet.path]).toEqual([
      '/startup',
      '/liveness',
      '/readiness',
    ]);
    const tokenFile = proxy.args.find((a) => a.startsWith('--token-file='))!.split('=')[1]!;
    const mount = proxy.volumeMounts.find((m) => tokenFile.startsWith(`${m.mountPath}/`))!;
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const source = volume.projected.sources[0].serviceAccountToken;
    expect(source).toMatchObject({ audience: 'pgmint', path: tokenFile.slice(mount.mountPath.length + 1) });
    // Longer than the drain, so revocation happens before the kubelet kills the pod.
    const delay = Number(/^--max-sigterm-delay=(\d+)s$/.exec(proxy.args.find((a) => a.startsWith('--max-sigterm-delay='))!)![1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(delay);
  });

  it('gives the application a URL with no password, on the address the proxy listens on', () => {
    const app = (pod.containers as Container[])[0]!;
    const url = new URL(app.env!.find((e) => e.name === 'DATABASE_URL')!.value);
    expect(url.password).toBe('');
    expect(`${url.hostname}:${url.port}`).toBe(proxy.args.find((a) => a.startsWith('--listen='))!.split('=')[1]);
  });
});
