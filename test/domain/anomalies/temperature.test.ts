// TEMPERATURE_EXCURSION: readings outside the range for temperatureExcursionMin, with hysteresis.
import { describe, expect, it } from 'vitest';
import { at, road, fix, Run, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
