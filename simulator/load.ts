// Load mode: a target rate of fixes per second for a duration, spread over many trucks, each
// truck uploading its own trace in order (one request in flight per truck, as a real device).
// Measures API latency per attempt and, on samples, three lags from the request on: until the fix
// is the shipment's reportedPosition in GET /v1/shipments/:id (stored: where a client sees the
// truck), until it is its lastPosition (the workflow applied it), and until the workflow has read
// every fix sent (its fixCounts: what decisions wait for); and writes the summary as JSON.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Fix, ShipmentView } from '../domain/types.js';
import { ApiClient, sleep, type AttemptRecord } from './api-client.js';
import { toFix, type TimedFix } from './motion.js';
import { Rng } from './random.js';
import { createShipmentBody, planSimulation } from './scenarios.js';

export interface LoadOptions {
  baseUrl: string;
  apiKey: string;
  ratePerSec: number;
  durationSec: number;
  vehicles?: number;
  /**
   * Plan only this many trucks and give their trips to the `vehicles` shipments in turn: a fleet
   * of 100,000 without planning each truck (every truck is planned when absent).
   */
  templates?: number;
  /** Lag samples start only after this many seconds of load (a fleet warming up: first reads, run starts). */
  warmupSec?: number;
  /** Each truck starts somewhere between 20 % and 80 % of its trip (a live fleet at mid-day), not at its pickup. */
  midTrip?: boolean;
  batchSize: number;
  /** Requests in flight at most (across trucks). */
  concurrency: number;
  seed: string;
  /** Take a lag sample every so often (real ms), when fewer than `lagSamplers` are running. */
  lagSampleEveryMs: number;
  /** Lag samples polling at once (default 2): each polls GET /v1/shipments/:id (lagPollMs). */
  lagSamplers?: number;
  /** Where the JSON summary is saved; nothing is written without it. */
  outDir?: string;
  runTag: string;
  log: (line: string) => void;
  /** Called once the trucks are planned, right before their shipments are created. */
  onCreating?: () => void;
  /** Progress output (a terminal line rewritten in place when it is one). */
  progress: (line: string, final: boolean) => void;
  fetch?: typeof fetch;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface LoadSummary {
  startedAt: string;
  options: {
    ratePerSec: number;
    durationSec: number;
    vehicles: number;
    /** Distinct planned trips the vehicles share (= vehicles unless LoadOptions.templates). */
    templates: number;
    batchSize: number;
    concurrency: number;
    seed: string;
    baseUrl: string;
    lag: { sampleEveryMs: number; samplers: number; pollMs: { first2s: number; after: number }; warmupSec: number };
  };
  /** Creating the run's shipments through POST /v1/shipment-batches. */
  creation: { shipments: number; seconds: number; perSec: number };
  elapsedSec: number;
  achievedFixesPerSec: number;
  fixes: { sent: number; accepted: number; duplicates: number; rejectedByStatus: Record<string, number>; unsentBehindTarget: number };
  requests: { sent: number; retries: number; attemptsByStatus: Record<string, number> };
  apiLatencyMs: Percentiles;
  endToEndLagMs: Percentiles & { timeouts: number };
  /** Uploads the API answered `deferred` (calm-zone fixes), and the lag samples split by that answer. */
  deferredUploads: number;
  lagByDeliveryMs: { immediate: Percentiles; deferred: Percentiles };
  /** Until the sampled upload was the shipment's reportedPosition (stored and shown, read or not), split the same way. */
  reportedLagMs: Percentiles;
  reportedLagByDeliveryMs: { immediate: Percentiles; deferred: Percentiles };
  /** Until the workflow had read the sampled upload (its fixCounts cover every fix sent), split the same way. */
  readLagMs: Percentiles & { timeouts: number };
  readLagByDeliveryMs: { immediate: Percentiles; deferred: Percentiles };
  outFile?: string;
}

/** Lag samples, all of them and split by whether the API deferred the upload. */
function lagSamples() {
  const all: number[] = [];
  const split = { immediate: [] as number[], deferred: [] as number[] };
  return {
    all,
    record(delivery: 'immediate' | 'deferred', ms: number) {
      all.push(ms);
      split[delivery].push(ms);
    },
    byDelivery: () => ({ immediate: percentiles(split.immediate), deferred: percentiles(split.deferred) }),
  };
}

/** Nearest-rank percentiles. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! * 10) / 10;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: Math.round(sorted[sorted.length - 1]! * 10) / 10 };
}

/** Tallies outcomes so that a retried batch counts its fixes once, by its final answer. */
export class LoadCounters {
  sent = 0;
  accepted = 0;
  duplicates = 0;
  requests = 0;
  retries = 0;
  readonly rejectedByStatus: Record<string, number> = {};
  readonly attemptsByStatus: Record<string, number> = {};
  readonly latencies: number[] = [];

