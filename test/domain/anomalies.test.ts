import { describe, expect, it } from 'vitest';
import {
  anomalyEventKey,
  applyAnomalyEvents,
  closeAnomalies,
  createAnomalyContext,
  detectAnomalies,
  detectAnomaliesInOrder,
  initialAnomalyState,
  nextAnomalyDeadline,
  onAnomalyDeadline,
  openAnomalies,
  openAnomalyTypes,
  resolveAnomalyConfig,
  DEFAULT_ANOMALY_CONFIG,
  type AnomalyContext,
  type AnomalyEvent,
  type AnomalyInput,
  type AnomalyState,
} from '../../domain/anomalies/index.js';
import type { Fix, LatLon, ShipmentThresholds, StopPlan } from '../../domain/types.js';
import { minutesFrom, roadFrom, TRIP_T0 } from '../support/road.js';

const T0 = TRIP_T0;
const at = minutesFrom(T0);
const road = roadFrom({ lat: 45, lon: 5 });

const pickup: StopPlan = { sequence: 1, type: 'pickup', name: 'DC', location: road(0), geofenceRadiusM: 500, plannedDwellMin: 45, window: { start: at(0), end: at(60) } };
const hub: StopPlan = { sequence: 2, type: 'waypoint', name: 'Hub', location: road(50), geofenceRadiusM: 500 };
const customer: StopPlan = { sequence: 3, type: 'delivery', name: 'Customer', location: road(100), geofenceRadiusM: 500, window: { start: at(120), end: at(240) } };
const stops = [pickup, hub, customer];
const route = { type: 'LineString' as const, coordinates: [road(0), road(100)].map((p): [number, number] => [p.lon, p.lat]) };

function context(thresholds: ShipmentThresholds = {}, plan: { stops?: StopPlan[]; withRoute?: boolean } = {}): AnomalyContext {
  return createAnomalyContext({ stops: plan.stops ?? stops, thresholds, ...(plan.withRoute === false ? {} : { route }) });
}

const fix = (minute: number, position: LatLon, extra: Partial<Fix> = {}): AnomalyInput => ({ kind: 'fix', fix: { recordedAt: at(minute), ...position, ...extra } });
const arrived = (stopSequence: number, minute: number): AnomalyInput => ({ kind: 'milestone', type: 'ARRIVED', stopSequence, at: at(minute) });
const departed = (stopSequence: number, minute: number): AnomalyInput => ({ kind: 'milestone', type: 'DEPARTED', stopSequence, at: at(minute) });
const eta = (minute: number, perStop: Record<number, number>): AnomalyInput => ({
  kind: 'eta',
  predictedAt: at(minute),
  stops: Object.entries(perStop).map(([sequence, m]) => ({ sequence: Number(sequence), eta: at(m) })),
});

