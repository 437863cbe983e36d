// Drives a planned simulation through the real API: provisions the fleet (when the API has
// fleet endpoints), creates one shipment per truck anchored on its accelerated clock, plays
// each trace's deliveries at their simulated send times, cancels where the scenario says so,
// and finally compares what the platform shows with what each scenario should produce.
import type { Fix, ShipmentView } from '../domain/types.js';
import { ApiClient, sleep as realSleep, type Capabilities, type Sleep } from './api-client.js';
import { AcceleratedClock, type Now } from './clock.js';
import type { Fleet, VehicleSpec } from './fleet.js';
import { toFix } from './motion.js';
import { createShipmentBody, type Expectation, type ShipmentSpec, type SimulationPlan } from './scenarios.js';

export interface ProvisionedVehicle {
  carrierId?: string;
  vehicleId?: string;
  driverId?: string;
  /** The API's device id with fleet endpoints, else the tracker's external id. */
  deviceId: string;
  /** A device-role key: fixes go through POST /v1/positions with it. */
  deviceClient?: ApiClient;
}

export type Log = (line: string) => void;

/** Keep only the properties a strict request schema accepts (unknown names would be a 400). */
function fit(caps: Capabilities, path: string, body: Record<string, unknown>): Record<string, unknown> {
  const fields = caps.bodyFields(path);
  return fields ? Object.fromEntries(Object.entries(body).filter(([k, v]) => fields.has(k) && v !== undefined)) : body;
}

const idOf = (body: unknown): string => {
  const id = (body as { id?: unknown })?.id;
  if (typeof id !== 'string') throw new Error(`no id in ${JSON.stringify(body)}`);
  return id;
};

const secretOf = (body: unknown): string | undefined => {
  const b = body as Record<string, unknown>;
  const value = b?.apiKey ?? b?.secret ?? b?.key ?? b?.token;
  return typeof value === 'string' ? value : undefined;
};

/**
 * Creates carriers, drivers, vehicles and devices (and a device key per device) when the API
 * offers them; otherwise (or if the fleet API refuses our bodies) falls back to tenant-key
 * pushes per shipment, with the tracker's external id as the shipment's deviceId.
 */
export async function provisionFleet(client: ApiClient, caps: Capabilities, fleet: Fleet, tag: string, log: Log): Promise<ProvisionedVehicle[]> {
  const fallback = () => fleet.vehicles.map((v) => ({ deviceId: v.device.externalId }));
  if (!caps.fleet) {
    log('fleet endpoints not offered by this API: fixes go per shipment with the tenant key');
    return fallback();
  }
  try {
    const carrierIds = new Map<string, string>();
    for (const c of fleet.carriers) {
      const body = fit(caps, '/v1/carriers', { name: `${c.name} (${tag})`, country: c.country });
      carrierIds.set(c.key, idOf(await client.json('POST', '/v1/carriers', body)));
    }
    const out: ProvisionedVehicle[] = [];
    for (const v of fleet.vehicles) out.push(await provisionVehicle(client, caps, v, carrierIds.get(v.carrierKey)!, tag));
    log(`fleet created: ${fleet.carriers.length} carriers, ${fleet.vehicles.length} trucks, drivers and devices`);
    return out;
  } catch (error) {
    log(`fleet creation failed (${(error as Error).message}); falling back to per-shipment pushes with the tenant key`);
    return fallback();
  }
}

async function provisionVehicle(client: ApiClient, caps: Capabilities, v: VehicleSpec, carrierId: string, tag: string): Promise<ProvisionedVehicle> {
  const driverId = idOf(await client.json('POST', '/v1/drivers', fit(caps, '/v1/drivers', { name: v.driver.name, carrierId })));
  const vehicleId = idOf(
    await client.json(
      'POST',
      '/v1/vehicles',
      fit(caps, '/v1/vehicles', {
        carrierId,
        registration: v.registration,
        licensePlate: v.registration,
        plate: v.registration,
        name: `${v.make} ${v.registration}`,
        make: v.make,
      }),
    ),
  );
  const deviceId = idOf(
    await client.json(
      'POST',
      '/v1/devices',
      fit(caps, '/v1/devices', {
        externalId: `${v.device.externalId}-${tag}`,
        type: v.device.type,
        kind: v.device.type,
        name: `${v.device.type} on ${v.registration}`,
        vehicleId,
        carrierId,
      }),
    ),
  );
  let deviceClient: ApiClient | undefined;
  if (caps.apiKeys && caps.devicePositions) {
    const issued = await client.json('POST', '/v1/api-keys', fit(caps, '/v1/api-keys', { role: 'device', deviceId, name: `device ${v.device.externalId}` }));
    const secret = secretOf(issued);
    if (secret) deviceClient = client.withKey(secret);
  }
  return { carrierId, vehicleId, driverId, deviceId, deviceClient };
}

