// Anomaly thresholds: built-in defaults < tenant defaults < shipment overrides, field by field.
import { describe, expect, it } from 'vitest';
import { resolveAnomalyConfig, DEFAULT_ANOMALY_CONFIG } from '../../../domain/anomalies/index.js';

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
