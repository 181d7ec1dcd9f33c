/**
 * Hono context variables set by pgmint's middleware: the request id on every
 * request, the bearer token once a guard has read it, and on admin routes the
 * admin that requireScope let through.
 *
 * @example
 *   const routes = subApp<AdminEnv>(); // c.get('admin') is an AdminIdentity
 */
import type { AdminIdentity } from '../admin/index.js';

export interface AppEnv {
  Variables: {
    requestId: string;
    token: string | undefined;
  };
}

export interface AdminEnv {
  Variables: AppEnv['Variables'] & { admin: AdminIdentity };
}
