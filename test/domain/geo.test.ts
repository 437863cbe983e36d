import { distance } from '@turf/distance';
import { point } from '@turf/helpers';
import { describe, expect, it } from 'vitest';
import { distanceM } from '../../domain/geo.js';
import { Rng } from '../../simulator/random.js';

const turfM = (a: { lat: number; lon: number }, b: { lat: number; lon: number }) => distance(point([a.lon, a.lat]), point([b.lon, b.lat]), { units: 'meters' });

describe('distanceM', () => {
  // Workflows already decided on turf's distances: the same inputs must give the same bits.
  it('equals @turf/distance bit for bit, far apart and a few metres apart', () => {
    const rng = new Rng('geo-distance');
    for (let i = 0; i < 50_000; i++) {
      const a = { lat: rng.between(-89.9, 89.9), lon: rng.between(-180, 180) };
      const far = { lat: rng.between(-89.9, 89.9), lon: rng.between(-180, 180) };
      const near = { lat: a.lat + rng.between(-0.01, 0.01), lon: a.lon + rng.between(-0.01, 0.01) };
      expect(Object.is(distanceM(a, far), turfM(a, far))).toBe(true);
      expect(Object.is(distanceM(a, near), turfM(a, near))).toBe(true);
    }
  });

  it('is zero for one point and about 111.2 km per degree of latitude', () => {
    expect(distanceM({ lat: 52.5, lon: 13.4 }, { lat: 52.5, lon: 13.4 })).toBe(0);
    expect(distanceM({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo(111_195, 0);
  });
});
