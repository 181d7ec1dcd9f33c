/**
 * `pgmint issuer add|list|rm`: token issuers a database trusts, and whom
 * they let in (service accounts for k8s, subjects and bound claims for oidc).
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { adminCall } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { CliError } from '../lib/errors.js';
import { type AdminOptions, adminOptions, collect, jsonOption } from '../lib/options.js';
import { fields, printJson, table } from '../lib/table.js';

interface Issuer {
  id: string;
  database: string;
  kind: string;
  issuer: string;
  audiences: string[];
  allowed_service_accounts: string[];
  allowed_subjects: string[];
  bound_claims: Record<string, string | string[]>;
  default_role: string;
  allowed_roles: string[];
  pinned_keys: boolean;
  max_leases_per_workload: number;
  created_at: string;
}

interface AddOptions extends AdminOptions {
  issuer: string;
  kind: 'k8s' | 'oidc';
  audience?: string[];
  allowSa?: string[];
  allowSubject?: string[];
  boundClaim?: string[];
  defaultRole: string;
  allowedRole?: string[];
  jwksFile?: string;
  pemFile?: string[];
  maxLeases?: number;
}

/** `groups=dba` twice with `groups=ops` becomes `{ groups: ['dba', 'ops'] }`. */
export function boundClaims(pairs: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError('invalid_request', `--bound-claim must look like claim=value, not "${pair}"`);
    const [claim, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const prev = out[claim];
    out[claim] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CliError('invalid_request', `cannot read JSON from ${path} (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'})`);
  }
}

function showIssuer(i: Issuer): string {
  return fields([
    ['id', i.id],
    ['database', i.database],
    ['kind', i.kind],
    ['issuer', i.issuer],
    ['audiences', i.audiences],
    ['service accounts', i.allowed_service_accounts],
    ['subjects', i.allowed_subjects],
    ['bound claims', Object.keys(i.bound_claims).length ? i.bound_claims : null],
    ['default role', i.default_role],
    ['allowed roles', i.allowed_roles],
    ['pinned keys', i.pinned_keys ? 'yes' : 'no'],
    ['max leases', i.max_leases_per_workload],
  ]);
}

export function registerIssuer(program: Command): void {
  const issuer = program.command('issuer').description('Trusted token issuers (admin)');

  adminOptions(
    issuer
      .command('add <db>')
      .description('Trust a token issuer for <db>')
      .requiredOption('--issuer <url>', 'the iss claim (a URL, or any string with pinned keys)')
      .addOption(new Option('--kind <kind>', 'k8s service-account tokens, or other oidc tokens').choices(['k8s', 'oidc']).default('k8s'))
      .option('--audience <aud>', 'accepted audience (repeatable; default the broker audience)', collect)
      .option('--allow-sa <ns/name>', 'allowed service account, ns/name or ns/* (k8s; repeatable)', collect)
      .option('--allow-subject <sub>', 'allowed subject, exact or ending in * (oidc; repeatable)', collect)
      .option('--bound-claim <claim=value>', 'a claim that must hold this value (oidc; repeatable)', collect)
      .requiredOption('--default-role <role>', 'role minted when none is asked for')
      .option('--allowed-role <role>', 'another role this issuer may ask for with --role (repeatable)', collect)
      .option('--jwks-file <file>', 'pin the issuer keys from a JWKS file (private clusters)')
      .option('--pem-file <file>', 'pin a PEM public key (repeatable)', collect)
      .option('--max-leases <n>', 'live leases per workload', (v) => Number.parseInt(v, 10)),
  ).action(async (db: string, o: AddOptions) => {
    const allowed = o.allowedRole ? [...new Set([o.defaultRole, ...o.allowedRole])] : undefined;
    const body = {
      kind: o.kind,
      issuer: o.issuer,
      audiences: o.audience,
      allowed_service_accounts: o.allowSa,
      allowed_subjects: o.allowSubject,
      bound_claims: o.boundClaim ? boundClaims(o.boundClaim) : undefined,
      default_role: o.defaultRole,
      allowed_roles: allowed,
      jwks: o.jwksFile ? await readJson(o.jwksFile) : undefined,
      pem_keys: o.pemFile ? await Promise.all(o.pemFile.map((f) => readFile(f, 'utf8'))) : undefined,
      max_leases_per_workload: o.maxLeases,
    };
    const created = await adminCall<Issuer>(o, 'POST', `/api/v1/databases/${seg(db)}/issuers`, { body, label: 'trusting issuer' });
    process.stdout.write(showIssuer(created));
  });

  jsonOption(adminOptions(issuer.command('list <db>').description('List the issuers <db> trusts'))).action(
    async (db: string, o: AdminOptions & { json?: boolean }) => {
      const { issuers } = await adminCall<{ issuers: Issuer[] }>(o, 'GET', `/api/v1/databases/${seg(db)}/issuers`);
      if (o.json) return printJson(issuers);
      process.stdout.write(
        table(issuers, [
          { title: 'ID', value: (i) => i.id },
          { title: 'KIND', value: (i) => i.kind },
          { title: 'ISSUER', value: (i) => i.issuer, max: 48 },
          { title: 'WHO', value: (i) => (i.kind === 'k8s' ? i.allowed_service_accounts : [...i.allowed_subjects, ...Object.entries(i.bound_claims).map(([k, v]) => `${k}=${v}`)]), max: 40 },
          { title: 'DEFAULT', value: (i) => i.default_role },
          { title: 'ROLES', value: (i) => i.allowed_roles },
        ]),
      );
    },
  );

  adminOptions(issuer.command('rm <db> <id>').description('Stop trusting an issuer')).action(async (db: string, id: string, o: AdminOptions) => {
    await adminCall(o, 'DELETE', `/api/v1/databases/${seg(db)}/issuers/${seg(id)}`);
    process.stdout.write(`removed issuer ${id}\n`);
  });
}
