// OFF_ROUTE: consecutive fixes outside the corridor of the planned route, with re-entry hysteresis.
import { describe, expect, it } from 'vitest';
import type { Fix, StopPlan } from '../../../domain/types.js';
import { at, road, pickup, hub, customer, fix, Run, underway, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
