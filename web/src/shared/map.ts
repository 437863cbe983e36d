// MapLibre maps with an offline basemap: Natural Earth country shapes (world-atlas, served from
// our own origin) drawn as GeoJSON fill and border layers, so the console works with no internet.
// With MAP_STYLE_URL set (a <meta> tag of the page carries it) the map uses that vector-tile style.
import maplibregl, { type GeoJSONSource, type LngLatBoundsLike, type StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';

maplibregl.setWorkerUrl('/app/assets/maplibre-gl-csp-worker.js');

export type MapInstance = maplibregl.Map;
export type FeatureCollection = GeoJSON.FeatureCollection;
export const emptyCollection = (): FeatureCollection => ({ type: 'FeatureCollection', features: [] });

let countries: Promise<{ land: GeoJSON.FeatureCollection; borders: GeoJSON.MultiLineString }> | undefined;

function loadCountries() {
  countries ??= fetch('/app/assets/countries-50m.json')
    .then((res) => res.json() as Promise<Topology<{ countries: GeometryCollection }>>)
    .then((topology) => ({
      land: feature(topology, topology.objects.countries) as GeoJSON.FeatureCollection,
      borders: mesh(topology, topology.objects.countries, (a, b) => a !== b),
    }));
  return countries;
}

async function offlineStyle(): Promise<StyleSpecification> {
  const { land, borders } = await loadCountries();
  return {
    version: 8,
    sources: {
      land: { type: 'geojson', data: land },
      borders: { type: 'geojson', data: { type: 'Feature', geometry: borders, properties: {} } },
    },
    layers: [
      { id: 'sea', type: 'background', paint: { 'background-color': '#cfe0ec' } },
      { id: 'land', type: 'fill', source: 'land', paint: { 'fill-color': '#f4f1ea', 'fill-outline-color': '#b9b4a8' } },
      { id: 'borders', type: 'line', source: 'borders', paint: { 'line-color': '#a8a294', 'line-width': 0.8 } },
    ],
  };
}

export function mapStyleUrl(): string | undefined {
  return document.querySelector<HTMLMetaElement>('meta[name="retrack-map-style"]')?.content || undefined;
}

/** A map in `container`, resolved once its basemap has loaded. The container keeps a reference (tests read the layers through it). */
export async function createMap(container: HTMLElement, view: { center?: [number, number]; zoom?: number } = {}): Promise<MapInstance> {
  const map = new maplibregl.Map({
    container,
    style: mapStyleUrl() ?? (await offlineStyle()),
    center: view.center ?? [8, 48],
    zoom: view.zoom ?? 4,
    attributionControl: { compact: true, customAttribution: mapStyleUrl() ? undefined : 'Natural Earth' },
    // Keeps the last frame readable, so screenshots and the browser tests see what was drawn.
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  (container as HTMLElement & { maplibreMap?: MapInstance }).maplibreMap = map;
  await new Promise<void>((resolve) => map.once('load', () => resolve()));
  return map;
}

export function setData(map: MapInstance, source: string, data: GeoJSON.GeoJSON): void {
  (map.getSource(source) as GeoJSONSource | undefined)?.setData(data);
}

export function addGeoJson(map: MapInstance, source: string, data: GeoJSON.GeoJSON = emptyCollection()): void {
  map.addSource(source, { type: 'geojson', data });
}

/** A circle of `radiusM` metres around a point as a 48-sided polygon (MapLibre circles are sized in pixels). */
export function circlePolygon(lon: number, lat: number, radiusM: number): GeoJSON.Polygon {
  const ring: [number, number][] = [];
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  for (let i = 0; i <= 48; i++) {
    const a = (i / 48) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Polygon', coordinates: [ring] };
}

export function boundsOf(points: [number, number][]): LngLatBoundsLike | undefined {
  if (points.length === 0) return undefined;
  let [west, south, east, north] = [points[0]![0], points[0]![1], points[0]![0], points[0]![1]];
  for (const [lon, lat] of points) {
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  }
  return [[west, south], [east, north]];
}

export const point = (lon: number, lat: number, properties: Record<string, unknown> = {}): GeoJSON.Feature => ({
  type: 'Feature',
  geometry: { type: 'Point', coordinates: [lon, lat] },
  properties,
});
