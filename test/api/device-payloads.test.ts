// Real device payloads (issue 11, item 4): a Teltonika/Traccar-style fix with many telematics
// attributes, an iOS Core Location fix with its "unknown" sentinels, and the limits of `attributes`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_LIMITS } from '../../api/schemas.js';
import { fixes, shipmentBody, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

async function createShipment(): Promise<string> {
  const res = await h.call('POST', '/v1/shipments', h.acme.keys.dispatcher, shipmentBody({ deviceId: h.acme.fleet.deviceId }));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

const push = (shipmentId: string, positions: unknown[]) => h.call('POST', `/v1/shipments/${shipmentId}/positions`, h.acme.keys.device, { positions });
const stored = async (shipmentId: string) => (await h.call('GET', `/v1/shipments/${shipmentId}/positions`, h.acme.keys.viewer)).body.items;

describe('device payloads', () => {
  it('stores a Teltonika-style fix with its telemetry and vendor attributes, and returns them on reads', async () => {
    const id = await createShipment();
    const teltonika = {
      recordedAt: minutesAgo(5),
      lat: 45.7485,
      lon: 4.8467,
      speedKmh: 62,
      headingDeg: 271,
      accuracyM: 4.2,
      altitudeM: 173,
      satellites: 14,
      hdop: 0.7,
      ignition: true,
      batteryPct: 87,
      batteryV: 24.6,
      odometerKm: 412_876.3,
      temperatureC: 3.8,
      humidityPct: 61,
      doorOpen: false,
      eventCode: '240',
      attributes: { io239: 1, io240: 1, io21: 4, io66: 24612, rssi: -71, 'fw.version': '03.28.07', gnssStatus: 'fix3d', movement: true },
    };
    expect((await push(id, [teltonika])).status).toBe(202);
    const [row] = await stored(id);
    expect(row).toMatchObject(teltonika);
    expect(row).toMatchObject({ shipmentId: id, deviceId: h.acme.fleet.deviceId, receivedAt: expect.any(String) });

    const byDevice = (await h.call('GET', `/v1/devices/${h.acme.fleet.deviceId}/positions`, h.acme.keys.viewer)).body.items;
    expect(byDevice.find((p: { recordedAt: string }) => p.recordedAt === teltonika.recordedAt)).toMatchObject({ attributes: teltonika.attributes, satellites: 14 });
  });

  it('takes the sentinels of iOS and trackers as "unknown" instead of refusing the batch', async () => {
    const id = await createShipment();
    const ios = [
      { recordedAt: minutesAgo(4), lat: 45.75, lon: 4.85, speedKmh: -1, headingDeg: -1, accuracyM: 65, altitudeM: 171.4 },
      { recordedAt: minutesAgo(3), lat: 45.751, lon: 4.851, speedKmh: 12, headingDeg: 361, accuracyM: -1 },
      { recordedAt: minutesAgo(2), lat: 45.752, lon: 4.852, speedKmh: 0, headingDeg: 360, accuracyM: 0 },
    ];
    const res = await push(id, ios);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.accepted).toBe(3);
    const rows = await stored(id);
    expect(rows[0]).not.toHaveProperty('speedKmh');
    expect(rows[0]).not.toHaveProperty('headingDeg');
    expect(rows[0]).toMatchObject({ accuracyM: 65, altitudeM: 171.4 });
    expect(rows[1]).toMatchObject({ speedKmh: 12 });
    expect(rows[1]).not.toHaveProperty('headingDeg');
    expect(rows[1]).not.toHaveProperty('accuracyM');
    expect(rows[2]).toMatchObject({ speedKmh: 0, headingDeg: 360 });
    expect(rows[2]).not.toHaveProperty('accuracyM');
  });

  it('still refuses values out of range that are not sentinels, naming the field', async () => {
    const id = await createShipment();
    const [fix] = fixes(1);
    const res = await push(id, [{ ...fix, speedKmh: 900, accuracyM: 200_000, satellites: 3.5, batteryPct: 140, hdop: -2 }]);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'positions[0].accuracyM',
      'positions[0].batteryPct',
      'positions[0].hdop',
      'positions[0].satellites',
      'positions[0].speedKmh',
    ]);
  });

  it('refuses unknown top-level fields, naming each and pointing to attributes', async () => {
    const id = await createShipment();
    const [fix] = fixes(1);
    const res = await push(id, [{ ...fix, rssi: -70, io239: 1 }]);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['positions[0].io239', 'positions[0].rssi']);
    for (const error of res.body.errors) expect(error.message).toContain('attributes');
  });

  it('bounds attributes: key count, key shape and length, value types and length, total size', async () => {
    const id = await createShipment();
    const [fix] = fixes(1);
    const tooMany = Object.fromEntries(Array.from({ length: ATTRIBUTE_LIMITS.keys + 1 }, (_, i) => [`io${i}`, i]));
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [tooMany, 'positions[0].attributes', /at most 32 keys/],
      [{ ['k'.repeat(ATTRIBUTE_LIMITS.keyLength + 1)]: 1 }, `positions[0].attributes.${'k'.repeat(ATTRIBUTE_LIMITS.keyLength + 1)}`, /keys are 1-64 letters/],
      [{ 'bad key': 1 }, 'positions[0].attributes.bad key', /keys are 1-64 letters/],
      [{ nested: { a: 1 } }, 'positions[0].attributes.nested', /values are numbers, booleans or text/],
      [{ list: [1, 2] }, 'positions[0].attributes.list', /values are numbers, booleans or text/],
      [{ note: 'x'.repeat(ATTRIBUTE_LIMITS.textLength + 1) }, 'positions[0].attributes.note', /at most 256 characters/],
      [{ note: 'a\u0000b' }, 'positions[0].attributes.note', /NUL/],
      [Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`blob${i}`, 'y'.repeat(250)])), 'positions[0].attributes', /at most 2048 bytes/],
    ];
    for (const [attributes, field, message] of cases) {
      const res = await push(id, [{ ...fix, attributes }]);
      expect(res.status, JSON.stringify(attributes).slice(0, 80)).toBe(400);
      const error = res.body.errors.find((e: { field: string }) => e.field === field);
      expect(error, JSON.stringify(res.body.errors)).toBeDefined();
      expect(error.message).toMatch(message);
    }
    expect(await stored(id)).toEqual([]);
  });
});
