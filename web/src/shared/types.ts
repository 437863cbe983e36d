// The shapes of the API answers the web pages read (see /openapi.json for the full schemas).
import type { TrackVertex } from '../../../domain/track.js';

export interface Stop {
  sequence: number;
  type: string;
  name: string;
  location: { lat: number; lon: number };
  geofenceRadiusM?: number;
  window?: { start: string; end: string };
  status: 'PENDING' | 'ARRIVED' | 'DEPARTED';
  arrivedAt?: string;
  departedAt?: string;
  eta?: string;
}

export interface TrackLayers {
  type: 'FeatureCollection';
  features: { type: 'Feature'; geometry: { type: 'LineString'; coordinates: TrackVertex[] }; properties: { kind: 'reporting' | 'gap' } }[];
}

export interface Fix {
  recordedAt: string;
  lat: number;
  lon: number;
  speedKmh?: number;
}

export interface TimelineEvent {
  id: string;
  type: string;
  occurredAt: string;
  stopSequence?: number;
  data: Record<string, unknown>;
}

export interface EtaPrediction {
  stopSequence: number;
  source: string;
  predictedAt: string;
  predictedArrival: string;
}
