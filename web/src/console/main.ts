// The web console: sign-in, the shipments page and the shipment page, routed by path under /app.
import { api, ApiError, el, esc } from '../shared/api.js';
import { navigate } from './navigation.js';
import { renderShipmentPage } from './shipment-page.js';
import { renderShipmentsPage } from './shipments-page.js';
import '../styles/console.css';

export interface Session {
  tenantId: string;
  keyId: string;
  role: 'admin' | 'dispatcher' | 'viewer';
}

/** What a page gives back so leaving it stops its timers and streams. */
export type Teardown = () => void;

const root = el(document, '#app');
let teardown: Teardown | undefined;


function signInPage(message?: string): void {
  root.innerHTML = `
    <main class="sign-in">
      <h1>ReTrack console</h1>
      <form id="sign-in">
        <label>API key <input id="api-key" name="apiKey" type="password" autocomplete="off" required placeholder="rtk_…"></label>
        <button type="submit">Sign in</button>
        <p class="error" id="sign-in-error">${esc(message ?? '')}</p>
      </form>
      <p class="hint">Use a key printed by <code>npm run admin -- create-tenant</code>. The key is exchanged for a session cookie and is not stored in the browser.</p>
    </main>`;
  el<HTMLFormElement>(root, '#sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = el<HTMLInputElement>(root, '#api-key');
    api('/v1/sessions', { method: 'POST', body: { apiKey: input.value } })
      .then(() => {
        input.value = '';
        navigate('/app');
      })
      .catch((error: unknown) => {
        el(root, '#sign-in-error').textContent = error instanceof ApiError ? error.detail : 'Sign-in failed.';
      });
  });
}

function layout(session: Session): HTMLElement {
  root.innerHTML = `
    <header class="top">
      <a href="/app" class="brand" data-link>ReTrack</a>
      <span class="who">${esc(session.role)} · tenant ${esc(session.tenantId.slice(0, 8))}</span>
      <button id="sign-out" type="button">Sign out</button>
    </header>
    <div id="page"></div>`;
  el(root, '#sign-out').addEventListener('click', () => {
    void api('/v1/sessions/current', { method: 'DELETE' }).finally(() => navigate('/app/sign-in'));
  });
  return el(root, '#page');
}

// The page as served says whether its cookie holds a live session; later navigations ask the API.
let signedInAtLoad = document.querySelector<HTMLMetaElement>('meta[name="retrack-signed-in"]')?.content === 'true';

async function route(): Promise<void> {
  teardown?.();
  teardown = undefined;
  const path = location.pathname;
  if (path === '/app/sign-in') return signInPage();
  if (!signedInAtLoad) {
    signedInAtLoad = true;
    history.replaceState(null, '', '/app/sign-in');
    return signInPage();
  }
  let session: Session;
  try {
    session = await api<Session>('/v1/sessions/current');
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      history.replaceState(null, '', '/app/sign-in');
      return signInPage(error.status === 403 ? error.detail : undefined);
    }
    throw error;
  }
  const page = layout(session);
  const shipment = /^\/app\/shipments\/([^/]+)$/.exec(path);
  teardown = shipment ? await renderShipmentPage(page, session, decodeURIComponent(shipment[1]!)) : await renderShipmentsPage(page);
}

// Links marked data-link stay inside the single-page app.
document.addEventListener('click', (event) => {
  const link = (event.target as HTMLElement).closest<HTMLAnchorElement>('a[data-link]');
  if (!link || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href')!);
});
window.addEventListener('popstate', () => void route());
window.addEventListener('retrack:navigate', () => void route());
void route();
