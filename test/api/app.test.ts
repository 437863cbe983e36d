// Auth, problem+json shapes, health and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiKey } from '../../api/auth.js';
import { findApiKey } from '../../db/repositories/tenants.js';
import { createApp } from '../../api/app.js';
import { createDatabase } from '../../db/connection.js';
import { createLogger } from '../../infra/logger.js';
import { pino } from 'pino';
import { shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function expectProblem(res: { status: number; headers: Headers; body: any }, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status, type: `https://retrack.dev/problems/${type}` });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

describe('authentication', () => {
  it('stores only a hash of the secret and looks keys up by their public id', async () => {
    const parsed = parseApiKey(h.acme.keys.admin)!;
    const row = await findApiKey(h.database.db, parsed.keyId);
    expect(row?.tenant_id).toBe(h.acme.id);
    expect(row?.secret_hash).not.toContain(parsed.secret);
    expect(JSON.stringify(row)).not.toContain(parsed.secret);
  });

  it('rejects a missing, malformed, unknown or tampered key with 401', async () => {
    expectProblem(await h.call('GET', '/v1/shipments', undefined), 401, 'unauthorized');
    expectProblem(await h.call('GET', '/v1/shipments', 'not-a-key'), 401, 'unauthorized');
    const { keyId } = parseApiKey(h.acme.keys.admin)!;
    expectProblem(await h.call('GET', '/v1/shipments', `rtk_${keyId}_${'A'.repeat(43)}`), 401, 'unauthorized');
    expectProblem(await h.call('GET', '/v1/shipments', `rtk_${'0'.repeat(24)}_${'A'.repeat(43)}`), 401, 'unauthorized');
    const res = await h.call('GET', '/v1/shipments', undefined);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('rejects a revoked key', async () => {
    const { issueApiKey } = await import('../../api/auth.js');
    const key = await issueApiKey(h.database.db, { tenantId: h.acme.id, role: 'viewer' });
    expect((await h.call('GET', '/v1/shipments', key.apiKey)).status).toBe(200);
    expect((await h.call('DELETE', `/v1/api-keys/${key.keyId}`, h.acme.keys.admin)).status).toBe(200);
    expectProblem(await h.call('GET', '/v1/shipments', key.apiKey), 401, 'unauthorized');
  });

  it('enforces roles: viewers read, dispatchers write, devices only send positions', async () => {
    expect((await h.call('GET', '/v1/shipments', h.acme.keys.viewer)).status).toBe(200);
    expectProblem(await h.call('POST', '/v1/shipments', h.acme.keys.viewer, shipmentBody()), 403, 'forbidden');
    expectProblem(await h.call('POST', '/v1/shipments', h.acme.keys.device, shipmentBody()), 403, 'forbidden');
    expectProblem(await h.call('GET', '/v1/shipments', h.acme.keys.device), 403, 'forbidden');
    // Forbidden before validation: a viewer learns nothing about the body.
    expectProblem(await h.call('POST', '/v1/shipments', h.acme.keys.viewer, {}), 403, 'forbidden');
  });
});

describe('request logs', () => {
  it('log one line per request with tenant, shipment and workflow, and never the API key', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const app = createApp({ db: h.database.db, temporal: h.client, logger, ingest: h.ingest });
    const headers = { authorization: `Bearer ${h.acme.keys.dispatcher}`, 'content-type': 'application/json' };
    const created = await app.request('/v1/shipments', { method: 'POST', headers, body: JSON.stringify(shipmentBody()) });
    const shipment = (await created.json()) as { id: string; workflowId: string };
    await app.request(`/v1/shipments/${shipment.id}/positions`, { method: 'POST', headers, body: JSON.stringify({ positions: [{ recordedAt: new Date().toISOString(), lat: 1, lon: 2 }] }) });
    await app.request('/v1/shipments', { headers: { authorization: 'Bearer rtk_wrong' } });
    const secret = parseApiKey(h.acme.keys.dispatcher)!.secret;
    expect(lines.join('')).not.toContain(secret);
    const entries = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request');
    expect(entries).toHaveLength(3);
    expect(entries[1]).toMatchObject({ method: 'POST', status: 202, tenantId: h.acme.id, shipmentId: shipment.id, workflowId: shipment.workflowId });
    expect(entries[2]).toMatchObject({ status: 401 });
  });
});

describe('problem+json', () => {
  it('answers unknown routes with a 404 problem', async () => {
    expectProblem(await h.call('GET', '/nowhere', undefined), 404, 'not-found');
    expectProblem(await h.call('GET', '/v1/nowhere', h.acme.keys.admin), 404, 'not-found');
  });

  it('names every invalid field of a create body', async () => {
    const body = shipmentBody({ reference: '', carrierId: 7 });
    (body.stops[1] as any).location.lat = 123;
    (body.stops[0] as any).type = 'teleport';
    const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, body);
    expectProblem(res, 400, 'validation-error');
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['carrierId', 'reference', 'stops[0].type', 'stops[1].location.lat']);
    for (const error of res.body.errors) expect(error.message).toEqual(expect.any(String));
  });

  it('rejects unknown fields, malformed JSON and non-JSON bodies', async () => {
    const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ refrence: 'typo' }));
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors[0].message).toMatch(/refrence/);
    expectProblem(await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, '{"reference":'), 400, 'validation-error');
    const text = await h.app.request('/v1/shipments', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.acme.keys.dispatcher}`, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);
    expect(text.headers.get('content-type')).toBe('application/problem+json');
  });

  it('names invalid query parameters', async () => {
    const res = await h.call('GET', '/v1/shipments?limit=500&status=LOST', h.acme.keys.viewer);
    expectProblem(res, 400, 'validation-error');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['limit', 'status']);
    const cursor = await h.call('GET', '/v1/shipments?cursor=garbage', h.acme.keys.viewer);
    expectProblem(cursor, 400, 'validation-error');
    expect(cursor.body.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
  });

  it('refuses an oversized body with 413', async () => {
    const huge = JSON.stringify({ positions: [], padding: 'x'.repeat(1_100_000) });
    const res = await h.call('POST', '/v1/shipments/00000000-0000-4000-8000-000000000000/positions', h.acme.keys.dispatcher, huge);
    expectProblem(res, 413, 'payload-too-large');
  });
});

describe('operations', () => {
  it('answers /healthz and /readyz without a key', async () => {
    expect(await h.call('GET', '/healthz', undefined)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await h.call('GET', '/readyz', undefined)).toMatchObject({ status: 200, body: { status: 'ok', checks: { postgres: 'ok', temporal: 'ok' } } });
  });

  it('serves an OpenAPI document generated from the route schemas, with bearer security', async () => {
    const res = await h.call('GET', '/openapi.json', undefined);
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of [
      '/v1/shipments',
      '/v1/shipments/{id}',
      '/v1/shipments/{id}/timeline',
      '/v1/shipments/{id}/track',
      '/v1/shipments/{id}/positions',
      '/v1/shipments/{id}/cancel',
      '/v1/devices/{deviceId}/positions',
      '/v1/positions',
      '/healthz',
      '/readyz',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/v1/shipments'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.components.schemas.Fix.properties.lat).toMatchObject({ minimum: -90, maximum: 90 });
    expect(doc.paths['/v1/shipments/{id}/positions'].post.responses['400'].content['application/problem+json']).toBeDefined();
  });

  it('answers 503 with Retry-After, without internals, and /readyz 503 naming Postgres when it is unreachable', async () => {
    const unreachable = createDatabase('postgres://postgres@127.0.0.1:1/nowhere');
    const broken = createApp({ db: unreachable, temporal: h.client, logger: createLogger({ name: 'broken', level: 'silent' }) });
    try {
      const res = await broken.request('/v1/shipments', { headers: { authorization: `Bearer ${h.acme.keys.admin}` } });
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('2');
      const body = await res.json();
      expect(body).toMatchObject({ type: 'https://retrack.dev/problems/service-unavailable', status: 503 });
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at \w+ \(/);
      const ready = await broken.request('/readyz');
      expect(ready.status).toBe(503);
      const readiness = (await ready.json()) as { checks: Record<string, string>; detail: string };
      expect(readiness).toMatchObject({ status: 503, checks: { temporal: 'ok' } });
      expect(readiness.checks.postgres).not.toBe('ok');
      expect(readiness.detail).toContain('postgres');
    } finally {
      await unreachable.destroy();
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await h.app.request('/docs');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/openapi.json');
  });
});
