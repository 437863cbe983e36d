// The public tracking page of a share link: the shipment's progress only (stops with their status
// and ETA, the last position and the track), refreshed every 30 seconds. No key, no fleet ids.
import { api, ApiError, el, esc, formatTime } from '../shared/api.js';
import { addGeoJson, boundsOf, createMap, point, setData } from '../shared/map.js';
import type { Stop, TrackLayers } from '../shared/types.js';
import '../styles/track.css';

interface Tracking {
  status: string;
  updatedAt: string;
  eta?: string;
  lastPosition?: { recordedAt: string; lat: number; lon: number };
  stops: Stop[];
  track: TrackLayers;
}

const REFRESH_MS = 30_000;
const token = location.pathname.split('/').pop() ?? '';
const root = el(document, '#app');

function notFound(): void {
  root.innerHTML = '<main class="not-found"><h1>Tracking link not found</h1><p>This link is unknown, has expired or was revoked.</p></main>';
}

async function main(): Promise<void> {
  root.innerHTML = `
    <main class="tracking">
      <header><h1>Shipment tracking</h1><p id="summary"></p></header>
      <div class="map" id="track-map"></div>
      <ol class="stops" id="stops"></ol>
    </main>`;
  const container = el(root, '#track-map');
  const map = await createMap(container);
  for (const source of ['track', 'stops', 'truck']) addGeoJson(map, source);
  map.addLayer({ id: 'track', type: 'line', source: 'track', paint: { 'line-color': '#1e88e5', 'line-width': 4, 'line-opacity': ['match', ['get', 'kind'], 'gap', 0.4, 1] } });
  map.addLayer({ id: 'stops', type: 'circle', source: 'stops', paint: { 'circle-radius': 8, 'circle-color': ['match', ['get', 'status'], 'PENDING', '#9e9e9e', '#2e7d32'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'truck', type: 'circle', source: 'truck', paint: { 'circle-radius': 9, 'circle-color': '#263238', 'circle-stroke-color': '#ffeb3b', 'circle-stroke-width': 3 } });
  let fitted = false;

  async function refresh(): Promise<void> {
    let data: Tracking;
    try {
      data = await api<Tracking>(`/v1/track/${encodeURIComponent(token)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return notFound();
      throw error;
    }
    const last = data.lastPosition;
    el(root, '#summary').innerHTML = `<b>${esc(data.status.replace('_', ' ').toLowerCase())}</b>${data.eta ? ` · next stop ETA ${formatTime(data.eta)}` : ''}${last ? ` · last seen ${formatTime(last.recordedAt)}` : ''}`;
    el(root, '#stops').innerHTML = data.stops
      .map((s) => `<li class="stop-${esc(s.status)}"><b>${esc(s.name)}</b> ${esc(s.status.toLowerCase())}${s.arrivedAt ? ` · arrived ${formatTime(s.arrivedAt)}` : s.eta ? ` · ETA ${formatTime(s.eta)}` : ''}</li>`)
      .join('');
    setData(map, 'track', data.track as GeoJSON.FeatureCollection);
    setData(map, 'stops', { type: 'FeatureCollection', features: data.stops.map((s) => point(s.location.lon, s.location.lat, { status: s.status })) });
    setData(map, 'truck', { type: 'FeatureCollection', features: last ? [point(last.lon, last.lat)] : [] });
    const bounds = boundsOf([...data.stops.map((s): [number, number] => [s.location.lon, s.location.lat]), ...(last ? [[last.lon, last.lat] as [number, number]] : [])]);
    if (bounds && !fitted) {
      map.fitBounds(bounds, { padding: 50, duration: 0 });
      fitted = true;
    }
    await new Promise<void>((resolve) => map.once('idle', () => resolve()));
    container.dataset.ready = 'true';
  }

  await refresh();
  setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
}

void main();
