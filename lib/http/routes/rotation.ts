/**
 * `POST /api/v1/databases/{db}/rotate-root`: the scheduled root rotation, on
 * demand for one database (it rotates whatever the credential's age).
 *
 * @example
 *   curl -X POST -H "authorization: Bearer $ADMIN" $PGMINT/api/v1/databases/orders/rotate-root
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { rotateRoot } from '../../rotation/index.js';
import { requireScope } from '../admin.js';
import type { AppEnv } from '../env.js';
import { DatabaseParams, } from '../schemas.js';
import { problem } from './describe.js';

const RotationResult = z
  .object({
    database: z.string(),
    outcome: z.enum(['rotated', 'not_due']),
    recovered: z.enum(['promoted', 'rolled_back', 'repaired']).nullable().openapi({ description: 'How an earlier, interrupted rotation was settled first' }),
    rotation_id: z.string().nullable(),
    rotated_at: z.string(),
  })
  .openapi('RotationResult');


export function rotationRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/databases/{db}/rotate-root',
      summary: "Rotate the broker's root credential on a target now",
      security: [{ adminToken: [] }],
      middleware: [requireScope(deps, 'operations:run')] as const,
      request: { params: DatabaseParams },
      responses: {
        200: { description: 'Rotated', content: { 'application/json': { schema: RotationResult } } },
        401: problem('No admin token'),
        403: problem('Missing scope'),
        404: problem('No such database'),
        409: problem('A rotation of this database is already running'),
        503: problem('The target did not accept the change; the credential is unchanged or settled'),
      },
    }),
    async (c) => {
      const result = await rotateRoot(deps, c.req.valid('param').db, {
        trigger: 'api',
        force: true,
        requestId: c.get('requestId'),
        actor: c.get('admin').name,
      });
      return c.json(
        { database: result.database, outcome: result.outcome, recovered: result.recovered, rotation_id: result.rotationId, rotated_at: result.rotatedAt },
        200,
      );
    },
  );
}
