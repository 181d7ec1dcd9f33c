import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';

// A property over /openapi.json itself: requests built from each operation's
// schemas, mostly valid and sometimes hostile (any Unicode, NUL, lone
// surrogates, wrong types, odd JSON), never get a 5xx, and every refusal is a
// problem document. Bounded in time so the suite stays fast; fast-check prints
// the seed and the smallest failing request if one is found.

/** Wall-clock budget of the property (fast-check stops generating after it). */
const BUDGET_MS = 30_000;

type Schema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
};
interface Parameter {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  body?: Schema;
  workload: boolean;
}

/** Any UTF-16 code unit (fast-check's 'binary' unit is slow to generate), with NUL and surrogate halves often. */
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u0000', '\uD800', '\uDC00'),
);
const hostileText = fc.oneof(
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000', '\uD800', '\uDFFFx', 'x'.repeat(5000), '-1', '1e400', 'NaN', '', ' ', '../..', "'; --", '%00'),
);
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  fc.anything({ maxDepth: 3, withNullPrototype: false }),
  fc.double(),
  fc.constant(null),
);

describe('API fuzz over /openapi.json', () => {
  let b: TestBroker;
  let operations: Operation[];
  let components: Record<string, Schema>;
  let workloadToken: string;
  let leaseId: string;

  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_CONTEXT_CACHE_MS: '0' } });
    await b.setupDefault();
    workloadToken = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { ttlSec: 3600 });
    leaseId = (
      await (
        await b.app.request('/api/v1/databases/main/credentials/k8s', { headers: { authorization: `Bearer ${workloadToken}` } })
      ).json()
    ).lease_id;
    const doc = await (await b.app.request('/openapi.json')).json();
    components = doc.components?.schemas ?? {};
    operations = [];
    for (const [path, item] of Object.entries(
      doc.paths as Record<
        string,
        Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>
      >,
    )) {
      for (const [method, op] of Object.entries(item)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          parameters: op.parameters ?? [],
          body: op.requestBody?.content['application/json']?.schema,
          workload: path.includes('/credentials/') || path.includes('/connect/') || path.startsWith('/api/v1/leases/'),
        });
      }
    }
  });
  afterAll(() => b?.close());

  /** A value valid for `schema` (the subset of JSON Schema the document uses). */
  const valid = (schema: Schema | undefined, name = ''): fc.Arbitrary<unknown> => {
    if (!schema) return fc.constant(undefined);
    if (schema.$ref) return valid(components[schema.$ref.split('/').at(-1)!], name);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    const alternatives = schema.anyOf ?? schema.oneOf;
    if (alternatives) return fc.oneof(...alternatives.map((s) => valid(s, name)));
    if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((t) => valid({ ...schema, type: t }, name)));
    // Known names get values that reach deeper than a random string would.
    if (name === 'db') return fc.constantFrom('main', 'nope');
    if (name === 'host' || name === 'public_host') return fc.constantFrom('127.0.0.1', 'localhost');
    if (name === 'id' || name === 'after') return fc.oneof(fc.uuid(), fc.constant(leaseId));
    if (name === 'issuer') return fc.constantFrom(b.issuer.url, 'https://issuer.example.invalid');
    if (name === 'member_of') return fc.constant([groupsOf(b).ro]);
    const min = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
    switch (schema.type) {
      case 'string': {
        if (schema.format === 'uuid') return fc.uuid();
        if (schema.format === 'date-time')
          return fc
            .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
            .map((d) => d.toISOString());
        const maxLength = Math.min(min('maxLength') ?? 32, 64);
        if (typeof schema.pattern === 'string')
          return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= maxLength && s.length >= (min('minLength') ?? 0));
        return fc.string({ minLength: min('minLength') ?? 0, maxLength: Math.max(maxLength, min('minLength') ?? 0) });
      }
      case 'integer':
        return fc.integer({ min: min('minimum') ?? -1_000_000, max: Math.min(min('maximum') ?? 1_000_000, 1_000_000) });
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true, min: min('minimum'), max: min('maximum') });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return fc.array(valid(schema.items), { minLength: min('minItems') ?? 0, maxLength: Math.min(min('maxItems') ?? 3, 3) });
      case 'object': {
        const props = schema.properties ?? {};
        const record = fc.record(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, valid(s, k)])), {
          requiredKeys: (schema.required ?? []).filter((k) => k in props),
        });
        if (Object.keys(props).length > 0 || !schema.additionalProperties) return record;
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }),
          typeof schema.additionalProperties === 'object' ? valid(schema.additionalProperties) : fc.string(),
          { maxKeys: 3 },
        );
      }
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  };
  /** Mostly valid, sometimes hostile. */
  const value = (schema: Schema | undefined, name: string) =>
    fc.oneof({ arbitrary: valid(schema, name), weight: 4 }, { arbitrary: hostileJson, weight: 1 });

  const encode = (v: unknown): string => {
    const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
    try {
      return encodeURIComponent(s);
    } catch {
      // A lone surrogate has no UTF-8 form; send its code units as raw bytes.
      return [...s].map((c) => `%${(c.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`).join('');
    }
  };

  const request = () =>
    fc.constantFrom(...operations).chain((op) =>
      fc.record({
        op: fc.constant(op),
        params: fc.tuple(
          ...op.parameters.map((p) =>
            p.in === 'path' || p.required ? value(p.schema, p.name) : fc.option(value(p.schema, p.name), { nil: undefined }),
          ),
        ),
        body: op.body
          ? fc.oneof(
              { arbitrary: valid(op.body).map((v) => ({ type: 'application/json', text: JSON.stringify(v) })), weight: 4 },
              {
                arbitrary: fc
                  .record(
                    Object.fromEntries(
                      Object.keys((components[op.body.$ref?.split('/').at(-1) ?? ''] ?? op.body).properties ?? {}).map((k) => [
                        k,
                        hostileJson,
                      ]),
                    ),
                    { requiredKeys: [] },
                  )
                  .map((v) => ({ type: 'application/json', text: JSON.stringify(v) })),
                weight: 2,
              },
              { arbitrary: fc.string({ unit: codeUnit, maxLength: 60 }).map((text) => ({ type: 'application/json', text })), weight: 1 },
              {
                arbitrary: fc.constantFrom('text/plain', '', 'application/x-www-form-urlencoded').map((type) => ({ type, text: '{}' })),
                weight: 1,
              },
            )
          : fc.constant(undefined),
        token: fc.constantFrom(op.workload ? workloadToken : ADMIN_TOKEN, ADMIN_TOKEN),
      }),
    );

  it(
    'never answers 5xx, and refuses with problem+json',
    async () => {
      const started = Date.now();
      let runs = 0;
      const statuses: Record<number, number> = {};
      await fc.assert(
        fc.asyncProperty(request(), async ({ op, params, body, token }) => {
          runs++;
          let path = op.path;
          const query: string[] = [];
          op.parameters.forEach((p, i) => {
            const v = params[i];
            if (p.in === 'path') path = path.replace(`{${p.name}}`, encode(v));
            else if (v !== undefined) query.push(`${p.name}=${encode(v)}`);
          });
          const url = query.length > 0 ? `${path}?${query.join('&')}` : path;
          const res = await b.app.request(url, {
            method: op.method,
            headers: { authorization: `Bearer ${token}`, ...(body?.type ? { 'content-type': body.type } : {}) },
            body: body?.text,
          });
          const text = await res.text();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          expect(res.status, `${op.method} ${url}: ${text.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) expect(res.headers.get('content-type'), `${op.method} ${url}`).toBe('application/problem+json');
        }),
        { numRuns: 100_000, interruptAfterTimeLimit: BUDGET_MS, markInterruptAsFailure: false },
      );
      // The property must have actually exercised the API, not stopped at once.
      console.info(JSON.stringify({ fuzz_runs: runs, statuses }));
      expect(runs).toBeGreaterThan(200);
      expect(Date.now() - started).toBeLessThan(BUDGET_MS + 30_000);
    },
    BUDGET_MS + 60_000,
  );
});
