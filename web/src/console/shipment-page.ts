// Shipment page: map (planned route, driven track with reporting gaps drawn dashed, stops with
// their geofences and status, milestones, where anomalies opened and resolved), the timeline
// beside it (linked both ways with the map), the ETA history chart, replay (a time slider and
// play at ×N moving the truck, the timeline following) and live updates over the SSE stream.
import { positionAt, type TrackVertex } from '../../../domain/track.js';
import { api, el, esc, formatTime } from '../shared/api.js';
import { addGeoJson, boundsOf, circlePolygon, createMap, point, setData, type MapInstance } from '../shared/map.js';
import type { EtaPrediction, Fix, Stop, TimelineEvent, TrackLayers } from '../shared/types.js';
import { createEtaChart, type ChartStop } from './eta-chart.js';
import type { Session, Teardown } from './main.js';
import { renderShareLinks } from './share-links.js';

interface ShipmentView {
  id: string;
  reference: string;
  status: string;
  stops: Stop[];
  eta?: string;
  lastPosition?: Fix;
  thresholds?: { signalLossMin?: number };
}

interface MapLayers {
  track: TrackLayers;
  fixes: number;
  vertices: number;
  stops: Stop[];
  plannedRoute?: { type: 'LineString'; coordinates: [number, number][] };
  milestones: { eventId: string; type: string; stopSequence?: number; at: string; lat: number; lon: number }[];
  anomalies: { eventId: string; anomaly: string; action: 'opened' | 'resolved'; at: string; lat: number; lon: number; detail?: string }[];
  streamCursor: string;
}

/** A row of the timeline: a stored event, or an ETA change derived from the predictions. */
interface TimelineItem {
  key: string;
  at: string;
  label: string;
  kind: string;
  position?: [number, number];
}

const STOP_COLORS = ['match', ['get', 'status'], 'ARRIVED', '#2e7d32', 'DEPARTED', '#1565c0', '#9e9e9e'] as unknown as string;
const ETA_CHANGE_MIN = 5;
const SPEEDS = [10, 60, 300, 1800];

function describe(event: TimelineEvent): string {
  const d = event.data;
  const stop = typeof d.stopName === 'string' ? ` · ${d.stopName}` : '';
  switch (event.type) {
    case 'ANOMALY_OPENED':
      return `${String(d.anomaly)} opened${stop}${typeof d.detail === 'string' ? ` — ${d.detail}` : ''}`;
    case 'ANOMALY_RESOLVED':
      return `${String(d.anomaly)} resolved${stop}`;
    case 'STATUS_CHANGED':
      return `status ${String(d.from)} → ${String(d.to)}${stop}`;
    default:
      return `${event.type.replace(/_/g, ' ').toLowerCase()}${stop}`;
  }
}

