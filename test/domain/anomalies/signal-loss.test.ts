// SIGNAL_LOST: no fix for signalLossMin, raised by the timer or caught up from a backlog.
import { describe, expect, it } from 'vitest';
import { openAnomalyTypes } from '../../../domain/anomalies/index.js';
import { at, road, hub, fix, Run, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
