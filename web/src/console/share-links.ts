// Share links panel of the shipment page (dispatcher and admin): create a public tracking link
// (its URL is shown once), list the shipment's links and revoke them.
import { api, ApiError, el, esc, formatTime } from '../shared/api.js';

interface ShareLink {
  id: string;
  status: string;
  createdAt: string;
  expiresAt: string;
  url?: string;
}

export function renderShareLinks(container: HTMLElement, shipmentId: string): () => void {
  container.innerHTML = `
    <section class="share-links">
      <h2>Share links</h2>
      <form id="share-form">
        <label>valid for <select name="days"><option value="1">1 day</option><option value="7" selected>7 days</option><option value="30">30 days</option></select></label>
        <button type="submit" id="share-create">Create tracking link</button>
      </form>
      <p class="created" id="share-created"></p>
      <ul id="share-list"></ul>
    </section>`;
  const list = el(container, '#share-list');
  const base = `/v1/shipments/${shipmentId}/share-links`;

  async function refresh(): Promise<void> {
    const { items } = await api<{ items: ShareLink[] }>(base);
    list.innerHTML =
      items
        .map(
          (link) => `<li data-link-id="${esc(link.id)}" class="link-${esc(link.status)}">${esc(link.status)} · expires ${formatTime(link.expiresAt)}
            ${link.status === 'active' ? `<button type="button" data-revoke="${esc(link.id)}">Revoke</button>` : ''}</li>`,
        )
        .join('') || '<li class="empty">No links yet.</li>';
  }

  el<HTMLFormElement>(container, '#share-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const days = Number(new FormData(event.target as HTMLFormElement).get('days'));
    const expiresAt = new Date(Date.now() + days * 86_400_000 - 60_000).toISOString();
    api<ShareLink>(base, { method: 'POST', body: { expiresAt } })
      .then((link) => {
        el(container, '#share-created').innerHTML = `Link (shown once): <a id="share-url" href="${esc(link.url)}" target="_blank" rel="noopener noreferrer">${esc(link.url)}</a>`;
        return refresh();
      })
      .catch((error: unknown) => (el(container, '#share-created').textContent = error instanceof ApiError ? error.detail : 'Could not create the link.'));
  });
  list.addEventListener('click', (event) => {
    const id = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-revoke]')?.dataset.revoke;
    if (id) void api(`${base}/${id}`, { method: 'DELETE' }).then(refresh);
  });
  void refresh();
  return () => undefined;
}
