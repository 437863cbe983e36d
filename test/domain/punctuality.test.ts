import { describe, expect, it } from 'vitest';
import { punctuality } from '../../domain/punctuality.js';

const window = { start: '2026-11-26T10:00:00Z', end: '2026-11-26T12:00:00Z' };
const before = '2026-11-26T09:00:00Z';

describe('punctuality of a stop against its appointment window', () => {
  it('judges a pending stop by its ETA: inside, within 15 minutes of the end, or after it', () => {
    expect(punctuality({ window, eta: '2026-11-26T11:00:00Z' }, before)).toBe('on_time');
    expect(punctuality({ window, eta: '2026-11-26T11:50:00Z' }, before)).toBe('at_risk');
    expect(punctuality({ window, eta: '2026-11-26T12:01:00Z' }, before)).toBe('late');
  });

  it('judges a reached stop by its arrival, whatever the last ETA said', () => {
    expect(punctuality({ window, arrivedAt: '2026-11-26T11:59:00Z', eta: '2026-11-26T13:00:00Z' }, before)).toBe('on_time');
    expect(punctuality({ window, arrivedAt: '2026-11-26T12:10:00Z' }, before)).toBe('late');
  });

  it('is unknown without a window or an ETA, and late once the window ended without either', () => {
    expect(punctuality({ eta: '2026-11-26T11:00:00Z' }, before)).toBe('unknown');
    expect(punctuality({ window }, before)).toBe('unknown');
    expect(punctuality({ window }, '2026-11-26T12:30:00Z')).toBe('late');
  });
});
