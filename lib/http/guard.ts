/**
 * Guards a sub-app once, in front of its own routes only: an unrouted method
 * still gets its 405, and a route of another sub-app under the same path
 * prefix is left alone. The guard runs before a route validates its input,
 * so nothing is learned about ids or bodies without a credential.
 *
 * @example
 *   const roles = adminApp(deps, { GET: 'databases:read', PUT: 'roles:write', DELETE: 'roles:write' });
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { matchedRoutes } from 'hono/route';
import { authorizeAdmin, type Scope } from '../admin/index.js';
import type { Deps } from '../deps.js';
import { takeBearer } from './bearer.js';
import { subApp } from './validation.js';
import type { AdminEnv } from './env.js';

export type Guard<E extends Env> = (c: Context<E>) => Promise<void>;

/** Each route's own handler (the last of its chain): shared middleware such as jsonOnly says nothing about ownership. */
function routeHandlers(routes: ReadonlyArray<{ method: string; path: string; handler: unknown }>): Set<unknown> {
  const last = new Map<string, unknown>();
  for (const r of routes) if (r.method !== 'ALL') last.set(`${r.method} ${r.path}`, r.handler);
  return new Set(last.values());
}

export function guardRoutes<E extends Env>(app: OpenAPIHono<E>, guard: Guard<E>): void {
  let own: Set<unknown> | undefined;
  app.use('*', async (c, next) => {
    own ??= routeHandlers(app.routes);
    // Hono answers HEAD with the GET route.
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (matchedRoutes(c).some((r) => r.method === method && own!.has(r.handler))) await guard(c);
    await next();
  });
}

export type ScopeByMethod = Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', Scope>>;

/** The admin behind the bearer token, holding the scope the request's method needs, as `c.var.admin`. */
export function requireScope(deps: Deps, scopes: ScopeByMethod): Guard<AdminEnv> {
  return async (c) => {
    const scope = scopes[(c.req.method === 'HEAD' ? 'GET' : c.req.method) as keyof ScopeByMethod];
    if (!scope) throw new Error(`no scope is set for ${c.req.method} ${c.req.path}`);
    c.set('admin', await authorizeAdmin(deps, takeBearer(c), scope));
  };
}

/** A sub-app of admin routes, each method guarded by its scope once for the whole sub-app. */
export function adminApp(deps: Deps, scopes: ScopeByMethod): OpenAPIHono<AdminEnv> {
  const app = subApp<AdminEnv>();
  guardRoutes(app, requireScope(deps, scopes));
  return app;
}

/** Who asks on an admin route, and the request id, as the domain's audit rows want them. */
export const adminRequest = (c: Context<AdminEnv>) => ({ admin: c.get('admin').name, requestId: c.get('requestId') });
