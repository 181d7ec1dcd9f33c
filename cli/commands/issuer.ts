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
  max_token_lifetime: number;
  require_bound_pod: boolean;
  ca_pem: boolean;
  created_at: string;
}

interface FetchFailure {
  stage: string;
  url: string;
  status?: number;
  tls_code?: string;
  error_code?: string;
  reason: string;
}

type DiscoveryCheck = { ok: true; keys: number } | { ok: false; failure: FetchFailure; hint: string } | null;

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
  caFile?: string;
  maxLeases?: number;
  maxTokenLifetime?: string;
  requireBoundPod?: boolean;
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

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('invalid_request', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
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
    ['max token lifetime', i.max_token_lifetime === 0 ? 'no limit' : `${i.max_token_lifetime}s`],
    ['require bound pod', i.require_bound_pod ? 'yes' : 'no'],
    ['own CA', i.ca_pem ? 'yes' : 'no'],
  ]);
}

/** What trying the issuer at registration found, and for a failure what to do about it. */
export function showDiscovery(d: DiscoveryCheck): string {
  if (!d) return 'discovery: not needed (pinned keys)\n';
  if (d.ok) return `discovery: ok (${d.keys} key${d.keys === 1 ? '' : 's'} fetched)\n`;
  const f = d.failure;
  const what = [f.status !== undefined ? `HTTP ${f.status}` : null, f.tls_code ?? null, f.error_code ?? null]
    .filter((w): w is string => w !== null && !f.reason.includes(w))
    .join(', ');
  return (
    `discovery failed: ${f.reason}${what ? ` (${what})` : ''}\n` +
    `  url: ${f.url}\n` +
    `  fix: ${d.hint}\n` +
    '  The issuer is registered; exchanges answer 503 issuer_unavailable until its keys can be fetched.\n'
  );
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
      .option('--ca-file <file>', "PEM CA that signed the issuer's certificate (discovery and key fetches)")
      .option('--max-leases <n>', 'live leases per workload', (v) => Number.parseInt(v, 10))
      .option('--max-token-lifetime <duration>', 'longest token accepted, exp - iat (default 48h; 0 = no limit)')
      .option('--require-bound-pod', 'refuse k8s tokens not bound to a pod'),
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
      max_token_lifetime:
        o.maxTokenLifetime === undefined ? undefined : /^\d+$/.test(o.maxTokenLifetime) ? Number(o.maxTokenLifetime) : o.maxTokenLifetime,
      require_bound_pod: o.requireBoundPod,
      ca_pem: o.caFile ? await readText(o.caFile) : undefined,
    };
    const created = await adminCall<Issuer & { discovery: DiscoveryCheck }>(o, 'POST', `/api/v1/databases/${seg(db)}/issuers`, {
      body,
      label: 'trusting issuer',
    });
    process.stdout.write(showIssuer(created));
    const discovery = showDiscovery(created.discovery);
    if (created.discovery && !created.discovery.ok) process.stderr.write(discovery);
    else process.stdout.write(discovery);
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
          {
            title: 'WHO',
            value: (i) =>
              i.kind === 'k8s'
                ? i.allowed_service_accounts
                : [...i.allowed_subjects, ...Object.entries(i.bound_claims).map(([k, v]) => `${k}=${v}`)],
            max: 40,
          },
          { title: 'DEFAULT', value: (i) => i.default_role },
          { title: 'ROLES', value: (i) => i.allowed_roles },
        ]),
      );
    },
  );

  adminOptions(issuer.command('rm <db> <id>').description('Stop trusting an issuer')).action(
    async (db: string, id: string, o: AdminOptions) => {
      await adminCall(o, 'DELETE', `/api/v1/databases/${seg(db)}/issuers/${seg(id)}`);
      process.stdout.write(`removed issuer ${id}\n`);
    },
  );
}
