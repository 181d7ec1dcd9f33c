/** Runs `fn`, expects a PgmintError, returns it for further assertions. */
import { expect } from 'vitest';
import { PgmintError } from '../../lib/errors.js';

export async function refusal(fn: () => Promise<unknown>): Promise<PgmintError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PgmintError);
    return err as PgmintError;
  }
  throw new Error('expected a refusal, got success');
}