export interface VehicleProgress {
  key: string;
  scenario: string;
  shipmentId?: string;
  fixesSent: number;
  deliveriesSent: number;
  deliveriesTotal: number;
  rejected: number;
  status?: string;
  milestones: number;
  anomalies: string[];
  done: boolean;
}

export interface ScenarioCheck {
  key: string;
  scenario: string;
  shipmentId: string;
  ok: boolean;
  problems: string[];
  view: ShipmentView;
}

/**
 * What the platform shows against what the scenario should produce. With the trip's start on the
 * simulated clock, milestones that state a time must be within their tolerance of it.
 */
export function checkExpectation(expect: Expectation, view: ShipmentView, options: { anomalies: boolean; tripStartMs?: number } = { anomalies: true }): string[] {
  const problems: string[] = [];
  const sequenceOf = (i: number) => view.stops[i]?.sequence;
  const wanted = expect.milestones.map((m) => `${m.type}@${sequenceOf(m.stopIndex)}`);
  const seen = view.milestones.map((m) => `${m.type}@${m.stopSequence}`);
  if (wanted.join(',') !== seen.join(',')) problems.push(`milestones: expected [${wanted.join(', ')}], saw [${seen.join(', ')}]`);
  expect.milestones.forEach((m, i) => {
    const actual = view.milestones[i];
    if (options.tripStartMs === undefined || m.atMs === undefined || m.toleranceMs === undefined || !actual || `${actual.type}@${actual.stopSequence}` !== wanted[i]) return;
    const offMin = (Date.parse(actual.at) - (options.tripStartMs + m.atMs)) / 60_000;
    if (Math.abs(offMin) * 60_000 > m.toleranceMs) problems.push(`${wanted[i]}: at ${actual.at}, ${offMin.toFixed(1)} min from the trip's ${new Date(options.tripStartMs + m.atMs).toISOString()}`);
  });
  if (view.status !== expect.finalStatus) problems.push(`status: expected ${expect.finalStatus}, saw ${view.status}`);
  const anomalyTypes = new Set(view.anomalies.map((a) => a.type));
  if (options.anomalies) for (const a of expect.anomalies) if (!anomalyTypes.has(a)) problems.push(`anomaly ${a} expected, saw [${[...anomalyTypes].join(', ')}]`);
  for (const a of expect.forbiddenAnomalies ?? []) if (anomalyTypes.has(a)) problems.push(`anomaly ${a} must not open`);
  return problems;
}

export interface DriveOptions {
  client: ApiClient;
  plan: SimulationPlan;
  acceleration: number;
  /** Makes references unique per run so a re-run never collides with an earlier one. */
  runTag: string;
  log: Log;
  /** How often a progress line is printed (real ms); 0 disables. */
  progressEveryMs?: number;
  /** Longest real time to wait after the last fix for the platform to show what is expected. */
  settleMs?: number;
  /** Also require each scenario's anomaly (off while the platform raises none yet). */
  checkAnomalies?: boolean;
  now?: Now;
  sleep?: Sleep;
}

export interface DriveReport {
  checks: ScenarioCheck[];
  progress: VehicleProgress[];
  mode: 'device-keys' | 'tenant-key';
}

