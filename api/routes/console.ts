// The web console (`/app`, a single-page app bundled from web/ by scripts/build-web.ts) and the
// public tracking page of a share link (`/track/{token}`), served by the API on its own origin.
// Every page carries a strict Content-Security-Policy: scripts, styles, workers and data only from
// this origin (plus the origin of MAP_STYLE_URL when one is set), no inline script, no framing.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { PROJECT_ROOT } from '../../infra/tools.js';
import type { AppEnv, RouteDeps } from '../context.js';
import { sessionIdOf, type ConsoleSessions } from '../sessions.js';
import { sharedShipment } from './share-links.js';

export const WEB_DIST = resolve(PROJECT_ROOT, 'web/dist');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export function contentSecurityPolicy(mapStyleUrl?: string): string {
  const styleOrigin = mapStyleUrl ? ` ${new URL(mapStyleUrl).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${styleOrigin}`,
    "font-src 'self'",
    `connect-src 'self'${styleOrigin}`,
    // MapLibre's CSP build loads its worker from our origin.
    "worker-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function pageHeaders(c: Context, csp: string): void {
  c.header('content-security-policy', csp);
  c.header('x-content-type-options', 'nosniff');
  // Share links carry their token in the path: never leak it to another site.
  c.header('referrer-policy', 'no-referrer');
  c.header('cache-control', 'no-store');
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function shell(options: { title: string; bundle: 'console' | 'track'; mapStyleUrl?: string; signedIn?: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="retrack-map-style" content="${escapeAttribute(options.mapStyleUrl ?? '')}">
<meta name="retrack-signed-in" content="${options.signedIn ? 'true' : 'false'}">
<link rel="icon" href="data:,">
<title>${options.title}</title>
<link rel="stylesheet" href="/app/assets/${options.bundle}.css">
<script type="module" src="/app/assets/${options.bundle}.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;
}

const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Tracking link not found</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/app/assets/track.css"></head>
<body><main class="not-found"><h1>Tracking link not found</h1><p>This link is unknown, has expired or was revoked. Ask the sender for a new one.</p></main></body>
</html>
`;

const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;
const BUNDLE_MISSING = 'The console bundle is not built: run "bash scripts/install-tools.sh" (npm start and npm test do it).';

export function consoleRoutes({ db, config }: RouteDeps, sessions: ConsoleSessions) {
  const router = new Hono<AppEnv>();
  const csp = contentSecurityPolicy(config.console.mapStyleUrl);

  router.get('/', (c) => c.redirect('/app', 302));

  router.get('/app/assets/:file', async (c) => {
    const file = c.req.param('file');
    const path = resolve(WEB_DIST, file);
    if (!ASSET_NAME.test(file) || !existsSync(path)) return c.text(existsSync(WEB_DIST) ? 'Not found' : BUNDLE_MISSING, existsSync(WEB_DIST) ? 404 : 503);
    c.header('content-type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    c.header('x-content-type-options', 'nosniff');
    c.header('cache-control', 'no-cache');
    return c.body(new Uint8Array(await readFile(path)));
  });

  const consolePage = async (c: Context<AppEnv>) => {
    pageHeaders(c, csp);
    // Tells the page whether to show the sign-in form straight away, without a 401 round trip.
    const sessionId = sessionIdOf(c);
    const signedIn = sessionId !== undefined && (await sessions.isValid(sessionId));
    return c.html(shell({ title: 'ReTrack console', bundle: 'console', signedIn, ...(config.console.mapStyleUrl ? { mapStyleUrl: config.console.mapStyleUrl } : {}) }));
  };
  router.get('/app', consolePage);
  router.get('/app/*', consolePage);

  // An unknown, expired or revoked token gets the same page and status.
  router.get('/track/:token', async (c) => {
    pageHeaders(c, csp);
    const shipment = await sharedShipment({ db }, c.req.param('token'));
    if (!shipment) return c.html(NOT_FOUND_PAGE, 404);
    return c.html(shell({ title: 'Shipment tracking', bundle: 'track', ...(config.console.mapStyleUrl ? { mapStyleUrl: config.console.mapStyleUrl } : {}) }));
  });

  return router;
}
