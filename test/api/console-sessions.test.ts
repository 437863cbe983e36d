// Console sign-in: an API key exchanged for an HttpOnly, SameSite=Strict cookie whose id is stored
// hashed with an expiry; roles apply as with the key; cookie writes need the console's Origin;
// revoking the key ends the session on the next request; console pages carry a strict CSP.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { createLogger } from '../../infra/logger.js';
import { shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const ORIGIN = 'http://localhost';

async function signIn(apiKey: string, headers: Record<string, string> = {}) {
  const res = await h.app.request('/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ORIGIN, ...headers },
    body: JSON.stringify({ apiKey }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = /retrack_session=([^;]+)/.exec(setCookie)?.[1];
  return { res, setCookie, cookie, body: await res.json() };
}

function withCookie(cookie: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}) {
  return {
    method,
    headers: { cookie: `retrack_session=${cookie}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
}

describe('signing in', () => {
  it('exchanges a key for an HttpOnly, SameSite=Strict session cookie whose id is stored only hashed', async () => {
    const { res, setCookie, cookie, body } = await signIn(h.acme.keys.dispatcher);
    expect(res.status).toBe(201);
    expect(body).toMatchObject({ tenantId: h.acme.id, role: 'dispatcher', expiresAt: expect.any(String) });
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/i);
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(setCookie).not.toContain(h.acme.keys.dispatcher);
    const rows = await h.database.db.selectFrom('console_sessions').selectAll().execute();
    expect(rows.some((r) => r.id_hash === cookie)).toBe(false);
    const row = rows.find((r) => r.id_hash === createHash('sha256').update(cookie!).digest('hex'));
    expect(row).toBeDefined();
    expect(new Date(row!.expires_at).getTime()).toBeGreaterThan(Date.now());
  });

  it('marks the cookie Secure behind https', async () => {
    const { setCookie } = await signIn(h.acme.keys.viewer, { 'x-forwarded-proto': 'https' });
    expect(setCookie).toMatch(/Secure/i);
  });

  it('refuses unknown keys, device keys, a missing key and a sign-in posted from another site', async () => {
    expect((await signIn('rtk_000000000000000000000000_notakeynotakeynotakeynotakeynotakeynotake')).res.status).toBe(401);
    const device = await signIn(h.acme.keys.device);
    expect(device.res.status).toBe(403);
    expect(device.cookie).toBeUndefined();
    const missing = await h.app.request('/v1/sessions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).errors[0].field).toBe('apiKey');
    expect((await signIn(h.acme.keys.admin, { origin: 'https://evil.example' })).res.status).toBe(403);
  });
});

describe('a session', () => {
  it("reads the tenant's data and nothing of another tenant", async () => {
    const { cookie } = await signIn(h.acme.keys.viewer);
    const own = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody());
    const other = await h.call('POST', '/v1/shipments', h.globex.keys.dispatcher, shipmentBody());
    const list = await h.app.request('/v1/shipments', withCookie(cookie!));
    const ids = ((await list.json()) as any).items.map((s: { id: string }) => s.id);
    expect(ids).toContain(own.body.id);
    expect(ids).not.toContain(other.body.id);
    expect((await h.app.request(`/v1/shipments/${other.body.id}`, withCookie(cookie!))).status).toBe(404);
    expect(await (await h.app.request('/v1/sessions/current', withCookie(cookie!))).json()).toMatchObject({ tenantId: h.acme.id, role: 'viewer' });
  });

  it('applies the key role: a viewer session changes nothing', async () => {
    const { cookie } = await signIn(h.acme.keys.viewer);
    const res = await h.app.request('/v1/shipments', withCookie(cookie!, 'POST', shipmentBody(), { origin: ORIGIN }));
    expect(res.status).toBe(403);
  });

  it("writes only with the console's own Origin", async () => {
    const { cookie } = await signIn(h.acme.keys.dispatcher);
    expect((await h.app.request('/v1/shipments', withCookie(cookie!, 'POST', shipmentBody()))).status).toBe(403);
    expect((await h.app.request('/v1/shipments', withCookie(cookie!, 'POST', shipmentBody(), { origin: 'https://evil.example' }))).status).toBe(403);
    const created = await h.app.request('/v1/shipments', withCookie(cookie!, 'POST', shipmentBody(), { origin: ORIGIN }));
    expect(created.status).toBe(201);
  });

  it('ends at once when its key is revoked', async () => {
    const issued = await h.call('POST', '/v1/api-keys', h.acme.keys.admin, { role: 'viewer', name: 'console user' });
    const { cookie } = await signIn(issued.body.apiKey);
    expect((await h.app.request('/v1/shipments', withCookie(cookie!))).status).toBe(200);
    expect((await h.call('DELETE', `/v1/api-keys/${issued.body.id}`, h.acme.keys.admin)).status).toBe(200);
    const after = await h.app.request('/v1/shipments', withCookie(cookie!));
    expect(after.status).toBe(401);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
  });

  it('ends on sign-out, which clears the cookie', async () => {
    const { cookie } = await signIn(h.acme.keys.viewer);
    const out = await h.app.request('/v1/sessions/current', withCookie(cookie!, 'DELETE', undefined, { origin: ORIGIN }));
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/retrack_session=;/);
    expect((await h.app.request('/v1/shipments', withCookie(cookie!))).status).toBe(401);
  });

  it('is refused once expired', async () => {
    const { cookie } = await signIn(h.acme.keys.viewer);
    const idHash = createHash('sha256').update(cookie!).digest('hex');
    await h.database.db.updateTable('console_sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('id_hash', '=', idHash).execute();
    expect((await h.app.request('/v1/shipments', withCookie(cookie!))).status).toBe(401);
  });
});

describe('console pages', () => {
  it('send a strict Content-Security-Policy and no inline script', async () => {
    const res = await h.app.request('/app/shipments/x');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    const html = await res.text();
    expect(html).toMatch(/<script type="module" src="\/app\/assets\/console\.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("allow the origin of MAP_STYLE_URL and hand the style to the page", async () => {
    const logger = createLogger({ name: 'console-test', level: 'silent' });
    const app = createApp({ db: h.database.db, temporal: h.client, logger, keys: h.keys, ingest: h.ingest, config: { console: { mapStyleUrl: 'https://tiles.example.com/styles/basic/style.json' } } });
    const res = await app.request('/app');
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self' https://tiles.example.com");
    expect(await res.text()).toContain('content="https://tiles.example.com/styles/basic/style.json"');
  });
});