/** Plays the whole plan through the API. Resolves when every truck has finished and was checked. */
export async function drivePlan(options: DriveOptions): Promise<DriveReport> {
  const { client, plan, acceleration, log } = options;
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? realSleep;
  const caps = await client.capabilities();
  const vehicles = await provisionFleet(client, caps, plan.fleet, options.runTag, log);
  const realStartMs = now();
  const progress: VehicleProgress[] = plan.shipments.map((s) => ({
    key: s.key,
    scenario: s.scenario,
    fixesSent: 0,
    deliveriesSent: 0,
    deliveriesTotal: s.trace.deliveries.length,
    rejected: 0,
    milestones: 0,
    anomalies: [],
    done: false,
  }));

  const trips = await Promise.all(
    plan.shipments.map(async (spec, i) => {
      const clock = AcceleratedClock.anchored({ durationMs: spec.trace.endMs, acceleration, realStartMs, marginMs: 5_000, now });
      const vehicle = vehicles[spec.vehicleIndex]!;
      const fleetVehicle = plan.fleet.vehicles[spec.vehicleIndex]!;
      const assignment = vehicle.vehicleId
        ? { carrierId: vehicle.carrierId, vehicleId: vehicle.vehicleId, driverId: vehicle.driverId, deviceId: vehicle.deviceId }
        : { carrierId: fleetVehicle.carrierKey, vehicleId: fleetVehicle.key, driverId: fleetVehicle.driver.key, deviceId: vehicle.deviceId };
      const body = createShipmentBody(spec, {
        reference: `SIM-${options.runTag}-${spec.key}`,
        tripStartMs: clock.simStartMs,
        assignment,
        thresholdFields: caps.thresholdFields,
      });
      const created = await client.json<ShipmentView>('POST', '/v1/shipments', body);
      progress[i]!.shipmentId = created.id;
      return { spec, clock, vehicle, shipmentId: created.id };
    }),
  );
  const mode = trips.every((t) => t.vehicle.deviceClient) ? 'device-keys' : 'tenant-key';
  log(`${trips.length} shipments created; driving at ${acceleration}× (${mode}); longest trip ${(Math.max(...plan.shipments.map((s) => s.trace.endMs)) / 3600_000).toFixed(1)} h simulated`);

  let stopProgress = false;
  const reporter = (async () => {
    const every = options.progressEveryMs ?? 10_000;
    if (every <= 0) return;
    let nextAt = now() + every;
    while (!stopProgress) {
      await pause(Math.min(500, every));
      if (stopProgress || now() < nextAt) continue;
      nextAt += every;
      await Promise.all(
        trips.map(async (t, i) => {
          const view = await client.send<ShipmentView>('GET', `/v1/shipments/${t.shipmentId}`);
          if (view.status === 200) {
            progress[i]!.status = view.body.status;
            progress[i]!.milestones = view.body.milestones.length;
            progress[i]!.anomalies = view.body.anomalies.filter((a) => a.status === 'open').map((a) => a.type);
          }
        }),
      );
      log(progressLine(progress));
    }
  })();

  await Promise.all(trips.map((t, i) => driveTrip(t, progress[i]!, client, pause, log)));
  stopProgress = true;
  await reporter;

  // The platform processes the last uploads asynchronously: poll until it shows what each
  // scenario should produce, or until the settle time is up.
  const deadline = now() + (options.settleMs ?? 30_000);
  let checks: ScenarioCheck[] = [];
  for (;;) {
    checks = await Promise.all(
      trips.map(async (t) => {
        const view = await client.json<ShipmentView>('GET', `/v1/shipments/${t.shipmentId}`);
        const problems = checkExpectation(t.spec.expect, view, { anomalies: options.checkAnomalies ?? true, tripStartMs: t.clock.simStartMs });
        return { key: t.spec.key, scenario: t.spec.scenario, shipmentId: t.shipmentId, ok: problems.length === 0, problems, view };
      }),
    );
    if (checks.every((c) => c.ok) || now() >= deadline) break;
    await pause(500);
  }
  return { checks, progress, mode };
}

async function driveTrip(
  trip: { spec: ShipmentSpec; clock: AcceleratedClock; vehicle: ProvisionedVehicle; shipmentId: string },
  progress: VehicleProgress,
  client: ApiClient,
  pause: Sleep,
  log: Log,
): Promise<void> {
  const { spec, clock, vehicle, shipmentId } = trip;
  const tripStart = clock.simStartMs;
  const cancelAt = spec.cancelAtMs;
  for (const delivery of spec.trace.deliveries) {
    if (cancelAt !== undefined && delivery.sendAtMs > cancelAt) break;
    await waitForSimTime(clock, tripStart + delivery.sendAtMs, pause);
    const fixes: Fix[] = delivery.fixes.map((f) => toFix(f, tripStart));
    const outcome = vehicle.deviceClient
      ? await vehicle.deviceClient.postDevicePositions(vehicle.deviceId, fixes)
      : await client.postShipmentPositions(shipmentId, fixes);
    progress.deliveriesSent++;
    progress.fixesSent += fixes.length;
    if (outcome.status !== 202 && outcome.status !== 200) {
      progress.rejected += fixes.length;
      log(`${spec.key}: ${fixes.length} fixes refused with ${outcome.status}`);
    }
  }
  if (cancelAt !== undefined) {
    await waitForSimTime(clock, tripStart + cancelAt, pause);
    await client.json('POST', `/v1/shipments/${shipmentId}/cancel`, { reason: 'Consignee cancelled the order (simulated)' });
    log(`${spec.key}: cancelled by dispatch`);
  }
  progress.done = true;
}

async function waitForSimTime(clock: AcceleratedClock, simMs: number, pause: Sleep): Promise<void> {
  for (let delay = clock.realDelayUntil(simMs); delay > 0; delay = clock.realDelayUntil(simMs)) await pause(delay);
}

function progressLine(progress: readonly VehicleProgress[]): string {
  return progress
    .map((p) => {
      const pct = p.deliveriesTotal ? Math.round((100 * p.deliveriesSent) / p.deliveriesTotal) : 100;
      const anomalies = p.anomalies.length ? ` !${p.anomalies.join('+')}` : '';
      return `${p.key}[${p.scenario}] ${pct}% ${p.status ?? '…'} m${p.milestones}${anomalies}`;
    })
    .join(' | ');
}