  recordAttempt(a: AttemptRecord): void {
    const key = a.status === 0 ? 'network-error' : String(a.status);
    this.attemptsByStatus[key] = (this.attemptsByStatus[key] ?? 0) + 1;
    this.latencies.push(a.latencyMs);
  }

  recordOutcome(fixes: number, outcome: { status: number; accepted: number; duplicates: number; attempts: number; ambiguousRetry: boolean }): void {
    this.sent += fixes;
    this.requests += 1;
    this.retries += outcome.attempts - 1;
    if (outcome.status >= 200 && outcome.status < 300) {
      // After a 5xx or a lost answer the first attempt may have stored the fixes: the retry then
      // reports them as duplicates, but they were this request's own, accepted once.
      this.accepted += outcome.accepted + (outcome.ambiguousRetry ? outcome.duplicates : 0);
      this.duplicates += outcome.ambiguousRetry ? 0 : outcome.duplicates;
    } else {
      const key = outcome.status === 0 ? 'network-error' : String(outcome.status);
      this.rejectedByStatus[key] = (this.rejectedByStatus[key] ?? 0) + fixes;
    }
  }
}

/** Shipments per bulk-create request (the endpoint's maximum), and such requests in flight. */
const CREATE_BATCH = 200;
const CREATE_BATCHES_IN_FLIGHT = 2;

/**
 * Poll interval of a lag sample: its resolution (a lag is over-stated by up to this much). Fine
 * while the lag may still meet a 2 s target, coarse after: a lag of 30 s polled every 100 ms would
 * make the samplers a load of their own (every poll is a workflow query).
 */
export const LAG_POLL_MS = { first2s: 100, after: 1_000 };
const lagPollMs = (waitedMs: number) => (waitedMs < 2_000 ? LAG_POLL_MS.first2s : LAG_POLL_MS.after);

interface LoadVehicle {
  shipmentId: string;
  /** The planned trace (shared by the shipments of one template) and where it starts in real time. */
  trace: TimedFix[];
  tripStart: number;
  next: number;
  /** Fixes sent to its shipment so far (a mid-trip truck starts past its first fix). */
  sent: number;
  busy: boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const counters = new LoadCounters();
  const client = new ApiClient({
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    fetch: options.fetch,
    onAttempt: (a) => {
      if (a.method === 'POST' && a.path.endsWith('/positions')) counters.recordAttempt(a);
    },
  });
  const total = options.ratePerSec * options.durationSec;
  const vehicleCount = options.vehicles ?? Math.min(5_000, Math.max(10, Math.ceil(total / 400)));

