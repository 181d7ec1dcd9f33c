/**
 * The proxy's lease: fetched at start with the token from --token-file (read
 * again for every call, because the kubelet rotates it), renewed at
 * `refresh_at` while renewal still moves the expiry, replaced by a new lease
 * once it cannot. Leases replaced this way stay held: connections opened on
 * them keep running, and shutdown revokes them all. When the broker is away
 * or refuses, the current lease serves until it expires, and calls are retried
 * with backoff, or after the broker's Retry-After when it sends one.
 *
 * @example
 *   const keeper = new LeaseKeeper({ broker: { url }, database: 'orders', tokenFile, kind: 'auto', log, metrics });
 *   await keeper.start();
 *   const lease = keeper.usable(); // null while none is valid; keeper.lastError says why
 *   await keeper.revokeAll();
 */
import type { Credentials } from '../lib/credentials.js';
import { brokerJson, seg } from '../lib/broker.js';
import { CliError, rememberSecret } from '../lib/errors.js';
import { exchangeKind, resolveToken } from '../lib/token.js';
import type { Logger } from './log.js';
import type { ProxyMetrics } from './metrics.js';

export interface LeaseKeeperOptions {
  broker: { url: string };
  database: string;
  tokenFile: string;
  kind: 'auto' | 'k8s' | 'oidc';
  role?: string;
  ttl?: string;
  log: Logger;
  metrics: ProxyMetrics;
  /** First retry delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface HeldLease {
  creds: Credentials;
  obtainedAt: number;
  expiresAt: number;
  refreshAt: number;
  /** Known after the first renewal: past it, renewing cannot extend the lease. */
  maxExpiresAt?: number;
}

export interface BrokerFailure {
  code: string;
  message: string;
}

interface Renewal {
  expires_at: string;
  refresh_at: string;
  max_expires_at: string;
}

/** A login starting this close to expiry could race Postgres's VALID UNTIL check. */
const EXPIRY_MARGIN_MS = 1000;
const BROKER_TIMEOUT_MS = 10_000;
const RENEWAL_REFUSALS = new Set(['conflict', 'lease_not_found', 'not_allowed', 'invalid_token']);

export class LeaseKeeper {
  private current: HeldLease | null = null;
  private readonly held = new Map<string, HeldLease>();
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private inflight: Promise<void> | null = null;
  lastError: BrokerFailure | null = null;

  constructor(private readonly o: LeaseKeeperOptions) {}

  /** Tries to obtain the first lease; on failure keeps retrying in the background. */
  async start(): Promise<void> {
    await this.run(() => this.obtain());
  }

  /** The lease new connections log in with, or null when none is valid now. */
  usable(now = Date.now()): HeldLease | null {
    const c = this.current;
    return c && now < c.expiresAt - EXPIRY_MARGIN_MS ? c : null;
  }

  get hasObtainedOne(): boolean {
    return this.held.size > 0 || this.current !== null;
  }

  get currentLease(): HeldLease | null {
    return this.current;
  }

  /** Stops renewing and revokes every lease this proxy obtained, best effort. */
  async revokeAll(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight?.catch(() => {});
    const token = await this.token().catch(() => null);
    await Promise.all(
      [...this.held.values()].map(async (lease) => {
        const fields = { lease_id: lease.creds.lease_id, user: lease.creds.user };
        if (!token) return this.o.log.warn('lease_not_revoked', { ...fields, reason: 'token_unreadable' });
        try {
          await brokerJson(this.o.broker, 'DELETE', `/api/v1/leases/${seg(lease.creds.lease_id)}`, {
            bearer: token,
            quiet: true,
            timeoutMs: BROKER_TIMEOUT_MS,
          });
          this.held.delete(lease.creds.lease_id);
          this.o.log.info('lease_revoked', fields);
        } catch (err) {
          this.o.log.warn('lease_not_revoked', { ...fields, code: codeOf(err), expires_at: lease.creds.expires_at });
        }
      }),
    );
    this.current = null;
  }

