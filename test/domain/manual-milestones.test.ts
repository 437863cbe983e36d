// Manual milestones (driver app, dispatcher) on the same state machine as detected ones.
import { describe, expect } from 'vitest';
import { applyFix, applyManualMilestone, initialTrackingState, manualMilestoneRefusal } from '../../domain/milestones.js';
import type { StopPlan } from '../../domain/types.js';
import { BOTH_RULE_SETS, itUnder } from '../support/rule-sets.js';

const STOPS: StopPlan[] = [
  { sequence: 1, type: 'pickup', name: 'Lyon DC', location: { lat: 45.7485, lon: 4.8467 }, geofenceRadiusM: 300 },
  { sequence: 2, type: 'delivery', name: 'Dijon store', location: { lat: 47.322, lon: 5.0415 }, geofenceRadiusM: 300 },
];

describe('manual milestones', () => {
  itUnder(BOTH_RULE_SETS, 'arrive and depart at the stop at the reported time, and fixes carry on from there', (config) => {
    const arrived = applyManualMilestone(initialTrackingState(STOPS), 'ARRIVED', 1, '2026-03-02T06:00:00.000Z', STOPS, config);
    expect(arrived.state).toMatchObject({ status: 'AT_STOP', currentStopSequence: 1 });
    expect(arrived.events[0]).toMatchObject({ kind: 'milestone', type: 'ARRIVED', stopSequence: 1, at: '2026-03-02T06:00:00.000Z', position: STOPS[0]!.location });

    // Two fixes well outside the pickup confirm a departure, stamped with the first.
    let state = arrived.state;
    const departures = [];
    for (const recordedAt of ['2026-03-02T06:40:00.000Z', '2026-03-02T06:41:00.000Z']) {
      const result = applyFix(state, { recordedAt, lat: 45.8, lon: 4.9 }, STOPS, config);
      state = result.state;
      departures.push(...result.events.filter((e) => e.kind === 'milestone'));
    }
    expect(departures).toMatchObject([{ type: 'DEPARTED', stopSequence: 1, at: '2026-03-02T06:40:00.000Z' }]);
  });

  itUnder(BOTH_RULE_SETS, 'repeating a milestone that happened changes nothing; one that does not fit is refused with a reason', (config) => {
    const start = initialTrackingState(STOPS);
    expect(manualMilestoneRefusal(start, 'DEPARTED', 1, config)).toBe('the truck has not arrived at stop 1');
    expect(manualMilestoneRefusal(start, 'ARRIVED', 3, config)).toBe('the shipment has no stop 3');
    const atPickup = applyManualMilestone(start, 'ARRIVED', 1, '2026-03-02T06:00:00.000Z', STOPS, config).state;
    expect(manualMilestoneRefusal(atPickup, 'ARRIVED', 2, config)).toBe('the truck is still at stop 1; record its departure first');
    expect(manualMilestoneRefusal(atPickup, 'ARRIVED', 1, config)).toBeUndefined();
    expect(applyManualMilestone(atPickup, 'ARRIVED', 1, '2026-03-02T06:05:00.000Z', STOPS, config)).toEqual({ state: atPickup, events: [] });

    const delivered = applyManualMilestone(
      applyManualMilestone(applyManualMilestone(atPickup, 'DEPARTED', 1, '2026-03-02T07:00:00.000Z', STOPS, config).state, 'ARRIVED', 2, '2026-03-02T09:00:00.000Z', STOPS, config).state,
      'DEPARTED',
      2,
      '2026-03-02T09:30:00.000Z',
      STOPS,
      config,
    );
    expect(delivered.state.status).toBe('DELIVERED');
    expect(delivered.events.map((e) => (e.kind === 'status' ? `status:${e.to}` : e.kind === 'milestone' ? `${e.type}:${e.stopSequence}` : `pass:${e.stopSequence}`))).toEqual(['DEPARTED:2', 'status:DELIVERED']);
    expect(manualMilestoneRefusal(delivered.state, 'ARRIVED', 2, config)).toBeUndefined();
  });
});
