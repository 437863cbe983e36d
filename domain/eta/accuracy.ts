// ETA accuracy, measured rather than claimed. Pure: the report script and the analytics route
// read predictions and arrivals from Postgres and hand them here.
//
// Horizon bucket H: for each stop that was actually reached, the prediction a customer was
// looking at H before the arrival, i.e. the LATEST prediction made at or before
// (arrival − H). A stop contributes at most one sample per horizon and source, and none at H
// when no prediction existed that early. Error = predicted − actual (positive: predicted late).

export interface EtaPredictionRecord {
  shipmentId: string;
  stopSequence: number;
  predictedAt: string;
  predictedArrival: string;
  /** Which predictor produced it, e.g. 'model' or 'baseline'. */
  source: string;
}

export interface ActualArrival {
  shipmentId: string;
  stopSequence: number;
  arrivedAt: string;
}

export const DEFAULT_HORIZONS_MIN: readonly number[] = [30, 60, 120, 240];
export const DEFAULT_ACCURACY_TOLERANCE_MIN = 15;

export interface AccuracyStats {
  samples: number;
  /** Mean absolute error, minutes; null without samples. */
  meanAbsoluteErrorMin: number | null;
  /** Mean signed error (bias), minutes; positive means predictions were later than reality. */
  meanErrorMin: number | null;
  /** Share of samples within ±tolerance, 0..1; null without samples. */
  withinToleranceShare: number | null;
}

export interface HorizonAccuracy {
  horizonMin: number;
  bySource: Record<string, AccuracyStats>;
}

export interface EtaAccuracyReport {
  toleranceMin: number;
  sources: string[];
  horizons: HorizonAccuracy[];
}

const stopKey = (shipmentId: string, stopSequence: number) => `${shipmentId}#${stopSequence}`;

function stats(errorsMin: readonly number[], toleranceMin: number): AccuracyStats {
  if (errorsMin.length === 0) return { samples: 0, meanAbsoluteErrorMin: null, meanErrorMin: null, withinToleranceShare: null };
  const sum = (values: readonly number[]) => values.reduce((acc, value) => acc + value, 0);
  return {
    samples: errorsMin.length,
    meanAbsoluteErrorMin: sum(errorsMin.map(Math.abs)) / errorsMin.length,
    meanErrorMin: sum(errorsMin) / errorsMin.length,
    withinToleranceShare: errorsMin.filter((error) => Math.abs(error) <= toleranceMin).length / errorsMin.length,
  };
}

export function computeEtaAccuracy(
  predictions: readonly EtaPredictionRecord[],
  arrivals: readonly ActualArrival[],
  options: { horizonsMin?: readonly number[]; toleranceMin?: number } = {},
): EtaAccuracyReport {
  const horizonsMin = options.horizonsMin ?? DEFAULT_HORIZONS_MIN;
  const toleranceMin = options.toleranceMin ?? DEFAULT_ACCURACY_TOLERANCE_MIN;
  const sources = [...new Set(predictions.map((p) => p.source))].sort();

  // Per stop and source, predictions in time order.
  const byStop = new Map<string, Map<string, { predictedAtMs: number; predictedArrivalMs: number }[]>>();
  for (const p of predictions) {
    const key = stopKey(p.shipmentId, p.stopSequence);
    const perSource = byStop.get(key) ?? new Map();
    const list = perSource.get(p.source) ?? [];
    list.push({ predictedAtMs: Date.parse(p.predictedAt), predictedArrivalMs: Date.parse(p.predictedArrival) });
    perSource.set(p.source, list);
    byStop.set(key, perSource);
  }
  for (const perSource of byStop.values()) for (const list of perSource.values()) list.sort((a, b) => a.predictedAtMs - b.predictedAtMs);

  const horizons = horizonsMin.map((horizonMin) => {
    const errors = new Map<string, number[]>(sources.map((source) => [source, []]));
    for (const arrival of arrivals) {
      const arrivedMs = Date.parse(arrival.arrivedAt);
      const cutoffMs = arrivedMs - horizonMin * 60_000;
      const perSource = byStop.get(stopKey(arrival.shipmentId, arrival.stopSequence));
      if (!perSource) continue;
      for (const [source, list] of perSource) {
        const latest = list.filter((p) => p.predictedAtMs <= cutoffMs).at(-1);
        if (latest) errors.get(source)!.push((latest.predictedArrivalMs - arrivedMs) / 60_000);
      }
    }
    const bySource: Record<string, AccuracyStats> = {};
    for (const source of sources) bySource[source] = stats(errors.get(source)!, toleranceMin);
    return { horizonMin, bySource };
  });

  return { toleranceMin, sources, horizons };
}