  const templateCount = Math.min(vehicleCount, options.templates ?? vehicleCount);
  options.log(`planning ${templateCount} trucks (seed ${options.seed})…`);
  const plan = planSimulation({
    seed: options.seed,
    vehicles: templateCount,
    scenario: 'on-time',
    deviceType: 'eld',
    // Pure throughput: no deliberate repeats or late batches; the trace is sent in order.
    motion: { duplicateRate: 0, outOfOrderRate: 0, coverageGapsPerHour: 0 },
  });
  const caps = await client.capabilities();
  const realStart = Date.now();
  const vehicles: LoadVehicle[] = [];
  options.log(`creating ${vehicleCount} shipments…`);
  // Through the bulk endpoint (as a TMS syncs its plan), a few batches in flight: the creation rate is reported.
  options.onCreating?.();
  const creationStart = performance.now();
  const batches: number[][] = [];
  for (let i = 0; i < vehicleCount; i += CREATE_BATCH) batches.push(Array.from({ length: Math.min(CREATE_BATCH, vehicleCount - i) }, (_, k) => i + k));
  const created: LoadVehicle[] = [];
  for (let i = 0; i < batches.length; i += CREATE_BATCHES_IN_FLIGHT) {
    created.push(
      ...(await Promise.all(
        batches.slice(i, i + CREATE_BATCHES_IN_FLIGHT).map(async (batch) => {
          const specs = batch.map((index) => {
            const spec = plan.shipments[index % templateCount]!;
            const copy = Math.floor(index / templateCount);
            // The whole trace lies in the past, so no fix is ever ahead of the server's clock.
            const tripStart = realStart - spec.trace.endMs - 60_000;
            const reference = `LOAD-${options.runTag}-${spec.key}${copy > 0 ? `-${copy}` : ''}`;
            // No device assignment: fixes go to the per-shipment endpoint, and a device id would have
            // to name a device created through the fleet API first.
            return { spec, tripStart, body: createShipmentBody(spec, { reference, tripStartMs: tripStart, thresholdFields: caps.thresholdFields }) };
          });
          const result = await client.json<{ results: { status: number; shipment?: ShipmentView; problem?: { detail?: string } }[] }>('POST', '/v1/shipment-batches', { shipments: specs.map((s) => s.body) });
          return result.results.map((outcome, j) => {
            if (!outcome.shipment) throw new Error(`creating ${specs[j]!.spec.key} failed with ${outcome.status}: ${outcome.problem?.detail ?? ''}`);
            return { shipmentId: outcome.shipment.id, trace: specs[j]!.spec.trace.fixes, tripStart: specs[j]!.tripStart, next: 0, sent: 0, busy: false };
          });
        }),
      )).flat(),
    );
  }
  const startRng = new Rng(`${options.seed}/mid-trip`);
  if (options.midTrip) for (const vehicle of created) vehicle.next = Math.floor(vehicle.trace.length * startRng.between(0.2, 0.8));
  vehicles.push(...created);
  const creationSec = (performance.now() - creationStart) / 1000;
  options.log(`created ${vehicleCount} shipments in ${creationSec.toFixed(1)} s (${Math.round(vehicleCount / creationSec)}/s)`);

  // Every poll is a workflow query plus a describe on Temporal: the samplers' own load is bounded
  // at lagSamplers x 10 reads per second while lags are short, lagSamplers x 1 once they are long.
  const maxSamplers = options.lagSamplers ?? 2;
  const reportedLags = lagSamples();
  const lags = lagSamples();
  const readLags = lagSamples();
  let deferredUploads = 0;
  let lagTimeouts = 0;
  let readTimeouts = 0;
  let activeSamplers = 0;
  const inFlight = new Set<Promise<void>>();
  // Samples run beside the uploads: they hold no upload slot and do not count in the elapsed time.
  const sampling = new Set<Promise<void>>();
  const startedAt = new Date();
  const t0 = performance.now();
  let dispatched = 0;
  let lastSampleAt = -Infinity;
  let cursor = 0;

  /**
   * Each truck's trace is sent in order, so the upload is shown once reportedPosition, and applied
   * once lastPosition, reaches its first fix (its last fix may be too inaccurate to ever become
   * either), and read once the workflow's fixCounts account for every fix sent to the shipment so
   * far (`fixesSent`).
   */
  const sampleLag = async (vehicle: LoadVehicle, recordedAt: string, sentAt: number, deferred: boolean, fixesSent: number) => {
    const delivery = deferred ? 'deferred' : 'immediate';
    let reportedSeen = false;
    let seen = false;
    try {
      // Long enough for a deferred delivery (INGEST_DEFER_MS, at most 5 minutes) and its processing.
      const deadline = sentAt + 330_000;
      while (performance.now() < deadline) {
        const view = await client.send<ShipmentView & { reportedPosition?: Fix }>('GET', `/v1/shipments/${vehicle.shipmentId}`);
        const reported = view.status === 200 ? view.body.reportedPosition?.recordedAt : undefined;
        if (!reportedSeen && reported && Date.parse(reported) >= Date.parse(recordedAt)) {
          reportedSeen = true;
          reportedLags.record(delivery, performance.now() - sentAt);
        }
        const last = view.status === 200 ? view.body.lastPosition?.recordedAt : undefined;
        if (!seen && last && Date.parse(last) >= Date.parse(recordedAt)) {
          seen = true;
          lags.record(delivery, performance.now() - sentAt);
        }
        // Live state only (x-state-source: workflow); late fixes are counted in `applied` too.
        const counts = view.status === 200 ? view.body.fixCounts : undefined;
        if (seen && counts && counts.applied + counts.duplicates + counts.ignored >= fixesSent) {
          readLags.record(delivery, performance.now() - sentAt);
          return;
        }
        await sleep(lagPollMs(performance.now() - sentAt));
      }
      if (seen) readTimeouts++;
      else lagTimeouts++;
    } finally {
      activeSamplers--;
    }
  };