  /** Stops timers without revoking (tests, and exits that keep leases). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async token(): Promise<string> {
    return resolveToken({ tokenFile: this.o.tokenFile });
  }

  private async run(step: () => Promise<void>): Promise<void> {
    if (this.stopped) return;
    const attempt = (async () => {
      try {
        await step();
        this.failures = 0;
        this.lastError = null;
      } catch (err) {
        this.failures++;
        this.lastError = { code: codeOf(err), message: err instanceof Error ? err.message : String(err) };
        this.o.metrics.brokerError(this.lastError.code);
        const backoff = Math.min(this.o.maxBackoffMs ?? 30_000, (this.o.backoffMs ?? 1000) * 2 ** (this.failures - 1));
        // A broker that says when to come back (503 while Postgres or the issuer is away, 429) is
        // believed, but never past the point where the current lease would lapse unreplaced.
        const asked = err instanceof CliError && err.retryAfterSec !== undefined ? err.retryAfterSec * 1000 : undefined;
        const delay = asked === undefined ? backoff : this.boundedByExpiry(asked);
        this.o.log.warn('broker_call_failed', {
          code: this.lastError.code,
          message: this.lastError.message,
          retry_in_ms: delay,
          lease_id: this.current?.creds.lease_id,
          lease_expires_at: this.current?.creds.expires_at,
        });
        this.schedule(Date.now() + delay);
      }
    })();
    this.inflight = attempt;
    await attempt;
  }

  private boundedByExpiry(delayMs: number): number {
    const untilLapse = (this.current?.expiresAt ?? 0) - EXPIRY_MARGIN_MS - Date.now();
    return untilLapse > 0 ? Math.min(delayMs, untilLapse) : delayMs;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(() => this.refresh()), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private async obtain(): Promise<void> {
    const token = await this.token();
    const kind = this.o.kind === 'auto' ? exchangeKind(token) : this.o.kind;
    const creds = await brokerJson<Credentials>(this.o.broker, 'GET', `/api/v1/databases/${seg(this.o.database)}/credentials/${kind}`, {
      bearer: token,
      query: { role: this.o.role, ttl: this.o.ttl },
      quiet: true,
      timeoutMs: BROKER_TIMEOUT_MS,
    });
    rememberSecret(creds.password);
    const lease: HeldLease = {
      creds,
      obtainedAt: Date.now(),
      expiresAt: Date.parse(creds.expires_at),
      refreshAt: Date.parse(creds.refresh_at),
    };
    this.held.set(creds.lease_id, lease);
    this.current = lease;
    this.o.metrics.leaseObtained();
    this.o.log.info('lease_acquired', {
      lease_id: creds.lease_id,
      user: creds.user,
      role: creds.role,
      expires_at: creds.expires_at,
      refresh_at: creds.refresh_at,
    });
    this.schedule(lease.refreshAt);
  }

  /** Renew while that moves the expiry; otherwise (or when the lease is gone) take a new one. */
  private async refresh(): Promise<void> {
    const lease = this.current;
    if (
      !lease ||
      (lease.maxExpiresAt !== undefined && lease.expiresAt >= lease.maxExpiresAt) ||
      Date.now() >= lease.expiresAt - EXPIRY_MARGIN_MS
    ) {
      return this.obtain();
    }
    let renewal: Renewal;
    try {
      renewal = await brokerJson<Renewal>(this.o.broker, 'POST', `/api/v1/leases/${seg(lease.creds.lease_id)}/renew`, {
        bearer: await this.token(),
        query: { ttl: this.o.ttl },
        quiet: true,
        timeoutMs: BROKER_TIMEOUT_MS,
      });
    } catch (err) {
      // A lease revoked or expired behind our back cannot be renewed, and a token of another
      // identity may not renew it: replace it.
      if (err instanceof CliError && RENEWAL_REFUSALS.has(err.code)) {
        this.o.log.warn('lease_not_renewable', { lease_id: lease.creds.lease_id, code: err.code });
        return this.obtain();
      }
      throw err;
    }
    const expiresAt = Date.parse(renewal.expires_at);
    lease.maxExpiresAt = Date.parse(renewal.max_expires_at);
    if (expiresAt <= lease.expiresAt) {
      this.o.log.info('lease_at_max_ttl', { lease_id: lease.creds.lease_id, expires_at: lease.creds.expires_at });
      return this.obtain();
    }
    lease.expiresAt = expiresAt;
    lease.refreshAt = Date.parse(renewal.refresh_at);
    lease.creds = { ...lease.creds, expires_at: renewal.expires_at, refresh_at: renewal.refresh_at };
    this.o.metrics.leaseRenewed();
    this.o.log.info('lease_renewed', { lease_id: lease.creds.lease_id, expires_at: renewal.expires_at, refresh_at: renewal.refresh_at });
    this.schedule(lease.refreshAt);
  }
}

function codeOf(err: unknown): string {
  return err instanceof CliError ? err.code : 'internal';
}
