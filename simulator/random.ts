// Seeded randomness for the simulator. pure-rand (the generator behind fast-check, typed, no
// dependencies) supplies xoroshiro128+; we add only the distributions a fleet needs. Every
// vehicle draws from its own stream forked by label, so adding a vehicle or a fix to one trip
// never shifts the random choices of another: the same seed always gives the same fleet.
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * FNV-1a then murmur3's finaliser: turns a seed string or a fork label into a generator seed.
 * The finaliser matters: labels differing by one character must give unrelated streams, and
 * xoroshiro's first outputs from nearby raw seeds are visibly correlated.
 */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

export class Rng {
  private readonly generator: RandomGenerator;
  private spareNormal: number | undefined;

  constructor(readonly seed: string) {
    this.generator = xoroshiro128plus(hash32(seed));
  }

  /** An independent stream whose sequence depends only on this seed and the label. */
  fork(label: string): Rng {
    return new Rng(`${this.seed}/${label}`);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.generator);
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return uniformInt(this.generator, min, max);
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Gaussian by Box–Muller (both values used, so draws stay reproducible). */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential with the given mean (waiting times between random events). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}
