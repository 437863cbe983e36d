// The driven track of a shipment as the console and the share page draw it: split at reporting
// gaps (a silence of the shipment's signal-loss threshold) and simplified server-side.
import type { Kysely } from 'kysely';
import { shipmentTrackVertices } from '../db/repositories/console.js';
import type { Database, ShipmentRow } from '../db/schema.js';
import { DEFAULT_ANOMALY_CONFIG } from '../domain/anomalies/config.js';
import { simplifyTrack, type SimplifiedTrack, type TrackVertex } from '../domain/track.js';

/** Vertices a whole track may keep without a zoom level: plenty for a screen, light for a phone. */
export const TRACK_POINT_BUDGET = 2_000;

export function reportingGapMs(row: ShipmentRow): number {
  return (row.thresholds.signalLossMin ?? DEFAULT_ANOMALY_CONFIG.signalLossMin) * 60_000;
}

export async function loadSimplifiedTrack(
  db: Kysely<Database>,
  row: ShipmentRow,
  options: { zoom?: number; maxPoints?: number } = {},
): Promise<{ track: SimplifiedTrack; vertices: TrackVertex[] }> {
  const vertices = await shipmentTrackVertices(db, row.id);
  const track = simplifyTrack(vertices, { gapMs: reportingGapMs(row), maxPoints: options.maxPoints ?? TRACK_POINT_BUDGET, ...(options.zoom !== undefined ? { zoom: options.zoom } : {}) });
  return { track, vertices };
}