  const send = (vehicle: LoadVehicle, sample: boolean) => {
    const fixes = vehicle.trace.slice(vehicle.next, vehicle.next + options.batchSize).map((fix) => toFix(fix, vehicle.tripStart));
    vehicle.next += fixes.length;
    vehicle.sent += fixes.length;
    const fixesSent = vehicle.sent;
    vehicle.busy = true;
    dispatched += fixes.length;
    const sentAt = performance.now();
    const task = client
      .postShipmentPositions(vehicle.shipmentId, fixes)
      .then(async (outcome) => {
        counters.recordOutcome(fixes.length, outcome);
        if (outcome.deferred) deferredUploads += 1;
        vehicle.busy = false;
        if (sample && outcome.status >= 200 && outcome.status < 300) {
          const sampled = sampleLag(vehicle, fixes[0]!.recordedAt, sentAt, outcome.deferred, fixesSent).finally(() => sampling.delete(sampled));
          sampling.add(sampled);
        } else if (sample) {
          activeSamplers--;
        }
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  const nextIdle = (): LoadVehicle | undefined => {
    for (let k = 0; k < vehicles.length; k++) {
      const v = vehicles[(cursor + k) % vehicles.length]!;
      if (!v.busy && v.next < v.trace.length) {
        cursor = (cursor + k + 1) % vehicles.length;
        return v;
      }
    }
    return undefined;
  };

  let lastProgress = 0;
  const progress = (final: boolean) => {
    const elapsed = (performance.now() - t0) / 1000;
    const lat = percentiles(counters.latencies);
    const lag = percentiles(lags.all);
    options.progress(
      `${elapsed.toFixed(0)}s/${options.durationSec}s sent ${counters.sent} (${(counters.sent / Math.max(elapsed, 0.001)).toFixed(0)}/s) ` +
        `accepted ${counters.accepted} dup ${counters.duplicates} rejected ${Object.values(counters.rejectedByStatus).reduce((a, b) => a + b, 0)} ` +
        `in-flight ${inFlight.size} latency p95 ${lat.p95 ?? '-'}ms lag p99 ${lag.p99 ?? '-'}ms (${lag.count})`,
      final,
    );
  };

  while (performance.now() - t0 < options.durationSec * 1000) {
    const elapsedMs = performance.now() - t0;
    const target = (options.ratePerSec * elapsedMs) / 1000;
    // Falling more than a second behind the target means the system is saturated: don't burst
    // to catch up, count what could not be sent instead.
    if (target - dispatched > options.ratePerSec) dispatched = target - options.ratePerSec;
    while (target - dispatched >= Math.min(options.batchSize, options.ratePerSec / 20) && inFlight.size < options.concurrency) {
      const vehicle = nextIdle();
      if (!vehicle) break;
      const sample = elapsedMs >= (options.warmupSec ?? 0) * 1000 && elapsedMs - lastSampleAt >= options.lagSampleEveryMs && activeSamplers < maxSamplers;
      if (sample) {
        // Counted from the upload on, so uploads in flight cannot start more samples than allowed.
        lastSampleAt = elapsedMs;
        activeSamplers++;
      }
      send(vehicle, sample);
    }
    if (elapsedMs - lastProgress >= 1_000) {
      lastProgress = elapsedMs;
      progress(false);
    }
    await sleep(2);
  }
  while (inFlight.size > 0) await Promise.race(inFlight);
  const elapsedSec = (performance.now() - t0) / 1000;
  await Promise.all(sampling);
  progress(true);

  const summary: LoadSummary = {
    startedAt: startedAt.toISOString(),
    options: {
      ratePerSec: options.ratePerSec,
      durationSec: options.durationSec,
      vehicles: vehicleCount,
      templates: templateCount,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      seed: options.seed,
      baseUrl: options.baseUrl,
      lag: { sampleEveryMs: options.lagSampleEveryMs, samplers: maxSamplers, pollMs: LAG_POLL_MS, warmupSec: options.warmupSec ?? 0 },
    },
    creation: { shipments: vehicleCount, seconds: Math.round(creationSec * 10) / 10, perSec: Math.round(vehicleCount / creationSec) },
    elapsedSec: Math.round(elapsedSec * 10) / 10,
    achievedFixesPerSec: Math.round(counters.sent / elapsedSec),
    fixes: {
      sent: counters.sent,
      accepted: counters.accepted,
      duplicates: counters.duplicates,
      rejectedByStatus: counters.rejectedByStatus,
      unsentBehindTarget: Math.max(0, Math.round(total - counters.sent)),
    },
    requests: { sent: counters.requests, retries: counters.retries, attemptsByStatus: counters.attemptsByStatus },
    apiLatencyMs: percentiles(counters.latencies),
    reportedLagMs: percentiles(reportedLags.all),
    reportedLagByDeliveryMs: reportedLags.byDelivery(),
    endToEndLagMs: { ...percentiles(lags.all), timeouts: lagTimeouts },
    deferredUploads,
    lagByDeliveryMs: lags.byDelivery(),
    readLagMs: { ...percentiles(readLags.all), timeouts: readTimeouts },
    readLagByDeliveryMs: readLags.byDelivery(),
  };
  if (options.outDir) {
    await mkdir(options.outDir, { recursive: true });
    summary.outFile = path.join(options.outDir, `load-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(summary.outFile, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return summary;
}

export function formatSummary(s: LoadSummary): string {
  const ms = (v: number | null) => (v === null ? '-' : `${v} ms`);
  const rejected = Object.entries(s.fixes.rejectedByStatus).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  return [
    `Load run: target ${s.options.ratePerSec} fixes/s for ${s.options.durationSec} s over ${s.options.vehicles} trucks (batches of ${s.options.batchSize}, ${s.options.concurrency} in flight)`,
    `  achieved      ${s.achievedFixesPerSec} fixes/s over ${s.elapsedSec} s`,
    `  fixes         sent ${s.fixes.sent}, accepted ${s.fixes.accepted}, duplicates ${s.fixes.duplicates}, rejected ${rejected}, not sent (behind target) ${s.fixes.unsentBehindTarget}`,
    `  requests      ${s.requests.sent} (retries ${s.requests.retries}; attempts by status ${JSON.stringify(s.requests.attemptsByStatus)})`,
    `  API latency   p50 ${ms(s.apiLatencyMs.p50)}, p95 ${ms(s.apiLatencyMs.p95)}, p99 ${ms(s.apiLatencyMs.p99)} (${s.apiLatencyMs.count} attempts)`,
    `  reported      p50 ${ms(s.reportedLagMs.p50)}, p99 ${ms(s.reportedLagMs.p99)} (${s.reportedLagMs.count} samples); immediate p99 ${ms(s.reportedLagByDeliveryMs.immediate.p99)}, deferred p99 ${ms(s.reportedLagByDeliveryMs.deferred.p99)}`,
    `  end-to-end    p50 ${ms(s.endToEndLagMs.p50)}, p95 ${ms(s.endToEndLagMs.p95)}, p99 ${ms(s.endToEndLagMs.p99)} (${s.endToEndLagMs.count} samples, ${s.endToEndLagMs.timeouts} timed out)`,
    `  by delivery   immediate p99 ${ms(s.lagByDeliveryMs.immediate.p99)} (${s.lagByDeliveryMs.immediate.count}), deferred p99 ${ms(s.lagByDeliveryMs.deferred.p99)} (${s.lagByDeliveryMs.deferred.count}); ${s.deferredUploads} of ${s.requests.sent} uploads deferred`,
    `  read          p50 ${ms(s.readLagMs.p50)}, p99 ${ms(s.readLagMs.p99)} (${s.readLagMs.count} samples, ${s.readLagMs.timeouts} timed out); immediate p99 ${ms(s.readLagByDeliveryMs.immediate.p99)} (${s.readLagByDeliveryMs.immediate.count}), deferred p99 ${ms(s.readLagByDeliveryMs.deferred.p99)} (${s.readLagByDeliveryMs.deferred.count})`,
    `  creation      ${s.creation.shipments} shipments in ${s.creation.seconds} s (${s.creation.perSec}/s, bulk endpoint)`,
    s.outFile ? `  written to    ${s.outFile}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
