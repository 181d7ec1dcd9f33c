/** Hono context variables set by pgmint's middleware. */
import type { AdminIdentity } from './admin.js';

export interface AppEnv {
  Variables: {
    requestId: string;
    admin: AdminIdentity;
  };
}
