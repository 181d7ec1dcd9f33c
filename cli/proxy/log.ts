/**
 * Structured logs for the proxy: one JSON object a line on stderr, with the
 * lease id where one is involved. Free text passes through the CLI's
 * redaction, which knows every token and password this process has handled.
 *
 * @example
 *   const log = jsonLogger();
 *   log.info('lease_acquired', { lease_id: id, user, expires_at });
 */
import { redact } from '../lib/errors.js';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (level: string, event: string, fields: LogFields = {}) => {
    const clean: LogFields = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = typeof v === 'string' ? redact(v) : v;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...clean })}\n`);
  };
  return {
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}