async function allTimeline(id: string): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: TimelineEvent[]; nextCursor: string | null } = await api(`/v1/shipments/${id}/timeline?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && events.length < 5_000);
  return events;
}

/** Model predictions that moved the stop's ETA by at least ETA_CHANGE_MIN, as timeline rows. */
function etaChanges(predictions: readonly EtaPrediction[], stops: readonly Stop[]): TimelineItem[] {
  const last = new Map<number, number>();
  const items: TimelineItem[] = [];
  for (const p of predictions) {
    if (p.source !== 'model') continue;
    const arrival = Date.parse(p.predictedArrival);
    const previous = last.get(p.stopSequence);
    last.set(p.stopSequence, arrival);
    if (previous !== undefined && Math.abs(arrival - previous) < ETA_CHANGE_MIN * 60_000) continue;
    const name = stops.find((s) => s.sequence === p.stopSequence)?.name ?? `stop ${p.stopSequence}`;
    items.push({ key: `eta:${p.stopSequence}:${p.predictedAt}`, at: p.predictedAt, kind: 'ETA_CHANGED', label: `ETA ${name}: ${formatTime(p.predictedArrival)}` });
  }
  return items;
}

export async function renderShipmentPage(page: HTMLElement, session: Session, id: string): Promise<Teardown> {
  const [shipment, layers, timeline, history] = await Promise.all([
    api<ShipmentView>(`/v1/shipments/${id}`),
    api<MapLayers>(`/v1/shipments/${id}/map`),
    allTimeline(id),
    api<{ stops: ChartStop[]; predictions: EtaPrediction[] }>(`/v1/shipments/${id}/eta-history`),
  ]);
  page.innerHTML = `
    <section class="shipment">
      <h1><a href="/app" data-link>Shipments</a> / ${esc(shipment.reference)} <span class="status status-${esc(shipment.status)}" id="status">${esc(shipment.status)}</span></h1>
      <div class="stops" id="stops"></div>
      <div class="split">
        <div class="map" id="shipment-map"></div>
        <ol class="timeline" id="timeline"></ol>
      </div>
      <div class="replay">
        <button type="button" id="play">▶ Play</button>
        <select id="speed">${SPEEDS.map((s) => `<option value="${s}" ${s === 60 ? 'selected' : ''}>×${s}</option>`).join('')}</select>
        <input type="range" id="replay-time" min="0" max="1000" value="1000">
        <span id="replay-clock">live</span>
        <span class="fixes" id="fix-count">${layers.fixes} fixes · ${layers.vertices} vertices drawn</span>
      </div>
      <div class="eta-history"><h2>ETA history <select id="chart-stop"></select></h2><div id="eta-chart"></div></div>
      <div id="share-links"></div>
    </section>`;

  // ---- state
  let stops = shipment.stops;
  const segments: TrackVertex[][] = layers.track.features.filter((f) => f.properties.kind === 'reporting').map((f) => f.geometry.coordinates.slice());
  const gaps: TrackVertex[][] = layers.track.features.filter((f) => f.properties.kind === 'gap').map((f) => f.geometry.coordinates);
  const gapSeconds = (shipment.thresholds?.signalLossMin ?? 30) * 60;
  const milestones = layers.milestones.slice();
  const anomalies = layers.anomalies.slice();
  const events = new Map(timeline.map((e) => [e.id, e]));
  const predictions = history.predictions.slice();
  const seenEta = new Set(predictions.map((p) => `${p.stopSequence}:${p.source}:${p.predictedAt}`));
  let replayAt: number | undefined;
  let selected: string | undefined;

  const allVertices = () => segments.flat().sort((a, b) => a[2] - b[2]);
  const positionOf = (iso: string): [number, number] | undefined => {
    const p = positionAt(allVertices(), Date.parse(iso) / 1000);
    return p ? [p[0], p[1]] : undefined;
  };

  // ---- map
  const container = el(page, '#shipment-map');
  const map: MapInstance = await createMap(container);
  for (const source of ['route', 'track', 'gaps', 'geofences', 'stops', 'milestones', 'anomalies', 'truck', 'selected']) addGeoJson(map, source);
  map.addLayer({ id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#90a4ae', 'line-width': 3, 'line-dasharray': [2, 2] } });
  map.addLayer({ id: 'geofences', type: 'fill', source: 'geofences', paint: { 'fill-color': STOP_COLORS, 'fill-opacity': 0.15, 'fill-outline-color': STOP_COLORS } });
  map.addLayer({ id: 'track', type: 'line', source: 'track', layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': '#1e88e5', 'line-width': 4 } });
  map.addLayer({ id: 'gaps', type: 'line', source: 'gaps', paint: { 'line-color': '#e53935', 'line-width': 3, 'line-dasharray': [1, 2] } });
  map.addLayer({ id: 'stops', type: 'circle', source: 'stops', paint: { 'circle-radius': 8, 'circle-color': STOP_COLORS, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'milestones', type: 'circle', source: 'milestones', paint: { 'circle-radius': 5, 'circle-color': '#43a047', 'circle-stroke-color': '#1b5e20', 'circle-stroke-width': 1 } });
  map.addLayer({
    id: 'anomalies',
    type: 'circle',
    source: 'anomalies',
    paint: { 'circle-radius': 6, 'circle-color': ['match', ['get', 'action'], 'opened', '#d32f2f', '#ff9800'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 },
  });
  map.addLayer({ id: 'truck', type: 'circle', source: 'truck', paint: { 'circle-radius': 9, 'circle-color': '#263238', 'circle-stroke-color': '#ffeb3b', 'circle-stroke-width': 3 } });
  map.addLayer({ id: 'selected', type: 'circle', source: 'selected', paint: { 'circle-radius': 14, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#6a1b9a', 'circle-stroke-width': 3 } });

  const lines = (list: TrackVertex[][]): GeoJSON.FeatureCollection => ({
    type: 'FeatureCollection',
    features: list.map((coordinates) => ({ type: 'Feature', geometry: { type: 'LineString', coordinates: coordinates.length === 1 ? [coordinates[0]!, coordinates[0]!] : coordinates }, properties: {} })),
  });

  function drawStatic(): void {
    if (layers.plannedRoute) setData(map, 'route', { type: 'Feature', geometry: layers.plannedRoute, properties: {} });
    setData(map, 'geofences', {
      type: 'FeatureCollection',
      features: stops.map((s) => ({ type: 'Feature', geometry: circlePolygon(s.location.lon, s.location.lat, s.geofenceRadiusM ?? 300), properties: { status: s.status } })),
    });
    setData(map, 'stops', { type: 'FeatureCollection', features: stops.map((s) => point(s.location.lon, s.location.lat, { status: s.status, name: s.name, sequence: s.sequence })) });
  }

  function drawTrack(): void {
    setData(map, 'track', lines(segments));
    setData(map, 'gaps', lines(gaps));
    setData(map, 'milestones', { type: 'FeatureCollection', features: milestones.map((m) => point(m.lon, m.lat, { key: m.eventId })) });
    setData(map, 'anomalies', { type: 'FeatureCollection', features: anomalies.map((a) => point(a.lon, a.lat, { key: a.eventId, action: a.action })) });
    container.dataset.trackVertices = String(segments.reduce((n, s) => n + s.length, 0));
    drawTruck();
  }

  function drawTruck(): void {
    const vertices = allVertices();
    const at = replayAt ?? vertices[vertices.length - 1]?.[2];
    const p = at === undefined ? undefined : positionAt(vertices, at);
    setData(map, 'truck', { type: 'FeatureCollection', features: p ? [point(p[0], p[1])] : [] });
    if (p) container.dataset.truck = `${p[0].toFixed(5)},${p[1].toFixed(5)}`;
  }

  // ---- timeline
  const list = el(page, '#timeline');
  function timelineItems(): TimelineItem[] {
    const positions = new Map<string, [number, number]>([...milestones, ...anomalies].map((m) => [m.eventId, [m.lon, m.lat]]));
    const stored: TimelineItem[] = [...events.values()].map((e) => ({
      key: e.id,
      at: e.occurredAt,
      kind: e.type,
      label: describe(e),
      ...(positions.has(e.id) ? { position: positions.get(e.id)! } : {}),
    }));
    return [...stored, ...etaChanges(predictions, stops)].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  }
  function drawTimeline(): void {
    list.innerHTML = timelineItems()
      .map((item) => `<li data-key="${esc(item.key)}" data-at="${esc(item.at)}" class="kind-${esc(item.kind)}${item.key === selected ? ' selected' : ''}"><time>${formatTime(item.at)}</time> ${esc(item.label)}</li>`)
      .join('');
    followReplay();
  }
  function select(key: string, fly: boolean): void {
    selected = key;
    const item = timelineItems().find((i) => i.key === key);
    if (!item) return;
    const position = item.position ?? positionOf(item.at);
    setData(map, 'selected', { type: 'FeatureCollection', features: position ? [point(position[0], position[1])] : [] });
    if (position && fly) map.flyTo({ center: position, zoom: Math.max(map.getZoom(), 10), duration: 600 });
    container.dataset.selected = key;
    for (const li of list.querySelectorAll('li')) li.classList.toggle('selected', li.dataset.key === key);
    list.querySelector(`li[data-key="${CSS.escape(key)}"]`)?.scrollIntoView({ block: 'nearest' });
  }
  list.addEventListener('click', (event) => {
    const li = (event.target as HTMLElement).closest('li');
    if (li?.dataset.key) select(li.dataset.key, true);
  });
  for (const layer of ['milestones', 'anomalies']) {
    map.on('click', layer, (event) => {
      const key = event.features?.[0]?.properties?.key;
      if (typeof key === 'string') select(key, false);
    });
    map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
  }

  // ---- stops strip
  function drawStops(): void {
    el(page, '#stops').innerHTML = stops
      .map((s) => `<span class="stop stop-${esc(s.status)}"><b>${s.sequence}. ${esc(s.name)}</b> ${esc(s.status)}${s.arrivedAt ? ` · arrived ${formatTime(s.arrivedAt)}` : s.eta ? ` · ETA ${formatTime(s.eta)}` : ''}${s.window ? ` · window ${formatTime(s.window.start)}–${formatTime(s.window.end).slice(11)}` : ''}</span>`)
      .join('');
  }

  // ---- ETA chart
  const chartStop = el<HTMLSelectElement>(page, '#chart-stop');
  chartStop.innerHTML = history.stops.map((s) => `<option value="${s.sequence}">${s.sequence}. ${esc(s.name)}</option>`).join('');
  chartStop.value = String(stops.find((s) => s.status === 'PENDING')?.sequence ?? history.stops[history.stops.length - 1]?.sequence ?? 1);
  const chart = createEtaChart(el(page, '#eta-chart'));
  const drawChart = () => {
    const stop = stops.find((s) => String(s.sequence) === chartStop.value);
    const base = history.stops.find((s) => String(s.sequence) === chartStop.value);
    if (base) chart.update({ ...base, ...(stop?.arrivedAt ? { arrivedAt: stop.arrivedAt } : {}) }, predictions);
  };
  chartStop.addEventListener('change', drawChart);

  // ---- replay
  const slider = el<HTMLInputElement>(page, '#replay-time');
  const clock = el(page, '#replay-clock');
  const playButton = el<HTMLButtonElement>(page, '#play');
  let playing: number | undefined;
  const span = () => {
    const v = allVertices();
    return v.length > 0 ? { from: v[0]![2], to: v[v.length - 1]![2] } : undefined;
  };
  function followReplay(): void {
    if (replayAt === undefined) return;
    let current: HTMLLIElement | undefined;
    for (const li of list.querySelectorAll<HTMLLIElement>('li')) {
      const past = Date.parse(li.dataset.at!) / 1000 <= replayAt;
      li.classList.toggle('future', !past);
      if (past) current = li;
    }
    for (const li of list.querySelectorAll('li.current')) li.classList.remove('current');
    current?.classList.add('current');
    current?.scrollIntoView({ block: 'nearest' });
  }
  function setReplay(at: number | undefined): void {
    const s = span();
    replayAt = at === undefined || !s ? undefined : Math.min(Math.max(at, s.from), s.to);
    clock.textContent = replayAt === undefined ? 'live' : formatTime(replayAt * 1000);
    if (s) slider.value = String(replayAt === undefined ? 1000 : Math.round(((replayAt - s.from) / Math.max(1, s.to - s.from)) * 1000));
    if (replayAt === undefined) for (const li of list.querySelectorAll('li')) li.classList.remove('future', 'current');
    drawTruck();
    followReplay();
  }
  slider.addEventListener('input', () => {
    const s = span();
    if (s) setReplay(Number(slider.value) >= 1000 ? undefined : s.from + ((s.to - s.from) * Number(slider.value)) / 1000);
  });
  const stopPlaying = () => {
    if (playing !== undefined) clearInterval(playing);
    playing = undefined;
    playButton.textContent = '▶ Play';
  };
  playButton.addEventListener('click', () => {
    if (playing !== undefined) return stopPlaying();
    const s = span();
    if (!s) return;
    if (replayAt === undefined || replayAt >= s.to) setReplay(s.from);
    playButton.textContent = '❚❚ Pause';
    const tickMs = 100;
    playing = window.setInterval(() => {
      const speed = Number(el<HTMLSelectElement>(page, '#speed').value);
      const next = (replayAt ?? s.from) + (speed * tickMs) / 1000;
      if (next >= span()!.to) {
        stopPlaying();
        setReplay(undefined);
      } else setReplay(next);
    }, tickMs);
  });

  // ---- live
  const refreshState = async () => {
    const view = await api<ShipmentView>(`/v1/shipments/${id}`);
    stops = view.stops;
    el(page, '#status').textContent = view.status;
    drawStops();
    drawStatic();
    drawChart();
  };
  let stateTimer: number | undefined;
  const refreshSoon = () => {
    stateTimer ??= window.setTimeout(() => {
      stateTimer = undefined;
      void refreshState().catch(() => undefined);
    }, 500);
  };
  const stream = new EventSource(`/v1/shipments/${id}/stream?after=${encodeURIComponent(layers.streamCursor)}`);
  stream.addEventListener('position', (message) => {
    const fix = JSON.parse((message as MessageEvent<string>).data) as Fix;
    const vertex: TrackVertex = [fix.lon, fix.lat, Date.parse(fix.recordedAt) / 1000];
    const lastSegment = segments[segments.length - 1];
    const last = lastSegment?.[lastSegment.length - 1];
    if (!lastSegment || !last) segments.push([vertex]);
    else if (vertex[2] < last[2]) {
      // A late fix: put it in time order inside its stretch.
      lastSegment.push(vertex);
      lastSegment.sort((a, b) => a[2] - b[2]);
    } else if (vertex[2] - last[2] > gapSeconds) {
      gaps.push([last, vertex]);
      segments.push([vertex]);
    } else lastSegment.push(vertex);
    el(page, '#fix-count').textContent = `${Number(container.dataset.liveFixes ?? 0) + layers.fixes + 1} fixes`;
    container.dataset.liveFixes = String(Number(container.dataset.liveFixes ?? 0) + 1);
    drawTrack();
  });
  stream.addEventListener('timeline', (message) => {
    const event = JSON.parse((message as MessageEvent<string>).data) as TimelineEvent;
    if (events.has(event.id)) return;
    events.set(event.id, event);
    const d = event.data;
    const position: [number, number] | undefined = typeof d.lat === 'number' && typeof d.lon === 'number' ? [d.lon, d.lat] : positionOf(event.occurredAt);
    if (position && ['ARRIVED', 'DEPARTED', 'MANUAL_ARRIVAL', 'MANUAL_DEPARTURE'].includes(event.type)) {
      milestones.push({ eventId: event.id, type: event.type, at: event.occurredAt, lon: position[0], lat: position[1] });
    }
    if (position && event.type.startsWith('ANOMALY_')) {
      anomalies.push({ eventId: event.id, anomaly: String(d.anomaly), action: event.type === 'ANOMALY_OPENED' ? 'opened' : 'resolved', at: event.occurredAt, lon: position[0], lat: position[1] });
    }
    drawTrack();
    drawTimeline();
    refreshSoon();
  });
  stream.addEventListener('eta', (message) => {
    const prediction = JSON.parse((message as MessageEvent<string>).data) as EtaPrediction;
    const key = `${prediction.stopSequence}:${prediction.source}:${prediction.predictedAt}`;
    if (seenEta.has(key)) return;
    seenEta.add(key);
    predictions.push(prediction);
    drawChart();
    drawTimeline();
    refreshSoon();
  });
  stream.addEventListener('ready', () => (container.dataset.live = 'true'));

  // ---- first paint
  drawStatic();
  drawTrack();
  drawStops();
  drawTimeline();
  drawChart();
  const bounds = boundsOf([...allVertices().map((v): [number, number] => [v[0], v[1]]), ...stops.map((s): [number, number] => [s.location.lon, s.location.lat])]);
  if (bounds) map.fitBounds(bounds, { padding: 50, duration: 0 });
  await new Promise<void>((resolve) => map.once('idle', () => resolve()));
  container.dataset.ready = 'true';

  const teardownShare = session.role === 'viewer' ? undefined : renderShareLinks(el(page, '#share-links'), id);
  return () => {
    stream.close();
    stopPlaying();
    if (stateTimer !== undefined) clearTimeout(stateTimer);
    teardownShare?.();
    chart.destroy();
    map.remove();
  };
}
