/**
 * Routes that take a JSON body refuse any other media type with 415 before
 * parsing it: without this a body sent as text/plain (or with no
 * content-type) would be validated as `{}`, and a route whose fields all have
 * defaults would act on input it never read.
 *
 * @example
 *   middleware: [jsonOnly] as const
 */
import type { MiddlewareHandler } from 'hono';
import { PgmintError } from '../errors.js';

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i;

export const jsonOnly: MiddlewareHandler = async (c, next) => {
  const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    throw new PgmintError('unsupported_media_type', 'the body must be JSON (content-type: application/json)', {
      details: { field: 'content-type' },
    });
  }
  await next();
};
