import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, tempDir, tokenFile, waitFor } from '../cli/support.js';
import { groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { serverUrl, withSuperuser } from '../support/postgres.js';
import { startProxy, type TestProxy } from './support.js';

const MB = 1024 * 1024;
/** About 1,000 bytes a row, so 110,000 rows are over 100 MiB. */
const ROWS = 110_000;
const row = (i: number) => `${i}\t${createHash('sha256').update(String(i)).digest('hex').repeat(15)}\n`;

/** Runs psql, feeding `input` to its stdin, and hashes what it prints as it streams by. */
function psqlStream(
  url: string,
  sql: string,
  input?: () => AsyncGenerator<string>,
): Promise<{ status: number | null; bytes: number; md5: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-X', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const hash = createHash('md5');
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, bytes, md5: hash.digest('hex'), stderr }));
    void (async () => {
      if (input) {
        for await (const chunk of input()) if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
      }
      child.stdin.end();
    })();
  });
}

describe('pgmint proxy: cancel and 100 MB both ways', () => {
  let b: TestBroker;
  let proxy: TestProxy;
  let baseline: number;

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault('main', { allowed_roles: ['readonly', 'readwrite'] });
    await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(`CREATE TABLE app.bulk (n int PRIMARY KEY, line text NOT NULL); GRANT SELECT, INSERT ON app.bulk TO ${groupsOf(b).rw}`),
    );
    const file = await tokenFile(await tempDir(), await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
    proxy = await startProxy({ brokerUrl: b.url, database: 'main', tokenFile: file, args: ['--role', 'readwrite'] });
    baseline = (await proxy.memory()).rss;
  });
  afterAll(async () => {
    await proxy?.kill();
    await b?.close();
  });

  it("psql's Ctrl-C cancels SELECT pg_sleep(60) through the proxy", async () => {
    const started = Date.now();
    const child = spawn('psql', [proxy.url(), '-X', '-c', 'SELECT pg_sleep(60) /* proxy-cancel */'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    const sleeping = () =>
      withSuperuser(
        b.pg,
        b.targetDb,
        async (c) =>
          (
            await c.query(
              "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%proxy-cancel%' AND state = 'active' AND pid <> pg_backend_pid()",
            )
          ).rowCount,
      );
    await waitFor(sleeping, 'the query to run');
    child.kill('SIGINT');
    expect(await closed).not.toBe(0);
    expect(stderr).toContain('canceling statement due to user request');
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(Number(/^pgmint_proxy_cancel_requests_total (\d+)$/m.exec((await proxy.admin('/metrics')).body)![1])).toBe(1);
  });

  it('a 100 MB result arrives intact, with the proxy memory bounded', async () => {
    const sql = `COPY (SELECT i, repeat(encode(sha256(i::text::bytea), 'hex'), 15) FROM generate_series(1, ${ROWS}) i) TO STDOUT`;
    const through = await psqlStream(proxy.url(), sql);
    expect(through.status, through.stderr).toBe(0);
    expect(through.bytes).toBeGreaterThan(100 * MB);
    const direct = await psqlStream(serverUrl(b.pg, b.targetDb), sql);
    expect(through.md5).toBe(direct.md5);
    const expected = createHash('md5');
    for (let i = 1; i <= ROWS; i++) expected.update(row(i));
    expect(through.md5).toBe(expected.digest('hex'));
    const { peak } = await proxy.memory();
    expect(peak - baseline).toBeLessThan(64 * MB);
  });

  it('a 100 MB COPY FROM STDIN arrives intact, with the proxy memory bounded', async () => {
    async function* rows() {
      let chunk = '';
      for (let i = 1; i <= ROWS; i++) {
        chunk += row(i);
        if (chunk.length > 256 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      yield chunk;
    }
    const copied = await psqlStream(proxy.url(), 'COPY app.bulk (n, line) FROM STDIN', rows);
    expect(copied.status, copied.stderr).toBe(0);
    const expected = createHash('md5');
    let bytes = 0;
    for await (const chunk of rows()) {
      expected.update(chunk);
      bytes += chunk.length;
    }
    expect(bytes).toBeGreaterThan(100 * MB);
    const stored = await withSuperuser(
      b.pg,
      b.targetDb,
      async (c) =>
        (
          await c.query<{ md5: string; n: number }>(
            "SELECT md5(string_agg(n || E'\\t' || line || E'\\n', '' ORDER BY n)) AS md5, count(*)::int AS n FROM app.bulk",
          )
        ).rows[0]!,
    );
    expect(stored).toEqual({ md5: expected.digest('hex'), n: ROWS });
    const { peak } = await proxy.memory();
    expect(peak - baseline).toBeLessThan(64 * MB);
  });
});
