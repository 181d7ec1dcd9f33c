/**
 * Domain errors know no HTTP: lib/http/problem.ts alone turns a code into a
 * status and headers, and every code has one.
 */
import { describe, expect, it } from 'vitest';
import { RETRY_AFTER_SEC } from '../../lib/db/outage.js';
import { ERROR_CODES, isServerSide, outcomeOf, PgmintError } from '../../lib/errors.js';
import { problemBody, problemResponse, statusOf } from '../../lib/http/problem.js';

describe('problem documents', () => {
  it('gives every code a status, and a server-side code a 5xx', () => {
    for (const code of ERROR_CODES) {
      const status = statusOf(code);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status >= 500, code).toBe(isServerSide(code));
      expect(outcomeOf(new PgmintError(code, 'x')), code).toBe(status >= 500 ? 'error' : 'denied');
    }
  });

  it('carries no status or headers on the error itself', () => {
    const err = new PgmintError('too_many_leases', 'full', { details: { limit: 3 }, retryAfterSec: 60 });
    expect(Object.keys(err).sort()).toEqual(['code', 'details', 'name', 'retryAfterSec']);
  });

  it("turns the error's retryAfterSec into Retry-After, and gives a 503 the default", () => {
    const busy = problemResponse(new PgmintError('too_many_leases', 'full', { details: { limit: 3 }, retryAfterSec: 60 }), 'r1');
    expect([busy.status, busy.headers.get('retry-after')]).toEqual([429, '60']);
    const away = problemResponse(new PgmintError('target_unavailable', 'away'), 'r2');
    expect([away.status, away.headers.get('retry-after')]).toEqual([503, String(RETRY_AFTER_SEC)]);
    const keys = problemResponse(new PgmintError('issuer_unavailable', 'cooling down', { retryAfterSec: 7 }), 'r3');
    expect(keys.headers.get('retry-after')).toBe('7');
    expect(problemResponse(new PgmintError('not_found', 'no'), 'r4').headers.get('retry-after')).toBeNull();
  });

  it('keeps retryAfterSec out of the body and details in it, unless the code is opaque', async () => {
    const body = problemBody(new PgmintError('too_many_leases', 'full', { details: { limit: 3 }, retryAfterSec: 60 }), 'r1');
    expect(body).toEqual({
      type: 'https://pgmint.dev/problems/too-many-leases',
      title: 'Too many leases',
      status: 429,
      detail: 'full',
      code: 'too_many_leases',
      request_id: 'r1',
      limit: 3,
    });
    const opaque = problemBody(new PgmintError('not_allowed', 'role x is not allowed', { details: { role: 'x' } }), 'r2');
    expect(opaque).not.toHaveProperty('role');
    expect(opaque.detail).not.toContain('role x');
  });

  it('names the allowed methods of a 405 in Allow, and asks for a bearer on a 401', () => {
    const res = problemResponse(new PgmintError('method_not_allowed', 'no', { details: { allow: ['GET', 'HEAD'] } }), 'r1');
    expect([res.status, res.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect(problemResponse(new PgmintError('unauthorized', 'no'), 'r2').headers.get('www-authenticate')).toBe('Bearer');
  });
});
