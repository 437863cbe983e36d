// UNPLANNED_STOP: stationary outside every geofence for unplannedStopMin.
import { describe, expect, it } from 'vitest';
import { type AnomalyInput } from '../../../domain/anomalies/index.js';
import { at, road, fix, Run, underway, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
