/**
 * The proxy's Prometheus metrics, in the text exposition format: open and
 * total connections, upstream login latency, the current lease's age and
 * expiry, and broker errors by the broker's `code`. A dozen series do not
 * need a metrics library.
 *
 * @example
 *   metrics.connectionOpened(); metrics.upstreamLogin(0.012);
 *   res.end(metrics.render({ leaseIssuedAt, leaseExpiresAt }));
 */

/** Seconds; upstream logins are a few ms on a LAN and up to seconds across regions. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface LeaseGauges {
  /** Epoch ms the current lease was obtained, or null without one. */
  obtainedAt: number | null;
  expiresAt: number | null;
}

export class ProxyMetrics {
  private open = 0;
  private total = 0;
  private refusedTotal = new Map<string, number>();
  private cancels = 0;
  private brokerErrors = new Map<string, number>();
  private leasesObtained = 0;
  private leasesRenewed = 0;
  private latencyCounts = LATENCY_BUCKETS.map(() => 0);
  private latencySum = 0;
  private latencyCount = 0;

  get openConnections(): number {
    return this.open;
  }

  connectionOpened(): void {
    this.open++;
    this.total++;
  }

  connectionClosed(): void {
    this.open--;
  }

  connectionRefused(reason: string): void {
    this.refusedTotal.set(reason, (this.refusedTotal.get(reason) ?? 0) + 1);
  }

  cancelForwarded(): void {
    this.cancels++;
  }

  brokerError(code: string): void {
    this.brokerErrors.set(code, (this.brokerErrors.get(code) ?? 0) + 1);
  }

  leaseObtained(): void {
    this.leasesObtained++;
  }

  leaseRenewed(): void {
    this.leasesRenewed++;
  }

  upstreamLogin(seconds: number): void {
    this.latencySum += seconds;
    this.latencyCount++;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.latencyCounts[i]!++;
    });
  }

  render(lease: LeaseGauges, now = Date.now()): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const labelled = (m: Map<string, number>, label: string): Array<[string, number]> =>
      [...m].map(([k, v]) => [`{${label}="${k.replace(/["\\\n]/g, '_')}"}`, v]);
    metric('pgmint_proxy_connections_open', 'gauge', 'Application connections being relayed.', [['', this.open]]);
    metric('pgmint_proxy_connections_total', 'counter', 'Application connections relayed since start.', [['', this.total]]);
    metric(
      'pgmint_proxy_connections_refused_total',
      'counter',
      'Application connections answered with an ErrorResponse, by reason.',
      labelled(this.refusedTotal, 'reason'),
    );
    metric('pgmint_proxy_cancel_requests_total', 'counter', 'CancelRequests forwarded to the server.', [['', this.cancels]]);
    const buckets: Array<[string, number]> = LATENCY_BUCKETS.map((le, i) => [`_bucket{le="${le}"}`, this.latencyCounts[i]!]);
    metric('pgmint_proxy_upstream_connect_seconds', 'histogram', 'Time to connect and log in to Postgres with the lease.', [
      ...buckets,
      ['_bucket{le="+Inf"}', this.latencyCount],
      ['_sum', this.latencySum],
      ['_count', this.latencyCount],
    ]);
    metric(
      'pgmint_proxy_lease_age_seconds',
      'gauge',
      'Age of the current lease (absent without one).',
      lease.obtainedAt === null ? [] : [['', (now - lease.obtainedAt) / 1000]],
    );
    metric(
      'pgmint_proxy_lease_expiry_seconds',
      'gauge',
      'Seconds until the current lease expires (negative once expired).',
      lease.expiresAt === null ? [] : [['', (lease.expiresAt - now) / 1000]],
    );
    metric('pgmint_proxy_leases_obtained_total', 'counter', 'Leases obtained from the broker.', [['', this.leasesObtained]]);
    metric('pgmint_proxy_lease_renewals_total', 'counter', 'Successful lease renewals.', [['', this.leasesRenewed]]);
    metric(
      'pgmint_proxy_broker_errors_total',
      'counter',
      "Failed broker calls, by the broker's problem code.",
      labelled(this.brokerErrors, 'code'),
    );
    return `${lines.join('\n')}\n`;
  }
}
