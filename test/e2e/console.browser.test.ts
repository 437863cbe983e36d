/// <reference lib="dom" />
// The web console and the share page in a real browser (Debian's Chromium through playwright-core)
// against the whole platform in-process (Postgres, Temporal dev server, the real worker, the API
// on a real listener), with a simulated trip pushed through the API: sign in, the tenant's
// shipments and not another's, the map draws the track and stops, a pushed fix appears live, the
// ETA chart has points, replay moves the truck, a share link opens signed out and stops working
// when revoked, and no page logs an error. UPDATE_SCREENSHOTS=1 writes the screenshots to docs/.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '../../api/auth.js';
import { createTenant } from '../../db/repositories/tenants.js';
import { distanceM } from '../../domain/geo.js';
import type { Fix } from '../../domain/types.js';
import { PROJECT_ROOT } from '../../infra/tools.js';
import { createLogger } from '../../infra/logger.js';
import { canvasColours, collectErrors, launchChromium, renderedFeatures } from '../support/browser.js';
import { callJson, eventually } from '../support/http.js';
import { startInProcessStack, type InProcessStack } from '../support/stack.js';
import { generateTrip } from '../support/trip.js';

const logger = createLogger({ name: 'console-browser-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? resolve(PROJECT_ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'retrack-screens-'));
const LYON = { lat: 45.7485, lon: 4.8467 };
const MACON = { lat: 46.3069, lon: 4.8286 };
const WAIT_MS = 20_000;

let stack: InProcessStack;
let browser: Browser;
let page: Page;
let errors: string[];
let shipment: { id: string; reference: string };
let otherReference: string;
let lastFix: Fix;

/** Lyon → Mâcon, stopping 3 km short: 20 min at the pickup, then the drive, with 35 minutes of silence on the way. */
function trip(): Fix[] {
  const all = generateTrip([{ stop: LYON, dwellMin: 20 }, { stop: MACON, dwellMin: 15 }], { start: new Date(Date.now() - 3 * 3600_000), intervalSec: 60, speedKmh: 50 });
  const silenceFrom = Date.parse(all[0]!.recordedAt) + 35 * 60_000;
  const arrival = all.findIndex((f) => distanceM(f, MACON) < 3_000);
  return all.slice(0, arrival).filter((f) => Date.parse(f.recordedAt) < silenceFrom || Date.parse(f.recordedAt) >= silenceFrom + 35 * 60_000);
}

beforeAll(async () => {
  stack = await startInProcessStack({ logger, tenantName: 'Acme Freight', role: 'dispatcher' });
  const fixes = trip();
  const window = { start: fixes[0]!.recordedAt, end: new Date(Date.now() + 20 * 60_000).toISOString() };
  const created = await callJson(stack.baseUrl, 'POST', '/v1/shipments', stack.apiKey, {
    reference: `PO-CONSOLE-${Date.now()}`,
    stops: [
      { type: 'pickup', name: 'Lyon DC', location: LYON, geofenceRadiusM: 500 },
      { type: 'delivery', name: 'Mâcon store', location: MACON, geofenceRadiusM: 400, window },
    ],
    route: { type: 'LineString', coordinates: [[LYON.lon, LYON.lat], [4.85, 46.0], [MACON.lon, MACON.lat]] },
  });
  expect(created.status).toBe(201);
  shipment = created.body;
  // Hold the last fixes back: the open page must see them arrive.
  lastFix = fixes.at(-1)!;
  // Small uploads, as a tracker sends them: each batch may bring an ETA.
  for (let i = 0; i < fixes.length - 1; i += 8) {
    const res = await callJson(stack.baseUrl, 'POST', `/v1/shipments/${shipment.id}/positions`, stack.apiKey, { positions: fixes.slice(i, Math.min(i + 8, fixes.length - 1)) });
    expect(res.status).toBe(202);
  }
  await eventually(
    'the trip to be processed (departed the pickup, an ETA stored)',
    async () => {
      const view = await callJson(stack.baseUrl, 'GET', `/v1/shipments/${shipment.id}`, stack.apiKey);
      const history = await callJson(stack.baseUrl, 'GET', `/v1/shipments/${shipment.id}/eta-history`, stack.apiKey);
      return { departed: view.body.stops[0].status === 'DEPARTED', predictions: history.body.predictions.length };
    },
    (state) => state.departed && state.predictions > 0,
  );

  const other = await createTenant(stack.database.db, { name: 'Globex Logistics' });
  const otherKey = (await issueApiKey(stack.database.db, { tenantId: other.id, role: 'dispatcher' })).apiKey;
  otherReference = `PO-GLOBEX-${Date.now()}`;
  expect((await callJson(stack.baseUrl, 'POST', '/v1/shipments', otherKey, { reference: otherReference, stops: [{ type: 'pickup', name: 'Globex A', location: LYON }, { type: 'delivery', name: 'Globex B', location: MACON }] })).status).toBe(201);

  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  errors = collectErrors(page);
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the web console', () => {
  it("signs in with an API key and lists the tenant's shipments, not another tenant's", async () => {
    await page.goto(`${stack.baseUrl}/app`);
    await page.waitForURL('**/app/sign-in');
    await page.fill('#api-key', stack.apiKey);
    await page.click('#sign-in button[type=submit]');
    await page.waitForSelector(`.shipments[data-loaded] , [data-loaded]`, { timeout: WAIT_MS });
    await page.waitForSelector(`tr[data-shipment="${shipment.id}"]`, { timeout: WAIT_MS });
    const listed = await page.locator('#rows').innerText();
    expect(listed).toContain(shipment.reference);
    expect(listed).not.toContain(otherReference);
    expect(await page.locator('#counts').innerText()).toMatch(/1\s+in transit/i);
    // The key went into a cookie the page cannot read, nothing was stored.
    expect(await page.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)])).toEqual(['', '{}', '{}']);
    expect(await renderedFeatures(page, '#fleet-map', 'fleet')).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-shipments.png') });
  });

  it('draws the track, its gap, the stops, their geofences and the milestones on the shipment map', async () => {
    await page.click(`a[href="/app/shipments/${shipment.id}"]`);
    await page.waitForSelector('#shipment-map[data-ready="true"]', { timeout: WAIT_MS });
    expect(await canvasColours(page, '#shipment-map')).toBeGreaterThan(4);
    expect(await renderedFeatures(page, '#shipment-map', 'stops')).toBe(2);
    expect(await renderedFeatures(page, '#shipment-map', 'geofences')).toBeGreaterThanOrEqual(2);
    expect(await renderedFeatures(page, '#shipment-map', 'track')).toBeGreaterThanOrEqual(1);
    expect(await renderedFeatures(page, '#shipment-map', 'gaps')).toBeGreaterThanOrEqual(1);
    expect(await renderedFeatures(page, '#shipment-map', 'milestones')).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getAttribute('#shipment-map', 'data-track-vertices'))).toBeGreaterThan(20);
    expect(await page.locator('#timeline').innerText()).toMatch(/arrived · Lyon DC/);
    await page.screenshot({ path: join(SCREENSHOTS, 'console-shipment.png'), fullPage: true });
  });

  it('links the timeline and the map both ways', async () => {
    await page.locator('#timeline li.kind-ARRIVED').first().click();
    await page.waitForSelector('#timeline li.kind-ARRIVED.selected');
    const arrived = await page.locator('#timeline li.kind-ARRIVED').first().getAttribute('data-key');
    expect(await page.getAttribute('#shipment-map', 'data-selected')).toBe(arrived);
    await page.waitForFunction(() => !(document.querySelector('#shipment-map') as any).maplibreMap.isMoving());
    expect(await renderedFeatures(page, '#shipment-map', 'selected')).toBe(1);
    // Select something else, then click a milestone on the map: its timeline row is selected.
    await page.locator('#timeline li.kind-STATUS_CHANGED').first().click();
    await page.waitForFunction(() => !(document.querySelector('#shipment-map') as any).maplibreMap.isMoving());
    const point = await page.evaluate(() => {
      const map = (document.querySelector('#shipment-map') as any).maplibreMap;
      const [feature] = map.queryRenderedFeatures({ layers: ['milestones'] });
      return { key: feature.properties.key as string, ...(map.project(feature.geometry.coordinates) as { x: number; y: number }) };
    });
    const box = (await page.locator('#shipment-map').boundingBox())!;
    await page.mouse.click(box.x + point.x, box.y + point.y);
    await page.waitForSelector(`#timeline li.selected[data-key="${point.key}"]`, { timeout: WAIT_MS });
  });

  it('has points in the ETA history chart', async () => {
    expect(Number(await page.getAttribute('#eta-chart', 'data-points'))).toBeGreaterThan(0);
  });

  it('shows a fix pushed through the API without a reload', async () => {
    await page.waitForSelector('#shipment-map[data-live="true"]', { timeout: WAIT_MS });
    const before = await page.getAttribute('#shipment-map', 'data-truck');
    expect((await callJson(stack.baseUrl, 'POST', `/v1/shipments/${shipment.id}/positions`, stack.apiKey, { positions: [lastFix] })).status).toBe(202);
    await page.waitForSelector('#shipment-map[data-live-fixes="1"]', { timeout: WAIT_MS });
    expect(await page.getAttribute('#shipment-map', 'data-truck')).not.toBe(before);
  });

  it('moves the truck along the track in replay', async () => {
    const live = await page.getAttribute('#shipment-map', 'data-truck');
    await page.locator('#replay-time').fill('0');
    const start = await page.getAttribute('#shipment-map', 'data-truck');
    expect(start).not.toBe(live);
    expect(await page.locator('#replay-clock').innerText()).not.toBe('live');
    await page.selectOption('#speed', '1800');
    await page.click('#play');
    await page.waitForFunction((first) => document.querySelector('#shipment-map')!.getAttribute('data-truck') !== first, start, { timeout: WAIT_MS });
    await page.waitForSelector('#timeline li.current', { timeout: WAIT_MS });
    await page.click('#play');
  });

  it('creates a share link that opens signed out, and stops working once revoked', async () => {
    await page.click('#share-create');
    const url = (await page.waitForSelector('#share-url', { timeout: WAIT_MS })).getAttribute('href');
    const link = (await url)!;
    expect(link).toMatch(/\/track\/[A-Za-z0-9_-]{43}$/);

    const visitor = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    const visitorErrors = collectErrors(visitor);
    await visitor.goto(link);
    await visitor.waitForSelector('#track-map[data-ready="true"]', { timeout: WAIT_MS });
    expect(await canvasColours(visitor, '#track-map')).toBeGreaterThan(4);
    expect(await renderedFeatures(visitor, '#track-map', 'stops')).toBe(2);
    const text = await visitor.locator('main').innerText();
    expect(text).toContain('Lyon DC');
    expect(text).toContain('Mâcon store');
    const html = await visitor.content();
    for (const secret of [shipment.id, shipment.reference, stack.tenantId, stack.apiKey]) expect(html).not.toContain(secret);
    await visitor.screenshot({ path: join(SCREENSHOTS, 'share-page.png') });
    expect(visitorErrors).toEqual([]);

    await page.click('#share-list button[data-revoke]');
    await page.waitForSelector('#share-list li.link-revoked', { timeout: WAIT_MS });
    const gone = await visitor.goto(link);
    expect(gone?.status()).toBe(404);
    expect(await visitor.locator('h1').innerText()).toBe('Tracking link not found');
  });

  it('logged no console errors on the console pages', () => {
    expect(errors).toEqual([]);
  });
});
