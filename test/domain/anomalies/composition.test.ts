// All detectors together: event order, closing, the view’s anomaly list and continue-as-new.
import { describe, expect, it } from 'vitest';
import { anomalyEventKey, applyAnomalyEvents, closeAnomalies, detectAnomalies, nextAnomalyDeadline, onAnomalyDeadline, openAnomalies, openAnomalyTypes, type AnomalyEvent, type AnomalyState } from '../../../domain/anomalies/index.js';
import { at, road, hub, fix, arrived, Run, underway, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
