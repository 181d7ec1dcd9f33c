/**
 * When a failed revocation is tried again: exponential backoff from 30 s,
 * capped at an hour, and after MAX_REVOKE_ATTEMPTS the lease is marked
 * `irrevocable` — kept, listed and reported by health, never forgotten.
 *
 * @example
 *   nextAttemptAt(now, 1) // now + 30 s; nextAttemptAt(now, MAX_REVOKE_ATTEMPTS) // null: give up
 */
export const MAX_REVOKE_ATTEMPTS = 6;
const BASE_DELAY_SEC = 30;
const MAX_DELAY_SEC = 3600;

/** `attempts` counts the failure just recorded; null means no more automatic retries. */
export function nextAttemptAt(now: Date, attempts: number): Date | null {
  if (attempts >= MAX_REVOKE_ATTEMPTS) return null;
  const delay = Math.min(BASE_DELAY_SEC * 2 ** Math.max(0, attempts - 1), MAX_DELAY_SEC);
  return new Date(now.getTime() + delay * 1000);
}
