// LATE: an ETA past window end + tolerance, or the window ending without arrival.
import { describe, expect, it } from 'vitest';
import { nextAnomalyDeadline } from '../../../domain/anomalies/index.js';
import { at, road, fix, arrived, departed, eta, Run, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
