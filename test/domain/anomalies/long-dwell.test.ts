// LONG_DWELL: at a stop longer than planned dwell + tolerance (or longDwellMin without a plan).
import { describe, expect, it } from 'vitest';
import { at, road, fix, arrived, departed, Run, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
