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

export interface SimplifiedTrack {
  /** Stretches with fixes no further apart than the gap threshold. */
  segments: TrackVertex[][];
  /** From the last fix before a silence to the first one after it. */
  gaps: [TrackVertex, TrackVertex][];
  fixes: number;
  vertices: number;
  toleranceDeg: number;
}

const toVertex = (fix: TrackFix): TrackVertex => [fix.lon, fix.lat, Date.parse(fix.recordedAt) / 1000];

/** Splits fix-time-ordered fixes wherever two consecutive fixes are more than `gapMs` apart. */
export function splitAtGaps(fixes: readonly TrackFix[], gapMs: number): { segments: TrackVertex[][]; gaps: [TrackVertex, TrackVertex][] } {
  const segments: TrackVertex[][] = [];
  const gaps: [TrackVertex, TrackVertex][] = [];
  let current: TrackVertex[] = [];
  for (const fix of fixes) {
    const vertex = toVertex(fix);
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
    segment.length <= 2 ? segment : (simplify(lineString(segment), { tolerance: toleranceDeg, highQuality: true }).geometry.coordinates as TrackVertex[]),
  );
}

const countVertices = (segments: TrackVertex[][]) => segments.reduce((n, s) => n + s.length, 0);

/** Degrees per screen pixel at a web-mercator zoom level (256-pixel tiles), at the equator. */
export function degreesPerPixel(zoom: number): number {
  return 360 / (256 * 2 ** zoom);
}

/**
 * Simplifies for a zoom level (half a pixel of tolerance) or, without one, to at most `maxPoints`
 * vertices with the smallest tolerance that fits (a binary search over the tolerance).
 */
export function simplifyTrack(fixes: readonly TrackFix[], options: { gapMs: number; maxPoints: number; zoom?: number }): SimplifiedTrack {
  const { segments, gaps } = splitAtGaps(fixes, options.gapMs);
  let toleranceDeg = options.zoom === undefined ? 0 : degreesPerPixel(options.zoom) / 2;
  let simplified = simplifySegments(segments, toleranceDeg);
  if (countVertices(simplified) > options.maxPoints) {
    let low = toleranceDeg;
    let high = Math.max(toleranceDeg * 2, 1e-5);
    while (countVertices(simplifySegments(segments, high)) > options.maxPoints && high < 10) high *= 4;
    for (let i = 0; i < 18; i++) {
      const middle = (low + high) / 2;
      if (countVertices(simplifySegments(segments, middle)) > options.maxPoints) low = middle;
      else high = middle;
    }
    toleranceDeg = high;
    simplified = simplifySegments(segments, high);
  }
  return { segments: simplified, gaps, fixes: fixes.length, vertices: countVertices(simplified), toleranceDeg };
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
