// Liveness (the process answers) and readiness (Postgres and Temporal both answer).
import { createRoute } from '@hono/zod-openapi';
import { sql } from 'kysely';
import type { RouteDeps } from '../context.js';
import { ProblemError } from '../problem.js';
import { createRouter } from '../router.js';
import { HealthSchema, ReadySchema, problemResponses } from '../schemas.js';

const READY_TIMEOUT_MS = 2_000;
const tags = ['Operations'];

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags,
  summary: 'The process is up',
  responses: { 200: { description: 'Up', content: { 'application/json': { schema: HealthSchema } } } },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags,
  summary: 'Postgres and Temporal both answer',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadySchema } } },
    ...problemResponses(503),
  },
});

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes({ db, temporal }: RouteDeps) {
  const router = createRouter();

  router.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  router.openapi(readyRoute, async (c) => {
    const [postgres, temporalStatus] = await Promise.all([
      check(() => sql`select 1`.execute(db)),
      check(() => temporal.connection.withDeadline(Date.now() + READY_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({}))),
    ]);
    const checks = { postgres, temporal: temporalStatus };
    if (postgres !== 'ok' || temporalStatus !== 'ok') {
      const down = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k);
      throw new ProblemError('unavailable', 503, `Not ready: ${down.join(' and ')} did not answer.`, { checks });
    }
    return c.json({ status: 'ok' as const, checks }, 200);
  });

  return router;
}