/** A tiny harness: state threaded through inputs and timers, events collected. */
class Run {
  state: AnomalyState = initialAnomalyState();
  events: AnomalyEvent[] = [];
  constructor(readonly ctx: AnomalyContext) {}
  feed(...inputs: AnomalyInput[]): AnomalyEvent[] {
    const result = detectAnomaliesInOrder(this.state, inputs, this.ctx);
    this.state = result.state;
    this.events.push(...result.events);
    return result.events;
  }
  timer(minute: number): AnomalyEvent[] {
    const result = onAnomalyDeadline(this.state, at(minute), this.ctx);
    this.state = result.state;
    this.events.push(...result.events);
    return result.events;
  }
  deadline(): string | undefined {
    return nextAnomalyDeadline(this.state, this.ctx);
  }
  of(type: AnomalyEvent['type']): string[] {
    return this.events.filter((e) => e.type === type).map((e) => `${e.action}@${e.at}${e.stopSequence !== undefined ? `#${e.stopSequence}` : ''}`);
  }
}

/** A trip already under way (pickup reached and left), so position rules are armed. */
function underway(ctx: AnomalyContext): Run {
  const run = new Run(ctx);
  run.feed(arrived(1, -30), departed(1, -20));
  run.events = [];
  return run;
}

describe('resolveAnomalyConfig', () => {
  it('takes shipment overrides over tenant defaults over built-in defaults, field by field', () => {
    const config = resolveAnomalyConfig({ signalLossMin: 45, longDwellMin: 90 }, { signalLossMin: 20, longDwellMin: undefined });
    expect(config.signalLossMin).toBe(20);
    expect(config.longDwellMin).toBe(90);
    expect(config.unplannedStopMin).toBe(DEFAULT_ANOMALY_CONFIG.unplannedStopMin);
    expect(resolveAnomalyConfig()).toEqual(DEFAULT_ANOMALY_CONFIG);
  });

  it('derives the re-entry distance from the corridor unless set, and never lets it exceed the corridor', () => {
    expect(resolveAnomalyConfig({}, { offRouteCorridorM: 2000 }).offRouteReentryM).toBe(1400);
    expect(resolveAnomalyConfig({ offRouteReentryM: 500 }, { offRouteCorridorM: 2000 }).offRouteReentryM).toBe(500);
    expect(resolveAnomalyConfig({}, { offRouteCorridorM: 400, offRouteReentryM: 900 }).offRouteReentryM).toBe(400);
    expect(resolveAnomalyConfig({}, { offRouteConsecutiveFixes: 0 }).offRouteConsecutiveFixes).toBe(1);
    expect(resolveAnomalyConfig({}, { temperatureRange: { minC: 2, maxC: 3 }, temperatureHysteresisC: 2 }).temperatureHysteresisC).toBe(0.5);
  });
});

describe('SIGNAL_LOST', () => {
  const ctx = context({}, { stops: [hub] });

  it('is not watched before the first fix', () => {
    expect(new Run(ctx).deadline()).toBeUndefined();
  });

  it('opens on the timer at last fix + threshold and resolves at the next fix', () => {
    const run = new Run(ctx);
    run.feed(fix(0, road(10)));
    expect(run.deadline()).toBe(at(30));
    expect(run.timer(29)).toEqual([]);
    expect(run.timer(30)).toEqual([{ kind: 'anomaly', action: 'open', type: 'SIGNAL_LOST', at: at(30), detail: `no fix since ${at(0)}` }]);
    expect(run.timer(31)).toEqual([]);
    expect(run.deadline()).toBeUndefined();
    expect(openAnomalyTypes(run.state)).toEqual(['SIGNAL_LOST']);
    run.feed(fix(50, road(20)));
    expect(run.of('SIGNAL_LOST')).toEqual([`open@${at(30)}`, `resolve@${at(50)}`]);
    expect(run.deadline()).toBe(at(80));
  });

  it('a fix exactly at the threshold is in time; one second later is not', () => {
    const onTime = new Run(ctx);
    onTime.feed(fix(0, road(10)), fix(30, road(11)));
    expect(onTime.events).toEqual([]);
    const late = new Run(ctx);
    late.feed(fix(0, road(10)), fix(30 + 1 / 60, road(11)));
    expect(late.of('SIGNAL_LOST')).toEqual([`open@${at(30)}`, `resolve@${at(30 + 1 / 60)}`]);
  });

  it('a gap followed by a backlog is detected from fix times: open at last fix + threshold, resolved at the next fix', () => {
    const run = new Run(ctx);
    run.feed(...[0, 5, 10].map((m) => fix(m, road(m))));
    run.feed(...[60, 65, 70].map((m) => fix(m, road(m)))); // uploaded in one batch, much later
    expect(run.of('SIGNAL_LOST')).toEqual([`open@${at(40)}`, `resolve@${at(60)}`]);
  });

  it('a backlog processed before a stale timer: the timer opens nothing', () => {
    const run = new Run(ctx);
    run.feed(fix(10, road(10)));
    run.feed(fix(55, road(20)), fix(60, road(21)));
    expect(run.timer(40)).toEqual([]); // the timer the workflow had set for the old deadline
    expect(run.of('SIGNAL_LOST')).toEqual([`open@${at(40)}`, `resolve@${at(55)}`]);
  });

  it('a timer then a backlog: opened once by the timer, resolved once by the backlog', () => {
    const run = new Run(ctx);
    run.feed(fix(10, road(10)));
    run.timer(45);
    run.feed(...[55, 60, 65].map((m) => fix(m, road(m))));
    run.timer(70);
    expect(run.of('SIGNAL_LOST')).toEqual([`open@${at(40)}`, `resolve@${at(55)}`]);
  });

  it('a backlog older than the timer’s open resolves at the open, never before it', () => {
    const run = new Run(ctx);
    run.feed(fix(10, road(10)));
    run.timer(40);
    run.feed(...[20, 30, 45].map((m) => fix(m, road(m)))); // the device was logging all along
    expect(run.of('SIGNAL_LOST')).toEqual([`open@${at(40)}`, `resolve@${at(40)}`]);
  });

  it('ignores duplicate and older fixes', () => {
    const run = new Run(ctx);
    run.feed(fix(10, road(10)), fix(10, road(10)), fix(5, road(9)));
    expect(run.deadline()).toBe(at(40));
  });
});

describe('LONG_DWELL', () => {
  // Pickup plans 45 min + 30 min tolerance = 75 min; the hub plans none, so longDwellMin (120) applies.
  const ctx = context({}, { withRoute: false });

  it('departing exactly at planned dwell + tolerance is fine; a minute later is long', () => {
    const onTime = new Run(ctx);
    onTime.feed(arrived(1, 0), fix(40, road(0)), departed(1, 75));
    expect(onTime.of('LONG_DWELL')).toEqual([]);
    const late = new Run(ctx);
    late.feed(arrived(1, 0), departed(1, 76));
    expect(late.of('LONG_DWELL')).toEqual([`open@${at(75)}#1`, `resolve@${at(76)}#1`]);
  });

  it('opens on the timer with no traffic and resolves at departure', () => {
    const run = new Run(ctx);
    run.feed(arrived(1, 0));
    expect(run.deadline()).toBe(at(75));
    run.timer(75);
    run.feed(fix(100, road(0)), departed(1, 110));
    expect(run.of('LONG_DWELL')).toEqual([`open@${at(75)}#1`, `resolve@${at(110)}#1`]);
    expect(run.events.find((e) => e.type === 'LONG_DWELL')?.detail).toBe('at stop longer than 75 min');
  });

  it('a fix still at the stop after the limit opens it in fix time', () => {
    const run = new Run(ctx);
    run.feed(arrived(2, 0), fix(119, road(50)));
    expect(run.of('LONG_DWELL')).toEqual([]);
    run.feed(fix(121, road(50)));
    expect(run.of('LONG_DWELL')).toEqual([`open@${at(120)}#2`]);
  });

  it('arrival at another stop without a departure ends the dwell', () => {
    const run = new Run(ctx);
    run.feed(arrived(2, 0));
    run.timer(130);
    run.feed(arrived(3, 200));
    expect(run.of('LONG_DWELL')).toEqual([`open@${at(120)}#2`, `resolve@${at(200)}#2`]);
    expect(run.deadline()).toBe(at(200 + 120));
  });
});

describe('UNPLANNED_STOP', () => {
  const ctx = context();
  const driving = (from: number, to: number, kmAt: (m: number) => number) =>
    Array.from({ length: (to - from) / 5 + 1 }, (_, i) => from + i * 5).map((m) => fix(m, road(kmAt(m)), { speedKmh: 80 }));
  const parked = (from: number, to: number, km: number) =>
    Array.from({ length: (to - from) / 5 + 1 }, (_, i) => from + i * 5).map((m, i) => fix(m, road(km, (i % 3) * 20), { speedKmh: i % 4 === 1 ? 7 : 0 }));

  it('opens after the threshold stationary outside every geofence, resolves when moving again', () => {
    const run = underway(ctx);
    run.feed(...driving(0, 10, (m) => 5 + m), ...parked(15, 60, 20), ...driving(65, 70, (m) => 20 + (m - 60)));
    expect(run.of('UNPLANNED_STOP')).toEqual([`open@${at(45)}`, `resolve@${at(65)}`]);
  });

  it('moving again exactly at the threshold is in time', () => {
    const run = underway(ctx);
    run.feed(...parked(15, 40, 20), fix(45, road(25), { speedKmh: 60 }));
    expect(run.of('UNPLANNED_STOP')).toEqual([]);
  });

  it('a parked truck that goes silent is caught by the timer', () => {
    const run = underway(ctx);
    run.feed(...parked(15, 20, 20));
    expect(run.deadline()).toBe(at(45));
    run.timer(45);
    expect(run.of('UNPLANNED_STOP')).toEqual([`open@${at(45)}`]);
    run.feed(fix(90, road(30), { speedKmh: 70 }));
    expect(run.of('UNPLANNED_STOP')).toEqual([`open@${at(45)}`, `resolve@${at(90)}`]);
  });

  it('waiting inside a stop geofence, or before the trip has started, is not unplanned', () => {
    const atHub = underway(ctx);
    atHub.feed(...parked(15, 120, 50)); // inside the hub's geofence, no ARRIVED milestone yet
    expect(atHub.of('UNPLANNED_STOP')).toEqual([]);
    const before = new Run(ctx);
    before.feed(...parked(15, 120, 20));
    expect(before.of('UNPLANNED_STOP')).toEqual([]);
  });

  it('works from positions alone when the device reports no speed', () => {
    const run = underway(ctx);
    const noSpeed = (input: AnomalyInput): AnomalyInput => {
      if (input.kind !== 'fix') return input;
      const { speedKmh: _s, ...rest } = input.fix;
      return { kind: 'fix', fix: rest };
    };
    run.feed(...[...driving(0, 10, (m) => 5 + m), ...parked(15, 60, 20), ...driving(65, 70, (m) => 20 + (m - 60))].map(noSpeed));
    // The 10 → 15 pair still covered 5 km; from 15 on the truck barely moves: stopped since 15.
    expect(run.of('UNPLANNED_STOP')).toEqual([`open@${at(45)}`, `resolve@${at(65)}`]);
  });
});

describe('OFF_ROUTE', () => {
  // Corridor 1000 m, re-entry 700 m, 3 consecutive fixes.
  const ctx = context();
  const east = (minute: number, metres: number, extra: Partial<Fix> = {}) => fix(minute, road(10 + minute / 2, metres), extra);

  it('jitter around the corridor edge never opens it', () => {
    const run = underway(ctx);
    run.feed(...[950, 1050, 1080, 980, 1100, 1040, 990, 1020, 1060, 960].map((m, i) => east(i, m)));
    expect(run.of('OFF_ROUTE')).toEqual([]);
  });

  it('opens after exactly N consecutive fixes outside, stamped with the first of them', () => {
    const twoOnly = underway(ctx);
    twoOnly.feed(east(0, 200), east(1, 1500), east(2, 1600), east(3, 300));
    expect(twoOnly.of('OFF_ROUTE')).toEqual([]);
    const three = underway(ctx);
    three.feed(east(0, 200), east(1, 1500), east(2, 1600), east(3, 2500));
    expect(three.of('OFF_ROUTE')).toEqual([`open@${at(1)}`]);
    expect(three.events[0]!.detail).toMatch(/^2\d{3} m from the planned route \(corridor 1000 m\)$/);
  });

  it('resolves only after N consecutive fixes back inside the re-entry distance (hysteresis)', () => {
    const run = underway(ctx);
    run.feed(...[1500, 2000, 2500, 3000].map((m, i) => east(i, m)));
    // Back under the corridor but not under the re-entry distance (700 m): still off route.
    run.feed(...[900, 800, 950, 850].map((m, i) => east(4 + i, m)));
    // Inside re-entry twice, a bounce to 750 m, then three in a row.
    run.feed(...[600, 500, 750, 400, 300, 200, 100].map((m, i) => east(8 + i, m)));
    expect(run.of('OFF_ROUTE')).toEqual([`open@${at(0)}`, `resolve@${at(11)}`]);
  });

  it('is armed only once the trip has started, and not inside a stop geofence', () => {
    const before = new Run(ctx);
    before.feed(...[1500, 2000, 2500].map((m, i) => east(i, m)));
    expect(before.of('OFF_ROUTE')).toEqual([]);
    const depotBesideRoute: StopPlan = { ...hub, location: road(50, 3000), geofenceRadiusM: 800 };
    const run = underway(context({}, { stops: [pickup, depotBesideRoute, customer] }));
    run.feed(...[0, 1, 2, 3].map((m) => fix(m, road(50, 3000 + m * 100))));
    expect(run.of('OFF_ROUTE')).toEqual([]);
  });

  it('skips fixes too inaccurate to tell, without breaking a streak', () => {
    const run = underway(ctx);
    run.feed(east(0, 1500), east(1, 1500), east(2, 5000, { accuracyM: 3000 }), east(3, 1500));
    expect(run.of('OFF_ROUTE')).toEqual([`open@${at(0)}`]);
  });

  it('needs a planned route', () => {
    const run = underway(context({}, { withRoute: false }));
    run.feed(...[5000, 6000, 7000].map((m, i) => east(i, m)));
    expect(run.of('OFF_ROUTE')).toEqual([]);
  });
});

describe('LATE', () => {
  // Customer window ends at 240, tolerance 15: limit 255. Recovery hysteresis 10 min.
  const ctx = context({}, { withRoute: false });

  it('a prediction after the limit opens it; only a prediction 10 min inside again resolves it', () => {
    const run = new Run(ctx);
    run.feed(arrived(1, 0), departed(1, 40));
    run.feed(eta(100, { 3: 255 })); // exactly at the limit: not late
    expect(run.of('LATE')).toEqual([]);
    run.feed(eta(110, { 3: 262 }), eta(120, { 3: 250 }), eta(130, { 3: 258 }), eta(140, { 3: 244 }));
    expect(run.of('LATE')).toEqual([`open@${at(110)}#3`, `resolve@${at(140)}#3`]);
    expect(run.events[0]!.detail).toBe(`predicted arrival ${at(262)} after ${at(255)}`);
  });

  it('the window ending without arrival opens it on the timer; arrival resolves it; predictions no longer can', () => {
    const run = new Run(ctx);
    run.feed(arrived(1, 0), departed(1, 40), fix(41, road(1)));
    run.timer(250);
    expect(run.of('LATE')).toEqual([]);
    run.feed(fix(252, road(80))); // keep SIGNAL_LOST out of the way
    expect(nextAnomalyDeadline(run.state, ctx)).toBe(at(255));
    run.timer(255);
    run.feed(eta(260, { 3: 200 }), arrived(3, 290));
    expect(run.of('LATE')).toEqual([`open@${at(255)}#3`, `resolve@${at(290)}#3`]);
    expect(run.events.find((e) => e.type === 'LATE')!.detail).toBe(`window ended ${at(240)} without arrival`);
  });

  it('an arrival after the limit that nothing flagged opens and resolves it at once; exactly at the limit is on time', () => {
    const late = new Run(ctx);
    late.feed(arrived(1, 0), departed(1, 40), arrived(2, 100), departed(2, 110), arrived(3, 256));
    expect(late.of('LATE')).toEqual([`open@${at(255)}#3`, `resolve@${at(256)}#3`]);
    const onTime = new Run(ctx);
    onTime.feed(arrived(1, 0), departed(1, 40), arrived(2, 100), departed(2, 110), arrived(3, 255));
    expect(onTime.of('LATE')).toEqual([]);
  });

  it('a missed pickup window is late even with no traffic at all', () => {
    const run = new Run(ctx);
    expect(run.deadline()).toBe(at(75));
    run.timer(75);
    expect(run.of('LATE')).toEqual([`open@${at(75)}#1`]);
    expect(run.deadline()).toBe(at(255));
  });
});

describe('OUT_OF_SEQUENCE', () => {
  const ctx = context({}, { withRoute: false });

  it('opens on a later stop reached before an earlier one, resolves when the earlier one is reached', () => {
    const run = new Run(ctx);
    run.feed(arrived(1, 0), departed(1, 30), arrived(3, 60), departed(3, 70), arrived(3, 75), arrived(2, 90));
    expect(run.of('OUT_OF_SEQUENCE')).toEqual([`open@${at(60)}#3`, `resolve@${at(90)}#3`]);
    expect(run.events.find((e) => e.type === 'OUT_OF_SEQUENCE')!.detail).toBe('arrived before stop 2');
  });

  it('in order raises nothing; a skipped stop never reached is resolved when the shipment closes', () => {
    const inOrder = new Run(ctx);
    inOrder.feed(arrived(1, 0), arrived(2, 50), arrived(3, 100));
    expect(inOrder.of('OUT_OF_SEQUENCE')).toEqual([]);
    const skipped = new Run(ctx);
    skipped.feed(arrived(2, 50));
    expect(skipped.events.find((e) => e.type === 'OUT_OF_SEQUENCE')!.detail).toBe('arrived before stop 1');
    const closed = closeAnomalies(skipped.state, at(300));
    expect(closed.events.filter((e) => e.type === 'OUT_OF_SEQUENCE')).toEqual([
      { kind: 'anomaly', action: 'resolve', type: 'OUT_OF_SEQUENCE', at: at(300), stopSequence: 2, detail: 'shipment closed' },
    ]);
  });
});

describe('TEMPERATURE_EXCURSION', () => {
  // Range 2..8 °C, 15 min, hysteresis 0.5 °C.
  const ctx = context({ temperatureRange: { minC: 2, maxC: 8 } }, { withRoute: false });
  const reading = (minute: number, temperatureC?: number) => fix(minute, road(10), temperatureC === undefined ? {} : { temperatureC });

  it('opens after the threshold outside the range, resolves only well inside again', () => {
    const run = new Run(ctx);
    run.feed(reading(0, 5), reading(10, 9), reading(15, 9.5), reading(20, 8.4), reading(25, 9));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([]); // 15 min exactly at 25: not longer
    run.feed(reading(30, 7.8)); // back in range but within the hysteresis band
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([`open@${at(25)}`]);
    run.feed(reading(35, 8.2), reading(40, 7.4));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([`open@${at(25)}`, `resolve@${at(40)}`]);
    expect(run.events.find((e) => e.type === 'TEMPERATURE_EXCURSION')!.detail).toBe(`9 °C, outside 2..8 °C since ${at(10)}`);
  });

  it('back in range exactly at the threshold is in time', () => {
    const run = new Run(ctx);
    run.feed(reading(0, 1.5), reading(5, 1), reading(10, 1.8), reading(15, 2.1));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([]);
  });

  it('jitter across the limit does not accumulate into an excursion', () => {
    const run = new Run(ctx);
    run.feed(...Array.from({ length: 24 }, (_, i) => reading(i * 5, i % 2 === 0 ? 8.1 : 7.9)));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([]);
  });

  it('the last reading holds: the timer opens it, and fixes without a reading neither reset nor resolve it', () => {
    const run = new Run(ctx);
    run.feed(reading(0, 12), reading(5));
    expect(run.deadline()).toBe(at(15));
    run.timer(15);
    run.feed(reading(20), reading(25, 5));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([`open@${at(15)}`, `resolve@${at(25)}`]);
  });

  it('shipments without a range are never checked', () => {
    const run = new Run(context({}, { withRoute: false }));
    run.feed(reading(0, 40), reading(60, 40));
    expect(run.of('TEMPERATURE_EXCURSION')).toEqual([]);
  });
});

describe('composition', () => {
  it('events of one input come out in time order', () => {
    const ctx = context({ temperatureRange: { minC: 2, maxC: 8 } }, { stops: [hub], withRoute: false });
    const run = new Run(ctx);
    run.feed(fix(0, road(10), { temperatureC: 20 }));
    const events = run.feed(fix(100, road(20), { temperatureC: 5 }));
    expect(events.map((e) => `${e.action} ${e.type}@${e.at}`)).toEqual([
      `open TEMPERATURE_EXCURSION@${at(15)}`,
      `open SIGNAL_LOST@${at(30)}`,
      `resolve SIGNAL_LOST@${at(100)}`,
      `resolve TEMPERATURE_EXCURSION@${at(100)}`,
    ]);
  });

  it('closing resolves everything open, then nothing opens and no timer is needed', () => {
    const ctx = context({}, { withRoute: false });
    const run = new Run(ctx);
    run.feed(arrived(2, 0), fix(10, road(50)));
    run.timer(200);
    expect(openAnomalyTypes(run.state)).toEqual(['LATE', 'LONG_DWELL', 'OUT_OF_SEQUENCE', 'SIGNAL_LOST']);
    const closed = closeAnomalies(run.state, at(210), 'delivered');
    expect(closed.events.map((e) => [e.type, e.action, e.at])).toEqual(
      openAnomalies(run.state).map((a) => [a.type, 'resolve', at(210)]),
    );
    expect(nextAnomalyDeadline(closed.state, ctx)).toBeUndefined();
    expect(detectAnomalies(closed.state, fix(500, road(60)), ctx).events).toEqual([]);
    expect(onAnomalyDeadline(closed.state, at(900), ctx).events).toEqual([]);
    expect(openAnomalies(closed.state)).toEqual([]);
  });

  it('folds events into the view’s anomaly list and gives each a stable timeline key', () => {
    const events: AnomalyEvent[] = [
      { kind: 'anomaly', action: 'open', type: 'LATE', at: at(10), stopSequence: 3, detail: 'x' },
      { kind: 'anomaly', action: 'open', type: 'SIGNAL_LOST', at: at(20) },
      { kind: 'anomaly', action: 'resolve', type: 'SIGNAL_LOST', at: at(30) },
      { kind: 'anomaly', action: 'resolve', type: 'LATE', at: at(40), stopSequence: 3 },
      { kind: 'anomaly', action: 'open', type: 'SIGNAL_LOST', at: at(90) },
    ];
    expect(applyAnomalyEvents([], events)).toEqual([
      { type: 'LATE', status: 'resolved', openedAt: at(10), resolvedAt: at(40), stopSequence: 3, detail: 'x' },
      { type: 'SIGNAL_LOST', status: 'resolved', openedAt: at(20), resolvedAt: at(30) },
      { type: 'SIGNAL_LOST', status: 'open', openedAt: at(90) },
    ]);
    expect(anomalyEventKey(events[0]!)).toBe(`ANOMALY_OPENED:LATE:3:${at(10)}`);
    expect(anomalyEventKey(events[2]!)).toBe(`ANOMALY_RESOLVED:SIGNAL_LOST:-:${at(30)}`);
  });

  it('the state survives a JSON round trip (continue-as-new)', () => {
    const ctx = context({ temperatureRange: { minC: 2, maxC: 8 } });
    const run = underway(ctx);
    run.feed(fix(0, road(10, 2000)), fix(1, road(10.5, 2000), { temperatureC: 12 }));
    const copy = JSON.parse(JSON.stringify(run.state)) as AnomalyState;
    const next = fix(2, road(11, 2000));
    expect(detectAnomalies(copy, next, ctx)).toEqual(detectAnomalies(run.state, next, ctx));
    expect(nextAnomalyDeadline(copy, ctx)).toBe(nextAnomalyDeadline(run.state, ctx));
  });
});
