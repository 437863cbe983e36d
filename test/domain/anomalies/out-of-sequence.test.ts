// OUT_OF_SEQUENCE: a later stop reached before an earlier one.
import { describe, expect, it } from 'vitest';
import { closeAnomalies } from '../../../domain/anomalies/index.js';
import { at, arrived, departed, Run, underEachRuleSet } from './harness.js';

underEachRuleSet((context) => {
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
});
