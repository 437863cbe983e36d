// The console's track: split where the device was silent, simplified to a point budget or a zoom
// level without losing the shape's ends, and the truck's position at any moment for replay.
import { describe, expect, it } from 'vitest';
import { degreesPerPixel, positionAt, simplifyTrack, splitAtGaps, toVertex, type TrackVertex } from '../../domain/track.js';

const start = Date.parse('2026-11-26T08:00:00Z');
/** A wiggly road north from Lyon, one fix a minute, with `gapAfter` fixes then `gapMin` of silence. */
function road(count: number, options: { gapAfter?: number; gapMin?: number } = {}): TrackVertex[] {
  return Array.from({ length: count }, (_, i) => {
    const silence = options.gapAfter !== undefined && i >= options.gapAfter ? (options.gapMin ?? 0) * 60_000 : 0;
    return toVertex({ recordedAt: new Date(start + i * 60_000 + silence).toISOString(), lat: 45.75 + i * 0.0003, lon: 4.85 + 0.01 * Math.sin(i / 40) });
  });
}

describe('splitAtGaps', () => {
  it('starts a new stretch after a silence longer than the threshold and records the gap between them', () => {
    const { segments, gaps } = splitAtGaps(road(10, { gapAfter: 4, gapMin: 45 }), 30 * 60_000);
    expect(segments.map((s) => s.length)).toEqual([4, 6]);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]![0]).toEqual(segments[0]![3]);
    expect(gaps[0]![1]).toEqual(segments[1]![0]);
  });

  it('keeps one stretch when the fixes are close enough', () => {
    expect(splitAtGaps(road(10, { gapAfter: 4, gapMin: 20 }), 30 * 60_000).segments).toHaveLength(1);
  });
});

describe('simplifyTrack', () => {
  it('fits a 20,000-fix track into the point budget, keeping each stretch’s first and last fix and their times', () => {
    const fixes = road(20_000, { gapAfter: 12_000, gapMin: 90 });
    const track = simplifyTrack(fixes, { gapMs: 30 * 60_000, maxPoints: 2_000 });
    expect(track.fixes).toBe(20_000);
    expect(track.vertices).toBeLessThanOrEqual(2_000);
    expect(track.vertices).toBeGreaterThan(100);
    expect(track.segments).toHaveLength(2);
    expect(track.segments[0]![0]).toEqual(fixes[0]);
    expect(track.segments[1]!.at(-1)).toEqual(fixes.at(-1));
    for (const segment of track.segments) for (let i = 1; i < segment.length; i++) expect(segment[i]![2]).toBeGreaterThan(segment[i - 1]![2]);
  });

  it('keeps every vertex within the budget untouched, and simplifies more at lower zoom', () => {
    const fixes = road(500);
    expect(simplifyTrack(fixes, { gapMs: 30 * 60_000, maxPoints: 1_000 }).vertices).toBe(500);
    const near = simplifyTrack(fixes, { gapMs: 30 * 60_000, maxPoints: 1_000, zoom: 14 });
    const far = simplifyTrack(fixes, { gapMs: 30 * 60_000, maxPoints: 1_000, zoom: 5 });
    expect(far.vertices).toBeLessThan(near.vertices);
    expect(far.toleranceDeg).toBeCloseTo(degreesPerPixel(5) / 2);
  });
});

describe('positionAt', () => {
  const vertices: [number, number, number][] = [[0, 0, 100], [10, 0, 200], [10, 10, 300]];
  it('interpolates between the vertices around the moment and clamps outside the track', () => {
    expect(positionAt(vertices, 150)).toEqual([5, 0, 150]);
    expect(positionAt(vertices, 250)).toEqual([10, 5, 250]);
    expect(positionAt(vertices, 50)).toEqual(vertices[0]);
    expect(positionAt(vertices, 999)).toEqual(vertices[2]);
    expect(positionAt([], 1)).toBeUndefined();
  });
});
