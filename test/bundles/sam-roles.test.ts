import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The SAM template as CloudFormation receives it, expanded by the SAM
// translator (aws-sam-translator from PyPI, which .ci/run installs into
// .ci/.venv): the functions may manage network interfaces only when SubnetIds
// puts them in a VPC.

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

async function findTranslator(): Promise<string | null> {
  for (const python of [join(ROOT, '.ci/.venv/bin/python'), 'python3']) {
    if (python.includes('/') && !existsSync(python)) continue;
    try {
      await run(python, ['-c', 'import samtranslator']);
      return python;
    } catch {
      // Not this one.
    }
  }
  return null;
}
const python = await findTranslator();

type Json = unknown;

/** What CloudFormation deploys for the given condition values: Fn::If chosen, AWS::NoValue dropped. */
function resolve(value: Json, conditions: Record<string, boolean>): Json {
  if (Array.isArray(value)) return value.map((v) => resolve(v, conditions)).filter((v) => v !== NO_VALUE);
  if (value && typeof value === 'object') {
    const o = value as Record<string, Json>;
    if ('Fn::If' in o) {
      const [name, yes, no] = o['Fn::If'] as [string, Json, Json];
      if (!(name in conditions)) throw new Error(`condition ${name} not given`);
      return resolve(conditions[name] ? yes : no, conditions);
    }
    if (o.Ref === 'AWS::NoValue') return NO_VALUE;
    return Object.fromEntries(
      Object.entries(o)
        .map(([k, v]) => [k, resolve(v, conditions)])
        .filter(([, v]) => v !== NO_VALUE),
    );
  }
  return value;
}
const NO_VALUE = Symbol('AWS::NoValue');

interface Resource {
  Type: string;
  Properties: Record<string, Json>;
}

/** Every managed policy ARN and inline action each function's role holds. */
function permissions(resources: Record<string, Resource>) {
  const out: Record<string, { policies: string[]; actions: string[]; vpc: boolean }> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const roleRef = r.Properties.Role as { 'Fn::GetAtt': [string, string] };
    const role = resources[roleRef['Fn::GetAtt'][0]]!;
    const policies = ((role.Properties.ManagedPolicyArns ?? []) as Array<string | { 'Fn::Sub': string }>).map((p) =>
      typeof p === 'string' ? p : p['Fn::Sub'],
    );
    const actions = (
      (role.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }>
    ).flatMap((p) => p.PolicyDocument.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));
    out[id] = { policies, actions, vpc: r.Properties.VpcConfig !== undefined };
  }
  return out;
}

describe('SAM template, expanded', () => {
  it.skipIf(!python)('gives network-interface permissions only to functions in a VPC', async () => {
    const { stdout } = await run(python!, [join(ROOT, 'test/bundles/sam-expand.py'), join(ROOT, 'infra/template.yaml')], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const expanded = JSON.parse(stdout) as { Resources: Record<string, Resource> };
    const outside = permissions(resolve(expanded.Resources, { InVpc: false, HasAdminToken: false }) as Record<string, Resource>);
    const inside = permissions(resolve(expanded.Resources, { InVpc: true, HasAdminToken: false }) as Record<string, Resource>);

    expect(Object.keys(outside).sort()).toEqual(['ApiFunction', 'RotateRootFunction', 'SweepFunction']);
    for (const [id, p] of Object.entries(outside)) {
      expect(p.vpc, id).toBe(false);
      expect(p.policies.join(' '), id).not.toMatch(/VPCAccess/);
      expect(
        p.actions.filter((a) => a.startsWith('ec2:')),
        id,
      ).toEqual([]);
      expect(p.policies.join(' '), id).toMatch(/AWSLambdaBasicExecutionRole$/);
    }
    for (const [id, p] of Object.entries(inside)) {
      expect(p.vpc, id).toBe(true);
      expect(p.policies.join(' '), id).toMatch(/service-role\/AWSLambdaVPCAccessExecutionRole/);
    }
  });

  it.runIf(!python)('is skipped: the SAM translator (pip install aws-sam-translator) is not installed', () => {
    console.warn('SAM translator not found in .ci/.venv or python3; run .ci/run to install it');
  });
});
