// ETA history chart (uPlot): for one stop, every predicted arrival over the time it was made,
// model and baseline, against the appointment window and the real arrival: how the prediction
// converged. X is when the prediction was made (fix time), Y the arrival it predicted.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { EtaPrediction } from '../shared/types.js';

export interface ChartStop {
  sequence: number;
  name: string;
  window?: { start: string; end: string };
  arrivedAt?: string;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const clock = (s: number) => new Date(s * 1000).toISOString().slice(5, 16).replace('T', ' ');

/** Columns for uPlot: shared x, then model, baseline, window start, window end, actual arrival. */
export function chartData(stop: ChartStop, predictions: readonly EtaPrediction[]): uPlot.AlignedData {
  const own = predictions.filter((p) => p.stopSequence === stop.sequence);
  const xs = [...new Set(own.map((p) => seconds(p.predictedAt)))].sort((a, b) => a - b);
  const bySource = (source: string) => {
    const at = new Map(own.filter((p) => p.source === source).map((p) => [seconds(p.predictedAt), seconds(p.predictedArrival)]));
    return xs.map((x) => at.get(x) ?? null);
  };
  const constant = (iso?: string) => xs.map(() => (iso ? seconds(iso) : null));
  return [xs, bySource('model'), bySource('baseline'), constant(stop.window?.start), constant(stop.window?.end), constant(stop.arrivedAt)];
}

export function createEtaChart(container: HTMLElement): { update(stop: ChartStop, predictions: readonly EtaPrediction[]): void; destroy(): void } {
  const timeAxis = { values: (_u: uPlot, ticks: number[]) => ticks.map(clock) };
  const plot = new uPlot(
    {
      width: Math.max(320, container.clientWidth),
      height: 260,
      scales: { x: { time: false }, y: { time: false } },
      axes: [{ ...timeAxis, label: 'prediction made at (UTC)', space: 110 }, { ...timeAxis, label: 'predicted arrival (UTC)', size: 90 }],
      series: [
        {},
        { label: 'model', stroke: '#1565c0', width: 2, points: { show: true, size: 5 }, spanGaps: true },
        { label: 'baseline', stroke: '#9e9e9e', width: 1.5, dash: [6, 4], points: { show: true, size: 4 }, spanGaps: true },
        { label: 'window start', stroke: '#66bb6a', width: 1 },
        { label: 'window end', stroke: '#e53935', width: 1 },
        { label: 'actual arrival', stroke: '#000', width: 2, dash: [2, 3] },
      ],
    },
    [[], [], [], [], [], []],
    container,
  );
  return {
    update(stop, predictions) {
      const data = chartData(stop, predictions);
      plot.setData(data);
      container.dataset.points = String(data[0].length);
    },
    destroy: () => plot.destroy(),
  };
}
