// A JSON body must be UTF-8. The platform's decoder (Request.json) silently turns invalid bytes into
// U+FFFD, which would then be stored as if the client had sent it; this refuses the body instead.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.js';
import { validationProblem } from './problem.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the body once (Hono caches it for the JSON validator that runs next). */
export const requireUtf8Body: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.header('content-type')?.includes('json')) {
    try {
      strictUtf8.decode(await c.req.arrayBuffer());
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw validationProblem([{ field: '(body)', message: 'is not valid UTF-8' }], 'The request body is not valid UTF-8.');
    }
  }
  await next();
};
