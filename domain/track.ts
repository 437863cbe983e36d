// The driven track as a map draws it: reporting segments split where the device went silent
// (the gaps are drawn differently), each simplified with Douglas–Peucker so a 20,000-fix trip
// stays a few thousand vertices. Vertices are [lon, lat, epoch seconds]: the time rides along
// as the third coordinate (simplification measures only lon/lat), so replay can still place the
// truck on the simplified line at any moment.
import { simplify } from '@turf/simplify';
import { lineString } from '@turf/helpers';

export type TrackVertex = [lon: number, lat: number, epochSeconds: number];

export interface TrackFix {
  recordedAt: string;
  lat: number;
  lon: number;
}

/** A fix as a track vertex. */
export const toVertex = (fix: TrackFix): TrackVertex => [fix.lon, fix.lat, Date.parse(fix.recordedAt) / 1000];

export interface SimplifiedTrack {
  /** Stretches with fixes no further apart than the gap threshold. */
  segments: TrackVertex[][];
  /** From the last fix before a silence to the first one after it. */
  gaps: [TrackVertex, TrackVertex][];
  fixes: number;
  vertices: number;
  toleranceDeg: number;
}

/** Splits time-ordered vertices wherever two consecutive fixes are more than `gapMs` apart. */
export function splitAtGaps(vertices: readonly TrackVertex[], gapMs: number): { segments: TrackVertex[][]; gaps: [TrackVertex, TrackVertex][] } {
  const segments: TrackVertex[][] = [];
  const gaps: [TrackVertex, TrackVertex][] = [];
  let current: TrackVertex[] = [];
  for (const vertex of vertices) {
    const previous = current[current.length - 1];
    if (previous && (vertex[2] - previous[2]) * 1000 > gapMs) {
      segments.push(current);
      gaps.push([previous, vertex]);
      current = [];
    }
    current.push(vertex);
  }
  if (current.length > 0) segments.push(current);
  return { segments, gaps };
}

function simplifySegments(segments: TrackVertex[][], toleranceDeg: number): TrackVertex[][] {
  if (toleranceDeg <= 0) return segments;
  return segments.map((segment) =>
    // `mutate` on a shallow copy: turf's own deep clone of 20,000 vertices costs more than the simplification.
    segment.length <= 2 ? segment : (simplify(lineString(segment.slice()), { tolerance: toleranceDeg, mutate: true }).geometry.coordinates as TrackVertex[]),
  );
}

const countVertices = (segments: TrackVertex[][]) => segments.reduce((n, s) => n + s.length, 0);

/** Degrees per screen pixel at a web-mercator zoom level (256-pixel tiles), at the equator. */
export function degreesPerPixel(zoom: number): number {
  return 360 / (256 * 2 ** zoom);
}

/** Tolerance to start the budget search from: about a metre. */
const START_TOLERANCE_DEG = 1e-5;
const MAX_BUDGET_ROUNDS = 8;

/**
 * Simplifies for a zoom level (half a pixel of tolerance) and, where that is still more than
 * `maxPoints` vertices (or no zoom is given), raises the tolerance until the track fits: each round
 * scales it by how far over budget the last one was, so a 20,000-fix track takes a few rounds.
 */
export function simplifyTrack(vertices: readonly TrackVertex[], options: { gapMs: number; maxPoints: number; zoom?: number }): SimplifiedTrack {
  const { segments, gaps } = splitAtGaps(vertices, options.gapMs);
  let toleranceDeg = options.zoom === undefined ? 0 : degreesPerPixel(options.zoom) / 2;
  let simplified = simplifySegments(segments, toleranceDeg);
  for (let round = 0; countVertices(simplified) > options.maxPoints && round < MAX_BUDGET_ROUNDS; round++) {
    const overBudget = countVertices(simplified) / options.maxPoints;
    toleranceDeg = toleranceDeg === 0 ? START_TOLERANCE_DEG : toleranceDeg * Math.max(1.5, overBudget);
    simplified = simplifySegments(segments, toleranceDeg);
  }
  return { segments: simplified, gaps, fixes: vertices.length, vertices: countVertices(simplified), toleranceDeg };
}

/**
 * Where the truck was at `epochSeconds`, interpolated between the two vertices around it (before
 * the first: the first; after the last: the last). `vertices` are in time order.
 */
export function positionAt(vertices: readonly TrackVertex[], epochSeconds: number): TrackVertex | undefined {
  if (vertices.length === 0) return undefined;
  let low = 0;
  let high = vertices.length - 1;
  if (epochSeconds <= vertices[0]![2]) return vertices[0];
  if (epochSeconds >= vertices[high]![2]) return vertices[high];
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    if (vertices[middle]![2] <= epochSeconds) low = middle;
    else high = middle;
  }
  const a = vertices[low]!;
  const b = vertices[high]!;
  const f = b[2] === a[2] ? 0 : (epochSeconds - a[2]) / (b[2] - a[2]);
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, epochSeconds];
}
