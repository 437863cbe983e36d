// Shipments page: counts per status, the list with the API's filters, each active shipment's next
// ETA against its appointment window, open anomalies, and a fleet map of every active shipment's
// last position. Refreshes every few seconds.
import { api, el, esc, formatTime } from '../shared/api.js';
import { addGeoJson, boundsOf, createMap, point, setData, type MapInstance } from '../shared/map.js';
import type { Fix } from '../shared/types.js';
import type { Teardown } from './main.js';
import { navigate } from './navigation.js';

const STATUSES = ['PLANNED', 'IN_TRANSIT', 'AT_STOP', 'DELIVERED', 'CANCELLED'];
const ANOMALIES = ['SIGNAL_LOST', 'LONG_DWELL', 'UNPLANNED_STOP', 'OFF_ROUTE', 'LATE', 'OUT_OF_SEQUENCE', 'TEMPERATURE_EXCURSION'];
const REFRESH_MS = 5_000;
export const PUNCTUALITY_COLORS: Record<string, string> = { on_time: '#2e7d32', at_risk: '#f9a825', late: '#c62828', unknown: '#607d8b' };

interface Summary {
  id: string;
  reference: string;
  status: string;
  carrierId?: string;
  openAnomalies: string[];
  eta?: string;
  lastPosition?: Fix;
}

interface Overview {
  counts: Record<string, number>;
  active: { id: string; reference: string; status: string; lastPosition?: Fix; openAnomalies: string[]; punctuality: string; nextStop?: { name: string; window?: { start: string; end: string }; eta?: string } }[];
}

const options = (values: string[], label: string) => `<option value="">${label}</option>${values.map((v) => `<option>${v}</option>`).join('')}`;

export async function renderShipmentsPage(page: HTMLElement): Promise<Teardown> {
  page.innerHTML = `
    <section class="shipments">
      <div class="counts" id="counts"></div>
      <form class="filters" id="filters">
        <select name="status">${options(STATUSES, 'any status')}</select>
        <select name="anomaly">${options(ANOMALIES, 'any anomaly')}</select>
        <input name="carrierId" placeholder="carrier id">
        <input name="reference" placeholder="reference">
        <button type="submit">Filter</button>
      </form>
      <div class="split">
        <table class="list"><thead><tr><th>Reference</th><th>Status</th><th>Next stop</th><th>ETA</th><th>Window</th><th>Punctuality</th><th>Open anomalies</th></tr></thead>
        <tbody id="rows"></tbody></table>
        <div class="map" id="fleet-map"></div>
      </div>
    </section>`;
  const form = el<HTMLFormElement>(page, '#filters');
  const map: MapInstance = await createMap(el(page, '#fleet-map'));
  addGeoJson(map, 'fleet');
  map.addLayer({ id: 'fleet', type: 'circle', source: 'fleet', paint: { 'circle-radius': 7, 'circle-color': ['get', 'color'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.on('click', 'fleet', (event) => {
    const id = event.features?.[0]?.properties?.id;
    if (typeof id === 'string') navigate(`/app/shipments/${id}`);
  });
  map.on('mouseenter', 'fleet', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'fleet', () => (map.getCanvas().style.cursor = ''));
  let fitted = false;

  async function refresh(): Promise<void> {
    const query = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (typeof value === 'string' && value.trim()) query.set(key, value.trim());
    query.set('limit', '200');
    const [overview, list] = await Promise.all([api<Overview>('/v1/shipment-overview'), api<{ items: Summary[] }>(`/v1/shipments?${query}`)]);
    el(page, '#counts').innerHTML = STATUSES.map((s) => `<span class="count status-${s}"><b>${overview.counts[s] ?? 0}</b> ${s.replace('_', ' ').toLowerCase()}</span>`).join('');
    const active = new Map(overview.active.map((a) => [a.id, a]));
    el(page, '#rows').innerHTML = list.items
      .map((s) => {
        const a = active.get(s.id);
        const next = a?.nextStop;
        return `<tr data-shipment="${esc(s.id)}">
          <td><a href="/app/shipments/${esc(s.id)}" data-link>${esc(s.reference)}</a></td>
          <td><span class="status status-${esc(s.status)}">${esc(s.status)}</span></td>
          <td>${esc(next?.name ?? '—')}</td>
          <td>${formatTime(next?.eta ?? s.eta)}</td>
          <td>${next?.window ? `${formatTime(next.window.start)} – ${formatTime(next.window.end).slice(11)}` : '—'}</td>
          <td>${a ? `<span class="badge punctuality-${esc(a.punctuality)}">${esc(a.punctuality.replace('_', ' '))}</span>` : '—'}</td>
          <td>${s.openAnomalies.map((x) => `<span class="anomaly">${esc(x)}</span>`).join(' ') || '—'}</td>
        </tr>`;
      })
      .join('') || '<tr><td colspan="7" class="empty">No shipments match.</td></tr>';
    const located = overview.active.filter((a) => a.lastPosition);
    setData(map, 'fleet', {
      type: 'FeatureCollection',
      features: located.map((a) => point(a.lastPosition!.lon, a.lastPosition!.lat, { id: a.id, reference: a.reference, color: PUNCTUALITY_COLORS[a.punctuality] })),
    });
    const bounds = boundsOf(located.map((a) => [a.lastPosition!.lon, a.lastPosition!.lat]));
    if (bounds && !fitted) {
      map.fitBounds(bounds, { padding: 60, maxZoom: 9, duration: 0 });
      fitted = true;
    }
    page.dataset.loaded = 'true';
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void refresh();
  });
  await refresh();
  const timer = setInterval(() => void refresh().catch(() => undefined), REFRESH_MS);
  return () => {
    clearInterval(timer);
    map.remove();
  };
}
