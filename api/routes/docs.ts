// The OpenAPI document (generated from the route schemas) and Swagger UI to read it.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import type { AppEnv } from '../context.js';
import { registerEventWebhooks } from '../event-catalogue.js';

export function mountDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'rtk_<keyId>_<secret>',
    description: 'An API key issued with `npm run admin -- create-api-key`; send it as `Authorization: Bearer <key>`.',
  });
  registerEventWebhooks(app.openAPIRegistry);
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'ReTrackLogistics API',
      version: '1.0.0',
      description: 'Freight visibility: shipments run as Temporal workflows; fixes in, milestones and anomalies out. Errors are application/problem+json (RFC 9457).',
    },
    tags: [{ name: 'Shipments' }, { name: 'Positions' }, { name: 'Events' }, { name: 'Webhooks' }, { name: 'Operations' }],
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'ReTrackLogistics API' }));
}
