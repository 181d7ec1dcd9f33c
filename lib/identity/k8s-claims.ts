/**
 * Who a verified Kubernetes service-account token names: namespace and
 * service account (from the `kubernetes.io` claim, cross-checked with `sub`),
 * plus pod and node for the audit log; and the `ns/name` / `ns/*` patterns
 * an issuer registration allows.
 *
 * @example
 *   const id = k8sIdentity(payload); // { subject: 'system:serviceaccount:prod:api', namespace: 'prod', serviceAccount: 'api', podName: 'api-7d9f…' }
 *   matchServiceAccount(['prod/*'], id.namespace, id.serviceAccount); // true
 */
import type { JWTPayload } from 'jose';
import { PgmintError } from '../errors.js';

export interface K8sIdentity {
  /** `system:serviceaccount:<ns>:<sa>` */
  subject: string;
  namespace: string;
  serviceAccount: string;
  serviceAccountUid?: string;
  podName?: string;
  podUid?: string;
  nodeName?: string;
}

const SUBJECT_PREFIX = 'system:serviceaccount:';
/** RFC 1123 label: what a namespace name is. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain (≤ 253): what a service account name is. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Flat claims of legacy Secret-based tokens (`pkg/serviceaccount/legacy.go`). */
const LEGACY_NAMESPACE = 'kubernetes.io/serviceaccount/namespace';
const LEGACY_SA_NAME = 'kubernetes.io/serviceaccount/service-account.name';
const LEGACY_SA_UID = 'kubernetes.io/serviceaccount/service-account.uid';

export function isNamespaceName(s: string): boolean {
  return DNS_LABEL.test(s);
}

export function isServiceAccountName(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

function reject(message: string): never {
  throw new PgmintError('invalid_token', message);
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') reject(`token claim ${what} is not a string`);
  return value;
}

function ref(value: unknown, what: string): { name?: string; uid?: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) reject(`token claim ${what} is not an object`);
  const r = value as Record<string, unknown>;
  return { name: optionalString(r.name, `${what}.name`), uid: optionalString(r.uid, `${what}.uid`) };
}

/** `system:serviceaccount:<ns>:<sa>` → [ns, sa], or null for any other subject. */
export function parseServiceAccountSubject(sub: string): [string, string] | null {
  if (!sub.startsWith(SUBJECT_PREFIX)) return null;
  const parts = sub.slice(SUBJECT_PREFIX.length).split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return null;
  return [parts[0], parts[1]];
}

export function k8sIdentity(payload: JWTPayload): K8sIdentity {
  const claim = payload['kubernetes.io'];
  if (claim !== undefined && (typeof claim !== 'object' || claim === null || Array.isArray(claim))) {
    reject('token claim kubernetes.io is not an object');
  }
  const k8s = (claim ?? {}) as Record<string, unknown>;
  const sa = ref(k8s.serviceaccount, 'kubernetes.io.serviceaccount');
  const pod = ref(k8s.pod, 'kubernetes.io.pod');
  const node = ref(k8s.node, 'kubernetes.io.node');

  // Every source that names the account must name the same one.
  const sources: Array<[string | undefined, string | undefined]> = [
    [optionalString(k8s.namespace, 'kubernetes.io.namespace'), sa.name],
    [optionalString(payload[LEGACY_NAMESPACE], LEGACY_NAMESPACE), optionalString(payload[LEGACY_SA_NAME], LEGACY_SA_NAME)],
  ];
  if (payload.sub !== undefined) {
    if (typeof payload.sub !== 'string') reject('token claim sub is not a string');
    const parsed = parseServiceAccountSubject(payload.sub);
    if (!parsed) reject('token subject is not a service account');
    sources.push(parsed);
  }
  let namespace: string | undefined;
  let serviceAccount: string | undefined;
  for (const [ns, name] of sources) {
    if (ns === undefined && name === undefined) continue;
    if (ns === undefined || name === undefined) reject('token names a namespace or service account, not both');
    if (namespace === undefined) {
      namespace = ns;
      serviceAccount = name;
    } else if (namespace !== ns || serviceAccount !== name) {
      reject('token claims name different service accounts');
    }
  }
  if (namespace === undefined || serviceAccount === undefined) reject('token names no service account');
  if (!isNamespaceName(namespace) || !isServiceAccountName(serviceAccount)) {
    reject('token names an invalid namespace or service account');
  }

  const id: K8sIdentity = { subject: `${SUBJECT_PREFIX}${namespace}:${serviceAccount}`, namespace, serviceAccount };
  const saUid = sa.uid ?? optionalString(payload[LEGACY_SA_UID], LEGACY_SA_UID);
  if (saUid) id.serviceAccountUid = saUid;
  if (pod.name) id.podName = pod.name;
  if (pod.uid) id.podUid = pod.uid;
  if (node.name) id.nodeName = node.name;
  return id;
}

/**
 * Why `pattern` is not an allowed service-account pattern, or null when it is.
 * Allowed: `ns/name` and `ns/*`. Never a wildcard namespace (`*\/*`, `*\/name`).
 */
export function validateServiceAccountPattern(pattern: string): string | null {
  if (typeof pattern !== 'string') return 'service account pattern must be a string';
  const parts = pattern.split('/');
  if (parts.length !== 2) return `service account pattern must be "namespace/name" or "namespace/*"`;
  const [ns, name] = parts as [string, string];
  if (ns === '*') return 'service account pattern must name a namespace (no "*/…")';
  if (!isNamespaceName(ns)) return `"${ns}" is not a valid namespace name`;
  if (name !== '*' && !isServiceAccountName(name)) return `"${name}" is not a valid service account name or "*"`;
  return null;
}

export function matchServiceAccount(patterns: string[], namespace: string, serviceAccount: string): boolean {
  for (const pattern of patterns) {
    if (validateServiceAccountPattern(pattern) !== null) continue; // an invalid pattern matches nothing
    const [ns, name] = pattern.split('/') as [string, string];
    if (ns === namespace && (name === '*' || name === serviceAccount)) return true;
  }
  return false;
}
