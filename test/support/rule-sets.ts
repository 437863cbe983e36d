// The geofence rule sets a domain test can run under: the legacy rules must keep every behaviour
// they had (running shipments replay on them), the default rules are what new shipments get.
import { it } from 'vitest';
import { DEFAULT_GEOFENCE_CONFIG, LEGACY_GEOFENCE_CONFIG, type GeofenceConfig } from '../../domain/geofence.js';

export const RULE_SETS = { legacy: LEGACY_GEOFENCE_CONFIG, default: DEFAULT_GEOFENCE_CONFIG } as const;
export type RuleSetName = keyof typeof RULE_SETS;
export const BOTH_RULE_SETS: readonly RuleSetName[] = ['legacy', 'default'];

/** One test per named rule set, titled with it. */
export function itUnder(names: readonly RuleSetName[], title: string, test: (config: GeofenceConfig) => void | Promise<void>): void {
  for (const name of names) it(`${title} (${name} rules)`, () => test(RULE_SETS[name]));
}
